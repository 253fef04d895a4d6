// Command pbox runs a command in a box: new PID, mount and UTS namespaces
// (more on request) under cgroup limits, with pbox's own init as PID 1.
//
// This package is only the command line: one file per subcommand, each a
// *cli.Command that parses flags into a box.Config, calls the packages
// below and picks the exit status. It makes no syscalls of its own.
package main
