package box

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/internal/flock"
	"github.com/pbox-dev/pbox/internal/logf"
	"github.com/pbox-dev/pbox/oci"
	"golang.org/x/sys/unix"
)

// The on-disk state of boxes that outlive one pbox process: one directory
// per box under a root (default /run/pbox, a tmpfs: boxes do not survive a
// reboot, and neither should their state):
//
//	/run/pbox/<id>/state.json   the Record, replaced atomically (rename)
//	/run/pbox/<id>/exec.fifo    while created: `start` writes one byte to it
//	/run/pbox/<id>/output.log   stdout and stderr of a detached box, in the
//	                            CRI log format, rotated to output.log.1...
//	                            (logger.go; output.log.lock while written)
//	/run/pbox/<id>/events.jsonl start, oom, exit
//	/run/pbox/<id>/cgroup.path  the box's cgroup, named before it is made
//	/run/pbox/<id>/network.json a CNI network's attachment, netns and
//	                            plugins-netns its pins, hosts (and for a
//	                            --rootfs box resolv.conf, hostname) the
//	                            files bound into it (network.go)
//
// What a network hands out host-wide (leases, host ports, names) is not
// under any root: network.HostDir.
//
// Every change to a box is made under an exclusive flock on its directory,
// so two pbox processes racing on one id cannot interleave. A record says
// what was true when it was written; Status reads what is true now (a
// process that died with its pbox leaves a record that says "running").

// OCI lifecycle states (runtime-spec), plus Docker's "paused".
const (
	StatusCreating = "creating"
	StatusCreated  = "created"
	StatusRunning  = "running"
	StatusPaused   = "paused"
	StatusStopped  = "stopped"
)

// DefaultStateRoot is where box state lives unless --root says otherwise.
const DefaultStateRoot = "/run/pbox"

// Hook is an OCI hook: a program run at one point of the lifecycle with
// the box's state on its stdin.
type Hook struct {
	Path    string   `json:"path"`
	Args    []string `json:"args,omitempty"`
	Env     []string `json:"env,omitempty"`
	Timeout int      `json:"timeout,omitempty"` // seconds; 0 = none
}

// Exit is how a box ended, when a pbox process was there to see it.
type Exit struct {
	Status   int       `json:"status"`
	OOMKills uint64    `json:"oom_kills,omitempty"`
	Finished time.Time `json:"finished"`
}

// Record is a box's state file.
type Record struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Status      string            `json:"status"` // as last written; see Status()
	Pid         int               `json:"pid,omitempty"`
	PidStart    uint64            `json:"pid_start,omitempty"` // /proc/<pid>/stat starttime: tells a reused pid apart
	Bundle      string            `json:"bundle,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Created     time.Time         `json:"created"`
	Config      Config            `json:"config"` // for exec: env, capabilities, user
	Cgroup      cgroups.Saved     `json:"cgroup"`
	Rootfs      string            `json:"rootfs,omitempty"`
	Kind        Kind              `json:"kind"`
	Monitor     int               `json:"monitor,omitempty"` // pid of the pbox that sets it up or waits for it
	Exit        *Exit             `json:"exit,omitempty"`
	// Addresses are the box's on its CNI network (pbox run --network).
	Addresses []string `json:"addresses,omitempty"`
	Poststart []Hook   `json:"poststart,omitempty"`
	Poststop  []Hook   `json:"poststop,omitempty"`

	unwritten bool // Read found the directory but no state.json
}

// Kind is how a box was started, which says who waits for it.
type Kind string

const (
	// KindForeground: pbox run. That pbox waits; the box's state lives as
	// long as it does.
	KindForeground Kind = "foreground"
	// KindDetached: pbox run -d. Its monitor waits and records the exit.
	KindDetached Kind = "detached"
	// KindCreated: pbox create. The engine that called it (containerd's
	// shim) waits; pbox records only the start.
	KindCreated Kind = "created"
)

// OCIState is the state the runtime-spec defines, for `pbox state` and hooks.
type OCIState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Pid         int               `json:"pid,omitempty"`
	Bundle      string            `json:"bundle"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Store is a state root directory, and how the boxes it starts get
// their cgroups.
type Store struct {
	Root string
	// SystemdCgroup makes each new box's cgroup a systemd scope
	// (--systemd-cgroup, as runc's): its cgroupsPath is SLICE:PREFIX:NAME.
	SystemdCgroup bool
}

// Sentinel errors, wrapped with the id.
var (
	ErrNoSuchBox = errors.New("box does not exist")
	ErrBoxExists = errors.New("a box with this id exists")
	ErrBadID     = errors.New("bad box id")
)

// ValidID checks an id: it becomes a directory name and a cgroup name, so
// 1-64 of [a-zA-Z0-9_.-], starting with a letter or digit. (Hand-written:
// a package-level regexp would be compiled at every start of pbox-init.)
func ValidID(id string) error {
	if len(id) == 0 || len(id) > 64 {
		return fmt.Errorf("%w %q: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit", ErrBadID, id)
	}
	for i, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '_' || r == '.' || r == '-'):
		default:
			return fmt.Errorf("%w %q: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit", ErrBadID, id)
		}
	}
	return nil
}

// Dir is the box's state directory.
func (s Store) Dir(id string) string { return filepath.Join(s.Root, id) }

// Path is a file in the box's state directory.
func (s Store) Path(id, name string) string { return filepath.Join(s.Root, id, name) }

// Lock is an exclusive flock on one box's state directory.
type Lock = flock.Lock

func lockDir(dir string) (*Lock, error) { return flock.Dir(dir, flock.Exclusive) }

// Claim makes the box's directory, locked: the mkdir is what makes an id
// unique, so of two pbox processes racing on one id exactly one wins.
func (s Store) Claim(id string) (*Lock, error) {
	if err := ValidID(id); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.Root, 0o711); err != nil {
		return nil, fmt.Errorf("state root %s: %w", s.Root, err)
	}
	s.registerRoot() // so that inspect finds its boxes from any root
	// The directory is made and locked under a name no box can have,
	// then renamed into place (never over an existing one): nobody ever
	// sees the box's directory unlocked while it has no record, so ps and
	// cleanup can take an unlocked, unwritten directory for an abandoned
	// claim (RemoveNeverStarted) without racing a claim in progress.
	dir := s.Dir(id)
	tmp, err := os.MkdirTemp(s.Root, ".claim-")
	if err != nil {
		return nil, fmt.Errorf("mkdir in %s: %w", s.Root, err)
	}
	l, err := lockDir(tmp)
	if err == nil {
		err = os.Chmod(tmp, 0o711)
	}
	if err == nil {
		err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_NOREPLACE)
		if errors.Is(err, unix.EEXIST) {
			err = fmt.Errorf("%w: %s (see `pbox ps -a`; remove it with `pbox rm %s`)", ErrBoxExists, id, id)
		} else if err != nil {
			err = fmt.Errorf("rename %s to %s: %w", tmp, dir, err)
		}
	}
	if err != nil {
		if l != nil {
			l.Unlock()
		}
		os.Remove(tmp)
		return nil, err
	}
	return l, nil
}

// Open locks an existing box and reads its record.
func (s Store) Open(id string) (*Record, *Lock, error) {
	if err := ValidID(id); err != nil {
		return nil, nil, err
	}
	l, err := lockDir(s.Dir(id))
	if errors.Is(err, unix.ENOENT) {
		return nil, nil, fmt.Errorf("%w: %s (see `pbox ps -a`)", ErrNoSuchBox, id)
	}
	if err != nil {
		return nil, nil, err
	}
	r, err := s.Read(id)
	if err != nil {
		l.Unlock()
		return nil, nil, err
	}
	if r.unwritten {
		// We hold the lock, so whoever claimed the id is gone without
		// writing a record: nothing ever ran (Abandoned).
		r.Status = StatusStopped
	}
	return r, l, nil
}

// Read reads a box's record without locking (for ps and state).
func (s Store) Read(id string) (*Record, error) {
	if err := ValidID(id); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(s.Path(id, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		if _, derr := os.Stat(s.Dir(id)); derr == nil {
			// Claimed, not yet written: a claim in progress (Claim's
			// caller writes the first record before unlocking), or one
			// whose pbox died in between.
			return &Record{ID: id, Status: StatusCreating, unwritten: true}, nil
		}
		return nil, fmt.Errorf("%w: %s (see `pbox ps -a`)", ErrNoSuchBox, id)
	}
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("state of %s: %w: remove it with `pbox rm -f %s`", id, err, id)
	}
	return &r, nil
}

// Write replaces the box's record atomically (write a temp file, rename).
func (s Store) Write(r *Record) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicWrite(s.Path(r.ID, "state.json"), append(data, '\n')); err != nil {
		return fmt.Errorf("write state of %s: %w", r.ID, err)
	}
	return nil
}

// atomicWrite replaces path with data: a temp file renamed over it.
func atomicWrite(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	// No fsync: state is about processes, which a power loss ends too
	// (and /run is a tmpfs on most hosts). The rename is what matters: a
	// reader, or a pbox killed mid-write, never sees half a file.
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// Remove deletes the box's state directory.
func (s Store) Remove(id string) error {
	if err := ValidID(id); err != nil {
		return err
	}
	// A box on a CNI network leaves it first (a no-op if it has).
	if err := s.releaseNetwork(id, logf.To(nil, "")); err != nil {
		return fmt.Errorf("box %s: %w (its state stays in %s for a later pbox rm or cleanup)", id, err, s.Dir(id))
	}
	s.removeMarkedCgroups(id)
	s.releaseAutoBlock(id)
	err := os.RemoveAll(s.Dir(id))
	s.unregisterRoot()
	return err
}

// removeMarkedCgroups removes the cgroup this root marked for box id
// (cgroupPathFile names it), whatever point its
// set-up died at: a pbox killed between the cgroup's mkdir and the record
// that names it leaves them marked but unrecorded, and the init of a
// killed pbox create may still wait in them. What runs there is the
// box's (the cgroup is marked: this root made it for this box) and is
// killed, as rm -f and runc delete --force do.
func (s Store) removeMarkedCgroups(id string) {
	recorded, err := os.ReadFile(s.Path(id, cgroupPathFile))
	if err != nil {
		return
	}
	marked, err := s.MarkedCgroups()
	if err != nil {
		return
	}
	mode := cgroups.DetectMode()
	for _, rel := range marked {
		// Only a cgroup still marked: this root made it, for this box.
		if rel != string(recorded) {
			continue
		}
		for try := 0; try < 50; try++ {
			_, busy, err := cgroups.RemoveLeftover(mode, cgroups.DefaultRoot, rel)
			if err != nil {
				break
			}
			if len(busy) == 0 {
				s.UnmarkCgroup(rel)
				break
			}
			for _, dir := range busy {
				killProcsIn(dir)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// killProcsIn sends SIGKILL to every process listed in a cgroup
// directory, through a pidfd (never a pid <= 1).
func killProcsIn(dir string) {
	data, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	for _, f := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 1 {
			continue
		}
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			unix.Close(fd)
		}
	}
}

// List returns the ids of all boxes, sorted.
func (s Store) List() ([]string, error) {
	entries, err := os.ReadDir(s.Root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && ValidID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Alive reports whether the record's init still runs: the pid exists and
// started when the record says (a pid reused by another process does not
// count), and it is not a zombie.
func (r *Record) Alive() bool {
	if r.Pid <= 0 {
		return false
	}
	start, state, err := procStart(r.Pid)
	if err != nil || state == 'Z' || state == 'X' {
		return false
	}
	return r.PidStart == 0 || start == r.PidStart
}

// monitorRunning says whether the pbox that sets the box up or watches it
// still runs (a zombie does not). Once not, nothing more will be
// recorded. The process's state says so, not its cmdline: that reads
// empty for a moment while the process exec's, and the monitor exec's
// pbox as it starts, which made a racing pbox run take a box being set
// up for one abandoned, remove it and start its own under the same name.
func (r *Record) monitorRunning() bool {
	if r.Monitor <= 1 {
		return false
	}
	_, state, err := procStart(r.Monitor)
	return err == nil && state != 'Z' && state != 'X'
}

// Status is the box's status now, from the record and the live system.
func (s Store) Status(r *Record) string {
	if r.Exit != nil || r.Status == StatusStopped {
		return StatusStopped
	}
	if !r.Alive() {
		if r.Status == StatusCreating && r.Pid == 0 {
			// Still being set up, unless the pbox setting it up is gone.
			if r.unwritten {
				if l, err := tryLock(s.Dir(r.ID)); err == nil {
					l.Unlock()
					return StatusStopped
				}
				return StatusCreating
			}
			if r.monitorRunning() {
				return StatusCreating
			}
		}
		return StatusStopped
	}
	if _, err := os.Stat(s.Path(r.ID, "exec.fifo")); err == nil {
		return StatusCreated
	}
	if frozen, _ := cgroups.Reopen(r.Cgroup, nil).Frozen(); frozen {
		return StatusPaused
	}
	return StatusRunning
}

// tryLock takes the lock only if nobody holds it.
func tryLock(dir string) (*Lock, error) {
	return flock.Dir(dir, flock.Exclusive|flock.NoWait)
}

// OCI is the runtime-spec state of the box now.
func (s Store) OCI(r *Record) OCIState {
	st := OCIState{OCIVersion: OCIVersion, ID: r.ID, Status: s.Status(r), Bundle: r.Bundle, Annotations: r.Annotations}
	// "paused" is not in the runtime-spec, but runc reports it and
	// containerd's shim understands it.
	if st.Status != StatusStopped {
		st.Pid = r.Pid
	}
	return st
}

// OCIVersion is the runtime-spec version pbox follows, writes and reports:
// the one constant every record, state and config uses.
const OCIVersion = oci.Version

// procStart reads the start time (clock ticks after boot) and the state
// letter of pid from /proc/<pid>/stat.
func procStart(pid int) (uint64, byte, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	return parseProcStart("/proc/"+strconv.Itoa(pid)+"/stat", data)
}

// procStartAt is procStart through an open /proc/<pid> directory.
func procStartAt(dir int) (uint64, byte, error) {
	fd, err := unix.Openat(dir, "stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, err
	}
	f := os.NewFile(uintptr(fd), "stat")
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return 0, 0, err
	}
	return parseProcStart("/proc/PID/stat", data)
}

func parseProcStart(name string, data []byte) (uint64, byte, error) {
	// comm may hold spaces and parentheses: fields start after the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("%s: malformed", name)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("%s: malformed", name)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	return start, f[0][0], err
}

// eventsName is a box's event log in its state directory: one JSON line
// per Event.
const eventsName = "events.jsonl"

// Finished reports whether box rec has stopped for good: stopped, with
// its exit recorded or nobody left to record it. Logs and Events follow a
// box until then.
func (s Store) Finished(rec *Record) bool {
	return s.Status(rec) == StatusStopped && (rec.Exit != nil || !rec.monitorRunning())
}

// Events writes box id's events (JSON lines) to w; with follow, also the
// ones that come, until the box has finished.
func (s Store) Events(id string, follow bool, w io.Writer) error {
	var offset int64
	for {
		data, _ := os.ReadFile(s.Path(id, eventsName))
		if int64(len(data)) > offset {
			chunk := data[offset:]
			if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
				if _, err := w.Write(chunk[:i+1]); err != nil {
					return err
				}
				offset += int64(i + 1)
			}
		}
		if !follow {
			return nil
		}
		rec, err := s.Read(id)
		if err != nil || s.Finished(rec) {
			// What the last write added, then stop.
			data, _ := os.ReadFile(s.Path(id, eventsName))
			if int64(len(data)) > offset {
				_, err := w.Write(data[offset:])
				return err
			}
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// AppendEvent adds one JSON line to the box's events file.
func (s Store) AppendEvent(id string, ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	ev.ID = id
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(s.Path(id, eventsName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(append(data, '\n'))
	return err
}

// Event is one line of `pbox events`.
type Event struct {
	Type     string    `json:"type"` // start, oom, exit
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Pid      int       `json:"pid,omitempty"`
	Status   *int      `json:"status,omitempty"`    // exit
	OOMKills uint64    `json:"oom_kills,omitempty"` // oom
}
