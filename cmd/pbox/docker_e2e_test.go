package main

// Docker as an engine: a private dockerd (Debian's docker.io) with pbox
// registered as a runtime runs busybox through --runtime pbox, as a user
// of docker would. Nothing of the host's Docker is touched: the daemon has
// its own data-root, exec-root, pidfile and socket under a temp dir, runs
// in a network and mount namespace the test makes (no bridge, no
// iptables), and puts its containers' cgroups under a parent of its own.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/internal/testutil"
	"golang.org/x/sys/unix"
)

const dockerCgroupParent = "pbox-e2e-docker"

// privateDockerd starts dockerd as described above and returns a docker
// client for it; the daemon is stopped by its recorded pid at the end.
func privateDockerd(t *testing.T) (docker func(args ...string) result) {
	t.Helper()
	testutil.RequireRoot(t)
	for _, tool := range []string{"dockerd", "docker", "containerd", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.SkipOrFail(t, "%s not installed (apt-get install docker.io: .ci/run installs it without starting its service)", tool)
		}
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "docker.sock")
	config := fmt.Sprintf(`{"bridge": "none", "iptables": false, "ip6tables": false, "ip-forward": false, "ip-masq": false,
		"storage-driver": "vfs", "data-root": %q, "exec-root": %q, "pidfile": %q, "hosts": ["unix://%s"],
		"cgroup-parent": %q, "containerd-namespace": "pbox-e2e-docker", "containerd-plugins-namespace": "pbox-e2e-docker-plugins",
		"runtimes": {"pbox": {"path": %q}}}`,
		filepath.Join(dir, "data"), filepath.Join(dir, "exec"), filepath.Join(dir, "docker.pid"), sock,
		dockerCgroupParent, pboxBin(t))
	cfgPath := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	// Its own network namespace (nothing to reach) and mount namespace
	// (the network namespaces and layers it mounts go with it).
	cmd := exec.Command("unshare", "--net", "--mount", "--propagation", "private", "--", "dockerd", "--config-file", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopDaemon(t, cmd, 20*time.Second)
		logf.Close()
		for _, d := range testutil.CgroupDirs("", dockerCgroupParent) {
			unix.Rmdir(d)
		}
		if t.Failed() {
			data, _ := os.ReadFile(logf.Name())
			t.Logf("dockerd log (tail):\n%s", tail(string(data), 30))
		}
	})
	client := func(args ...string) result {
		c := exec.Command("/usr/bin/docker", append([]string{"-H", "unix://" + sock}, args...)...)
		return runCaptured(t, c)
	}
	if !testutil.WaitFor(30*time.Second, func() bool { return client("version").code == 0 }) {
		t.Fatalf("dockerd did not answer on %s", sock)
	}
	return client
}

func TestE2EDockerRunsPbox(t *testing.T) {
	docker := privateDockerd(t)
	rootfs := busyboxRootfs(t)
	tarball := filepath.Join(t.TempDir(), "busybox.tar")
	if out, err := exec.Command("tar", "-C", rootfs, "-cf", tarball, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	if r := docker("import", tarball, "busybox:pbox"); r.code != 0 {
		t.Fatalf("docker import: %+v", r)
	}
	run := func(args ...string) result {
		return docker(append([]string{"run", "--rm", "--runtime", "pbox"}, args...)...)
	}
	must := func(what string, r result) result {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("%s: %+v", what, r)
		}
		return r
	}

	// run --rm, exit statuses, Docker's seccomp profile in force.
	if r := run("busybox:pbox", "sh", "-c", "echo hello; grep ^Seccomp: /proc/self/status"); r.code != 0 || r.stdout != "hello\nSeccomp:\t2\n" {
		t.Errorf("docker run: %+v", r)
	}
	if r := run("busybox:pbox", "sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("exit 7: %+v", r)
	}
	if r := run("busybox:pbox", "no-such-command"); r.code != 127 {
		t.Errorf("a missing command: %+v; want 127, as with runc", r)
	}
	// Limits: --memory (OOM: 137), --cpus, --pids-limit; -u, --read-only,
	// --cap-drop/--cap-add.
	if r := run("--memory", "32m", "busybox:pbox", "sh", "-c", "head -c 200m /dev/zero | tail"); r.code != 137 {
		t.Errorf("--memory 32m over the limit: %+v; want 137", r)
	}
	r := must("limits and users", run("--cpus", "0.5", "--pids-limit", "50", "-u", "1000:1000", "--read-only",
		"--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "busybox:pbox", "sh", "-c",
		`id -u; cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max
		cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us
		grep ^CapBnd /proc/self/status; touch /x 2>/dev/null || echo read-only`))
	for _, want := range []string{"1000\n", "50\n", "50000", "CapBnd:\t0000000000000400\n", "read-only\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("limits and users: %q lacks %q", r.stdout, want)
		}
	}
	// --init: Docker's tini is PID 1 of the box (process.args, as runc).
	if r := must("--init", run("--init", "busybox:pbox", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")); !strings.HasPrefix(r.stdout, "/sbin/docker-init -- sh") {
		t.Errorf("docker run --init: PID 1 is %q; want Docker's docker-init", r.stdout)
	}

	// A box that lives on: -d, exec, logs, top, stats, pause/unpause,
	// update, stop (SIGTERM reaches the trap), rm.
	must("run -d", docker("run", "-d", "--runtime", "pbox", "--name", "web", "busybox:pbox", "sh", "-c",
		`echo started; trap "echo term; exit 3" TERM; while :; do sleep 1; done`))
	if r := docker("exec", "web", "sh", "-c", "echo in-exec $(cat /proc/1/cmdline | tr '\\0' ' ')"); r.code != 0 || !strings.HasPrefix(r.stdout, "in-exec sh -c") {
		t.Errorf("docker exec: %+v; want the box's PID 1 to be its command", r)
	}
	if r := must("top", docker("top", "web")); !strings.Contains(r.stdout, "while :") {
		t.Errorf("docker top: %q", r.stdout)
	}
	if r := must("stats", docker("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "web")); !strings.HasPrefix(r.stdout, "web ") {
		t.Errorf("docker stats: %q", r.stdout)
	}
	must("pause", docker("pause", "web"))
	if r := must("inspect", docker("inspect", "-f", "{{.State.Status}}", "web")); r.stdout != "paused\n" {
		t.Errorf("after pause: %q", r.stdout)
	}
	must("unpause", docker("unpause", "web"))
	must("update", docker("update", "--memory", "64m", "--memory-swap", "64m", "web"))
	if r := must("exec after update", docker("exec", "web", "sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes")); r.stdout != "67108864\n" {
		t.Errorf("memory limit after docker update: %q", r.stdout)
	}
	must("stop", docker("stop", "web"))
	if r := must("inspect", docker("inspect", "-f", "{{.State.ExitCode}}", "web")); r.stdout != "3\n" {
		t.Errorf("exit code after stop: %q; want the trap's 3", r.stdout)
	}
	if r := must("logs", docker("logs", "web")); r.stdout != "started\nterm\n" {
		t.Errorf("docker logs: %q", r.stdout)
	}
	must("rm", docker("rm", "web"))
}
