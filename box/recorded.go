package box

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// The state of a `pbox run` box: claimed and recorded before it starts,
// recorded as running once COMMAND runs, and either removed with its
// foreground pbox, or, for a detached box, kept by its monitor with the
// start, its OOM kills and its exit.

// ClaimRun claims name for a pbox run (taking over the state a SIGKILLed
// foreground pbox left under it) and writes a first record: "creating",
// by this process, so that a SIGKILL of it reads as stopped, not as
// creating forever. ErrBoxExists if a box has the name.
func (s Store) ClaimRun(name string, detached bool) error {
	lock, err := s.Claim(name)
	if errors.Is(err, ErrBoxExists) && s.removeStaleForeground(name) {
		lock, err = s.Claim(name)
	}
	if err != nil {
		return err
	}
	first := &Record{OCIVersion: OCIVersion, ID: name, Status: StatusCreating, Created: time.Now().UTC(),
		Kind: runKind(detached), Monitor: os.Getpid()}
	err = s.Write(first)
	lock.Unlock()
	if err != nil {
		s.Remove(name)
	}
	return err
}

// runKind is the Kind of a box pbox run starts.
func runKind(detached bool) Kind {
	if detached {
		return KindDetached
	}
	return KindForeground
}

// removeStaleForeground removes the state a SIGKILLed foreground pbox run
// left under this name (its box died with it), so the name can be used
// again at once, as the empty cgroup it also left is. It decides under
// the box's lock, so it never removes a box another pbox is starting.
func (s Store) removeStaleForeground(name string) bool {
	rec, lock, err := s.Open(name)
	if err != nil {
		return false
	}
	defer lock.Unlock()
	if !s.Abandoned(rec) {
		return false
	}
	s.DestroyCgroup(rec)
	return s.Remove(name) == nil
}

// setMonitor records pid as the process that sets up box id (pbox run -d's
// monitor, from the moment it is started).
func (s Store) setMonitor(id string, pid int) error {
	rec, lock, err := s.Open(id)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	rec.Monitor = pid
	return s.Write(rec)
}

// RunRecorded runs a claimed box (ClaimRun) and keeps its record: running
// once COMMAND runs — the box is killed if that cannot be written, since
// a box nothing can find must not live on — and then started is called
// (if it fails, the box is killed too, and its error returned).
// A detached box (run by its monitor) also records the start event, its
// OOM kills as they happen and its exit, and keeps its state (unless
// remove: docker's --rm); a failed one's state is removed. A foreground
// box's state goes when it ends.
func (s Store) RunRecorded(cfg Config, opt Options, detached, remove bool, started func(*Box) error) (Result, error) {
	// The cgroup is marked in the state root from before its mkdir, for
	// rm and pbox cleanup (Create does the same for pbox create); its name
	// is the root's own (Translate).
	opt.State = &s
	rec := &Record{OCIVersion: OCIVersion, ID: cfg.Name, Status: StatusRunning, Created: time.Now().UTC(),
		Config: cfg, Rootfs: opt.Filesystem.BoxRoot(), Kind: runKind(detached), Monitor: os.Getpid()}
	rec.Config.Mounts = nil
	unrecorded := func(err error) error {
		return &SetupError{Step: "state", Code: StatusSetupFailed,
			Err: fmt.Sprintf("record box %s: %v (is %s full or read-only?)", cfg.Name, err, s.Root)}
	}
	var watch *oomWatch
	res, err := Run(cfg, opt, func(b *Box) error {
		rec.Pid, rec.PidStart, rec.Cgroup = b.Pid, b.PidStart, b.Cgroup.Save()
		if b.Network != nil {
			rec.Addresses = b.Network.Addresses
		}
		if err := s.Write(rec); err != nil {
			return unrecorded(err)
		}
		if detached {
			if err := s.AppendEvent(rec.ID, Event{Type: "start", Pid: b.Pid}); err != nil {
				return unrecorded(err)
			}
			watch = s.watchOOM(rec.ID, b)
		}
		if started != nil {
			if err := started(b); err != nil {
				return err
			}
		}
		if detached && !opt.keepGoMonitor {
			// What waits for the box from here is the tiny monitor; it
			// comes back as FinishMonitor once the init exits.
			err := s.handOverMonitor(b, rec.ID, remove, watch.reportedSoFar())
			fmt.Fprintf(os.Stderr, "pbox: monitor: %v: the Go monitor waits instead\n", err)
		}
		return nil
	})
	if watch != nil {
		watch.stop(res.OOMKills)
	}
	switch {
	case !detached, err != nil, remove:
		s.Remove(cfg.Name)
	default:
		s.recordExit(rec.ID, res)
	}
	return res, err
}

// recordExit writes how a detached box ended into its state and events.
func (s Store) recordExit(id string, res Result) {
	rec, lock, err := s.Open(id)
	if err != nil {
		return // removed meanwhile (pbox rm -f)
	}
	defer lock.Unlock()
	status := res.Status
	rec.Exit = &Exit{Status: status, OOMKills: res.OOMKills, Finished: time.Now().UTC()}
	rec.Status = StatusStopped
	rec.Monitor = 0
	s.Write(rec)
	s.AppendEvent(id, Event{Type: "exit", Status: &status})
}

// oomWatch appends an "oom" event whenever the box's OOM-kill counter
// grows. The counter is polled twice a second: cheap, and a monitor that
// sleeps in poll(2) on eventfds would need one per cgroup version.
type oomWatch struct {
	st       Store
	id       string
	mu       sync.Mutex
	reported uint64
	done     chan struct{}
	wg       sync.WaitGroup
}

func (s Store) watchOOM(id string, b *Box) *oomWatch {
	w := &oomWatch{st: s, id: id, done: make(chan struct{})}
	cg := b.Cgroup
	if cg.Limits().MemoryBytes <= 0 {
		return w
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
				if n, err := cg.OOMKills(); err == nil {
					w.report(n)
				}
			}
		}
	}()
	return w
}

func (w *oomWatch) report(n uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n > w.reported {
		w.st.AppendEvent(w.id, Event{Type: "oom", OOMKills: n})
		w.reported = n
	}
}

// reportedSoFar is how many OOM kills the watch has put in events.
func (w *oomWatch) reportedSoFar() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reported
}

// stop ends the watch; final is the count read before the cgroup went.
func (w *oomWatch) stop(final uint64) {
	close(w.done)
	w.wg.Wait()
	w.report(final)
}
