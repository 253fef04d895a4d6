package box

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pbox-dev/pbox/cgroups"
)

// Cgroups a state root made are marked in it: one empty file per cgroup
// under <root>/.cgroups, named by the cgroup's path, made before its
// mkdir and removed after its rmdir. `pbox cleanup` removes only marked
// cgroups, so it never touches one pbox did not make (or one another
// state root made), and a killed pbox's leftovers are found in every
// hierarchy, wherever they are (an OCI cgroupsPath, the devices
// hierarchy of a killed create).

// marksDir is where a state root keeps its marks.
const marksDir = ".cgroups"

// CgroupLeaf is the cgroup name of box id in this state root: the id
// itself in the default root, and "ID@<8 hex of the root's path>" in any
// other, so that boxes of one name in two roots never share a cgroup
// (and `pbox --root B rm web` can never kill root A's web). '@' cannot
// appear in an id, so no id of the default root can collide either.
func (s Store) CgroupLeaf(id string) string {
	if s.Root == DefaultStateRoot || s.Root == "" {
		return id
	}
	sum := sha256.Sum256([]byte(s.Root))
	return id + "@" + hex.EncodeToString(sum[:4])
}

// plainLeaf is CgroupLeaf with '-' for '@': still unique on the host, and
// a name where '@' means something else (a CNI container id; a systemd
// unit's instance).
func (s Store) plainLeaf(id string) string {
	return strings.ReplaceAll(s.CgroupLeaf(id), "@", "-")
}

// systemdCgroupsPath is box id's cgroupsPath under --systemd-cgroup in
// slice: SLICE:pbox:NAME, as runc's systemd driver names its own.
func (s Store) systemdCgroupsPath(slice, id string) string {
	return slice + ":pbox:" + s.plainLeaf(id)
}

func (s Store) markPath(rel string) string {
	return filepath.Join(s.Root, marksDir, markEscaper.Replace("/"+strings.Trim(rel, "/")))
}

// A mark's file name is its cgroup path with '%' and '/' escaped.
var (
	markEscaper   = strings.NewReplacer("%", "%25", "/", "%2F")
	markUnescaper = strings.NewReplacer("%2F", "/", "%25", "%")
)

// MarkCgroup records that this root is about to make the cgroup at rel
// (relative to the root of each hierarchy) for box id: a mark in the
// root, and the path in the box's state directory (cgroupPathFile), so
// that rm and delete find the cgroup even if pbox was killed before the
// box's record named it.
func (s Store) MarkCgroup(id, rel string) error {
	var err error
	for range 5 { // another pbox may remove the empty directory meanwhile
		if err = os.MkdirAll(filepath.Join(s.Root, marksDir), 0o700); err != nil {
			return err
		}
		if err = os.WriteFile(s.markPath(rel), nil, 0o600); !errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	if id != "" {
		os.WriteFile(s.Path(id, cgroupPathFile), []byte(rel), 0o600) // no state dir: nothing to find it by
	}
	return nil
}

// cgroupPathFile, in a box's state directory, names the cgroup
// MarkCgroup marked for it.
const cgroupPathFile = "cgroup.path"

// UnmarkCgroup forgets a cgroup once it is removed. A nil Store marks
// nothing.
func (s *Store) UnmarkCgroup(rel string) {
	if s != nil && rel != "" {
		os.Remove(s.markPath(rel))
		// Gone when empty: a state root holds only boxes when none is
		// left to clean (as runc's root).
		os.Remove(filepath.Join(s.Root, marksDir))
	}
}

// MarkedCgroups lists the cgroups this root made and has not removed.
func (s Store) MarkedCgroups() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.Root, marksDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rels []string
	for _, e := range entries {
		if rel := markUnescaper.Replace(e.Name()); strings.HasPrefix(rel, "/") {
			rels = append(rels, rel)
		}
	}
	sort.Strings(rels)
	return rels, nil
}

// Cleanup is `pbox cleanup`: it removes the state of boxes whose pbox was
// killed (a foreground box's state lives as long as its pbox run; a box
// whose set-up never finished has no exit worth keeping), then every
// cgroup this root marked that is empty now, in every hierarchy — only
// those under parent if it is not "". Each path removed goes to removed,
// each one still holding processes to busy.
func (s Store) Cleanup(parent string, removed, busy func(string)) error {
	ids, _ := s.List()
	for _, id := range ids {
		rec, err := s.Read(id)
		if err != nil || !s.Abandoned(rec) {
			continue
		}
		if err := s.Remove(id); err == nil {
			removed(s.Dir(id))
		}
	}
	marked, err := s.MarkedCgroups()
	if err != nil {
		return err
	}
	mode := cgroups.DetectMode()
	var errs []error
	for _, rel := range marked {
		if parent != "" && !strings.HasPrefix(rel, "/"+strings.Trim(parent, "/")+"/") {
			continue
		}
		gone, inUse, err := cgroups.RemoveLeftover(mode, cgroups.DefaultRoot, rel)
		for _, d := range gone {
			removed(d)
		}
		for _, d := range inUse {
			busy(d)
		}
		if err != nil {
			errs = append(errs, err)
		} else if len(inUse) == 0 {
			s.UnmarkCgroup(rel)
		}
	}
	return errors.Join(errs...)
}

// Abandoned reports whether a box's state is only what a killed pbox
// left: a stopped foreground box, or one whose set-up never finished.
func (s Store) Abandoned(rec *Record) bool {
	return s.Status(rec) == StatusStopped && (rec.Kind == KindForeground || rec.Status == StatusCreating || rec.unwritten)
}

// NeverStarted reports whether rec is a claim whose pbox died before its
// box ran (killed, or by a write to a closed pipe, mid-start): no process
// of it ever ran, so it is no box to list, only leftovers to remove.
func (s Store) NeverStarted(rec *Record) bool {
	return (rec.unwritten || (rec.Status == StatusCreating && rec.Pid == 0)) && s.Status(rec) == StatusStopped
}

// RemoveNeverStarted removes box id if it is a claim whose pbox died
// before the box ran (NeverStarted), with the cgroups it marked; under
// the box's lock, so a start in progress is never touched. It reports
// whether it did.
func (s Store) RemoveNeverStarted(id string) bool {
	lock, err := tryLock(s.Dir(id))
	if err != nil {
		return false
	}
	defer lock.Unlock()
	rec, err := s.Read(id)
	// Unwritten and unlocked: its claimer is gone (Claim never shows a
	// directory unlocked before its first record).
	if err != nil || !(rec.unwritten || s.NeverStarted(rec)) {
		return false
	}
	return s.Remove(id) == nil
}
