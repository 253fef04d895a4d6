package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pbox-dev/pbox/box"
	"github.com/urfave/cli/v2"
)

// The global flags are runc's, with the same meanings, so that containerd
// can call pbox where it would call runc (BinaryName in its runc options).
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "root", Value: defaultStateRoot(), Usage: "directory for the state of boxes (one directory per box); an ordinary user's is $XDG_RUNTIME_DIR/pbox"},
		&cli.StringFlag{Name: "log", Usage: "also write errors to FILE (containerd reads it)"},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "format of --log: text or json (JSON lines with level, msg, time)"},
		&cli.BoolFlag{Name: "systemd-cgroup", Usage: "make each new box's cgroup a systemd scope (Delegate=yes), as runc's systemd driver; cgroupsPath is SLICE:PREFIX:NAME (pure cgroup v2 with systemd as PID 1)"},
		&cli.BoolFlag{Name: "debug", Usage: "explain each step on stderr, as a command's --verbose does (run, create)"},
	}
}

// globals are the parsed global flags.
var globals struct {
	store     box.Store
	logFile   string
	logFormat string
	debug     bool
}

func setupGlobals(c *cli.Context) error {
	globals.store = box.Store{Root: c.String("root")}
	globals.logFile = c.String("log")
	globals.logFormat = c.String("log-format")
	globals.debug = c.Bool("debug")
	if globals.logFormat != "text" && globals.logFormat != "json" {
		f := globals.logFormat
		globals.logFormat = "text"
		return fail(usageStatus(c.Args().First()), "--log-format %q: use text or json", f)
	}
	globals.store.SystemdCgroup = c.Bool("systemd-cgroup")
	box.MountMissingCgroups()
	if abs, err := filepath.Abs(globals.store.Root); err == nil {
		globals.store.Root = abs
	}
	return nil
}

// logError writes an error to --log, as runc does: containerd shows the
// last "error" line to its user.
func logError(msg string) {
	if globals.logFile == "" {
		return
	}
	f, err := os.OpenFile(globals.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if globals.logFormat == "json" {
		line, _ := json.Marshal(map[string]string{"level": "error", "msg": msg, "time": now})
		f.Write(append(line, '\n'))
		return
	}
	fmt.Fprintf(f, "time=%q level=error msg=%q\n", now, msg)
}

// store is the state root of this invocation.
func store() box.Store {
	if globals.store.Root == "" {
		return box.Store{Root: defaultStateRoot()}
	}
	return globals.store
}

// defaultStateRoot is root's /run/pbox, or an ordinary user's own (its
// boxes are rootless: box/rootless.go).
func defaultStateRoot() string {
	if box.Rootless() {
		return box.UserStateRoot()
	}
	return box.DefaultStateRoot
}
