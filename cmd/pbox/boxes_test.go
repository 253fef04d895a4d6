package main

import (
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
