package box

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"

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

func TestSyncUnexpectedMessage(t *testing.T) {
	var buf bytes.Buffer
	send(&buf, message{Type: msgReady, Pid: 7})
	_, err := expect(json.NewDecoder(&buf), msgConfig)
	if err == nil || err.Error() != `unexpected message: got "ready", expected "config"` {
		t.Errorf("err = %v", err)
	}
}

func TestSyncRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	cfg := &Config{Name: "b", Process: Process{Args: []string{"sh"}, Env: []string{"A=1"}}}
	send(&buf, message{Type: msgConfig, Config: cfg})
	send(&buf, message{Type: msgGo})
	d := json.NewDecoder(&buf)
	m, err := expect(d, msgConfig)
	if err != nil || m.Config.Name != "b" || m.Config.Args[0] != "sh" {
		t.Fatalf("config: %+v %v", m, err)
	}
	if _, err := expect(d, msgGo); err != nil {
		t.Fatal(err)
	}
	if _, err := expect(d, msgGo); err == nil {
		t.Error("reading past the end must fail")
	}
}
