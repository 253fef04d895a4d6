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
	if _, err := Create(Spec{Mode: V2, Root: fakeV2(t, "memory"), Parent: "p", Name: "c", Limits: Limits{Devices: rules}}); !errors.Is(err, ErrNoCtrl) {
		t.Errorf("devices on v2: %v; want ErrNoCtrl", err)
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
	if r.Rel() != "/p/b" || r.Limits().PidsMax != 10 {
		t.Fatalf("reopened: %+v", r.Save())
	}
	if err := r.Update(Limits{PidsMax: 20}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "pids/p/b/pids.max")); string(got) != "20" {
		t.Errorf("pids.max %q after Update", got)
	}
	if err := r.Update(Limits{PidsMax: 20, MemoryBytes: 1 << 20}); !errors.Is(err, ErrNoCtrl) || !strings.Contains(err.Error(), "memory") {
		t.Errorf("Update adding memory: %v; want ErrNoCtrl naming memory", err)
	}
	if r.Limits().MemoryBytes != 0 {
		t.Error("a refused Update changed the limits")
	}
	if err := r.Freeze(true); !errors.Is(err, ErrNoCtrl) {
		t.Errorf("Freeze on pure v1: %v; want ErrNoCtrl", err)
	}
}
