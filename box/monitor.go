package box

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/pbox-dev/pbox/cgroups"
	"golang.org/x/sys/unix"
)

// A detached box (pbox run -d) needs a process that waits for its init,
// records its exit and removes its cgroup: the monitor. It starts as pbox
// (a Go runtime of several MB) and, once the box runs, exec's the tiny
// program (tinyinit.c, as "pbox-monitor") in its place, which waits with a
// few pages resident; when the init exits, the tiny program exec's pbox
// again (MonitorArg0 with FinishArg) to record the exit.

// MonitorArg0 is the monitor's argv[0] once the box runs.
const MonitorArg0 = "pbox-monitor"

// FinishArg, after MonitorArg0, makes pbox record a detached box's exit
// (FinishMonitor); main dispatches on the two before any flag parsing.
const FinishArg = "--finish"

// handOverMonitor replaces this process (the monitor, on the locked thread
// that cloned the init, which PR_SET_PDEATHSIG ties the init to) with the
// tiny monitor. It returns only if that could not happen, with nothing
// changed: the Go monitor then goes on waiting itself.
func (s Store) handOverMonitor(b *Box, id string, remove bool, reported uint64) error {
	if len(tinyInit) == 0 {
		return errors.New("no tiny monitor for this architecture")
	}
	if b.releaseParent != nil {
		// The exec would end the parked thread the init was forked from,
		// and PR_SET_PDEATHSIG with it the box.
		return errors.New("the box joined a namespace by path: its init's parent thread must live on")
	}
	memfd, err := tinyInitMemfd()
	if err != nil {
		return err
	}
	defer memfd.Close()
	// pbox's own binary, to come back to: this process runs from the
	// read-only view of it (sealed.go).
	self, err := unix.Open("/proc/self/exe", unix.O_PATH, 0)
	if err != nil {
		return fmt.Errorf("open pbox's binary: %w", err)
	}
	defer unix.Close(self)
	events, err := unix.Open(s.Path(id, eventsName), unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT, 0o600)
	if err != nil {
		return fmt.Errorf("open the box's events: %w", err)
	}
	defer unix.Close(events)
	oomFile := b.Cgroup.OOMFile()
	if oomFile == "" {
		oomFile = "-"
	}
	keep := "keep"
	if remove {
		keep = "rm"
	}
	argv := []string{MonitorArg0, strconv.Itoa(b.Pid), strconv.Itoa(self), strconv.Itoa(events), oomFile, id,
		strconv.FormatUint(reported, 10), MonitorArg0, FinishArg, s.Root, id, keep}
	// Every signal blocked from here: the tiny monitor reads them from a
	// signalfd and passes them to the init, as Run did.
	var all, old unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^uint64(0)
	}
	unix.PthreadSigmask(unix.SIG_SETMASK, &all, &old)
	err = execveat(int(memfd.Fd()), argv, os.Environ())
	unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	return fmt.Errorf("execveat the tiny monitor: %w", err)
}

// FinishMonitor is the end of a detached box's monitor, exec'd by the
// tiny monitor once the init has exited: args are the state root, the
// box, "rm" or "keep", the init's wait status and the OOM kills already
// reported. It returns the exit status.
func FinishMonitor(args []string) int {
	if len(args) != 5 {
		fmt.Fprintf(os.Stderr, "pbox: %s %s is run by pbox's tiny monitor, not by hand\n", MonitorArg0, FinishArg)
		return StatusSetupFailed
	}
	s, id := Store{Root: args[0]}, args[1]
	ws, err1 := strconv.Atoi(args[3])
	reported, err2 := strconv.ParseUint(args[4], 10, 64)
	rec, err := s.Read(id)
	if err == nil && (err1 != nil || err2 != nil || rec.Monitor != os.Getpid()) {
		err = fmt.Errorf("box %s is not monitored by this process (pid %d)", id, os.Getpid())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pbox: monitor: %v\n", err)
		return StatusSetupFailed
	}
	b := &Box{Pid: rec.Pid, PidStart: rec.PidStart, Cgroup: cgroups.Reopen(rec.Cgroup, nil), marks: &s, name: id}
	b.Network, _ = s.Network(id) // a box on a CNI network leaves it in finish
	res, err := b.finish(syscall.WaitStatus(ws))
	if res.OOMKills > reported {
		s.AppendEvent(id, Event{Type: "oom", OOMKills: res.OOMKills})
	}
	if err != nil || args[2] == "rm" {
		s.Remove(id)
	} else {
		s.recordExit(id, res)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pbox: box %s: %v\n", id, err)
		return StatusSetupFailed
	}
	return 0
}
