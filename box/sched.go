package box

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// How a process is scheduled, as runc 1.2 sets it from process.ioPriority,
// process.scheduler and process.execCPUAffinity: each is a setting of the
// thread that exec's the process (ioprio_set, sched_setattr and
// sched_setaffinity act on the calling thread), and the process and its
// children inherit it.

// SchedAttr is struct sched_attr (sched_setattr(2)), its first version.
type SchedAttr struct {
	Policy   uint32 `json:"policy"`
	Flags    uint64 `json:"flags,omitempty"`
	Nice     int32  `json:"nice,omitempty"`
	Priority uint32 `json:"priority,omitempty"`
	Runtime  uint64 `json:"runtime,omitempty"`
	Deadline uint64 `json:"deadline,omitempty"`
	Period   uint64 `json:"period,omitempty"`
}

// schedAttrSize is SCHED_ATTR_SIZE_VER0.
const schedAttrSize = 48

// bytes is the kernel's layout of the attributes.
func (a *SchedAttr) bytes() []byte {
	b := make([]byte, schedAttrSize)
	binary.NativeEndian.PutUint32(b[0:], schedAttrSize)
	binary.NativeEndian.PutUint32(b[4:], a.Policy)
	binary.NativeEndian.PutUint64(b[8:], a.Flags)
	binary.NativeEndian.PutUint32(b[16:], uint32(a.Nice))
	binary.NativeEndian.PutUint32(b[20:], a.Priority)
	binary.NativeEndian.PutUint64(b[24:], a.Runtime)
	binary.NativeEndian.PutUint64(b[32:], a.Deadline)
	binary.NativeEndian.PutUint64(b[40:], a.Period)
	return b
}

// ioprio_set's "who" for one thread, and the class shift.
const (
	ioprioWhoProcess = 1
	ioprioClassShift = 13
)

var ioprioClasses = map[specs.IOPriorityClass]int{
	specs.IOPRIO_CLASS_RT: 1, specs.IOPRIO_CLASS_BE: 2, specs.IOPRIO_CLASS_IDLE: 3,
}

var schedPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther: 0, specs.SchedFIFO: 1, specs.SchedRR: 2, specs.SchedBatch: 3,
	specs.SchedISO: 4, specs.SchedIdle: 5, specs.SchedDeadline: 6,
}

var schedFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork: 0x01, specs.SchedFlagReclaim: 0x02, specs.SchedFlagDLOverrun: 0x04,
	specs.SchedFlagKeepPolicy: 0x08, specs.SchedFlagKeepParams: 0x10, specs.SchedFlagUtilClampMin: 0x20,
	specs.SchedFlagUtilClampMax: 0x40,
}

// translateScheduling checks process.ioPriority, scheduler and
// execCPUAffinity (its final set: the affinity the process starts with).
func translateScheduling(p *specs.Process, cfg *Config) error {
	if io := p.IOPriority; io != nil {
		class, ok := ioprioClasses[io.Class]
		if !ok {
			return fmt.Errorf("ioPriority.class %q: use IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE", io.Class)
		}
		if io.Priority < 0 || io.Priority > 7 {
			return fmt.Errorf("ioPriority.priority %d: give 0 (highest) to 7", io.Priority)
		}
		cfg.IOPriority = class<<ioprioClassShift | int(io.Priority)
	}
	if s := p.Scheduler; s != nil {
		policy, ok := schedPolicies[s.Policy]
		if !ok {
			return fmt.Errorf("scheduler.policy %q: use SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE or SCHED_DEADLINE", s.Policy)
		}
		a := &SchedAttr{Policy: policy, Nice: s.Nice, Priority: uint32(s.Priority), Runtime: s.Runtime, Deadline: s.Deadline, Period: s.Period}
		if s.Nice < -20 || s.Nice > 19 {
			return fmt.Errorf("scheduler.nice %d: give -20 to 19", s.Nice)
		}
		for i, f := range s.Flags {
			v, ok := schedFlags[f]
			if !ok {
				return fmt.Errorf("scheduler.flags[%d] %q: not a sched_setattr(2) flag", i, f)
			}
			a.Flags |= v
		}
		cfg.Scheduler = a
	}
	if a := p.ExecCPUAffinity; a != nil && a.Final != "" {
		cpus, err := parseCPUList(a.Final)
		if err != nil {
			return fmt.Errorf("execCPUAffinity.final %q: %v", a.Final, err)
		}
		cfg.CPUAffinity = cpus
	}
	return nil
}

// parseCPUList reads the kernel's list syntax: "0-3,7".
func parseCPUList(s string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a || b >= 8*int(unsafe.Sizeof(unix.CPUSet{})) {
			return nil, fmt.Errorf("%q is not a CPU or a range of CPUs (e.g. 0-3,7)", part)
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	sort.Ints(cpus)
	return cpus, nil
}

// applyScheduling sets p's scheduling on the calling thread, the one that
// exec's the process (or the tiny init that starts it).
func applyScheduling(p *Process) error {
	if p.CPUAffinity != nil {
		var set unix.CPUSet
		for _, c := range p.CPUAffinity {
			set.Set(c)
		}
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("sched_setaffinity %v: %w", p.CPUAffinity, err)
		}
	}
	if p.IOPriority != 0 {
		if _, _, e := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(p.IOPriority)); e != 0 {
			return fmt.Errorf("ioprio_set %#x: %w", p.IOPriority, e)
		}
	}
	if p.Scheduler != nil {
		b := p.Scheduler.bytes()
		if _, _, e := unix.Syscall(unix.SYS_SCHED_SETATTR, 0, uintptr(unsafe.Pointer(&b[0])), 0); e != 0 {
			return fmt.Errorf("sched_setattr (policy %d, nice %d, priority %d): %w", p.Scheduler.Policy, p.Scheduler.Nice, p.Scheduler.Priority, e)
		}
	}
	return nil
}
