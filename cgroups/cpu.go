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
	if l.CPUBurst != nil {
		burst := "cpu.cfs_burst_us"
		if c.mode == V2 {
			burst = "cpu.max.burst"
		}
		s = append(s, optional("linux.resources.cpu.burst", c.file("cpu", burst), strconv.FormatUint(*l.CPUBurst, 10)))
	}
	if l.CPUIdle != nil {
		// SCHED_IDLE for the whole box: cgroup v2 only (cpu.idle).
		s = append(s, optional("linux.resources.cpu.idle", c.file("cpu", "cpu.idle"), strconv.FormatInt(*l.CPUIdle, 10)))
	}
	// Real-time CPU time: v1 with RT_GROUP_SCHED only (cpu.rt_*). The
	// period first: the kernel checks the runtime against it.
	if l.CPURealtimePeriod > 0 {
		s = append(s, optional("linux.resources.cpu.realtimePeriod", c.file("cpu", "cpu.rt_period_us"), strconv.FormatUint(l.CPURealtimePeriod, 10)))
	}
	if l.CPURealtimeRuntime != 0 {
		s = append(s, optional("linux.resources.cpu.realtimeRuntime", c.file("cpu", "cpu.rt_runtime_us"), strconv.FormatInt(l.CPURealtimeRuntime, 10)))
	}
	return s
}

// cpusetSettings are the cpuset controller's files: the CPUs and memory
// nodes the box may use (the kernel may write them back reformatted).
func (c *Cgroup) cpusetSettings() []setting {
	l := c.limits
	var s []setting
	if l.CpusetCpus != "" {
		s = append(s, setting{c.file("cpuset", "cpuset.cpus"), l.CpusetCpus, "", ""})
	}
	if l.CpusetMems != "" {
		s = append(s, setting{c.file("cpuset", "cpuset.mems"), l.CpusetMems, "", ""})
	}
	return s
}
