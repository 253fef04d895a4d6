package oci

import (
	"sort"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/pbox-dev/pbox/internal/capnames"
	"github.com/pbox-dev/pbox/rootfs"
	"github.com/pbox-dev/pbox/seccomp"
)

// Version is the runtime-spec version pbox writes and reports (in state,
// and to hooks), as runc 1.1 reports it.
const Version = "1.0.2"

// DefaultSpec is what `pbox spec` writes, after `runc spec`: a rootfs
// directory "rootfs", read-only, new pid/net/ipc/uts/mount namespaces,
// the three capabilities runc keeps, the standard mounts, masked and
// read-only paths, a read-only /sys/fs/cgroup of the box's own cgroup
// namespace, and runc's "deny every device" rule (the box's /dev nodes
// are made before it applies). Unlike runc's, it asks for no terminal (so
// create and start work from a script without a console socket).
func DefaultSpec() *specs.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	var mounts []specs.Mount
	for _, m := range rootfs.DefaultMounts() {
		mounts = append(mounts, specs.Mount{Destination: m.Target, Type: m.Type, Source: m.Source, Options: m.Options})
	}
	return &specs.Spec{
		Version: Version,
		Process: &specs.Process{
			Args: []string{"sh"},
			Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"},
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: "rootfs", Readonly: true},
		Hostname: "pbox",
		Mounts:   mounts,
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}, {Type: specs.CgroupNamespace},
			},
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			MaskedPaths:   append([]string(nil), rootfs.MaskedPaths...),
			ReadonlyPaths: append([]string(nil), rootfs.ReadOnlyPaths...),
		},
	}
}

// Features is what `pbox features` prints: what this pbox implements, in
// the runtime-spec's features format (containerd reads it).
func Features() features.Features {
	yes, no := true, false
	var caps []string
	for _, n := range capnames.Names {
		if n != "" {
			caps = append(caps, n)
		}
	}
	opts := rootfs.MountOptionNames()
	sort.Strings(opts)
	return features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: Version,
		Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
		MountOptions:  opts,
		Linux: &features.Linux{
			Namespaces:   []string{"cgroup", "ipc", "mount", "network", "pid", "user", "uts"},
			Capabilities: caps,
			Cgroup:       &features.Cgroup{V1: &yes, V2: &yes, Systemd: &yes, SystemdUser: &no, Rdma: &yes}, // systemd: --systemd-cgroup, cgroup v2 hosts
			Seccomp: &features.Seccomp{
				Enabled: &yes,
				Actions: []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
					"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"},
				Operators: []string{"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
					"SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"},
				Archs:          seccomp.Architectures(),
				KnownFlags:     []string{"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"},
				SupportedFlags: []string{"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"},
			},
			Apparmor: &features.Apparmor{Enabled: &no},
			Selinux:  &features.Selinux{Enabled: &no},
			IntelRdt: &features.IntelRdt{Enabled: &no},
		},
		Annotations: map[string]string{"org.opencontainers.runtime-spec.features.implementation": "pbox"},
	}
}
