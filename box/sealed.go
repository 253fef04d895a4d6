package box

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The pbox binary itself is a target (runc's CVE-2019-5736): a process in
// a box that gets hold of /proc/<pid>/exe of a pbox process — the init is
// PID 1 of the box, and a `#!/proc/self/exe` script run by pbox exec makes
// the interpreter the exec'ing pbox — can keep it open and, once no pbox
// process runs it, reopen it for writing and replace the host's binary.
//
// So every pbox process that lives in or next to a box (the init, the
// -d monitor) is executed from a sealed view of the binary:
// open_tree(OPEN_TREE_CLONE) makes a detached bind mount of the binary
// file that belongs to no mount namespace, and mount_setattr makes it
// read-only before anything runs from it. /proc/<pid>/exe of those
// processes leads to that mount, and opening it for writing fails with
// EROFS, busy or not. Only CAP_SYS_ADMIN in the host's user namespace
// could make it writable again. Measured: ~40 µs per start, against
// ~1-2 ms for copying the binary into a sealed memfd (runc 1.1's way;
// runc 1.2 also uses a read-only mount).

// SealedExe is a read-only, detached view of the running pbox binary.
// Path is how to execute it while f is open ("/proc/self/fd/N": it works
// from a child, whose fd table is a copy, until the exec).
type SealedExe struct {
	f    *os.File
	Path string
}

// openSealedExe makes the sealed view for a child that gets nfiles
// descriptors. Close it once the child has exec'd.
func openSealedExe(nfiles int) (*SealedExe, error) {
	// Go's fork moves a child's descriptors onto 0..nfiles-1, parking up
	// to nfiles of them (and its error pipe) just above nfiles on the
	// way: the view must sit above all of those to survive until execve.
	minFD := 2*nfiles + 2
	if Rootless() {
		// open_tree needs host root. A rootless box has its user's
		// rights outside and no more: it can rewrite pbox only where its
		// user could anyway, so there is nothing to seal against.
		return &SealedExe{Path: "/proc/self/exe"}, nil
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil && alreadySealed() {
		// This pbox runs from a sealed view itself (the -d monitor), which
		// kernels before 6.x cannot clone again: its own exe is as good.
		return &SealedExe{Path: "/proc/self/exe"}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open_tree /proc/self/exe (a read-only view of pbox, so a box cannot rewrite it; needs Linux 5.12 or later): %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mount_setattr MOUNT_ATTR_RDONLY on pbox's own binary: %w", err)
	}
	if fd < minFD {
		high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, minFD)
		unix.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("dup the sealed view of pbox: %w", err)
		}
		fd = high
	}
	return &SealedExe{f: os.NewFile(uintptr(fd), "pbox-sealed"), Path: fmt.Sprintf("/proc/self/fd/%d", fd)}, nil
}

// SetComm names the calling process in ps, pgrep and top. A process
// executed from the sealed view would otherwise be named after its fd
// ("7"); PR_SET_NAME would rename only the calling thread.
func SetComm(name string) {
	os.WriteFile("/proc/self/comm", []byte(name), 0)
}

// Close lets go of the view; processes running from it keep it alive.
func (s *SealedExe) Close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}

// alreadySealed reports whether this process runs from a read-only view.
func alreadySealed() bool {
	var st unix.Statfs_t
	return unix.Statfs("/proc/self/exe", &st) == nil && st.Flags&unix.ST_RDONLY != 0
}
