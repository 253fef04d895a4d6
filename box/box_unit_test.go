package box

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
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

func TestCheckWorkdir(t *testing.T) {
	if err := checkWorkdir(""); err != nil {
		t.Error(err)
	}
	if err := checkWorkdir(t.TempDir()); err != nil {
		t.Error(err)
	}
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, nil, 0o644)
	for _, bad := range []string{"/nonexistent/dir", f} {
		if err := checkWorkdir(bad); err == nil || err.Code != StatusSetupFailed || err.Step != "workdir" {
			t.Errorf("checkWorkdir(%q) = %v", bad, err)
		}
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
	cfg := &Config{Name: "b", Args: []string{"sh"}, Env: []string{"A=1"}}
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
