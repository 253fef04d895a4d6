package box

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/rootfs"
	"golang.org/x/sys/unix"
)

// ParseDevice reads a --device HOST[:BOX][:PERMS] (Docker's syntax): the
// host node must be a char or block device; BOX (default: HOST) is where
// it appears in a box with its own root; PERMS, of r, w and m, is what
// the box may do with it (default rwm). It returns the node to make and
// the device rule that lets the box use it.
func ParseDevice(spec string) (rootfs.Device, cgroups.DeviceRule, error) {
	var d rootfs.Device
	var rule cgroups.DeviceRule
	parts := strings.Split(spec, ":")
	if len(parts) > 3 || parts[0] == "" {
		return d, rule, fmt.Errorf("use HOST[:BOX][:PERMS], e.g. /dev/fuse or /dev/sdb:/dev/xvdb:r")
	}
	host, target, perms := parts[0], parts[0], "rwm"
	switch len(parts) {
	case 2:
		if validPerms(parts[1]) && !strings.HasPrefix(parts[1], "/") {
			perms = parts[1]
		} else {
			target = parts[1]
		}
	case 3:
		target, perms = parts[1], parts[2]
	}
	if !filepath.IsAbs(host) || !filepath.IsAbs(target) {
		return d, rule, fmt.Errorf("HOST and BOX must be absolute paths, e.g. /dev/fuse")
	}
	if !validPerms(perms) {
		return d, rule, fmt.Errorf("permissions %q: use one or more of r (read), w (write), m (mknod)", perms)
	}
	var st unix.Stat_t
	if err := unix.Stat(host, &st); err != nil {
		return d, rule, fmt.Errorf("%s: %w", host, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		d.Type = 'c'
	case unix.S_IFBLK:
		d.Type = 'b'
	default:
		return d, rule, fmt.Errorf("%s is not a device node (give a character or block device, e.g. /dev/fuse)", host)
	}
	d.Path = filepath.Clean(target)
	d.Major, d.Minor = unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))
	d.Mode, d.UID, d.GID = st.Mode&0o7777, st.Uid, st.Gid
	rule = cgroups.DeviceRule{Allow: true, Type: d.Type, Major: int64(d.Major), Minor: int64(d.Minor), Access: perms}
	return d, rule, nil
}

func validPerms(p string) bool {
	if p == "" || len(p) > 3 {
		return false
	}
	for _, c := range p {
		if !strings.ContainsRune("rwm", c) || strings.Count(p, string(c)) > 1 {
			return false
		}
	}
	return true
}
