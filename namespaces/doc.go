// Package namespaces names the Linux namespace kinds pbox can create, maps
// them to CLONE_* flags, and does the small per-namespace setup that has to
// happen inside a new namespace (hostname, loopback).
//
// Joining a running box (pbox exec, or an OCI config that names a
// namespace by path) is the hard part in Go. The runtime is multi-threaded
// before main runs, and the kernel refuses setns into a mount namespace
// from a thread that shares its filesystem context (root, cwd) with other
// threads, and into a user namespace from any multi-threaded process. runc
// works around it with a cgo constructor (nsenter) that joins before the
// runtime starts; that needs cgo, and pbox is a static CGO_ENABLED=0
// binary that starts ~1 ms faster than a dynamically linked one. JoinThread does it without
// cgo instead: on one locked OS thread, unshare(CLONE_FS) first (the
// thread gets a private root and cwd, which setns into a mount namespace
// needs), then setns into each namespace; the process forked from that
// thread is born inside the box, and the thread is thrown away. What this
// cannot join is a user namespace: pbox makes one only for OCI bundles that
// ask (clone with the bundle's uid/gid maps), and pbox exec refuses to
// enter such a box, saying why.
// UTS and net namespaces can also be joined briefly and left again, which
// is how the inspector reads a box's hostname.
//
// Use it for: turning a user's --ns list into clone flags with a clear error
// for what cannot work (pid without mnt), and for printing those flags by
// name. Do not use it to manage namespaces that outlive a process: pbox
// keeps a namespace alive only as long as a process lives in it.
package namespaces
