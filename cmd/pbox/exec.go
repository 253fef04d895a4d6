package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/pbox-dev/pbox/box"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

func newExecCommand() *cli.Command {
	return &cli.Command{
		Name:                   "exec",
		UseShortOptionHandling: true, // -it, as with docker exec
		Usage:                  "run a new process inside a running box",
		ArgsUsage:              "ID [--] COMMAND [ARG...]",
		Description: `The process joins every namespace of the box and its cgroup: it gets a
	pid of the box's, sees the box's processes, root and hostname, and has
	the box's environment and capabilities. pbox exec waits for it and exits
	with its status (126 not executable, 127 not found, 125 pbox failed).
	--process FILE takes the process from OCI process JSON instead (runc's
	exec, which containerd uses).
	
	example: sudo pbox exec -it web sh`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "pass stdin (otherwise the process reads /dev/null)"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give the process a new terminal inside the box"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set KEY=VALUE on top of the box's environment (repeatable)"},
			&cli.StringFlag{Name: "cwd", Aliases: []string{"w"}, Usage: "working directory inside the box (default: the box's)"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "USER[:GROUP] to run as: numbers, or names from the box's own /etc/passwd and /etc/group"},
			&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "OCI process JSON file (runc exec); COMMAND then overrides its args"},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "start the process and return at once"},
			&cli.StringFlag{Name: "pid-file", Usage: "write the process's host pid to FILE"},
			&cli.StringFlag{Name: "console-socket", Usage: "with --tty: send the pty master to this unix socket"},
			&cli.IntFlag{Name: "preserve-fds", Usage: "pass N more file descriptors (3 to 3+N-1) to the process; no other descriptor of pbox's reaches it"},
		},
		Action: execAction,
	}
}

func execAction(c *cli.Context) error {
	if c.NArg() < 1 {
		return fail(statusSetup, "exec: give a box id and a COMMAND (usage: pbox exec ID -- COMMAND): see 'pbox exec --help'")
	}
	id := c.Args().First()
	args := c.Args().Slice()[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if err := box.ValidID(id); err != nil {
		return fail(statusSetup, "exec: %v", err)
	}
	h, err := store().Look(id)
	if err != nil {
		return fail(statusSetup, "exec: %v", err)
	}
	if err := h.Allows(box.OpExec); err != nil { // before reading its files
		return fail(statusSetup, "exec: %v", err)
	}
	rec := h.Record

	var p box.Process
	if file := c.String("process"); file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return fail(statusSetup, "exec: --process: %v", err)
		}
		var sp specs.Process
		if err := json.Unmarshal(data, &sp); err != nil {
			return fail(statusSetup, "exec: --process %s: invalid JSON: %v", file, err)
		}
		if len(args) > 0 {
			sp.Args = args
		}
		var warnings []string
		if p, warnings, err = box.TranslateProcess(&sp); err != nil {
			return fail(statusSetup, "exec: --process %s: %v", file, err)
		}
		for _, w := range warnings {
			warnf(c)(errors.New(w))
		}
		if c.Bool("tty") {
			p.Terminal = true
		}
	} else {
		if len(args) == 0 {
			return fail(statusSetup, "exec: no COMMAND given (usage: pbox exec ID -- COMMAND)")
		}
		if err := box.CheckWorkdir(c.String("cwd")); err != nil {
			return fail(statusSetup, "exec: %v", err)
		}
		p = box.Process{Args: args, Cwd: c.String("cwd"), Terminal: c.Bool("tty"), NoNewPrivileges: rec.Config.NoNewPrivileges}
		if p.Cwd == "" {
			p.Cwd = rec.Config.Cwd
		}
		if p.Env, err = box.MergeEnv(rec.Config.Env, c.StringSlice("env"), box.CallerEnv()); err != nil {
			return fail(statusSetup, "exec: %v", err)
		}
		if u := c.String("user"); u != "" {
			// Names are the box's: its own /etc/passwd and /etc/group.
			if p.User, err = h.ResolveUser(u); err != nil {
				return fail(statusSetup, "exec: --user %q: %v", u, err)
			}
		}
	}
	if p.Terminal && p.ConsoleSize == nil {
		p.ConsoleSize = ownTerminalSize()
	}
	if c.String("console-socket") != "" && !p.Terminal {
		return fail(statusSetup, "exec: --console-socket needs --tty (or process.terminal)")
	}
	if p.Terminal && c.Bool("detach") && c.String("console-socket") == "" {
		return fail(statusSetup, "exec: --detach with a terminal needs --console-socket to send the pty to")
	}
	// A terminal is relayed to pbox's own stdin: from a pipe or a file
	// it would wait for a terminal's keys forever (docker: "the input
	// device is not a TTY").
	if p.Terminal && c.String("console-socket") == "" && !isTerminal(os.Stdin) {
		return fail(statusSetup, "exec: --tty: stdin is not a terminal: leave out -t (with -i to pass stdin on), or run it from a terminal")
	}

	if err := box.CheckPreservedFDs(c.Int("preserve-fds")); err != nil {
		return fail(statusSetup, "exec: --preserve-fds %d: %v", c.Int("preserve-fds"), err)
	}
	eio := box.ExecIO{PreserveFDs: c.Int("preserve-fds")}
	if !c.Bool("interactive") && c.String("process") == "" && !p.Terminal {
		null, err := os.Open(os.DevNull)
		if err != nil {
			return fail(statusSetup, "exec: %v", err)
		}
		defer null.Close()
		eio.Stdio[0] = null
	}
	if sock := c.String("console-socket"); sock != "" {
		f, err := box.DialUnix(sock)
		if err != nil {
			return fail(statusSetup, "exec: --console-socket: %v", err)
		}
		defer f.Close()
		eio.Console = f
	}

	// Signals for the process are queued from before it exists.
	sigs := make(chan os.Signal, 32)
	if !c.Bool("detach") {
		signal.Notify(sigs, box.ForwardedSignals...)
		defer signal.Stop(sigs)
	}
	run, err := h.Exec(p, eio)
	if err != nil {
		var se *box.SetupError
		if errors.As(err, &se) {
			return fail(se.Code, "exec: %s", se.Error())
		}
		return fail(statusSetup, "exec: %v", err)
	}
	if pf := c.String("pid-file"); pf != "" {
		if err := box.WritePidFile(pf, run.Pid); err != nil {
			run.Signal(unix.SIGKILL)
			run.Wait()
			return fail(statusSetup, "exec: --pid-file: %v", err)
		}
	}
	if c.Bool("detach") {
		return nil
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				if sig, ok := s.(syscall.Signal); ok {
					if sig == unix.SIGWINCH && run.Master != nil {
						resizePty(run.Master)
						continue
					}
					run.Signal(sig)
				}
			case <-done:
				return
			}
		}
	}()
	if run.Master != nil {
		restore := attachTerminal(run.Master, c.Bool("interactive"))
		defer restore()
	}
	if status := run.Wait(); status != 0 {
		return &exitError{code: status}
	}
	return nil
}

// attachTerminal connects pbox's terminal to the box's pty: its output
// to ours, and with -i our keystrokes to it (raw mode, sizes in step).
func attachTerminal(master *os.File, interactive bool) func() {
	restore := func() {}
	if term.IsTerminal(int(os.Stdin.Fd())) {
		resizePty(master)
		if interactive {
			if old, err := term.MakeRaw(int(os.Stdin.Fd())); err == nil {
				restore = func() { term.Restore(int(os.Stdin.Fd()), old) }
			}
		}
	}
	if interactive {
		go io.Copy(master, os.Stdin)
	}
	copied := make(chan struct{})
	go func() {
		io.Copy(os.Stdout, master) // ends with EIO once the process exits
		close(copied)
	}()
	return func() {
		// The process has exited: let the last output through first.
		select {
		case <-copied:
		case <-time.After(time.Second):
		}
		master.Close()
		restore()
	}
}

// ownTerminalSize is the size of pbox's terminal (its stdin), for a box's
// pty to start with; nil if stdin is no terminal.
func ownTerminalSize() *box.ConsoleSize {
	ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Row == 0 {
		return nil
	}
	return &box.ConsoleSize{Rows: ws.Row, Cols: ws.Col}
}

// resizePty gives the box's pty the size of pbox's terminal.
func resizePty(master *os.File) {
	ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ)
	if err == nil {
		unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// relayTerminal is attachTerminal for pbox run -t: the box's pty master
// relayed to pbox's terminal, and kept at its size (SIGWINCH).
func relayTerminal(master *os.File, interactive bool) func() {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				resizePty(master)
			case <-done:
				return
			}
		}
	}()
	restore := attachTerminal(master, interactive)
	return func() {
		signal.Stop(winch)
		close(done)
		restore()
	}
}
