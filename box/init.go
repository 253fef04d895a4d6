package box

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pbox-dev/pbox/internal/capnames"
	"github.com/pbox-dev/pbox/internal/logf"
	"github.com/pbox-dev/pbox/namespaces"
	"github.com/pbox-dev/pbox/rootfs"
	"golang.org/x/sys/unix"
)

// syncFD is where the parent puts the init's end of the sync socket.
const syncFD = 3

// defaultPath is used to find COMMAND when the box's env has no PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Init is the main of pbox-init, PID 1 of the box. It returns the exit
// status for os.Exit. Read it as a checklist: every step is a function.
func Init() int {
	var started string
	if logf.Timestamps() {
		started = logf.Stamp() // the Go runtime and package init are done
	}
	// 1. Own the signals that matter before anything else. The kernel
	//    drops signals without a handler that are sent to PID 1, and
	//    signal.Notify starts the runtime's signal thread: it must exist
	//    before COMMAND can use up the box's pids limit, or a later thread
	//    creation kills the init. The rarer signals follow in step 6.
	sigs := make(chan os.Signal, 128)
	signal.Notify(sigs, essentialSignals...)
	// comm comes from the executable's file name ("exe" for
	// /proc/self/exe); name it so ps -e and pgrep see what PID 1 is.
	// PR_SET_NAME would only rename the current thread.
	SetComm(InitArg0)

	// Nothing the init was given crosses to COMMAND by accident: the
	// fds COMMAND gets are passed by number below.
	CloseInheritedFDs()
	sock := os.NewFile(syncFD, "sync")
	if _, err := unix.GetsockoptInt(syncFD, unix.SOL_SOCKET, unix.SO_TYPE); err != nil {
		fmt.Fprintf(os.Stderr, "pbox: %s is started by `pbox run`, not by hand\n", InitArg0)
		return StatusSetupFailed
	}
	syscall.CloseOnExec(syncFD)
	dec := json.NewDecoder(sock)

	// 2. Read the config and wait for "go" (v1: until the parent has put
	//    this process into the box's cgroup).
	m, err := expect(dec, msgConfig)
	if err != nil || m.Config == nil {
		return fail(sock, setupErr("read config from pbox", orMissing(err)))
	}
	cfg := m.Config
	// Whatever pbox passed besides stdio is the init's, not COMMAND's.
	for _, fd := range append([]int{cfg.StartFD, cfg.ConsoleFD}, cfg.PreservedFDs...) {
		if fd > syncFD {
			syscall.CloseOnExec(fd)
		}
	}
	goMsg, err := expect(dec, msgGo)
	if err != nil {
		return fail(sock, setupErr("wait for pbox", err))
	}
	hostPid = goMsg.Pid
	log := initLogger(cfg.Verbose)
	if started != "" {
		log("started at %s(its Go runtime and package initialisation done); config read", started)
	}

	// 2a. OCI prestart/createRuntime hooks run in pbox, now that the
	//     namespaces exist and before anything is mounted.
	if cfg.RuntimeHooks {
		if err := send(sock, message{Type: msgHooks}); err != nil {
			return fail(sock, setupErr("hooks", err))
		}
		if _, err := expect(dec, msgResume); err != nil {
			return fail(sock, setupErr("hooks", err))
		}
	}
	// 2b. A CNI network: pbox attaches the box while this init builds the
	//     box's filesystem; COMMAND waits for it below (step 4a').
	if cfg.AwaitNetwork {
		if err := send(sock, message{Type: msgNetns}); err != nil {
			return fail(sock, setupErr("network", err))
		}
	}

	// 3. Make the box's world: mounts, hostname, network.
	if serr := setup(cfg, log); serr != nil {
		return fail(sock, serr)
	}

	// 4. Find COMMAND inside the box, with the box's PATH.
	path, serr := lookPath(cfg.Args[0], envPath(cfg.Env))
	if serr == nil {
		// COMMAND inherits the init's working directory: chdir here, where
		// it can be checked, not in the fork.
		serr = enterWorkdir(cfg.Cwd)
	}
	if serr != nil {
		return fail(sock, serr)
	}

	// 4a. What COMMAND inherits from its init: rlimits, OOM score,
	//     umask, a terminal.
	if serr := processSettings(&cfg.Process, log); serr != nil {
		return fail(sock, serr)
	}
	stdio := []uintptr{0, 1, 2}
	if cfg.Terminal {
		slave, serr := consolePty(cfg)
		if serr != nil {
			return fail(sock, serr)
		}
		stdio = []uintptr{slave.Fd(), slave.Fd(), slave.Fd()}
	}
	for _, fd := range cfg.PreservedFDs {
		stdio = append(stdio, uintptr(fd))
	}

	// 4a'. The network is up before COMMAND starts.
	if cfg.AwaitNetwork {
		if _, err := expect(dec, msgResume); err != nil {
			return fail(sock, setupErr("network", err))
		}
		log("network attached by pbox")
	}

	// 4b. The tiny init that takes PID 1 over once COMMAND is about to
	//     start (handover.go), copied while memfd_create is still allowed.
	var tiny *os.File
	if !cfg.NoInit && !cfg.GoSupervisor {
		if tiny, err = tinyInitMemfd(); err != nil {
			log("%v: pbox-init (Go) stays PID 1", err)
		}
	}

	// 4c. pbox create: everything is ready; tell pbox, which exits, and
	//     wait until `pbox start` writes to exec.fifo.
	if cfg.StartFD > 0 {
		if serr := waitForStart(sock, cfg, log); serr != nil {
			fmt.Fprintf(os.Stderr, "pbox: %s\n", serr.Error())
			return serr.Code
		}
		sock = nil
	}

	// 5. COMMAND's confinement: keyring, bounding set, no_new_privs and
	//    the seccomp filter are per thread, so set them on a locked
	//    thread and start COMMAND from it. Whatever stays PID 1 stays on
	//    that thread (as tini stays under Docker's filter).
	runtime.LockOSThread()
	if !cfg.NoInit && tiny == nil { // only a Go PID 1 needs spare threads
		warmThreads()
	}
	if err := applyScheduling(&cfg.Process); err != nil { // before the filter may forbid it
		return fail(sock, setupErr("scheduler", err))
	}
	if serr := confine(cfg, log); serr != nil {
		return fail(sock, serr)
	}
	if !cfg.has(namespaces.PID) {
		// Not PID 1: orphans would go to the host's init. Adopt them (the
		// setting survives the exec of the tiny init).
		unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}

	// 5a. --no-init: COMMAND becomes PID 1 itself.
	if cfg.NoInit {
		log("exec %s %q as PID 1 (no init: nothing reaps orphans, signals without a handler are ignored)", path, cfg.Args)
		signal.Reset()
		if serr := becomeUserOnThisThread(cfg); serr != nil {
			return fail(sock, serr)
		}
		if err := execStdio(stdio, cfg.Terminal); err != nil {
			return fail(sock, setupErr("terminal", err))
		}
		err := syscall.Exec(path, cfg.Args, cfg.Env)
		return fail(sock, &SetupError{Step: "exec", Err: path + ": " + err.Error(), Code: execErrorCode(err)})
	}

	// 5b. Hand PID 1 over to the tiny init, which starts COMMAND with what
	//     this thread carries. It runs as COMMAND's user (as tini does
	//     under docker run --init --user): it holds nothing COMMAND lacks.
	attr := &syscall.ProcAttr{Env: cfg.Env, Files: stdio, Sys: commandAttr(cfg)}
	if tiny != nil {
		if serr := becomeUserOnThisThread(cfg); serr != nil {
			return fail(sock, serr)
		}
		err := handOver(tiny, cfg, path, stdio, sock, !cfg.has(namespaces.PID), log)
		tiny.Close()
		log("%v: pbox-init (Go) stays PID 1", err)
		// Already COMMAND's user: the fork needs no change of it.
		attr.Sys.Credential, attr.Sys.AmbientCaps = nil, nil
		warmThreads()
	}

	// 5c. The Go init stays PID 1: start COMMAND as its child. The fork
	//     takes this thread's inheritable set; Go's child raises the
	//     ambient ones (attr.Sys.AmbientCaps) after the change of user.
	if tiny == nil {
		if err := setInheritedCapabilities(cfg.Inheritable, nil); err != nil {
			return fail(sock, setupErr("user", err))
		}
	}
	if !cfg.has(namespaces.PID) {
		attr.Sys.Pdeathsig = syscall.SIGKILL // nothing else would end it with us
	}
	pid, err := syscall.ForkExec(path, cfg.Args, attr)
	if err != nil {
		return fail(sock, &SetupError{Step: "exec", Err: path + ": " + err.Error(), Code: execErrorCode(err)})
	}
	log("started %s %q as pid %d; reaping and forwarding signals", path, cfg.Args, pid)
	if sock != nil {
		send(sock, message{Type: msgReady, Pid: pid})
		sock.Close()
	}

	// 6. Reap and forward until COMMAND exits, then exit with its status.
	//    Each signal.Notify costs a round trip to the runtime's signal
	//    thread (~25 µs), so the ~40 rarer signals (SIGXCPU, SIGIO,
	//    SIGPWR, the real-time ones...) are taken over a little later,
	//    off the start-up path; until then the runtime's handler ignores
	//    them (it never dies of them: the ones that would kill or crash a
	//    Go program are all in essentialSignals).
	time.AfterFunc(lateSignalsAfter, func() { signal.Notify(sigs) })
	return superviseLoop(pid, sigs)
}

// execStdio puts what COMMAND gets (stdio, a terminal's slave, preserved
// descriptors) at 0, 1, 2, 3, ... of this process, which exec's into
// COMMAND with no init: what the fork of an init's child does
// (syscall.ForkExec's file list). A source that a lower target would
// overwrite is first moved above them all. With a terminal, the process
// starts a session whose controlling terminal it is, as runc's init does.
func execStdio(fds []uintptr, terminal bool) error {
	n := len(fds)
	src := append([]uintptr(nil), fds...)
	for i, fd := range src {
		if int(fd) < n && int(fd) != i {
			moved, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, n)
			if err != nil {
				return fmt.Errorf("move descriptor %d: %w", fd, err)
			}
			src[i] = uintptr(moved)
		}
	}
	for i, fd := range src {
		if int(fd) == i {
			if _, err := unix.FcntlInt(fd, unix.F_SETFD, 0); err != nil {
				return err
			}
			continue
		}
		if err := unix.Dup3(int(fd), i, 0); err != nil {
			return fmt.Errorf("descriptor %d as %d: %w", fd, i, err)
		}
	}
	if terminal {
		if _, err := unix.Setsid(); err != nil {
			return fmt.Errorf("setsid: %w", err)
		}
		if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
			return fmt.Errorf("TIOCSCTTY: %w", err)
		}
	}
	return nil
}

// becomeUserOnThisThread makes the locked thread (and the process) COMMAND's
// user before it exec's, and then sets PR_SET_PDEATHSIG again on it: the
// setting is per task (the clone set it on the main thread only, and the
// exec'ing thread becomes the process) and a change of user clears it.
func becomeUserOnThisThread(cfg *Config) *SetupError {
	if err := becomeUser(cfg.User, cfg.Inheritable, cfg.Ambient); err != nil {
		return setupErr("user", err)
	}
	if cfg.DiesWithPbox {
		unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	}
	return nil
}

// warmThreads makes, now, the OS threads the runtime may need while the
// main goroutine, locked to its thread, waits: the other goroutines
// (signal delivery, timers, the scavenger) then run elsewhere, one may sit
// in a blocking wait for signals, one in a syscall that sysmon took the P
// from, one spinning for work. Made lazily, such a thread would be created
// after COMMAND started — and a fork bomb that used up the box's pids
// limit would make that creation fail, which the Go runtime turns into a
// fatal error that kills the init (seen under load in the VM lane with one
// spare thread). The runtime never frees an idle thread, so locking
// spareThreads goroutines at once leaves that many threads idle for later.
func warmThreads() {
	var locked sync.WaitGroup
	release := make(chan struct{})
	locked.Add(spareThreads)
	for range spareThreads {
		go func() {
			runtime.LockOSThread() // each one on a thread of its own
			locked.Done()
			<-release
			runtime.UnlockOSThread() // its thread goes idle, not away
		}()
	}
	locked.Wait()
	close(release)
}

// spareThreads is how many idle threads warmThreads leaves the runtime.
const spareThreads = 3

// InitThreadsMax is how many threads pbox-init may have: the main one,
// sysmon, the template thread, the signal thread, the one waiting for
// signals, the spares, and a margin. Each counts against --pids-limit.
const InitThreadsMax = 10

// MinPidsLimit is the lowest pids limit a box with pbox-init can live
// under: the init's threads and COMMAND, with one process to spare.
const MinPidsLimit = InitThreadsMax + 2

// hostPid is the init's pid as the host sees it (for hooks' state).
var hostPid int

// essentialSignals are what the init must handle before COMMAND starts:
// SIGCHLD to reap, what users, terminals and `docker stop` send, and every
// signal whose default in a Go program is to exit or crash (sent with
// kill, SIGQUIT or SIGILL would otherwise dump the init's goroutines).
var essentialSignals = []os.Signal{
	syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP,
	syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
	syscall.SIGALRM, syscall.SIGCONT, syscall.SIGTSTP, syscall.SIGPIPE,
	syscall.SIGABRT, syscall.SIGSYS, syscall.SIGILL, syscall.SIGTRAP,
	syscall.SIGSTKFLT,
}

// lateSignalsAfter is when the init takes over the remaining signals.
const lateSignalsAfter = 20 * time.Millisecond

// superviseLoop is the whole life of PID 1 once COMMAND runs: SIGCHLD means
// "reap", every other signal goes to COMMAND. Only wait4(-1) reaps, so no
// other waiter can steal COMMAND's status.
func superviseLoop(child int, sigs <-chan os.Signal) int {
	for sig := range sigs {
		s := sig.(syscall.Signal)
		switch s {
		case syscall.SIGCHLD:
			if status, done := reapAll(child); done {
				return status
			}
		case syscall.SIGURG:
			// The Go runtime's preemption signal, not the user's.
		default:
			forward(child, s)
		}
	}
	return StatusSetupFailed
}

// reapAll collects every exited child (COMMAND and the orphans the kernel
// gave us) without blocking, until none is left to collect.
func reapAll(child int) (status int, done bool) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return status, done
		}
		if pid == child {
			status, done = WaitStatusCode(ws), true
		}
	}
}

// forward passes sig to pid, refusing the values that would signal a whole
// process group (0) or every process on the machine (-1).
func forward(pid int, sig syscall.Signal) {
	if pid <= 1 || sig == 0 {
		return
	}
	kill(pid, sig)
}

// kill is syscall.Kill; tests replace it to see what would be signalled
// without risking kill(-1).
var kill = syscall.Kill

// setup does everything that changes the box's namespaces, in order.
// OCI createContainer hooks run just before pivot_root.
func setup(cfg *Config, log logf.Logf) *SetupError {
	before, after := splitAtPivot(cfg.Mounts)
	root := "/" // the host's / kept as the box's: mounts made in place
	if len(after) > 0 {
		root = after[0].Target // the pivot_root (or --no-pivot) target
	}
	if err := rootfs.Apply(before, root, log); err != nil {
		return setupErr("mount", err)
	}
	if len(cfg.CreateContainer) > 0 {
		st := *cfg.HookState
		st.Status, st.Pid = StatusCreating, hostPid
		log("createContainer hooks: %d", len(cfg.CreateContainer))
		if err := RunHooks(cfg.CreateContainer, st); err != nil {
			return setupErr(stepCreateContainerHook, err)
		}
	}
	if err := rootfs.Apply(after, "/", log); err != nil {
		return setupErr("mount", err)
	}
	if cfg.has(namespaces.UTS) || cfg.HostnameInJoinedUTS {
		log("sethostname %q", cfg.Hostname)
		if err := namespaces.SetHostname(cfg.Hostname); err != nil {
			return setupErr("hostname", err)
		}
	}
	if cfg.has(namespaces.Net) {
		log("ip link set lo up (a new network namespace has only lo, and it is down)")
		if err := namespaces.LoopbackUp(); err != nil {
			return setupErr("network", err)
		}
	}
	return nil
}

// restrictPrivileges drops every capability not in cfg.Capabilities from
// the bounding set: root's processes get exactly the bounding set at exec,
// and nothing can add to it again. no_new_privs stops setuid binaries and
// file capabilities from raising privileges.
func restrictPrivileges(cfg *Config, log logf.Logf) error {
	if cfg.Capabilities != nil {
		keep := map[int]bool{}
		for _, c := range cfg.Capabilities {
			keep[c] = true
		}
		var dropped []string
		for c := 0; c < 64; c++ {
			if keep[c] {
				continue
			}
			err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
			if err == unix.EINVAL {
				break // past the kernel's last capability
			}
			if err != nil {
				return fmt.Errorf("drop %s from the bounding set: %w", capnames.Name(c), err)
			}
			dropped = append(dropped, capnames.Name(c))
		}
		log("capabilities: bounding set drops %d: %s", len(dropped), strings.Join(dropped, " "))
	}
	if cfg.NoNewPrivileges {
		log("prctl PR_SET_NO_NEW_PRIVS 1")
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	return nil
}

// lookPath finds COMMAND as a shell would: a name with a slash is used as
// is; otherwise the first executable match in PATH. A match that exists but
// cannot be executed is 126, no match at all is 127, in runc's (and Go's)
// words, which docker matches to exit 127 when a create fails this way.
func lookPath(name, pathEnv string) (string, *SetupError) {
	const step = "exec"
	if strings.Contains(name, "/") {
		if err := checkExecutable(name); err != nil {
			return "", &SetupError{Step: step, Err: err.Error(), Code: execErrorCode(err)}
		}
		return name, nil
	}
	var denied error
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		err := checkExecutable(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) && denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return "", &SetupError{Step: step, Err: denied.Error(), Code: StatusNotExecutable}
	}
	return "", &SetupError{Step: step, Err: name + ": executable file not found in $PATH (" + pathEnv + ")", Code: StatusNotFound}
}

func checkExecutable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s: %w", p, syscall.EISDIR)
	}
	if err := unix.Access(p, unix.X_OK); err != nil {
		return fmt.Errorf("%s: not executable (%v): check its mode (chmod +x)", p, err)
	}
	return nil
}

func envPath(env []string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "PATH="); ok {
			return v
		}
	}
	return defaultPath
}

// fail reports a setup error to the parent and returns the init's status.
func fail(sock *os.File, e *SetupError) int {
	if sock == nil {
		fmt.Fprintf(os.Stderr, "pbox: %s\n", e.Error())
		return e.Code
	}
	if err := send(sock, message{Type: msgError, Step: e.Step, Error: e.Err, Code: e.Code}); err != nil {
		fmt.Fprintf(os.Stderr, "pbox: %s\n", e.Error())
	}
	return e.Code
}

func orMissing(err error) error {
	if err == nil {
		return errors.New("config message is empty")
	}
	return err
}

func initLogger(verbose bool) logf.Logf {
	if !verbose {
		return logf.To(nil, "")
	}
	return logf.To(os.Stderr, "pbox: init: ")
}

// splitAtPivot cuts the mount ops before the pivot_root (host paths) from
// the ones after it (box paths); without a pivot_root all come before.
func splitAtPivot(ops []rootfs.Op) (before, after []rootfs.Op) {
	for i, o := range ops {
		if o.Kind == rootfs.OpPivotRoot || o.Kind == rootfs.OpMoveRoot {
			return ops[:i], ops[i:]
		}
	}
	return ops, nil
}

// processSettings applies what a process inherits from the one that
// starts it — COMMAND from the init, an exec'd process from pbox exec:
// rlimits, the OOM score and the umask are per process, so the starter
// takes them too.
func processSettings(cfg *Process, log logf.Logf) *SetupError {
	for _, rl := range cfg.Rlimits {
		log("setrlimit %d soft %d hard %d", rl.Resource, rl.Soft, rl.Hard)
		// syscall.Setrlimit, not unix: it tells the runtime not to put
		// back its own RLIMIT_NOFILE in children.
		if err := syscall.Setrlimit(rl.Resource, &syscall.Rlimit{Cur: rl.Soft, Max: rl.Hard}); err != nil {
			return setupErr("rlimit", explainRlimit(rl, err))
		}
	}
	if cfg.OOMScoreAdj != nil {
		log("oom_score_adj %d", *cfg.OOMScoreAdj)
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(fmt.Sprint(*cfg.OOMScoreAdj)), 0); err != nil {
			return setupErr("oom_score_adj", err)
		}
	}
	if cfg.Umask != nil {
		unix.Umask(int(*cfg.Umask))
	}
	return nil
}

// explainRlimit names an rlimit that could not be set and, when it is
// above the hard limit pbox itself runs under (raising it needs
// CAP_SYS_RESOURCE in the host's user namespace, or a higher limit from
// the caller), says what that limit is — as runc fails there too.
func explainRlimit(rl Rlimit, err error) error {
	name := rl.Name
	if name == "" {
		name = fmt.Sprint(rl.Resource)
	}
	var cur syscall.Rlimit
	if errors.Is(err, syscall.EPERM) && syscall.Getrlimit(rl.Resource, &cur) == nil && rl.Hard > cur.Max {
		return fmt.Errorf("%s soft %d hard %d: %w: above the hard limit %d that pbox runs under here; raise it for pbox's caller (ulimit -H, or systemd's LimitNOFILE= and the like) or ask for at most %d (podman: --ulimit)",
			name, rl.Soft, rl.Hard, err, cur.Max, cur.Max)
	}
	return fmt.Errorf("%s soft %d hard %d: %w", name, rl.Soft, rl.Hard, err)
}

// consolePty makes COMMAND's terminal inside the box and sends its master
// to the console socket pbox create was given.
func consolePty(cfg *Config) (*os.File, *SetupError) {
	master, slave, err := openPty(cfg.ConsoleSize)
	if err != nil {
		return nil, setupErr("terminal", err)
	}
	defer master.Close()
	sock := os.NewFile(uintptr(cfg.ConsoleFD), "console-socket")
	defer sock.Close()
	if err := sendFD(sock, master); err != nil {
		slave.Close()
		return nil, setupErr("console socket", err)
	}
	return slave, nil
}

// waitForStart reports "created" and blocks on exec.fifo until `pbox
// start` writes to it, then runs the startContainer hooks.
func waitForStart(sock *os.File, cfg *Config, log logf.Logf) *SetupError {
	if err := send(sock, message{Type: msgCreated, Pid: hostPid}); err != nil {
		return setupErr("report created", err)
	}
	sock.Close()
	fifo := os.NewFile(uintptr(cfg.StartFD), "exec.fifo")
	var b [1]byte
	for {
		n, err := fifo.Read(b[:])
		if n == 1 {
			break
		}
		if err != nil {
			return setupErr("wait for pbox start", err)
		}
	}
	fifo.Close()
	log("started by pbox start")
	if len(cfg.StartContainer) > 0 {
		st := *cfg.HookState
		st.Status, st.Pid = StatusCreated, hostPid
		if err := RunHooks(cfg.StartContainer, st); err != nil {
			return setupErr(stepStartContainerHook, err)
		}
	}
	return nil
}

// commandAttr is how COMMAND is started: its user, ambient capabilities
// and controlling terminal.
func commandAttr(cfg *Config) *syscall.SysProcAttr {
	sys := &syscall.SysProcAttr{}
	if cfg.User != nil {
		sys.Credential = &syscall.Credential{Uid: cfg.User.UID, Gid: cfg.User.GID, Groups: cfg.User.Groups}
	}
	for _, c := range cfg.Ambient {
		sys.AmbientCaps = append(sys.AmbientCaps, uintptr(c))
	}
	if cfg.Terminal {
		sys.Setsid, sys.Setctty, sys.Ctty = true, true, 0
	}
	return sys
}

// becomeUser switches to u (nil: stays root) as Go's exec does
// (setgroups, setresgid, setresuid on every thread), and gives this
// thread, the one that exec's, the inheritable and ambient capabilities
// asked for (setInheritedCapabilities); PR_SET_KEEPCAPS over the switch
// keeps the permitted set those are set from (as runc keeps it; exec
// clears the flag, and a user's permitted set after exec is its ambient
// set alone).
func becomeUser(u *User, inheritable, ambient []int) error {
	if u != nil {
		if len(inheritable)+len(ambient) > 0 {
			if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
				return fmt.Errorf("PR_SET_KEEPCAPS: %w", err)
			}
		}
		groups := make([]int, len(u.Groups))
		for i, g := range u.Groups {
			groups[i] = int(g)
		}
		if err := syscall.Setgroups(groups); err != nil {
			return fmt.Errorf("setgroups %v: %w", u.Groups, err)
		}
		if err := syscall.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
			return fmt.Errorf("setresgid %d: %w", u.GID, err)
		}
		if err := syscall.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
			return fmt.Errorf("setresuid %d: %w", u.UID, err)
		}
	}
	return setInheritedCapabilities(inheritable, ambient)
}

// setInheritedCapabilities sets this thread's inheritable set and raises
// its ambient capabilities, as runc does after the change of user: an
// ambient capability must be permitted and inheritable first. Both sets
// survive exec (capabilities(7)); Translate checked them against the
// bounding set, which the kernel requires of the inheritable one.
func setInheritedCapabilities(inheritable, ambient []int) error {
	if len(inheritable)+len(ambient) == 0 {
		return nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	for _, c := range append(inheritable[:len(inheritable):len(inheritable)], ambient...) {
		data[c/32].Inheritable |= 1 << (uint(c) % 32)
	}
	for _, c := range ambient {
		data[c/32].Permitted |= 1 << (uint(c) % 32)
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset (inheritable %v): %w", inheritable, err)
	}
	for _, c := range ambient {
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("raise ambient capability %s: %w", capnames.Name(c), err)
		}
	}
	return nil
}
