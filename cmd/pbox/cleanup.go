package main

import (
	"fmt"
	"os"

	"github.com/pbox-dev/pbox/cgroups"
	"github.com/urfave/cli/v2"
)

func newCleanupCommand() *cli.Command {
	return &cli.Command{
		Name:  "cleanup",
		Usage: "remove cgroups left behind by boxes whose pbox was killed (SIGKILL)",
		Description: `A box dies with its pbox, even on SIGKILL, but a SIGKILLed pbox cannot
	remove the box's cgroup directories. This removes every empty box cgroup
	under --cgroup-parent, in every hierarchy; cgroups that still hold
	processes are listed and left alone.
	
	example: sudo pbox cleanup`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cgroup-parent", Value: "pbox", Usage: "cgroup under which boxes were created"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fail(statusUsage, "cleanup: takes no arguments: see 'pbox cleanup --help'")
			}
			if err := cgroups.ValidPath(c.String("cgroup-parent")); err != nil {
				return fail(statusUsage, "cleanup: --cgroup-parent: %v", err)
			}
			if os.Geteuid() != 0 {
				return fail(statusUsage, "cleanup: removing cgroups needs root: run it with sudo")
			}
			removed, busy, err := cgroups.Sweep(cgroups.DetectMode(), cgroups.DefaultRoot, c.String("cgroup-parent"))
			for _, d := range removed {
				fmt.Fprintf(c.App.Writer, "removed %s\n", d)
			}
			for _, d := range busy {
				fmt.Fprintf(c.App.Writer, "in use  %s (a box is running)\n", d)
			}
			if err != nil {
				return fail(1, "cleanup: %v", err)
			}
			return nil
		},
	}
}
