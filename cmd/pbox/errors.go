package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pbox-dev/pbox/box"
	"github.com/xrash/smetrics"

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
	statusSetup = box.StatusSetupFailed
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

// typedArgs is the command line as typed, for messages about it.
var typedArgs []string

// usageError is urfave/cli's hook for bad flags: one line, a "did you
// mean" when a known flag is close, and how to get help.
func usageError(c *cli.Context, err error, isSubcommand bool) error {
	msg := err.Error()
	var flags []cli.Flag
	if c.Command != nil {
		flags = c.Command.Flags
	}
	if c.Command == nil || c.Command.Name == "" || c.Command.Name == c.App.Name {
		flags = c.App.Flags
	}
	if bad, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		// Go's flag package writes every flag with one dash: say it as
		// it was typed (--memroy, or -fx).
		name := bad
		if i := strings.IndexByte(name, '='); i >= 0 {
			name = name[:i]
		}
		bad = "-" + name
		if slices.ContainsFunc(typedArgs, func(a string) bool { return a == "--"+name || strings.HasPrefix(a, "--"+name+"=") }) {
			bad = "--" + name
		}
		msg = "unknown flag " + bad
		var names []string
		for _, f := range flags {
			names = append(names, f.Names()...)
		}
		if answer, ok := dockerFlags[name]; ok && c.Command != nil && c.Command.Name == "run" {
			msg += ": " + answer + ";"
		} else if s := closest(name, names); s != "" {
			if len(s) > 1 {
				s = "-" + s
			}
			msg += ": did you mean -" + s + "?"
		}
	}
	sep := ": " // "did you mean --memory? see ...", not "...?: see"
	if strings.HasSuffix(msg, "?") || strings.HasSuffix(msg, ";") {
		sep = " "
	}
	if c.Command == nil || c.Command.Name == "" || c.Command.Name == c.App.Name {
		return fail(statusUsage, "%s%ssee 'pbox --help'", msg, sep)
	}
	name := c.Command.Name
	if c.Command.HelpName != "" && strings.HasPrefix(c.Command.HelpName, "pbox rootfs ") {
		name = "rootfs"
	}
	return fail(usageStatus(name), "%s: %s%ssee 'pbox %s --help'", c.Command.Name, msg, sep, c.Command.Name)
}

// closest is the name in names nearest to typed, if it is near enough to
// be what was meant: Jaro-Winkler, as urfave/cli's own suggestions, for
// swapped letters (--memroy), and the edit distance for short words,
// where Jaro-Winkler says little (rn, sotp).
func closest(typed string, names []string) string {
	best, score := "", 0.0
	for _, n := range names {
		s := smetrics.JaroWinkler(typed, n, 0.7, 4)
		if len(typed) > 1 && smetrics.WagnerFischer(typed, n, 1, 1, 1) <= max(1, len(typed)/3) {
			s = max(s, 0.9)
		}
		if swapped(typed, n) { // rnu: two letters swapped is one slip, not two
			s = max(s, 0.95)
		}
		if s > score {
			best, score = n, s
		}
	}
	if score < 0.8 {
		return ""
	}
	return best
}

// checkArgs prints usage when a command gets too few arguments.
func checkArgs(c *cli.Context, min int, what string) error {
	if c.NArg() < min {
		return fail(usageStatus(c.Command.Name), "%s: %s: see 'pbox %s --help'", c.Command.Name, what, c.Command.Name)
	}
	return nil
}

// setupCode is the exit status for an error of box's set-up: its own
// code, or 125.
func setupCode(err error) int {
	var se *box.SetupError
	if errors.As(err, &se) {
		return se.Code
	}
	return statusSetup
}

// swapped reports whether a and b differ only by two adjacent letters
// swapped.
func swapped(a, b string) bool {
	if len(a) != len(b) || a == b {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
}

// Docker's words for what pbox does otherwise, or not at all: the answer
// a docker user gets instead of the nearest pbox word (restart is not
// start, --pid is not --pids-limit).
var dockerCommands = map[string]string{
	"restart": "pbox restarts no box in place: pbox stop ID, then pbox run it again",
	"rename":  "a box's name is fixed when it starts: pbox run --name NAME",
	"images":  "pbox keeps no images: a root filesystem is a directory (pbox rootfs import IMAGE.tar DIR; pbox run --rootfs DIR)",
	"image":   "pbox keeps no images: a root filesystem is a directory (pbox rootfs import IMAGE.tar DIR; pbox run --rootfs DIR)",
	"pull":    "pbox pulls no images: docker save IMAGE -o IMAGE.tar (or skopeo), then pbox rootfs import IMAGE.tar DIR",
	"save":    "pbox saves no images: its root filesystems are directories already (tar them, or pbox rootfs import from docker save)",
	"build":   "pbox builds no images: build with docker or buildah, docker save it, then pbox rootfs import IMAGE.tar DIR",
}

// dockerFlags are docker run's flags pbox names otherwise (or has not).
var dockerFlags = map[string]string{
	"pid":          "the box's namespaces are --ns (docker's --pid host: leave pid out of --ns, e.g. --ns mnt,uts,ipc)",
	"ipc":          "the box's namespaces are --ns (docker's --ipc host: leave ipc out of --ns)",
	"uts":          "the box's namespaces are --ns (docker's --uts host: leave uts out of --ns)",
	"memory-swap":  "pbox has no swap limit: --memory limits the box's memory",
	"restart":      "pbox restarts no box: a supervisor (systemd) restarts pbox run",
	"cpu-shares":   "pbox's CPU limit is --cpus N",
	"memory-limit": "the memory limit is --memory",
}
