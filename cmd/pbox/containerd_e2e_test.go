package main

// The real peer: a private containerd (Debian's), driving pbox through its
// runc shim exactly as it drives runc (ctr run --runc-binary). No registry
// is reachable, so the test builds a busybox OCI image itself.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/internal/crilab"
	"github.com/pbox-dev/pbox/internal/testutil"
	"golang.org/x/sys/unix"
)

const (
	ctrNamespace = "pbox-ctr-test"
	ctrImage     = "pbox.test/busybox:latest"
)

// ociImageTar writes a one-layer OCI image (layout tarball) of rootfs.
func ociImageTar(t *testing.T, rootfs, out string) {
	t.Helper()
	ociImageTarNamed(t, rootfs, out, ctrImage, nil, []string{"sh"})
}

// ociImageTarNamed is ociImageTar with the image's name and its
// Entrypoint and Cmd.
func ociImageTarNamed(t *testing.T, rootfs, out, name string, entrypoint, cmd []string) {
	t.Helper()
	if err := crilab.ImageTar(rootfs, out, name, entrypoint, cmd); err != nil {
		t.Fatal(err)
	}
}

// privateContainerd starts containerd with its own root, state and unix
// socket under dir (no TCP listener: the CRI plugin is off) and stops it
// by its recorded pid when the test ends.
func privateContainerd(t *testing.T, dir string) (ctr func(args ...string) result) {
	t.Helper()
	sock := filepath.Join(dir, "containerd.sock")
	cfg := crilab.ContainerdConfig(dir, sock, "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n")
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("containerd", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopDaemon(t, cmd, 10*time.Second)
		logf.Close()
		killShims(t, sock)
		unmountUnder(t, dir)
		os.RemoveAll(filepath.Join("/run/containerd/runc", ctrNamespace))
		// A box whose shim is gone outlives it (no PR_SET_PDEATHSIG for
		// an OCI box): end what a failed test left running.
		for _, pid := range testutil.CgroupTreeProcs("", ctrNamespace) {
			testutil.Kill(t, pid, syscall.SIGKILL)
		}
		testutil.WaitFor(5*time.Second, func() bool { return len(testutil.CgroupTreeProcs("", ctrNamespace)) == 0 })
		for _, d := range testutil.CgroupDirs("", ctrNamespace) {
			unix.Rmdir(d)
		}
		if t.Failed() {
			data, _ := os.ReadFile(logf.Name())
			t.Logf("containerd log (tail):\n%s", tail(string(data), 30))
		}
	})
	if !testutil.WaitFor(10*time.Second, func() bool { _, err := os.Stat(sock); return err == nil }) {
		t.Fatal("containerd did not create its socket")
	}
	return func(args ...string) result {
		full := append([]string{"-a", sock, "-n", ctrNamespace}, args...)
		c := exec.Command("ctr", full...)
		var out, errOut bytes.Buffer
		c.Stdout, c.Stderr = &out, &errOut
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("ctr %q: %v", args, err)
		}
		return result{out.String(), errOut.String(), code}
	}
}

// killShims and unmountUnder: what a private containerd leaves.
func killShims(t *testing.T, sock string)   { crilab.KillShims(sock) }
func unmountUnder(t *testing.T, dir string) { crilab.UnmountUnder(dir) }

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestE2EContainerdDrivesPbox(t *testing.T) {
	testutil.RequireRoot(t)
	for _, tool := range []string{"containerd", "ctr", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.SkipOrFail(t, "%s not found: apt-get install containerd", tool)
		}
	}
	dir, err := os.MkdirTemp("", "pbox-ctr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	image := filepath.Join(dir, "busybox.tar")
	ociImageTar(t, busyboxRootfs(t), image)
	ctr := privateContainerd(t, dir)
	bin := pboxBin(t)
	if r := ctr("images", "import", image); r.code != 0 {
		t.Fatalf("ctr images import: %+v", r)
	}

	// A foreground echo.
	if r := ctr("run", "--rm", "--runc-binary", bin, ctrImage, "echo1", "echo", "hello from pbox"); r.code != 0 || r.stdout != "hello from pbox\n" {
		t.Fatalf("ctr run echo: %+v", r)
	}

	// A detached task with pbox-init as its PID 1 (the annotation asks for
	// it; process.args is PID 1 otherwise, as with runc), exec into it,
	// kill, delete.
	if r := ctr("run", "-d", "--annotation", "run.pbox.init=true", "--runc-binary", bin, ctrImage, "task1", "sleep", "1000"); r.code != 0 {
		t.Fatalf("ctr run -d: %+v", r)
	}
	r := ctr("task", "exec", "--exec-id", "e1", "task1", "sh", "-c", "ps -o pid,args; hostname; exit 5")
	if r.code != 5 || !strings.Contains(r.stdout, "pbox-init") || !strings.Contains(r.stdout, "sleep 1000") {
		t.Errorf("ctr task exec: %+v; want the box's processes and exit 5", r)
	}
	if r = ctr("task", "ls"); !strings.Contains(r.stdout, "RUNNING") {
		t.Errorf("task ls: %+v", r)
	}
	// pbox's init passes SIGTERM on to sleep (runc's PID 1 sleep would
	// ignore it: no handler).
	if r = ctr("task", "kill", "task1"); r.code != 0 {
		t.Errorf("ctr task kill: %+v", r)
	}
	if !testutil.WaitFor(10*time.Second, func() bool { return strings.Contains(ctr("task", "ls").stdout, "STOPPED") }) {
		t.Errorf("task1 did not stop after ctr task kill: %+v", ctr("task", "ls"))
	}
	if r = ctr("task", "delete", "task1"); r.code != 0 {
		t.Errorf("ctr task delete: %+v", r)
	}
	if r = ctr("containers", "rm", "task1"); r.code != 0 {
		t.Errorf("ctr containers rm: %+v", r)
	}

	// A memory limit that OOM-kills: exit status 137.
	r = ctr("run", "--rm", "--memory-limit", strconv.Itoa(32<<20), "--runc-binary", bin, ctrImage, "oom1", "tail", "/dev/zero")
	if r.code != 137 {
		t.Errorf("ctr run --memory-limit with a memory hog: %+v; want 137", r)
	}
	if left, _ := filepath.Glob(filepath.Join("/run/containerd/runc", ctrNamespace, "*")); len(left) > 0 {
		t.Errorf("pbox state left after delete: %v", left)
	}
}
