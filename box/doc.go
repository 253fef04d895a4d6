// Package box is the lifecycle of one box: the parent side (Run for pbox
// run; Start, which returns once the box is up, for run -d's monitor and
// for pbox create), the plan the box builder runs as PID 1 inside the box (plan.go), the
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
// PID 1 of a box is pbox's tiny C program (tinyinit/tinyinit.c, the
// "pbox-init" mode), run from a sealed memfd: pbox plans the box as data
// (plan.go: the mount steps of rootfs.PlanBundle, hostname, rlimits, the
// compiled seccomp filter, capability sets, user, OCI hooks) and clones
// the program straight into the box's new namespaces (and, on cgroup v2,
// into its cgroup with CLONE_INTO_CGROUP), so no code of the box ever runs
// outside them. The program executes the plan single-threaded — every
// mount target opened inside the root, pivot_root, masks, the pty, the
// confinement on itself — then starts COMMAND, reaps and forwards
// signals. For pbox create it stops once everything is set up and waits
// on exec.fifo until pbox start. A detached box's monitor hands over to
// the same program (monitor.go).
//
// Why one C program, measured on the development machine (a hybrid host,
// 2 cores; bench/RESULTS.md, `go run ./bench -start-only`):
//
//   - Before issue 14 a Go init was PID 1 for the box's whole life: 6.5 MB
//     RSS, 9 threads, each a pid of the box's limit. Then (issue 14) the
//     Go init built the box and handed PID 1 over to the tiny program: a
//     second Go runtime still started on every run (~2 ms of ~14), and a
//     multi-threaded process rooted on the host built the box.
//   - Now (issue 22) the program builds the box too: one Go runtime per
//     start (pbox's), one thread in the box from the clone on, and one
//     implementation of the box's setup, shared with the exec joiner
//     (the same records, the same C functions for the working directory,
//     the terminal, the keyring, capabilities, seccomp and user). The
//     containment tests attack it as they attacked the Go init.
//   - A raw-syscall child that never exec's (Go's ForkExec child) could
//     only do what syscall.SysProcAttr offers — no mounts, no seccomp, no
//     keyring — so something must still exec.
//
// The program is built by tinyinit/build.sh (go generate ./box; musl, for
// amd64 and arm64, byte for byte, checked in CI); on any other
// architecture pbox refuses to start or join a box, with one line.

// Handle.Exec joins a running box through the joiner (joiner.go), the
// "pbox-exec" mode of the same tiny C program: single-threaded, it
// setns'es into the box, forks into it and runs a plan made in Go
// (working directory, keyring, bounding set, seccomp, user), so no
// thread rooted on the host is ever in the box: no cgo, and the binary
// stays static.
//
// Containment (fds.go, plan.go, sealed.go, devices.go): every descriptor
// pbox inherited is close-on-exec; COMMAND gets a new session keyring, its
// bounding set and the seccomp filter from the init, which set them on
// itself; the -d monitor runs from a read-only, detached view of the pbox
// binary (runc's CVE-2019-5736), and the box's init from a sealed memfd
// that holds nothing else.
// docs/containment.md has the threat model and the tests.
//
// Not for: boxes that outlive every pbox process
// without a caller that waits for them: the init dies with the pbox that
// started it (PR_SET_PDEATHSIG) unless that was pbox create, whose caller
// (containerd's shim) adopts it.
package box
