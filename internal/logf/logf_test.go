package logf

import (
	"bytes"
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
