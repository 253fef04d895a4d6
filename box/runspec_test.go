package box

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pbox-dev/pbox/namespaces"
	"golang.org/x/sys/unix"
)

func TestPlanRunDefaults(t *testing.T) {
	cfg, opt, err := (Store{}).PlanRun(RunRequest{Namespaces: "pid,mnt,uts", CgroupParent: "pbox", Args: []string{"sleep", "1"}}, []string{"PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	if ValidID(cfg.Name) != nil || !strings.HasPrefix(cfg.Name, "pbox-") || len(cfg.Name) != len("pbox-")+6 {
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

func TestPlanRunLimits(t *testing.T) {
	_, opt, err := (Store{}).PlanRun(RunRequest{Namespaces: "pid,mnt,uts", CgroupParent: "pbox", Memory: "64M", CPUs: "0.5", Pids: "50", Args: []string{"sh"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if opt.Limits.MemoryBytes != 64<<20 || opt.Limits.CPUQuota != 50000 || opt.Limits.CPUPeriod != 100000 || opt.Limits.PidsMax != 50 {
		t.Errorf("limits %+v", opt.Limits)
	}
}

func TestPlanRunRejects(t *testing.T) {
	ok := RunRequest{Namespaces: "pid,mnt,uts", CgroupParent: "pbox", Args: []string{"sh"}}
	tests := []struct {
		edit func(*RunRequest)
		want string
	}{
		{func(f *RunRequest) { f.Args = nil }, "no COMMAND"},
		{func(f *RunRequest) { f.Memory = "12XB" }, "--memory"},
		{func(f *RunRequest) { f.Memory = "0" }, "--memory"},
		{func(f *RunRequest) { f.CPUs = "-1" }, "--cpus"},
		{func(f *RunRequest) { f.Pids = "0" }, "--pids-limit"},
		{func(f *RunRequest) { f.Namespaces = "pid,mnt,foo" }, `unknown namespace "foo"`},
		{func(f *RunRequest) { f.Namespaces = "pid" }, "add mnt"},
		{func(f *RunRequest) { f.Hostname = strings.Repeat("h", 65) }, "at most 64"},
		{func(f *RunRequest) { f.Namespaces = "pid,mnt"; f.Hostname = "lab" }, "add uts"},
		{func(f *RunRequest) { f.Name = "../etc" }, "--name"},
		{func(f *RunRequest) { f.Name = strings.Repeat("n", 65) }, "--name"},
		{func(f *RunRequest) { f.CgroupParent = "../x" }, "--cgroup-parent"},
		{func(f *RunRequest) { f.Env = []string{"=VALUE"} }, "KEY=VALUE"},
	}
	for _, tt := range tests {
		f := ok
		tt.edit(&f)
		_, _, err := (Store{}).PlanRun(f, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err %v, want it to mention %q", f, err, tt.want)
		}
	}
}

func TestNameRulesAreTheStateStore(t *testing.T) {
	// --name is a box id: the same rule as ValidID (tested there).
	for _, bad := range []string{"-a", "a/b", strings.Repeat("x", 65)} {
		if _, _, err := (Store{}).PlanRun(RunRequest{Name: bad, Namespaces: "pid,mnt,uts", CgroupParent: "pbox", Args: []string{"true"}}, nil); err == nil {
			t.Errorf("--name %q accepted", bad)
		}
	}
}

func TestMergeEnv(t *testing.T) {
	env, err := MergeEnv([]string{"A=1", "B=2"}, []string{"B=3", "C=4,5", "HOME", "UNSET"}, []string{"HOME=/root"})
	if err != nil || strings.Join(env, " ") != "A=1 B=3 C=4,5 HOME=/root" {
		t.Errorf("env %v err %v: -e KEY takes the caller's, and is left out if unset (docker)", env, err)
	}
	if _, err := MergeEnv(nil, []string{"=x"}, nil); err == nil {
		t.Error("-e =x accepted")
	}
}

func TestPlanRunDockerHabits(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	os.WriteFile(envFile, []byte("# comment\n\nA=from-file\nB=1\nHOME\n"), 0o644)
	base := RunRequest{Namespaces: "pid,mnt,uts", CgroupParent: "pbox", Args: []string{"sh"}}
	f := base
	f.EnvFiles, f.Env = []string{envFile}, []string{"B=2"}
	cfg, _, err := (Store{}).PlanRun(f, []string{"HOME=/home/me", "A=caller"})
	if err != nil || strings.Join(cfg.Env, " ") != "HOME=/home/me A=from-file B=2" {
		t.Errorf("--env-file then -e: %v %v", cfg.Env, err)
	}
	os.WriteFile(envFile, []byte("A=1\nNOPE\n"), 0o644)
	if _, _, err := (Store{}).PlanRun(f, nil); err == nil || !strings.Contains(err.Error(), envFile+":2: NOPE has no '='") {
		t.Errorf("a line without = and no such variable: %v", err)
	}
	f = base
	f.Network = "none"
	if cfg, _, err := (Store{}).PlanRun(f, nil); err != nil || !namespaces.Has(cfg.Namespaces, namespaces.Net) {
		t.Errorf("--network none: %v %v", cfg.Namespaces, err)
	}
	f.Network = "host"
	if cfg, _, err := (Store{}).PlanRun(f, nil); err != nil || namespaces.Has(cfg.Namespaces, namespaces.Net) {
		t.Errorf("--network host: %v %v", cfg.Namespaces, err)
	}
	f.Namespaces = "pid,mnt,uts,net"
	if _, _, err := (Store{}).PlanRun(f, nil); err == nil {
		t.Error("--network host with net in --ns accepted")
	}
	f = base
	f.Network = "no-such-network"
	if _, _, err := (Store{}).PlanRun(f, nil); err == nil || !strings.Contains(err.Error(), "no such network") {
		t.Errorf("--network no-such-network: %v", err)
	}
	f.Network, f.Ports = "host", []string{"8080:80"}
	if _, _, err := (Store{}).PlanRun(f, nil); err == nil || !strings.Contains(err.Error(), "needs a CNI network") {
		t.Errorf("-p with --network host: %v", err)
	}
	f = base
	f.TTY, f.NoInit = true, true
	if _, _, err := (Store{}).PlanRun(f, nil); err == nil {
		t.Error("-t --no-init accepted")
	}
	f = base
	f.User = "0:0"
	if cfg, _, err := (Store{}).PlanRun(f, nil); err != nil || (cfg.User != nil && cfg.User.UID != 0) {
		t.Errorf("-u 0:0: %+v %v", cfg.User, err)
	}
}

func TestPlanRunFilesystemAndCapabilities(t *testing.T) {
	base := RunRequest{Namespaces: "pid,mnt,uts", CgroupParent: "pbox", Rootfs: "/srv/root"}
	cfg, opt, err := (Store{}).PlanRun(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Args[0] != "/bin/sh" || opt.Filesystem.Root != "/srv/root" {
		t.Errorf("with --rootfs and no COMMAND: args %v root %q", cfg.Args, opt.Filesystem.Root)
	}
	has := func(caps []int, c int) bool { return slices.Contains(caps, c) }
	if len(cfg.Capabilities) != len(DefaultCapabilities)-1 || has(cfg.Capabilities, unix.CAP_NET_RAW) {
		t.Errorf("--rootfs on the host's network keeps Docker's default set but NET_RAW: %v", cfg.Capabilities)
	}
	none := base
	none.Network = "none"
	if cfg, _, err := (Store{}).PlanRun(none, nil); err != nil || len(cfg.Capabilities) != len(DefaultCapabilities) || !has(cfg.Capabilities, unix.CAP_NET_RAW) {
		t.Errorf("--network none keeps Docker's default set, NET_RAW included: %v %v", cfg.Capabilities, err)
	}
	back := base
	back.CapAdd = []string{"NET_RAW"}
	if cfg, _, _ := (Store{}).PlanRun(back, nil); !has(cfg.Capabilities, unix.CAP_NET_RAW) {
		t.Errorf("--cap-add NET_RAW gives it back: %v", cfg.Capabilities)
	}
	f := base
	f.Args = []string{"sh"}
	a, c := t.TempDir(), t.TempDir()
	f.Volumes = []string{a + ":/b:ro", c + ":/d"}
	f.Tmpfs = []string{"/tmp:size=64M"}
	f.CapDrop = []string{"ALL"}
	f.CapAdd = []string{"net_admin"}
	_, opt, err = (Store{}).PlanRun(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	// After the runtime-spec's default mounts: the volumes, the tmpfs.
	m := opt.Filesystem.Mounts
	if len(m) < 3 {
		t.Fatalf("mounts %+v", m)
	}
	v, tmp := m[len(m)-3:len(m)-1], m[len(m)-1]
	if v[0].Source != a || v[0].Target != "/b" || !slices.Contains(v[0].Options, "ro") || slices.Contains(v[1].Options, "ro") ||
		v[1].Target != "/d" || tmp.Type != "tmpfs" || !slices.Contains(tmp.Options, "size=64M") {
		t.Errorf("mounts %+v", m)
	}
	cfg, _, _ = (Store{}).PlanRun(f, nil)
	if len(cfg.Capabilities) != 1 || cfg.Capabilities[0] != 12 {
		t.Errorf("--cap-drop ALL --cap-add NET_ADMIN: %v", cfg.Capabilities)
	}
	plain, _, _ := (Store{}).PlanRun(RunRequest{Namespaces: "pid,mnt,uts", CgroupParent: "pbox", Args: []string{"sh"}}, nil)
	if !slices.Equal(plain.Capabilities, heldCapabilities()) || plain.NoNewPrivileges {
		t.Errorf("without --rootfs or capability flags the box keeps what pbox holds: %v", plain.Capabilities)
	}
	priv := base
	priv.Privileged = true
	cfg, _, _ = (Store{}).PlanRun(priv, nil)
	if len(cfg.Capabilities) != len(heldCapabilities()) {
		t.Errorf("--privileged keeps all: %d", len(cfg.Capabilities))
	}
	for _, bad := range []RunRequest{
		{Namespaces: "pid,mnt,uts", CgroupParent: "p", Args: []string{"sh"}, Volumes: []string{"/a"}},
		{Namespaces: "pid,mnt,uts", CgroupParent: "p", Args: []string{"sh"}, Volumes: []string{"/a:b"}},
		{Namespaces: "pid,mnt,uts", CgroupParent: "p", Args: []string{"sh"}, Volumes: []string{"/a:/b:xx"}},
		{Namespaces: "pid,mnt,uts", CgroupParent: "p", Args: []string{"sh"}, Tmpfs: []string{"tmp"}},
		{Namespaces: "pid,mnt,uts", CgroupParent: "p", Args: []string{"sh"}, CapAdd: []string{"CAP_BOGUS"}},
		{Namespaces: "uts", CgroupParent: "p", Args: []string{"sh"}, Rootfs: "/x"},
	} {
		if _, _, err := (Store{}).PlanRun(bad, nil); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
