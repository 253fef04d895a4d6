// Package box is the lifecycle of one box: the parent side (Run for pbox
// run; Start, which returns once the box is up, for run -d's monitor and
// for pbox create), the init that runs as PID 1 inside the box (Init), the
// protocol between them (sync.go), the exit-status rules (status.go), the
// on-disk state of boxes that outlive one pbox process (state.go), and
// every later change to a box as one state machine (lifecycle.go: Handle
// and its transition table — start, signal, stop, pause, resume, update,
// stats, processes, exec, destroy with the poststop hooks), exec into a
// running box (exec.go) and OCI hooks (hooks.go). What pbox run's flags
// mean is decided here too (plan.go: RunRequest, PlanRun), and which
// cgroups a state root made (marks.go, for pbox cleanup).
//
// The init is pbox itself, re-executed from /proc/self/exe with argv[0]
// "pbox-init", so `ps` inside the box shows what PID 1 is. It is cloned
// straight into its new namespaces (and, on cgroup v2, into its cgroup with
// CLONE_INTO_CGROUP), so no code of the box ever runs outside them. For
// pbox create it stops once everything is set up and waits on exec.fifo
// until pbox start.
//
// Exec joins a running box from a locked, disposable OS thread (see
// namespaces.JoinThread) and forks a short stage process into it
// (stage.go), which confines itself and exec's COMMAND: no cgo, so the
// binary stays static.
//
// Containment (fds.go, confine.go, sealed.go, devices.go): every
// descriptor pbox inherited is close-on-exec; COMMAND gets a new session
// keyring, its bounding set and the seccomp filter on the thread that
// forks it; the init, the exec stage and the -d monitor run from a
// read-only, detached view of the pbox binary (runc's CVE-2019-5736).
// docs/containment.md has the threat model and the tests.
//
// Not for: exec into a box with its own user namespace (the Go runtime
// cannot join one; Exec says so), or boxes that outlive every pbox process
// without a caller that waits for them: the init dies with the pbox that
// started it (PR_SET_PDEATHSIG) unless that was pbox create, whose caller
// (containerd's shim) adopts it.
package box
