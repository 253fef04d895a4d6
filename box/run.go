package box

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/internal/logf"
	"github.com/pbox-dev/pbox/namespaces"
	"github.com/pbox-dev/pbox/network"
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
	Stdio        [3]*os.File // the box's stdin, stdout, stderr; nil = pbox's own
	// Filesystem is the box's root and mounts, as its config.json gave
	// them (Translate); Start plans it into cfg.Mounts. nil: no mount
	// namespace, nothing to mount.
	Filesystem *rootfs.BundleSpec
	CgroupName string // the cgroup's leaf; "" = cfg.Name
	// SystemdScope: the cgroup becomes a systemd scope (--systemd-cgroup).
	SystemdScope bool

	// For `pbox create`: the init outlives this process, so no
	// PR_SET_PDEATHSIG; exec.fifo holds COMMAND back until `pbox start`.
	Detach    bool
	StartFIFO *os.File
	Console   *os.File // a connected console socket, for cfg.Terminal
	// PreserveFDs passes pbox's fds 3..3+N-1 on to COMMAND (as 3..).
	PreserveFDs int
	// UIDMappings and GIDMappings are the maps of a new user namespace
	// (cfg.Namespaces has namespaces.User).
	UIDMappings, GIDMappings []syscall.SysProcIDMap
	// Join are existing namespaces the box enters instead of new ones.
	Join map[namespaces.Kind]string
	// RuntimeHooks run here, in pbox's namespaces, once the box's exist.
	RuntimeHooks []Hook
	// Network puts the box on a CNI network once its namespaces exist
	// (State then keeps the attachment).
	Network *NetworkRequest
	// ExtraHosts are --add-host's lines for the box's /etc/hosts (a file
	// in the state directory, bound over the box's; kept current with the
	// names of its network's boxes when it has a CNI network).
	ExtraHosts []network.ExtraHost
	// State, if not nil, is the state root the box belongs to: it marks
	// the box's cgroup from before its mkdir to after its rmdir (see
	// MarkCgroup), so that rm and `pbox cleanup` find it if pbox is killed
	// in between, and keeps a CNI network's attachment.
	State *Store

	// Notes are for the user (stderr), from planning: what the box lacks
	// and how to get it.
	Notes []string

	// keepGoMonitor: a detached box's Go monitor stays rather than hand
	// over to the tiny one (it serves pbox attach: RunMonitored).
	keepGoMonitor bool
}

// Result is how a box ended.
type Result struct {
	Status   int    // shell-style: code, 128+signal
	OOMKills uint64 // processes the kernel OOM-killed in the box
}

// Run starts the box described by cfg, waits for it and cleans up. On a
// setup failure it returns a *SetupError carrying the exit status; whatever
// happens, the box's cgroup and processes are gone when it returns.
// started, if not nil, is called once COMMAND runs (to record the box);
// if it fails, the box is killed at once — a box nothing can find must
// not live on — and Run returns started's error once it is gone.
func Run(cfg Config, opt Options, started func(*Box) error) (Result, error) {
	// Signals that arrive from now on are queued and forwarded once the
	// init exists, instead of killing pbox and orphaning the box.
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, ForwardedSignals...)
	defer signal.Stop(sigs)

	// PR_SET_PDEATHSIG fires when the *thread* that forked the child exits,
	// not the process: keep this goroutine on its thread until the end.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	b, err := Start(cfg, opt)
	if err != nil {
		return Result{}, err
	}
	if started != nil {
		if err := started(b); err != nil {
			b.Cgroup.Kill()
			res, werr := b.Wait()
			if werr != nil {
				err = fmt.Errorf("%w (and cleaning up: %v)", err, werr)
			}
			return res, err
		}
	}
	done := make(chan struct{})
	go forwardSignals(b.pidfd, sigs, done)
	res, err := b.Wait()
	close(done)
	return res, err
}

// Box is a box whose init runs: started by Run, or by `pbox create`,
// which leaves it waiting for `pbox start`.
type Box struct {
	Pid      int // the init, as the host sees it
	PidStart uint64
	Inner    int // COMMAND's pid inside the box (0 while created)
	Cgroup   *cgroups.Cgroup
	// Network is the box's CNI attachment (Options.Network), nil if none.
	Network *network.Attachment
	pidfd   int
	marks   *Store // where the cgroup is marked (Options.Marks)
	name    string // the box's id in marks
	log     logf.Logf
	// The init was forked from a parked thread (it joined namespaces by
	// path, and dies with that thread): releaseParent, nil otherwise, ends
	// the thread once the init is gone.
	releaseParent func()
}

// Start creates the box's cgroup, clones the init and waits until it
// reports COMMAND started (or, with opt.StartFIFO, ready and waiting for
// `pbox start`). On error nothing is left: no cgroup, no process.
// Unless opt.Detach, the caller must keep its OS thread locked until the
// box is gone (PR_SET_PDEATHSIG).
func Start(cfg Config, opt Options) (*Box, error) {
	logf := logf.To(opt.Log, "pbox: ")
	if err := planFilesystem(&cfg, opt); err != nil {
		return nil, err
	}
	logf("cgroup: host layout %s", opt.CgroupMode)
	rel := "/" + filepath.Join(strings.Trim(opt.CgroupParent, "/"), cgroupName(cfg, opt))
	if opt.State != nil && opt.CgroupMode != cgroups.None {
		if err := opt.State.MarkCgroup(cfg.Name, rel); err != nil {
			return nil, setupErr("state", fmt.Errorf("mark cgroup %s in %s: %w", rel, opt.State.Root, err))
		}
	}
	if Rootless() {
		// Device rules are a BPF program only host root may attach. A
		// rootless box is in a user namespace: it can make no device node
		// and opens only what its user could (rootless.go).
		opt.Limits.Devices = nil
	}
	cg, err := cgroups.Create(cgroups.Spec{
		Mode: opt.CgroupMode, Root: opt.CgroupRoot, Parent: opt.CgroupParent,
		Name: cgroupName(cfg, opt), Limits: opt.Limits, Log: logf, Systemd: opt.SystemdScope,
	})
	if err != nil {
		if !errors.Is(err, cgroups.ErrBoxExists) { // another box's: its mark stays
			opt.State.UnmarkCgroup(rel)
		}
		if opt.State != nil { // not this box's, whoever's it is
			os.Remove(opt.State.Path(cfg.Name, cgroupPathFile))
		}
		return nil, setupErr("cgroup", err)
	}
	b, err := startInCgroup(&cfg, opt, cg, logf)
	if err == nil {
		b.marks, b.name, b.log = opt.State, cfg.Name, logf
		return b, nil
	}
	if derr := cg.Destroy(); derr != nil {
		// Say so: a cgroup left behind must not go unnoticed (in the
		// SetupError itself, whose text is what the user sees). Its mark
		// stays, for pbox cleanup.
		var se *SetupError
		if errors.As(err, &se) {
			se.Err += " (and cleaning up: " + derr.Error() + ")"
			return nil, se
		}
		return nil, fmt.Errorf("%w (and cleaning up: %v)", err, derr)
	}
	opt.State.UnmarkCgroup(rel)
	return nil, err
}

// CgroupView is what the box's /sys/fs/cgroup shows on this host: its own
// cgroup in every hierarchy, fresh mounts rooted there by its cgroup
// namespace, or (without one) binds of its directories.
func CgroupView(mode cgroups.Mode, root, parent, name string, cgroupNS bool) ([]rootfs.CgroupFS, error) {
	views, err := cgroups.BoxView(mode, root, "/"+filepath.Join(strings.Trim(parent, "/"), name), cgroupNS)
	if err != nil {
		return nil, err
	}
	out := make([]rootfs.CgroupFS, len(views))
	for i, v := range views {
		out[i] = rootfs.CgroupFS{Dir: v.Dir, FSType: v.FSType, Options: v.Options, Source: v.Source}
	}
	return out, nil
}

// cgroupName is the leaf of the box's cgroup: its name, or the last part
// of an OCI cgroupsPath (whose other parts are in opt.CgroupParent).
func cgroupName(cfg Config, opt Options) string {
	if opt.CgroupName != "" {
		return opt.CgroupName
	}
	return cfg.Name
}

// Wait waits for the init to exit, reads the OOM kills and removes the
// cgroup. Only the init's parent can wait: Run, not `pbox create`.
func (b *Box) Wait() (Result, error) {
	ws := waitPid(b.Pid)
	if b.releaseParent != nil {
		b.releaseParent()
	}
	unix.Close(b.pidfd)
	return b.finish(ws)
}

// finish is what follows the init's exit: its status, the OOM kills, the
// end of whatever is left in the cgroup, and the cgroup itself.
func (b *Box) finish(ws syscall.WaitStatus) (Result, error) {
	res := Result{Status: WaitStatusCode(ws)}
	// OOM events live in the cgroup: read them before it is removed.
	if n, err := b.Cgroup.OOMKills(); err == nil {
		res.OOMKills = n
	}
	// CNI DEL (a box on a network) runs while the cgroup goes: the
	// plugins take far longer than the rmdirs, and neither needs the other.
	netDone := make(chan error, 1)
	if b.marks != nil && b.name != "" && b.Network != nil {
		log := b.log
		if log == nil {
			log = logf.To(nil, "")
		}
		go func() { netDone <- b.marks.releaseNetwork(b.name, log) }()
	} else {
		netDone <- nil
	}
	rel := b.Cgroup.Save().Rel
	err := b.Cgroup.Destroy()
	netErr := <-netDone
	if err != nil {
		return res, setupErr("cleanup", err)
	}
	b.marks.UnmarkCgroup(rel)
	if netErr != nil {
		return res, setupErr("network", netErr)
	}
	return res, nil
}

// Release lets go of a box that others will wait for (`pbox create`).
func (b *Box) Release() { unix.Close(b.pidfd) }

// planFilesystem plans the box's mounts (rootfs.PlanBundle) before
// anything is created: a bad root or volume costs nothing. What run adds
// for a CNI network (the box's /etc files) and what a cgroup mount shows
// are known only here.
func planFilesystem(cfg *Config, opt Options) error {
	if opt.Filesystem == nil {
		cfg.Mounts = nil
		return nil
	}
	fs := *opt.Filesystem
	if opt.State != nil && (opt.Network != nil || len(opt.ExtraHosts) > 0) {
		// Bound over the box's; filled once ADD has given an address.
		etc, err := opt.State.etcMounts(cfg.Name, opt.Network, opt.ExtraHosts, fs.BoxRoot() == "")
		if err != nil {
			return setupErr("network", err)
		}
		fs.Mounts = append(slices.Clip(fs.Mounts), etc...)
	}
	for _, m := range fs.Mounts {
		if m.Type == "cgroup" || m.Type == "cgroup2" {
			views, err := CgroupView(opt.CgroupMode, opt.CgroupRoot, opt.CgroupParent, cgroupName(*cfg, opt), cfg.has(namespaces.Cgroup))
			if err != nil {
				return setupErr("rootfs", err)
			}
			fs.Cgroup = views
			break
		}
	}
	ops, err := rootfs.PlanBundle(fs)
	if err != nil {
		return setupErr("rootfs", err)
	}
	cfg.Mounts = ops
	return nil
}

func startInCgroup(cfg *Config, opt Options, cg *cgroups.Cgroup, logf logf.Logf) (*Box, error) {
	parent, child, err := socketPair("sync")
	if err != nil {
		return nil, setupErr("socketpair", err)
	}
	defer parent.Close()
	defer child.Close()

	if len(tinyInit) == 0 {
		return nil, &SetupError{Step: "clone", Code: StatusSetupFailed,
			Err: "this build of pbox carries no box builder (box/tinyinit) for " + runtime.GOARCH + ": pbox builds boxes on amd64 and arm64"}
	}
	// COMMAND's preserved fds are 3, 4, ... of the builder already; what
	// the builder itself needs comes after them.
	files := stdioFDs(opt.Stdio)
	for i := 0; i < opt.PreserveFDs; i++ {
		files = append(files, uintptr(3+i))
	}
	l := initLayout{Preserve: opt.PreserveFDs, RuntimeHooks: len(opt.RuntimeHooks) > 0, AwaitNetwork: opt.Network != nil}
	syncAt := len(files)
	files = append(files, child.Fd())
	if opt.StartFIFO != nil {
		l.StartFIFO = len(files)
		files = append(files, opt.StartFIFO.Fd())
	}
	if opt.Console != nil {
		l.Console = len(files)
		files = append(files, opt.Console.Fd())
	}
	if opt.Network != nil && opt.State == nil {
		return nil, setupErr("network", errors.New("a CNI network needs a state root to keep the attachment in"))
	}
	cfg.DiesWithPbox = !opt.Detach
	join := opt.Join
	if p, ok := join[namespaces.Mount]; ok {
		// Joined by the builder, single-threaded, by descriptor: a Go
		// thread cannot join a mount namespace for its child's exec.
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, setupErr("join namespaces", fmt.Errorf("open mount namespace %s: %w", p, err))
		}
		defer unix.Close(fd)
		l.JoinMount = len(files)
		files = append(files, uintptr(fd))
		join = maps.Clone(join)
		delete(join, namespaces.Mount)
	}
	data, err := encodeInitPlan(cfg, l)
	if err == nil && len(data) > MaxConfigSize {
		err = fmt.Errorf("the box's config is %d bytes, more than pbox takes (%d): shorten the environment, arguments or annotations", len(data), MaxConfigSize)
	}
	if err != nil {
		return nil, &SetupError{Step: "config", Code: StatusSetupFailed, Err: err.Error()}
	}
	plan, err := planMemfd("pbox-init-plan")
	if err != nil {
		return nil, setupErr("clone", err)
	}
	defer plan.Close()
	if _, err := plan.Write(data); err != nil {
		return nil, setupErr("clone", fmt.Errorf("write the box's plan: %w", err))
	}
	planAt := len(files)
	files = append(files, plan.Fd())
	program, err := tinyInitMemfd()
	if err != nil {
		return nil, setupErr("clone", err)
	}
	defer program.Close()
	programAt := len(files)
	files = append(files, program.Fd())

	sys := &syscall.SysProcAttr{
		// CLONE_NEWCGROUP is part of the clone: the child is born in the
		// box's cgroups (CLONE_INTO_CGROUP on cgroup2, the forking thread's
		// v1 cgroups below), so the new cgroup namespace is rooted at the
		// box's cgroup in every hierarchy.
		Cloneflags: namespaces.CloneFlags(cfg.Namespaces),
	}
	if !opt.Detach {
		sys.Pdeathsig = syscall.SIGKILL
	}
	rootlessMaps := cfg.has(namespaces.User) && Rootless() &&
		(namespaces.NeedHelpers(idMaps(opt.UIDMappings), os.Getuid()) || namespaces.NeedHelpers(idMaps(opt.GIDMappings), os.Getgid()))
	switch {
	case rootlessMaps:
		// An ordinary user's maps of subordinate ids are written by
		// newuidmap/newgidmap, not by Go's fork: the builder starts
		// unmapped and waits for "g", which goes once they are written
		// (WriteMaps below; the builder is not dumpable, so only a
		// privileged helper may open its maps). Its capabilities in its
		// new user namespace survive the exec as ambient ones (an
		// unmapped uid is not root to execve); it clears them before
		// COMMAND runs.
		sys.AmbientCaps = heldCaps()
	case cfg.has(namespaces.User) && Rootless():
		// The user's own ids alone: Go's fork writes them before the
		// child's exec, with setgroups denied (the kernel's condition for
		// an unprivileged gid_map). The user's uid is 0 inside at once.
		sys.UidMappings, sys.GidMappings = opt.UIDMappings, opt.GIDMappings
	case cfg.has(namespaces.User):
		// The child waits until Go has written its uid/gid maps.
		sys.UidMappings, sys.GidMappings = opt.UIDMappings, opt.GIDMappings
		sys.GidMappingsEnableSetgroups = true // COMMAND may get supplementary groups
		// Become the namespace's root once mapped: pbox's own uid (host
		// root) is usually not in the map, which would leave the init an
		// unmapped "nobody" without capabilities.
		sys.Credential = &syscall.Credential{Uid: 0, Gid: 0}
	}
	for k := range opt.Join {
		sys.Cloneflags &^= namespaces.CloneFlags([]namespaces.Kind{k})
	}
	cgfd, err := cg.FD()
	if err != nil {
		return nil, setupErr("cgroup", err)
	}
	if cgfd >= 0 {
		defer unix.Close(cgfd)
		sys.UseCgroupFD, sys.CgroupFD = true, cgfd
	}
	pidfd := -1
	sys.PidFD = &pidfd
	flags := sys.Cloneflags
	if sys.UseCgroupFD {
		flags |= unix.CLONE_INTO_CGROUP
	}
	self := fmt.Sprintf("/proc/self/fd/%d", programAt)
	argv := []string{InitArg0, strconv.Itoa(syncAt), strconv.Itoa(planAt)}
	logf("clone: %s, exec pbox's tiny init (%d bytes, a sealed memfd) as %s with the box's plan (%d bytes; PR_SET_PDEATHSIG=%v)",
		namespaces.FlagNames(flags), len(tinyInit), InitArg0, len(data), sys.Pdeathsig)
	attr := &syscall.ProcAttr{Env: []string{}, Files: files, Sys: sys}
	var pid int
	release := func() {}
	if len(join) > 0 {
		pid, release, err = forkJoined(self, argv, attr, join, cg)
	} else {
		pid, err = forkInCgroup(self, argv, attr, cg)
	}
	if err != nil {
		return nil, setupErr("clone "+namespaces.FlagNames(flags), explainClone(err))
	}
	child.Close()
	logf("clone: %s is host pid %d", InitArg0, pid)
	b := &Box{Pid: pid, Cgroup: cg, pidfd: pidfd}
	if len(join) > 0 && sys.Pdeathsig != 0 {
		b.releaseParent = release // the init's parent thread is parked
	}
	b.PidStart, _, _ = procStart(pid)

	// From here on, every error path must stop and reap the child (and
	// take the box off its network).
	abort := func(e *SetupError) (*Box, error) {
		unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		waitPid(pid)
		release()
		unix.Close(pidfd)
		if opt.Network != nil {
			if err := opt.State.releaseNetwork(cfg.Name, logf); err != nil {
				e.Err += " (and leaving the network: " + err.Error() + ")"
			}
		}
		return nil, e
	}
	fromInit := func(m message) *SetupError {
		return explainSetupError(cfg.Rlimits, m.setupError())
	}
	cg.Placed()
	if rootlessMaps {
		if err := namespaces.WriteMaps(pid, idMaps(opt.UIDMappings), idMaps(opt.GIDMappings)); err != nil {
			return abort(setupErr("user namespace", err))
		}
		logf("user namespace: uid_map %v, gid_map %v", opt.UIDMappings, opt.GIDMappings)
	}
	// Under --systemd-cgroup, systemd adopts the cgroup as a scope with
	// the builder in it, before the builder does anything.
	if err := cg.StartScope(pid); err != nil {
		return abort(setupErr("cgroup", err))
	}
	goMsg, err := goMessage(cfg, pid)
	if err == nil {
		_, err = parent.Write(goMsg)
	}
	if err != nil {
		return abort(setupErr("start init", err))
	}

	dec := json.NewDecoder(parent)
	for {
		var m message
		switch err := dec.Decode(&m); {
		case errors.Is(err, io.EOF):
			// --no-init: COMMAND exec'd and the close-on-exec socket closed.
			// Otherwise the init died before answering: its status says how.
			return b, nil
		case err != nil:
			return abort(setupErr("read from init", err))
		case m.Type == msgError:
			return abort(fromInit(m)) // the init is exiting: reap it, as any failure

		case m.Type == msgHooks:
			for _, h := range opt.RuntimeHooks {
				st := *cfg.HookState
				st.Status, st.Pid = StatusCreating, pid
				logf("hook: %s", h.Path)
				if err := RunHook(h, st); err != nil {
					return abort(setupErr(stepRuntimeHook, err))
				}
			}
			if _, err := parent.Write(resumeMessage); err != nil {
				return abort(setupErr("resume init", err))
			}
		case m.Type == msgNetns && opt.Network != nil:
			att, err := opt.State.attachNetwork(cfg.Name, cfg.Hostname, opt.Network, opt.ExtraHosts, pid, logf)
			if err != nil {
				// The init goes on while pbox attaches: if it failed and
				// is gone (which may be why the attach failed), its own
				// error is the one to report. Its namespaces go before
				// its exit is visible on the pidfd: give it a moment.
				if exitsWithin(pidfd, 1000) {
					var next message
					if dec.Decode(&next) == nil && next.Type == msgError {
						return abort(fromInit(next))
					}
				}
				return abort(setupErr("network", err))
			}
			b.Network = att
			// If the init failed meanwhile, its error is the next message.
			parent.Write(resumeMessage)
			// ADD's answer, for ps and inspect, off COMMAND's path; DEL
			// needs only what was written before ADD.
			opt.State.writeNetwork(cfg.Name, att)
		case m.Type == msgCreated:
			logf("box: created; COMMAND waits for `pbox start`")
			return b, nil
		case m.Type != msgReady:
			return abort(setupErr("init", fmt.Errorf("unexpected message: got %q, expected %q", m.Type, msgReady)))
		default:
			logf("box: COMMAND runs as pid %d inside the box", m.Pid)
			b.Inner = m.Pid
			return b, nil
		}
	}
}

// MaxConfigSize is the largest box config (arguments, environment,
// mounts, hooks, annotations, as JSON) pbox passes to an init: far above
// what execve takes (arguments and environment share a few MiB), so
// nothing a runtime accepts is refused.
const MaxConfigSize = 64 << 20

// forkInCgroup forks argv from the calling thread once it has joined the
// box's v1 cgroups (v1 membership is per thread; a child is born in its
// parent thread's cgroups), and moves the thread back right after. The
// thread is locked throughout: Run keeps it for PR_SET_PDEATHSIG.
func forkInCgroup(path string, argv []string, attr *syscall.ProcAttr, cg *cgroups.Cgroup) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	leave, err := cg.JoinThread()
	if err != nil {
		return 0, err
	}
	pid, err := syscall.ForkExec(path, argv, attr)
	if lerr := leave(); lerr != nil && err == nil {
		// pbox's thread stays in the box's cgroup: its removal would fail.
		if pid > 0 {
			unix.Kill(pid, unix.SIGKILL)
			waitPid(pid)
		}
		return 0, lerr
	}
	return pid, err
}

// heldCaps is every capability pbox's bounding set has, for AmbientCaps.
func heldCaps() []uintptr {
	var caps []uintptr
	for _, c := range heldCapabilities() {
		caps = append(caps, uintptr(c))
	}
	return caps
}

func idMaps(m []syscall.SysProcIDMap) []namespaces.IDMap {
	out := make([]namespaces.IDMap, len(m))
	for i, l := range m {
		out[i] = namespaces.IDMap{Inside: l.ContainerID, Outside: l.HostID, Size: l.Size}
	}
	return out
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

func stdioFDs(stdio [3]*os.File) []uintptr {
	fds := []uintptr{0, 1, 2}
	for i, f := range stdio {
		if f != nil {
			fds[i] = f.Fd()
		}
	}
	return fds
}

// exitsWithin reports whether the process behind pidfd has exited, or
// exits within ms milliseconds (a pidfd polls readable then).
func exitsWithin(pidfd, ms int) bool {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}
