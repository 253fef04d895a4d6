package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A box's resources: writing and verifying its limits, and reading what
// it uses (processes, OOM kills).

// applyLimits writes every limit file, in order.
func (c *Cgroup) applyLimits() error {
	for _, s := range c.expected() {
		if err := c.write(s.file, s.value); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cgroup) write(file, value string) error {
	c.log.Printf("cgroup: write %q to %s", value, file)
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
	file := c.OOMFile()
	if file == "" {
		return 0, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return 0, fmt.Errorf("read OOM events: %w", err)
	}
	defer f.Close()
	return ParseOOMKills(f)
}

// OOMFile is the file whose "oom_kill N" line counts the box's OOM kills
// (memory.events on v2, memory.oom_control on v1); "" without a memory
// limit, where there is none to read.
func (c *Cgroup) OOMFile() string {
	if c.limits.MemoryBytes <= 0 {
		return ""
	}
	if c.mode == V2 {
		return filepath.Join(c.v2dir, "memory.events")
	}
	return filepath.Join(c.root, "memory", c.rel, "memory.oom_control")
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
