package main

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/pbox-dev/pbox/box"
	"github.com/urfave/cli/v2"
)

func newCpCommand() *cli.Command {
	return &cli.Command{
		Name:      "cp",
		Usage:     "copy files between a box and the host, as docker cp",
		ArgsUsage: "SRC DST",
		Description: `One of SRC and DST is BOX:PATH, the other a host path (a host path with a
	colon is written ./a:b). A directory is copied with everything under it.
	If DST is an existing directory, SRC goes into it under its own name;
	otherwise DST is the new name. "-" as SRC reads a tar stream from stdin
	into the box's directory DST; "-" as DST writes BOX:SRC to stdout as a
	tar stream.

	Every path in the box is resolved inside the box's root: a symlink the
	box made never leads pbox to a host file, a symlink in the box is never
	written through, a FIFO or device node the box planted is never opened
	(it is left out, with a warning), and setuid/setgid bits never cross
	into a box. A running box's files are seen as its processes see them
	(volumes included); a stopped box's, in its root filesystem.

	example: sudo pbox cp ./app.conf web:/etc/app/; sudo pbox cp web:/var/log ./logs`,
		Action: cpAction,
	}
}

func cpAction(c *cli.Context) error {
	if c.NArg() != 2 {
		return fail(statusUsage, "cp: give SRC and DST, one of them BOX:PATH: see 'pbox cp --help'")
	}
	srcBox, srcPath := box.SplitCopyArg(c.Args().Get(0))
	dstBox, dstPath := box.SplitCopyArg(c.Args().Get(1))
	switch {
	case srcBox != "" && dstBox != "":
		return fail(statusUsage, "cp: copying between two boxes is not supported: copy to the host, then on")
	case srcBox == "" && dstBox == "":
		return fail(statusUsage, "cp: name a box on one side, as BOX:PATH (see pbox ps)")
	case srcPath == "" || dstPath == "":
		return fail(statusUsage, "cp: give a path after BOX: (BOX:/ for its root)")
	}
	tree := func(id, p string) (box.Tree, error) {
		if id == "" {
			abs, err := filepath.Abs(p)
			return box.Tree{Root: "/", Path: abs}, err
		}
		h, err := lookBoxID(c, id)
		if err != nil {
			return box.Tree{}, err
		}
		root, err := h.FilesRoot()
		if err != nil {
			return box.Tree{}, fail(statusFailed, "cp: %v", err)
		}
		return box.Tree{Root: root, Path: path.Clean("/" + p)}, nil
	}
	skipped := func(p string) {
		fmt.Fprintf(c.App.ErrWriter, "pbox: cp: %s is not a file, directory or symlink (a device, FIFO or socket): left out\n", p)
	}
	failed := func(err error) error { return fail(statusFailed, "cp: %v", err) }
	if srcPath == "-" && srcBox == "" { // a tar stream into the box
		dst, err := tree(dstBox, dstPath)
		if err != nil {
			return err
		}
		if err := dst.ReadTar(os.Stdin, true); err != nil {
			return failed(err)
		}
		return nil
	}
	src, err := tree(srcBox, srcPath)
	if err != nil {
		return err
	}
	name := path.Base(src.Path)
	if name == "/" || name == "." {
		name = "." // a root: its contents
	}
	if dstPath == "-" && dstBox == "" { // a tar stream out of the box
		if err := src.WriteTar(c.App.Writer, name, skipped); err != nil {
			return failed(err)
		}
		return nil
	}
	dst, err := tree(dstBox, dstPath)
	if err != nil {
		return err
	}
	if !dst.IsDir() { // DST is the new name, in its parent
		name = path.Base(dst.Path)
		dst.Path = path.Dir(dst.Path)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(src.WriteTar(pw, name, skipped)) }()
	err = dst.ReadTar(pr, dstBox != "")
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return failed(err)
	}
	return nil
}
