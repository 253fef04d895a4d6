package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbox-dev/pbox/internal/testutil"
)

func busyboxRootfs(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	dir := filepath.Join(t.TempDir(), "rootfs")
	r := pbox(t, "rootfs", "busybox", dir)
	if r.code != 0 {
		testutil.SkipOrFail(t, "pbox rootfs busybox: %+v", r)
	}
	return dir
}

func TestE2ERootfsBusybox(t *testing.T) {
	dir := busyboxRootfs(t)
	for _, p := range []string{"bin/busybox", "bin/sh", "etc/passwd", "etc/group", "etc/hosts", "proc", "dev", "sys", "tmp"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s missing: %v", p, err)
		}
	}
	// Into a non-empty directory: refused, nothing touched.
	r := pbox(t, "rootfs", "busybox", dir)
	assertCleanError(t, r, 1, "not empty")
	r = pbox(t, "rootfs", "busybox")
	assertCleanError(t, r, 2, "give one DIR")
}

func TestE2ERunWithRootfs(t *testing.T) {
	dir := busyboxRootfs(t)
	os.WriteFile(filepath.Join(dir, "MARKER"), []byte("box\n"), 0o644)
	vol := t.TempDir()
	os.WriteFile(filepath.Join(vol, "in"), []byte("volume\n"), 0o644)
	name := boxName(t, "rootfs")
	r := pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", dir, "--read-only",
		"-v", vol+":/data:ro", "--tmpfs", "/tmp:size=1M", "--", "sh", "-c",
		"cat /MARKER /data/in; touch /x 2>/dev/null || echo ro; touch /tmp/y && echo tmp; grep CapEff /proc/self/status")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, want := range []string{"box\n", "volume\n", "ro\n", "tmp\n", "00000000a80425fb"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	assertNoLeftovers(t, name)
	// -v without a volume after it still means --verbose, and it prints
	// the mount sequence in order.
	r = pbox(t, "run", "-v", "--cgroup-parent", e2eParent, "--rootfs", dir, "--", "true")
	order := []string{"make / private", "mount " + dir, "mount proc on", "mknod", "pivot_root into", "mask /proc/kcore", "read-only /proc/sys"}
	last := -1
	for _, w := range order {
		i := strings.Index(r.stderr, w)
		if i < 0 || i < last {
			t.Errorf("-v output: %q missing or out of order:\n%s", w, r.stderr)
		}
		last = i
	}
	// The default command with --rootfs is /bin/sh.
	r = pbox(t, "run", "--cgroup-parent", e2eParent, "--rootfs", dir)
	if r.code != 0 {
		t.Errorf("pbox run --rootfs DIR (sh with no input): %+v", r)
	}
}

func TestE2ERootfsBadInput(t *testing.T) {
	dir := busyboxRootfs(t)
	os.Symlink("/etc", filepath.Join(dir, "evil"))
	empty := t.TempDir()
	name := boxName(t, "rootfs-bad")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--rootfs", "/nonexistent/dir"}, "no such file"},
		{[]string{"--rootfs", empty}, "is empty"},
		{[]string{"--rootfs", dir, "-v", "/nonexistent:/x"}, "source"},
		{[]string{"--rootfs", dir, "-v", empty + ":/evil/x"}, "outside the rootfs: refused"},
		{[]string{"--rootfs", dir, "--tmpfs", "relative"}, "absolute"},
		{[]string{"--rootfs", dir, "--ns", "pid"}, "add mnt"},
		{[]string{"--rootfs", dir, "--cap-add", "BOGUS"}, "not a capability"},
	} {
		args := append([]string{"run", "--name", name, "--cgroup-parent", e2eParent}, tt.args...)
		r := pbox(t, append(args, "--", "true")...)
		assertCleanError(t, r, 125, tt.want)
		assertNoLeftovers(t, name)
	}
	if _, err := os.Stat("/etc/x"); err == nil {
		t.Error("a refused volume created /etc/x on the host")
	}
}
