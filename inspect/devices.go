package inspect

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Device is one device node in the box's /dev, and what its device rules
// let the box do with it.
type Device struct {
	Node   string `json:"node"`   // its path in the box
	Type   string `json:"type"`   // c or b
	Major  uint32 `json:"major"`  // its device number
	Minor  uint32 `json:"minor"`  //
	Access string `json:"access"` // r, w, m of the rules; "-" denied; "?" no rules known
}

// DeviceRule is one of the box's device cgroup rules, in order (what the
// caller, which knows the box, passes in Options.DeviceRules).
type DeviceRule struct {
	Allow        bool
	Type         byte  // 'a', 'c' or 'b'
	Major, Minor int64 // -1: any
	Access       string
}

// maxDevices bounds the nodes listed: the box makes its /dev.
const maxDevices = 256

// devices lists the device nodes under the box's /dev, two levels deep,
// resolved inside the box's root (openat2 RESOLVE_IN_ROOT from
// /proc/PID/root: a symlink the box planted never leads to a host
// directory), by lstat only: no node is opened.
func (c *collector) devices(pid int) {
	root, err := unix.Open(procPath(pid, "root"), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		c.noteErr("the box's /dev", err)
		return
	}
	defer unix.Close(root)
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		fd, err := unix.Openat2(root, dir, &unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_SYMLINKS,
		})
		if err != nil {
			return
		}
		f := os.NewFile(uintptr(fd), dir)
		names, _ := f.Readdirnames(-1)
		defer f.Close()
		sort.Strings(names)
		for _, n := range names {
			if len(c.rep.Devices) >= maxDevices {
				c.note("the box's /dev has more than %d device nodes: the first %d are listed", maxDevices, maxDevices)
				return
			}
			var st unix.Stat_t
			if unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
				continue
			}
			p := path.Join(dir, n)
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFCHR, unix.S_IFBLK:
				t := "c"
				if st.Mode&unix.S_IFMT == unix.S_IFBLK {
					t = "b"
				}
				d := Device{Node: p, Type: t, Major: unix.Major(st.Rdev), Minor: unix.Minor(st.Rdev)}
				d.Access = accessOf(c.opt.DeviceRules, d)
				c.rep.Devices = append(c.rep.Devices, d)
			case unix.S_IFDIR:
				if depth < 2 {
					walk(p, depth+1)
				}
			}
		}
	}
	walk("/dev", 1)
}

// accessOf applies the rules in order, as the kernel's v1 list and
// runc's v2 program do: each matching rule grants or takes its letters.
func accessOf(rules []DeviceRule, d Device) string {
	if rules == nil {
		return "?"
	}
	have := map[byte]bool{}
	for _, r := range rules {
		if (r.Type != 'a' && string(r.Type) != d.Type) || (r.Major >= 0 && r.Major != int64(d.Major)) || (r.Minor >= 0 && r.Minor != int64(d.Minor)) {
			continue
		}
		for i := 0; i < len(r.Access); i++ {
			have[r.Access[i]] = r.Allow
		}
	}
	var b strings.Builder
	for _, l := range []byte("rwm") {
		if have[l] {
			b.WriteByte(l)
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

// deviceLine is a node as the text and the picture show it.
func deviceLine(d Device) string {
	return fmt.Sprintf("%s %s %d:%d %s", d.Node, d.Type, d.Major, d.Minor, d.Access)
}
