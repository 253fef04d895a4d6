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
	if len(c.limits.Unified) > 0 && c.mode != V2 {
		// runc's words.
		return fmt.Errorf("%w: linux.resources.unified: cgroup v2 is not enabled on this host (%s cgroups), can't use unified resources", ErrNoCtrl, c.mode)
	}
	for _, s := range c.expected() {
		if s.field != "" && !exists(s.file) {
			return fmt.Errorf("%w: %s: this host's cgroup has no %s (%s cgroups, kernel %s): leave the field out",
				ErrNoCtrl, s.field, filepath.Base(s.file), c.mode, kernelRelease())
		}
		if err := c.write(s.file, s.value); err != nil {
			if s.field != "" {
				return fmt.Errorf("%s: %w%s", s.field, err, fieldHint[s.field])
			}
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
	// field, if set, is the runtime-spec field that asked for a file not
	// every host has: its absence is reported by that name.
	field string
}

// fieldHint says why the kernel may refuse a field's value.
var fieldHint = map[string]string{
	"linux.resources.cpu.realtimeRuntime": " (a cgroup's real-time runtime must fit in its parent's: raise cpu.rt_runtime_us of every parent first, as dockerd's --cpu-rt-runtime does)",
}

// optional is a setting of a file some hosts lack, named by the field
// that asks for it.
func optional(field, file, value string) setting { return setting{file, value, value, field} }

func exact(file, value string) setting { return setting{file, value, value, ""} }

// kernelRelease is uname -r, for messages.
func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "?"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// expected lists every limit file in the order it is written: one
// function per controller (memory.go, cpu.go, pids.go), each for v1 and
// v2.
func (c *Cgroup) expected() []setting {
	var s []setting
	for _, controller := range []func() []setting{c.memorySettings, c.cpusetSettings, c.cpuSettings, c.pidsSettings,
		c.ioSettings, c.hugetlbSettings, c.rdmaSettings, c.netSettings, c.unifiedSettings} {
		s = append(s, controller()...)
	}
	return s
}

// file is a controller's file of the box's cgroup: in its one cgroup2
// directory, or in that controller's v1 hierarchy.
func (c *Cgroup) file(controller, name string) string {
	if c.mode == V2 {
		return filepath.Join(c.v2dir, name)
	}
	return filepath.Join(c.root, controller, c.rel, name)
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
