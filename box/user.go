package box

import (
	"fmt"
	"strconv"
	"strings"
)

// HomeOf is uid's home directory in the box's /etc/passwd under root,
// "/" where it has none (as runc's and Docker's default user).
func HomeOf(root string, uid uint32) string {
	for _, e := range readColonFile(root, "etc/passwd") {
		if len(e) >= 6 && e[2] == strconv.FormatUint(uint64(uid), 10) && strings.HasPrefix(e[5], "/") {
			return e[5]
		}
	}
	return "/"
}

// ResolveUser reads docker's -u: USER[:GROUP], each a number or a name,
// names looked up in the box's own /etc/passwd and /etc/group under root
// (the rootfs, or /proc/<init>/root of a running box), never the host's.
// As docker: a user found in passwd gets its primary group and the
// supplementary groups /etc/group lists it in; a number not in passwd
// runs with group 0 unless GROUP says otherwise.
func ResolveUser(root, spec string) (*User, error) {
	us, gs, hasGroup := strings.Cut(spec, ":")
	if us == "" || (hasGroup && gs == "") {
		return nil, fmt.Errorf("%q: give USER[:GROUP], names or numbers", spec)
	}
	passwd := readColonFile(root, "etc/passwd")
	u := &User{}
	name := ""
	if n, err := strconv.ParseUint(us, 10, 32); err == nil {
		u.UID = uint32(n)
		for _, e := range passwd {
			if len(e) >= 4 && e[2] == us {
				name = e[0]
				if g, err := strconv.ParseUint(e[3], 10, 32); err == nil {
					u.GID = uint32(g)
				}
				break
			}
		}
	} else {
		found := false
		for _, e := range passwd {
			if len(e) >= 4 && e[0] == us {
				uid, err1 := strconv.ParseUint(e[2], 10, 32)
				gid, err2 := strconv.ParseUint(e[3], 10, 32)
				if err1 != nil || err2 != nil {
					return nil, fmt.Errorf("user %q: its /etc/passwd line in the box is malformed", us)
				}
				u.UID, u.GID, name, found = uint32(uid), uint32(gid), us, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("user %q: no such user in the box's /etc/passwd: give a UID, or a user the image has", us)
		}
	}
	group := readColonFile(root, "etc/group")
	if hasGroup {
		if n, err := strconv.ParseUint(gs, 10, 32); err == nil {
			u.GID = uint32(n)
		} else {
			found := false
			for _, e := range group {
				if len(e) >= 3 && e[0] == gs {
					g, err := strconv.ParseUint(e[2], 10, 32)
					if err != nil {
						return nil, fmt.Errorf("group %q: its /etc/group line in the box is malformed", gs)
					}
					u.GID, found = uint32(g), true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("group %q: no such group in the box's /etc/group: give a GID, or a group the image has", gs)
			}
		}
	}
	if name != "" {
		for _, e := range group {
			if len(e) < 4 {
				continue
			}
			for _, m := range strings.Split(e[3], ",") {
				if m == name {
					if g, err := strconv.ParseUint(e[2], 10, 32); err == nil && uint32(g) != u.GID {
						u.Groups = append(u.Groups, uint32(g))
					}
				}
			}
		}
	}
	return u, nil
}

// readColonFile reads a passwd-style file of the box, one []string of
// fields per line; a missing file, or one that is not a regular file,
// reads as empty. The box owns these files (boxfile.go): only a regular
// file is opened, and only its first 4 MiB are read.
func readColonFile(root, name string) [][]string {
	data, err := readBoxFile(root, name, 4<<20)
	if err != nil {
		return nil
	}
	var out [][]string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out
}
