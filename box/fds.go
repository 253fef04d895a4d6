package box

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// The descriptors a box may get. A process inherits every descriptor its
// parent did not mark close-on-exec, and a descriptor is a door: a
// directory fd from the caller's shell lets the box read host files through
// /proc/self/fd/N, and as a working directory it puts COMMAND on the host
// (runc's CVE-2024-21626). So pbox marks everything above stderr
// close-on-exec the moment it starts (CloseInheritedFDs), passes on only
// what the user asked for by number (--preserve-fds, LISTEN_FDS) through
// the exec's explicit fd list, and checks the working directory after
// chdir (enterWorkdir), as runc 1.1.12 does.

// CloseInheritedFDs marks every descriptor above 2 close-on-exec:
// close_range(3, ~0, CLOSE_RANGE_CLOEXEC), as runc and crun do before
// they exec the container's process. Descriptors stay usable in this
// process; none crosses an exec unless it is passed on purpose.
func CloseInheritedFDs() error {
	return unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
}

// CheckPreservedFDs makes sure fds 3..3+n-1 are open, so --preserve-fds N
// fails with a clear message instead of passing a hole to the box.
func CheckPreservedFDs(n int) error {
	if n < 0 {
		return fmt.Errorf("must be 0 or more")
	}
	for fd := 3; fd < 3+n; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return fmt.Errorf("descriptor %d is not open (%d asked for: 3 to %d): open them in the calling shell, e.g. 'exec 3<FILE', or ask for fewer", fd, n, 2+n)
		}
	}
	return nil
}

// listenFDs is the number of descriptors systemd's socket activation
// passed to this process (LISTEN_FDS, when LISTEN_PID is our pid), which
// pbox passes on to the box as runc does.
func listenFDs() int {
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return 0
	}
	if pid := os.Getenv("LISTEN_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return n
}
