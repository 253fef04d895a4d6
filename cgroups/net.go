package cgroups

import (
	"fmt"
	"sort"
	"strconv"
)

// rdmaSettings are the rdma controller's file: a line per device.
func (c *Cgroup) rdmaSettings() []setting {
	devs := make([]string, 0, len(c.limits.Rdma))
	for d := range c.limits.Rdma {
		devs = append(devs, d)
	}
	sort.Strings(devs)
	var s []setting
	for _, d := range devs {
		s = append(s, setting{c.file("rdma", "rdma.max"), d + " " + c.limits.Rdma[d], "", "linux.resources.rdma"})
	}
	return s
}

// netSettings are v1's net_cls and net_prio files: the class id the
// box's packets carry (for tc and iptables) and per-interface priorities.
func (c *Cgroup) netSettings() []setting {
	l := c.limits
	var s []setting
	if l.NetClassID != nil {
		s = append(s, optional("linux.resources.network.classID", c.file("net_cls", "net_cls.classid"), strconv.FormatUint(uint64(*l.NetClassID), 10)))
	}
	names := make([]string, 0, len(l.NetPriorities))
	for n := range l.NetPriorities {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s = append(s, setting{c.file("net_prio", "net_prio.ifpriomap"), fmt.Sprintf("%s %d", n, l.NetPriorities[n]), "", "linux.resources.network.priorities"})
	}
	return s
}
