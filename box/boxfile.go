package box

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// A box owns every file under its root, and pbox reads some of them from
// the host (the box's /etc/passwd and /etc/group for -u NAME; later,
// whatever cp copies out). The box can plant anything there: a symlink
// out of its root, a FIFO that blocks a reader, a device node whose open
// alone has an effect (a watchdog, a tape drive), outside the box's
// device rules since the host opens it. So every such read goes through
// openBoxFile: resolved inside the root by the kernel, opened O_PATH
// (which opens nothing), checked with fstat, and only a regular file is
// then opened for reading — through the same inode, so nothing can be
// swapped in between.

// ErrNotRegular is returned for a box file that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// openBoxFile opens name, a path inside the directory root (a rootfs, or
// /proc/<pid>/root of a running box), for reading, if it is a regular
// file. Absolute symlinks and ".." stay inside root; magic links
// (/proc/self/fd/N and the like) are refused.
func openBoxFile(root, name string) (*os.File, error) {
	fd, err := openInRoot(root, name, true)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "fstat", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, &os.PathError{Op: "open", Path: name, Err: ErrNotRegular}
	}
	// Reopen the inode the O_PATH descriptor holds, not the name.
	rfd, err := reopen(fd, unix.O_RDONLY)
	if err != nil {
		return nil, &os.PathError{Op: "reopen", Path: name, Err: err}
	}
	return os.NewFile(uintptr(rfd), name), nil
}

// openInRoot resolves name inside the directory root (openat2
// RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) and opens it O_PATH, which opens
// nothing: the caller looks at what it is first. follow says whether a
// final symlink is followed (inside root) or is itself the answer.
func openInRoot(root, name string, follow bool) (int, error) {
	dir, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(dir)
	flags := uint64(unix.O_PATH | unix.O_CLOEXEC)
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Openat2(dir, name, &unix.OpenHow{Flags: flags, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return fd, nil
}

// reopen opens the inode an O_PATH descriptor holds (never a name).
func reopen(fd int, flags int) (int, error) {
	return unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), flags|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
}

// readBoxFile reads at most max bytes of the regular file name under root.
func readBoxFile(root, name string, max int64) ([]byte, error) {
	f, err := openBoxFile(root, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}
