package box

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/namespaces"
	"golang.org/x/sys/unix"
)

// Rootless boxes: pbox run by an ordinary user. The box gets a user
// namespace in which the user's own uid and gid are 0 and the subordinate
// ids /etc/subuid and /etc/subgid give the user follow (rootless podman's
// layout, bubblewrap's --unshare-user, runc's rootless mode), so root in
// the box is the user outside and nothing more. The kernel lets an
// ordinary user create the other namespaces inside that one; what only
// host root can do stays out of reach:
//
//   - cgroups: on cgroup v2, where a subtree is delegated to the user
//     (systemd's user@UID.service, or a directory root chowned to it)
//     and pbox runs inside it, the box's cgroup is made in it
//     (DelegatedCgroup) and limits work; elsewhere the box gets none of
//     its own (cgroups.None) and limits are refused. Device rules are a
//     BPF program only host root may attach: a rootless box has none
//     (no mknod in a user namespace; it opens only what its user could);
//   - /sys: without a network namespace of its own, sysfs cannot be
//     mounted fresh; the host's is bound read-only instead (as runc's
//     rootless spec);
//   - devices: no mknod in a user namespace: the box's /dev nodes are
//     binds of the host's (the builder falls back to that already);
//   - networks: a CNI network needs host root (bridges, veths, NAT).

// Rootless reports whether pbox runs as an ordinary user.
func Rootless() bool { return os.Geteuid() != 0 }

// UserStateRoot is an ordinary user's state root: $XDG_RUNTIME_DIR/pbox,
// else /run/user/UID/pbox, else /tmp/pbox-UID (as rootless podman's
// fallback); the directory holding it must be the user's alone.
func UserStateRoot() string {
	uid := os.Getuid()
	for _, dir := range []string{os.Getenv("XDG_RUNTIME_DIR"), "/run/user/" + strconv.Itoa(uid)} {
		if dir != "" && ownPrivateDir(dir, uid) {
			return filepath.Join(dir, "pbox")
		}
	}
	return "/tmp/pbox-" + strconv.Itoa(uid)
}

// ownPrivateDir: dir is a directory (not a symlink) of uid, with no
// access for anyone else.
func ownPrivateDir(dir string, uid int) bool {
	var st unix.Stat_t
	return unix.Lstat(dir, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && int(st.Uid) == uid && st.Mode&0o077 == 0
}

// CheckStateRoot refuses a state root an ordinary user does not own
// alone: in a shared /tmp, someone else could have made it first.
func CheckStateRoot(root string) error {
	if !Rootless() {
		return nil
	}
	var st unix.Stat_t
	err := unix.Lstat(root, &st)
	if os.IsNotExist(err) {
		return nil // Claim makes it, 0700
	}
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Getuid() || st.Mode&0o022 != 0 {
		return fmt.Errorf("state root %s is not a directory of uid %d's alone: remove it, or give --root", root, os.Getuid())
	}
	return nil
}

// DelegatedCgroup is the cgroup v2 subtree delegated to this user that
// holds pbox: the highest ancestor of pbox's own cgroup whose directory,
// cgroup.procs and cgroup.subtree_control the user owns (as systemd and
// the kernel's cgroup-v2 "Delegation" section lay it out). A process may
// move another only between cgroups whose common ancestor's cgroup.procs
// it may write, so the box's cgroup must be in the subtree pbox runs in.
// "" where there is none, or the host is not pure cgroup v2.
var DelegatedCgroup = sync.OnceValue(func() string {
	if !Rootless() || cgroups.DetectMode() != cgroups.V2 {
		return ""
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	own := ""
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			own = p
		}
	}
	best := ""
	for p := own; strings.HasPrefix(p, "/") && p != "/"; p = filepath.Dir(p) {
		dir := filepath.Join(cgroups.DefaultRoot, p)
		if !OwnedByCaller(dir) || !OwnedByCaller(filepath.Join(dir, "cgroup.procs")) || !OwnedByCaller(filepath.Join(dir, "cgroup.subtree_control")) {
			break
		}
		best = p
	}
	return best
})

// OwnedByCaller: path (not followed if a symlink) is the calling user's.
func OwnedByCaller(path string) bool {
	var st unix.Stat_t
	return unix.Lstat(path, &st) == nil && int(st.Uid) == os.Getuid()
}

// RootlessMaps are the maps of a rootless box's user namespace, and a
// note when the user has no subordinate ids (the box then has one uid and
// one gid: 0, the user's own).
func RootlessMaps() (uids, gids []namespaces.IDMap, note string, err error) {
	uid, gid := os.Getuid(), os.Getgid()
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	subU, err := namespaces.SubIDs("/etc/subuid", name, uid)
	if err != nil {
		return nil, nil, "", err
	}
	subG, err := namespaces.SubIDs("/etc/subgid", name, uid)
	if err != nil {
		return nil, nil, "", err
	}
	if len(subU) == 0 || len(subG) == 0 {
		note = fmt.Sprintf("%s has no subordinate ids in /etc/subuid and /etc/subgid: the box has one uid and one gid, 0 (yours outside); for more, as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s", name, name)
		subU, subG = nil, nil
	}
	uids, gids = namespaces.OwnRootMaps(uid, subU), namespaces.OwnRootMaps(gid, subG)
	for i, maps := range [][]namespaces.IDMap{uids, gids} {
		if namespaces.NeedHelpers(maps, []int{uid, gid}[i]) {
			if _, err := namespaces.HelperPath([]string{"newuidmap", "newgidmap"}[i]); err != nil {
				return nil, nil, "", err
			}
		}
	}
	return uids, gids, note, nil
}

// rootlessSpec makes a box's config one an ordinary user can start: a
// user namespace with RootlessMaps, /sys bound rather than mounted
// without a network namespace, devpts without a gid the box lacks; and
// refuses what needs host root, each with how to do without.
func rootlessSpec(spec *specs.Spec, f RunRequest, ex *RunExtras, kinds []namespaces.Kind, leaf string) error {
	if f.UserNS != "" || len(f.UIDMaps) > 0 || len(f.GIDMaps) > 0 {
		return fmt.Errorf("--userns, --uidmap and --gidmap are for root: a rootless box has its user namespace already (your ids and your subordinate ones)")
	}
	if ex.Network != nil {
		return fmt.Errorf("--network %s: a CNI network needs root (it makes a bridge, veth pairs and NAT rules on the host): run with sudo, or use --network none (only lo) or host", f.Network)
	}
	uids, gids, note, err := RootlessMaps()
	if err != nil {
		return fmt.Errorf("a rootless box's user namespace: %v", err)
	}
	if note != "" {
		ex.Notes = append(ex.Notes, note)
	}
	if u := spec.Process.User; !namespaces.Mapped(uids, int(u.UID)) || !namespaces.Mapped(gids, int(u.GID)) {
		return fmt.Errorf("--user %d:%d: not an id of this rootless box, which has uids 0-%d and gids 0-%d (give yourself subordinate ids for more)", u.UID, u.GID, lastID(uids), lastID(gids))
	}
	if deleg := DelegatedCgroup(); deleg != "" {
		// The box's cgroup goes in the user's subtree: PARENT there.
		parent := "pbox"
		if f.CgroupParent != "" {
			parent = strings.Trim(f.CgroupParent, "/")
		}
		spec.Linux.CgroupsPath = deleg + "/" + parent + "/" + leaf
	} else {
		for _, l := range []struct{ flag, v string }{{"--memory", f.Memory}, {"--cpus", f.CPUs}, {"--pids-limit", f.Pids}, {"--cgroup-parent", f.CgroupParent}} {
			if l.v != "" && l.v != "pbox" {
				return rootlessLimits(l.flag)
			}
		}
		// No cgroup of its own, so no view of one: /sys/fs/cgroup is what
		// /sys shows there (with /sys bound, the user's own view, read-only).
		spec.Mounts = slices.DeleteFunc(spec.Mounts, func(m specs.Mount) bool { return m.Type == "cgroup" || m.Type == "cgroup2" })
	}
	withUserNS(spec, uids, gids, kinds)
	return nil
}

func lastID(maps []namespaces.IDMap) int {
	last := 0
	for _, m := range maps {
		last = max(last, m.Inside+m.Size-1)
	}
	return last
}

// rootlessLimits says why a rootless box cannot have limits here, and
// what would give it some.
func rootlessLimits(flag string) error {
	return fmt.Errorf("%s: a rootless box has no cgroup of its own here, so no limits: run it with sudo, or on a cgroup v2 host from a subtree delegated to uid %d (systemd: systemd-run --user --scope pbox run ...)", flag, os.Getuid())
}
