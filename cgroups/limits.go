package cgroups

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
)

// DefaultCPUPeriod is the CFS period (µs) pbox uses with --cpus, as Docker does.
const DefaultCPUPeriod = 100000

// Limits are what a user asked for; zero means "no limit".
type Limits struct {
	MemoryBytes int64  // memory.max / memory.limit_in_bytes
	CPUQuota    int64  // µs of CPU time per CPUPeriod
	CPUPeriod   uint64 // µs
	PidsMax     int64  // pids.max
	CPUShares   uint64 // cpu.shares (v1), as cpu.weight on v2
	// SwapBytes is memory plus swap, as the runtime-spec's memory.swap:
	// 0 allows no swap (memsw = the limit; memory.swap.max 0), -1 any.
	SwapBytes int64
	// MemoryReservation is a soft limit: memory.low (v2),
	// memory.soft_limit_in_bytes (v1).
	MemoryReservation int64
	// CpusetCpus and CpusetMems pin the box (cpuset.cpus, cpuset.mems),
	// in the kernel's list syntax ("0-2,4").
	CpusetCpus, CpusetMems string
	// MemorySwappiness (0-100; nil: the host's) is v1's memory.swappiness;
	// DisableOOMKiller sets v1's memory.oom_control. cgroup v2 has
	// neither: asking for one there is an error, not a silent no-op.
	MemorySwappiness *uint64
	DisableOOMKiller bool
	// CheckBeforeUpdate refuses, in Update, a memory limit below what the
	// box uses now (the runtime-spec's memory.checkBeforeUpdate).
	CheckBeforeUpdate bool
	// CPURealtimeRuntime and CPURealtimePeriod (µs) are v1's
	// cpu.rt_runtime_us and cpu.rt_period_us (a kernel with
	// RT_GROUP_SCHED); CPUIdle is v2's cpu.idle (SCHED_IDLE for the box);
	// CPUBurst (µs) may exceed the quota for a while: cpu.max.burst (v2),
	// cpu.cfs_burst_us (v1). A host without the file is an error.
	CPURealtimeRuntime int64
	CPURealtimePeriod  uint64
	CPUIdle            *int64
	CPUBurst           *uint64
	// Block I/O (blkio.* on v1, io.* on v2): the box's weight and leaf
	// weight (10-1000; 0 unset), per-device weights, and per-device
	// throttles of bytes or operations per second.
	BlkioWeight, BlkioLeafWeight uint16
	BlkioWeightDevice            []WeightDevice
	BlkioThrottle                []ThrottleDevice
	// Hugetlb are hugepage limits, per page size (hugetlb.<size>.*).
	Hugetlb []HugepageLimit
	// Unified are cgroup v2 files and the values to write to them (the
	// runtime-spec's linux.resources.unified), checked against the
	// controllers the host has; v2 only.
	Unified map[string]string
	// Rdma caps RDMA/IB resources per device (rdma.max): "mlx4_0" ->
	// "hca_handle=2 hca_object=2000".
	Rdma map[string]string
	// NetClassID and NetPriorities are v1's net_cls.classid and
	// net_prio.ifpriomap (interface -> priority); cgroup v2 has neither.
	NetClassID    *uint32
	NetPriorities map[string]uint32
	// Devices is the device access list (v1 devices controller), in
	// order; empty leaves device access alone.
	Devices []DeviceRule
}

// WeightDevice is one device's block I/O weight (0: unset).
type WeightDevice struct {
	Major, Minor       int64
	Weight, LeafWeight uint16
}

// ThrottleDevice caps one device's I/O: Kind is rbps, wbps, riops or
// wiops (io.max's words), Rate per second.
type ThrottleDevice struct {
	Kind         string
	Major, Minor int64
	Rate         uint64
}

// HugepageLimit caps the hugepages of one size ("2MB", "1GB") the box may
// use, or with Rsvd reserve (hugetlb.<size>.rsvd.*).
type HugepageLimit struct {
	PageSize string
	Limit    uint64
	Rsvd     bool
}

// DeviceRule allows or denies access to devices, as in devices.allow:
// Type 'a' (all), 'c' or 'b'; Major/Minor -1 for any; Access of "rwm".
type DeviceRule struct {
	Allow  bool
	Type   byte
	Major  int64
	Minor  int64
	Access string
}

// String is the rule in the kernel's devices.allow syntax: "c 1:3 rwm".
func (d DeviceRule) String() string {
	if d.Type == 'a' {
		return "a"
	}
	num := func(n int64) string {
		if n < 0 {
			return "*"
		}
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprintf("%c %s:%s %s", d.Type, num(d.Major), num(d.Minor), d.Access)
}

// DefaultDeviceRules is the device access list every box starts from, as
// Docker's and runc's: no device at all; mknod of any node (creating one
// is harmless, using it is not); read and write of the standard nodes —
// null, zero, full, random, urandom, tty, console, ptmx and the ptys.
// Rules for more devices (--device, an OCI config's) go after these.
func DefaultDeviceRules() []DeviceRule {
	rules := []DeviceRule{
		{Allow: false, Type: 'a', Major: -1, Minor: -1, Access: "rwm"},
		{Allow: true, Type: 'c', Major: -1, Minor: -1, Access: "m"},
		{Allow: true, Type: 'b', Major: -1, Minor: -1, Access: "m"},
	}
	for _, d := range StandardDevices {
		rules = append(rules, DeviceRule{Allow: true, Type: 'c', Major: d[0], Minor: d[1], Access: "rwm"})
	}
	return rules
}

// StandardDevices are the char devices (major, minor; -1 = any) a box
// can always use: /dev/null, zero, full, random, urandom, tty, console,
// ptmx, and the ptys of /dev/pts.
var StandardDevices = [][2]int64{{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}, {136, -1}}

// SharesToWeight maps cgroup v1 cpu.shares (2-262144) onto cgroup v2
// cpu.weight (1-10000), as runc and crun do.
func SharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	if shares < 2 {
		shares = 2
	}
	if shares > 262144 {
		shares = 262144
	}
	return 1 + ((shares-2)*9999)/262142
}

// Sentinel errors, wrapped with the offending value.
var (
	ErrBadSize     = errors.New("cgroups: bad size")
	ErrBadCPUs     = errors.New("cgroups: bad cpu count")
	ErrBadPids     = errors.New("cgroups: bad pids limit")
	ErrNoCtrl      = errors.New("cgroups: controller not available")
	ErrNotApplied  = errors.New("cgroups: limit not applied")
	ErrBoxExists   = errors.New("cgroups: a box with this name is running")
	ErrUnavailable = errors.New("cgroups: no cgroup filesystem")
	// ErrNoCgroup: a limit for a box that has no cgroup of its own (None).
	ErrNoCgroup = errors.New("cgroups: the box has no cgroup of its own")
)

// ParseMemory reads sizes such as "64M", "1G", "512MiB" or plain bytes.
// Units are binary (1M = 1 MiB), as with docker run --memory.
func ParseMemory(s string) (int64, error) {
	n, err := units.RAMInBytes(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%w %q: use a number of bytes or one with a unit, e.g. 64M, 1G, 512MiB", ErrBadSize, s)
	}
	if n < MinMemory {
		return 0, fmt.Errorf("%w %q: a box needs at least 6 MiB (Docker's floor too): below it the box is OOM-killed as it starts", ErrBadSize, s)
	}
	return n, nil
}

// MinMemory is the smallest memory limit ParseMemory takes, as Docker's.
const MinMemory = 6 << 20

// ParseCPUs turns a fractional CPU count ("0.5") into a CFS quota for
// DefaultCPUPeriod: 0.5 -> 50000 µs per 100000 µs. The kernel's smallest
// quota is 1 ms, so the smallest count is 0.01.
func ParseCPUs(s string) (quota int64, period uint64, err error) {
	f, perr := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if perr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, 0, fmt.Errorf("%w %q: give a number of CPUs, e.g. 0.5 or 2", ErrBadCPUs, s)
	}
	if f < 0.01 {
		return 0, 0, fmt.Errorf("%w %q: must be at least 0.01", ErrBadCPUs, s)
	}
	if f > 1e6 {
		return 0, 0, fmt.Errorf("%w %q: too large", ErrBadCPUs, s)
	}
	return int64(math.Round(f * DefaultCPUPeriod)), DefaultCPUPeriod, nil
}

// ParsePids reads a --pids-limit value: a positive number of tasks.
func ParsePids(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w %q: give a whole number of processes, e.g. 50", ErrBadPids, s)
	}
	if n <= 0 {
		return 0, fmt.Errorf("%w %q: must be at least 1", ErrBadPids, s)
	}
	return n, nil
}
