package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pbox-dev/pbox/image"
	"github.com/pbox-dev/pbox/internal/humanize"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

func newRootfsCommand() *cli.Command {
	return &cli.Command{
		Name:  "rootfs",
		Usage: "make a root filesystem for pbox run --rootfs",
		Description: `A directory to use with pbox run --rootfs, without Docker.
	
	example: sudo pbox rootfs busybox ./rootfs && sudo pbox run --rootfs ./rootfs -- sh`,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fail(statusUsage, "rootfs: unknown subcommand %q: use busybox or import (see 'pbox rootfs --help')", c.Args().First())
			}
			return cli.ShowSubcommandHelp(c)
		},
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
						return fail(statusUsage, "rootfs busybox: give one DIR (usage: pbox rootfs busybox DIR)")
					}
					logf := func(format string, args ...any) { fmt.Fprintf(c.App.Writer, format+"\n", args...) }
					if err := image.Busybox(c.Args().First(), logf); err != nil {
						return fail(statusFailed, "rootfs busybox: %v", err)
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
	gzip'd is fine. No entry can write outside DIR. Interrupted (Ctrl-C,
	SIGTERM) or failed, it removes what it wrote; after a SIGKILL, the
	next import into the same DIR clears the partial output first.
	
	example: sudo pbox rootfs import alpine.tar ./alpine`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "max-size", Value: "8G", Usage: "stop if the image unpacks to more than this (a gzip bomb, or a disk about to fill)"},
				},
				Action: importAction,
			},
		},
	}
}

// importAction is `pbox rootfs import`: SIGINT, SIGTERM and SIGHUP stop
// it, and it removes its partial output before exiting.
func importAction(c *cli.Context) error {
	if c.NArg() != 2 {
		return fail(statusUsage, "rootfs import: give TARBALL and DIR (usage: pbox rootfs import TARBALL DIR)")
	}
	maxSize, err := humanize.ParseSize(c.String("max-size"))
	if err != nil {
		return fail(statusUsage, "rootfs import: --max-size: %v", err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		if s, ok := <-sigs; ok {
			cancel(fmt.Errorf("interrupted by %s: removed what was unpacked", unix.SignalName(s.(syscall.Signal))))
		}
	}()
	opt := image.ImportOptions{
		Logf:    func(format string, args ...any) { fmt.Fprintf(c.App.Writer, format+"\n", args...) },
		MaxSize: maxSize,
	}
	if isTerminal(os.Stderr) {
		opt.Progress = c.App.ErrWriter
	}
	if err := image.Import(ctx, c.Args().Get(0), c.Args().Get(1), opt); err != nil {
		return fail(statusFailed, "rootfs import: %v", err)
	}
	return nil
}

// isTerminal says if f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
