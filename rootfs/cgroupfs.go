package rootfs

import (
	"path/filepath"

	"golang.org/x/sys/unix"
)

// CgroupFS is one filesystem of a box's /sys/fs/cgroup, as the caller
// (who knows the host's cgroup layout) describes it: a fresh mount of
// FSType with Options at Dir (the box's cgroup namespace roots it at the
// box's own cgroup), or, with Source, a bind mount of the box's own
// cgroup directory (a box without a cgroup namespace). Dir "" is the
// whole /sys/fs/cgroup (cgroup v2).
type CgroupFS struct {
	Dir     string `json:"dir,omitempty"`
	FSType  string `json:"fstype"`
	Options string `json:"options,omitempty"`
	Source  string `json:"source,omitempty"`
}

// cgroupOps mounts views at target (the box's /sys/fs/cgroup, resolved in
// its root). Read-only unless rw: a box must never raise its own limits
// or reach another cgroup through it. Several views (v1, hybrid) sit on a
// tmpfs of their own, made read-only last.
func cgroupOps(target string, views []CgroupFS, rw bool) []Op {
	ro := uintptr(unix.MS_RDONLY)
	if rw {
		ro = 0
	}
	one := func(v CgroupFS, at string) []Op {
		if v.Source != "" {
			return []Op{{Kind: OpMount, Source: v.Source, Target: at, Flags: unix.MS_BIND | unix.MS_REC | ro | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC}}
		}
		return []Op{{Kind: OpMount, Source: orType("", v.FSType), Target: at, FSType: v.FSType,
			Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | ro, Data: v.Options}}
	}
	if len(views) == 1 && views[0].Dir == "" {
		return append([]Op{{Kind: OpMkdir, Target: target}}, one(views[0], target)...)
	}
	ops := []Op{{Kind: OpMkdir, Target: target},
		{Kind: OpMount, Source: "tmpfs", Target: target, FSType: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, Data: "mode=755"}}
	for _, v := range views {
		at := filepath.Join(target, v.Dir)
		ops = append(ops, Op{Kind: OpMkdir, Target: at})
		ops = append(ops, one(v, at)...)
	}
	if !rw {
		ops = append(ops, Op{Kind: OpRemountRO, Target: target})
	}
	return ops
}
