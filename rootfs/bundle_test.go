package rootfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	flags, prop, data := ParseMountOptions([]string{"nosuid", "noexec", "ro", "rw", "mode=755", "size=64k", "rprivate", "rbind"})
	if flags != unix.MS_NOSUID|unix.MS_NOEXEC|unix.MS_BIND|unix.MS_REC {
		t.Errorf("flags %s", FlagNames(flags))
	}
	if prop != unix.MS_PRIVATE|unix.MS_REC || data != "mode=755,size=64k" {
		t.Errorf("propagation %s, data %q", FlagNames(prop), data)
	}
}

func TestPlanBundleOrder(t *testing.T) {
	root := newRoot(t)
	src := t.TempDir()
	ops, err := PlanBundle(BundleSpec{
		Root: root, ReadOnly: true,
		Mounts: []Mount{
			{Target: "/proc", Type: "proc", Source: "proc"},
			{Target: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
			{Target: "/data", Type: "bind", Source: src, Options: []string{"rbind", "ro"}},
		},
		Devices:       []Device{{Path: "/dev/fuse", Type: 'c', Major: 10, Minor: 229}},
		Sysctl:        map[string]string{"net.ipv4.ip_forward": "1"},
		MaskedPaths:   []string{"/proc/kcore"},
		ReadOnlyPaths: []string{"/proc/sys"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := kinds(ops)
	want := "mount mount mkdir mount mkdir mount mount " + // private /, bind root, proc, /dev, the ro bind (one op)
		"mknod mknod mknod mknod mknod mknod symlink symlink symlink symlink symlink " + // default devices and links
		"mknod pivot_root write mask readonly remount-ro"
	if got != want {
		t.Errorf("ops:\n got %s\nwant %s", got, want)
	}
	for _, o := range ops {
		if o.Kind == OpWrite && o.Target != "/proc/sys/net/ipv4/ip_forward" {
			t.Errorf("sysctl op %v", o)
		}
		if o.Kind == OpMount && o.Source == src && !strings.HasPrefix(o.Target, root) {
			t.Errorf("bind target %s outside the root", o.Target)
		}
	}
}

func TestPlanBundleRefuses(t *testing.T) {
	root := newRoot(t)
	os.Symlink("/etc", filepath.Join(root, "escape"))
	for _, tt := range []struct {
		m    Mount
		want string
	}{
		{Mount{Target: "relative", Type: "tmpfs"}, "absolute"},
		{Mount{Target: "/escape/x", Type: "tmpfs"}, "outside the rootfs"},
		{Mount{Target: "/x", Type: "bind", Source: "rel"}, "absolute path"},
		{Mount{Target: "/x", Type: "bind", Source: "/no/such/src"}, "/no/such/src"},
		{Mount{Target: "/sys/fs/cgroup", Type: "cgroup"}, "cgroup"},
	} {
		_, err := PlanBundle(BundleSpec{Root: root, Mounts: []Mount{tt.m}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v; want an error with %q", tt.m, err, tt.want)
		}
	}
	if ops, err := PlanBundle(BundleSpec{Root: root, NoPivot: true}); err != nil || !strings.Contains(kinds(ops), "move-root") {
		t.Errorf("NoPivot: %v %v", kinds(ops), err)
	}
}
