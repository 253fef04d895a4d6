package box

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/internal/capnames"
	"github.com/pbox-dev/pbox/namespaces"
	"github.com/pbox-dev/pbox/oci"
	"github.com/pbox-dev/pbox/seccomp"
	"golang.org/x/sys/unix"
)

// loadFixture reads a config.json containerd 1.6 wrote for
// `ctr run --memory-limit 33554432 ... t3 sleep 1000` (captured with a
// wrapper around runc), so the translation is tested on what the real
// peer sends.
func loadFixture(t *testing.T) *specs.Spec {
	t.Helper()
	spec, err := LoadSpec(dirWith(t, "testdata/containerd-1.6-config.json"))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func dirWith(t *testing.T, config string) string {
	t.Helper()
	data, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestTranslateContainerdConfig(t *testing.T) {
	b, err := (Store{}).Translate(loadFixture(t), "/bundle", "t3")
	if err != nil {
		t.Fatal(err)
	}
	c, o := b.Config, b.Options
	if strings.Join(c.Args, " ") != "sleep 1000" || c.Cwd != "/" || !c.NoNewPrivileges {
		t.Errorf("process: %+v", c)
	}
	want := []namespaces.Kind{namespaces.PID, namespaces.IPC, namespaces.UTS, namespaces.Mount, namespaces.Net}
	if len(c.Namespaces) != len(want) {
		t.Errorf("namespaces %v, want %v", c.Namespaces, want)
	}
	for _, k := range want {
		if !namespaces.Has(c.Namespaces, k) {
			t.Errorf("namespace %s missing from %v", k, c.Namespaces)
		}
	}
	if o.Limits.MemoryBytes != 33554432 || o.Limits.CPUShares != 1024 {
		t.Errorf("limits %+v", o.Limits)
	}
	if len(o.Limits.Devices) != 22 || o.Limits.Devices[0].String() != "a" || o.Limits.Devices[0].Allow {
		t.Errorf("device rules %v; want pbox's deny-all first, the config's deny-all and 9 allows, then mknod and the 9 standard nodes", o.Limits.Devices)
	}
	if got := o.Limits.Devices[9].String(); got != "c 136:* rwm" {
		t.Errorf("pts rule %q", got)
	}
	if o.CgroupParent != "default" || o.CgroupName != "t3" {
		t.Errorf("cgroup %s/%s; want default/t3", o.CgroupParent, o.CgroupName)
	}
	if len(c.Capabilities) != 14 || len(c.Rlimits) != 1 || c.Rlimits[0].Soft != 1024 {
		t.Errorf("caps %v rlimits %v", c.Capabilities, c.Rlimits)
	}
	if b.Rootfs != "/bundle/rootfs" || len(b.Options.Filesystem.Mounts) != 7 || len(b.Options.Filesystem.MaskedPaths) == 0 {
		t.Errorf("filesystem %+v", b.Options.Filesystem)
	}
	if c.User == nil || len(c.User.Groups) != 1 {
		t.Errorf("user %+v; want uid 0 with additional gid 0", c.User)
	}
}

func TestTranslateContainerdExecProcess(t *testing.T) {
	data, err := os.ReadFile("testdata/containerd-1.6-exec-process.json")
	if err != nil {
		t.Fatal(err)
	}
	var p specs.Process
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	proc, _, err := TranslateProcess(&p)
	if err != nil {
		t.Fatal(err)
	}
	if proc.Args[0] != "ps" || len(proc.Capabilities) != 14 || !proc.NoNewPrivileges {
		t.Errorf("%+v", proc)
	}
}

func TestDefaultSpecTranslates(t *testing.T) {
	b, err := (Store{}).Translate(oci.DefaultSpec(), "/b", "x")
	if err != nil {
		t.Fatal(err)
	}
	if b.Config.Hostname != "pbox" || len(b.Config.Capabilities) != 3 || b.Options.CgroupParent != "pbox" {
		t.Errorf("%+v", b.Config)
	}
}

// Every unsupported or invalid field is refused, and the error names it.
func TestTranslateRefusesByName(t *testing.T) {
	i64 := func(n int64) *int64 { return &n }
	tests := []struct {
		name        string
		edit        func(*specs.Spec)
		want        string
		unsupported bool
	}{
		{"seccomp without an action", func(s *specs.Spec) { s.Linux.Seccomp = &specs.LinuxSeccomp{} }, "linux.seccomp.defaultAction", false},
		{"seccomp notify", func(s *specs.Spec) { s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActNotify} }, "needs a listener", true},
		{"seccomp bad syscall", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"nosuchcall"}, Action: specs.ActErrno}}}
		}, `linux.seccomp.syscalls[0].names: unknown syscall "nosuchcall"`, false},
		{"host sysctl", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"kernel.printk_ratelimit": "5"} }, "not in a separate kernel namespace", false},
		{"net sysctl without a net ns", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
			var kept []specs.LinuxNamespace
			for _, ns := range s.Linux.Namespaces {
				if ns.Type != specs.NetworkNamespace {
					kept = append(kept, ns)
				}
			}
			s.Linux.Namespaces = kept
		}, `linux.sysctl "net.ipv4.ip_forward": needs a net namespace`, false},
		{"net sysctl in the host's net ns by path", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
			for i, ns := range s.Linux.Namespaces {
				if ns.Type == specs.NetworkNamespace {
					s.Linux.Namespaces[i].Path = "/proc/self/ns/net"
				}
			}
		}, "needs a net namespace", false},
		{"user ns without maps", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		}, "uidMappings", false},
		{"joining a user ns", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/1/ns/user"})
		}, "linux.namespaces[5]: user with a path", true},
		{"uid maps without a user ns", func(s *specs.Spec) { s.Linux.UIDMappings = []specs.LinuxIDMapping{{Size: 1}} }, "uidMappings", false},
		{"apparmor", func(s *specs.Spec) { s.Process.ApparmorProfile = "x" }, "process.apparmorProfile", true},
		{"username", func(s *specs.Spec) { s.Process.User.Username = "bob" }, "process.user.username", true},
		{"cpu idle 2", func(s *specs.Spec) { i := int64(2); s.Linux.Resources.CPU.Idle = &i }, "linux.resources.cpu.idle 2", false},
		{"swappiness 101", func(s *specs.Spec) { v := uint64(101); s.Linux.Resources.Memory.Swappiness = &v }, "swappiness 101", false},
		{"no memory hierarchy", func(s *specs.Spec) { f := false; s.Linux.Resources.Memory.UseHierarchy = &f }, "useHierarchy false", true},
		{"hugepage size", func(s *specs.Spec) { s.Linux.Resources.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2XB"}} }, "hugepageLimits[0].pageSize", false},
		{"unified cgroup.procs", func(s *specs.Spec) { s.Linux.Resources.Unified = map[string]string{"cgroup.procs": "1"} }, "linux.resources.unified", false},
		{"swap below the limit", func(s *specs.Spec) { s.Linux.Resources.Memory.Swap = i64(1 << 20) }, "below memory.limit", false},
		{"bad systemd cgroup", func(s *specs.Spec) { s.Linux.CgroupsPath = "system:pbox:x" }, "linux.cgroupsPath", false},
		{"inheritable beyond bounding", func(s *specs.Spec) { s.Process.Capabilities.Inheritable = []string{"CAP_SYS_ADMIN"} }, "capabilities.inheritable: CAP_SYS_ADMIN is not in the bounding set", false},
		{"bad effective cap", func(s *specs.Spec) { s.Process.Capabilities.Effective = []string{"CAP_NOPE"} }, "capabilities.effective", false},
		{"bad cap", func(s *specs.Spec) { s.Process.Capabilities.Bounding = []string{"CAP_NOPE"} }, "CAP_NOPE", false},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "tmp" }, "process.cwd", false},
		{"no args", func(s *specs.Spec) { s.Process.Args = nil }, "process.args", false},
		{"bad rlimit", func(s *specs.Spec) { s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_X"}} }, "rlimits[0].type", false},
		{"no mount ns, mounts", func(s *specs.Spec) { s.Linux.Namespaces = s.Linux.Namespaces[:1]; s.Root.Path = "/" }, "mounts: needs a mount namespace", false},
		{"version", func(s *specs.Spec) { s.Version = "2.0.0" }, "ociVersion", false},
		{"relative hook", func(s *specs.Spec) { s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "x"}}} }, "hooks.poststop[0].path", false},
		{"device type", func(s *specs.Spec) { s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Type: "z"}} }, "devices[0].type", false},
		{"cgroup escape", func(s *specs.Spec) { s.Linux.CgroupsPath = "/a/../../b" }, "cgroupsPath", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := loadFixture(t)
			tt.edit(spec)
			_, err := (Store{}).Translate(spec, "/b", "x")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v; want one naming %q", err, tt.want)
			}
			if tt.unsupported != (errors.Is(err, ErrUnsupported) || errors.Is(err, seccomp.ErrUnsupported)) {
				t.Errorf("errors.Is(ErrUnsupported) = %v for %v", !tt.unsupported, err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := LoadSpec(t.TempDir()); err == nil || !strings.Contains(err.Error(), "pbox spec") {
		t.Errorf("missing config.json: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"ociVersion": 1`), 0o644)
	if _, err := LoadSpec(dir); err == nil || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("bad JSON: %v", err)
	}
}

func TestCgroupPath(t *testing.T) {
	for _, tt := range []struct{ in, parent, name string }{
		{"", "", ""}, {"/default/t3", "default", "t3"}, {"a/b/c", "a/b", "c"}, {"/k8s/pod1/ctr/", "k8s/pod1", "ctr"},
		{"/top", "", "top"}, // at the top of each hierarchy, as runc allows
		{"kubepods-pod1.slice:cri-containerd:ab", "kubepods.slice/kubepods-pod1.slice", "cri-containerd-ab.scope"},
	} {
		p, n, err := cgroupPath(tt.in)
		if err != nil || p != tt.parent || n != tt.name {
			t.Errorf("cgroupPath(%q) = %q %q %v; want %q %q", tt.in, p, n, err, tt.parent, tt.name)
		}
	}
	for _, bad := range []string{"slice:a:b", "a.slice:b", "/a/../b", "/"} {
		if _, _, err := cgroupPath(bad); err == nil {
			t.Errorf("cgroupPath(%q) accepted", bad)
		}
	}
}

// As runc: root's effective and permitted sets are accepted whatever they
// say (exec gives root its bounding and inheritable sets), and the five
// sets are kept as the config gives them.
func TestFiveCapabilitySets(t *testing.T) {
	spec := oci.DefaultSpec()
	c := spec.Process.Capabilities
	c.Effective, c.Permitted = []string{"CAP_KILL"}, nil
	c.Inheritable, c.Ambient = []string{"CAP_KILL", "CAP_AUDIT_WRITE"}, []string{"CAP_KILL"}
	b, err := (Store{}).Translate(spec, "/b", "x")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Config.Capabilities) != 3 || len(b.Config.Inheritable) != 2 || len(b.Config.Ambient) != 1 || b.Config.Ambient[0] != unix.CAP_KILL {
		t.Errorf("bounding %v inheritable %v ambient %v", b.Config.Capabilities, b.Config.Inheritable, b.Config.Ambient)
	}
	// A capability pbox lacks (if this pbox lacks one) is refused by name.
	held := map[int]bool{}
	for _, v := range heldCapabilities() {
		held[v] = true
	}
	for v, name := range capnames.Names {
		if name != "" && !held[v] {
			c.Bounding = append(c.Bounding, name)
			if _, err := (Store{}).Translate(spec, "/b", "x"); err == nil || !strings.Contains(err.Error(), name+": pbox does not hold it") {
				t.Errorf("%s, which pbox lacks: %v", name, err)
			}
			break
		}
	}
}

// `runc spec` and `crun spec` write ambient capabilities without an
// inheritable set, which the kernel will not raise: as runc, pbox runs the
// config, leaves them out and warns, for create and for exec --process.
func TestAmbientNotInheritableIsWarnedAndSkipped(t *testing.T) {
	spec := oci.DefaultSpec()
	c := spec.Process.Capabilities
	c.Inheritable, c.Ambient = []string{"CAP_KILL"}, []string{"CAP_KILL", "CAP_AUDIT_WRITE"}
	b, err := (Store{}).Translate(spec, "/b", "x")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Config.Ambient) != 1 || b.Config.Ambient[0] != unix.CAP_KILL {
		t.Errorf("ambient %v, want CAP_KILL alone", b.Config.Ambient)
	}
	if len(b.Warnings) != 1 || !strings.Contains(b.Warnings[0], "process.capabilities.ambient: CAP_AUDIT_WRITE is not raised") {
		t.Errorf("warnings %q", b.Warnings)
	}
	p, warnings, err := TranslateProcess(spec.Process)
	if err != nil || len(p.Ambient) != 1 || len(warnings) != 1 {
		t.Errorf("exec --process: ambient %v, warnings %q, err %v", p.Ambient, warnings, err)
	}
}

// As runc: without a mount namespace a root.path other than / is not used
// (the box keeps the host's /), and a warning says so.
func TestNoMountNamespaceIgnoresTheRoot(t *testing.T) {
	spec := loadFixture(t)
	spec.Linux.Namespaces = spec.Linux.Namespaces[:1]
	spec.Mounts, spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths, spec.Linux.Devices, spec.Root.Readonly = nil, nil, nil, nil, false
	spec.Linux.Sysctl = nil
	b, err := (Store{}).Translate(spec, "/b", "x")
	if err != nil || b.Options.Filesystem != nil || b.Rootfs != "" || len(b.Warnings) != 1 || !strings.Contains(b.Warnings[0], `root.path "rootfs" is not used`) {
		t.Errorf("%v %+v", err, b)
	}
}

func TestNonRootCapabilitiesComeFromAmbient(t *testing.T) {
	spec := oci.DefaultSpec()
	spec.Process.User.UID = 1000
	// containerd's config for a runAsUser container (issue 21): the
	// default set as effective and permitted, no ambient. runc runs it,
	// and exec leaves the user no capability; so does pbox.
	b, err := (Store{}).Translate(spec, "/b", "x")
	if err != nil || len(b.Config.Ambient) != 0 {
		t.Errorf("non-root with effective caps but no ambient: %v", err)
	}
	c := spec.Process.Capabilities
	c.Ambient, c.Inheritable = c.Bounding, c.Bounding
	b, err = (Store{}).Translate(spec, "/b", "x")
	if err != nil || len(b.Config.Ambient) != 3 {
		t.Errorf("non-root with ambient: %v %+v", err, b)
	}
}

func TestUserNamespaceWithMaps(t *testing.T) {
	spec := oci.DefaultSpec()
	spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	b, err := (Store{}).Translate(spec, "/b", "x")
	if err != nil {
		t.Fatal(err)
	}
	if !namespaces.Has(b.Config.Namespaces, namespaces.User) || len(b.Options.UIDMappings) != 1 || b.Options.UIDMappings[0].HostID != 100000 {
		t.Errorf("user namespace: %v %+v", b.Config.Namespaces, b.Options.UIDMappings)
	}
}

// memory.swap is memory plus swap (runc's meaning); reservation, cpus and
// mems reach the limits.
func TestMergeResourcesSwapReservationCpuset(t *testing.T) {
	var lim cgroups.Limits
	_, err := MergeResources(&lim, &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(64 << 20)), Swap: ptr(int64(128 << 20)), Reservation: ptr(int64(32 << 20))},
		CPU:    &specs.LinuxCPU{Cpus: "0", Mems: "0"},
	})
	if err != nil || lim.MemoryBytes != 64<<20 || lim.SwapBytes != 128<<20 || lim.MemoryReservation != 32<<20 || lim.CpusetCpus != "0" || lim.CpusetMems != "0" {
		t.Errorf("%+v %v", lim, err)
	}
	for swap, want := range map[int64]int64{-1: -1, 64 << 20: 0} {
		lim = cgroups.Limits{}
		if _, err := MergeResources(&lim, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(64 << 20)), Swap: ptr(swap)}}); err != nil || lim.SwapBytes != want {
			t.Errorf("swap %d: %+v %v, want SwapBytes %d", swap, lim, err, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestMergeResourcesPidsFloor(t *testing.T) {
	var lim cgroups.Limits
	if _, err := MergeResources(&lim, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(50))}}); err != nil || lim.PidsMax != 50 {
		t.Errorf("pids 50: %+v %v", lim, err)
	}
	// pbox-init and COMMAND: two pids at least (the init has one thread).
	if _, err := MergeResources(&lim, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(2))}}); err != nil || lim.PidsMax != 2 {
		t.Errorf("pids 2: %+v %v", lim, err)
	}
	_, err := MergeResources(&lim, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(1))}})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.pids.limit 1") || lim.PidsMax != 2 {
		t.Errorf("pids 1: %+v %v: want a refusal naming the field, nothing changed", lim, err)
	}
}

// Docker sends linux.resources.blockIO {"weight": 0} with every container:
// runc reads 0 as unset, and so does pbox (issue 21: docker run through
// pbox failed at create). A real weight reaches the limits; one out of
// the kernel's range is refused by name.
func TestBlockIOWeightZeroIsUnset(t *testing.T) {
	zero, ten, big := uint16(0), uint16(10), uint16(2000)
	s := oci.DefaultSpec()
	s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{Weight: &zero, LeafWeight: &zero}
	b, err := (Store{}).Translate(s, "/b", "x")
	if err != nil || b.Options.Limits.BlkioWeight != 0 {
		t.Errorf("blockIO weight 0: %v", err)
	}
	s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{Weight: &ten,
		ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 7, Minor: 0}, Rate: 1 << 20}}}
	if b, err = (Store{}).Translate(s, "/b", "x"); err != nil || b.Options.Limits.BlkioWeight != 10 || len(b.Options.Limits.BlkioThrottle) != 1 {
		t.Errorf("blockIO weight 10 and a throttle: %v %+v", err, b)
	}
	s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{Weight: &big}
	if _, err := (Store{}).Translate(s, "/b", "x"); err == nil || !strings.Contains(err.Error(), "linux.resources.blockIO.weight 2000") {
		t.Errorf("blockIO weight 2000: %v", err)
	}
}

// As crun: linux.mountLabel where SELinux is off is accepted, with a
// warning; linux.intelRdt is refused with why.
func TestMountLabelAndIntelRdt(t *testing.T) {
	spec := loadFixture(t)
	spec.Linux.MountLabel = "system_u:object_r:container_file_t:s0"
	b, err := (Store{}).Translate(spec, "/b", "x")
	if selinuxEnabled() {
		if err == nil || !strings.Contains(err.Error(), "linux.mountLabel") {
			t.Errorf("SELinux on: %v", err)
		}
	} else if err != nil || len(b.Warnings) != 1 || !strings.Contains(b.Warnings[0], "linux.mountLabel") {
		t.Errorf("SELinux off: %v %+v", err, b)
	}
	spec = loadFixture(t)
	spec.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "x"}
	if _, err := (Store{}).Translate(spec, "/b", "x"); err == nil || !strings.Contains(err.Error(), "resctrl") {
		t.Errorf("intelRdt: %v", err)
	}
}

// Under --systemd-cgroup a box's cgroup is a scope, named as runc's
// systemd driver names it; a cgroupfs path is refused with runc's words.
func TestTranslateSystemdCgroup(t *testing.T) {
	s := Store{Root: DefaultStateRoot, SystemdCgroup: true}
	for _, tt := range []struct{ path, parent, name string }{
		{"", "system.slice", "pbox-web.scope"},
		{"kubepods-besteffort-pod1.slice:cri-containerd:ab", "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice", "cri-containerd-ab.scope"},
	} {
		spec := oci.DefaultSpec()
		spec.Linux.CgroupsPath = tt.path
		b, err := s.Translate(spec, "/b", "web")
		if err != nil || b.Options.CgroupParent != tt.parent || b.Options.CgroupName != tt.name || !b.Options.SystemdScope {
			t.Errorf("cgroupsPath %q: %+v, %v; want %s/%s as a scope", tt.path, b.Options, err, tt.parent, tt.name)
		}
	}
	spec := oci.DefaultSpec()
	spec.Linux.CgroupsPath = "/pbox/web"
	if _, err := s.Translate(spec, "/b", "web"); err == nil || !strings.Contains(err.Error(), `expected cgroupsPath to be of format "slice:prefix:name"`) {
		t.Errorf("a cgroupfs path under --systemd-cgroup: %v", err)
	}
	// Without the flag nothing is a scope, whatever the path's form.
	spec.Linux.CgroupsPath = "system.slice:pbox:web"
	if b, err := (Store{}).Translate(spec, "/b", "web"); err != nil || b.Options.SystemdScope {
		t.Errorf("systemd form without --systemd-cgroup: %+v, %v", b.Options, err)
	}
}
