package cgroups

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestSystemdPath(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"kubepods-besteffort-pod1.slice:cri-containerd:ab",
			"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-ab.scope"},
		{"kubepods.slice:cri-containerd:ab", "/kubepods.slice/cri-containerd-ab.scope"},
		{":docker:ab", "/system.slice/docker-ab.scope"},
		{"-.slice:pbox:x", "/pbox-x.scope"},
		{"user.slice:p:lab-web.slice", "/user.slice/lab-web.slice"},
	} {
		if got, err := SystemdPath(tt.in); err != nil || got != tt.want {
			t.Errorf("SystemdPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"a:b", "a:b:c:d", "kubepods:p:x", ".slice:p:x", "a--b.slice:p:x", "-a.slice:p:x",
		"a/b.slice:p:x", "a.slice:p:", "a.slice::x", "a.slice:p:../x", "a.slice:p/q:x"} {
		if got, err := SystemdPath(bad); err == nil {
			t.Errorf("SystemdPath(%q) = %q, accepted", bad, got)
		}
	}
}

func TestScopeOf(t *testing.T) {
	for _, tt := range []struct{ rel, slice, unit string }{
		{"/system.slice/pbox-web.scope", "system.slice", "pbox-web.scope"},
		{"/kubepods.slice/kubepods-besteffort.slice/cri-containerd-ab.scope", "kubepods-besteffort.slice", "cri-containerd-ab.scope"},
		{"/pbox-x.scope", "-.slice", "pbox-x.scope"},
	} {
		got, err := ScopeOf(tt.rel)
		if err != nil || got.Slice != tt.slice || got.Unit != tt.unit {
			t.Errorf("ScopeOf(%q) = %+v, %v; want %s in %s", tt.rel, got, err, tt.unit, tt.slice)
		}
	}
	// A slice as NAME, or a scope under a directory that is no slice.
	for _, bad := range []string{"/user.slice/lab-web.slice", "/pbox/web.scope", "/pbox/web"} {
		if got, err := ScopeOf(bad); err == nil {
			t.Errorf("ScopeOf(%q) = %+v, accepted", bad, got)
		}
	}
}

func TestListToBits(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []byte
	}{
		{"0", []byte{0x01}}, {"0-2,4", []byte{0x17}}, {"9", []byte{0x00, 0x02}}, {"7-8", []byte{0x80, 0x01}},
	} {
		got, err := listToBits(tt.in)
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("listToBits(%q) = %x, %v; want %x", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "a", "3-1", "-1", "1,,2"} {
		if got, err := listToBits(bad); err == nil {
			t.Errorf("listToBits(%q) = %x, accepted", bad, got)
		}
	}
}

// The unit's properties are read from the very files pbox writes: each
// limit systemd knows, in systemd's units, so that a daemon-reload writes
// back what pbox wrote.
func TestUnitProperties(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "memory.swap.max"), nil, 0o644) // the host has swap accounting
	c := &Cgroup{mode: V2, v2dir: dir, limits: Limits{
		MemoryBytes: 64 << 20, SwapBytes: 96 << 20, MemoryReservation: 32 << 20, PidsMax: 40,
		CPUQuota: 33333, CPUPeriod: 100000, CPUShares: 1024, CpusetCpus: "0-1", CpusetMems: "0",
	}}
	got := map[string]any{}
	for _, p := range c.unitProperties() {
		got[p.Name] = p.Value.Value()
	}
	want := map[string]any{
		"MemoryMax": uint64(64 << 20), "MemorySwapMax": uint64(32 << 20), "MemoryLow": uint64(32 << 20), "TasksMax": uint64(40),
		// 0.33333 CPUs: 333330 µs per second, rounded up to whole percents.
		"CPUQuotaPerSecUSec": uint64(340000), "CPUQuotaPeriodUSec": uint64(100000),
		"CPUWeight": SharesToWeight(1024), "AllowedCPUs": []byte{0x03}, "AllowedMemoryNodes": []byte{0x01},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unit properties:\n got %v\nwant %v", got, want)
	}
	// Without limits, systemd is told nothing (its defaults are "max").
	if props := (&Cgroup{mode: V2, v2dir: dir}).unitProperties(); len(props) != 0 {
		t.Errorf("no limits: %v", props)
	}
	// Unlimited swap is systemd's infinity.
	c.limits = Limits{MemoryBytes: 1 << 30, SwapBytes: -1}
	for _, p := range c.unitProperties() {
		if p.Name == "MemorySwapMax" && p.Value.Value() != uint64(math.MaxUint64) {
			t.Errorf("--memory-swap -1: MemorySwapMax %v", p.Value)
		}
	}
}
