// Package vmlane holds no code, only the cgroup v2 test lane: a test that
// builds pbox and its test binaries statically and runs them inside a
// throw-away pure cgroup v2 VM (../shared/vm/vm-run), because the
// development and CI hosts are cgroup v1/v2 hybrids and most users run v2.
//
// What the VM cannot carry is tested on the host only, and the lane says
// which in its skip list: the network tests (pbox run --network) need the
// CNI plugins, which Debian builds against libc, and iptables, neither of
// which the busybox VM has; containerd (and so its CRI) and podman;
// script(1); the man pages and the tiny init's rebuild (no C compiler).
package vmlane
