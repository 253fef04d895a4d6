// Package namespaces names the Linux namespace kinds pbox can create, maps
// them to CLONE_* flags, and does the small per-namespace setup that has to
// happen inside a new namespace (hostname, loopback).
//
// Joining a running box is not done here. pbox exec enters a box
// through its joiner, a single-threaded C program (box/joiner.go): a Go
// process always has other threads, and one still rooted on the host is
// reachable from the box through /proc/self/task/N/root. JoinThread is for
// the other case, starting a box inside namespaces an OCI config names by
// path (or --network container:BOX): on one locked OS thread it
// unshare(CLONE_FS)s (a private root and cwd, which setns into a mount
// namespace needs), then setns'es into each namespace, and the init is
// forked from that thread and exec'd at once — no code of pbox runs in
// those namespaces with a second thread. It cannot join a user namespace
// (the kernel wants a single-threaded caller). The inspector reads a box's
// hostname and network through internal/osthread.InNamespace.
//
// Use it for: turning a user's --ns list into clone flags with a clear error
// for what cannot work (pid without mnt), and for printing those flags by
// name. Do not use it to manage namespaces that outlive a process: pbox
// keeps a namespace alive only as long as a process lives in it.
package namespaces
