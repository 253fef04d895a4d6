package box

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	"github.com/pbox-dev/pbox/internal/logf"
	"github.com/pbox-dev/pbox/namespaces"
	"golang.org/x/sys/unix"
)

// ExecStageArg0 is the argv[0] of the exec stage: the short-lived pbox
// process that pbox exec starts inside the box and that turns into
// COMMAND. Why a stage and not a fork of pbox exec itself:
//
//   - The seccomp filter has to be loaded by the process that then
//     exec's COMMAND, and Docker's filter answers clone3 with ENOSYS, which
//     pbox's fork into the box's cgroup (CLONE_INTO_CGROUP) needs: loaded
//     on pbox's thread before the fork, it would stop the fork itself.
//   - The stage runs from pbox's sealed, read-only binary (sealed.go): a
//     `#!/proc/self/exe` script exec'd by it finds that, not the host's
//     writable pbox (CVE-2019-5736).
//
// It costs one more Go start (~1.5 ms) on pbox exec, not on pbox run.
const ExecStageArg0 = "pbox-exec"

// stageConfig is the stage's work, sent over its socket.
type stageConfig struct {
	// Process is what to exec (its rlimits and OOM score were set on pbox
	// exec, which the stage inherits them from).
	Process
	// Join are the box's mount and cgroup namespaces, where they are not
	// pbox's own (/proc/<init>/ns/...).
	Join map[namespaces.Kind]string `json:"join,omitempty"`
	// Confinement carries the keyring name, bounding set, no_new_privs
	// and seccomp filter, as for the box's COMMAND.
	Confinement Config `json:"confinement"`
}

// ExecStage is the main of pbox-exec: join the box's mount namespace,
// find COMMAND, enter the working directory, confine, become the user,
// exec. Errors go back to pbox exec over the socket named by argv[1].
func ExecStage() int {
	runtime.LockOSThread() // everything below is per thread; exec from it
	if len(os.Args) != 2 {
		fmt.Fprintf(os.Stderr, "pbox: %s is started by `pbox exec`, not by hand\n", ExecStageArg0)
		return StatusSetupFailed
	}
	fd, err := strconv.Atoi(os.Args[1])
	if err != nil || fd < 3 {
		fmt.Fprintf(os.Stderr, "pbox: %s is started by `pbox exec`, not by hand\n", ExecStageArg0)
		return StatusSetupFailed
	}
	if _, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil {
		fmt.Fprintf(os.Stderr, "pbox: %s is started by `pbox exec`, not by hand\n", ExecStageArg0)
		return StatusSetupFailed
	}
	syscall.CloseOnExec(fd)
	sock := os.NewFile(uintptr(fd), "stage")
	m, err := expect(json.NewDecoder(sock), msgConfig)
	if err != nil || m.Stage == nil {
		return fail(sock, setupErr("read the exec stage's work", orMissing(err)))
	}
	st := m.Stage
	if err := namespaces.JoinThread(st.Join); err != nil {
		return fail(sock, setupErr("join the box", err))
	}
	path, serr := lookPath(st.Args[0], envPath(st.Env))
	if serr == nil {
		serr = enterWorkdir(st.Cwd)
	}
	if serr != nil {
		return fail(sock, serr)
	}
	if st.Terminal {
		if serr := stageTerminal(sock, st.ConsoleSize); serr != nil {
			return fail(sock, serr)
		}
	}
	// The filter is loaded while this process is still root with its
	// capabilities (loading one needs CAP_SYS_ADMIN or no_new_privs), and
	// then the user is switched, as runc does without no_new_privs.
	if serr := confine(&st.Confinement, logf.To(nil, "")); serr != nil {
		return fail(sock, serr)
	}
	if st.User != nil {
		if err := becomeUser(st.User, st.Ambient); err != nil {
			return fail(sock, setupErr("user", err))
		}
	}
	err = syscall.Exec(path, st.Args, st.Env)
	return fail(sock, &SetupError{Step: "exec", Err: path + ": " + err.Error(), Code: execErrorCode(err)})
}

// stageTerminal gives the stage (and so COMMAND) a new pty of the box's
// as stdin, stdout, stderr and controlling terminal, and sends its master
// to pbox exec.
func stageTerminal(sock *os.File, size *ConsoleSize) *SetupError {
	master, slave, err := openPty(size)
	if err != nil {
		return setupErr("terminal", err)
	}
	defer master.Close()
	defer slave.Close()
	for i := 0; i < 3; i++ {
		if err := unix.Dup2(int(slave.Fd()), i); err != nil {
			return setupErr("terminal", err)
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return setupErr("terminal", fmt.Errorf("make the pty the controlling terminal: %w", err))
	}
	if err := sendFD(sock, master); err != nil {
		return setupErr("terminal", err)
	}
	return nil
}

// becomeUser switches to u as Go's exec does (setgroups, setresgid,
// setresuid on every thread), keeping the ambient capabilities asked
// for: PR_SET_KEEPCAPS over the switch, then the capabilities into the
// permitted and inheritable sets and PR_CAP_AMBIENT_RAISE.
func becomeUser(u *User, ambient []int) error {
	if len(ambient) > 0 {
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
	if len(ambient) == 0 {
		return nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	for _, c := range ambient {
		data[c/32].Permitted |= 1 << (uint(c) % 32)
		data[c/32].Inheritable |= 1 << (uint(c) % 32)
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	for _, c := range ambient {
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("raise ambient capability %d: %w", c, err)
		}
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
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("receive pty master: no descriptor came")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, errors.New("receive pty master: no descriptor came")
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}
