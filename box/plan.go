package box

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/pbox-dev/pbox/internal/logf"
	"github.com/pbox-dev/pbox/namespaces"
	"github.com/pbox-dev/pbox/rootfs"
	"golang.org/x/sys/unix"
)

// A new box is built by one single-threaded program, never by Go: pbox
// plans the box here, as data, and clones the box builder (the
// "pbox-init" mode of tinyinit/tinyinit.c, from a sealed memfd) into the
// box's namespaces and cgroups; it executes the plan and stays PID 1.
//
//	pbox run (Go, host)                         pbox-init (C, one thread)
//	-------------------                         -------------------------
//	plan: mount steps (rootfs.PlanBundle),
//	hostname, rlimits, seccomp BPF, caps,
//	user, hooks -> a memfd
//	clone(CLONE_NEW*, CLONE_INTO_CGROUP) ─────▶ read the plan
//	"g" pid, hook states ─────────────────────▶ mounts by descriptor
//	                                            (openat2 RESOLVE_IN_ROOT),
//	                                            pivot_root, masks, hostname,
//	                                            lo, rlimits, pty; keyring,
//	                                            caps, seccomp, user on itself
//	        ◀──────────────────────────────────  ready {pid} | error {...}
//	                                            reap, forward signals
//
// One Go runtime per start (pbox's own), and one implementation of the
// box's setup: the same records and the same C functions join a running
// box for pbox exec (joiner.go). The models are bubblewrap's SetupOp list
// and runc's nsexec; the reasons are in docs/containment.md (a Go thread
// still rooted on the host is reachable from the box) and bench/RESULTS.md
// (a second Go runtime was 2 ms of every start).

// The box builder's record tags, beyond the process's (joiner.go): the
// TAG_* enum of tinyinit.c, which TestTinyInitSharesGosFacts compares.
const (
	tagMount        = 'M'
	tagHostname     = 'h'
	tagLoopback     = 'l'
	tagRlimit       = 'r'
	tagOOMScore     = 'O'
	tagUmask        = 'm'
	tagRuntimeHooks = 'H'
	tagAwaitNetwork = 'W'
	tagStartFIFO    = 'F'
	tagConsole      = 'C'
	tagNoInit       = 'x'
	tagDiesWithPbox = 'd'
	tagNoPidNS      = 'R'
	tagCreateHook   = 'Q'
	tagStartHook    = 'q'
	tagVerbose      = 'v'
)

// opKinds are the mount steps' kinds as the builder reads them (the OP_*
// enum of tinyinit.c).
var opKinds = map[rootfs.OpKind]byte{
	rootfs.OpMount: 'm', rootfs.OpMkdir: 'd', rootfs.OpMknod: 'n', rootfs.OpSymlink: 'l',
	rootfs.OpPivotRoot: 'p', rootfs.OpMask: 'M', rootfs.OpReadOnly: 'r', rootfs.OpRemountRO: 'R',
	rootfs.OpMoveRoot: 'v', rootfs.OpWrite: 'w',
}

// opHeaderSize is the fixed part of a mount step's record (tinyinit.c's
// OP_HEADER): kind, copy-up, 2 bytes of padding, flags and recursive flags
// (64-bit), major, minor, mode, uid, gid (32-bit); the strings follow.
const opHeaderSize = 40

// appendRecord appends one record: a tag byte, a native 32-bit length and
// the bytes.
func appendRecord(b []byte, tag byte, v []byte) []byte {
	b = append(b, tag)
	b = binary.NativeEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

// cstrings is ss, each ending in NUL; an error names one that holds a NUL.
func cstrings(what string, ss ...string) ([]byte, error) {
	var b []byte
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, fmt.Errorf("%s %q holds a NUL byte", what, s)
		}
		b = append(append(b, s...), 0)
	}
	return b, nil
}

// encodeOp is one mount step's record value.
func encodeOp(o rootfs.Op) ([]byte, error) {
	kind, ok := opKinds[o.Kind]
	if !ok {
		return nil, fmt.Errorf("mount step %q: pbox-init has no such step", o.Kind)
	}
	h := make([]byte, opHeaderSize, opHeaderSize+len(o.Source)+len(o.Target)+len(o.Data)+64)
	h[0] = kind
	if o.CopyUp {
		h[1] = 1
	}
	ne := binary.NativeEndian
	ne.PutUint64(h[4:], uint64(o.Flags))
	ne.PutUint64(h[12:], uint64(o.Recursive))
	for i, v := range []uint32{o.Major, o.Minor, o.Mode, o.UID, o.GID} {
		ne.PutUint32(h[20+4*i:], v)
	}
	s, err := cstrings("a mount's field", o.Source, o.Target, o.FSType, o.Data, o.String())
	return append(h, s...), err
}

// encodeHook is one OCI hook's record value: timeout, the number of
// arguments and of environment variables (32-bit), 4 bytes of padding,
// then the path, the arguments (argv[0] first) and the environment.
func encodeHook(h Hook) ([]byte, error) {
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	v := binary.NativeEndian.AppendUint32(nil, uint32(max(h.Timeout, 0)))
	v = binary.NativeEndian.AppendUint32(v, uint32(len(args)))
	v = binary.NativeEndian.AppendUint32(v, uint32(len(h.Env)))
	v = binary.NativeEndian.AppendUint32(v, 0)
	s, err := cstrings("hook "+h.Path, append(append([]string{h.Path}, args...), h.Env...)...)
	return append(v, s...), err
}

// initLayout is where the builder finds what pbox passes it: COMMAND's
// preserved fds are 3..3+Preserve-1, the rest above them.
type initLayout struct {
	Preserve     int
	StartFIFO    int // 0: none
	Console      int // 0: none
	JoinMount    int // a mount namespace to join, by descriptor; 0: none
	RuntimeHooks bool
	AwaitNetwork bool
}

// encodeInitPlan writes cfg as the box builder reads it.
func encodeInitPlan(cfg *Config, l initLayout) ([]byte, error) {
	jp := joinPlan{Process: cfg.Process, Seccomp: cfg.Seccomp, PreserveFDs: l.Preserve}
	if !cfg.NoNewKeyring {
		jp.Keyring = keyringName(cfg.Name)
	}
	if l.JoinMount > 0 {
		jp.Join = []nsToJoin{{kind: namespaces.Mount, fd: l.JoinMount}}
	}
	b, err := jp.encode(func(i int) int { return jp.Join[i].fd })
	if err != nil {
		return nil, err
	}
	for _, o := range cfg.Mounts {
		v, err := encodeOp(o)
		if err != nil {
			return nil, err
		}
		b = appendRecord(b, tagMount, v)
	}
	flag := func(tag byte, on bool) {
		if on {
			b = appendRecord(b, tag, nil)
		}
	}
	u32 := func(tag byte, v uint32) { b = appendRecord(b, tag, binary.NativeEndian.AppendUint32(nil, v)) }
	if cfg.has(namespaces.UTS) || cfg.HostnameInJoinedUTS {
		s, err := cstrings("the hostname", cfg.Hostname)
		if err != nil {
			return nil, err
		}
		b = appendRecord(b, tagHostname, s)
	}
	flag(tagLoopback, cfg.has(namespaces.Net))
	flag(tagRuntimeHooks, l.RuntimeHooks)
	flag(tagAwaitNetwork, l.AwaitNetwork)
	if l.StartFIFO > 0 {
		u32(tagStartFIFO, uint32(l.StartFIFO))
	}
	if l.Console > 0 {
		u32(tagConsole, uint32(l.Console))
	}
	flag(tagNoInit, cfg.NoInit)
	flag(tagDiesWithPbox, cfg.DiesWithPbox)
	flag(tagNoPidNS, !cfg.has(namespaces.PID))
	for _, hooks := range []struct {
		tag   byte
		hooks []Hook
	}{{tagCreateHook, cfg.CreateContainer}, {tagStartHook, cfg.StartContainer}} {
		for _, h := range hooks.hooks {
			v, err := encodeHook(h)
			if err != nil {
				return nil, err
			}
			b = appendRecord(b, hooks.tag, v)
		}
	}
	if cfg.Verbose {
		flags := "v"
		if logf.Timestamps() {
			flags += "T"
		}
		b = appendRecord(b, tagVerbose, append([]byte(flags), 0))
	}
	return b, nil
}

// goMessage is what pbox writes once the builder is cloned: "g", its
// host pid, and the OCI state its createContainer and startContainer
// hooks get on stdin (empty without hooks).
func goMessage(cfg *Config, pid int) ([]byte, error) {
	b := binary.NativeEndian.AppendUint32([]byte{'g'}, uint32(pid))
	for _, phase := range []struct {
		status string
		hooks  []Hook
	}{{StatusCreating, cfg.CreateContainer}, {StatusCreated, cfg.StartContainer}} {
		var state []byte
		if len(phase.hooks) > 0 && cfg.HookState != nil {
			st := *cfg.HookState
			st.Status, st.Pid = phase.status, pid
			var err error
			if state, err = json.Marshal(st); err != nil {
				return nil, err
			}
		}
		b = binary.NativeEndian.AppendUint32(b, uint32(len(state)))
		b = append(b, state...)
	}
	return b, nil
}

// planMemfd makes the memfd a plan goes in, not down the sync socket: any
// size a runtime accepts fits, with nothing to deadlock on while the
// program starts.
func planMemfd(name string) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// resumeMessage lets the builder go on after pbox's hooks or network.
var resumeMessage = []byte{'r'}

// explainSetupError adds to an error the builder or the joiner reported
// what only pbox knows: an rlimit above the hard limit pbox runs under.
func explainSetupError(rlimits []Rlimit, e *SetupError) *SetupError {
	if e.Step != "rlimit" {
		return e
	}
	var errno error = syscall.EINVAL
	if strings.HasSuffix(e.Err, ": "+syscall.EPERM.Error()) {
		errno = syscall.EPERM
	}
	for _, rl := range rlimits {
		name := rl.Name
		if name == "" {
			name = fmt.Sprint(rl.Resource)
		}
		if strings.HasPrefix(e.Err, name+" ") {
			e.Err = explainRlimit(rl, errno).Error()
		}
	}
	return e
}

// keyringName is what runc calls a container's session keyring: every box
// and every process pbox exec starts joins a new one of this name, so the
// caller's keys stay out (KEYCTL_JOIN_SESSION_KEYRING; a kernel without
// keyrings has nothing to share).
func keyringName(box string) string { return "_ses." + box }
