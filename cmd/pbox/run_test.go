package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestBuildRunDefaults(t *testing.T) {
	cfg, opt, err := buildRun(runFlags{ns: "pid,mnt,uts", cgroupParent: "pbox", args: []string{"sleep", "1"}}, []string{"PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	if !validName(cfg.Name) || !strings.HasPrefix(cfg.Name, "pbox-") || len(cfg.Name) != len("pbox-")+6 {
		t.Errorf("generated name %q", cfg.Name)
	}
	if cfg.Hostname != cfg.Name {
		t.Errorf("hostname %q should default to the name %q", cfg.Hostname, cfg.Name)
	}
	if len(cfg.Namespaces) != 3 || cfg.Env[0] != "PATH=/bin" || opt.CgroupParent != "pbox" {
		t.Errorf("cfg %+v opt %+v", cfg, opt)
	}
	if opt.Limits.MemoryBytes != 0 || opt.Limits.CPUQuota != 0 || opt.Limits.PidsMax != 0 {
		t.Errorf("no limit flags must mean no limits: %+v", opt.Limits)
	}
}

func TestBuildRunLimits(t *testing.T) {
	_, opt, err := buildRun(runFlags{ns: "pid,mnt,uts", cgroupParent: "pbox", memory: "64M", cpus: "0.5", pids: "50", args: []string{"sh"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if opt.Limits.MemoryBytes != 64<<20 || opt.Limits.CPUQuota != 50000 || opt.Limits.CPUPeriod != 100000 || opt.Limits.PidsMax != 50 {
		t.Errorf("limits %+v", opt.Limits)
	}
}

func TestBuildRunRejects(t *testing.T) {
	ok := runFlags{ns: "pid,mnt,uts", cgroupParent: "pbox", args: []string{"sh"}}
	tests := []struct {
		edit func(*runFlags)
		want string
	}{
		{func(f *runFlags) { f.args = nil }, "no COMMAND"},
		{func(f *runFlags) { f.memory = "12XB" }, "--memory"},
		{func(f *runFlags) { f.memory = "0" }, "--memory"},
		{func(f *runFlags) { f.cpus = "-1" }, "--cpus"},
		{func(f *runFlags) { f.pids = "0" }, "--pids-limit"},
		{func(f *runFlags) { f.ns = "pid,mnt,foo" }, `unknown namespace "foo"`},
		{func(f *runFlags) { f.ns = "pid" }, "add mnt"},
		{func(f *runFlags) { f.hostname = strings.Repeat("h", 65) }, "at most 64"},
		{func(f *runFlags) { f.ns = "pid,mnt"; f.hostname = "lab" }, "add uts"},
		{func(f *runFlags) { f.name = "../etc" }, "--name"},
		{func(f *runFlags) { f.name = strings.Repeat("n", 65) }, "--name"},
		{func(f *runFlags) { f.cgroupParent = "../x" }, "--cgroup-parent"},
		{func(f *runFlags) { f.env = []string{"NOEQUALS"} }, "KEY=VALUE"},
	}
	for _, tt := range tests {
		f := ok
		tt.edit(&f)
		_, _, err := buildRun(f, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err %v, want it to mention %q", f, err, tt.want)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "web-1", "A.b_c", strings.Repeat("x", 64)} {
		if !validName(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "-a", ".a", "a/b", "a b", "..", strings.Repeat("x", 65), "é"} {
		if validName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMergeEnv(t *testing.T) {
	env, err := mergeEnv([]string{"A=1", "B=2"}, []string{"B=3", "C=4,5"})
	if err != nil || strings.Join(env, " ") != "A=1 B=3 C=4,5" {
		t.Errorf("env %v err %v", env, err)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{
		32 << 20: "32 MiB", 1 << 30: "1 GiB", 1536 << 20: "1.5 GiB", 100: "100 bytes", 4096: "4 KiB",
	} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// The command line's own errors: status 125, one "pbox:" line with a
// hint, no usage dump, no stack trace.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"pbox", "run", "--bogus", "x"}, "pbox: run: flag provided but not defined: -bogus: see 'pbox run --help'"},
		{[]string{"pbox", "run"}, "pbox: run: no COMMAND given"},
		{[]string{"pbox", "run", "--memory", "12XB", "true"}, "pbox: run: --memory:"},
		{[]string{"pbox", "frob"}, `pbox: unknown command "frob": see 'pbox --help'`},
		{[]string{"pbox", "--bogus"}, "pbox: flag provided but not defined: -bogus: see 'pbox --help'"},
		{[]string{"pbox", "cleanup", "extra"}, "pbox: cleanup: takes no arguments"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := runApp(tt.args, &out, &errOut)
		if code != statusUsage || !strings.HasPrefix(errOut.String(), tt.want) || strings.Count(errOut.String(), "\n") != 1 {
			t.Errorf("%q: status %d, stderr %q; want 125 and %q", tt.args, code, errOut.String(), tt.want)
		}
	}
}

func TestHelpShowsExamples(t *testing.T) {
	for _, args := range [][]string{{"pbox", "--help"}, {"pbox", "run", "--help"}, {"pbox", "cleanup", "--help"}} {
		var out, errOut bytes.Buffer
		if code := runApp(args, &out, &errOut); code != 0 || !strings.Contains(out.String(), "example: sudo pbox") {
			t.Errorf("%q: status %d, no example line in:\n%s", args, code, out.String())
		}
	}
}
