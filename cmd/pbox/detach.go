package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/pbox-dev/pbox/box"
	"github.com/urfave/cli/v2"
)

// `pbox run -d`: something has to wait for a detached box, to record its
// exit status, read its OOM kills and remove its cgroup. That is a monitor:
// the same `pbox run` command line, re-executed in a new session with its
// output (and so the box's) going to pipes that pbox's log writer reads
// (box.StartLogger). It tells the pbox run -d that
// started it how the start went over a pipe (fd 3): "ok", or "err CODE
// MESSAGE"; that process prints the name (or the error) and exits.

// monitorComm is the -d monitor's name in ps.
const monitorComm = "pbox-monitor"

// monitorEnv names the monitor's status pipe fd; monitorNameEnv the name
// that pbox run -d chose (and prints) for a box without --name, which the
// monitor must use rather than make up another.
const (
	monitorEnv     = "_PBOX_MONITOR_FD"
	monitorNameEnv = "_PBOX_MONITOR_NAME"
)

// monitorBoxName is the name pbox run -d gave the monitor.
func monitorBoxName() string {
	name := os.Getenv(monitorNameEnv)
	os.Unsetenv(monitorNameEnv)
	return name
}

// callerEnv is pbox's environment without its own private variable.
func callerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, monitorEnv+"=") && !strings.HasPrefix(kv, monitorNameEnv+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// monitorPipe returns the status pipe when this pbox is a monitor.
func monitorPipe() *os.File {
	v := os.Getenv(monitorEnv)
	if v == "" {
		return nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil {
		return nil
	}
	f := box.InheritedPipe(fd, "monitor-status")
	if f != nil {
		os.Unsetenv(monitorEnv)
	}
	return f
}

// startMonitor re-executes this command line as the box's monitor and
// reports its outcome.
func startMonitor(c *cli.Context, st box.Store, id string, logOpts box.LogOptions) error {
	cleanup := func() { st.Remove(id) }
	stdout, stderr, err := st.StartLogger(id, logOpts)
	if err != nil {
		cleanup()
		return fail(statusSetup, "run: %v", err)
	}
	defer stdout.Close()
	defer stderr.Close()
	r, w, err := os.Pipe()
	if err != nil {
		cleanup()
		return fail(statusSetup, "run: %v", err)
	}
	defer r.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		cleanup()
		return fail(statusSetup, "run: %v", err)
	}
	defer null.Close()
	// The monitor runs from a read-only view of pbox, as the init does: a
	// box must never reach a writable path to the binary (CVE-2019-5736).
	n := box.ListenFDs() + c.Int("preserve-fds")
	sealed, err := box.OpenSealedExe(3 + n + 1)
	if err != nil {
		cleanup()
		return fail(statusSetup, "run: %v", err)
	}
	defer sealed.Close()
	cmd := exec.Command(sealed.Path, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	// The monitor gets the descriptors the box is to have (3 to 3+N-1:
	// LISTEN_FDS and --preserve-fds) and its status pipe after them;
	// nothing else of the caller's.
	for i := 0; i < n; i++ {
		cmd.ExtraFiles = append(cmd.ExtraFiles, os.NewFile(uintptr(3+i), "preserved"))
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, w)
	// LISTEN_PID named this pbox; the monitor passes the fds on all the same.
	var env []string
	for _, kv := range callerEnv() {
		if !strings.HasPrefix(kv, "LISTEN_PID=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, fmt.Sprintf("%s=%d", monitorEnv, 3+n), monitorNameEnv+"="+id)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		cleanup()
		return fail(statusSetup, "run: start the monitor: %v", err)
	}
	w.Close()
	// The monitor sets the box up from here: its pid is the one that
	// says "still creating".
	st.SetMonitor(id, cmd.Process.Pid)
	cmd.Process.Release()
	line, _ := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	switch {
	case line == "ok":
		fmt.Fprintln(c.App.Writer, id)
		return nil
	case strings.HasPrefix(line, "err "):
		codeS, msg, _ := strings.Cut(strings.TrimPrefix(line, "err "), " ")
		code, _ := strconv.Atoi(codeS)
		if code == 0 {
			code = statusSetup
		}
		return fail(code, "%s", msg)
	}
	cleanup()
	return fail(statusSetup, "run: the monitor of box %s died before the box started", id)
}
