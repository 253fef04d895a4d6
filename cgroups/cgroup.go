package cgroups

import (
	"errors"
	"fmt"
	"os"
	"strings"

	cgroupsv3 "github.com/containerd/cgroups/v3"
	"github.com/pbox-dev/pbox/internal/flock"
	"github.com/pbox-dev/pbox/internal/logf"
	"golang.org/x/sys/unix"
)

// Mode is the cgroup layout of a host.
type Mode int

const (
	Unavailable Mode = iota
	V1               // legacy: only v1 hierarchies
	Hybrid           // v1 controllers plus an (unused) cgroup2 tree
	V2               // unified
	// None: the box gets no cgroup of its own and stays in its starter's
	// (a rootless box where nothing is delegated to the user): no limits,
	// no freezer, no cgroup-wide kill; its PID namespace holds it together.
	None
)

func (m Mode) String() string {
	switch m {
	case V1:
		return "v1"
	case Hybrid:
		return "hybrid"
	case V2:
		return "v2"
	case None:
		return "none (the caller's)"
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

// Logf receives one line per step; nil means quiet (pbox's one logger
// type, internal/logf).
type Logf = logf.Logf

// Spec says where a box's cgroup goes.
type Spec struct {
	Mode   Mode   // from DetectMode, or a fake for tests
	Root   string // cgroupfs mount point; DefaultRoot if empty
	Parent string // e.g. "pbox"; relative to the hierarchy's root
	Name   string // the box's name, the leaf directory
	Limits Limits
	Log    Logf
	// Systemd, if set, makes the cgroup a systemd scope once its first
	// process is in (StartScope); cgroup v2 only.
	Systemd bool
}

// Cgroup is one box's cgroup, in one or several hierarchies.
type Cgroup struct {
	mode       Mode
	root       string
	rel        string      // "/<parent>/<name>", the same in every hierarchy
	v2dir      string      // the box's directory in a cgroup2 tree, if any
	v1dirs     []string    // the v1 hierarchies joined, one directory each
	parentLock *flock.Lock // shared, on the parent, until Placed
	limits     Limits
	log        Logf
	scope      *SystemdScope // the unit the cgroup is, under --systemd-cgroup
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

// Dirs lists the box's cgroup directories (one per joined hierarchy).
func (c *Cgroup) Dirs() []string {
	var dirs []string
	if c.v2dir != "" {
		dirs = append(dirs, c.v2dir)
	}
	return append(dirs, c.v1dirs...)
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
