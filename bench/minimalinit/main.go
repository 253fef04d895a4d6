// Command minimalinit is the yardstick for `pbox run -- true` (issue 22):
// the smallest Go design that does what pbox's skeleton does. It re-execs
// itself as PID 1 in new PID, mount and UTS namespaces, makes / private
// and mounts a fresh /proc there, forks COMMAND, reaps every child and
// forwards signals until COMMAND exits, with its status: two Go starts, no
// cgroup, no state, no seccomp, no root filesystem. The bench builds it
// (go run ./bench) and runs it side by side with pbox.
//
//	minimalinit /abs/path/COMMAND [ARG...]
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if os.Args[0] == "init" {
		os.Exit(initMain())
	}
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: minimalinit /abs/path/COMMAND [ARG...]\n")
		os.Exit(2)
	}
	pid, err := syscall.ForkExec("/proc/self/exe", append([]string{"init"}, os.Args[1:]...), &syscall.ProcAttr{
		Env: os.Environ(), Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		os.Stderr.WriteString("minimalinit: " + err.Error() + "\n")
		os.Exit(125)
	}
	var ws syscall.WaitStatus
	for {
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
			break
		}
	}
	os.Exit(ws.ExitStatus())
}

// initMain is PID 1: signals first, then the private /proc, then COMMAND.
func initMain() int {
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs)
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return 125
	}
	if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return 125
	}
	child, err := syscall.ForkExec(os.Args[1], os.Args[1:], &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if err != nil {
		return 127
	}
	for sig := range sigs {
		switch sig {
		case syscall.SIGCHLD:
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if err == syscall.EINTR {
					continue
				}
				if pid <= 0 {
					break
				}
				if pid == child {
					return ws.ExitStatus()
				}
			}
		case syscall.SIGURG: // the Go runtime's own
		default:
			if child > 1 {
				syscall.Kill(child, sig.(syscall.Signal))
			}
		}
	}
	return 125
}
