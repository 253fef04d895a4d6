package box_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pbox-dev/pbox/box"
	"github.com/pbox-dev/pbox/image"
	"github.com/pbox-dev/pbox/internal/testutil"
	"github.com/pbox-dev/pbox/rootfs"
)

// busyboxRoot builds a rootfs from the host's static busybox, with a
// marker file only the box has.
func busyboxRoot(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := image.Busybox(dir, func(string, ...any) {}); err != nil {
		testutil.SkipOrFail(t, "%v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "MARKER"), []byte("in the box\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func listing(t *testing.T, dir string) string {
	var paths []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil {
			paths = append(paths, strings.TrimPrefix(p, dir)+" "+info.Mode().String())
		}
		return nil
	})
	sort.Strings(paths)
	return strings.Join(paths, "\n")
}

// runInRoot runs a shell script in a box on fs, with COMMAND's
// capabilities set to caps (nil: all).
func runInRoot(t *testing.T, fs *rootfs.BundleSpec, script string, caps []int) boxRun {
	t.Helper()
	return runBoxFS(t, []string{"/bin/sh", "-c", script}, fs, func(c *box.Config) { c.Capabilities = caps })
}

func TestRootfsIsTheBoxsWorld(t *testing.T) {
	root := busyboxRoot(t)
	hostOnly := t.TempDir() // exists on the host only
	before := testutil.MountTable(t)
	r := runInRoot(t, rootFS(root, false), `
		cat /MARKER
		test -e `+hostOnly+` && echo host-visible
		echo > /dev/null && echo null-ok
		head -c 16 /dev/urandom | wc -c
		ls /dev/pts/ptmx /dev/shm /dev/fd/ >/dev/null && echo dev-ok
		test -L /dev/stdin && echo stdin-ok
		echo mountpoints:; cut -d' ' -f5 /proc/self/mountinfo`, nil)
	if r.err != nil || r.res.Status != 0 {
		t.Fatalf("status %d err %v\n%s", r.res.Status, r.err, r.out)
	}
	for _, want := range []string{"in the box\n", "null-ok\n", "16\n", "dev-ok\n", "stdin-ok\n"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "host-visible") {
		t.Error("a host-only path is visible inside the rootfs")
	}
	// The old root is gone from the box's mount table: every mount point
	// is one the box made, none of the host's (/work, /tmp/..., /mnt/...).
	mps := strings.Fields(r.out[strings.Index(r.out, "mountpoints:")+len("mountpoints:"):])
	for _, mp := range mps {
		ok := mp == "/" || strings.HasPrefix(mp, "/proc") || strings.HasPrefix(mp, "/dev") || strings.HasPrefix(mp, "/sys")
		if !ok {
			t.Errorf("mount point %q in the box is not one pbox made (the old root leaks?)", mp)
		}
		if strings.Contains(mp, root) {
			t.Errorf("the host path of the rootfs shows as a mount point: %s", mp)
		}
	}
	// Nothing the box mounted shows on the host. (Only lines about its
	// rootfs count: tests of other packages, podman's and containerd's,
	// may mount and unmount on the host meanwhile.)
	old := map[string]bool{}
	for _, l := range strings.Split(before, "\n") {
		old[l] = true
	}
	for _, l := range strings.Split(testutil.MountTable(t), "\n") {
		if !old[l] && strings.Contains(l, root) {
			t.Errorf("the host's mount table gained %q", l)
		}
	}
}

func TestRootfsReadOnlyCannotBeUndone(t *testing.T) {
	root := busyboxRoot(t)
	before := listing(t, root)
	r := runInRoot(t, rootFS(root, true, rootfs.Mount{Source: "tmpfs", Target: "/tmp", Type: "tmpfs", Options: []string{"size=1m"}}), `
		touch /newfile 2>/dev/null && echo root-writable
		mount -o remount,rw / 2>/dev/null && echo remounted
		touch /newfile 2>/dev/null && echo root-writable-after-remount
		touch /tmp/ok && echo tmpfs-ok
		true`, defaultCaps(t))
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, bad := range []string{"root-writable", "remounted"} {
		if strings.Contains(r.out, bad) {
			t.Errorf("%s:\n%s", bad, r.out)
		}
	}
	if !strings.Contains(r.out, "tmpfs-ok") {
		t.Errorf("tmpfs on a read-only root must be writable:\n%s", r.out)
	}
	if after := listing(t, root); after != before {
		t.Errorf("a read-only box changed its rootfs directory:\n%s\n---\n%s", before, after)
	}
}

func TestRootfsVolumes(t *testing.T) {
	root := busyboxRoot(t)
	ro, rw := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(ro, "data"), []byte("from the host\n"), 0o644)
	r := runInRoot(t, rootFS(root, false,
		rootfs.Mount{Source: ro, Target: "/ro", Type: "bind", Options: []string{"rbind", "ro"}},
		rootfs.Mount{Source: rw, Target: "/srv/rw", Type: "bind", Options: []string{"rbind"}}), `
		cat /ro/data
		touch /ro/x 2>/dev/null && echo ro-writable
		echo written > /srv/rw/out`, nil)
	if r.err != nil || !strings.Contains(r.out, "from the host") || strings.Contains(r.out, "ro-writable") {
		t.Errorf("err %v output %q", r.err, r.out)
	}
	if data, _ := os.ReadFile(filepath.Join(rw, "out")); string(data) != "written\n" {
		t.Errorf("a write to a rw volume did not reach the host: %q", data)
	}
}

func TestRootfsMasksKernelInterfaces(t *testing.T) {
	root := busyboxRoot(t)
	r := runInRoot(t, rootFS(root, false), `
		for f in /proc/keys /proc/timer_list /proc/sched_debug /proc/interrupts; do
			test -e $f || continue
			echo "$f $(wc -c < $f)"
		done
		echo "firmware $(ls /sys/firmware | wc -l)"
		echo 1 > /proc/sysrq-trigger 2>/dev/null && echo sysrq-writable
		echo x > /proc/sys/kernel/hostname 2>/dev/null && echo procsys-writable
		touch /sys/x 2>/dev/null && echo sys-writable
		true`, defaultCaps(t))
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[1] != "0" {
			t.Errorf("masked %s is not empty (%s bytes or entries)", f[0], f[1])
		}
	}
	for _, bad := range []string{"sysrq-writable", "procsys-writable", "sys-writable"} {
		if strings.Contains(r.out, bad) {
			t.Errorf("%s:\n%s", bad, r.out)
		}
	}
	if !strings.Contains(r.out, "/proc/interrupts 0") || !strings.Contains(r.out, "firmware 0") {
		t.Errorf("nothing was checked:\n%s", r.out)
	}
}

func TestRootfsDefaultCapabilities(t *testing.T) {
	root := busyboxRoot(t)
	r := runInRoot(t, rootFS(root, false), `grep -E '^Cap(Eff|Bnd)' /proc/self/status`, defaultCaps(t))
	// Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID
	// SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE
	// SETFCAP = 0x00000000a80425fb.
	if strings.Count(r.out, "00000000a80425fb") != 2 {
		t.Errorf("capabilities:\n%s", r.out)
	}
	r = runInRoot(t, rootFS(root, false), `grep -E '^CapEff' /proc/self/status`, []int{})
	if !strings.Contains(r.out, "0000000000000000") {
		t.Errorf("--cap-drop ALL: %s", r.out)
	}
}

func defaultCaps(t *testing.T) []int {
	return []int{0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31}
}

func TestRootfsErrorsBeforeStart(t *testing.T) {
	testutil.RequireRoot(t)
	r := runBoxFS(t, []string{"/bin/sh"}, rootFS(t.TempDir(), false), nil)
	if r.err == nil || !strings.Contains(r.err.Error(), "is empty") {
		t.Errorf("empty rootfs: %v", r.err)
	}
	r = runBoxFS(t, []string{"/bin/sh"}, rootFS(busyboxRoot(t), false, rootfs.Mount{Source: "/nonexistent", Target: "/x", Type: "bind", Options: []string{"rbind"}}), nil)
	if r.err == nil || !strings.Contains(r.err.Error(), "source") {
		t.Errorf("missing volume source: %v", r.err)
	}
}
