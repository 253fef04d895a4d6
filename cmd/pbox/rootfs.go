package main

import (
	"fmt"

	"github.com/pbox-dev/pbox/image"
	"github.com/urfave/cli/v2"
)

func newRootfsCommand() *cli.Command {
	return &cli.Command{
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
			{
				Name:      "import",
				Usage:     "unpack a `docker save` or OCI image layout tarball",
				ArgsUsage: "TARBALL DIR",
				Description: `Unpacks the first image of TARBALL into DIR (new, or empty): layers in
	order, whiteouts and opaque directories applied, modes, owners, symlinks,
	hard links and device nodes kept, layer digests checked (OCI). TARBALL is
	what docker save or podman save writes, or an OCI image layout as a tar;
	gzip'd is fine. No entry can write outside DIR.
	
	example: sudo pbox rootfs import alpine.tar ./alpine`,
				Action: func(c *cli.Context) error {
					if c.NArg() != 2 {
						return fail(statusInspectUsage, "rootfs import: give TARBALL and DIR (usage: pbox rootfs import TARBALL DIR)")
					}
					logf := func(format string, args ...any) { fmt.Fprintf(c.App.Writer, format+"\n", args...) }
					if err := image.Import(c.Args().Get(0), c.Args().Get(1), logf); err != nil {
						return fail(1, "rootfs import: %v", err)
					}
					return nil
				},
			},
		},
	}
}
