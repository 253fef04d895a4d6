package box

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/namespaces"
	"github.com/pbox-dev/pbox/rootfs"
	"golang.org/x/sys/unix"
)

// ForwardedSignals are the signals pbox passes on to the box's init, as
// `docker run` and `runc run` do. Everything else keeps its default.
var ForwardedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
}

// Options are the parent-side settings that never reach the init.
type Options struct {
	CgroupMode   cgroups.Mode
	CgroupRoot   string // "" = /sys/fs/cgroup
	CgroupParent string
	Limits       cgroups.Limits
	Log          io.Writer   // -v output; nil = quiet
	Self         string      // the binary to re-execute; "" = /proc/self/exe
	Stdio        [3]*os.File // the box's stdin, stdout, stderr; nil = pbox's own
	// Filesystem is the box's root, volumes and tmpfs mounts; with a mount
	// namespace, Run turns it into cfg.Mounts (rootfs.Plan).
	Filesystem rootfs.Spec
}

// Result is how a box ended.
type Result struct {
	Status   int    // shell-style: code, 128+signal
	OOMKills uint64 // processes the kernel OOM-killed in the box
}

// Run starts the box described by cfg, waits for it and cleans up. On a
// setup failure it returns a *SetupError carrying the exit status; whatever
// happens, the box's cgroup and processes are gone when it returns.
func Run(cfg Config, opt Options) (Result, error) {
	logf := func(format string, args ...any) {
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, "pbox: "+format+"\n", args...)
		}
	}
	if err := planFilesystem(&cfg, opt.Filesystem); err != nil {
		return Result{}, err
	}
	logf("cgroup: host layout %s", opt.CgroupMode)
	cg, err := cgroups.Create(cgroups.Spec{
		Mode: opt.CgroupMode, Root: opt.CgroupRoot, Parent: opt.CgroupParent,
		Name: cfg.Name, Limits: opt.Limits, Log: cgroups.Logf(logf),
	})
	if err != nil {
		return Result{}, setupErr("cgroup", err)
	}
	res, err := runInCgroup(&cfg, opt, cg, logf)
	// OOM events live in the cgroup: read them before it is removed.
	if n, oerr := cg.OOMKills(); oerr == nil {
		res.OOMKills = n
	}
	if derr := cg.Destroy(); derr != nil && err == nil {
		err = setupErr("cleanup", derr)
	}
	return res, err
}

// planFilesystem checks the filesystem request and plans its mounts,
// before anything is created: a bad --rootfs or volume costs nothing.
func planFilesystem(cfg *Config, fs rootfs.Spec) error {
	if !cfg.has(namespaces.Mount) {
		if fs.Root != "" || fs.ReadOnly || len(fs.Volumes) > 0 || len(fs.Tmpfs) > 0 {
			return setupErr("rootfs", errors.New("--rootfs, --read-only, volumes and --tmpfs need a mount namespace: add mnt to --ns"))
		}
		return nil
	}
	fs.NewProc = cfg.has(namespaces.PID)
	ops, err := rootfs.Plan(fs)
	if err != nil {
		return setupErr("rootfs", err)
	}
	cfg.Mounts = ops
	return nil
}

func runInCgroup(cfg *Config, opt Options, cg *cgroups.Cgroup, logf func(string, ...any)) (Result, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return Result{}, setupErr("socketpair", err)
	}
	parent := os.NewFile(uintptr(fds[0]), "sync-parent")
	child := os.NewFile(uintptr(fds[1]), "sync-child")
	defer parent.Close()
	defer child.Close()

	// The config fits in the socket buffer: queue it before the clone.
	if err := send(parent, message{Type: msgConfig, Config: cfg}); err != nil {
		return Result{}, setupErr("send config", err)
	}

	// Signals that arrive from now on are queued and forwarded once the
	// init exists, instead of killing pbox and orphaning the box.
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, ForwardedSignals...)
	defer signal.Stop(sigs)

	// PR_SET_PDEATHSIG fires when the *thread* that forked the child exits,
	// not the process: keep this goroutine on its thread until the end.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	sys := &syscall.SysProcAttr{
		// The init makes the cgroup namespace itself, once it is in the
		// box's cgroups (see Init).
		Cloneflags: namespaces.CloneFlags(cfg.Namespaces) &^ unix.CLONE_NEWCGROUP,
		Pdeathsig:  syscall.SIGKILL,
	}
	cgfd, err := cg.FD()
	if err != nil {
		return Result{}, setupErr("cgroup", err)
	}
	if cgfd >= 0 {
		defer unix.Close(cgfd)
		sys.UseCgroupFD, sys.CgroupFD = true, cgfd
	}
	pidfd := -1
	sys.PidFD = &pidfd
	self := opt.Self
	if self == "" {
		self = "/proc/self/exe"
	}
	flags := sys.Cloneflags
	if sys.UseCgroupFD {
		flags |= unix.CLONE_INTO_CGROUP
	}
	logf("clone: %s, exec %s as %s (PR_SET_PDEATHSIG=SIGKILL)", namespaces.FlagNames(flags), self, InitArg0)
	pid, err := syscall.ForkExec(self, []string{InitArg0}, &syscall.ProcAttr{
		Env:   initEnv,
		Files: append(stdioFDs(opt.Stdio), child.Fd()),
		Sys:   sys,
	})
	if err != nil {
		return Result{}, setupErr("clone "+namespaces.FlagNames(flags), explainClone(err))
	}
	defer unix.Close(pidfd)
	child.Close()
	logf("clone: %s is host pid %d", InitArg0, pid)

	// From here on, every error path must stop and reap the child.
	abort := func(e *SetupError) (Result, error) {
		unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		waitPid(pid)
		return Result{}, e
	}
	if cg.NeedsAddProc() {
		if err := cg.AddProc(pid); err != nil {
			return abort(setupErr("cgroup", err))
		}
	}
	cg.Placed()
	if err := send(parent, message{Type: msgGo}); err != nil {
		return abort(setupErr("start init", err))
	}

	dec := json.NewDecoder(parent)
	var m message
	switch err := dec.Decode(&m); {
	case errors.Is(err, io.EOF):
		// --no-init: COMMAND exec'd and the close-on-exec socket closed.
		// Otherwise the init died before answering: its status says how.
	case err != nil:
		return abort(setupErr("read from init", err))
	case m.Type == msgError:
		waitPid(pid)
		return Result{}, &SetupError{Step: m.Step, Err: m.Error, Code: m.Code}
	case m.Type != msgReady:
		return abort(setupErr("init", fmt.Errorf("unexpected message: got %q, expected %q", m.Type, msgReady)))
	default:
		logf("box: COMMAND runs as pid %d inside the box", m.Pid)
	}

	done := make(chan struct{})
	defer close(done)
	go forwardSignals(pidfd, sigs, done)

	ws := waitPid(pid)
	return Result{Status: WaitStatusCode(ws)}, nil
}

// forwardSignals passes pbox's signals to the init through its pidfd, so a
// recycled pid can never receive them.
func forwardSignals(pidfd int, sigs <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case s := <-sigs:
			if sig, ok := s.(syscall.Signal); ok && sig != 0 {
				unix.PidfdSendSignal(pidfd, sig, nil, 0)
			}
		case <-done:
			return
		}
	}
}

func waitPid(pid int) syscall.WaitStatus {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			return ws
		}
	}
}

// explainClone turns the errno of a failed clone into advice.
func explainClone(err error) error {
	switch {
	case errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%w: creating namespaces needs root: run pbox with sudo", err)
	case errors.Is(err, syscall.EINVAL):
		return fmt.Errorf("%w: this kernel refused a namespace or CLONE_INTO_CGROUP flag", err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EUSERS):
		return fmt.Errorf("%w: too many namespaces: raise /proc/sys/user/max_*_namespaces", err)
	}
	return err
}

// initEnv is the init's own environment (COMMAND's comes in the config).
// GOMAXPROCS=1 from the very start keeps the Go runtime of PID 1 to a few
// threads: each one counts against the box's pids limit.
var initEnv = []string{"GOMAXPROCS=1"}

func stdioFDs(stdio [3]*os.File) []uintptr {
	fds := []uintptr{0, 1, 2}
	for i, f := range stdio {
		if f != nil {
			fds[i] = f.Fd()
		}
	}
	return fds
}
