package seccomp

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Load installs the filter on the calling thread (on every thread of the
// process with SECCOMP_FILTER_FLAG_TSYNC); children forked from it inherit
// it. The caller needs CAP_SYS_ADMIN or no_new_privs, and should be on a
// locked OS thread.
func (p *Program) Load() error {
	prog := decode(p.Code)
	if len(prog) == 0 {
		return fmt.Errorf("seccomp: empty program")
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(p.Flags), uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w", errno)
	}
	return nil
}
