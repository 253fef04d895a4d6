package box

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/internal/logf"
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

// Exec starts p inside the box of rec: in every namespace of its init and
// in its cgroup, under its root and hostname, with a pid of the box's.
// The process is a child of the caller (a subreaper such as containerd's
// shim adopts it if the caller exits). Errors are *SetupError.
func Exec(rec *Record, p Process, eio ExecIO) (*Running, error) {
	if len(p.Args) == 0 || p.Args[0] == "" {
		return nil, &SetupError{Step: "exec", Err: "no command given", Code: StatusSetupFailed}
	}
	if same, err := namespaces.Same(rec.Pid, namespaces.User); err == nil && !same {
		return nil, &SetupError{Step: "exec", Code: StatusSetupFailed,
			Err: "the box has its own user namespace, which pbox exec cannot join: the kernel lets only a single-threaded process enter one, and pbox is a Go program without cgo (see namespaces/doc.go)"}
	}
	join := map[namespaces.Kind]string{}
	for _, k := range []namespaces.Kind{namespaces.Cgroup, namespaces.IPC, namespaces.UTS, namespaces.Net, namespaces.PID, namespaces.Mount} {
		same, err := namespaces.Same(rec.Pid, k)
		if err != nil {
			return nil, setupErr("exec", fmt.Errorf("read the box's %s namespace: %w (has the box stopped?)", k, err))
		}
		if !same {
			join[k] = namespaces.NsPath(rec.Pid, k)
		}
	}
	// Per-process settings first, on pbox itself (the child inherits
	// them), as the init does for COMMAND: before the mount namespace,
	// /proc/self is still pbox's own.
	if serr := processSettings(&p, logf.To(nil, "")); serr != nil {
		return nil, serr
	}
	cg := cgroups.Reopen(rec.Cgroup, nil)
	cgfd, err := cg.FD()
	if err != nil {
		return nil, setupErr("cgroup", err)
	}
	if cgfd >= 0 {
		defer unix.Close(cgfd)
	}
	env := p.Env
	if env == nil {
		env = rec.Config.Env
	}
	caps := p.Capabilities
	if caps == nil {
		caps = rec.Config.Capabilities
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}

	proc := p
	proc.Env, proc.Cwd = env, cwd
	stage := stageConfig{
		Process: proc,
		Confinement: Config{Name: rec.ID, Process: Process{Capabilities: caps, NoNewPrivileges: p.NoNewPrivileges},
			NoNewKeyring: rec.Config.NoNewKeyring, Seccomp: rec.Config.Seccomp},
	}
	// The stage joins the mount and cgroup namespaces itself: pbox's
	// sealed binary is a path in pbox's mount namespace, and a kernel
	// before 6.x refuses CLONE_INTO_CGROUP (ENOENT) to a thread whose
	// cgroup namespace does not hold the cgroup it forks from.
	stage.Join = map[namespaces.Kind]string{}
	for _, k := range []namespaces.Kind{namespaces.Mount, namespaces.Cgroup} {
		if p, ok := join[k]; ok {
			stage.Join[k] = p
			delete(join, k)
		}
	}
	// This thread joins the box, and is thrown away afterwards.
	var run *Running
	osthread.Throwaway(func() { run, err = forkStage(join, cg, cgfd, stage, eio) })
	return run, err
}

// forkStage runs on a locked, disposable thread: it moves the thread into
// the box's cgroups and namespaces (all but the mount namespace: the
// stage is started from pbox's sealed binary, a path in pbox's mount
// namespace, and joins that one itself) and forks the exec stage from it,
// then hands the stage its work over a socket and waits until it has
// exec'd COMMAND or failed.
func forkStage(join map[namespaces.Kind]string, cg *cgroups.Cgroup, cgfd int, stage stageConfig, eio ExecIO) (*Running, error) {
	// v1 cgroups are per thread: a child forked from this thread is born
	// in the box's v1 cgroups too (cgroup2 uses CLONE_INTO_CGROUP). The
	// thread leaves them once it has forked: it is thrown away, but not
	// at once, and while it is there the box's cgroup cannot be removed.
	leave, err := cg.JoinThread()
	if err != nil {
		return nil, setupErr("cgroup", err)
	}
	defer leave()
	if err := namespaces.JoinThread(join); err != nil {
		return nil, setupErr("join the box", err)
	}
	parent, child, err := socketPair("stage")
	if err != nil {
		return nil, setupErr("socketpair", err)
	}
	defer parent.Close()
	defer child.Close()
	files := stdioFDs(eio.Stdio)
	for i := 0; i < eio.PreserveFDs; i++ {
		files = append(files, uintptr(3+i))
	}
	syncAt := len(files)
	files = append(files, child.Fd())
	sealed, err := OpenSealedExe(len(files))
	if err != nil {
		return nil, setupErr("exec", err)
	}
	defer sealed.Close()
	sys := &syscall.SysProcAttr{Setsid: stage.Terminal}
	if cgfd >= 0 {
		sys.UseCgroupFD, sys.CgroupFD = true, cgfd
	}
	pidfd := -1
	sys.PidFD = &pidfd
	// The stage's work fits in the socket's buffer: queue it first.
	if err := send(parent, message{Type: msgConfig, Stage: &stage}); err != nil {
		return nil, setupErr("exec", err)
	}
	pid, err := syscall.ForkExec(sealed.Path, []string{ExecStageArg0, strconv.Itoa(syncAt)}, &syscall.ProcAttr{Env: initEnv, Files: files, Sys: sys})
	if err != nil {
		return nil, setupErr("exec", fmt.Errorf("start %s: %w", ExecStageArg0, err))
	}
	child.Close()
	run := &Running{Pid: pid, pidfd: pidfd}
	abort := func(e *SetupError) (*Running, error) {
		unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		run.Wait()
		return nil, e
	}
	// The stage answers with the pty master (with a terminal), then with
	// an error, or with nothing: its socket closes when COMMAND is exec'd.
	if stage.Terminal {
		master, err := recvFD(parent)
		if err != nil {
			if e := stageError(parent); e != nil {
				run.Wait()
				return nil, e
			}
			return abort(setupErr("terminal", err))
		}
		if eio.Console != nil {
			err := sendFD(eio.Console, master)
			master.Close()
			if err != nil {
				return abort(setupErr("console socket", err))
			}
		} else {
			run.Master = master
		}
	}
	if e := stageError(parent); e != nil {
		if run.Master != nil {
			run.Master.Close()
		}
		run.Wait()
		return nil, e
	}
	return run, nil
}

// stageError reads the stage's error report; nil means the socket closed
// without one: COMMAND was exec'd.
func stageError(sock *os.File) *SetupError {
	var m message
	if err := json.NewDecoder(sock).Decode(&m); err != nil {
		return nil
	}
	if m.Type == msgError {
		return m.setupError()
	}
	return setupErr("exec", fmt.Errorf("unexpected message from %s: got %q, expected %q", ExecStageArg0, m.Type, msgError))
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
