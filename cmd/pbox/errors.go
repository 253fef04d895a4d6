package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// statusUsage is the status for pbox's own failures before COMMAND runs,
// as with docker run and podman run.
const statusUsage = 125

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
	code := statusUsage
	switch c.Command.Name {
	case "inspect", "rootfs", "busybox", "import":
		code = statusInspectUsage
	}
	return fail(code, "%s: %v: see 'pbox %s --help'", c.Command.Name, err, c.Command.Name)
}

// checkArgs prints usage when a command gets too few arguments.
func checkArgs(c *cli.Context, min int, what string) error {
	if c.NArg() < min {
		return fail(statusUsage, "%s: %s: see 'pbox %s --help'", c.Command.Name, what, c.Command.Name)
	}
	return nil
}
