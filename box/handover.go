package box

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"github.com/pbox-dev/pbox/internal/logf"
	"golang.org/x/sys/unix"
)

//go:generate sh tinyinit/build.sh

// The init hands PID 1 over to a tiny C program (tinyinit/tinyinit.c) once
// the box is built: what stays resident for the life of a box is then a few
// pages, not a Go runtime, and it never needs a thread the pids limit could
// refuse. Measured in bench/RESULTS.md; the options weighed are in doc.go.
//
// pbox carries the program (tinyinit_amd64.go embeds it; other
// architectures keep the Go supervisor, superviseLoop) and the init runs it
// from a sealed memfd: nothing in the box can rewrite it, and /proc/1/exe
// leads only to it.

// tinyInitMemfd copies the tiny init into a sealed, executable memfd. It
// is made before the seccomp filter is loaded (which may forbid
// memfd_create) and closed by the exec. nil: this architecture has none.
func tinyInitMemfd() (*os.File, error) {
	if len(tinyInit) == 0 {
		return nil, nil
	}
	const flags = unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	fd, err := unix.MemfdCreate(InitArg0, flags|unix.MFD_EXEC)
	if err == unix.EINVAL { // before Linux 6.3: no MFD_EXEC, executable anyway
		fd, err = unix.MemfdCreate(InitArg0, flags)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:"+InitArg0)
	if _, err := f.Write(tinyInit); err != nil {
		f.Close()
		return nil, fmt.Errorf("write the tiny init: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals|unix.F_SEAL_EXEC); err != nil {
		if _, err = unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
			f.Close()
			return nil, fmt.Errorf("seal the tiny init: %w", err)
		}
	}
	return f, nil
}

// handOver replaces the init (this process, on this locked thread, which
// carries COMMAND's keyring, bounding set, seccomp filter and user) with
// the tiny init, which starts path as COMMAND. stdio are COMMAND's fds 0,
// 1, 2 and then its preserved ones (3, 4, ...); sock, if not nil, gets
// the "ready" or "error" message. Without a PID namespace (noPidNS)
// COMMAND is tied to the tiny init with PR_SET_PDEATHSIG, as nothing else
// would end it with the box. It returns only if the exec failed, with the
// descriptors as they were.
func handOver(memfd *os.File, cfg *Config, path string, stdio []uintptr, sock *os.File, noPidNS bool, log logf.Logf) error {
	// Lay the descriptors out as COMMAND is to have them: first copies of
	// every source above all targets (close-on-exec), then dup3 onto
	// 0..n-1 (which clears close-on-exec); the socket goes just above.
	sources := append([]uintptr{}, stdio...)
	if sock != nil {
		sources = append(sources, sock.Fd())
	}
	above := len(sources) + 1
	for _, fd := range sources {
		above = max(above, int(fd)+1)
	}
	copies := make([]int, len(sources))
	for i, fd := range sources {
		c, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, above)
		if err != nil {
			return fmt.Errorf("copy fd %d: %w", fd, err)
		}
		defer unix.Close(c)
		copies[i] = c
	}
	// Past this point the init's own fds 0-2 are COMMAND's: keep the old
	// ones to put back if the exec fails.
	saved := make([]int, 3)
	for i := range saved {
		c, err := unix.FcntlInt(uintptr(i), unix.F_DUPFD_CLOEXEC, above)
		if err != nil {
			return fmt.Errorf("save fd %d: %w", i, err)
		}
		defer unix.Close(c)
		saved[i] = c
	}
	restore := func() {
		for i, c := range saved {
			unix.Dup3(c, i, 0)
		}
	}
	for i, c := range copies {
		if err := unix.Dup3(c, i, 0); err != nil {
			restore()
			return fmt.Errorf("dup fd %d to %d: %w", sources[i], i, err)
		}
	}
	flags, syncArg := "", "-1"
	if sock != nil {
		syncArg = strconv.Itoa(len(sources) - 1)
	}
	if cfg.Terminal {
		flags += "t"
	}
	if noPidNS {
		flags += "p"
	}
	if cfg.Verbose {
		flags += "v"
		if logf.Timestamps() {
			flags += "T"
		}
	}
	if flags == "" {
		flags = "-"
	}
	argv := append([]string{InitArg0, flags, syncArg, path}, cfg.Args...)
	log("exec pbox's tiny init (%d bytes, a sealed memfd) as PID 1: it starts COMMAND, reaps and forwards signals; the Go runtime ends here", len(tinyInit))
	// Every signal blocked from here, so none is lost or fatal to PID 1
	// before the tiny init waits for them; the exec keeps the mask.
	var all, old unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^uint64(0)
	}
	unix.PthreadSigmask(unix.SIG_SETMASK, &all, &old)
	err := execveat(int(memfd.Fd()), argv, cfg.Env)
	unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	restore()
	return fmt.Errorf("execveat the tiny init: %w", err)
}

// execveat runs the program open at fd (AT_EMPTY_PATH): unlike
// /proc/self/fd/N it needs no /proc in the box.
func execveat(fd int, argv, env []string) error {
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return err
	}
	var empty [1]byte
	_, _, errno := syscall.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(&empty[0])),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	return errno
}
