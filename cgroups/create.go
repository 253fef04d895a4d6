package cgroups

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pbox-dev/pbox/internal/flock"
	"golang.org/x/sys/unix"
)

// Creating a box's cgroup: its directories in every hierarchy it needs,
// the controllers enabled down to it, the lock that keeps cleanup away
// until the box's first process is in.

// Create makes the box's cgroup and applies its limits. On any error
// nothing is left behind.
func Create(s Spec) (*Cgroup, error) {
	if s.Root == "" {
		s.Root = DefaultRoot
	}
	if s.Parent != "" { // "" puts the box at the top of each hierarchy
		if err := ValidPath(s.Parent); err != nil {
			return nil, err
		}
	}
	c := &Cgroup{
		mode:   s.Mode,
		root:   s.Root,
		rel:    "/" + filepath.Join(strings.Trim(s.Parent, "/"), s.Name),
		limits: s.Limits,
		log:    s.Log,
	}
	if s.Systemd {
		if s.Mode != V2 {
			return nil, fmt.Errorf("%w: pbox asks systemd for a box's scope on a pure cgroup v2 host only; this one has %s cgroups: leave out --systemd-cgroup", ErrNoSystemd, s.Mode)
		}
		if !exists(systemdRunning) {
			// sd_booted(3)'s test, before anything is made.
			return nil, fmt.Errorf("%w: systemd is not PID 1 here (no %s): leave out --systemd-cgroup", ErrNoSystemd, systemdRunning)
		}
		scope, err := ScopeOf(c.rel)
		if err != nil {
			return nil, err
		}
		c.scope = &scope
	}
	var err error
	switch s.Mode {
	case None:
		// Device rules need a cgroup too; a box without one is in a user
		// namespace, where it can make no device node and opens only what
		// its user could (see box's rootless).
		c.limits.Devices = nil
		if ctrls := c.controllersNeeded(); len(ctrls) > 0 {
			return nil, fmt.Errorf("%w: %s needs one", ErrNoCgroup, strings.Join(ctrls, ", "))
		}
		return c, nil
	case V2:
		err = c.createUnified(c.root, c.controllersNeeded())
	case Hybrid:
		// The cgroup2 tree of a hybrid host has no controllers, but a box
		// born into it (CLONE_INTO_CGROUP) is tracked and killable for
		// free; v1 hierarchies are joined only for the limits.
		if err = c.createUnified(filepath.Join(c.root, "unified"), c.hybridUnifiedControllers()); err == nil {
			err = c.createV1(c.controllersNeeded())
		}
	case V1:
		err = c.createV1(c.controllersNeeded())
	default:
		return nil, fmt.Errorf("%w at %s: is cgroupfs mounted?", ErrUnavailable, s.Root)
	}
	if err == nil {
		err = c.applyLimits()
	}
	if err == nil {
		err = c.applyDevices()
	}
	if err != nil {
		c.Destroy()
		return nil, err
	}
	if err := c.verify(); err != nil {
		c.Destroy()
		return nil, err
	}
	return c, nil
}

// controllersNeeded lists the controllers the limits need, in the order
// they are reported. On a pure v1 host, pids is always joined to track the
// box's processes (hybrid and v2 hosts track them in the cgroup2 tree).
func (c *Cgroup) controllersNeeded() []string {
	var ctrls []string
	l := c.limits
	if l.MemoryBytes > 0 || l.MemoryReservation > 0 || l.MemorySwappiness != nil || l.DisableOOMKiller {
		ctrls = append(ctrls, "memory")
	}
	if l.CPUQuota > 0 || l.CPUShares > 0 || l.CPUBurst != nil || l.CPUIdle != nil || l.CPURealtimePeriod > 0 || l.CPURealtimeRuntime != 0 {
		ctrls = append(ctrls, "cpu")
	}
	if c.limits.PidsMax > 0 || c.mode == V1 {
		ctrls = append(ctrls, "pids")
	}
	if len(c.limits.Devices) > 0 && c.mode != V2 {
		ctrls = append(ctrls, "devices")
	}
	if c.limits.CpusetCpus != "" || c.limits.CpusetMems != "" {
		ctrls = append(ctrls, "cpuset")
	}
	if l.BlkioWeight > 0 || l.BlkioLeafWeight > 0 || len(l.BlkioWeightDevice) > 0 || len(l.BlkioThrottle) > 0 {
		ctrls = append(ctrls, c.ioController())
	}
	if len(l.Hugetlb) > 0 && !(c.mode == Hybrid && c.onUnified("hugetlb")) {
		ctrls = append(ctrls, "hugetlb")
	}
	if len(l.Rdma) > 0 {
		ctrls = append(ctrls, "rdma")
	}
	if l.NetClassID != nil {
		ctrls = append(ctrls, "net_cls")
	}
	if len(l.NetPriorities) > 0 {
		ctrls = append(ctrls, "net_prio")
	}
	if c.mode == V2 {
		for k := range l.Unified {
			if ctrl, _, _ := strings.Cut(k, "."); ctrl != "cgroup" && !contains(ctrls, ctrl) {
				ctrls = append(ctrls, ctrl)
			}
		}
	}
	return ctrls
}

// limitsOf names what asks for a controller: the pbox run flags and the
// runtime-spec fields.
func limitsOf(ctrl string) string {
	what, ok := map[string]string{
		"memory": "--memory, linux.resources.memory", "cpu": "--cpus, linux.resources.cpu",
		"pids": "--pids-limit, linux.resources.pids", "cpuset": "linux.resources.cpu.cpus/mems",
		"blkio": "linux.resources.blockIO", "io": "linux.resources.blockIO",
		"hugetlb": "linux.resources.hugepageLimits", "rdma": "linux.resources.rdma",
		"net_cls": "linux.resources.network.classID", "net_prio": "linux.resources.network.priorities",
		"devices": "--device, linux.resources.devices",
	}[ctrl]
	if !ok {
		return "linux.resources.unified"
	}
	return what
}

// hybridUnifiedControllers are the controllers a hybrid host's limits
// need in its cgroup2 tree: those it mounts nowhere else (hugetlb, often).
func (c *Cgroup) hybridUnifiedControllers() []string {
	if len(c.limits.Hugetlb) > 0 && c.onUnified("hugetlb") {
		return []string{"hugetlb"}
	}
	return nil
}

// checkFree refuses a directory that holds processes (a running box with
// the same name) and removes an empty leftover (a box whose pbox was
// SIGKILLed before it could clean up).
func (c *Cgroup) checkFree(dir string) error {
	procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil // nothing there (or not a cgroup: mkdir will say so)
	}
	if len(bytes.TrimSpace(procs)) > 0 {
		return fmt.Errorf("%w: %s holds processes: pick another --name, or stop that box", ErrBoxExists, dir)
	}
	c.log.Printf("cgroup: rmdir %s (empty, left by an earlier box)", dir)
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove stale cgroup %s: %w", dir, err)
	}
	return nil
}

// createUnified makes the box's directory in the cgroup2 tree at top,
// with ctrls enabled from top down to it.
func (c *Cgroup) createUnified(top string, ctrls []string) error {
	dir := filepath.Join(top, c.rel)
	if len(ctrls) > 0 {
		available, err := os.ReadFile(filepath.Join(top, "cgroup.controllers"))
		if err != nil {
			return fmt.Errorf("read %s: %w", filepath.Join(top, "cgroup.controllers"), err)
		}
		have := strings.Fields(string(available))
		for _, ctrl := range ctrls {
			if !contains(have, ctrl) {
				return fmt.Errorf("%w: %s (%s/cgroup.controllers lists: %s): enable it in the kernel or boot with it, or drop the limit that needs it (%s)",
					ErrNoCtrl, ctrl, top, strings.Join(have, " "), limitsOf(ctrl))
			}
		}
	}
	if err := c.checkFree(dir); err != nil {
		return err
	}
	// A controller works in a cgroup only if every ancestor enables it
	// for its children, from the top down to the box's parent.
	parent := top
	for _, part := range strings.Split(strings.Trim(filepath.Dir(c.rel), "/"), "/") {
		if err := c.enableControllers(parent, ctrls); err != nil {
			return err
		}
		if part == "" {
			break
		}
		parent = filepath.Join(parent, part)
		if err := c.mkdir(parent); err != nil {
			return err
		}
	}
	if parent != top {
		if err := c.enableControllers(parent, ctrls); err != nil {
			return err
		}
	}
	if err := c.lockParent(parent); err != nil {
		return err
	}
	if err := c.mkdir(dir); err != nil {
		return err
	}
	c.v2dir = dir
	return nil
}

// enableControllers writes "+ctrl" to dir's cgroup.subtree_control for
// each controller not yet enabled there.
func (c *Cgroup) enableControllers(dir string, ctrls []string) error {
	if len(ctrls) == 0 {
		return nil
	}
	file := filepath.Join(dir, "cgroup.subtree_control")
	cur, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, explain(err))
	}
	var add []string
	for _, ctrl := range ctrls {
		if !contains(strings.Fields(string(cur)), ctrl) {
			add = append(add, "+"+ctrl)
		}
	}
	if len(add) == 0 {
		return nil
	}
	return c.write(file, strings.Join(add, " "))
}

// createV1 makes the box's directory in every v1 hierarchy (see v1.go),
// after checking that the controllers its limits need are there.
func (c *Cgroup) createV1(ctrls []string) error {
	for _, ctrl := range ctrls {
		if !exists(filepath.Join(c.root, ctrl, "cgroup.procs")) {
			return fmt.Errorf("%w: %s (no v1 hierarchy at %s): mount it, or drop the limit that needs it (%s)",
				ErrNoCtrl, ctrl, filepath.Join(c.root, ctrl), limitsOf(ctrl))
		}
	}
	all, err := hierarchies(c.root)
	if err != nil {
		return err
	}
	for _, h := range all {
		if err := c.checkFree(filepath.Join(c.root, h, c.rel)); err != nil {
			return err
		}
	}
	for _, h := range all {
		dir := filepath.Join(c.root, h, c.rel)
		if err := c.mkdirAll(filepath.Join(c.root, h), filepath.Dir(c.rel)); err != nil {
			return err
		}
		if c.mode == V1 && h == "pids" { // the tracker on a pure v1 host
			if err := c.lockParent(filepath.Dir(dir)); err != nil {
				return err
			}
		}
		if err := c.mkdir(dir); err != nil {
			return err
		}
		c.v1dirs = append(c.v1dirs, dir)
		if err := c.inheritCpuset(dir); err != nil {
			return err
		}
	}
	return nil
}

// trackerTop is the hierarchy whose directories say which boxes exist.
func trackerTop(mode Mode, root string) string {
	switch mode {
	case Hybrid:
		return filepath.Join(root, "unified")
	case V1:
		return filepath.Join(root, "pids")
	}
	return root
}

// lockParent takes a shared flock on the parent directory in the
// tracking hierarchy until Placed: a box's cgroup is empty between its
// mkdir and the clone, and RemoveLeftover (exclusive) must not take it for a
// leftover.
func (c *Cgroup) lockParent(dir string) error {
	l, err := flock.Dir(dir, flock.Shared)
	if err != nil {
		return fmt.Errorf("lock %s: %w", dir, err)
	}
	c.parentLock = l
	return nil
}

// Placed says the box's first process is in its cgroup, which is no
// longer empty: pbox cleanup may run again.
func (c *Cgroup) Placed() {
	c.parentLock.Unlock()
	c.parentLock = nil
}

// mkdirAll creates root/rel one level at a time, logging each new level.
func (c *Cgroup) mkdirAll(root, rel string) error {
	dir := root
	for _, part := range strings.Split(strings.Trim(rel, "/"), "/") {
		dir = filepath.Join(dir, part)
		if err := c.mkdir(dir); err != nil {
			return err
		}
		if err := c.inheritCpuset(dir); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cgroup) mkdir(dir string) error {
	err := unix.Mkdir(dir, 0o755)
	if errors.Is(err, unix.EEXIST) {
		if st, serr := os.Stat(dir); serr == nil && st.IsDir() {
			return nil
		}
		err = unix.ENOTDIR
	}
	if err != nil {
		return fmt.Errorf("mkdir %s: %w", dir, explain(err))
	}
	c.log.Printf("cgroup: mkdir %s", dir)
	return nil
}
