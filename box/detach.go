package box

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// `pbox run -d`: something has to wait for a detached box, to record its
// exit status, read its OOM kills and remove its cgroup. That is its
// monitor: the same `pbox run` command line, re-executed in a new session
// (RunDetached), with its output, and so the box's, going to pipes that
// pbox's log writer reads (StartLogger). The monitor tells the pbox run -d
// that started it how the start went, one line on a pipe (its fd named by
// monitorFDEnv):
//
//	pbox run -d                            monitor (pbox run, re-executed)
//	-----------                            -------------------------------
//	claim the name, start the log writer
//	start the monitor  ──────────────────▶  plan and start the box
//	                   ◀──────────────────  "ok"              (COMMAND runs)
//	                   ◀──────────────────  "err CODE MESSAGE" (it failed)
//	print the name (or the error), exit    wait for the box (handOverMonitor)

// monitorComm is the -d monitor's name in ps.
const monitorComm = MonitorArg0

// monitorFDEnv names the monitor's status pipe fd; monitorNameEnv the
// name that pbox run -d chose (and prints) for a box without --name,
// which the monitor must use rather than make up another.
const (
	monitorFDEnv   = "_PBOX_MONITOR_FD"
	monitorNameEnv = "_PBOX_MONITOR_NAME"
)

// Monitor is this process's side of the protocol above, when it is a
// run -d monitor.
type Monitor struct {
	status *os.File
	// Name is the box's name as pbox run -d chose it ("" if --name gave it).
	Name string
}

// DetachedMonitor returns this process's Monitor if it is a run -d
// monitor, else nil. It takes pbox's private variables out of the
// environment and names the process for ps.
func DetachedMonitor() *Monitor {
	v := os.Getenv(monitorFDEnv)
	if v == "" {
		return nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil {
		return nil
	}
	f := inheritedPipe(fd, "monitor-status")
	if f == nil {
		return nil
	}
	m := &Monitor{status: f, Name: os.Getenv(monitorNameEnv)}
	os.Unsetenv(monitorFDEnv)
	os.Unsetenv(monitorNameEnv)
	SetComm(monitorComm)
	return m
}

// Started tells pbox run -d that COMMAND runs: it prints the name.
func (m *Monitor) Started() {
	fmt.Fprintf(m.status, "ok\n")
	m.status.Close()
}

// Failed tells pbox run -d why the box did not start (it prints the
// message and exits with code), and returns the code.
func (m *Monitor) Failed(err error) int {
	code, msg := StatusSetupFailed, err.Error()
	var se *SetupError
	if errors.As(err, &se) {
		code, msg = se.Code, se.Error()
	}
	fmt.Fprintf(m.status, "err %d %s\n", code, strings.ReplaceAll(msg, "\n", " "))
	m.status.Close()
	return code
}

// CallerEnv is the process's environment without pbox's private
// variables.
func CallerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, monitorFDEnv+"=") && !strings.HasPrefix(kv, monitorNameEnv+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// RunDetached is pbox run -d once it has claimed id: it starts the log
// writer and the monitor — argv, this pbox's command line, re-executed
// from the read-only view of pbox — passing on the descriptors the box is
// to have (3 to 3+preserve-1), and waits for the monitor's word. On
// error the claim and everything made for it are removed; the error is a
// *SetupError with the status to exit with.
func (s Store) RunDetached(id string, argv []string, preserve int, logOpts LogOptions) error {
	cleanup := func() { s.Remove(id) }
	fail := func(err error) error {
		cleanup()
		var se *SetupError
		if errors.As(err, &se) {
			return se
		}
		return &SetupError{Step: "run", Err: err.Error(), Code: StatusSetupFailed}
	}
	stdout, stderr, err := s.StartLogger(id, logOpts)
	if err != nil {
		return fail(err)
	}
	defer stdout.Close()
	defer stderr.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	defer r.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		w.Close()
		return fail(err)
	}
	defer null.Close()
	// The monitor runs from a read-only view of pbox, as the init does: a
	// box must never reach a writable path to the binary (CVE-2019-5736).
	n := listenFDs() + preserve
	sealed, err := openSealedExe(3 + n + 1)
	if err != nil {
		w.Close()
		return fail(err)
	}
	defer sealed.Close()
	cmd := exec.Command(sealed.Path, argv[1:]...)
	cmd.Args[0] = argv[0]
	// The monitor gets the descriptors the box is to have (3 to 3+N-1:
	// LISTEN_FDS and --preserve-fds) and its status pipe after them;
	// nothing else of the caller's.
	for i := 0; i < n; i++ {
		cmd.ExtraFiles = append(cmd.ExtraFiles, os.NewFile(uintptr(3+i), "preserved"))
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, w)
	// LISTEN_PID named this pbox; the monitor passes the fds on all the same.
	var env []string
	for _, kv := range CallerEnv() {
		if !strings.HasPrefix(kv, "LISTEN_PID=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, fmt.Sprintf("%s=%d", monitorFDEnv, 3+n), monitorNameEnv+"="+id)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fail(fmt.Errorf("start the monitor: %w", err))
	}
	w.Close()
	// The monitor sets the box up from here: its pid is the one that
	// says "still creating".
	s.setMonitor(id, cmd.Process.Pid)
	cmd.Process.Release()
	line, _ := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	switch {
	case line == "ok":
		return nil
	case strings.HasPrefix(line, "err "):
		// The monitor removed the failed box's state before it said so.
		codeS, msg, _ := strings.Cut(strings.TrimPrefix(line, "err "), " ")
		code, _ := strconv.Atoi(codeS)
		if code == 0 {
			code = StatusSetupFailed
		}
		return &SetupError{Err: msg, Code: code}
	}
	return fail(fmt.Errorf("the monitor of box %s died before the box started", id))
}

// inheritedPipe returns fd as a file if it is an open pipe (the status
// pipe pbox run -d hands its monitor), else nil.
func inheritedPipe(fd int, name string) *os.File {
	var st unix.Stat_t
	if fd < 3 || unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil
	}
	return os.NewFile(uintptr(fd), name)
}
