package box

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/namespaces"
	"github.com/pbox-dev/pbox/seccomp"
	"golang.org/x/sys/unix"
)

// Joining a running box (pbox exec, exec --process, containerd's exec)
// is planned here and done by the joiner, a mode of the tiny C program
// (tinyinit/tinyinit.c, "pbox-exec"), never by Go:
//
//	pbox exec (Go, host)                      pbox-exec (C, one thread)
//	--------------------                      -------------------------
//	open the box's /proc/<init>/ns/* files
//	write the plan to a memfd
//	fork from a thread in the box's v1
//	cgroups (v2: CLONE_INTO_CGROUP)  ───────▶  read the plan; setns each
//	                                           namespace (user first, mount
//	                                           last); clone(CLONE_PARENT)
//	        ◀──────────────────────────────────  pid {pid}; exit
//	                                           the child, in the box:
//	        ◀──────────────────────────────────  pty + SCM_RIGHTS (terminal)
//	                                           workdir, keyring, bounding
//	                                           set, no_new_privs, seccomp,
//	                                           user, ambient caps, execve
//	        ◀──────────────────────────────────  error {step, error, errno,
//	                                           code}, or EOF at the exec
//
// Why not Go: the kernel lets a box reach any thread of a process in its
// PID namespace through /proc/<pid>/task/<tid>/root. A Go process that
// joined the box's mount namespace on one locked thread keeps other
// threads rooted on the host, and a symlink the box plants where pbox
// looks for COMMAND (/bin/sh -> /proc/self/task/N/root/usr/bin/...), for
// a #! interpreter or for the working directory would lead an exec to a
// host file (issue 19's attack, docs/containment.md). The joiner has one
// thread from its first instruction until COMMAND's execve, so every path
// it resolves after setns is the box's. It is runc's nsexec design, and
// it can join a user namespace too, which a multi-threaded process
// cannot.

// joinerArg0 is the joiner's argv[0], which selects its mode.
const joinerArg0 = "pbox-exec"

// joinerOrder is the order the joiner enters namespaces in: a user
// namespace first (it grants the capabilities the other joins need), the
// mount namespace last (nothing after it resolves a host path).
var joinerOrder = []namespaces.Kind{namespaces.User, namespaces.Cgroup, namespaces.IPC, namespaces.UTS, namespaces.Net, namespaces.PID, namespaces.Mount}

// nsToJoin is one of the box's namespaces, open.
type nsToJoin struct {
	kind namespaces.Kind
	fd   int
}

// joinPlan is everything the joiner does, as data.
type joinPlan struct {
	Process
	Join        []nsToJoin
	Keyring     string // a new session keyring's name; "" keeps the caller's
	Seccomp     *seccomp.Program
	PreserveFDs int
}

// The plan's record tags: tinyinit.c's TAG_* enum.
const (
	tagNamespace  = 'N'
	tagArg        = 'a'
	tagEnv        = 'e'
	tagPath       = 'P'
	tagWorkdir    = 'w'
	tagUser       = 'u'
	tagBounding   = 'b'
	tagAmbient    = 'A'
	tagInherit    = 'i'
	tagIOPrio     = 'o'
	tagSched      = 'S'
	tagAffinity   = 'c'
	tagNoNewPrivs = 'n'
	tagKeyring    = 'k'
	tagSeccomp    = 's'
	tagTerminal   = 't'
	tagPreserve   = 'p'
)

// encode writes the plan as the joiner reads it: records of a tag byte, a
// native 32-bit length and the bytes; strings end in NUL. fdOf maps each
// namespace to the descriptor number the joiner has it as.
func (p *joinPlan) encode(fdOf func(i int) int) ([]byte, error) {
	var b bytes.Buffer
	rec := func(tag byte, v []byte) {
		b.WriteByte(tag)
		var n [4]byte
		binary.NativeEndian.PutUint32(n[:], uint32(len(v)))
		b.Write(n[:])
		b.Write(v)
	}
	var bad error
	str := func(tag byte, what, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			bad = fmt.Errorf("%s %q holds a NUL byte, which exec cannot pass", what, s)
		}
		rec(tag, append([]byte(s), 0))
	}
	u32s := func(vs ...uint32) []byte {
		out := make([]byte, 4*len(vs))
		for i, v := range vs {
			binary.NativeEndian.PutUint32(out[4*i:], v)
		}
		return out
	}
	u64 := func(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }
	mask := func(caps []int) uint64 {
		var m uint64
		for _, c := range caps {
			if c >= 0 && c < 64 {
				m |= 1 << uint(c)
			}
		}
		return m
	}
	for i, j := range p.Join {
		rec(tagNamespace, u32s(uint32(fdOf(i)), uint32(namespaces.CloneFlags([]namespaces.Kind{j.kind}))))
	}
	for _, a := range p.Args {
		str(tagArg, "an argument", a)
	}
	for _, e := range p.Env {
		str(tagEnv, "an environment variable", e)
	}
	str(tagPath, "PATH", envPath(p.Env))
	str(tagWorkdir, "the working directory", p.Cwd)
	if p.User != nil {
		rec(tagUser, u32s(append([]uint32{p.User.UID, p.User.GID}, p.User.Groups...)...))
	}
	if p.Capabilities != nil {
		rec(tagBounding, u64(mask(p.Capabilities)))
	}
	if len(p.Inheritable) > 0 {
		rec(tagInherit, u64(mask(p.Inheritable)))
	}
	if p.IOPriority != 0 {
		rec(tagIOPrio, u32s(uint32(p.IOPriority)))
	}
	if p.Scheduler != nil {
		rec(tagSched, p.Scheduler.bytes())
	}
	if p.CPUAffinity != nil {
		var set [128]byte // a cpu_set_t
		for _, c := range p.CPUAffinity {
			set[c/8] |= 1 << (c % 8)
		}
		rec(tagAffinity, set[:])
	}
	if len(p.Ambient) > 0 {
		rec(tagAmbient, u64(mask(p.Ambient)))
	}
	if p.NoNewPrivileges {
		rec(tagNoNewPrivs, nil)
	}
	if p.Keyring != "" {
		str(tagKeyring, "the keyring's name", p.Keyring)
	}
	if p.Seccomp != nil {
		rec(tagSeccomp, append(u32s(uint32(p.Seccomp.Flags)), p.Seccomp.Code...))
	}
	if p.Terminal {
		var rows, cols uint16
		if p.ConsoleSize != nil {
			rows, cols = p.ConsoleSize.Rows, p.ConsoleSize.Cols
		}
		size := make([]byte, 4)
		binary.NativeEndian.PutUint16(size, rows)
		binary.NativeEndian.PutUint16(size[2:], cols)
		rec(tagTerminal, size)
	}
	// What a process inherits from the one that starts it: the builder
	// sets them on itself for COMMAND, the joiner on the process.
	for _, rl := range p.Rlimits {
		name := rl.Name
		if name == "" {
			name = fmt.Sprint(rl.Resource)
		}
		v := append(u32s(uint32(rl.Resource)), append(u64(rl.Soft), u64(rl.Hard)...)...)
		rec(tagRlimit, append(v, append([]byte(name), 0)...))
	}
	if p.OOMScoreAdj != nil {
		rec(tagOOMScore, u32s(uint32(int32(*p.OOMScoreAdj))))
	}
	if p.Umask != nil {
		rec(tagUmask, u32s(*p.Umask))
	}
	rec(tagPreserve, u32s(uint32(p.PreserveFDs)))
	return b.Bytes(), bad
}

// startJoiner runs on a locked, disposable thread: it moves the thread
// into the box's v1 cgroups, starts the joiner from a sealed memfd with
// the plan, and reads its answers until the process has exec'd COMMAND
// or failed.
func startJoiner(plan joinPlan, cg *cgroups.Cgroup, cgfd int, eio ExecIO) (*Running, error) {
	leave, err := cg.JoinThread()
	if err != nil {
		return nil, setupErr("cgroup", err)
	}
	defer leave()
	files := stdioFDs(eio.Stdio)
	for i := 0; i < eio.PreserveFDs; i++ {
		files = append(files, uintptr(3+i))
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, setupErr("exec", fmt.Errorf("socketpair: %w", err))
	}
	sock, child := os.NewFile(uintptr(fds[0]), "joiner"), os.NewFile(uintptr(fds[1]), "joiner-child")
	defer sock.Close()
	defer child.Close()
	program, err := tinyInitMemfd()
	if err != nil {
		return nil, setupErr("exec", err)
	}
	defer program.Close()
	syncAt := len(files)
	files = append(files, child.Fd())
	planAt := len(files)
	planFile, err := planMemfd("pbox-exec-plan")
	if err != nil {
		return nil, setupErr("exec", err)
	}
	defer planFile.Close()
	files = append(files, planFile.Fd())
	programAt := len(files)
	files = append(files, program.Fd())
	nsAt := len(files)
	for _, j := range plan.Join {
		files = append(files, uintptr(j.fd))
	}
	data, err := plan.encode(func(i int) int { return nsAt + i })
	if err != nil {
		return nil, &SetupError{Step: "exec", Err: err.Error(), Code: StatusSetupFailed}
	}
	if _, err := planFile.WriteAt(data, 0); err != nil {
		return nil, setupErr("exec", fmt.Errorf("write the joiner's plan: %w", err))
	}
	sys := &syscall.SysProcAttr{}
	if cgfd >= 0 {
		sys.UseCgroupFD, sys.CgroupFD = true, cgfd
	}
	argv := []string{joinerArg0, strconv.Itoa(syncAt), strconv.Itoa(planAt)}
	joiner, err := syscall.ForkExec(fmt.Sprintf("/proc/self/fd/%d", programAt), argv, &syscall.ProcAttr{Env: []string{}, Files: files, Sys: sys})
	if err != nil {
		return nil, setupErr("exec", fmt.Errorf("start %s: %w", joinerArg0, err))
	}
	child.Close()
	return readJoiner(sock, joiner, eio)
}

// readJoiner reads the joiner's answers (one per SOCK_SEQPACKET message)
// until the socket closes: the process exec'd COMMAND, or said why not.
func readJoiner(sock *os.File, joiner int, eio ExecIO) (*Running, error) {
	var run *Running
	var failed *SetupError
	reaped := false
	reapJoiner := func() {
		if !reaped {
			waitPid(joiner)
			reaped = true
		}
	}
	defer reapJoiner()
	var master *os.File
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			failed = setupErr("exec", fmt.Errorf("read the joiner's answer: %w", err))
			break
		}
		if n == 0 && oobn == 0 {
			break // every end closed: COMMAND was exec'd, or the joiner died
		}
		var m message
		if err := json.Unmarshal(buf[:n], &m); err != nil {
			failed = setupErr("exec", fmt.Errorf("unexpected message from %s: %q", joinerArg0, buf[:n]))
			break
		}
		switch m.Type {
		case msgPid:
			pidfd, err := unix.PidfdOpen(m.Pid, 0)
			if err != nil {
				failed = setupErr("exec", fmt.Errorf("pidfd_open %d: %w", m.Pid, err))
				// Still ours to reap: it is our child (CLONE_PARENT).
				run = &Running{Pid: m.Pid, pidfd: -1}
				continue
			}
			run = &Running{Pid: m.Pid, pidfd: pidfd}
			reapJoiner()
		case msgPty:
			f, err := rightsFile(oob[:oobn], "pty-master")
			if err != nil {
				failed = setupErr("terminal", err)
				continue
			}
			master = f
		case msgError:
			failed = m.setupError()
		default:
			failed = setupErr("exec", fmt.Errorf("unexpected message from %s: got %q", joinerArg0, m.Type))
		}
	}
	reapJoiner()
	if failed == nil && run == nil {
		failed = setupErr("exec", errors.New(joinerArg0+" ended without starting the process"))
	}
	if failed == nil && master != nil {
		if eio.Console != nil {
			err := sendFD(eio.Console, master)
			master.Close()
			master = nil
			if err != nil {
				failed = setupErr("console socket", err)
			}
		} else {
			run.Master = master
		}
	}
	if failed != nil {
		if master != nil {
			master.Close()
		}
		if run != nil {
			if run.pidfd >= 0 {
				unix.PidfdSendSignal(run.pidfd, unix.SIGKILL, nil, 0)
			} else {
				unix.Kill(run.Pid, unix.SIGKILL) // our unreaped child: not a reused pid
			}
			run.Wait()
		}
		return nil, failed
	}
	return run, nil
}

// rightsFile is the one descriptor an SCM_RIGHTS message carried.
func rightsFile(oob []byte, name string) (*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("receive pty master: no descriptor came")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, errors.New("receive pty master: no descriptor came")
	}
	return os.NewFile(uintptr(fds[0]), name), nil
}
