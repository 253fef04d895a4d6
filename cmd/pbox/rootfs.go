package main

import (
	"fmt"

	"github.com/pbox-dev/pbox/image"
	"github.com/urfave/cli/v2"
)

var rootfsCommand = &cli.Command{
	Name:  "rootfs",
	Usage: "make a root filesystem for pbox run --rootfs",
	Description: `A directory to use with pbox run --rootfs, without Docker.

example: sudo pbox rootfs busybox ./rootfs && sudo pbox run --rootfs ./rootfs -- sh`,
	Subcommands: []*cli.Command{
		{
			Name:      "busybox",
			Usage:     "a small rootfs from the host's static busybox",
			ArgsUsage: "DIR",
			Description: `Fills DIR (new, or empty) with /bin/busybox, a link per applet,
/etc/passwd, /etc/group, /etc/hosts and empty /proc /dev /sys /tmp.
Needs a static busybox (Debian/Ubuntu: apt-get install busybox-static).

example: sudo pbox rootfs busybox ./rootfs`,
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return fail(statusInspectUsage, "rootfs busybox: give one DIR (usage: pbox rootfs busybox DIR)")
				}
				logf := func(format string, args ...any) { fmt.Fprintf(c.App.Writer, format+"\n", args...) }
				if err := image.Busybox(c.Args().First(), logf); err != nil {
					return fail(1, "rootfs busybox: %v", err)
				}
				return nil
			},
		},
	},
}
