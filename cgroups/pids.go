package cgroups

import "strconv"

// pidsSettings are the pids controller's file: the most tasks the box
// may have (a fork bomb stops there).
func (c *Cgroup) pidsSettings() []setting {
	if c.limits.PidsMax <= 0 {
		return nil
	}
	return []setting{exact(c.file("pids", "pids.max"), strconv.FormatInt(c.limits.PidsMax, 10))}
}
