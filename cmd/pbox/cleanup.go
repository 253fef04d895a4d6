package main

import (
	"fmt"
	"os"

	"github.com/pbox-dev/pbox/box"
	"github.com/urfave/cli/v2"
)

func newCleanupCommand() *cli.Command {
	return &cli.Command{
		Name:  "cleanup",
		Usage: "remove cgroups and state left behind by boxes whose pbox was killed (SIGKILL)",
		Description: `A box dies with its pbox, even on SIGKILL, but a SIGKILLed pbox cannot
	remove the box's cgroup directories and state. This removes the state of
	foreground boxes whose pbox is gone, and the empty cgroups that boxes of
	this --root made (pbox marks each cgroup it makes), in every hierarchy;
	it never removes a cgroup pbox did not make. Cgroups that still hold
	processes are listed and left alone. Stopped detached boxes stay (see
	pbox rm).
	
	example: sudo pbox cleanup`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cgroup-parent", Usage: "only the cgroups under this one (default: every cgroup this --root made)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fail(statusUsage, "cleanup: takes no arguments: see 'pbox cleanup --help'")
			}
			under := c.String("cgroup-parent")
			if c.IsSet("cgroup-parent") {
				if err := box.ValidCgroupParent(under); err != nil {
					return fail(statusUsage, "cleanup: --cgroup-parent: %v", err)
				}
			}
			if os.Geteuid() != 0 {
				return fail(statusFailed, "cleanup: removing cgroups needs root: run it with sudo")
			}
			err := store().Cleanup(under,
				func(d string) { fmt.Fprintf(c.App.Writer, "removed %s\n", d) },
				func(d string) { fmt.Fprintf(c.App.Writer, "in use  %s (a box is running)\n", d) })
			if err != nil {
				return fail(statusFailed, "cleanup: %v", err)
			}
			return nil
		},
	}
}
