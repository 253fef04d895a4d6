// Package box is the lifecycle of one box: the parent side that `pbox run`
// drives (Run), the init that runs as PID 1 inside the box (Init), the
// protocol between them (sync.go) and the exit-status rules (status.go).
//
// The init is pbox itself, re-executed from /proc/self/exe with argv[0]
// "pbox-init", so `ps` inside the box shows what PID 1 is. It is cloned
// straight into its new namespaces (and, on cgroup v2, into its cgroup with
// CLONE_INTO_CGROUP), so no code of the box ever runs outside them.
//
// Not for: joining an existing box (that needs setns before the Go runtime
// starts; see package namespaces), or for processes that must outlive pbox:
// the init dies with pbox (PR_SET_PDEATHSIG), and everything in the box
// dies with the init.
package box
