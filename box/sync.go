package box

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// The parent and the init talk over one socketpair, one JSON object per
// line. The parent writes first; the init answers once:
//
//	pbox run (parent)                            pbox-init (child)
//	-----------------                            -----------------
//	config  ─────────────────────────────────▶   (queued before the clone,
//	                                             which puts the child in its
//	                                             cgroups: see forkInCgroup)
//	go      ─────────────────────────────────▶   make / rprivate, mount /proc,
//	                                             sethostname, lo up, find COMMAND
//	        ◀─────────────────────────────────   error {step, error, code}, exit
//	        ◀─────────────────────────────────   ready {pid}: COMMAND started
//	        ◀───── EOF ───────────────────────   --no-init: COMMAND exec'd, the
//	                                             close-on-exec socket closed
//
// `pbox create` (OCI) stops twice on the way:
//
//	        ◀─────────────────────────────────   hooks: namespaces made, nothing
//	run prestart + createRuntime hooks           mounted yet (only with hooks)
//	resume  ─────────────────────────────────▶   mounts, createContainer hooks,
//	                                             pivot_root, find COMMAND, pty
//	        ◀─────────────────────────────────   created: pbox create exits; the
//	                                             init blocks reading exec.fifo
//	pbox start writes a byte to exec.fifo ───▶   startContainer hooks, COMMAND
//
// A box on a CNI network (pbox run --network bridge) overlaps the two:
//
//	        ◀─────────────────────────────────   netns: namespaces made; the
//	pin the netns, CNI ADD, /etc files           init goes on with its mounts
//	resume  ─────────────────────────────────▶   (awaited before COMMAND)
//
// The child is born in its cgroups on every host (CLONE_INTO_CGROUP, and
// for v1 a forking thread that joined them), so "go" follows at once; it
// carries the init's host pid, which the init cannot see from inside.

type msgType string

const (
	msgConfig msgType = "config"
	msgGo     msgType = "go"
	msgReady  msgType = "ready"
	msgError  msgType = "error"
	// OCI create adds:
	msgHooks   msgType = "hooks"   // init: namespaces exist, run prestart/createRuntime
	msgResume  msgType = "resume"  // parent: hooks done, go on
	msgCreated msgType = "created" // init: set up; COMMAND waits for exec.fifo
	// A CNI network adds:
	msgNetns msgType = "netns" // init: namespaces exist; pbox attaches, then resume
	// The exec joiner (joiner.go) says:
	msgPid msgType = "pid" // the process is forked into the box: its host pid
	msgPty msgType = "pty" // with SCM_RIGHTS: its pty master
)

type message struct {
	Type   msgType `json:"type"`
	Config *Config `json:"config,omitempty"`
	Step   string  `json:"step,omitempty"`
	Error  string  `json:"error,omitempty"`
	Code   int     `json:"code,omitempty"`
	Pid    int     `json:"pid,omitempty"`
	// Errno comes from the tiny init (handover.go) and the exec joiner
	// (joiner.go), which leave the wording of an errno to pbox, as Go
	// words every other one.
	Errno int `json:"errno,omitempty"`
}

// setupError is what an error message from the init says.
func (m message) setupError() *SetupError {
	e := &SetupError{Step: m.Step, Err: m.Error, Code: m.Code}
	if m.Errno != 0 {
		e.Err += ": " + syscall.Errno(m.Errno).Error()
	}
	return e
}

// socketPair makes the two ends of a sync socket (close-on-exec: the
// child's end is passed by number).
func socketPair(name string) (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), name+"-parent"), os.NewFile(uintptr(fds[1]), name+"-child"), nil
}

func send(w io.Writer, m message) error {
	return json.NewEncoder(w).Encode(m)
}

// expect reads one message and checks its type.
func expect(d *json.Decoder, want msgType) (message, error) {
	var m message
	if err := d.Decode(&m); err != nil {
		return m, fmt.Errorf("read %s message: %w", want, err)
	}
	if m.Type != want {
		return m, fmt.Errorf("unexpected message: got %q, expected %q", m.Type, want)
	}
	return m, nil
}
