// Package inspect shows one process as the host sees it and as its box
// sees it: identity (pids at every namespace level), namespaces against the
// host's, hostname, cgroup, mounts, privileges, PID 1 of the box and the
// box's processes. It works on any pid, boxed by pbox or not.
//
// Collect reads; RenderText, RenderTree and RenderJSON are pure. The host
// side comes from /proc/<pid>/...; the box side through the box itself:
// its /proc as /proc/<pid>/root/proc, its hostname and cgroup paths by
// joining its UTS and cgroup namespaces on a throw-away locked OS thread
// (/proc/sys and /proc/<pid>/cgroup answer for the reader's namespaces).
// NSpid in /proc/<pid>/status links the two: one pid per namespace level.
//
// "The host" is PID 1's namespaces when they can be read. Where they
// cannot (a sandboxed PID 1, as on the development machine), it is
// kthreadd, pid 2: kernel threads always live in the initial namespaces.
// The report says which reference it used. Treating an unreadable
// reference as "different" would call every namespace isolated.
//
// The JSON form is a stable interface, documented in docs/inspect-json.md.
//
// Not for: watching processes over time (it is one snapshot, and a process
// may exit half-way: the report then carries a note), or for deciding
// security questions: it reports what /proc says.
package inspect
