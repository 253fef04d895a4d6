package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// pbox's exit statuses: one table, printed in the README ("Exit status")
// and followed by every command.
const (
	// statusFailed: the command failed (no such box, a box in the wrong
	// state, no such process...). Every failure of an OCI command is 1,
	// bad usage included, as with runc: containerd reads only "not 0".
	statusFailed = 1
	// statusUsage: bad usage (unknown command or flag, a bad value, the
	// wrong number of arguments), in every command but run, exec and the
	// OCI ones.
	statusUsage = 2
	// statusSetup: run and exec: pbox failed before COMMAND ran, bad usage
	// included (as docker run and podman run), so that it cannot be
	// mistaken for one of COMMAND's own statuses (126, 127, 128+N, N).
	statusSetup = 125
)

// ociCommands answer as runc: 1 for every failure.
var ociCommands = map[string]bool{
	"spec": true, "create": true, "start": true, "state": true, "delete": true, "list": true,
	"pause": true, "resume": true, "update": true, "features": true,
}

// usageStatus is a command's status for bad usage.
func usageStatus(command string) int {
	switch {
	case command == "run" || command == "exec":
		return statusSetup
	case ociCommands[command]:
		return statusFailed
	}
	return statusUsage
}

// exitError carries a message (printed after "pbox: ") and an exit status.
type exitError struct {
	msg  string
	code int
}

func (e *exitError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &exitError{msg: fmt.Sprintf(format, args...), code: code}
}

// usageError is urfave/cli's hook for bad flags: one line, how to get help.
func usageError(c *cli.Context, err error, isSubcommand bool) error {
	if c.Command == nil || c.Command.Name == "" || c.Command.Name == c.App.Name {
		return fail(statusUsage, "%v: see 'pbox --help'", err)
	}
	name := c.Command.Name
	if c.Command.HelpName != "" && strings.HasPrefix(c.Command.HelpName, "pbox rootfs ") {
		name = "rootfs"
	}
	return fail(usageStatus(name), "%s: %v: see 'pbox %s --help'", c.Command.Name, err, c.Command.Name)
}

// checkArgs prints usage when a command gets too few arguments.
func checkArgs(c *cli.Context, min int, what string) error {
	if c.NArg() < min {
		return fail(usageStatus(c.Command.Name), "%s: %s: see 'pbox %s --help'", c.Command.Name, what, c.Command.Name)
	}
	return nil
}
