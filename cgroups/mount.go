package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// `ip netns exec NS CMD` runs CMD in a mount namespace of its own where it
// has remounted /sys, to show NS's network devices: the fresh sysfs has an
// empty /sys/fs/cgroup, and a pbox run there would find no hierarchy
// (runc fails there too). The hierarchies are still the host's — the
// process is in them, /proc/self/cgroup lists them — only their mounts
// are missing from this mount namespace. MountMissing puts them back,
// here only: a mount namespace of its own, not the host's, and one whose
// /sys does not propagate mounts to any other (ip netns exec makes every
// mount a slave of the host's), so the host sees nothing of it.

// ErrNotMounted says the cgroup hierarchies are not mounted where pbox
// looks, and why pbox did not mount them itself.
var ErrNotMounted = errors.New("the cgroup hierarchies are not mounted at " + DefaultRoot)

// MountMissing mounts the hierarchies the calling process is in (from
// /proc/self/cgroup) under DefaultRoot, as the host mounts them, when
// nothing is mounted there and pbox runs in a private mount namespace of
// its own (ip netns exec's); it reports whether it mounted anything. Where
// nothing is missing it costs one statfs. It must run before DetectMode
// (whose answer containerd/cgroups keeps for the process).
func MountMissing(log Logf) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(DefaultRoot, &st); err != nil || st.Type != unix.SYSFS_MAGIC {
		return false, nil // mounted (tmpfs or cgroup2), or no sysfs at all: as it is
	}
	v1, v2, err := ownHierarchies()
	if err != nil || (len(v1) == 0 && !v2) {
		return false, nil // a kernel without cgroups: DetectMode says so
	}
	why := func(reason string) error {
		return fmt.Errorf("%w in this mount namespace (`ip netns exec` remounts /sys without them), and pbox did not mount them: %s", ErrNotMounted, reason)
	}
	if os.Geteuid() != 0 {
		return false, why("that needs root")
	}
	// Where PID 1's namespace cannot be read (a PID 1 that is not
	// dumpable), the propagation check alone decides.
	if same, _ := sameMountNamespace("/proc/self/ns/mnt", "/proc/1/ns/mnt"); same {
		return false, why("this is the host's own mount namespace: mount them there (mount -t cgroup2 none /sys/fs/cgroup)")
	}
	if shared, err := sysfsShared(); err != nil || shared {
		return false, why("/sys here shares its mounts with another namespace, which would see them: run pbox in a mount namespace whose /sys is a slave or private (ip netns exec makes one)")
	}
	mount := func(src, target, fstype, data string) error {
		if log != nil {
			log("cgroup: mount -t %s -o %s %s %s (missing in this mount namespace)", fstype, data, src, target)
		}
		if err := unix.Mount(src, target, fstype, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, data); err != nil {
			return fmt.Errorf("mount %s at %s: %w", fstype, target, err)
		}
		return unix.Mount("", target, "", unix.MS_PRIVATE, "")
	}
	if len(v1) == 0 { // pure v2
		return true, mount("cgroup2", DefaultRoot, "cgroup2", "")
	}
	if err := mount("tmpfs", DefaultRoot, "tmpfs", "mode=755"); err != nil {
		return false, err
	}
	for _, opts := range v1 {
		dir := strings.TrimPrefix(opts, "name=")
		data := opts
		if strings.HasPrefix(opts, "name=") {
			data = "none," + opts
		}
		target := filepath.Join(DefaultRoot, dir)
		if err := os.Mkdir(target, 0o755); err != nil {
			return true, err
		}
		if err := mount("cgroup", target, "cgroup", data); err != nil {
			return true, err
		}
		if ctrls := strings.Split(dir, ","); len(ctrls) > 1 { // cpu -> cpu,cpuacct, as systemd links them
			for _, c := range ctrls {
				os.Symlink(dir, filepath.Join(DefaultRoot, c))
			}
		}
	}
	if v2 {
		target := filepath.Join(DefaultRoot, "unified")
		if err := os.Mkdir(target, 0o755); err != nil {
			return true, err
		}
		if err := mount("cgroup2", target, "cgroup2", ""); err != nil {
			return true, err
		}
	}
	return true, nil
}

// ownHierarchies reads /proc/self/cgroup: the v1 hierarchies' mount
// options ("cpu,cpuacct", "name=systemd"), sorted, and whether the
// process is in a cgroup2 tree.
func ownHierarchies() (v1 []string, v2 bool, err error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		switch {
		case len(parts) != 3:
		case parts[0] == "0" && parts[1] == "":
			v2 = true
		case parts[1] != "":
			v1 = append(v1, parts[1])
		}
	}
	sort.Strings(v1)
	return v1, v2, sc.Err()
}

func sameMountNamespace(a, b string) (bool, error) {
	var x, y unix.Stat_t
	if err := unix.Stat(a, &x); err != nil {
		return false, err
	}
	if err := unix.Stat(b, &y); err != nil {
		return false, err
	}
	return x.Ino == y.Ino && x.Dev == y.Dev, nil
}

// sysfsShared reports whether the mount /sys/fs/cgroup is on propagates
// mounts to a peer group (a "shared:N" tag in mountinfo).
func sysfsShared() (bool, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	// The last mount at the deepest mount point above DefaultRoot.
	best, shared := "", false
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 7 {
			continue
		}
		mp := f[4]
		if (mp == "/" || mp == DefaultRoot || strings.HasPrefix(DefaultRoot, mp+"/")) && len(mp) >= len(best) {
			best = mp
			shared = false
			for _, opt := range f[6:] {
				if opt == "-" {
					break
				}
				if strings.HasPrefix(opt, "shared:") {
					shared = true
				}
			}
		}
	}
	return shared, nil
}
