package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbox-dev/pbox/cgroups"
	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{
		"TERM": unix.SIGTERM, "SIGKILL": unix.SIGKILL, "hup": unix.SIGHUP, "9": unix.SIGKILL, "64": unix.Signal(64),
	} {
		if got, ok := parseSignal(in); !ok || got != want {
			t.Errorf("parseSignal(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "0", "65", "-1", "SIGNOPE", "TERM2"} {
		if _, ok := parseSignal(bad); ok {
			t.Errorf("parseSignal(%q) accepted", bad)
		}
	}
}

func TestLimitsText(t *testing.T) {
	if got := limitsText(cgroups.Limits{MemoryBytes: 64 << 20, CPUQuota: 50000, CPUPeriod: 100000, PidsMax: 20}); got != "memory=64 MiB cpus=0.5 pids=20" {
		t.Errorf("limitsText = %q", got)
	}
	if got := limitsText(cgroups.Limits{}); got != "-" {
		t.Errorf("no limits: %q", got)
	}
}

func TestSeekToLastLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	for _, tt := range []struct {
		content string
		n       int
		want    string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\nc\n", 5, "a\nb\nc\n"},
		{"a\nb\nc\n", 0, ""},
		{"", 3, ""},
		{strings.Repeat("x\n", 100000) + "last\n", 1, "last\n"},
	} {
		os.WriteFile(path, []byte(tt.content), 0o644)
		f, _ := os.Open(path)
		if err := seekToLastLines(f, tt.n); err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(f)
		f.Close()
		if string(rest) != tt.want {
			t.Errorf("last %d of %q: %q, want %q", tt.n, tt.content[:min(len(tt.content), 20)], rest, tt.want)
		}
	}
}
