package box

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/pbox-dev/pbox/namespaces"
	"golang.org/x/sys/unix"
)

// A user namespace for a box root starts: --uidmap/--gidmap as given, or
// --userns auto, which gives each box its own block of 65536 ids out of
// the subordinate ids /etc/subuid and /etc/subgid give the user "pbox"
// (as podman's --userns=auto takes them from "containers"), so that root
// in one box is nobody to the host and to every other box.

// AutoUser is whose subordinate ids --userns auto hands out.
const AutoUser = "pbox"

// autoBlock is how many ids each box gets from --userns auto.
const autoBlock = 65536

// usernsDir holds the claimed blocks in a state root: one file per block,
// named by its first id, holding the box's name.
const usernsDir = ".userns"

// ParseIDMaps reads --uidmap/--gidmap values: CONTAINER:HOST:SIZE each.
func ParseIDMaps(flag string, values []string) ([]namespaces.IDMap, error) {
	var maps []namespaces.IDMap
	for _, v := range values {
		f := strings.Split(v, ":")
		var n [3]int
		ok := len(f) == 3
		for i := 0; ok && i < 3; i++ {
			var err error
			n[i], err = strconv.Atoi(f[i])
			ok = err == nil && n[i] >= 0
		}
		if !ok || n[2] == 0 {
			return nil, fmt.Errorf("%s %q: give CONTAINER:HOST:SIZE, three numbers (0:100000:65536)", flag, v)
		}
		maps = append(maps, namespaces.IDMap{Inside: n[0], Outside: n[1], Size: n[2]})
	}
	if err := namespaces.CheckMaps(maps); err != nil {
		return nil, fmt.Errorf("%s: %v", flag, err)
	}
	return maps, nil
}

// runUserNS reads --userns, --uidmap and --gidmap of a box root starts:
// nil maps for none. dry (pbox run --print-config) claims nothing.
func (s Store) runUserNS(f RunRequest, name string, dry bool) (uids, gids []namespaces.IDMap, err error) {
	switch f.UserNS {
	case "", "host":
		if f.UserNS == "host" && (len(f.UIDMaps) > 0 || len(f.GIDMaps) > 0) {
			return nil, nil, fmt.Errorf("--userns host with --uidmap/--gidmap: pick one")
		}
	case "auto":
		if len(f.UIDMaps) > 0 || len(f.GIDMaps) > 0 {
			return nil, nil, fmt.Errorf("--userns auto with --uidmap/--gidmap: pick one (auto chooses the maps)")
		}
		start, err := s.claimAutoBlock(name, dry)
		if err != nil {
			return nil, nil, fmt.Errorf("--userns auto: %v", err)
		}
		m := []namespaces.IDMap{{Inside: 0, Outside: start, Size: autoBlock}}
		return m, m, nil
	default:
		return nil, nil, fmt.Errorf("--userns %q: give auto (a block of pbox's subordinate ids of its own) or host (none), or --uidmap", f.UserNS)
	}
	if uids, err = ParseIDMaps("--uidmap", f.UIDMaps); err != nil {
		return nil, nil, err
	}
	if gids, err = ParseIDMaps("--gidmap", f.GIDMaps); err != nil {
		return nil, nil, err
	}
	if gids == nil {
		gids = uids // as podman: --uidmap alone maps both
	}
	if uids == nil && gids != nil {
		return nil, nil, fmt.Errorf("--gidmap without --uidmap: give both, or --uidmap alone for both")
	}
	return uids, gids, nil
}

// autoRanges are the ranges of AutoUser's subordinate ids that both
// /etc/subuid and /etc/subgid give (the same ids serve as uids and gids).
func autoRanges() ([]namespaces.IDMap, error) {
	u, err := namespaces.SubIDs("/etc/subuid", AutoUser, -1)
	if err != nil {
		return nil, err
	}
	g, err := namespaces.SubIDs("/etc/subgid", AutoUser, -1)
	if err != nil {
		return nil, err
	}
	var both []namespaces.IDMap
	for _, a := range u {
		for _, b := range g {
			lo, hi := max(a.Outside, b.Outside), min(a.Outside+a.Size, b.Outside+b.Size)
			if hi-lo >= autoBlock {
				both = append(both, namespaces.IDMap{Outside: lo, Size: hi - lo})
			}
		}
	}
	if len(both) == 0 {
		return nil, fmt.Errorf("no subordinate ids for %q in /etc/subuid and /etc/subgid (at least %d in both): add a range, e.g. echo %s:2000000:1000000 | tee -a /etc/subuid /etc/subgid", AutoUser, autoBlock, AutoUser)
	}
	return both, nil
}

// claimAutoBlock gives box name a block of autoBlock ids: the one it has
// already (its monitor plans again), else the first free one. A block
// whose box has no state (it never started, or pbox was killed) is free
// again after a minute (a box being planned right now has no state yet).
func (s Store) claimAutoBlock(name string, dry bool) (int, error) {
	ranges, err := autoRanges()
	if err != nil {
		return 0, err
	}
	dir := filepath.Join(s.Root, usernsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	for _, r := range ranges {
		for start := r.Outside; start+autoBlock <= r.Outside+r.Size; start += autoBlock {
			file := filepath.Join(dir, strconv.Itoa(start))
			owner, err := os.ReadFile(file)
			switch {
			case err == nil && string(owner) == name:
				return start, nil
			case err == nil && s.staleBlock(file, string(owner)):
				os.Remove(file)
			case err == nil || !errors.Is(err, os.ErrNotExist):
				continue
			}
			if dry {
				return start, nil
			}
			fd, err := unix.Open(file, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
			if errors.Is(err, unix.EEXIST) {
				continue // another pbox took it just now
			}
			if err != nil {
				return 0, err
			}
			_, err = unix.Write(fd, []byte(name))
			unix.Close(fd)
			return start, err
		}
	}
	return 0, fmt.Errorf("every block of %d of %s's subordinate ids is in use: add more to /etc/subuid and /etc/subgid", autoBlock, AutoUser)
}

func (s Store) staleBlock(file, owner string) bool {
	if _, err := os.Stat(s.Dir(owner)); err == nil {
		return false
	}
	fi, err := os.Stat(file)
	return err == nil && time.Since(fi.ModTime()) > time.Minute
}

// releaseAutoBlock frees the block box id claimed, as its state goes.
func (s Store) releaseAutoBlock(id string) {
	dir := filepath.Join(s.Root, usernsDir)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		file := filepath.Join(dir, e.Name())
		if owner, err := os.ReadFile(file); err == nil && string(owner) == id {
			os.Remove(file)
		}
	}
}

// releaseAutoBlockIfUnused frees the block claimed for a box that was
// refused before it had state (a box of that name that exists keeps its).
func (s Store) releaseAutoBlockIfUnused(id string) {
	if _, err := os.Stat(s.Dir(id)); err != nil {
		s.releaseAutoBlock(id)
	}
}

// withUserNS gives a box's config a new user namespace with these maps,
// and the mounts one needs: /sys bound rather than mounted without a
// network namespace of the box's user namespace's own, devpts without a
// gid the box lacks.
func withUserNS(spec *specs.Spec, uids, gids []namespaces.IDMap, kinds []namespaces.Kind) {
	spec.Linux.Namespaces = append([]specs.LinuxNamespace{{Type: specs.UserNamespace}}, spec.Linux.Namespaces...)
	for _, m := range uids {
		spec.Linux.UIDMappings = append(spec.Linux.UIDMappings, specs.LinuxIDMapping{ContainerID: uint32(m.Inside), HostID: uint32(m.Outside), Size: uint32(m.Size)})
	}
	for _, m := range gids {
		spec.Linux.GIDMappings = append(spec.Linux.GIDMappings, specs.LinuxIDMapping{ContainerID: uint32(m.Inside), HostID: uint32(m.Outside), Size: uint32(m.Size)})
	}
	for i := range spec.Mounts {
		m := &spec.Mounts[i]
		switch {
		case m.Type == "sysfs" && !namespaces.Has(kinds, namespaces.Net):
			// Only a user namespace that owns the network namespace may
			// mount sysfs: bind the host's, read-only (runc's rootless spec).
			m.Type, m.Source, m.Options = "bind", "/sys", []string{"rbind", "nosuid", "noexec", "nodev", "ro", "rro"}
		case m.Type == "devpts" && !namespaces.Mapped(gids, 5):
			m.Options = slices.DeleteFunc(m.Options, func(o string) bool { return o == "gid=5" })
		}
	}
}
