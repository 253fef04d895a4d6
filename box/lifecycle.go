package box

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/inspect"
	"golang.org/x/sys/unix"
)

// A box's lifecycle is one state machine. Every command that changes a
// box, or asks its cgroup something, goes through a Handle: it checks the
// transition table below, under the box's lock for a change, and does
// the work in one place — as runc's libcontainer (container_linux.go,
// state_linux.go) and youki's container_*.rs do.
//
//	creating ──► created ──start──► running ◄──resume── paused
//	    │           │                  │  └──pause──────►│
//	    └───────────┴──────(exit)──────┴──► stopped ◄────┘
//	                                          │
//	                                   destroy (rm, delete)
//
// "creating" is the moment pbox run or create sets the box up; a box
// whose pbox died then reads as stopped (Store.Status).

// Op is something done to a box.
type Op string

// The operations of the lifecycle.
const (
	OpStart     Op = "start"      // let COMMAND of a created box run (OCI)
	OpSignal    Op = "kill"       // a signal to the init
	OpSignalAll Op = "kill --all" // a signal to every process left in the box
	OpStop      Op = "stop"       // SIGTERM, then SIGKILL after a grace period
	OpPause     Op = "pause"      // freeze every process
	OpResume    Op = "resume"     // thaw them
	OpUpdate    Op = "update"     // new limits
	OpStats     Op = "stats"      // usage against the limits
	OpProcesses Op = "ps"         // the processes in the box
	OpExec      Op = "exec"       // a new process in the box
	OpDestroy   Op = "delete"     // kill what is left, remove cgroup and state
	OpForceKill Op = "delete -f"  // destroy, from any state
)

// allowedFrom is the transition table: the states an operation starts
// from. (Stop of a stopped box is allowed and does nothing, as docker
// stop.)
var allowedFrom = map[Op][]string{
	OpStart:  {StatusCreated},
	OpSignal: {StatusCreated, StatusRunning, StatusPaused},
	// What is left of a stopped box is signalled too, as runc does
	// (containerd's shim sends kill --all SIGKILL after the init exits).
	OpSignalAll: {StatusCreated, StatusRunning, StatusPaused, StatusStopped},
	OpStop:      {StatusCreated, StatusRunning, StatusPaused, StatusStopped},
	OpPause:     {StatusRunning},
	OpResume:    {StatusPaused},
	OpUpdate:    {StatusCreated, StatusRunning, StatusPaused},
	OpStats:     {StatusCreated, StatusRunning, StatusPaused},
	OpProcesses: {StatusCreated, StatusRunning, StatusPaused, StatusStopped},
	OpExec:      {StatusCreated, StatusRunning},
	OpDestroy:   {StatusCreated, StatusStopped},
	OpForceKill: {StatusCreating, StatusCreated, StatusRunning, StatusPaused, StatusStopped},
}

// ErrWrongState is returned (wrapped) when the box's state does not
// allow an operation.
var ErrWrongState = errors.New("wrong state")

// StateError says which operation a box's state refused, and what to do.
type StateError struct {
	ID, Status string
	Op         Op
}

func (e *StateError) Error() string {
	switch {
	case e.Status == StatusCreating:
		return fmt.Sprintf("box %s is being set up: try again in a moment", e.ID)
	case e.Op == OpStart:
		return fmt.Sprintf("box %s is %s, not created: only a box made by 'pbox create' can be started, once", e.ID, e.Status)
	case e.Op == OpDestroy:
		return fmt.Sprintf("box %s is %s: stop it first ('pbox stop %s') or use --force", e.ID, e.Status, e.ID)
	case e.Op == OpExec, e.Op == OpPause:
		return fmt.Sprintf("box %s is %s, not running: see 'pbox ps -a'", e.ID, e.Status)
	case e.Op == OpResume:
		return fmt.Sprintf("box %s is %s, not paused", e.ID, e.Status)
	case e.Op == OpSignal:
		// "container not running" is runc's word for it, which
		// containerd's shim matches to let a pod stop whose container has
		// already exited.
		return fmt.Sprintf("box %s is %s: nothing to signal (container not running)", e.ID, e.Status)
	}
	return fmt.Sprintf("box %s is %s: no %s for it (see 'pbox ps -a')", e.ID, e.Status, e.Op)
}

func (e *StateError) Unwrap() error { return ErrWrongState }

// Handle is one box of a state root, as a command holds it.
type Handle struct {
	Store  Store
	Record *Record
	status string
	lock   *Lock // for a change; nil for a question
}

// Look opens box id to ask about it, without locking it.
func (s Store) Look(id string) (*Handle, error) {
	rec, err := s.Read(id)
	if err != nil {
		return nil, err
	}
	return &Handle{Store: s, Record: rec, status: s.Status(rec)}, nil
}

// Lock opens box id to change it, holding its lock until Close.
func (s Store) Lock(id string) (*Handle, error) {
	rec, lock, err := s.Open(id)
	if err != nil {
		return nil, err
	}
	return &Handle{Store: s, Record: rec, status: s.Status(rec), lock: lock}, nil
}

// Close lets go of the box's lock, if held.
func (h *Handle) Close() {
	if h.lock != nil {
		h.lock.Unlock()
		h.lock = nil
	}
}

// ID is the box's name.
func (h *Handle) ID() string { return h.Record.ID }

// Status is the box's state as the handle was opened.
func (h *Handle) Status() string { return h.status }

// Allows checks the transition table.
func (h *Handle) Allows(op Op) error {
	if slices.Contains(allowedFrom[op], h.status) {
		return nil
	}
	return &StateError{ID: h.ID(), Status: h.status, Op: op}
}

func (h *Handle) cgroup() *cgroups.Cgroup { return cgroups.Reopen(h.Record.Cgroup, nil) }

// Signal sends sig to the box's init (by pidfd, checked against its start
// time), or with all to every process in its cgroup.
func (h *Handle) Signal(sig unix.Signal, all bool) error {
	op := OpSignal
	if all {
		op = OpSignalAll
	}
	if err := h.Allows(op); err != nil {
		return err
	}
	if all {
		pids, err := h.cgroup().Procs()
		if err != nil {
			return err
		}
		for _, p := range pids {
			if p > 1 { // never kill(-1) or kill(0)
				unix.Kill(p, sig)
			}
		}
		return nil
	}
	return signalInit(h.Record, sig)
}

// signalInit signals the box's init through a pidfd, after checking the
// pid still belongs to it (not a recycled pid).
func signalInit(rec *Record, sig unix.Signal) error {
	if rec.Pid <= 1 {
		return fmt.Errorf("no init pid recorded")
	}
	fd, err := unix.PidfdOpen(rec.Pid, 0)
	if err != nil {
		return fmt.Errorf("the box's init is gone: %w", err)
	}
	defer unix.Close(fd)
	if !rec.Alive() {
		return fmt.Errorf("the box's init is gone")
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0)
}

// Stop is docker stop: SIGTERM to the init (thawing a paused box first),
// then SIGKILL to everything after grace; killed is called before that
// SIGKILL. It returns once the box's monitor, if any, recorded the exit.
// A locked handle is let go once SIGTERM is sent.
func (h *Handle) Stop(grace time.Duration, killed func()) error {
	if err := h.Allows(OpStop); err != nil {
		return err
	}
	if h.status == StatusStopped {
		return nil
	}
	cg := h.cgroup()
	if h.status == StatusPaused {
		cg.Freeze(false)
	}
	signalInit(h.Record, unix.SIGTERM)
	// The rest is waiting, and the monitor needs the lock to record the
	// exit: the transition itself is done.
	h.Close()
	deadline := time.Now().Add(grace)
	for h.Record.Alive() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if h.Record.Alive() {
		if killed != nil {
			killed()
		}
		if err := cg.Kill(); err != nil {
			return err
		}
	}
	waitMonitor(h.Record)
	return nil
}

// Freeze pauses (true) or resumes (false) every process of the box.
func (h *Handle) Freeze(frozen bool) error {
	op := OpPause
	if !frozen {
		op = OpResume
	}
	if err := h.Allows(op); err != nil {
		return err
	}
	return h.cgroup().Freeze(frozen)
}

// Update gives the box new limits (its device rules stay) and records them.
func (h *Handle) Update(l Limits) error {
	if err := h.Allows(OpUpdate); err != nil {
		return err
	}
	cg := h.cgroup()
	if err := cg.Update(l); err != nil {
		return err
	}
	devices := h.Record.Cgroup.Limits.Devices
	h.Record.Cgroup = cg.Save()
	h.Record.Cgroup.Limits.Devices = devices
	return h.Store.Write(h.Record)
}

// Stats reads the box's usage against its limits.
func (h *Handle) Stats() (Stats, error) {
	if err := h.Allows(OpStats); err != nil {
		return Stats{}, err
	}
	cs, err := h.cgroup().Stats()
	return Stats{Stats: cs, NetIO: netIO(h.Record)}, err
}

// netIO reads the counters of the network namespace box rec's init is in,
// through its /proc directory, opened once: a pid reused meanwhile reads
// as gone, not as another process's. nil if the box shares pbox's network
// namespace, or has ended.
func netIO(rec *Record) *NetIO {
	dir, err := unix.Open("/proc/"+strconv.Itoa(rec.Pid), unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(dir)
	var own, box unix.Stat_t
	if unix.Stat("/proc/self/ns/net", &own) != nil || unix.Fstatat(dir, "ns/net", &box, 0) != nil || own.Ino == box.Ino {
		return nil
	}
	if start, _, err := procStartAt(dir); err != nil || (rec.PidStart != 0 && start != rec.PidStart) {
		return nil
	}
	fd, err := unix.Openat(dir, "net/dev", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), "net/dev")
	defer f.Close()
	devs, err := inspect.ParseNetDev(f)
	if err != nil {
		return nil
	}
	var n NetIO
	for _, d := range devs {
		if d.Name != "lo" {
			n.Rx += d.RxBytes
			n.Tx += d.TxBytes
		}
	}
	return &n
}

// Processes lists the host pids of the box's processes (none once it is
// stopped and its cgroup gone).
func (h *Handle) Processes() ([]int, error) {
	if err := h.Allows(OpProcesses); err != nil {
		return nil, err
	}
	pids, err := h.cgroup().Procs()
	if errors.Is(err, os.ErrNotExist) || (err == nil && pids == nil) {
		return []int{}, nil
	}
	return pids, err
}

// Proc is one process of a box, as pbox ps ID shows it.
type Proc struct {
	Pid     int    // as the host sees it
	BoxPid  int    // as the box sees it: the last NSpid entry (0 if it is gone)
	Command string // its command line ("" if it is gone or has none)
}

// ProcessList is Processes with each one's pid in the box and command line.
func (h *Handle) ProcessList() ([]Proc, error) {
	pids, err := h.Processes()
	if err != nil {
		return nil, err
	}
	procs := make([]Proc, 0, len(pids))
	for _, pid := range pids {
		p := Proc{Pid: pid}
		dir := "/proc/" + strconv.Itoa(pid)
		if f, err := os.Open(dir + "/status"); err == nil {
			if st, err := inspect.ParseStatus(f); err == nil && len(st.NSpid) > 0 {
				p.BoxPid = st.NSpid[len(st.NSpid)-1]
			}
			f.Close()
		}
		if data, err := os.ReadFile(dir + "/cmdline"); err == nil {
			p.Command = strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
		}
		procs = append(procs, p)
	}
	return procs, nil
}

// Start lets COMMAND of a created box run: one byte into exec.fifo, on
// which its init waits. Then the box is running, and the poststart hooks
// run (a failure of one is passed to warn; the box keeps running).
func (h *Handle) Start(warn func(error)) error {
	if err := h.Allows(OpStart); err != nil {
		return err
	}
	fifoPath := h.Store.Path(h.ID(), "exec.fifo")
	// O_NONBLOCK: if the init is gone there is no reader and the open
	// fails (ENXIO) instead of hanging.
	f, err := os.OpenFile(fifoPath, os.O_WRONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("box %s: its init is not waiting (%v)", h.ID(), err)
	}
	_, err = f.Write([]byte{0})
	f.Close()
	if err != nil {
		return fmt.Errorf("write %s: %w", fifoPath, err)
	}
	os.Remove(fifoPath)
	h.Record.Status, h.status = StatusRunning, StatusRunning
	if err := h.Store.Write(h.Record); err != nil {
		return err
	}
	h.Store.AppendEvent(h.ID(), Event{Type: "start", Pid: h.Record.Pid})
	h.Store.RunHooks("poststart", h.Record.Poststart, h.Record, warn)
	return nil
}

// Destroy removes the box: with force it kills what still runs (any
// state), else the box must be created or stopped. It waits for a
// monitor to record the exit, removes the cgroup (and its mark), runs the
// poststop hooks (failures go to warn) and removes the state. The handle
// must not hold the lock: the monitor needs it to record the exit.
func (h *Handle) Destroy(force bool, warn func(error)) error {
	op := OpDestroy
	if force {
		op = OpForceKill
	}
	if err := h.Allows(op); err != nil {
		return err
	}
	h.Close()
	cg := h.cgroup()
	if h.status == StatusPaused {
		cg.Freeze(false)
	}
	// The cgroup's name is this root's own (Store.CgroupLeaf): what runs
	// in it is this box's, also after a crash.
	if h.status != StatusStopped || len(h.Record.Cgroup.V1Dirs) > 0 || h.Record.Cgroup.V2Dir != "" {
		if err := cg.Kill(); err != nil {
			return err
		}
	}
	waitMonitor(h.Record)
	rec, lock, err := h.Store.Open(h.ID())
	if errors.Is(err, ErrNoSuchBox) {
		return nil // a foreground pbox run removed its own box on the way out
	}
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := h.Store.DestroyCgroup(rec); err != nil {
		return err
	}
	h.Store.RunHooks("poststop", rec.Poststop, rec, warn)
	return h.Store.Remove(h.ID())
}

// DestroyCgroup kills what is left in a box's cgroup, removes it in every
// hierarchy, and forgets its mark.
func (s Store) DestroyCgroup(rec *Record) error {
	if err := cgroups.Reopen(rec.Cgroup, nil).Destroy(); err != nil {
		return err
	}
	s.UnmarkCgroup(rec.Cgroup.Rel)
	return nil
}

// RunHooks runs a box's hooks of one kind (poststart, poststop) in order
// with its OCI state on their stdin; each failure goes to warn and the
// others still run, as the runtime-spec says for these two.
func (s Store) RunHooks(kind string, hooks []Hook, rec *Record, warn func(error)) {
	if len(hooks) == 0 {
		return
	}
	st := s.OCI(rec)
	for _, hk := range hooks {
		if err := RunHook(hk, st); err != nil && warn != nil {
			warn(fmt.Errorf("%s %w", kind, err))
		}
	}
}

// Settled is box id's record once its monitor, if it has one, is done
// with it: a box that just stopped has its exit recorded then.
func (s Store) Settled(id string) (*Record, error) {
	rec, err := s.Read(id)
	if err != nil {
		return nil, err
	}
	waitMonitor(rec)
	return s.Read(id)
}

// waitMonitor waits (up to 10 s) for the pbox that watches a box to
// record its exit and finish.
func waitMonitor(rec *Record) {
	for i := 0; i < 1000 && rec.monitorRunning(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

// Limits are a box's cgroup limits.
type Limits = cgroups.Limits

// Stats is a box's usage: its cgroup's figures, and its network's
// counters where it has a network namespace of its own.
type Stats struct {
	cgroups.Stats
	// NetIO sums the box's interfaces but lo; nil for a box on the
	// host's network (whose counters are the host's, not the box's).
	NetIO *NetIO `json:"net_io,omitempty"`
}

// NetIO are bytes received and sent.
type NetIO struct {
	Rx uint64 `json:"rx_bytes"`
	Tx uint64 `json:"tx_bytes"`
}
