package cgroups

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// A box's cgroup as a systemd scope (--systemd-cgroup, containerd's
// SystemdCgroup = true): on a host where systemd owns the cgroup tree,
// the box's cgroup is a transient unit, PREFIX-NAME.scope in its slice,
// with Delegate=yes, as runc's and crun's systemd drivers make it.
//
// pbox still makes the directory and writes the limits itself (one code
// for every host), and the box is still born in it (CLONE_INTO_CGROUP);
// systemd is then asked to start the scope with the box's first process,
// which is already in the scope's directory, so systemd adopts the
// directory instead of moving anything. The limits systemd knows are
// also given as the unit's properties: systemd writes a unit's cgroup
// attributes again on every daemon-reload, and without them it would
// write "max" over the box's limits.

// SystemdScope names the unit a box's cgroup becomes.
type SystemdScope struct {
	Slice string // e.g. system.slice; "-.slice" is the root
	Unit  string // PREFIX-NAME.scope
}

// ScopeOf says which unit a cgroup path is under systemd's naming
// (SystemdPath): the leaf must be a scope and its parent a slice.
func ScopeOf(rel string) (SystemdScope, error) {
	dir, leaf := filepath.Split("/" + strings.Trim(rel, "/"))
	if !strings.HasSuffix(leaf, ".scope") {
		return SystemdScope{}, fmt.Errorf("%q: under --systemd-cgroup a box's cgroup is a scope (SLICE:PREFIX:NAME, NAME not a slice)", rel)
	}
	slice := filepath.Base(dir)
	if dir == "/" {
		slice = "-.slice"
	} else if !strings.HasSuffix(slice, ".slice") {
		return SystemdScope{}, fmt.Errorf("%q: under --systemd-cgroup a scope's parent is a slice", rel)
	}
	return SystemdScope{Slice: slice, Unit: leaf}, nil
}

// systemdRunning exists while systemd is the init (sd_booted(3)).
const systemdRunning = "/run/systemd/system"

// systemdTimeout bounds every call to systemd.
const systemdTimeout = 30 * time.Second

// StartScope asks systemd for the box's scope unit, with pid (the box's
// first process, already in the cgroup) as its process. On error the
// caller kills pid and runs Destroy, which stops whatever of the unit
// systemd made.
func (c *Cgroup) StartScope(pid int) error {
	s := c.scope
	if s == nil {
		return nil
	}
	props := []sd.Property{
		sd.PropDescription("pbox box " + filepath.Base(c.rel)),
		sd.PropSlice(s.Slice),
		sd.PropPids(uint32(pid)),
		// As runc: the box's own subtree is its, and it is not ordered
		// after (or stopped with) the units a service gets by default.
		{Name: "Delegate", Value: dbus.MakeVariant(true)},
		{Name: "DefaultDependencies", Value: dbus.MakeVariant(false)},
		{Name: "MemoryAccounting", Value: dbus.MakeVariant(true)},
		{Name: "CPUAccounting", Value: dbus.MakeVariant(true)},
		{Name: "IOAccounting", Value: dbus.MakeVariant(true)},
		{Name: "TasksAccounting", Value: dbus.MakeVariant(true)},
	}
	props = append(props, c.unitProperties()...)
	c.log.Printf("cgroup: systemd: start %s in %s with pid %d (Delegate=yes)", s.Unit, s.Slice, pid)
	err := withSystemd(func(ctx context.Context, conn *sd.Conn) error {
		err := startUnit(ctx, conn, s.Unit, props)
		if err != nil && strings.Contains(err.Error(), "already exists") {
			// A failed unit of that name stays loaded until reset (runc
			// does the same).
			conn.ResetFailedUnitContext(ctx, s.Unit)
			err = startUnit(ctx, conn, s.Unit, props)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("systemd: start %s in %s: %w", s.Unit, s.Slice, err)
	}
	// systemd wrote the unit's attributes into the directory as it
	// adopted it: the box's own values go back over them.
	return c.applyLimits()
}

func startUnit(ctx context.Context, conn *sd.Conn, unit string, props []sd.Property) error {
	done := make(chan string, 1)
	if _, err := conn.StartTransientUnitContext(ctx, unit, "replace", props, done); err != nil {
		return err
	}
	select {
	case result := <-done:
		if result != "done" {
			return fmt.Errorf("its start job ended %q (journalctl -u %s says why)", result, unit)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no answer in %s", systemdTimeout)
	}
}

// setScopeProperties gives a running box's scope its new limits (pbox
// update): what systemd knows, it would otherwise write back on the next
// daemon-reload.
func (c *Cgroup) setScopeProperties() error {
	props := c.unitProperties()
	if c.scope == nil || len(props) == 0 {
		return nil
	}
	return withSystemd(func(ctx context.Context, conn *sd.Conn) error {
		if err := conn.SetUnitPropertiesContext(ctx, c.scope.Unit, true, props...); err != nil {
			return fmt.Errorf("systemd: set %s's properties: %w", c.scope.Unit, err)
		}
		return nil
	})
}

// stopScope tells systemd the box's scope is over, once its cgroup is
// gone: systemd would notice the empty cgroup by itself, but not always
// before pbox returns, and a stopped unit is garbage-collected at once.
// A unit already gone, or never started (a start that failed), is no
// error: there is nothing left of it either way.
func (c *Cgroup) stopScope() {
	if c.scope == nil {
		return
	}
	withSystemd(func(ctx context.Context, conn *sd.Conn) error {
		done := make(chan string, 1)
		if _, err := conn.StopUnitContext(ctx, c.scope.Unit, "replace", done); err != nil {
			return err
		}
		select {
		case result := <-done:
			c.log.Printf("cgroup: systemd: stop %s: %s", c.scope.Unit, result)
		case <-ctx.Done():
		}
		return nil
	})
}

// withSystemd runs do with a connection to systemd, bounded in time.
func withSystemd(do func(context.Context, *sd.Conn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), systemdTimeout)
	defer cancel()
	conn, err := connectSystemd(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return do(ctx, conn)
}

// connectSystemd talks to systemd itself: its private socket (root only,
// no D-Bus daemon needed), else the system bus.
func connectSystemd(ctx context.Context) (*sd.Conn, error) {
	conn, err := sd.NewSystemdConnectionContext(ctx)
	if err == nil {
		return conn, nil
	}
	if conn, err2 := sd.NewWithContext(ctx); err2 == nil {
		return conn, nil
	}
	return nil, fmt.Errorf("%w: cannot talk to systemd: %v (is systemd PID 1 here? without it, leave out --systemd-cgroup)", ErrNoSystemd, err)
}

// ErrNoSystemd: --systemd-cgroup where systemd cannot make the scope.
var ErrNoSystemd = errors.New("--systemd-cgroup")

// unitProperties are the box's limits as systemd's resource-control
// properties, read from the very settings pbox writes (memory.max,
// cpu.max, ...), so the two never disagree.
func (c *Cgroup) unitProperties() []sd.Property {
	var props []sd.Property
	u64 := func(name string, v uint64) {
		props = append(props, sd.Property{Name: name, Value: dbus.MakeVariant(v)})
	}
	bytesOrMax := func(v string) (uint64, bool) {
		if v == "max" {
			return math.MaxUint64, true
		}
		n, err := strconv.ParseUint(v, 10, 64)
		return n, err == nil
	}
	for _, s := range c.expected() {
		file := filepath.Base(s.file)
		if name, ok := maxProperties[file]; ok {
			if n, ok := bytesOrMax(s.value); ok {
				u64(name, n)
			}
			continue
		}
		switch file {
		case "cpu.weight":
			if n, err := strconv.ParseUint(s.value, 10, 64); err == nil {
				u64("CPUWeight", n)
			}
		case "cpu.max":
			var quota, period uint64
			if _, err := fmt.Sscanf(s.value, "%d %d", &quota, &period); err == nil && period > 0 {
				// systemd keeps the quota as µs per second, in whole
				// percents: rounded up, as runc does, so the box never
				// gets less than it asked for after a daemon-reload.
				perSec := quota * 1_000_000 / period
				if perSec%10_000 != 0 {
					perSec = (perSec/10_000 + 1) * 10_000
				}
				u64("CPUQuotaPerSecUSec", perSec)
				u64("CPUQuotaPeriodUSec", period)
			}
		case "cpuset.cpus":
			if bits, err := listToBits(s.value); err == nil {
				props = append(props, sd.Property{Name: "AllowedCPUs", Value: dbus.MakeVariant(bits)})
			}
		case "cpuset.mems":
			if bits, err := listToBits(s.value); err == nil {
				props = append(props, sd.Property{Name: "AllowedMemoryNodes", Value: dbus.MakeVariant(bits)})
			}
		}
	}
	return props
}

// maxProperties are the files whose value, a number or "max", is a
// systemd property's as it is.
var maxProperties = map[string]string{
	"memory.max": "MemoryMax", "memory.swap.max": "MemorySwapMax", "memory.low": "MemoryLow", "pids.max": "TasksMax",
}

// listToBits turns the kernel's list syntax ("0-2,4") into systemd's
// CPU set: a byte array, CPU n being bit n%8 of byte n/8.
func listToBits(list string) ([]byte, error) {
	var bits []byte
	set := func(n int) {
		for len(bits) <= n/8 {
			bits = append(bits, 0)
		}
		bits[n/8] |= 1 << (n % 8)
	}
	for _, part := range strings.Split(strings.TrimSpace(list), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("%q: not a list of numbers", list)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b > 1<<16 {
				return nil, fmt.Errorf("%q: not a list of numbers", list)
			}
		}
		for n := a; n <= b; n++ {
			set(n)
		}
	}
	return bits, nil
}
