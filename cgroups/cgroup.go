package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cgroupsv3 "github.com/containerd/cgroups/v3"
	"golang.org/x/sys/unix"
)

// Mode is the cgroup layout of a host.
type Mode int

const (
	Unavailable Mode = iota
	V1               // legacy: only v1 hierarchies
	Hybrid           // v1 controllers plus an (unused) cgroup2 tree
	V2               // unified
)

func (m Mode) String() string {
	switch m {
	case V1:
		return "v1"
	case Hybrid:
		return "hybrid"
	case V2:
		return "v2"
	}
	return "unavailable"
}

// DefaultRoot is where every distribution mounts cgroupfs.
const DefaultRoot = "/sys/fs/cgroup"

// DetectMode asks containerd/cgroups how this host mounts cgroups.
func DetectMode() Mode {
	switch cgroupsv3.Mode() {
	case cgroupsv3.Legacy:
		return V1
	case cgroupsv3.Hybrid:
		return Hybrid
	case cgroupsv3.Unified:
		return V2
	}
	return Unavailable
}

// Logf receives one line per step; nil means quiet.
type Logf func(format string, args ...any)

func (l Logf) printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}

// Spec says where a box's cgroup goes.
type Spec struct {
	Mode   Mode   // from DetectMode, or a fake for tests
	Root   string // cgroupfs mount point; DefaultRoot if empty
	Parent string // e.g. "pbox"; relative to the hierarchy's root
	Name   string // the box's name, the leaf directory
	Limits Limits
	Log    Logf
}

// Cgroup is one box's cgroup, in one or several hierarchies.
type Cgroup struct {
	mode   Mode
	root   string
	rel    string   // "/<parent>/<name>", the same in every hierarchy
	v2dir  string   // the box's directory in a cgroup2 tree, if any
	v1dirs []string // the v1 hierarchies joined, one directory each
	lockFD int      // shared flock on the parent until Placed; -1 if none
	limits Limits
	log    Logf
}

// ValidPath checks a cgroup path given by a user (--cgroup-parent): no
// "..", nothing that would leave the hierarchy.
func ValidPath(p string) error {
	if p == "" {
		return fmt.Errorf("cgroup path is empty")
	}
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		if part == ".." || part == "." {
			return fmt.Errorf("cgroup path %q: %q is not allowed", p, part)
		}
	}
	return nil
}

// ValidParent checks a --cgroup-parent: a relative path inside the
// hierarchy ("pbox", "lab/web"). An absolute one is refused, not read as
// relative: "/" would put boxes among the host's top-level cgroups, and
// "/sys/fs/cgroup/x" is a filesystem path, not a cgroup path.
func ValidParent(p string) error {
	if err := ValidPath(p); err != nil {
		return err
	}
	if strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
		return fmt.Errorf("cgroup path %q: give a path relative to the root of each hierarchy, e.g. pbox or lab/boxes (not /, not /sys/fs/cgroup/...)", p)
	}
	return nil
}

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
		lockFD: -1,
		mode:   s.Mode,
		root:   s.Root,
		rel:    "/" + filepath.Join(strings.Trim(s.Parent, "/"), s.Name),
		limits: s.Limits,
		log:    s.Log,
	}
	var err error
	switch s.Mode {
	case V2:
		err = c.createUnified(c.root, c.controllersNeeded())
	case Hybrid:
		// The cgroup2 tree of a hybrid host has no controllers, but a box
		// born into it (CLONE_INTO_CGROUP) is tracked and killable for
		// free; v1 hierarchies are joined only for the limits.
		if err = c.createUnified(filepath.Join(c.root, "unified"), nil); err == nil {
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

// Dirs lists the box's cgroup directories (one per joined hierarchy).
func (c *Cgroup) Dirs() []string {
	var dirs []string
	if c.v2dir != "" {
		dirs = append(dirs, c.v2dir)
	}
	return append(dirs, c.v1dirs...)
}

// controllersNeeded lists the controllers the limits need, in the order
// they are reported. On a pure v1 host, pids is always joined to track the
// box's processes (hybrid and v2 hosts track them in the cgroup2 tree).
func (c *Cgroup) controllersNeeded() []string {
	var ctrls []string
	if c.limits.MemoryBytes > 0 {
		ctrls = append(ctrls, "memory")
	}
	if c.limits.CPUQuota > 0 || c.limits.CPUShares > 0 {
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
	return ctrls
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
	c.log.printf("cgroup: rmdir %s (empty, left by an earlier box)", dir)
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
				return fmt.Errorf("%w: %s (%s/cgroup.controllers lists: %s): enable it in the kernel or boot with it, or drop the limit that needs it",
					ErrNoCtrl, ctrl, top, strings.Join(have, " "))
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
			return fmt.Errorf("%w: %s (no v1 hierarchy at %s): mount it, or drop the limit that needs it",
				ErrNoCtrl, ctrl, filepath.Join(c.root, ctrl))
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
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	if err := unix.Flock(fd, unix.LOCK_SH); err != nil {
		unix.Close(fd)
		return fmt.Errorf("lock %s: %w", dir, err)
	}
	c.lockFD = fd
	return nil
}

// Placed says the box's first process is in its cgroup, which is no
// longer empty: pbox cleanup may run again.
func (c *Cgroup) Placed() {
	if c.lockFD >= 0 {
		unix.Close(c.lockFD)
		c.lockFD = -1
	}
}

// applyLimits writes every limit file, in order.
func (c *Cgroup) applyLimits() error {
	for _, s := range c.expected() {
		if err := c.write(s.file, s.value); err != nil {
			return err
		}
	}
	return nil
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
	c.log.printf("cgroup: mkdir %s", dir)
	return nil
}

func (c *Cgroup) write(file, value string) error {
	c.log.printf("cgroup: write %q to %s", value, file)
	if err := writeFile(file, value); err != nil {
		return fmt.Errorf("write %q to %s: %w", value, file, explain(err))
	}
	return nil
}

// writeFile writes a cgroup file with plain syscalls: os.WriteFile would
// also try to add each file to the runtime's poller (an epoll_ctl that
// fails for regular files), and a box start writes a few dozen of them.
func writeFile(file, value string) error {
	fd, err := unix.Open(file, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0) // as os.WriteFile (a fake cgroupfs in tests needs O_CREAT)
	if err != nil {
		return &os.PathError{Op: "open", Path: file, Err: err}
	}
	_, err = unix.Write(fd, []byte(value))
	unix.Close(fd)
	if err != nil {
		return &os.PathError{Op: "write", Path: file, Err: err}
	}
	return nil
}

// setting is one limit file and the value it must hold.
type setting struct {
	file, value string // what is written
	want        string // what reading it back must give; "" = it was taken
}

func exact(file, value string) setting { return setting{file, value, value} }

// expected lists every limit file in the order it is written.
func (c *Cgroup) expected() []setting {
	l := c.limits
	var s []setting
	if c.mode == V2 {
		dir := c.v2dir
		if l.MemoryBytes > 0 {
			s = append(s, exact(filepath.Join(dir, "memory.max"), strconv.FormatInt(l.MemoryBytes, 10)))
			if exists(filepath.Join(dir, "memory.swap.max")) {
				// Without it a memory hog on a host with swap pages out
				// instead of being OOM-killed. v2 counts swap alone.
				swap := "0"
				switch {
				case l.SwapBytes < 0:
					swap = "max"
				case l.SwapBytes > l.MemoryBytes:
					swap = strconv.FormatInt(l.SwapBytes-l.MemoryBytes, 10)
				}
				s = append(s, exact(filepath.Join(dir, "memory.swap.max"), swap))
			}
		}
		if l.MemoryReservation > 0 {
			s = append(s, exact(filepath.Join(dir, "memory.low"), strconv.FormatInt(l.MemoryReservation, 10)))
		}
		if l.CpusetCpus != "" {
			s = append(s, setting{filepath.Join(dir, "cpuset.cpus"), l.CpusetCpus, ""})
		}
		if l.CpusetMems != "" {
			s = append(s, setting{filepath.Join(dir, "cpuset.mems"), l.CpusetMems, ""})
		}
		if l.CPUQuota > 0 {
			s = append(s, exact(filepath.Join(dir, "cpu.max"), fmt.Sprintf("%d %d", l.CPUQuota, l.CPUPeriod)))
		}
		if l.CPUShares > 0 {
			s = append(s, exact(filepath.Join(dir, "cpu.weight"), strconv.FormatUint(SharesToWeight(l.CPUShares), 10)))
		}
		if l.PidsMax > 0 {
			s = append(s, exact(filepath.Join(dir, "pids.max"), strconv.FormatInt(l.PidsMax, 10)))
		}
		return s
	}
	if l.MemoryBytes > 0 {
		dir := filepath.Join(c.root, "memory", c.rel)
		// The kernel rounds the v1 limit down to a page.
		page := int64(os.Getpagesize())
		v := strconv.FormatInt(l.MemoryBytes, 10)
		rounded := strconv.FormatInt(l.MemoryBytes/page*page, 10)
		limit := setting{filepath.Join(dir, "memory.limit_in_bytes"), v, rounded}
		memsw := filepath.Join(dir, "memory.memsw.limit_in_bytes")
		if !exists(memsw) {
			s = append(s, limit)
		} else {
			// memsw is memory+swap: equal to the limit means no swap, so a
			// memory hog is OOM-killed instead of paging out. The kernel
			// wants memsw >= limit at every moment: raising (pbox
			// update) writes memsw first, lowering writes the limit first.
			sw := setting{memsw, v, rounded}
			switch {
			case l.SwapBytes < 0:
				sw = setting{memsw, "-1", ""}
			case l.SwapBytes > l.MemoryBytes:
				sw = setting{memsw, strconv.FormatInt(l.SwapBytes, 10), strconv.FormatInt(l.SwapBytes/page*page, 10)}
			}
			cur, _ := os.ReadFile(memsw)
			if n, err := strconv.ParseInt(strings.TrimSpace(string(cur)), 10, 64); err == nil && n < l.MemoryBytes {
				s = append(s, sw, limit)
			} else {
				s = append(s, limit, sw)
			}
		}
	}
	if l.CPUQuota > 0 {
		dir := filepath.Join(c.root, "cpu", c.rel)
		s = append(s, exact(filepath.Join(dir, "cpu.cfs_period_us"), strconv.FormatUint(l.CPUPeriod, 10)))
		s = append(s, exact(filepath.Join(dir, "cpu.cfs_quota_us"), strconv.FormatInt(l.CPUQuota, 10)))
	}
	if l.CPUShares > 0 {
		s = append(s, exact(filepath.Join(c.root, "cpu", c.rel, "cpu.shares"), strconv.FormatUint(l.CPUShares, 10)))
	}
	if l.PidsMax > 0 {
		s = append(s, exact(filepath.Join(c.root, "pids", c.rel, "pids.max"), strconv.FormatInt(l.PidsMax, 10)))
	}
	if l.MemoryReservation > 0 {
		s = append(s, setting{filepath.Join(c.root, "memory", c.rel, "memory.soft_limit_in_bytes"), strconv.FormatInt(l.MemoryReservation, 10), ""})
	}
	if l.CpusetCpus != "" {
		s = append(s, setting{filepath.Join(c.root, "cpuset", c.rel, "cpuset.cpus"), l.CpusetCpus, ""})
	}
	if l.CpusetMems != "" {
		s = append(s, setting{filepath.Join(c.root, "cpuset", c.rel, "cpuset.mems"), l.CpusetMems, ""})
	}
	return s
}

// verify reads back every limit written, so that a limit the kernel did
// not take (or rounded beyond recognition) is an error, not a silent no-op.
func (c *Cgroup) verify() error {
	for _, s := range c.expected() {
		got, err := os.ReadFile(s.file)
		if err != nil {
			return fmt.Errorf("%w: read back %s: %v", ErrNotApplied, s.file, err)
		}
		g := strings.TrimSpace(string(got))
		if s.want != "" && g != s.want {
			return fmt.Errorf("%w: %s holds %q, want %q", ErrNotApplied, s.file, g, s.want)
		}
	}
	return nil
}

// FD opens the box's cgroup2 directory for clone3(CLONE_INTO_CGROUP).
// On a pure v1 host it returns -1.
func (c *Cgroup) FD() (int, error) {
	if c.v2dir == "" {
		return -1, nil
	}
	dir := c.v2dir
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	return fd, nil
}

// OOMKills returns how many processes the kernel OOM-killed in the box.
// Call it before Destroy.
func (c *Cgroup) OOMKills() (uint64, error) {
	if c.limits.MemoryBytes <= 0 {
		return 0, nil
	}
	var file string
	if c.mode == V2 {
		file = filepath.Join(c.v2dir, "memory.events")
	} else {
		file = filepath.Join(c.root, "memory", c.rel, "memory.oom_control")
	}
	f, err := os.Open(file)
	if err != nil {
		return 0, fmt.Errorf("read OOM events: %w", err)
	}
	defer f.Close()
	return ParseOOMKills(f)
}

// Procs lists the pids in the box's cgroup (the tracking hierarchy on v1).
func (c *Cgroup) Procs() ([]int, error) {
	dirs := c.Dirs()
	if len(dirs) == 0 {
		return nil, nil
	}
	data, err := os.ReadFile(filepath.Join(dirs[0], "cgroup.procs"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

// Kill SIGKILLs every process left in the box and waits until the cgroup
// is empty. With a PID namespace the kernel already did this when the
// box's init exited; without one, orphans may still be running.
func (c *Cgroup) Kill() error {
	if c.v2dir != "" && exists(filepath.Join(c.v2dir, "cgroup.kill")) {
		if err := os.WriteFile(filepath.Join(c.v2dir, "cgroup.kill"), []byte("1"), 0); err != nil {
			return fmt.Errorf("kill cgroup %s: %w", c.rel, err)
		}
	}
	// v1, or v2 without cgroup.kill: signal what is listed until nothing is.
	// A fork bomb can add pids between reads, so go round until empty.
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids, err := c.Procs()
		if err != nil || len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s still holds pids %v after SIGKILL", c.rel, pids)
		}
		for _, pid := range pids {
			if pid > 1 { // never kill(-1) or kill(0)
				unix.Kill(pid, unix.SIGKILL)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Destroy kills what is left in the box and removes its directories from
// every hierarchy. The parent (--cgroup-parent) stays, shared by boxes.
func (c *Cgroup) Destroy() error {
	defer c.Placed()
	killErr := c.Kill()
	var err error
	dirs := c.Dirs()
	for i := len(dirs) - 1; i >= 0; i-- {
		c.log.printf("cgroup: rmdir %s", dirs[i])
		if e := rmdirRetry(dirs[i]); e != nil && err == nil {
			err = e
		}
	}
	c.v2dir, c.v1dirs = "", nil
	if err != nil {
		return err
	}
	return killErr
}

// rmdirRetry removes a cgroup directory. Right after the last process
// exits the kernel may still answer EBUSY for a moment.
func rmdirRetry(dir string) error {
	var err error
	for i := 0; i < 50; i++ {
		err = unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(time.Duration(i+1) * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}

// ParseOOMKills reads the oom_kill counter from memory.events (v2) or
// memory.oom_control (v1): both are "key value" lines.
func ParseOOMKills(r io.Reader) (uint64, error) {
	n, _, err := flatKey(r, "oom_kill")
	return n, err
}

// flatKey finds key in "key value" lines and parses its value.
func flatKey(r io.Reader, key string) (n uint64, found bool, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, err = strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n, err == nil, err
		}
	}
	return 0, false, sc.Err()
}

// explain turns the errno of a failed mkdir or write into advice.
func explain(err error) error {
	switch {
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return fmt.Errorf("%w (are you root? pbox needs root to create cgroups)", err)
	case errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%w (check --cgroup-parent: every part must be a directory in the cgroup tree)", err)
	}
	return err
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// RemoveLeftover removes the cgroup at rel (relative to the root of each
// hierarchy) in every hierarchy of this layout where it is empty: what a
// SIGKILLed pbox left. It removes nothing else: pbox marks the cgroups it
// makes and passes only those. Directories that hold processes are
// returned as busy and left alone; one missing everywhere is not an
// error (removed and busy are then empty).
func RemoveLeftover(mode Mode, root, rel string) (removed, busy []string, err error) {
	if err := ValidPath(rel); err != nil {
		return nil, nil, err
	}
	rel = strings.Trim(rel, "/")
	var tops []string
	switch mode {
	case V2:
		tops = []string{root}
	case V1, Hybrid:
		all, herr := hierarchies(root)
		if herr != nil {
			return nil, nil, herr
		}
		for _, h := range all {
			tops = append(tops, filepath.Join(root, h))
		}
		if mode == Hybrid {
			tops = append(tops, filepath.Join(root, "unified"))
		}
	default:
		return nil, nil, fmt.Errorf("%w at %s", ErrUnavailable, root)
	}
	// A box being created holds a shared lock on its parent from mkdir to
	// clone, while its cgroup is empty: wait for it, and keep new ones out.
	parent := filepath.Join(trackerTop(mode, root), filepath.Dir(rel))
	if fd, lerr := unix.Open(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); lerr == nil {
		defer unix.Close(fd)
		if lerr := unix.Flock(fd, unix.LOCK_EX); lerr != nil {
			return nil, nil, fmt.Errorf("lock %s: %w", parent, lerr)
		}
	}
	for _, top := range tops {
		dir := filepath.Join(top, rel)
		if !exists(dir) {
			continue
		}
		procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if len(bytes.TrimSpace(procs)) > 0 {
			busy = append(busy, dir)
			continue
		}
		if rerr := rmdirRetry(dir); rerr != nil {
			err = rerr
			continue
		}
		removed = append(removed, dir)
	}
	return removed, busy, err
}
