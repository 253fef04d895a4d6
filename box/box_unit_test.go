package box

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	plain := filepath.Join(dir, "data")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(plain, []byte("x"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)

	if p, err := lookPath("tool", "/nonexistent:"+dir); err != nil || p != exe {
		t.Errorf("lookPath(tool) = %q, %v", p, err)
	}
	cases := []struct {
		name string
		code int
	}{
		{"nosuch", StatusNotFound},
		{filepath.Join(dir, "nosuch"), StatusNotFound},
		{"data", StatusNotExecutable},
		{plain, StatusNotExecutable},
		{filepath.Join(dir, "sub"), StatusNotExecutable},
	}
	for _, c := range cases {
		_, err := lookPath(c.name, dir)
		if err == nil || err.Code != c.code {
			t.Errorf("lookPath(%q) = %v, want code %d", c.name, err, c.code)
			continue
		}
		if !strings.HasPrefix(err.Error(), "exec: ") {
			t.Errorf("lookPath(%q) error %q should name the step", c.name, err)
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

func TestEnterWorkdir(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, nil, 0o644)
	dir := t.TempDir()
	// enterWorkdir changes the working directory: do it on a thread with
	// its own (CLONE_FS), which the runtime throws away afterwards.
	errs := make(chan []string, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errs <- []string{err.Error()}
			return
		}
		var bad []string
		if err := enterWorkdir(""); err != nil {
			bad = append(bad, "empty: "+err.Error())
		}
		if err := enterWorkdir(dir); err != nil {
			bad = append(bad, dir+": "+err.Error())
		}
		if wd, _ := unix.Getwd(); wd != dir {
			bad = append(bad, "cwd is "+wd+", want "+dir)
		}
		// A directory fd held by this process, through /proc/self/fd: the
		// CVE-2024-21626 way out of a box.
		held, err := os.Open(dir)
		if err != nil {
			errs <- []string{err.Error()}
			return
		}
		defer held.Close()
		magic := fmt.Sprintf("/proc/self/fd/%d", held.Fd())
		if err := enterWorkdir(magic); err == nil || !strings.Contains(err.Error(), "magic link") {
			bad = append(bad, fmt.Sprintf("enterWorkdir(%q) = %v, want refused as a magic link", magic, err))
		}
		for _, p := range []string{"/nonexistent/dir", f} {
			if err := enterWorkdir(p); err == nil || err.Code != StatusSetupFailed || err.Step != "workdir" {
				bad = append(bad, fmt.Sprintf("enterWorkdir(%q) = %v", p, err))
			}
		}
		errs <- bad
	}()
	for _, e := range <-errs {
		t.Error(e)
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

func TestForwardRefusesDangerousTargets(t *testing.T) {
	type call struct {
		pid int
		sig syscall.Signal
	}
	var calls []call
	kill = func(pid int, sig syscall.Signal) error {
		calls = append(calls, call{pid, sig})
		return nil
	}
	defer func() { kill = syscall.Kill }()

	for _, pid := range []int{-1, 0, 1} {
		forward(pid, syscall.SIGTERM)
	}
	forward(4242, 0)
	forward(4242, syscall.SIGTERM)
	if len(calls) != 1 || calls[0] != (call{4242, syscall.SIGTERM}) {
		t.Errorf("kill calls = %v, want only {4242 SIGTERM}", calls)
	}
}
