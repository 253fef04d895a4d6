// Package flock is pbox's one lock helper: flock(2) on a directory, as
// the state of a box (exclusive, for every change) and the parent of box
// cgroups (shared while a box's cgroup is empty and starting, exclusive
// for cleanup) are locked, or on a lock file (File: the host-wide network
// claims, one box's CNI DEL).
package flock

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// How a directory is locked.
const (
	Shared    = unix.LOCK_SH
	Exclusive = unix.LOCK_EX
	NoWait    = unix.LOCK_NB // or'ed in: fail with EWOULDBLOCK instead of waiting
)

// Lock is a held flock; the zero value holds nothing.
type Lock struct {
	fd   int
	held bool
}

// Dir opens dir and locks it as how says, waiting unless NoWait. The
// open error is returned as is (callers test for ENOENT); a lock error
// names the directory.
func Dir(dir string, how int) (*Lock, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(fd, how); err != nil {
		unix.Close(fd)
		if how&NoWait != 0 {
			return nil, err
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return &Lock{fd: fd, held: true}, nil
}

// File locks the file at path, made if missing (never through a
// symlink), as how says, waiting unless NoWait. A killed holder never
// leaves it locked.
func File(path string, how int) (*Lock, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(fd, how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		if how&NoWait != 0 {
			return nil, err
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{fd: fd, held: true}, nil
}

// Unlock lets go of the lock; a nil or released Lock is fine.
func (l *Lock) Unlock() {
	if l != nil && l.held {
		unix.Close(l.fd)
		l.held = false
	}
}
