package box

import (
	"encoding/binary"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/pbox-dev/pbox/rootfs"
	"golang.org/x/sys/unix"
)

func TestWaitStatusCode(t *testing.T) {
	tests := []struct {
		ws   syscall.WaitStatus
		want int
	}{
		{syscall.WaitStatus(0), 0},
		{syscall.WaitStatus(7 << 8), 7},
		{syscall.WaitStatus(syscall.SIGKILL), 137},
		{syscall.WaitStatus(syscall.SIGTERM), 143},
	}
	for _, tt := range tests {
		if got := WaitStatusCode(tt.ws); got != tt.want {
			t.Errorf("WaitStatusCode(%#x) = %d, want %d", uint32(tt.ws), got, tt.want)
		}
	}
}

func TestExecErrorCode(t *testing.T) {
	for err, want := range map[syscall.Errno]int{
		syscall.ENOENT: 127, syscall.ENOTDIR: 127,
		syscall.EACCES: 126, syscall.ENOEXEC: 126, syscall.EISDIR: 126,
	} {
		if got := execErrorCode(err); got != want {
			t.Errorf("execErrorCode(%v) = %d, want %d", err, got, want)
		}
	}
}

func TestEnvPath(t *testing.T) {
	if got := envPath([]string{"A=1", "PATH=/a", "PATH=/b"}); got != "/b" {
		t.Errorf("envPath = %q, the last PATH wins as in execve's environment", got)
	}
	if got := envPath(nil); got != defaultPath {
		t.Errorf("envPath(nil) = %q", got)
	}
}

func TestCheckPreservedFDs(t *testing.T) {
	if err := CheckPreservedFDs(0); err != nil {
		t.Error(err)
	}
	if err := CheckPreservedFDs(-1); err == nil {
		t.Error("-1 accepted")
	}
	// Find the first closed fd above 2 and ask for one more than what is open below it.
	fd := 3
	for ; ; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			break
		}
	}
	if err := CheckPreservedFDs(fd - 3); err != nil {
		t.Errorf("fds 3..%d are open: %v", fd-1, err)
	}
	err := CheckPreservedFDs(fd - 2)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("descriptor %d is not open", fd)) {
		t.Errorf("CheckPreservedFDs(%d) = %v, want descriptor %d named", fd-2, err, fd)
	}
}

// A mount step's record is the layout tinyinit.c's parse_op reads: the
// header, then source, target, fstype, data and -v's words, each ending
// in NUL; a NUL inside a field is refused, not cut.
func TestMountStepRecord(t *testing.T) {
	o := rootfs.Op{Kind: rootfs.OpMount, Source: "proc", Target: "/r/proc", FSType: "proc", Flags: unix.MS_NOSUID, Recursive: unix.MS_RDONLY, Major: 1, Minor: 3, Mode: 0o620, UID: 5, GID: 6}
	v, err := encodeOp(o)
	if err != nil {
		t.Fatal(err)
	}
	ne := binary.NativeEndian
	if v[0] != 'm' || ne.Uint64(v[4:]) != unix.MS_NOSUID || ne.Uint64(v[12:]) != unix.MS_RDONLY ||
		ne.Uint32(v[20:]) != 1 || ne.Uint32(v[24:]) != 3 || ne.Uint32(v[28:]) != 0o620 || ne.Uint32(v[32:]) != 5 || ne.Uint32(v[36:]) != 6 {
		t.Errorf("header %v", v[:opHeaderSize])
	}
	want := "proc\x00/r/proc\x00proc\x00\x00" + o.String() + "\x00"
	if got := string(v[opHeaderSize:]); got != want {
		t.Errorf("strings %q, want %q", got, want)
	}
	o.Target = "/r/a\x00b"
	if _, err := encodeOp(o); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("a NUL in a target: %v, want it refused", err)
	}
	if _, err := encodeOp(rootfs.Op{Kind: "teleport"}); err == nil {
		t.Error("an unknown step kind must be refused")
	}
}
