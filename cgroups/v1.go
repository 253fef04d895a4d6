package cgroups

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A box joins every v1 hierarchy the host has mounted, as runc does, not
// only the ones its limits need: in a hierarchy it never joined, the box
// stays in the caller's cgroup, and a cgroup namespace made for the box is
// rooted there — so a box that mounts that hierarchy sees, and may write
// to, cgroups that are not its own (issue 10).

// hierarchies lists the v1 hierarchies mounted under root: the real
// directories (not the cpu -> cpu,cpuacct links) with a cgroup.procs,
// other than a hybrid host's cgroup2 tree, sorted. (By their files, not
// the filesystem's magic, so a fake cgroupfs in a test works the same.)
func hierarchies(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list cgroup hierarchies in %s: %w", root, err)
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() || e.Type()&os.ModeSymlink != 0 || e.Name() == "unified" {
			continue
		}
		dir := filepath.Join(root, e.Name())
		var st unix.Statfs_t
		if !exists(filepath.Join(dir, "cgroup.procs")) || (unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC) {
			continue
		}
		dirs = append(dirs, e.Name())
	}
	sort.Strings(dirs)
	return dirs, nil
}

// inheritCpuset gives a new cpuset cgroup its parent's CPUs and memory
// nodes: a v1 cpuset starts with none, and nothing can join it until it
// has some.
func (c *Cgroup) inheritCpuset(dir string) error {
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil // not a cpuset hierarchy
		}
		if len(strings.TrimSpace(string(cur))) > 0 {
			continue
		}
		parent, err := os.ReadFile(filepath.Join(filepath.Dir(dir), f))
		if err != nil {
			return fmt.Errorf("read %s: %w", filepath.Join(filepath.Dir(dir), f), err)
		}
		if err := c.write(filepath.Join(dir, f), strings.TrimSpace(string(parent))); err != nil {
			return err
		}
	}
	return nil
}

// JoinThread moves the calling OS thread into the box's v1 cgroups (v1
// membership is per thread), so that a child it forks is born in them —
// and a cgroup namespace that child makes (CLONE_NEWCGROUP) is rooted at
// the box's cgroup in every hierarchy. leave moves the thread back. The
// caller must have locked the thread (runtime.LockOSThread). On cgroup v2
// there is nothing to do: the child is cloned into its cgroup.
func (c *Cgroup) JoinThread() (leave func() error, err error) {
	if len(c.v1dirs) == 0 {
		return func() error { return nil }, nil
	}
	tid := strconv.Itoa(unix.Gettid())
	back, err := threadCgroups(c.root, c.v1dirs)
	if err != nil {
		return nil, err
	}
	// The way back is opened now: by the time the thread leaves, it may
	// have joined the box's mount namespace, where these paths are not.
	var backFDs []int
	closeAll := func() {
		for _, fd := range backFDs {
			unix.Close(fd)
		}
		backFDs = nil
	}
	for _, d := range back {
		fd, err := unix.Open(filepath.Join(d, "tasks"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("open %s: %w", filepath.Join(d, "tasks"), err)
		}
		backFDs = append(backFDs, fd)
	}
	leave = func() error {
		var first error
		for i, fd := range backFDs {
			if _, err := unix.Write(fd, []byte(tid)); err != nil && first == nil {
				first = fmt.Errorf("move pbox's thread back to %s: %w", back[i], err)
			}
		}
		closeAll()
		return first
	}
	for _, d := range c.v1dirs {
		c.log.Printf("cgroup: write thread %s to %s/tasks", tid, d)
		if err := writeFile(filepath.Join(d, "tasks"), tid); err != nil {
			leave()
			return nil, fmt.Errorf("join %s: %w", d, explain(err))
		}
	}
	return leave, nil
}

// threadCgroups finds, for each box directory root/<hierarchy>/..., the
// directory the calling thread is in now in that hierarchy.
func threadCgroups(root string, boxDirs []string) ([]string, error) {
	f, err := os.Open("/proc/thread-self/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	paths := map[string]string{} // hierarchy directory name -> path
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 || parts[0] == "0" {
			continue
		}
		paths[strings.TrimPrefix(parts[1], "name=")] = parts[2]
	}
	var dirs []string
	for _, d := range boxDirs {
		rel, err := filepath.Rel(root, d)
		if err != nil {
			return nil, err
		}
		h, _, _ := strings.Cut(rel, "/")
		dirs = append(dirs, filepath.Join(root, h, paths[h])) // unknown: the hierarchy's root
	}
	return dirs, sc.Err()
}

// View is one filesystem of a box's own /sys/fs/cgroup: the cgroup2 tree
// (Dir "" on v2, "unified" on a hybrid host) or a v1 hierarchy (FSType
// "cgroup", Options its controllers). With a cgroup namespace it is a
// fresh mount, rooted at the box's cgroup by the namespace; without one,
// Source is the box's own cgroup directory on the host, bound there.
type View struct {
	Dir     string
	FSType  string
	Options string
	Source  string
}

// BoxView lists what a box's /sys/fs/cgroup holds on this host, for a
// box whose cgroup is rel (/<parent>/<name>) in every hierarchy.
func BoxView(mode Mode, root, rel string, cgroupNS bool) ([]View, error) {
	if root == "" {
		root = DefaultRoot
	}
	src := func(dir string) string {
		if cgroupNS {
			return ""
		}
		return filepath.Join(root, dir, rel)
	}
	switch mode {
	case V2:
		return []View{{FSType: "cgroup2", Source: src("")}}, nil
	case Hybrid, V1:
	default:
		return nil, nil
	}
	var views []View
	if mode == Hybrid {
		views = append(views, View{Dir: "unified", FSType: "cgroup2", Source: src("unified")})
	}
	all, err := hierarchies(root)
	if err != nil {
		return nil, err
	}
	opts, err := hierarchyOptions()
	if err != nil {
		return nil, err
	}
	for _, h := range all {
		if o, ok := opts[h]; ok {
			views = append(views, View{Dir: h, FSType: "cgroup", Options: o, Source: src(h)})
		}
	}
	return views, nil
}

// hierarchyOptions maps each v1 hierarchy's directory name to the mount
// options that name it ("cpu,cpuacct", "name=systemd"), from
// /proc/self/cgroup.
func hierarchyOptions() (map[string]string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) == 3 && parts[0] != "0" && parts[1] != "" {
			m[strings.TrimPrefix(parts[1], "name=")] = parts[1]
		}
	}
	return m, sc.Err()
}
