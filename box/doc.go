// Package box is the lifecycle of one box: the parent side (Run for pbox
// run; Start, which returns once the box is up, for run -d's monitor and
// for pbox create), the init that runs as PID 1 inside the box (Init), the
// protocol between them (sync.go), the exit-status rules (status.go), the
// on-disk state of boxes that outlive one pbox process (state.go), and
// every later change to a box as one state machine (lifecycle.go: Handle
// and its transition table — start, signal, stop, pause, resume, update,
// stats, processes, exec, destroy with the poststop hooks), exec into a
// running box (exec.go) and OCI hooks (hooks.go). Every door's box is
// translated here, once: Translate (translate.go) checks an OCI
// config.json and turns it into Config and Options, and pbox run's flags
// become such a config first (runspec.go: RunRequest, RunSpec, PlanRun,
// and RunExtras, what a run adds beyond a config). marks.go keeps which
// cgroups a state root made, for pbox cleanup.
//
// The init is pbox itself, re-executed from /proc/self/exe with argv[0]
// "pbox-init", so `ps` inside the box shows what PID 1 is. It is cloned
// straight into its new namespaces (and, on cgroup v2, into its cgroup with
// CLONE_INTO_CGROUP), so no code of the box ever runs outside them. For
// pbox create it stops once everything is set up and waits on exec.fifo
// until pbox start. Once the box is built and confined, it hands PID 1
// over (handover.go) to a tiny static C program, tinyinit/tinyinit.c, run
// from a sealed memfd, which starts COMMAND, reaps and forwards signals;
// a detached box's monitor hands over to the same program (monitor.go).
//
// Why that split, measured on the development machine (a hybrid host,
// 2 cores; bench/RESULTS.md, `go run ./bench -start-only`, 2026-12-05):
//
//   - The Go init, PID 1 for the box's whole life (before the split):
//     6.5 MB RSS, 2.5 MB PSS, 9 threads, each a pid of the box's limit;
//     the Go monitor of a detached box 6.8 MB RSS, 2.9 MB PSS.
//   - Chosen — Go builds the box, the tiny init supervises it: 88 kB RSS
//     (84 kB PSS), one thread, no allocation, so no thread or page a fork
//     bomb could deny it; the monitor the same. The setup — mounts on
//     targets opened inside the root, OCI hooks, ptys, exec.fifo, the
//     user, seccomp — stays in one implementation, the Go one the
//     containment tests attack, and the C is a program a learner can read.
//   - A C init that also builds the box, so no second Go runtime starts:
//     the phase it would remove (clone, exec, the init's Go runtime and
//     package init, decoding the config, mounts) is ~4 of ~15 ms of `pbox
//     run -- true` (the -v timeline: 2.6 ms clone to the init's main, 1.4
//     ms config and mounts). Not taken yet: it means a second
//     implementation, in C, of everything security-critical the Go init
//     does; the joiner (below) is the first part of that plan executor.
//   - A raw-syscall child that never exec's (Go's ForkExec child): it can
//     only do what syscall.SysProcAttr offers — no mounts, no seccomp, no
//     keyring — so something must still exec.
//
// The tiny init is built by tinyinit/build.sh (go generate ./box; musl,
// byte for byte, checked in CI) and carried for amd64; elsewhere, or if
// its exec fails, the Go init stays PID 1 (superviseLoop) and the Go
// monitor stays the monitor. Config.GoSupervisor chooses them on purpose,
// which the tests do to keep both covered.
//
// Handle.Exec joins a running box through the joiner (joiner.go), the
// "pbox-exec" mode of the same tiny C program: single-threaded, it
// setns'es into the box, forks into it and runs a plan made in Go
// (working directory, keyring, bounding set, seccomp, user), so no
// thread rooted on the host is ever in the box: no cgo, and the binary
// stays static.
//
// Containment (fds.go, confine.go, sealed.go, devices.go): every
// descriptor pbox inherited is close-on-exec; COMMAND gets a new session
// keyring, its bounding set and the seccomp filter on the thread that
// forks it; the init and the -d monitor run from a
// read-only, detached view of the pbox binary (runc's CVE-2019-5736), and
// the tiny init from a sealed memfd that holds nothing else.
// docs/containment.md has the threat model and the tests.
//
// Not for: boxes that outlive every pbox process
// without a caller that waits for them: the init dies with the pbox that
// started it (PR_SET_PDEATHSIG) unless that was pbox create, whose caller
// (containerd's shim) adopts it.
package box
