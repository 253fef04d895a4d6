package cgroups

import (
	"os"
	"strconv"
	"strings"
)

// memorySettings are the memory controller's files: the limit, swap (none
// unless asked: without it a memory hog pages out instead of being
// OOM-killed) and the reservation.
func (c *Cgroup) memorySettings() []setting {
	l := c.limits
	var s []setting
	if c.mode == V2 {
		if l.MemoryBytes > 0 {
			s = append(s, exact(c.file("memory", "memory.max"), strconv.FormatInt(l.MemoryBytes, 10)))
			if swapFile := c.file("memory", "memory.swap.max"); exists(swapFile) {
				// v2 counts swap alone.
				swap := "0"
				switch {
				case l.SwapBytes < 0:
					swap = "max"
				case l.SwapBytes > l.MemoryBytes:
					swap = strconv.FormatInt(l.SwapBytes-l.MemoryBytes, 10)
				}
				s = append(s, exact(swapFile, swap))
			}
		}
		if l.MemoryReservation > 0 {
			s = append(s, exact(c.file("memory", "memory.low"), strconv.FormatInt(l.MemoryReservation, 10)))
		}
		// v2 has no swappiness and no OOM-killer switch: named, refused.
		if l.MemorySwappiness != nil {
			s = append(s, optional("linux.resources.memory.swappiness", c.file("memory", "memory.swappiness"), strconv.FormatUint(*l.MemorySwappiness, 10)))
		}
		if l.DisableOOMKiller {
			s = append(s, optional("linux.resources.memory.disableOOMKiller", c.file("memory", "memory.oom_control"), "1"))
		}
		return s
	}
	if l.MemoryBytes > 0 {
		// The kernel rounds the v1 limit down to a page.
		page := int64(os.Getpagesize())
		v := strconv.FormatInt(l.MemoryBytes, 10)
		rounded := strconv.FormatInt(l.MemoryBytes/page*page, 10)
		limit := setting{c.file("memory", "memory.limit_in_bytes"), v, rounded, ""}
		memsw := c.file("memory", "memory.memsw.limit_in_bytes")
		if !exists(memsw) {
			s = append(s, limit)
		} else {
			// memsw is memory+swap: equal to the limit means no swap. The
			// kernel wants memsw >= limit at every moment: raising (pbox
			// update) writes memsw first, lowering writes the limit first.
			sw := setting{memsw, v, rounded, ""}
			switch {
			case l.SwapBytes < 0:
				sw = setting{memsw, "-1", "", ""}
			case l.SwapBytes > l.MemoryBytes:
				sw = setting{memsw, strconv.FormatInt(l.SwapBytes, 10), strconv.FormatInt(l.SwapBytes/page*page, 10), ""}
			}
			cur, _ := os.ReadFile(memsw)
			if n, err := strconv.ParseInt(strings.TrimSpace(string(cur)), 10, 64); err == nil && n < l.MemoryBytes {
				s = append(s, sw, limit)
			} else {
				s = append(s, limit, sw)
			}
		}
	}
	if l.MemoryReservation > 0 {
		s = append(s, setting{c.file("memory", "memory.soft_limit_in_bytes"), strconv.FormatInt(l.MemoryReservation, 10), "", ""})
	}
	if l.MemorySwappiness != nil {
		s = append(s, optional("linux.resources.memory.swappiness", c.file("memory", "memory.swappiness"), strconv.FormatUint(*l.MemorySwappiness, 10)))
	}
	if l.DisableOOMKiller {
		// memory.oom_control reads back as several lines: taken as written.
		s = append(s, setting{c.file("memory", "memory.oom_control"), "1", "", "linux.resources.memory.disableOOMKiller"})
	}
	return s
}
