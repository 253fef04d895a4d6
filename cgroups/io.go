package cgroups

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// ioController is the block I/O controller's name: blkio on v1, io on v2.
func (c *Cgroup) ioController() string {
	if c.mode == V2 {
		return "io"
	}
	return "blkio"
}

// ioSettings are the block I/O controller's files, as runc writes them:
// the weight in the CFQ file where the kernel has it, else BFQ's (v2:
// io.bfq.weight, else io.weight on its own scale); throttles one line per
// device (v2: io.max, one line with every limit of a device).
func (c *Cgroup) ioSettings() []setting {
	l := c.limits
	var s []setting
	const field = "linux.resources.blockIO."
	weightFile := func(v1, bfq1, bfq2, v2 string) (string, bool) {
		if c.mode == V2 {
			if f := c.file("io", bfq2); exists(f) {
				return f, true
			}
			return c.file("io", v2), false
		}
		if f := c.file("blkio", v1); exists(f) {
			return f, true
		}
		return c.file("blkio", bfq1), true
	}
	if l.BlkioWeight > 0 {
		f, direct := weightFile("blkio.weight", "blkio.bfq.weight", "io.bfq.weight", "io.weight")
		v := strconv.FormatUint(uint64(l.BlkioWeight), 10)
		if !direct {
			v = "default " + strconv.FormatUint(BlkioToIOWeight(l.BlkioWeight), 10)
		}
		s = append(s, setting{f, v, "", field + "weight"})
	}
	if l.BlkioLeafWeight > 0 {
		// CFQ's only: gone from BFQ and cgroup v2.
		s = append(s, optional(field+"leafWeight", c.file(c.ioController(), "blkio.leaf_weight"), strconv.FormatUint(uint64(l.BlkioLeafWeight), 10)))
	}
	for _, d := range l.BlkioWeightDevice {
		dev := fmt.Sprintf("%d:%d", d.Major, d.Minor)
		if d.Weight > 0 {
			f, direct := weightFile("blkio.weight_device", "blkio.bfq.weight_device", "io.bfq.weight", "io.weight")
			w := uint64(d.Weight)
			if !direct {
				w = BlkioToIOWeight(d.Weight)
			}
			s = append(s, setting{f, dev + " " + strconv.FormatUint(w, 10), "", field + "weightDevice"})
		}
		if d.LeafWeight > 0 {
			s = append(s, optional(field+"weightDevice.leafWeight", c.file(c.ioController(), "blkio.leaf_weight_device"), dev+" "+strconv.FormatUint(uint64(d.LeafWeight), 10)))
		}
	}
	if c.mode != V2 {
		files := map[string]string{"rbps": "read_bps", "wbps": "write_bps", "riops": "read_iops", "wiops": "write_iops"}
		for _, t := range l.BlkioThrottle {
			f := c.file("blkio", "blkio.throttle."+files[t.Kind]+"_device")
			s = append(s, setting{f, fmt.Sprintf("%d:%d %d", t.Major, t.Minor, t.Rate), "", field + "throttle"})
		}
		return s
	}
	// io.max: a line per device, with each of its limits.
	lines := map[string][]string{}
	for _, t := range l.BlkioThrottle {
		dev := fmt.Sprintf("%d:%d", t.Major, t.Minor)
		lines[dev] = append(lines[dev], t.Kind+"="+strconv.FormatUint(t.Rate, 10))
	}
	devs := make([]string, 0, len(lines))
	for d := range lines {
		devs = append(devs, d)
	}
	sort.Strings(devs)
	for _, d := range devs {
		s = append(s, setting{c.file("io", "io.max"), d + " " + strings.Join(lines[d], " "), "", field + "throttle"})
	}
	return s
}

// BlkioToIOWeight converts a blkio weight (10-1000) to io.weight's scale
// (1-10000), as runc and systemd do.
func BlkioToIOWeight(w uint16) uint64 {
	if w == 0 {
		return 0
	}
	return 1 + (uint64(w)-10)*9999/990
}

// hugetlbSettings are the hugetlb controller's files, per page size: the
// limit (hugetlb.<size>.limit_in_bytes on v1, .max on v2) or the
// reservation limit (.rsvd.*).
func (c *Cgroup) hugetlbSettings() []setting {
	var s []setting
	v2 := c.onUnified("hugetlb")
	for _, h := range c.limits.Hugetlb {
		name := "hugetlb." + h.PageSize
		if h.Rsvd {
			name += ".rsvd"
		}
		if v2 {
			name += ".max"
		} else {
			name += ".limit_in_bytes"
		}
		f := c.file("hugetlb", name)
		if v2 && c.mode == Hybrid {
			f = c.v2dir + "/" + name
		}
		s = append(s, optional("linux.resources.hugepageLimits ("+h.PageSize+")", f, strconv.FormatUint(h.Limit, 10)))
	}
	return s
}

// onUnified reports whether ctrl is managed in the cgroup2 tree: always
// on v2, and on a hybrid host for a controller no v1 hierarchy has but
// the cgroup2 tree does (hugetlb, on this kind of host, often).
func (c *Cgroup) onUnified(ctrl string) bool {
	switch c.mode {
	case V2:
		return true
	case Hybrid:
		if exists(c.root + "/" + ctrl + "/cgroup.procs") {
			return false
		}
		have, _ := os.ReadFile(c.root + "/unified/cgroup.controllers")
		return contains(strings.Fields(string(have)), ctrl)
	}
	return false
}

// unifiedSettings are the cgroup v2 files the config names itself.
func (c *Cgroup) unifiedSettings() []setting {
	keys := make([]string, 0, len(c.limits.Unified))
	for k := range c.limits.Unified {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var s []setting
	for _, k := range keys {
		s = append(s, optional("linux.resources.unified["+strconv.Quote(k)+"]", c.v2dir+"/"+k, c.limits.Unified[k]))
	}
	return s
}

// ValidUnifiedKey checks a key of linux.resources.unified: a file of the
// box's own cgroup2 directory, of a controller ("memory.high"), not one
// of the files pbox itself manages.
func ValidUnifiedKey(k string) error {
	ctrl, _, ok := strings.Cut(k, ".")
	switch {
	case !ok || ctrl == "" || strings.ContainsAny(k, "/\x00") || k == "." || k == "..":
		return fmt.Errorf("%q is not a cgroup file name (e.g. memory.high)", k)
	case k == "cgroup.procs" || k == "cgroup.threads" || k == "cgroup.subtree_control" || k == "cgroup.kill" ||
		k == "cgroup.freeze" || k == "cgroup.type" || k == "devices.allow" || k == "devices.deny":
		return fmt.Errorf("%q is pbox's own to manage", k)
	}
	return nil
}
