// Command pbox runs a command in a box: new PID, mount and UTS namespaces
// (more on request) under cgroup limits, with pbox's own init as PID 1.
//
// This package is only the command line: one file per subcommand, each a
// *cli.Command that gathers its flags, calls package box (whose Handle is
// the lifecycle: one state machine) and prints the outcome with the exit
// status of the one table in errors.go. It imports neither cgroups,
// namespaces nor rootfs, and makes no syscalls of its own but those of
// the terminal it relays (termios, window size).
//
// The Go runtime's container-aware GOMAXPROCS (Go 1.25+) is turned off
// below: it keeps cpu.cfs_quota_us and cpu.cfs_period_us open to follow
// the cgroup's limit, and in pbox those sat at fds 3 and 4, where
// --preserve-fds expects the caller's descriptors (and, in pbox-init,
// they were host cgroup files held open inside the box).
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main
