package rootfs

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Mounts given as a list, as an OCI bundle's config.json gives them: the
// runtime-spec's mounts, devices, masked and read-only paths and sysctls,
// turned into the op list the init replays. pbox run's flags become such
// a config first (box.RunSpec), so this is the one planner of mounts.

// Mount is one entry of an OCI config's "mounts".
type Mount struct {
	Source  string // host path for binds (absolute), or a name (tmpfs, proc)
	Target  string // inside the root, absolute
	Type    string // proc, tmpfs, devpts, sysfs, mqueue, bind, ...
	Options []string
}

// Device is a device node to create in the box (linux.devices).
type Device struct {
	Path         string // inside the root
	Type         byte   // 'c', 'b', 'u' (unbuffered char) or 'p' (fifo)
	Major, Minor uint32
	Mode         uint32 // permission bits; 0 = 0666
	UID, GID     uint32
}

// BundleSpec is a whole OCI filesystem: root, mounts in order, devices,
// then the paths to mask or make read-only and the sysctls to write.
type BundleSpec struct {
	Root        string // absolute
	ReadOnly    bool
	Propagation uintptr // for /: MS_PRIVATE (default), MS_SLAVE, with MS_REC
	// RootPropagation, if set, is given to the box's / after pivot_root
	// (shared or unbindable: pivot_root itself refuses a shared root).
	RootPropagation uintptr
	NoPivot         bool // move the root over / and chroot instead of pivot_root
	Mounts          []Mount
	Devices         []Device
	MaskedPaths     []string
	ReadOnlyPaths   []string
	Sysctl          map[string]string
	// Cgroup is what a mount of type cgroup (or cgroup2) shows: the
	// caller's description of the box's own cgroups on this host.
	Cgroup []CgroupFS
}

// BoxRoot is the box's root on the host, "" for the host's own / (or no
// filesystem of the box's own at all).
func (s *BundleSpec) BoxRoot() string {
	if s == nil || s.Root == "/" {
		return ""
	}
	return s.Root
}

// PropagationSlave makes / a slave of the host (linux.rootfsPropagation
// slave): host mounts appear in the box, never the other way round.
const PropagationSlave = unix.MS_SLAVE | unix.MS_REC

// BindFlag is MS_BIND, as ParseMountOptions reports "bind" and "rbind".
const BindFlag = unix.MS_BIND

// mountFlags are the mount(8) options that are flags, not data; a
// "clear" entry takes the flag away (e.g. "rw", "suid").
var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY},
	"nosuid": {false, unix.MS_NOSUID}, "suid": {true, unix.MS_NOSUID},
	"nodev": {false, unix.MS_NODEV}, "dev": {true, unix.MS_NODEV},
	"noexec": {false, unix.MS_NOEXEC}, "exec": {true, unix.MS_NOEXEC},
	"sync": {false, unix.MS_SYNCHRONOUS}, "async": {true, unix.MS_SYNCHRONOUS},
	"dirsync": {false, unix.MS_DIRSYNC}, "remount": {false, unix.MS_REMOUNT},
	"mand": {false, unix.MS_MANDLOCK}, "nomand": {true, unix.MS_MANDLOCK},
	"atime": {true, unix.MS_NOATIME}, "noatime": {false, unix.MS_NOATIME},
	"diratime": {true, unix.MS_NODIRATIME}, "nodiratime": {false, unix.MS_NODIRATIME},
	"relatime": {false, unix.MS_RELATIME}, "norelatime": {true, unix.MS_RELATIME},
	"strictatime": {false, unix.MS_STRICTATIME}, "nostrictatime": {true, unix.MS_STRICTATIME},
	"bind": {false, unix.MS_BIND}, "rbind": {false, unix.MS_BIND | unix.MS_REC},
	"defaults": {false, 0},
}

// propagationFlags are options that change a mount's propagation after
// it is made.
var propagationFlags = map[string]uintptr{
	"private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE | unix.MS_REC,
	"slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE | unix.MS_REC,
	"shared": unix.MS_SHARED, "rshared": unix.MS_SHARED | unix.MS_REC,
	"unbindable": unix.MS_UNBINDABLE, "runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// recursiveFlags are runc's recursive mount attributes (mount_setattr
// with AT_RECURSIVE): "rro" makes a bind mount and every mount below it
// read-only, where "ro" makes only the bind mount itself read-only, as
// MS_RDONLY on a remount does. Their opposites clear nothing pbox set.
var recursiveFlags = map[string]uintptr{
	"rro": unix.MS_RDONLY, "rnosuid": unix.MS_NOSUID, "rnodev": unix.MS_NODEV, "rnoexec": unix.MS_NOEXEC,
	"rrw": 0, "rsuid": 0, "rdev": 0, "rexec": 0,
}

// RecursiveFlags is what the recursive options among opts ask of a mount
// and every mount below it.
func RecursiveFlags(opts []string) uintptr {
	var flags uintptr
	for _, o := range opts {
		flags |= recursiveFlags[o]
	}
	return flags
}

// ParseMountOptions splits mount(8)-style options into mount flags,
// propagation flags and the data string passed to the filesystem (the
// recursive options are RecursiveFlags').
func ParseMountOptions(opts []string) (flags, propagation uintptr, data string) {
	var rest []string
	for _, o := range opts {
		if _, ok := recursiveFlags[o]; ok {
			continue
		}
		if f, ok := mountFlags[o]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
			continue
		}
		if p, ok := propagationFlags[o]; ok {
			propagation |= p
			continue
		}
		rest = append(rest, o)
	}
	return flags, propagation, strings.Join(rest, ",")
}

// PlanBundle turns an OCI filesystem into ops. It
// resolves every target inside the root (a symlink in the rootfs cannot
// send a mount onto the host) and checks bind sources exist.
func PlanBundle(s BundleSpec) ([]Op, error) {
	if err := checkRoot(s.Root); err != nil {
		return nil, err
	}
	root, err := filepath.EvalSymlinks(s.Root)
	if err != nil {
		return nil, fmt.Errorf("root.path %s: %w", s.Root, err)
	}
	prop := s.Propagation
	if prop == 0 {
		prop = unix.MS_PRIVATE | unix.MS_REC
	}
	// The host's own / as the root (pbox run without --rootfs): the box
	// keeps the host's files, in a mount namespace of its own, and its
	// mounts are made in place; there is nothing to pivot into.
	hostRoot := root == "/"
	ops := []Op{{Kind: OpMount, Target: "/", Flags: prop}}
	if prop&unix.MS_SHARED != 0 && !hostRoot {
		// pivot_root refuses a shared new root, a shared mount above it
		// and a shared current root: the mount that holds the rootfs and
		// / are made private, each alone (their submounts, volumes of
		// shared host directories among them, stay shared), as runc
		// makes the rootfs's parent mount private.
		parent, err := mountAbove(root)
		if err != nil {
			return nil, fmt.Errorf("root.path %s: %w", s.Root, err)
		}
		ops = append(ops, Op{Kind: OpMount, Target: parent, Flags: unix.MS_PRIVATE})
		if parent != "/" {
			ops = append(ops, Op{Kind: OpMount, Target: "/", Flags: unix.MS_PRIVATE})
		}
	}
	if !hostRoot {
		ops = append(ops, Op{Kind: OpMount, Source: root, Target: root, Flags: unix.MS_BIND | unix.MS_REC})
	}
	devTmpfs := false
	for i, m := range s.Mounts {
		if !filepath.IsAbs(m.Target) {
			return nil, fmt.Errorf("mounts[%d].destination %q: must be an absolute path", i, m.Target)
		}
		target, err := resolveIn(root, m.Target)
		if err != nil {
			return nil, fmt.Errorf("mounts[%d].destination: %w", i, err)
		}
		flags, propagation, data := ParseMountOptions(m.Options)
		typ := m.Type
		if typ == "bind" {
			flags |= unix.MS_BIND
		}
		if typ == "cgroup" || typ == "cgroup2" {
			// As runc: the box's own cgroups, whatever the type says (the
			// host's layout decides), read-only if the options say ro.
			if len(s.Cgroup) == 0 {
				return nil, fmt.Errorf("mounts[%d]: type %s (%s): this host has no cgroup filesystem to show", i, typ, m.Target)
			}
			ops = append(ops, cgroupOps(target, s.Cgroup, flags&unix.MS_RDONLY == 0)...)
			continue
		}
		if flags&unix.MS_BIND != 0 {
			if !filepath.IsAbs(m.Source) {
				return nil, fmt.Errorf("mounts[%d].source %q: a bind source must be an absolute path (or relative to the bundle)", i, m.Source)
			}
			if err := CheckVolumeSource(Volume{Source: m.Source, Target: m.Target}); err != nil {
				return nil, fmt.Errorf("mounts[%d]: %w", i, err)
			}
			// ro, nosuid, nodev and noexec are set on the detached copy
			// before it is attached (apply.go), not by a later remount:
			// on the bind mount itself, as runc sets them, and with their
			// recursive forms (rro, ...) on every mount below it too.
			ops = append(ops, Op{Kind: OpMount, Source: m.Source, Target: target,
				Flags:     unix.MS_BIND | flags&(unix.MS_REC|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC),
				Recursive: RecursiveFlags(m.Options)})
		} else {
			if m.Target == "/dev" && typ == "tmpfs" {
				devTmpfs = true
			}
			// tmpcopyup (runc's and crun's extension, which podman sends
			// for --read-only): the new tmpfs starts with a copy of what
			// the directory held.
			copyUp := false
			if typ == "tmpfs" {
				data, copyUp = cutOption(data, "tmpcopyup")
			}
			ops = append(ops, Op{Kind: OpMkdir, Target: target},
				// A new filesystem has no mount below it: rro is ro.
				Op{Kind: OpMount, Source: orType(m.Source, typ), Target: target, FSType: typ, Flags: flags | RecursiveFlags(m.Options), Data: data, CopyUp: copyUp})
		}
		if propagation != 0 {
			ops = append(ops, Op{Kind: OpMount, Target: target, Flags: propagation})
		}
	}
	dev := filepath.Join(root, "dev")
	if devTmpfs {
		// A fresh /dev has nothing: the runtime-spec's default devices
		// and links, as runc makes them.
		for _, d := range devices {
			ops = append(ops, Op{Kind: OpMknod, Target: filepath.Join(dev, d.name), Major: d.major, Minor: d.minor})
		}
		ops = append(ops,
			Op{Kind: OpSymlink, Source: "/proc/self/fd", Target: filepath.Join(dev, "fd")},
			Op{Kind: OpSymlink, Source: "/proc/self/fd/0", Target: filepath.Join(dev, "stdin")},
			Op{Kind: OpSymlink, Source: "/proc/self/fd/1", Target: filepath.Join(dev, "stdout")},
			Op{Kind: OpSymlink, Source: "/proc/self/fd/2", Target: filepath.Join(dev, "stderr")},
			Op{Kind: OpSymlink, Source: "pts/ptmx", Target: filepath.Join(dev, "ptmx")},
		)
	}
	if hostRoot && len(s.Devices) > 0 {
		return nil, fmt.Errorf("linux.devices with the host's / as the root: the nodes would be made in the host's /dev: give the box a root filesystem")
	}
	for i, d := range s.Devices {
		target, err := resolveIn(root, d.Path)
		if err != nil {
			return nil, fmt.Errorf("linux.devices[%d].path: %w", i, err)
		}
		ops = append(ops, Op{Kind: OpMknod, Target: target, FSType: string(d.Type), Major: d.Major, Minor: d.Minor, Mode: d.Mode, UID: d.UID, GID: d.GID})
	}
	switch {
	case hostRoot:
	case s.NoPivot:
		ops = append(ops, Op{Kind: OpMoveRoot, Target: root})
	default:
		ops = append(ops, Op{Kind: OpPivotRoot, Target: root})
	}
	if s.RootPropagation != 0 {
		ops = append(ops, Op{Kind: OpMount, Target: "/", Flags: s.RootPropagation})
	}
	keys := make([]string, 0, len(s.Sysctl))
	for k := range s.Sysctl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.Contains(k, "..") || strings.ContainsAny(k, " ") {
			return nil, fmt.Errorf("linux.sysctl %q: not a sysctl name", k)
		}
		ops = append(ops, Op{Kind: OpWrite, Target: "/proc/sys/" + strings.ReplaceAll(k, ".", "/"), Data: s.Sysctl[k]})
	}
	for _, m := range s.MaskedPaths {
		ops = append(ops, Op{Kind: OpMask, Target: m})
	}
	for _, r := range s.ReadOnlyPaths {
		ops = append(ops, Op{Kind: OpReadOnly, Target: r})
	}
	if s.ReadOnly {
		ops = append(ops, Op{Kind: OpRemountRO, Target: "/"})
	}
	return ops, nil
}

// mountAbove is the mount point of the mount that holds path (path
// itself if it is one), as the host's mount table has it now; the box's
// mount namespace starts as a copy of it.
func mountAbove(path string) (string, error) {
	mounts, err := mountinfo.GetMounts(mountinfo.ParentsFilter(path))
	if err != nil {
		return "", err
	}
	best := ""
	for _, m := range mounts {
		if len(m.Mountpoint) > len(best) {
			best = m.Mountpoint
		}
	}
	if best == "" {
		return "", fmt.Errorf("no mount holds %s", path)
	}
	return best, nil
}

// cutOption removes one option from a comma-separated data string.
func cutOption(data, opt string) (string, bool) {
	var kept []string
	found := false
	for _, o := range strings.Split(data, ",") {
		if o == opt {
			found = true
		} else if o != "" {
			kept = append(kept, o)
		}
	}
	return strings.Join(kept, ","), found
}

func orType(source, typ string) string {
	if source == "" {
		return typ
	}
	return source
}

// MountOptionNames lists the options ParseMountOptions knows as flags.
func MountOptionNames() []string {
	var names []string
	for o := range mountFlags {
		names = append(names, o)
	}
	for o := range propagationFlags {
		names = append(names, o)
	}
	for o := range recursiveFlags {
		names = append(names, o)
	}
	return append(names, "tmpcopyup")
}
