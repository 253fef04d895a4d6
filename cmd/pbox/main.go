package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/pbox-dev/pbox/box"
	"github.com/pbox-dev/pbox/internal/logf"
	"github.com/pbox-dev/pbox/network"
	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[0] == box.MonitorArg0 && os.Args[1] == box.FinishArg {
		os.Exit(box.FinishMonitor(os.Args[2:]))
	}
	if logf.Timestamps() {
		// Where the Go runtime's start and package initialisation end.
		logf.To(os.Stderr, "pbox: ")("main: started")
	}
	// Descriptors pbox's caller left open must never reach a box (a
	// directory fd is a way out of it): from here on, only the ones passed
	// on purpose (--preserve-fds, LISTEN_FDS) cross an exec.
	box.CloseInheritedFDs()
	// A write to a closed stdout or stderr (pbox run -v 2>&1 | head -1)
	// returns EPIPE instead of killing pbox mid-start, which would leave
	// a box half made: pbox goes on, and the box runs or is cleaned up.
	// A handler, not SIG_IGN: an ignored SIGPIPE would reach COMMAND.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	os.Exit(runApp(os.Args, os.Stdout, os.Stderr))
}

// runApp runs the command line and returns the exit status.
func runApp(args []string, stdout, stderr io.Writer) (code int) {
	typedArgs = args
	// No Go stack trace ever reaches the user: a bug is one line too.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "pbox: internal error: %v (a bug in pbox: please report it with the command line)\n", r)
			code = statusFailed
		}
	}()
	app := newApp(stdout, stderr)
	if slices.Contains(args, "--generate-bash-completion") {
		// urfave/cli v2.27 dereferences a nil flag set when it completes a
		// partial flag of a command with short option handling (-it).
		for _, cmd := range app.Commands {
			cmd.UseShortOptionHandling = false
		}
	}
	err := app.Run(volumeShorthand(args))
	if err == nil {
		return 0
	}
	reportError(stderr, err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return usageStatus(commandName(args))
}

// reportError prints an error as every pbox error is printed: one line
// starting "pbox: ", also written to --log.
func reportError(stderr io.Writer, err error) {
	msg := err.Error()
	var ee *exitError
	if errors.As(err, &ee) {
		msg = ee.msg
	}
	if msg == "" {
		return
	}
	fmt.Fprintln(stderr, "pbox: "+msg)
	logError(msg)
}

// newCommands makes pbox's subcommands, one file each. They are made anew
// for every App: urfave/cli changes a Command while it runs it.
func newCommands() []*cli.Command {
	return []*cli.Command{
		newRunCommand(),
		newInspectCommand(),
		newRootfsCommand(),
		newCleanupCommand(),
		newPsCommand(),
		newExecCommand(),
		newStopCommand(),
		newKillCommand(),
		newRmCommand(),
		newLogsCommand(),
		newWaitCommand(),
		newAttachCommand(),
		newCpCommand(),
		newStatsCommand(),
		newEventsCommand(),
		// The OCI runtime command line (runc's), for containerd.
		newSpecCommand(),
		newCreateCommand(),
		newStartCommand(),
		newStateCommand(),
		newDeleteCommand(),
		newListCommand(),
		newPauseCommand(),
		newResumeCommand(),
		newUpdateCommand(),
		newFeaturesCommand(),
		newCompletionCommand(),
	}
}

// categories group the commands in --help.
const ociCategory = "OCI runtime (runc's command line, for containerd)"

var categories = map[string]string{
	"run": "boxes", "ps": "boxes", "exec": "boxes", "stop": "boxes", "kill": "boxes",
	"rm": "boxes", "logs": "boxes", "wait": "boxes", "attach": "boxes", "cp": "boxes", "stats": "boxes", "events": "boxes", "inspect": "boxes",
	"spec": ociCategory, "create": ociCategory,
	"start": ociCategory, "state": ociCategory,
	"delete": ociCategory, "list": ociCategory,
	"pause": ociCategory, "resume": ociCategory,
	"update": ociCategory, "features": ociCategory,
	"rootfs": "tools", "cleanup": "tools", "completion": "tools",
}

func newApp(stdout, stderr io.Writer) *cli.App {
	commands := newCommands()
	for _, cmd := range commands {
		cmd.Category = categories[cmd.Name]
		if boxArgCommands[cmd.Name] {
			cmd.BashComplete = completeBoxNames(cmd)
		}
		if cmd.Name == "run" {
			cmd.BashComplete = completeRun(cmd)
		}
		cmd.OnUsageError = usageError
		for _, sub := range cmd.Subcommands {
			sub.OnUsageError = usageError
		}
	}
	return &cli.App{
		Name:                      "pbox",
		Usage:                     "run a command in an isolated box: namespaces, cgroup limits, a real PID 1",
		UsageText:                 "pbox [--help] COMMAND [FLAGS] [ARGS]\n\nexample: sudo pbox run -it --hostname lab --memory 64M -- sh",
		Version:                   version,
		Writer:                    stdout,
		ErrWriter:                 stderr,
		Commands:                  commands,
		HideHelpCommand:           true,
		EnableBashCompletion:      true,
		DisableSliceFlagSeparator: true, // -e A=1,2 is one variable
		ExitErrHandler:            func(*cli.Context, error) {},
		OnUsageError:              usageError,
		Flags:                     globalFlags(),
		Before:                    setupGlobals,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				typed := c.Args().First()
				if answer := dockerCommands[typed]; answer != "" {
					return fail(statusUsage, "unknown command %q: %s; see 'pbox --help'", typed, answer)
				}
				var names []string
				for _, cmd := range c.App.Commands {
					names = append(names, cmd.Names()...)
				}
				if s := closest(typed, names); s != "" {
					return fail(statusUsage, "unknown command %q: did you mean %q? see 'pbox --help'", typed, s)
				}
				return fail(statusUsage, "unknown command %q: see 'pbox --help'", typed)
			}
			return cli.ShowAppHelp(c)
		},
	}
}

// boxArgCommands take box names as arguments: completion offers them.
var boxArgCommands = map[string]bool{
	"ps": true, "exec": true, "stop": true, "kill": true, "rm": true, "logs": true, "stats": true, "wait": true, "attach": true,
	"events": true, "inspect": true, "state": true, "start": true, "delete": true,
	"pause": true, "resume": true, "update": true,
}

// completeBoxNames offers the boxes of the state root (stopped ones
// too, for rm and logs) where a command takes box names, and its flags
// where a flag is being typed. exec takes one box, then COMMAND: after
// it, the shell completes files.
func completeBoxNames(cmd *cli.Command) cli.BashCompleteFunc {
	flags := cli.DefaultCompleteWithFlags(cmd)
	return func(c *cli.Context) {
		if n := len(typedArgs); n >= 2 && strings.HasPrefix(typedArgs[n-2], "-") {
			flags(c)
			return
		}
		if cmd.Name == "exec" && c.NArg() > 0 {
			return
		}
		// Completion runs without the app's Before: read --root here.
		st := box.Store{Root: c.String("root")}
		if abs, err := filepath.Abs(st.Root); err == nil {
			st.Root = abs
		}
		ids, _ := st.List()
		for _, id := range ids {
			fmt.Fprintln(c.App.Writer, id)
		}
	}
}

// completeRun offers --network's values after --network (host, none,
// bridge, container:BOX for each running box, the CNI networks' names),
// and run's flags elsewhere.
func completeRun(cmd *cli.Command) cli.BashCompleteFunc {
	flags := cli.DefaultCompleteWithFlags(cmd)
	return func(c *cli.Context) {
		if n := len(typedArgs); n >= 2 && (typedArgs[n-2] == "--network" || typedArgs[n-2] == "--net") {
			fmt.Fprintln(c.App.Writer, "host\nnone\nbridge")
			st := box.Store{Root: c.String("root")}
			if abs, err := filepath.Abs(st.Root); err == nil {
				st.Root = abs
			}
			ids, _ := st.List()
			for _, id := range ids {
				if h, err := st.Look(id); err == nil && h.Status() == box.StatusRunning {
					fmt.Fprintln(c.App.Writer, "container:"+id)
				}
			}
			for _, name := range network.Names() {
				if name != network.DefaultName {
					fmt.Fprintln(c.App.Writer, name)
				}
			}
			return
		}
		flags(c)
	}
}

// valueFlags are the spellings (--name, -n) of the flags in flags that
// take a value: read from the definitions themselves, so a new flag is
// never missing from the pre-parsers below (a hand-kept list once lacked
// --net and -p, and `run --net none -v /a:/b` read -v as --verbose).
func valueFlags(flags []cli.Flag) map[string]bool {
	m := map[string]bool{}
	for _, f := range flags {
		if _, isBool := f.(*cli.BoolFlag); isBool {
			continue
		}
		for _, n := range f.Names() {
			if len(n) == 1 {
				m["-"+n] = true
			} else {
				m["--"+n] = true
			}
		}
	}
	return m
}

var (
	runValueFlags    = valueFlags(newRunCommand().Flags)
	globalValueFlags = valueFlags(globalFlags())
)

// commandIndex is where the command is in args (after the global flags
// and their values), or len(args) if there is none.
func commandIndex(args []string) int {
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		if globalValueFlags[args[i]] {
			i++
		}
		i++
	}
	return min(i, len(args))
}

// commandName is the command args run, "" if none.
func commandName(args []string) string {
	if i := commandIndex(args); i < len(args) {
		return args[i]
	}
	return ""
}

// volumeShorthand lets `pbox run -v SRC:DST` mean --volume, as in docker,
// while -v followed by anything else keeps meaning --verbose: an argument
// with a colon right after -v is read as a volume. (A COMMAND whose name
// has a colon, right after -v, would be misread: write --verbose there.)
func volumeShorthand(args []string) []string {
	out := append([]string(nil), args...)
	i := commandIndex(out)
	if i >= len(out) || out[i] != "run" {
		return out
	}
	for i++; i < len(out); i++ {
		a := out[i]
		switch {
		case a == "--" || !strings.HasPrefix(a, "-"):
			return out
		case a == "-v" && i+1 < len(out) && strings.Contains(out[i+1], ":") && !strings.HasPrefix(out[i+1], "-"):
			out[i] = "--volume"
			i++
		case runValueFlags[a]:
			i++
		}
	}
	return out
}
