// Package seccomp turns a seccomp profile (the runtime-spec's
// linux.seccomp, or Docker's profile format) into a classic BPF program
// and loads it with seccomp(2).
//
// Why pbox compiles the filter itself: libseccomp (which runc and crun
// use) is C, and linking it would make pbox a cgo, dynamically linked
// binary that starts ~1 ms slower; the pure-Go compilers available either
// lack argument conditions or per-rule errno values that Docker's profile
// needs. What a profile asks for is small — compare the architecture,
// the syscall number, up to six 64-bit arguments — and the program is
// simple enough to read (compile.go) and to check instruction by
// instruction against an interpreter (the tests run every rule of
// Docker's profile through one).
//
// The profile itself is Docker's, from the Go module Docker publishes
// (github.com/moby/profiles/seccomp), with Docker's capability-dependent
// exceptions: a box with CAP_SYS_ADMIN may mount, one with CAP_SYS_PTRACE
// may ptrace, and so on.
//
// The program is compiled by pbox on the host and handed to the init as
// bytes; the init only loads it (Program.Load), on the thread that forks
// COMMAND, as the last step before the fork.
//
// Not for: the notify action (a supervisor that answers syscalls on a
// listener socket) — refused by name; x32 syscalls on x86-64, which every
// filter kills, as libseccomp does for an ABI not in the profile.
package seccomp

//go:generate go run ../internal/gensyscalls zsyscalls.go
