package cgroups

import (
	"fmt"
	"strconv"
)

// cpuSettings are the cpu controller's files: the quota over its period
// (--cpus) and the relative weight (v1 shares, v2 weight).
func (c *Cgroup) cpuSettings() []setting {
	l := c.limits
	var s []setting
	if l.CPUQuota > 0 {
		if c.mode == V2 {
			s = append(s, exact(c.file("cpu", "cpu.max"), fmt.Sprintf("%d %d", l.CPUQuota, l.CPUPeriod)))
		} else {
			s = append(s, exact(c.file("cpu", "cpu.cfs_period_us"), strconv.FormatUint(l.CPUPeriod, 10)),
				exact(c.file("cpu", "cpu.cfs_quota_us"), strconv.FormatInt(l.CPUQuota, 10)))
		}
	}
	if l.CPUShares > 0 {
		if c.mode == V2 {
			s = append(s, exact(c.file("cpu", "cpu.weight"), strconv.FormatUint(SharesToWeight(l.CPUShares), 10)))
		} else {
			s = append(s, exact(c.file("cpu", "cpu.shares"), strconv.FormatUint(l.CPUShares, 10)))
		}
	}
	return s
}

// cpusetSettings are the cpuset controller's files: the CPUs and memory
// nodes the box may use (the kernel may write them back reformatted).
func (c *Cgroup) cpusetSettings() []setting {
	l := c.limits
	var s []setting
	if l.CpusetCpus != "" {
		s = append(s, setting{c.file("cpuset", "cpuset.cpus"), l.CpusetCpus, ""})
	}
	if l.CpusetMems != "" {
		s = append(s, setting{c.file("cpuset", "cpuset.mems"), l.CpusetMems, ""})
	}
	return s
}
