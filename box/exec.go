package box

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"

	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/internal/osthread"
	"github.com/pbox-dev/pbox/namespaces"
	"golang.org/x/sys/unix"
)

// ExecIO is where an exec'd process's stdio goes.
type ExecIO struct {
	Stdio [3]*os.File // nil = pbox's own
	// Console, with Process.Terminal, is a connected unix socket that
	// receives the pty master (SCM_RIGHTS), as runc's --console-socket.
	// Without it the master is returned in Running.Master.
	Console *os.File
	// PreserveFDs passes pbox's fds 3..3+N-1 on as 3.. (runc's
	// --preserve-fds); every other descriptor stays out.
	PreserveFDs int
}

// Running is a process pbox exec started; it is pbox's child.
type Running struct {
	Pid    int
	Master *os.File // the pty master, with Terminal and no Console
	pidfd  int
}

// Signal sends sig through the pidfd (never to a recycled pid).
func (r *Running) Signal(sig syscall.Signal) error {
	return unix.PidfdSendSignal(r.pidfd, sig, nil, 0)
}

// Wait waits for the process and returns its shell-style status.
func (r *Running) Wait() int {
	ws := waitPid(r.Pid)
	unix.Close(r.pidfd)
	return WaitStatusCode(ws)
}

// Exec starts p inside the box: in every namespace of its init and in its
// cgroup, under its root and hostname, with a pid of the box's. The
// process is a child of the caller (a subreaper such as containerd's
// shim adopts it if the caller exits). pbox plans it here and the joiner
// (joiner.go), a single-threaded program, enters the box and runs the
// plan. Errors are *SetupError, or the box's state refusing an exec.
func (h *Handle) Exec(p Process, eio ExecIO) (*Running, error) {
	if err := h.Allows(OpExec); err != nil {
		return nil, err
	}
	return execIn(h.Record, p, eio)
}

// ResolveUser reads -u USER[:GROUP] for a process of the running box:
// names from the box's own /etc/passwd and /etc/group.
func (h *Handle) ResolveUser(spec string) (*User, error) {
	return ResolveUser(fmt.Sprintf("/proc/%d/root", h.Record.Pid), spec)
}

// execIn is Exec for the box of rec.
func execIn(rec *Record, p Process, eio ExecIO) (*Running, error) {
	if len(p.Args) == 0 || p.Args[0] == "" {
		return nil, &SetupError{Step: "exec", Err: "no command given", Code: StatusSetupFailed}
	}
	if len(tinyInit) == 0 {
		return nil, &SetupError{Step: "exec", Code: StatusSetupFailed,
			Err: "this build of pbox carries no single-threaded joiner (box/tinyinit) for " + runtime.GOARCH + ", and pbox exec never joins a box from a multi-threaded Go process"}
	}
	var join []nsToJoin
	defer func() {
		for _, j := range join {
			unix.Close(j.fd)
		}
	}()
	for _, k := range joinerOrder {
		same, err := namespaces.Same(rec.Pid, k)
		if err == nil && !same {
			var fd int
			if fd, err = unix.Open(namespaces.NsPath(rec.Pid, k), unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
				join = append(join, nsToJoin{kind: k, fd: fd})
			}
		}
		if err != nil {
			return nil, setupErr("exec", fmt.Errorf("read the box's %s namespace: %w (has the box stopped?)", k, err))
		}
	}
	cg := cgroups.Reopen(rec.Cgroup, nil)
	cgfd, err := cg.FD()
	if err != nil {
		return nil, setupErr("cgroup", err)
	}
	if cgfd >= 0 {
		defer unix.Close(cgfd)
	}
	proc := p
	if proc.Env == nil {
		proc.Env = rec.Config.Env
	}
	if proc.Capabilities == nil {
		// The box's sets, all five, as runc's exec takes the container's.
		proc.Capabilities, proc.Inheritable, proc.Ambient = rec.Config.Capabilities, rec.Config.Inheritable, rec.Config.Ambient
		// And its scheduling, as runc exec starts from the box's process.
		proc.IOPriority, proc.Scheduler, proc.CPUAffinity = rec.Config.IOPriority, rec.Config.Scheduler, rec.Config.CPUAffinity
	}
	if proc.Cwd == "" {
		proc.Cwd = "/"
	}
	if proc.User == nil && len(join) > 0 && join[0].kind == namespaces.User {
		// Root of the box's user namespace: pbox's own ids mean nothing
		// there (they would show as the overflow uid).
		proc.User = &User{}
	}
	plan := joinPlan{Process: proc, Join: join, Seccomp: rec.Config.Seccomp, PreserveFDs: eio.PreserveFDs}
	if !rec.Config.NoNewKeyring {
		plan.Keyring = keyringName(rec.ID)
	}
	// This thread joins the box's v1 cgroups (a child forked from it is
	// born there; cgroup2 uses CLONE_INTO_CGROUP) and is thrown away.
	var run *Running
	osthread.Throwaway(func() { run, err = startJoiner(plan, cg, cgfd, eio) })
	if se, ok := err.(*SetupError); ok {
		explainSetupError(proc.Rlimits, se)
	}
	return run, err
}

// forkJoined forks argv from a disposable thread that first joins the
// namespaces in join (an OCI config's namespace paths, or --network
// container:BOX). PR_SET_PDEATHSIG fires when the thread that forked a
// child ends, so with attr.Sys.Pdeathsig the thread is parked, not ended,
// until release is called (once the box is gone); without, release does
// nothing.
func forkJoined(path string, argv []string, attr *syscall.ProcAttr, join map[namespaces.Kind]string, cg *cgroups.Cgroup) (pid int, release func(), err error) {
	forked, parked := make(chan struct{}), make(chan struct{})
	keep := attr.Sys != nil && attr.Sys.Pdeathsig != 0
	go osthread.Throwaway(func() {
		defer func() {
			close(forked)
			if keep && err == nil {
				<-parked // the box's init dies when this thread ends
			}
		}()
		leave, jerr := cg.JoinThread()
		if jerr != nil {
			err = jerr
			return
		}
		if err = namespaces.JoinThread(join); err == nil {
			pid, err = syscall.ForkExec(path, argv, attr)
		}
		// Out of the box's v1 cgroups before anyone may try to remove
		// them: the thread itself ends later (a failed create left its
		// cgroups behind while it lived).
		leave()
	})
	<-forked
	var once sync.Once
	return pid, func() { once.Do(func() { close(parked) }) }, err
}

// openPty opens a new pty in the current mount namespace's /dev/ptmx, of
// the given size if any, and returns the master and the slave.
// TIOCGPTPEER opens the slave through the master, so no path lookup can be
// raced or redirected.
func openPty(size *ConsoleSize) (master, slave *os.File, err error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if size != nil {
		if err := unix.IoctlSetWinsize(mfd, unix.TIOCSWINSZ, &unix.Winsize{Row: size.Rows, Col: size.Cols}); err != nil {
			unix.Close(mfd)
			return nil, nil, fmt.Errorf("set the pty's size: %w", err)
		}
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(mfd)
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	// TIOCGPTPEER takes the slave's open flags as its argument.
	r1, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		unix.Close(mfd)
		return nil, nil, fmt.Errorf("open pty peer: %w", errno)
	}
	return os.NewFile(uintptr(mfd), "pty-master"), os.NewFile(r1, "pty-slave"), nil
}

// sendFD passes f over a unix socket (SCM_RIGHTS), as runc does with the
// pty master on --console-socket.
func sendFD(sock *os.File, f *os.File) error {
	rights := unix.UnixRights(int(f.Fd()))
	if err := unix.Sendmsg(int(sock.Fd()), []byte(f.Name()), rights, nil, 0); err != nil {
		return fmt.Errorf("send pty master: %w", err)
	}
	return nil
}

// recvFD receives one descriptor sent with sendFD.
func recvFD(sock *os.File) (*os.File, error) {
	buf := make([]byte, 64)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receive pty master: %w", err)
	}
	return rightsFile(oob[:oobn], string(buf[:n]))
}
