package box

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

//go:generate sh tinyinit/build.sh amd64
//go:generate sh tinyinit/build.sh arm64

// pbox carries one small static C program (tinyinit/tinyinit.c; embedded
// by tinyinit_amd64.go and tinyinit_arm64.go), which is the box builder
// and PID 1 (plan.go), the exec joiner (joiner.go), a detached box's
// monitor (monitor.go) and its log writer (logger.go). It always runs
// from a sealed memfd: nothing in a box can rewrite it, and /proc/1/exe
// leads only to it.

// tinyInitMemfd copies the tiny program into a sealed, executable memfd,
// closed by the exec.
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
