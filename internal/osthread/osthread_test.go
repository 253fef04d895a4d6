package osthread

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// No thread f ran on ever serves anyone again: it ends with f's goroutine.
// So no two runs share a thread, none is the main thread (which cannot
// end, and whose namespaces are what /proc/self/ns shows), and all are
// gone afterwards.
func TestThrowawayThreadsAreNeverReused(t *testing.T) {
	seen := map[int]bool{}
	for i := 0; i < 20; i++ {
		var tid int
		Throwaway(func() { tid = unix.Gettid() })
		if tid == 0 || seen[tid] || tid == os.Getpid() {
			t.Fatalf("run %d on thread %d: seen before (%v)", i, tid, seen)
		}
		seen[tid] = true
	}
	for tid := range seen {
		gone := false
		for i := 0; i < 200 && !gone; i++ {
			_, err := os.Stat("/proc/self/task/" + strconv.Itoa(tid))
			gone = os.IsNotExist(err)
			unix.Nanosleep(&unix.Timespec{Nsec: 1e6}, nil)
		}
		if !gone {
			t.Errorf("thread %d still exists", tid)
		}
	}
}
