// Package osthread is pbox's one locked-thread helper. Joining a
// namespace (setns), a v1 cgroup or a credential is per thread in Linux,
// and Go moves goroutines between threads: such work must run on a thread
// locked to one goroutine, and the thread must never serve another
// goroutine afterwards.
package osthread

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Throwaway runs f on a new goroutine locked to an OS thread of its own,
// never the main thread, and waits for it. The thread is never unlocked,
// so the Go runtime ends it with the goroutine: whatever f did to it
// never reaches other code.
func Throwaway(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// The main thread cannot end: the runtime would park it for
			// good in whatever state f left it, and /proc/self/ns would
			// then describe the box, not pbox. Hold it here, so that the
			// work must go to another thread, and give it back untouched.
			Throwaway(f)
			runtime.UnlockOSThread()
			return
		}
		f()
	}()
	<-done
}

// InNamespace runs f on a thrown-away thread (Throwaway) that has joined
// the namespace open at nsPath (a /proc/<pid>/ns/<kind> file) of type
// nstype (CLONE_NEWUTS, CLONE_NEWNET: kinds Go lets one thread join), so
// no other code ever runs in that namespace.
func InNamespace(nsPath string, nstype int, f func() error) error {
	var err error
	Throwaway(func() {
		fd, oerr := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if oerr != nil {
			err = oerr
			return
		}
		defer unix.Close(fd)
		if serr := unix.Setns(fd, nstype); serr != nil {
			err = fmt.Errorf("setns %s: %w", nsPath, serr)
			return
		}
		err = f()
	})
	return err
}
