package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pbox-dev/pbox/box"
	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// The re-executed init: dispatch before any flag parsing.
	if filepath.Base(os.Args[0]) == box.InitArg0 {
		os.Exit(box.Init())
	}
	os.Exit(runApp(os.Args, os.Stdout, os.Stderr))
}

// runApp runs the command line and returns the exit status.
func runApp(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.Run(args)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "pbox: "+ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "pbox: "+err.Error())
	return statusUsage
}

// commands are pbox's subcommands, one file each.
var commands = []*cli.Command{
	runCommand,
	inspectCommand,
	cleanupCommand,
}

func newApp(stdout, stderr io.Writer) *cli.App {
	for _, cmd := range commands {
		cmd.OnUsageError = usageError
	}
	return &cli.App{
		Name:                      "pbox",
		Usage:                     "run a command in an isolated box: namespaces, cgroup limits, a real PID 1",
		UsageText:                 "pbox [--help] COMMAND [FLAGS] [ARGS]\n\nexample: sudo pbox run --hostname lab --memory 64M -- sh",
		Version:                   version,
		Writer:                    stdout,
		ErrWriter:                 stderr,
		Commands:                  commands,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true, // -e A=1,2 is one variable
		ExitErrHandler:            func(*cli.Context, error) {},
		OnUsageError:              usageError,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fail(statusUsage, "unknown command %q: see 'pbox --help'", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
}
