package flock

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDir(t *testing.T) {
	dir := t.TempDir()
	a, err := Dir(dir, Shared)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Dir(dir, Shared|NoWait)
	if err != nil {
		t.Fatalf("two shared locks: %v", err)
	}
	if _, err := Dir(dir, Exclusive|NoWait); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Errorf("exclusive while shared: %v, want EWOULDBLOCK", err)
	}
	a.Unlock()
	b.Unlock()
	b.Unlock() // twice is fine
	c, err := Dir(dir, Exclusive|NoWait)
	if err != nil {
		t.Fatalf("exclusive once free: %v", err)
	}
	c.Unlock()
	var none *Lock
	none.Unlock()
	if _, err := Dir(dir+"/missing", Exclusive); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
}
