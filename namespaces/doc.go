// Package namespaces names the Linux namespace kinds pbox can create, maps
// them to CLONE_* flags, and does the small per-namespace setup that has to
// happen inside a new namespace (hostname, loopback).
//
// What it does not do, and why: it never calls setns(2) for a mount or user
// namespace from Go. The Go runtime is multi-threaded before main runs, and
// the kernel refuses setns into a mount namespace (EINVAL) or a user
// namespace for a multi-threaded process. Joining a running box therefore
// has to happen before the runtime starts (a small cgo constructor, as runc's
// nsenter does) or by re-executing into a fresh process; pbox creates
// namespaces with clone(2) instead, which has no such restriction. UTS and
// net namespaces can be joined from a locked OS thread, which is how a
// reader may look inside a box.
//
// Use it for: turning a user's --ns list into clone flags with a clear error
// for what cannot work (pid without mnt), and for printing those flags by
// name. Do not use it to manage namespaces that outlive a process: pbox
// keeps a namespace alive only as long as a process lives in it.
package namespaces
