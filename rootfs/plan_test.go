package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func kinds(ops []Op) string {
	var k []string
	for _, o := range ops {
		k = append(k, string(o.Kind))
	}
	return strings.Join(k, " ")
}

// withDefaults is what pbox run --rootfs asks for: the default mounts
// (but the cgroup one, which needs the box's cgroups), then extra.
func withDefaults(root string, readOnly bool, extra ...Mount) BundleSpec {
	return BundleSpec{Root: root, ReadOnly: readOnly, Mounts: append(DefaultMounts()[:6], extra...),
		MaskedPaths: MaskedPaths, ReadOnlyPaths: ReadOnlyPaths}
}

func bind(src, dst string, opts ...string) Mount {
	return Mount{Source: src, Target: dst, Type: "bind", Options: append([]string{"rbind"}, opts...)}
}

// The host's / as the root (pbox run without --rootfs): mounts are made
// in place, with nothing to bind or pivot into, and no node is made in
// the host's /dev.
func TestPlanOnTheHostsRoot(t *testing.T) {
	ops, err := PlanBundle(BundleSpec{Root: "/", Mounts: DefaultMounts()[:1]})
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 3 || ops[0].String() != "make / private, recursively (MS_REC|MS_PRIVATE)" ||
		ops[2].String() != "mount proc on /proc type proc (MS_NOSUID|MS_NODEV|MS_NOEXEC)" {
		t.Errorf("ops: %v", ops)
	}
	_, err = PlanBundle(BundleSpec{Root: "/", Devices: []Device{{Path: "/dev/x", Type: 'c', Major: 1, Minor: 3}}})
	if err == nil || !strings.Contains(err.Error(), "host's /dev") {
		t.Errorf("a device node on the host's root: %v", err)
	}
}

func newRoot(t *testing.T) string {
	root := t.TempDir()
	for _, d := range []string{"bin", "etc", "run", "var"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	return root
}

func TestPlanRootfsOrder(t *testing.T) {
	root := newRoot(t)
	src := t.TempDir()
	ops, err := PlanBundle(withDefaults(root, true, bind(src, "/data", "ro"),
		Mount{Source: "tmpfs", Target: "/tmp", Type: "tmpfs", Options: []string{"size=1m"}}))
	if err != nil {
		t.Fatal(err)
	}
	got := kinds(ops)
	// As runc lays out an OCI bundle (the same planner): private, bind the
	// root onto itself, /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys, the volume
	// and the tmpfs, then /dev's nodes and links, pivot_root, masks,
	// read-only paths, then /.
	for _, want := range []string{
		"mount mount mkdir mount mkdir mount mkdir mount mkdir mount mkdir mount mkdir mount mount mkdir mount mknod", // ... sysfs, the read-only volume (one op), tmpfs, nodes
		"symlink pivot_root mask",
		"readonly remount-ro",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("plan %q lacks %q", got, want)
		}
	}
	for _, o := range ops {
		if o.Kind == OpMount && o.Source == src && o.Flags&unix.MS_RDONLY == 0 {
			t.Errorf("the :ro volume is not read-only in one step: %v", o)
		}
	}
	if last := ops[len(ops)-1]; last.Kind != OpRemountRO || last.Target != "/" {
		t.Errorf("the last step must make / read-only: %v", last)
	}
	for _, o := range ops {
		if o.Kind == OpPivotRoot {
			break
		}
		if o.Target != "/" && !strings.HasPrefix(o.Target, root) {
			t.Errorf("before pivot_root every target is inside the root: %v", o)
		}
	}
}

func TestPlanRefusesBadRoots(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	for root, want := range map[string]string{
		"/nonexistent/rootfs": "no such file",
		file:                  "not a directory",
		t.TempDir():           "is empty: make one with `pbox rootfs busybox",
	} {
		if _, err := PlanBundle(BundleSpec{Root: root}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("root %s: err %v, want %q", root, err, want)
		}
	}
}

func TestPlanRefusesMissingVolumeSource(t *testing.T) {
	_, err := PlanBundle(BundleSpec{Root: newRoot(t), Mounts: []Mount{bind("/nonexistent/src", "/data")}})
	if err == nil || !strings.Contains(err.Error(), "source") {
		t.Errorf("err %v", err)
	}
}

// A target must not lead out of the rootfs through a symlink, absolute
// or with "..": the mount would land on the host.
func TestPlanRefusesSymlinkEscapes(t *testing.T) {
	root := newRoot(t)
	os.Symlink("/etc", filepath.Join(root, "abs"))
	os.Symlink("../../../../../../etc", filepath.Join(root, "rel"))
	os.Symlink("/run", filepath.Join(root, "var", "run"))
	os.Symlink("bin", filepath.Join(root, "inside")) // stays in the root
	src := t.TempDir()
	for _, target := range []string{"/abs", "/abs/x", "/rel", "/rel/passwd", "/var/run"} {
		_, err := PlanBundle(BundleSpec{Root: root, Mounts: []Mount{bind(src, target)}})
		if !errors.Is(err, ErrEscape) {
			t.Errorf("volume target %s: err %v, want ErrEscape", target, err)
		}
		_, err = PlanBundle(BundleSpec{Root: root, Mounts: []Mount{{Source: "tmpfs", Target: target, Type: "tmpfs"}}})
		if !errors.Is(err, ErrEscape) {
			t.Errorf("tmpfs target %s: err %v, want ErrEscape", target, err)
		}
	}
	ops, err := PlanBundle(BundleSpec{Root: root, Mounts: []Mount{bind(src, "/inside/x")}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range ops {
		if o.Source == src && o.Target == filepath.Join(root, "bin", "x") {
			found = true
		}
	}
	if !found {
		t.Errorf("a link that stays inside resolves there: %v", ops)
	}
}
