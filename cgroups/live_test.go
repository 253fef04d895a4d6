package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSharesToWeight(t *testing.T) {
	for _, tt := range []struct{ shares, weight uint64 }{
		{0, 0}, {2, 1}, {1024, 39}, {262144, 10000}, {1 << 30, 10000},
	} {
		if got := SharesToWeight(tt.shares); got != tt.weight {
			t.Errorf("SharesToWeight(%d) = %d, want %d", tt.shares, got, tt.weight)
		}
	}
}

func TestDeviceRuleString(t *testing.T) {
	for _, tt := range []struct {
		r    DeviceRule
		want string
	}{
		{DeviceRule{Type: 'a'}, "a"},
		{DeviceRule{Type: 'c', Major: 1, Minor: 3, Access: "rwm"}, "c 1:3 rwm"},
		{DeviceRule{Type: 'c', Major: 136, Minor: -1, Access: "rw"}, "c 136:* rw"},
	} {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.r, got, tt.want)
		}
	}
}

// fakeV1 makes v1 hierarchies for the given controllers under a temp root.
func fakeV1(t *testing.T, ctrls ...string) string {
	root := t.TempDir()
	for _, ctrl := range ctrls {
		must(t, os.MkdirAll(filepath.Join(root, ctrl), 0o755))
		write(t, filepath.Join(root, ctrl, "cgroup.procs"), "")
	}
	return root
}

func TestDevicesGoToTheV1DevicesHierarchyInOrder(t *testing.T) {
	root := fakeV1(t, "devices", "pids")
	rules := []DeviceRule{{Type: 'a'}, {Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "rwm"}}
	c, err := Create(Spec{Mode: V1, Root: root, Parent: "p", Name: "b", Limits: Limits{Devices: rules}})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "devices/p/b")
	deny, _ := os.ReadFile(filepath.Join(dir, "devices.deny"))
	allow, _ := os.ReadFile(filepath.Join(dir, "devices.allow"))
	if string(deny) != "a" || string(allow) != "c 1:3 rwm" {
		t.Errorf("devices.deny %q devices.allow %q", deny, allow)
	}
	if !strings.Contains(strings.Join(c.Dirs(), " "), dir) {
		t.Errorf("Dirs %v lack %s", c.Dirs(), dir)
	}
}

// A saved cgroup reopens with its limits; Update changes what the box has
// and refuses a controller it was created without.
func TestSaveReopenUpdate(t *testing.T) {
	root := fakeV1(t, "memory", "cpu", "pids")
	c, err := Create(Spec{Mode: V1, Root: root, Parent: "p", Name: "b", Limits: Limits{PidsMax: 10}})
	if err != nil {
		t.Fatal(err)
	}
	r := Reopen(c.Save(), nil)
	if r.Save().Rel != "/p/b" || r.Limits().PidsMax != 10 {
		t.Fatalf("reopened: %+v", r.Save())
	}
	if err := r.Update(Limits{PidsMax: 20}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "pids/p/b/pids.max")); string(got) != "20" {
		t.Errorf("pids.max %q after Update", got)
	}
	// The box is in every hierarchy, so a limit it did not have can come.
	if err := r.Update(Limits{PidsMax: 20, MemoryBytes: 1 << 20}); err != nil {
		t.Errorf("Update adding memory: %v", err)
	}
	if r.Limits().MemoryBytes != 1<<20 {
		t.Error("Update did not record the new limit")
	}
	if err := r.Freeze(true); !errors.Is(err, ErrNoCtrl) {
		t.Errorf("Freeze on pure v1: %v; want ErrNoCtrl", err)
	}
}

// The device filter for containerd's default rules: deny all, then allow
// some char devices. Checked by running the program on requests.
func TestDevicesProgram(t *testing.T) {
	rules := []DeviceRule{
		{Type: 'a', Major: -1, Minor: -1, Access: "rwm"},
		{Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "rwm"},
		{Allow: true, Type: 'c', Major: 136, Minor: -1, Access: "rw"},
		{Allow: true, Type: 'b', Major: 8, Minor: 0, Access: "r"},
	}
	prog, err := devicesProgram(rules)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		typ, access, major, minor uint32
		want                      uint64
	}{
		{devChr, accRead | accWrit, 1, 3, 1}, // /dev/null
		{devChr, accMk, 1, 3, 1},
		{devChr, accRead, 1, 5, 0},   // /dev/zero: not listed
		{devChr, accWrit, 136, 7, 1}, // a pty
		{devChr, accMk, 136, 7, 0},   // mknod a pty: not allowed
		{devBlk, accRead, 8, 0, 1},   // sda, read
		{devBlk, accRead | accWrit, 8, 0, 0},
		{devChr, accRead, 8, 0, 0}, // char 8:0 is not block 8:0
	} {
		if got := runDeviceProgram(t, prog, tt.typ|tt.access<<16, tt.major, tt.minor); got != tt.want {
			t.Errorf("type %d access %d %d:%d: got %d, want %d", tt.typ, tt.access, tt.major, tt.minor, got, tt.want)
		}
	}
	if _, err := devicesProgram([]DeviceRule{{Type: 'x'}}); err == nil {
		t.Error("a bad type compiled")
	}
	// No rules: everything allowed, as in a new v1 cgroup.
	prog, _ = devicesProgram(nil)
	if got := runDeviceProgram(t, prog, devChr|accRead<<16, 4, 4); got != 1 {
		t.Errorf("empty list: %d", got)
	}
}

// runDeviceProgram interprets the few opcodes devicesProgram emits.
func runDeviceProgram(t *testing.T, prog []bpfInsn, accessType, major, minor uint32) uint64 {
	t.Helper()
	ctx := []uint32{accessType, major, minor}
	var r [11]uint64
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		dst, src := in.regs&0xf, in.regs>>4
		switch in.code {
		case ldxW:
			r[dst] = uint64(ctx[in.off/4])
		case movX:
			r[dst] = r[src]
		case movK:
			r[dst] = uint64(int64(in.imm))
		case andK:
			r[dst] &= uint64(int64(in.imm))
		case rshK:
			r[dst] >>= uint(in.imm)
		case jneK:
			if r[dst] != uint64(int64(in.imm)) {
				pc += int(in.off)
			}
		case exitOp:
			return r[0]
		default:
			t.Fatalf("unknown opcode %#x at %d", in.code, pc)
		}
	}
	t.Fatal("program ran off its end")
	return 0
}
