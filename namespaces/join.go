package namespaces

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// joinOrder is the order in which JoinThread enters namespaces: the mount
// namespace last, so that nothing after it resolves a path in the box.
var joinOrder = []Kind{Cgroup, IPC, UTS, Net, PID, Mount}

// NsPath is where a process's namespace of kind k is, e.g. /proc/42/ns/mnt.
func NsPath(pid int, k Kind) string { return fmt.Sprintf("/proc/%d/ns/%s", pid, k) }

// JoinThread moves the calling OS thread into the namespaces in paths
// (kind -> a /proc/<pid>/ns/<kind> file or a bind mount of one). The
// caller must have called runtime.LockOSThread and must never unlock:
// the thread is changed for good and has to exit with its goroutine.
//
// It works from a multi-threaded Go program because every step is per
// thread: unshare(CLONE_FS) gives this thread its own root and working
// directory, which is what setns into a mount namespace requires (it then
// moves them to the box's root); a pid namespace applies to the children
// the thread forks. A child forked from this thread is born inside them
// all. A user namespace cannot be joined this way (the kernel requires a
// single-threaded process), so kinds has none.
func JoinThread(paths map[Kind]string) error {
	fds := map[Kind]int{}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	// Open every file first: after the mount namespace, /proc is the box's.
	for _, k := range joinOrder {
		p, ok := paths[k]
		if !ok {
			continue
		}
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s namespace %s: %w", k, p, err)
		}
		fds[k] = fd
	}
	for k := range paths {
		if k == User {
			return fmt.Errorf("cannot join a user namespace from a multi-threaded Go process (the kernel requires a single thread): %w", unix.EINVAL)
		}
		if _, ok := cloneFlags[k]; !ok {
			return fmt.Errorf("%w %q: cannot be joined", ErrUnknown, k)
		}
	}
	if _, ok := fds[Mount]; ok {
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return fmt.Errorf("unshare CLONE_FS (to join a mount namespace): %w", err)
		}
	}
	for _, k := range joinOrder {
		fd, ok := fds[k]
		if !ok {
			continue
		}
		if err := unix.Setns(fd, int(cloneFlags[k])); err != nil {
			return fmt.Errorf("setns %s %s: %w", k, paths[k], err)
		}
	}
	return nil
}

// Supported reports whether this kernel has namespaces of kind k.
func Supported(k Kind) bool {
	_, err := os.Stat("/proc/self/ns/" + string(k))
	return err == nil
}

// IsOwn reports whether the namespace file at path (a /proc/<pid>/ns/<kind>
// or a bind mount of one) is the caller's own namespace of kind k. "Own"
// is the calling thread's: /proc/self/ns shows the main thread's, and a
// goroutine that joined a box on the main thread (JoinThread) leaves it
// wedged there, since Go never ends that thread.
func IsOwn(path string, k Kind) (bool, error) {
	var a, b unix.Stat_t
	if err := unix.Stat(path, &a); err != nil {
		return false, fmt.Errorf("%s namespace %s: %w", k, path, err)
	}
	if err := unix.Stat(fmt.Sprintf("/proc/thread-self/ns/%s", k), &b); err != nil {
		return false, err
	}
	return a.Ino == b.Ino && a.Dev == b.Dev, nil
}

// Same reports whether pid's namespace of kind k is the caller's own.
func Same(pid int, k Kind) (bool, error) {
	return IsOwn(NsPath(pid, k), k)
}
