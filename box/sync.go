package box

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// pbox and the box's init (the box builder, plan.go) talk over one
// stream socketpair. The plan itself is in a memfd the init reads at
// once; on the socket pbox writes single bytes (tinyinit.c reads them
// without a parser) and the init answers with one JSON object per line:
//
//	pbox run (parent)                            pbox-init (child)
//	-----------------                            -----------------
//	clone(CLONE_NEW*, CLONE_INTO_CGROUP)  ────▶  read the plan
//	g pid, hook states  ─────────────────────▶   make / rprivate, mounts,
//	                                             pivot_root, hostname, lo up,
//	                                             find COMMAND, confine itself
//	        ◀─────────────────────────────────   error {step, error, errno, code}
//	        ◀─────────────────────────────────   ready {pid}: COMMAND started
//	        ◀───── EOF ───────────────────────   --no-init: COMMAND exec'd, the
//	                                             close-on-exec socket closed
//
// `pbox create` (OCI) stops twice on the way:
//
//	        ◀─────────────────────────────────   hooks: namespaces made, nothing
//	run prestart + createRuntime hooks           mounted yet (only with hooks)
//	r       ─────────────────────────────────▶   mounts, createContainer hooks,
//	                                             pivot_root, find COMMAND, pty
//	        ◀─────────────────────────────────   created: pbox create exits; the
//	                                             init blocks reading exec.fifo
//	pbox start writes a byte to exec.fifo ───▶   startContainer hooks, COMMAND
//
// A box on a CNI network (pbox run --network bridge) overlaps the two:
//
//	        ◀─────────────────────────────────   netns: namespaces made; the
//	pin the netns, CNI ADD, /etc files           init goes on with its mounts
//	r       ─────────────────────────────────▶   (awaited before COMMAND)
//
// The child is born in its cgroups on every host (CLONE_INTO_CGROUP, and
// for v1 a forking thread that joined them), so "g" follows at once; it
// carries the init's host pid, which the init cannot see from inside.

type msgType string

const (
	msgReady msgType = "ready"
	msgError msgType = "error"
	// OCI create adds:
	msgHooks   msgType = "hooks"   // init: namespaces exist, run prestart/createRuntime
	msgCreated msgType = "created" // init: set up; COMMAND waits for exec.fifo
	// A CNI network adds:
	msgNetns msgType = "netns" // init: namespaces exist; pbox attaches, then resume
	// The exec joiner (joiner.go) says:
	msgPid msgType = "pid" // the process is forked into the box: its host pid
	msgPty msgType = "pty" // with SCM_RIGHTS: its pty master
)

type message struct {
	Type  msgType `json:"type"`
	Step  string  `json:"step,omitempty"`
	Error string  `json:"error,omitempty"`
	Code  int     `json:"code,omitempty"`
	Pid   int     `json:"pid,omitempty"`
	// Errno comes from the box builder (plan.go) and the exec joiner
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
