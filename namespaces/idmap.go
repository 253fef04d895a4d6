package namespaces

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// A user namespace's uid and gid maps, as an ordinary user gets them: its
// own id is root inside, and the subordinate ids /etc/subuid and
// /etc/subgid give it follow (rootless podman's layout). Only the setuid
// helpers newuidmap and newgidmap (Debian's uidmap) may write a map of
// more than the writer's own id, and they check those files first.

// IDMap is one line of a uid_map or gid_map: Size ids from Inside (in the
// namespace) are Outside (in its parent) onwards.
type IDMap struct {
	Inside, Outside, Size int
}

// SubIDs reads the ranges an /etc/subuid-format file (NAME_OR_ID:START:COUNT
// per line) gives the user called name, or with id.
func SubIDs(path, name string, id int) ([]IDMap, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []IDMap
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		who, rest, ok := strings.Cut(line, ":")
		if !ok || (who != name && who != strconv.Itoa(id)) {
			continue
		}
		startS, countS, ok := strings.Cut(rest, ":")
		start, err1 := strconv.Atoi(startS)
		count, err2 := strconv.Atoi(countS)
		if !ok || err1 != nil || err2 != nil || start < 0 || count <= 0 {
			return nil, fmt.Errorf("%s:%d: %q: want NAME:START:COUNT", path, n, line)
		}
		out = append(out, IDMap{Outside: start, Size: count})
	}
	return out, sc.Err()
}

// OwnRootMaps maps own to 0 inside and the subordinate ranges after it,
// in order, from 1.
func OwnRootMaps(own int, sub []IDMap) []IDMap {
	maps := []IDMap{{Inside: 0, Outside: own, Size: 1}}
	next := 1
	for _, r := range sub {
		maps = append(maps, IDMap{Inside: next, Outside: r.Outside, Size: r.Size})
		next += r.Size
	}
	return maps
}

// CheckMaps refuses maps whose ranges overlap inside or outside (the
// kernel would refuse the write, with less to say).
func CheckMaps(maps []IDMap) error {
	for i, a := range maps {
		if a.Size <= 0 || a.Inside < 0 || a.Outside < 0 {
			return fmt.Errorf("%d:%d:%d: ids and size must be positive", a.Inside, a.Outside, a.Size)
		}
		for _, b := range maps[i+1:] {
			if a.Inside < b.Inside+b.Size && b.Inside < a.Inside+a.Size {
				return fmt.Errorf("%d:%d:%d and %d:%d:%d overlap inside the box", a.Inside, a.Outside, a.Size, b.Inside, b.Outside, b.Size)
			}
			if a.Outside < b.Outside+b.Size && b.Outside < a.Outside+a.Size {
				return fmt.Errorf("%d:%d:%d and %d:%d:%d overlap on the host", a.Inside, a.Outside, a.Size, b.Inside, b.Outside, b.Size)
			}
		}
	}
	return nil
}

// Inside maps a host id into the namespace: ok false if unmapped.
func Inside(maps []IDMap, outside int) (int, bool) {
	for _, m := range maps {
		if outside >= m.Outside && outside < m.Outside+m.Size {
			return m.Inside + outside - m.Outside, true
		}
	}
	return 0, false
}

// Mapped reports whether an id inside the namespace is mapped.
func Mapped(maps []IDMap, inside int) bool {
	for _, m := range maps {
		if inside >= m.Inside && inside < m.Inside+m.Size {
			return true
		}
	}
	return false
}

// NeedHelpers reports whether maps need newuidmap/newgidmap: anything
// but the writer's own id alone.
func NeedHelpers(maps []IDMap, own int) bool {
	return len(maps) != 1 || maps[0].Outside != own || maps[0].Size != 1
}

// HelperPath finds newuidmap or newgidmap, or says how to get it.
func HelperPath(helper string) (string, error) {
	p, err := exec.LookPath(helper)
	if err != nil {
		return "", fmt.Errorf("%s is not installed: it writes a user namespace's map of subordinate ids (install Debian's uidmap package)", helper)
	}
	return p, nil
}

// WriteMaps gives process pid, in a new user namespace and waiting for
// it, its maps: through newuidmap and newgidmap when they hold more than
// the caller's own ids, else directly, with setgroups denied first as the
// kernel requires of an unprivileged writer of gid_map (the box then
// cannot change its supplementary groups).
func WriteMaps(pid int, uids, gids []IDMap) error {
	own := [2]int{os.Getuid(), os.Getgid()}
	for i, m := range []struct {
		helper, file string
		maps         []IDMap
	}{{"newuidmap", "uid_map", uids}, {"newgidmap", "gid_map", gids}} {
		if NeedHelpers(m.maps, own[i]) {
			path, err := HelperPath(m.helper)
			if err != nil {
				return err
			}
			args := []string{strconv.Itoa(pid)}
			for _, l := range m.maps {
				args = append(args, strconv.Itoa(l.Inside), strconv.Itoa(l.Outside), strconv.Itoa(l.Size))
			}
			out, err := exec.Command(path, args...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%s %s: %v: %s", m.helper, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
			}
			continue
		}
		dir := "/proc/" + strconv.Itoa(pid) + "/"
		if m.file == "gid_map" {
			if err := os.WriteFile(dir+"setgroups", []byte("deny"), 0); err != nil {
				return fmt.Errorf("deny setgroups: %w", err)
			}
		}
		l := m.maps[0]
		if err := os.WriteFile(dir+m.file, []byte(fmt.Sprintf("%d %d %d\n", l.Inside, l.Outside, l.Size)), 0); err != nil {
			return fmt.Errorf("write %s: %w", m.file, err)
		}
	}
	return nil
}
