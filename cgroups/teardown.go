package cgroups

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pbox-dev/pbox/internal/flock"
	"golang.org/x/sys/unix"
)

// Ending a box's cgroup: killing what is left, removing its directories,
// and sweeping what a killed pbox left.

// Kill SIGKILLs every process left in the box and waits until the cgroup
// is empty. With a PID namespace the kernel already did this when the
// box's init exited; without one, orphans may still be running.
func (c *Cgroup) Kill() error {
	if c.v2dir != "" {
		// No cgroup.kill: a kernel before 5.14 (the loop below does its
		// work), or no cgroup any more: the box ended and its monitor
		// removed it since it was looked at (pbox stop racing the box's
		// own exit), and the loop below finds nothing.
		if err := writeExisting(filepath.Join(c.v2dir, "cgroup.kill"), "1"); err != nil && !errors.Is(err, os.ErrNotExist) {
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

// writeExisting writes value to file, which must exist (a cgroup
// directory makes no new files).
func writeExisting(file, value string) error {
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Destroy kills what is left in the box and removes its directories from
// every hierarchy. The parent (--cgroup-parent) stays, shared by boxes.
//
// Most boxes are empty by then (a box's PID namespace ends with its init),
// so each directory is removed before anything is killed: only when one
// still holds a process (EBUSY) does it cost the kill and the wait.
func (c *Cgroup) Destroy() error {
	defer c.Placed()
	var busy []string
	dirs := c.Dirs()
	for i := len(dirs) - 1; i >= 0; i-- {
		c.log.Printf("cgroup: rmdir %s", dirs[i])
		if e := unix.Rmdir(dirs[i]); e != nil && !errors.Is(e, unix.ENOENT) {
			busy = append(busy, dirs[i])
		}
	}
	var killErr, err error
	if len(busy) > 0 {
		killErr = c.Kill()
	}
	for _, dir := range busy {
		if e := rmdirRetry(dir); e != nil && err == nil {
			err = e
		}
	}
	c.v2dir, c.v1dirs = "", nil
	c.stopScope()
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
	lock, lerr := flock.Dir(parent, flock.Exclusive)
	switch {
	case lerr == nil:
		defer lock.Unlock()
	case !errors.Is(lerr, os.ErrNotExist):
		return nil, nil, lerr
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
