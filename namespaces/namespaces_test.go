package namespaces

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    []Kind
		wantErr error
	}{
		{"pid,mnt,uts", []Kind{PID, Mount, UTS}, nil},
		{" mnt , uts ", []Kind{Mount, UTS}, nil},
		{"pid,pid,mnt", nil, ErrDuplicate},
		{"mnt,mount", nil, ErrDuplicate},
		{"mount,pid", []Kind{Mount, PID}, nil},
		{"ipc,net,cgroup", []Kind{IPC, Net, Cgroup}, nil},
		{"", nil, nil},
		{"pid", nil, ErrPIDNeedsMount},
		{"pid,uts", nil, ErrPIDNeedsMount},
		{"pid,mnt,foo", nil, ErrUnknown},
		{"user", nil, ErrUnknown},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("Parse(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			continue
		}
		if strings.Join(kindsToStrings(got), ",") != strings.Join(kindsToStrings(tt.want), ",") {
			t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrorSaysHowToFix(t *testing.T) {
	_, err := Parse("pid")
	if err == nil || !strings.Contains(err.Error(), "add mnt") {
		t.Errorf("error %v should tell the user to add mnt", err)
	}
	_, err = Parse("bogus")
	if err == nil || !strings.Contains(err.Error(), "known: cgroup, ipc, mnt, net, pid, uts") {
		t.Errorf("error %v should list the known kinds", err)
	}
}

func TestCloneFlags(t *testing.T) {
	got := CloneFlags([]Kind{PID, Mount, UTS})
	want := uintptr(unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWUTS)
	if got != want {
		t.Errorf("CloneFlags = %#x, want %#x", got, want)
	}
	if CloneFlags(nil) != 0 {
		t.Error("no kinds must give no flags")
	}
}

func TestFlagNames(t *testing.T) {
	tests := map[uintptr]string{
		0: "0",
		unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWUTS: "CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS",
		unix.CLONE_NEWNET | unix.CLONE_INTO_CGROUP:               "CLONE_NEWNET|CLONE_INTO_CGROUP",
		unix.CLONE_NEWIPC | 0x1:                                  "CLONE_NEWIPC|0x1",
	}
	for in, want := range tests {
		if got := FlagNames(in); got != want {
			t.Errorf("FlagNames(%#x) = %q, want %q", in, got, want)
		}
	}
}

func TestValidHostname(t *testing.T) {
	if err := ValidHostname(strings.Repeat("a", 64)); err != nil {
		t.Errorf("64 bytes must be fine: %v", err)
	}
	if err := ValidHostname(strings.Repeat("a", 65)); err == nil {
		t.Error("65 bytes must be refused")
	}
	if err := ValidHostname(""); err == nil {
		t.Error("empty must be refused")
	}
	for _, bad := range []string{"lab\nroot", "a b", "tab\there", "x/y", "\x00"} {
		if err := ValidHostname(bad); err == nil {
			t.Errorf("%q must be refused", bad)
		}
	}
	if err := ValidHostname("web-1.lab_a"); err != nil {
		t.Errorf("a DNS-like name must pass: %v", err)
	}
}

func kindsToStrings(k []Kind) []string {
	var s []string
	for _, x := range k {
		s = append(s, string(x))
	}
	return s
}
