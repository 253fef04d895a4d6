// Package osthread is pbox's one locked-thread helper. Joining a
// namespace (setns), a v1 cgroup or a credential is per thread in Linux,
// and Go moves goroutines between threads: such work must run on a thread
// locked to one goroutine, and the thread must never serve another
// goroutine afterwards.
package osthread

import (
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
