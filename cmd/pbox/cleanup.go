package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/pbox-dev/pbox/box"
	"github.com/pbox-dev/pbox/cgroups"
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
				if err := cgroups.ValidParent(under); err != nil {
					return fail(statusUsage, "cleanup: --cgroup-parent: %v", err)
				}
			}
			if os.Geteuid() != 0 {
				return fail(statusFailed, "cleanup: removing cgroups needs root: run it with sudo")
			}
			// The state of foreground boxes whose pbox died: a foreground
			// box's state lives only as long as its pbox run.
			st := store()
			ids, _ := st.List()
			for _, id := range ids {
				rec, err := st.Read(id)
				if err != nil || !abandoned(st, rec) {
					continue
				}
				if err := st.Remove(id); err == nil {
					fmt.Fprintf(c.App.Writer, "removed %s\n", st.Dir(id))
				}
			}
			marked, err := st.MarkedCgroups()
			if err != nil {
				return fail(statusFailed, "cleanup: %v", err)
			}
			mode := cgroups.DetectMode()
			failed := false
			for _, rel := range marked {
				if under != "" && !strings.HasPrefix(rel, "/"+under+"/") {
					continue
				}
				removed, busy, err := cgroups.RemoveLeftover(mode, cgroups.DefaultRoot, rel)
				for _, d := range removed {
					fmt.Fprintf(c.App.Writer, "removed %s\n", d)
				}
				for _, d := range busy {
					fmt.Fprintf(c.App.Writer, "in use  %s (a box is running)\n", d)
				}
				if err != nil {
					fmt.Fprintf(c.App.ErrWriter, "pbox: cleanup: %v\n", err)
					failed = true
				}
				if err == nil && len(busy) == 0 {
					st.UnmarkCgroup(rel)
				}
			}
			if failed {
				return &exitError{code: statusFailed}
			}
			return nil
		},
	}
}

// abandoned reports whether a box's state is only what a killed pbox left:
// a stopped foreground box (its state lives as long as its pbox run), or
// a box whose set-up never finished (nothing ran, no exit to keep).
func abandoned(st box.Store, rec *box.Record) bool {
	return st.Status(rec) == box.StatusStopped && (rec.Foreground || rec.Status == box.StatusCreating)
}
