package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/internal/testutil"
	"golang.org/x/sys/unix"
)

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
	// Docker's default set less NET_RAW (bit 13): the box is on the host's network.
	for _, want := range []string{"box\n", "volume\n", "ro\n", "tmp\n", "00000000a80405fb"} {
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
	// A mount that fails inside the box leaves no directory it made for
	// its target in the rootfs (issue 19).
	name = boxName(t, "badmount")
	r := pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", dir, "--tmpfs", "/made/for/it:size=bogus", "--", "true")
	assertCleanError(t, r, 125, "size=bogus")
	if _, err := os.Stat(filepath.Join(dir, "made")); err == nil {
		t.Error("a failed tmpfs mount left the directories made for its target in the rootfs")
	}
	assertNoLeftovers(t, name)
	// -w must be absolute, as docker's; --env-file holds no NUL byte.
	assertCleanError(t, pbox(t, "run", "--rootfs", dir, "-w", "tmp", "--", "true"), 125, "absolute path")
	envFile := filepath.Join(t.TempDir(), "env")
	os.WriteFile(envFile, []byte("A=1\x00B\n"), 0o644)
	assertCleanError(t, pbox(t, "run", "--rootfs", dir, "--env-file", envFile, "--", "true"), 125, "NUL byte")
}

// tarDir packs dir into an uncompressed layer, as a Docker layer is.
func tarDir(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		link := ""
		if info.Mode()&os.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name = strings.TrimPrefix(p, dir+"/")
		if err := w.WriteHeader(h); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			w.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.Bytes()
}

// dockerSave writes what `docker save` writes for an image of one layer,
// the directory src, with the image config given.
func dockerSave(t *testing.T, src, config string) string {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	manifest := `[{"Config":"c.json","RepoTags":["test:latest"],"Layers":["l1/layer.tar"]}]`
	for _, f := range []struct{ name, body string }{{"l1/layer.tar", string(tarDir(t, src))}, {"manifest.json", manifest}, {"c.json", config}} {
		w.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
		w.Write([]byte(f.body))
	}
	w.Close()
	img := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(img, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return img
}

func TestE2EImportThenRun(t *testing.T) {
	src := busyboxRootfs(t)
	img := dockerSave(t, src, "{}")
	dst := filepath.Join(t.TempDir(), "imported")
	if r := pbox(t, "rootfs", "import", img, dst); r.code != 0 || !strings.Contains(r.stdout, "unpacked 1 layers") {
		t.Fatalf("import: %+v", r)
	}
	r := pbox(t, "run", "--cgroup-parent", e2eParent, "--rootfs", dst, "--", "sh", "-c", "ls /bin/busybox && echo works")
	if r.code != 0 || !strings.Contains(r.stdout, "works") {
		t.Errorf("run on the imported rootfs: %+v", r)
	}
	bad := pbox(t, "rootfs", "import", "/nonexistent.tar", filepath.Join(t.TempDir(), "x"))
	assertCleanError(t, bad, 1, "no such file")
	bad = pbox(t, "rootfs", "import", img)
	assertCleanError(t, bad, 2, "give TARBALL and DIR")
}

// bombImage writes a docker-save tarball whose one gzip'd layer holds a
// file of size bytes of zeros: about size/1000 bytes on disk. It is made
// of gzip members (a header, one zero MiB repeated, the end), which a
// gzip reader reads as one stream, so it costs nothing to build.
func bombImage(t *testing.T, size int64) string {
	t.Helper()
	member := func(data []byte) []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(data)
		zw.Close()
		return buf.Bytes()
	}
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	tw.WriteHeader(&tar.Header{Name: "zeros", Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
	tw.Flush() // the header only: the body is the members below
	var layer bytes.Buffer
	layer.Write(member(hdr.Bytes()))
	mib := member(make([]byte, 1<<20))
	for n := int64(0); n < size>>20; n++ {
		layer.Write(mib)
	}
	layer.Write(member(make([]byte, 1024))) // two zero blocks: the end
	var out bytes.Buffer
	w := tar.NewWriter(&out)
	manifest := `[{"Config":"c.json","RepoTags":["bomb:latest"],"Layers":["l1/layer.tar"]}]`
	for _, f := range []struct{ name, body string }{{"l1/layer.tar", layer.String()}, {"manifest.json", manifest}, {"c.json", "{}"}} {
		w.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
		w.Write([]byte(f.body))
	}
	w.Close()
	p := filepath.Join(t.TempDir(), "bomb.tar")
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestE2EImportStopsAGzipBomb(t *testing.T) {
	img := bombImage(t, 64<<20)
	dst := filepath.Join(t.TempDir(), "bomb")
	r := pbox(t, "rootfs", "import", "--max-size", "16M", img, dst)
	assertCleanError(t, r, 1, "unpacks to more than 16.0 MiB: raise --max-size")
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", dst, err)
	}
	// Under the limit, with a terminal for stderr: a progress line,
	// redrawn in place and erased at the end; stdout keeps the summary.
	master, term := testPty(t)
	cmd := exec.Command(pboxBin(t), "rootfs", "import", "--max-size", "65M", img, dst)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, term
	if err := cmd.Run(); err != nil || !strings.Contains(stdout.String(), "unpacked 1 layers (64.0 MiB)") {
		t.Fatalf("under the limit: %v %q", err, stdout.String())
	}
	unix.SetNonblock(int(master.Fd()), true)
	buf := make([]byte, 4096)
	n, _ := unix.Read(int(master.Fd()), buf)
	if got := string(buf[:max(n, 0)]); !strings.Contains(got, "layer 1/1: ") || !strings.Contains(got, " written") {
		t.Errorf("progress on a terminal: %q", got)
	}
}

// Ctrl-C (or SIGTERM) during an import removes what it wrote; after a
// SIGKILL, the next import into the same DIR clears the partial output.
func TestE2EImportInterruptedLeavesNothing(t *testing.T) {
	parent := t.TempDir()
	// Seconds of writing, long enough to interrupt: 4 GiB, or a quarter of
	// the free space (the VM lane's / is a small tmpfs).
	var fs unix.Statfs_t
	if err := unix.Statfs(parent, &fs); err != nil {
		t.Fatal(err)
	}
	size := min(int64(4<<30), int64(fs.Bavail)*int64(fs.Bsize)/4) &^ (1<<20 - 1)
	img := bombImage(t, size)
	dst := filepath.Join(parent, "big")
	interrupt := func(sig syscall.Signal) result {
		t.Helper()
		cmd := exec.Command(pboxBin(t), "rootfs", "import", img, dst)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		started := testutil.WaitFor(20*time.Second, func() bool {
			st, err := os.Stat(filepath.Join(dst, "zeros"))
			return err == nil && st.Size() > 0
		})
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if !started {
			t.Fatalf("the import never started writing: %v %s", err, stderr.String())
		}
		return result{stderr: stderr.String(), code: code}
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		r := interrupt(sig)
		assertCleanError(t, r, 1, "interrupted by "+unix.SignalName(sig)+": removed what was unpacked")
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Errorf("after %v: %s holds %v", sig, parent, entries)
		}
	}
	r := interrupt(syscall.SIGKILL)
	if r.code != -1 {
		t.Fatalf("SIGKILL: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dst, "zeros")); err != nil {
		t.Fatalf("a SIGKILLed import leaves its partial output: %v", err)
	}
	small := bombImage(t, 1<<20)
	if r := pbox(t, "rootfs", "import", small, dst); r.code != 0 {
		t.Fatalf("import over a killed import's output: %+v", r)
	}
	if st, err := os.Stat(filepath.Join(dst, "zeros")); err != nil || st.Size() != 1<<20 {
		t.Errorf("zeros after the re-import: %v %v", st, err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 2 || entries[1].Name() != "big.image.json" {
		t.Errorf("want only %s and its image config in %s: %v", dst, parent, entries)
	}
	// Someone's own files are never taken for a partial import.
	mine := filepath.Join(parent, "mine")
	os.MkdirAll(filepath.Join(mine, "keep"), 0o755)
	assertCleanError(t, pbox(t, "rootfs", "import", small, mine), 1, "is not empty")
	if _, err := os.Stat(filepath.Join(mine, "keep")); err != nil {
		t.Errorf("a refused import touched %s: %v", mine, err)
	}
}

// An image's config says how to run it; pbox run --rootfs uses it as
// docker does, and every flag still wins.
func TestE2EImportedImageConfigIsUsed(t *testing.T) {
	testutil.RequireRoot(t)
	src := busyboxRootfs(t)
	os.MkdirAll(filepath.Join(src, "srv"), 0o755)
	img := dockerSave(t, src, `{"config":{"Env":["PATH=/bin:/sbin","APP=demo"],"Cmd":["sh","-c","echo \"$APP $PATH $(pwd) $(id -u)\""],"WorkingDir":"/srv","User":"nobody"}}`)
	dst := filepath.Join(t.TempDir(), "demo")
	if r := pbox(t, "rootfs", "import", img, dst); r.code != 0 {
		t.Fatalf("import: %+v", r)
	}
	// No COMMAND: the image's Cmd, Env (its PATH, not the caller's),
	// WorkingDir and User.
	r := pboxWith(t, nil, []string{"PATH=/home/me/bin:/usr/bin:/bin"}, "run", "--cgroup-parent", e2eParent, "--rootfs", dst)
	if r.code != 0 || r.stdout != "demo /bin:/sbin /srv 65534\n" {
		t.Errorf("run with the image's config: %+v", r)
	}
	// Flags win: COMMAND, -e, -w, -u.
	r = pbox(t, "run", "--cgroup-parent", e2eParent, "--rootfs", dst, "-e", "APP=mine", "-w", "/tmp", "-u", "0", "--",
		"sh", "-c", `echo "$APP $(pwd) $(id -u)"`)
	if r.code != 0 || r.stdout != "mine /tmp 0\n" {
		t.Errorf("flags over the image's config: %+v", r)
	}
}
