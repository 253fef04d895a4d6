package main

// podman drives pbox as its OCI runtime, through conmon, as a user would
// (`podman --runtime PATH_TO_PBOX ...`). Podman runs with private storage
// and state under a temp dir, the cgroupfs manager, file events and no
// network (nothing of the host's networking is touched), on an image the
// test imports from a busybox root filesystem it makes itself (no
// registry). CI machines may cap RLIMIT_NOFILE/NPROC below podman's
// defaults (1048576): --ulimit is passed explicitly, as a user there
// would have to.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/internal/testutil"
	"golang.org/x/sys/unix"
)

const podmanImage = "pbox.test/busybox:latest"

func TestE2EPodmanDrivesPbox(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := exec.LookPath("podman"); err != nil {
		testutil.SkipOrFail(t, "podman not installed (apt-get install podman)")
	}
	rootfs := busyboxRootfs(t)
	// Not t.TempDir: conmon starts `podman container cleanup` when a
	// container ends, and it may still write there when the test is done.
	dir, err := os.MkdirTemp("", "pbox-podman")
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
		"--tmpdir", filepath.Join(dir, "tmp"), "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
		"--events-backend", "file", "--runtime", pboxBin(t)}
	podman := func(args ...string) result {
		t.Helper()
		return podmanRun(t, "", append(append([]string{}, base...), args...)...)
	}
	var ids []string
	// podman's cgroup parent, libpod_parent, is made by the test's first
	// container unless the host had it: then the test removes it too.
	hadParent, _ := filepath.Glob("/sys/fs/cgroup/*/libpod_parent")
	t.Cleanup(func() {
		podman("rm", "-af", "-t", "0")
		defer func() {
			if len(hadParent) == 0 {
				for _, top := range testutil.CgroupDirs("", "libpod_parent") {
					var dirs []string // conmon's cgroup is below it
					filepath.WalkDir(top, func(p string, e os.DirEntry, err error) error {
						if err == nil && e.IsDir() {
							dirs = append(dirs, p)
						}
						return nil
					})
					for i := len(dirs) - 1; i >= 0; i-- {
						unix.Rmdir(dirs[i])
					}
				}
			}
		}()
		// Wait for podman's own helpers (conmon, container cleanup) that
		// still use this directory, then remove it.
		testutil.WaitFor(20*time.Second, func() bool { return len(processesUsing(dir)) == 0 })
		if left := processesUsing(dir); len(left) > 0 {
			t.Errorf("podman processes still use %s: %v", dir, left)
		}
		var rmErr error
		for i := 0; i < 10; i++ {
			if rmErr = os.RemoveAll(dir); rmErr == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if rmErr != nil {
			t.Errorf("remove podman's directory: %v", rmErr)
		}
		for _, id := range ids {
			if left, _ := filepath.Glob("/sys/fs/cgroup/*/libpod_parent/libpod-" + id + "*"); len(left) > 0 {
				t.Errorf("container %s left cgroups: %v", id, left)
			}
		}
	})
	// The image: the busybox root filesystem as one layer.
	tarball := filepath.Join(dir, "busybox.tar")
	if out, err := exec.Command("tar", "-C", rootfs, "-cf", tarball, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	if r := podman("import", "--change", "CMD [\"sh\"]", tarball, podmanImage); r.code != 0 {
		t.Fatalf("podman import: %+v", r)
	}
	run := []string{"run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"}
	runBox := func(extra ...string) result {
		t.Helper()
		args := append(append([]string{}, run...), extra...)
		return podman(args...)
	}

	// run --rm: the default seccomp profile and capabilities podman sends.
	r := runBox(podmanImage, "sh", "-c", "echo hi; grep -E '^(Seccomp|CapEff):' /proc/self/status; cat /proc/1/comm")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "hi\n") || !strings.Contains(r.stdout, "Seccomp:\t2") || !strings.HasSuffix(r.stdout, "\ncat\n") {
		// sh exec's its last command: cat is PID 1 when it reads comm.
		t.Fatalf("podman run --rm: %+v; want hi, a seccomp filter, the command as PID 1 (as with runc)", r)
	}
	if strings.Contains(r.stdout, "CapEff:\t000001ffffffffff") {
		t.Errorf("the box kept every capability: %s", r.stdout)
	}
	// An exit status passes through.
	if r := runBox(podmanImage, "sh", "-c", "exit 3"); r.code != 3 {
		t.Errorf("exit 3: %+v", r)
	}
	// -d, exec, logs, stop, rm.
	r = podman("run", "-d", "--name", "pboxd", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096", podmanImage, "sh", "-c", "echo started; exec sleep 1000")
	if r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	ids = append(ids, strings.TrimSpace(r.stdout))
	if r := podman("exec", "pboxd", "sh", "-c", "echo in-exec; cat /proc/1/comm"); r.code != 0 || r.stdout != "in-exec\nsleep\n" {
		t.Errorf("exec: %+v", r)
	}
	if r := podman("logs", "pboxd"); !strings.Contains(r.stdout, "started") {
		t.Errorf("logs: %+v", r)
	}
	if r := podman("stop", "-t", "2", "pboxd"); r.code != 0 {
		t.Errorf("stop: %+v", r)
	}
	if r := podman("rm", "pboxd"); r.code != 0 {
		t.Errorf("rm: %+v", r)
	}
	// A terminal (console socket) through script(1), whose stdin stays
	// open (script ends early at its end of file).
	if _, err := exec.LookPath("script"); err == nil {
		line := "podman " + strings.Join(base, " ") + " " + strings.Join(run, " ") + " -it " + podmanImage + " sh -c 'tty; exit 5'"
		cmd := exec.Command("script", "-qec", line, "/dev/null")
		cmd.Dir = t.TempDir() // conmon leaves an "oom" file where it runs
		stdin, _ := cmd.StdinPipe()
		out, _ := cmd.CombinedOutput()
		stdin.Close()
		if !strings.Contains(string(out), "/dev/pts/") || cmd.ProcessState.ExitCode() != 5 {
			t.Errorf("run -it: %q, status %d; want a pty and 5", out, cmd.ProcessState.ExitCode())
		}
	}
	// Limits: an OOM kill is 137; pids, CPU, a read-only root with
	// podman's tmpfs (tmpcopyup), a read-only volume, another user.
	if r := runBox("--memory", "32m", podmanImage, "sh", "-c", "head -c 200m /dev/zero | tail"); r.code != 137 {
		t.Errorf("--memory 32m with a 200 MB hog: %+v; want 137", r)
	}
	vol := t.TempDir()
	os.WriteFile(filepath.Join(vol, "f"), []byte("volume\n"), 0o644)
	r = runBox("--pids-limit", "50", "--cpus", "0.5", "--read-only", "-v", vol+":/data:ro", "--user", "1000:1000", podmanImage, "sh", "-c",
		"id -u; cat /data/f; touch /x 2>/dev/null || echo ro; touch /tmp/y && echo tmp; touch /data/z 2>/dev/null || echo volro")
	if r.code != 0 || r.stdout != "1000\nvolume\nro\ntmp\nvolro\n" {
		t.Errorf("limits, --read-only, volume, --user: %+v", r)
	}
	// seccomp=unconfined, capabilities, no network.
	r = runBox("--security-opt", "seccomp=unconfined", "--cap-drop", "ALL", "--cap-add", "NET_RAW", podmanImage, "sh", "-c",
		"grep -E '^(Seccomp|CapEff):' /proc/self/status; ls /sys/class/net")
	if r.code != 0 || !strings.Contains(r.stdout, "Seccomp:\t0") || !strings.Contains(r.stdout, "CapEff:\t0000000000002000") || strings.TrimSpace(strings.SplitN(r.stdout, "\n", 3)[2]) != "lo" {
		t.Errorf("unconfined, --cap-drop ALL --cap-add NET_RAW, --network none: %+v", r)
	}
	// Podman's own default NOFILE (1048576) above this machine's hard
	// limit: pbox names the rlimit and the limit.
	r = podman("run", "--rm", "--network", "none", "--ulimit", "nofile=999999999:999999999", podmanImage, "true")
	if r.code == 0 || !strings.Contains(r.stderr, "RLIMIT_NOFILE") {
		t.Errorf("an rlimit above the hard limit: %+v; want an error naming RLIMIT_NOFILE", r)
	}
}

// processesUsing lists the pids whose command line names dir.
func processesUsing(dir string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if strings.Contains(string(cmd), dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// podmanRun runs a command (podman, or script around it) with its output
// in files, as pbox() does.
func podmanRun(t *testing.T, wrapper string, args ...string) result {
	t.Helper()
	name := "podman"
	if wrapper != "" {
		name = wrapper
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = t.TempDir() // conmon leaves an "oom" file where it runs
	out, _ := os.CreateTemp("", "podman-out")
	defer os.Remove(out.Name())
	errOut, _ := os.CreateTemp("", "podman-err")
	defer os.Remove(errOut.Name())
	cmd.Stdout, cmd.Stderr = out, errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errOut.Name())
	return result{string(o), string(e), code}
}
