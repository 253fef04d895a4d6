package logf

import (
	"bytes"
	"fmt"
	"testing"
)

func TestLogf(t *testing.T) {
	var quiet Logf
	quiet.Printf("nothing %d", 1) // no panic
	To(nil, "x").Printf("nothing")
	var buf bytes.Buffer
	To(&buf, "pbox: ").Printf("mount %s", "/proc")
	if buf.String() != "pbox: mount /proc\n" {
		t.Errorf("got %q", buf.String())
	}
}

func TestTimestampsStartEachLine(t *testing.T) {
	t.Setenv(TimestampsEnv, "1")
	var buf bytes.Buffer
	To(&buf, "pbox: ").Printf("clone")
	var ms float64
	var rest string
	if n, err := fmt.Sscanf(buf.String(), "[%f] pbox: %s", &ms, &rest); n != 2 || err != nil || ms <= 0 || rest != "clone" {
		t.Errorf("got %q (%v); want [MONOTONIC-MS] pbox: clone", buf.String(), err)
	}
}
