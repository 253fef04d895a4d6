package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// Volume is a bind mount of a host path into the box.
type Volume struct {
	Source   string // host path, absolute
	Target   string // path inside the box, absolute
	ReadOnly bool
}

// DefaultMounts are the mounts of a box with a root filesystem, as in
// the OCI runtime-spec's default config (`runc spec`) and Docker's: a
// fresh /proc, a tmpfs /dev with a devpts and /dev/shm, /dev/mqueue, a
// read-only /sys and the box's own cgroups in it. `pbox spec` writes
// them and `pbox run --rootfs` asks for them; /proc and /dev/mqueue only
// with the PID and IPC namespaces they show.
func DefaultMounts() []Mount {
	return []Mount{
		{Source: "proc", Target: "/proc", Type: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Source: "tmpfs", Target: "/dev", Type: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Source: "devpts", Target: "/dev/pts", Type: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Source: "shm", Target: "/dev/shm", Type: "tmpfs", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Source: "mqueue", Target: "/dev/mqueue", Type: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Source: "sysfs", Target: "/sys", Type: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Source: "cgroup", Target: "/sys/fs/cgroup", Type: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}
}

// MaskedPaths are hidden inside a box with a root filesystem, as in the
// OCI runtime-spec's default config (runc spec) and Docker: kernel
// interfaces that leak host information or allow harm.
var MaskedPaths = []string{
	"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
}

// ReadOnlyPaths are made read-only inside a box with a root filesystem.
var ReadOnlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

// devices are the nodes of a box's /dev: name, major, minor.
var devices = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// OpKind says what an Op does.
type OpKind string

const (
	OpMount     OpKind = "mount"      // mount(Source, Target, FSType, Flags, Data)
	OpMkdir     OpKind = "mkdir"      // mkdir -p Target
	OpMknod     OpKind = "mknod"      // a character device, or bind it from the host
	OpSymlink   OpKind = "symlink"    // Target -> Source
	OpPivotRoot OpKind = "pivot_root" // into Target, old root detached
	OpMask      OpKind = "mask"       // hide Target (after pivot_root)
	OpReadOnly  OpKind = "readonly"   // bind Target on itself read-only
	OpRemountRO OpKind = "remount-ro" // make the mount at Target read-only
	OpMoveRoot  OpKind = "move-root"  // --no-pivot: mount --move Target /, chroot
	OpWrite     OpKind = "write"      // write Data to Target (a sysctl)
)

// Op is one step of a box's filesystem set-up. Paths before the
// pivot_root are host paths; after it, box paths.
type Op struct {
	Kind   OpKind
	Source string
	Target string
	FSType string
	Flags  uintptr
	Data   string
	Major  uint32
	Minor  uint32
	// For an OCI device (OpMknod): FSType is the node type ("c", "b",
	// "u", "p"; "" = c), Mode its permissions (0 = 0666), and its owner.
	Mode     uint32
	UID, GID uint32
	// CopyUp, on a tmpfs mount: fill it with a copy of what the
	// directory held before (an OCI mount's "tmpcopyup").
	CopyUp bool `json:",omitempty"`
	// Recursive, on a bind mount: MS_RDONLY, MS_NOSUID, MS_NODEV or
	// MS_NOEXEC for every mount below it too (rro, ...); Flags' apply to
	// the bind mount itself.
	Recursive uintptr `json:",omitempty"`
}

func (o Op) String() string {
	switch o.Kind {
	case OpMount:
		if o.Source == "" && o.Flags&(unix.MS_PRIVATE|unix.MS_SLAVE|unix.MS_SHARED|unix.MS_UNBINDABLE) != 0 {
			kind := "private"
			switch {
			case o.Flags&unix.MS_SLAVE != 0:
				kind = "a slave of the host's mounts"
			case o.Flags&unix.MS_SHARED != 0:
				kind = "shared"
			case o.Flags&unix.MS_UNBINDABLE != 0:
				kind = "unbindable"
			}
			how := ""
			if o.Flags&unix.MS_REC != 0 {
				how = ", recursively"
			}
			return fmt.Sprintf("make %s %s%s (%s)", o.Target, kind, how, FlagNames(o.Flags))
		}
		s := fmt.Sprintf("mount %s on %s type %s (%s)", orNone(o.Source), o.Target, orNone(o.FSType), FlagNames(o.Flags))
		if o.Recursive != 0 {
			s += ", every mount below it " + FlagNames(o.Recursive)
		}
		if o.Data != "" {
			s += " data " + o.Data
		}
		return s
	case OpMknod:
		return fmt.Sprintf("mknod %s c %d %d (or bind the host's /dev/%s)", o.Target, o.Major, o.Minor, filepath.Base(o.Target))
	case OpSymlink:
		return fmt.Sprintf("symlink %s -> %s", o.Target, o.Source)
	case OpPivotRoot:
		return fmt.Sprintf("pivot_root into %s, detach the old root (umount2 MNT_DETACH)", o.Target)
	case OpMask:
		return fmt.Sprintf("mask %s (a file: bind /dev/null over it; a directory: read-only tmpfs)", o.Target)
	case OpReadOnly:
		return fmt.Sprintf("read-only %s (bind on itself, remount MS_RDONLY)", o.Target)
	case OpRemountRO:
		return fmt.Sprintf("remount %s read-only (MS_BIND|MS_REMOUNT|MS_RDONLY)", o.Target)
	case OpMoveRoot:
		return fmt.Sprintf("move %s over / (MS_MOVE) and chroot into it (no pivot_root)", o.Target)
	case OpWrite:
		return fmt.Sprintf("write %q to %s", o.Data, o.Target)
	}
	return fmt.Sprintf("%s %s", o.Kind, o.Target)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// ErrEscape is returned when a target would resolve outside the root.
var ErrEscape = errors.New("rootfs: path escapes the root")

// resolveIn resolves p inside root as if root were / (securejoin, as
// runc does), and refuses p when a symlink on its way, followed the way
// the kernel would follow it from the host, leads out of root (an
// absolute link, or one with ".." climbing above root): mounting there
// would mount on the host. Give the target as it is inside the root.
func resolveIn(root, p string) (string, error) {
	j, err := securejoin.SecureJoin(root, p)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrEscape, p, err)
	}
	// Follow the existing part of the plain join on the host.
	naive := filepath.Join(root, p)
	existing := naive
	for {
		if _, err := os.Lstat(existing); err == nil || existing == root {
			break
		}
		existing = filepath.Dir(existing)
	}
	host, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	if root != "/" && host != root && !strings.HasPrefix(host, root+"/") {
		return "", fmt.Errorf("%w: %s goes through a symlink to %s, outside the rootfs: refused (give the path as it is inside the rootfs)", ErrEscape, p, host)
	}
	if filepath.Clean(j) == root {
		return "", fmt.Errorf("%w: %s leads to the box's root itself: refused (a mount there would cover the whole box)", ErrEscape, p)
	}
	return j, nil
}

// checkRoot refuses a root that cannot work, before anything starts.
func checkRoot(root string) error {
	st, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("rootfs %s: %w", root, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("rootfs %s: not a directory", root)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("rootfs %s: %w", root, err)
	}
	if len(entries) == 0 {
		return fmt.Errorf("rootfs %s is empty: make one with `pbox rootfs busybox %s` or `pbox rootfs import IMAGE.tar %s`", root, root, root)
	}
	return nil
}

// CheckVolumeSource refuses a volume whose host side does not exist.
func CheckVolumeSource(v Volume) error {
	if !filepath.IsAbs(v.Source) || !filepath.IsAbs(v.Target) {
		return fmt.Errorf("volume %s:%s: both paths must be absolute", v.Source, v.Target)
	}
	if _, err := os.Stat(v.Source); err != nil {
		return fmt.Errorf("volume %s:%s: source: %w", v.Source, v.Target, err)
	}
	return nil
}
