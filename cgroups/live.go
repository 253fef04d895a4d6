package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// What a box needs from its cgroup after the pbox that made it has gone:
// `pbox delete`, `stats`, `pause` and `update` run in other processes, so
// the cgroup is saved with the box's state and reopened from it.

// Saved is a Cgroup as written to a box's state file.
type Saved struct {
	Mode   Mode     `json:"mode"`
	Root   string   `json:"root"`
	Rel    string   `json:"path"`
	V2Dir  string   `json:"v2_dir,omitempty"`
	V1Dirs []string `json:"v1_dirs,omitempty"`
	Limits Limits   `json:"limits"`
	// Scope is the systemd unit the cgroup is (--systemd-cgroup).
	Scope *SystemdScope `json:"systemd_scope,omitempty"`
}

// Save describes c for Reopen.
func (c *Cgroup) Save() Saved {
	return Saved{Mode: c.mode, Root: c.root, Rel: c.rel, V2Dir: c.v2dir, V1Dirs: c.v1dirs, Limits: c.limits, Scope: c.scope}
}

// Reopen returns the cgroup Save described. It touches nothing.
func Reopen(s Saved, log Logf) *Cgroup {
	return &Cgroup{mode: s.Mode, root: s.Root, rel: s.Rel, v2dir: s.V2Dir, v1dirs: s.V1Dirs, limits: s.Limits, scope: s.Scope, log: log}
}

// applyDevices sets the device access list: on v2 as an eBPF program
// (devicefilter.go), on v1 and hybrid hosts the rules in order, each to
// devices.allow or devices.deny, as runc does.
func (c *Cgroup) applyDevices() error {
	if len(c.limits.Devices) == 0 {
		return nil
	}
	if c.mode == V2 {
		c.log.Printf("cgroup: attach a device filter (eBPF, %d rules) to %s", len(c.limits.Devices), c.v2dir)
		return attachDeviceFilter(c.v2dir, c.limits.Devices)
	}
	dir := filepath.Join(c.root, "devices", c.rel)
	for _, d := range c.limits.Devices {
		file := "devices.deny"
		if d.Allow {
			file = "devices.allow"
		}
		if err := c.write(filepath.Join(dir, file), d.String()); err != nil {
			return err
		}
	}
	return nil
}

// freezeFile is cgroup v2's freezer: core cgroup2, present without any
// controller, so the tracking tree of a hybrid host has it too.
func (c *Cgroup) freezeFile() (string, error) {
	if c.mode == None {
		return "", fmt.Errorf("%w: pausing needs the box's own cgroup (its freezer)", ErrNoCgroup)
	}
	if c.v2dir == "" {
		return "", fmt.Errorf("%w: freezer: pbox pauses boxes with cgroup v2's cgroup.freeze, and this host has no cgroup2 tree", ErrNoCtrl)
	}
	return filepath.Join(c.v2dir, "cgroup.freeze"), nil
}

// Freeze stops (true) or resumes (false) every process in the box and
// waits until the kernel says it is done.
func (c *Cgroup) Freeze(frozen bool) error {
	file, err := c.freezeFile()
	if err != nil {
		return err
	}
	want := "0"
	if frozen {
		want = "1"
	}
	if err := c.write(file, want); err != nil {
		return err
	}
	// cgroup.events says "frozen 1" once every task has stopped.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if f, _ := c.Frozen(); f == frozen {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("cgroup %s: still not %s after 5s", c.rel, map[bool]string{true: "frozen", false: "thawed"}[frozen])
}

// Frozen reports whether the box is paused.
func (c *Cgroup) Frozen() (bool, error) {
	if c.v2dir == "" {
		return false, nil
	}
	n, _ := statKey(filepath.Join(c.v2dir, "cgroup.events"), "frozen")
	return n == 1, nil
}

// Update changes the limits of a live box (its device list stays). On v2
// a limit needs its controller enabled for the box's cgroup; on v1 the
// box is in every hierarchy already.
func (c *Cgroup) Update(l Limits) error {
	if c.mode == None {
		return fmt.Errorf("%w: limits need one", ErrNoCgroup)
	}
	if len(l.Devices) > 0 {
		return fmt.Errorf("%w: devices: the device list of a running box cannot be changed", ErrNotApplied)
	}
	if l.CheckBeforeUpdate && l.MemoryBytes > 0 {
		// The runtime-spec's memory.checkBeforeUpdate: a limit below what
		// the box uses now would OOM-kill it at once; refuse it instead.
		if st, err := c.Stats(); err == nil && st.MemoryBytes > uint64(l.MemoryBytes) {
			return fmt.Errorf("%w: memory limit %d: the box uses %d bytes now (checkBeforeUpdate): give a higher limit", ErrNotApplied, l.MemoryBytes, st.MemoryBytes)
		}
	}
	next := *c
	next.limits = l
	if l.CPUQuota > 0 && l.CPUPeriod == 0 {
		next.limits.CPUPeriod = DefaultCPUPeriod
	}
	for _, ctrl := range next.controllersNeeded() {
		if c.mode == V2 {
			ctrls, _ := os.ReadFile(filepath.Join(c.v2dir, "cgroup.controllers"))
			if !contains(strings.Fields(string(ctrls)), ctrl) {
				return fmt.Errorf("%w: %s is not enabled for this box's cgroup %s", ErrNoCtrl, ctrl, c.v2dir)
			}
			continue
		}
		if !contains(c.v1dirs, filepath.Join(c.root, ctrl, c.rel)) {
			return fmt.Errorf("%w: %s: the box was created without a %s limit, and pbox does not move a running box into a new hierarchy: recreate it with the limit", ErrNoCtrl, ctrl, ctrl)
		}
	}
	next.limits.Devices = c.limits.Devices
	if err := next.applyLimits(); err != nil {
		return err
	}
	if err := next.verify(); err != nil {
		return err
	}
	if err := next.setScopeProperties(); err != nil {
		return err
	}
	c.limits = next.limits
	return nil
}

// Limits are the limits the box has now.
func (c *Cgroup) Limits() Limits { return c.limits }

// Stats is a box's resource use, read from its cgroup.
type Stats struct {
	MemoryBytes uint64 `json:"memory_bytes"`  // usage now
	MemoryLimit int64  `json:"memory_limit"`  // 0: none
	CPUNanos    uint64 `json:"cpu_ns"`        // CPU time used so far
	CPUQuota    int64  `json:"cpu_quota_us"`  // 0: none
	CPUPeriod   uint64 `json:"cpu_period_us"` // with CPUQuota
	Pids        uint64 `json:"pids"`          // tasks now
	PidsLimit   int64  `json:"pids_limit"`    // 0: none
	OOMKills    uint64 `json:"oom_kills"`     // since the box started
	Frozen      bool   `json:"paused"`        // cgroup freezer
	// BlockIO is what the box read from and wrote to block devices; nil
	// where its cgroup does not count it: on v2 without the io controller
	// (pbox enables it only for a block I/O limit), on v1 where the kernel
	// counts nothing for it (parseServiceBytes).
	BlockIO *IOBytes `json:"block_io,omitempty"`
	Partial string   `json:"partial,omitempty"` // what could not be read, and why
	Dirs    []string `json:"cgroup_dirs"`       // where the numbers come from
}

// Stats reads the box's usage. Figures that need a controller the box
// does not have come from where they can: pids from the tracking tree,
// CPU time from cgroup2's cpu.stat (always present) or v1 cpuacct.
func (c *Cgroup) Stats() (Stats, error) {
	s := Stats{MemoryLimit: c.limits.MemoryBytes, CPUQuota: c.limits.CPUQuota, CPUPeriod: c.limits.CPUPeriod, PidsLimit: c.limits.PidsMax, Dirs: c.Dirs()}
	if c.mode == None {
		s.Partial = "not measured: the box has no cgroup of its own (a rootless box where no cgroup is delegated to its user)"
		return s, nil
	}
	var missing []string
	readUint := func(file string) (uint64, bool) {
		data, err := os.ReadFile(file)
		if err != nil {
			return 0, false
		}
		n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
		return n, err == nil
	}
	if procs, err := c.Procs(); err == nil {
		s.Pids = uint64(len(procs))
	} else {
		return s, err
	}
	if c.v2dir != "" {
		if n, ok := statKey(filepath.Join(c.v2dir, "cpu.stat"), "usage_usec"); ok {
			s.CPUNanos = n * 1000
		} else {
			missing = append(missing, "cpu")
		}
		if c.mode == V2 {
			if n, ok := readUint(filepath.Join(c.v2dir, "memory.current")); ok {
				s.MemoryBytes = n
			} else {
				missing = append(missing, "memory (the memory controller is not enabled for this box: give it a --memory limit)")
			}
			if n, ok := readUint(filepath.Join(c.v2dir, "pids.current")); ok {
				s.Pids = n // counts threads too, as the limit does
			}
		}
	}
	if c.mode != V2 {
		mem := filepath.Join(c.root, "memory", c.rel)
		if n, ok := readUint(filepath.Join(mem, "memory.usage_in_bytes")); ok {
			s.MemoryBytes = n
		} else {
			missing = append(missing, "memory (the box has no v1 memory cgroup: give it a --memory limit)")
		}
		if n, ok := readUint(filepath.Join(c.root, "pids", c.rel, "pids.current")); ok {
			s.Pids = n
		}
		if c.v2dir == "" {
			if n, ok := readUint(filepath.Join(c.root, "cpu", c.rel, "cpuacct.usage")); ok {
				s.CPUNanos = n
			} else {
				missing = append(missing, "cpu (the box has no v1 cpu,cpuacct cgroup: give it a --cpus limit)")
			}
		}
	}
	if n, err := c.OOMKills(); err == nil {
		s.OOMKills = n
	}
	s.BlockIO = c.blockIO()
	s.Frozen, _ = c.Frozen()
	if len(missing) > 0 {
		s.Partial = "not measured: " + strings.Join(missing, "; ")
	}
	return s, nil
}

// IOBytes are bytes read from and written to block devices.
type IOBytes struct {
	Read  uint64 `json:"read_bytes"`
	Write uint64 `json:"write_bytes"`
}

// blockIO sums the box's block I/O over its devices, from io.stat on v2
// and blkio.throttle.io_service_bytes_recursive on v1.
func (c *Cgroup) blockIO() *IOBytes {
	if c.mode == V2 {
		data, err := os.ReadFile(filepath.Join(c.v2dir, "io.stat"))
		if err != nil {
			return nil // no io controller for this box
		}
		return parseIOStat(data)
	}
	dir := filepath.Join(c.root, "blkio", c.rel)
	if !contains(c.v1dirs, dir) {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, "blkio.throttle.io_service_bytes_recursive"))
	if err != nil {
		return nil
	}
	return parseServiceBytes(data)
}

// parseIOStat sums v2 io.stat's rbytes and wbytes ("8:0 rbytes=N wbytes=N
// rios=N ..." per device; an empty file is a box that did no I/O).
func parseIOStat(data []byte) *IOBytes {
	var io IOBytes
	for _, kv := range strings.Fields(string(data)) {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 64)
		switch {
		case err != nil:
		case k == "rbytes":
			io.Read += n
		case k == "wbytes":
			io.Write += n
		}
	}
	return &io
}

// parseServiceBytes sums the Read and Write lines of v1's
// blkio.throttle.io_service_bytes_recursive ("8:0 Read N"). Without a
// device line it is nil, not zero: kernels since the blk-throttle rework
// (seen on 6.18) account only throttled cgroups there, and show just
// "Total 0" for every other, however much it wrote.
func parseServiceBytes(data []byte) *IOBytes {
	var io IOBytes
	devices := false
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		devices = true
		n, err := strconv.ParseUint(f[2], 10, 64)
		switch {
		case err != nil:
		case f[1] == "Read":
			io.Read += n
		case f[1] == "Write":
			io.Write += n
		}
	}
	if !devices {
		return nil
	}
	return &io
}

// statKey reads one "key value" line of a flat-keyed cgroup file
// (cpu.stat, memory.events, memory.oom_control, cgroup.events).
func statKey(file, key string) (uint64, bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	n, found, err := flatKey(f, key)
	return n, found && err == nil
}
