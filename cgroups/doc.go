// Package cgroups puts a box under resource limits on cgroup v1, hybrid and
// v2 hosts, writing cgroupfs itself. Of github.com/containerd/cgroups/v3
// it uses only Mode (which layout the host has). Its controller packages
// (cgroup1, cgroup2) were measured and left out: importing them makes an
// empty static program 9.8 MB (protobuf, logrus, ebpf and dbus come with
// them) and adds 0.55-0.7 ms of package initialisation to every process
// that links them, as much again as all of pbox's own package init — and
// pbox's Go init and monitor are such processes on every start.
//
// A box gets one cgroup, <parent>/<name>, in every hierarchy it needs:
//
//   - v2 (unified): one directory; the parent's cgroup.subtree_control gets
//     the controllers the limits need. Its directory fd is what the caller
//     passes to clone3(CLONE_INTO_CGROUP), so the box's first instruction
//     already runs inside the limits.
//   - v1 and hybrid: every mounted v1 hierarchy, as runc does (v1.go): a
//     hierarchy the box never joined would leave it in the caller's
//     cgroup there, and its cgroup namespace rooted at it. The caller
//     forks the box from a thread that joined them (JoinThread), so the
//     box is born in them (~0.4 ms for nine hierarchies on the
//     development host); a hybrid host's cgroup2 tree tracks the box and
//     takes CLONE_INTO_CGROUP as on v2.
//
// After the box exits, OOMKills reads the kernel's OOM-kill counter; it has
// to be called before Destroy, which kills whatever is still inside and
// removes the directories. Every limit is read back after it is written: a
// limit the kernel did not take is an error, never a silent no-op.
//
// Boxes that outlive the pbox that made them (run -d, create) keep their
// cgroup in their state: Save and Reopen carry it between processes, for
// Freeze (pause, with cgroup2's cgroup.freeze), Update (new limits for the
// controllers a box has), Stats, Kill and Destroy. Device rules (OCI
// linux.resources.devices) are written to the v1 devices controller, and
// on a pure v2 host compiled into an eBPF device filter attached to the
// box's cgroup (devicefilter.go).
//
// Files: cgroup.go (the types, the layout, path rules), create.go (Create:
// directories, controllers, the parent lock), resources.go (limits written
// and verified; Procs, OOMKills), one file per controller for its files on
// v1 and v2 (memory.go, cpu.go with cpuset, pids.go), teardown.go (Kill, Destroy, and
// RemoveLeftover for pbox cleanup, which sweeps only the cgroups pbox
// marked), live.go (a box's cgroup across processes), v1.go,
// devicefilter.go.
//
// scope.go makes a box's cgroup a systemd scope under --systemd-cgroup
// (pbox still writes cgroupfs; systemd adopts the directory and is told
// the limits it would otherwise overwrite).
//
// Not for: finding the subtree delegated to an ordinary user (box does,
// in rootless.go; this package writes where it is told).
package cgroups
