package main

// Kubernetes' path to pbox: a private containerd with its CRI plugin and a
// runtime handler "pbox" (the runc shim with BinaryName = pbox), driven
// through the CRI gRPC API as the kubelet drives it. The images are built
// here (busybox, and a pause image whose entrypoint is busybox sleep): no
// registry. containerd 1.6 keeps its shims' sockets under
// /run/containerd/s whatever its config says, so it runs in a mount
// namespace of its own with a tmpfs there; the host's /run/containerd and
// /etc/containerd are never touched.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/internal/crilab"
	"github.com/pbox-dev/pbox/internal/testutil"
	"golang.org/x/sys/unix"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const (
	criBusybox = crilab.BusyboxImage
	criPause   = crilab.PauseImage
)

// criLab is a private containerd with the CRI plugin (crilab.Lab), a
// client, and the pods' cgroup parent.
type criLab struct {
	*crilab.Lab
	t       *testing.T
	dir     string
	root    string // pbox's --root, as the shim passes it (without the namespace)
	pid     int    // containerd's
	rt      cri.RuntimeServiceClient
	parent  string // the pods' cgroup parent
	handler string
}

func newCRILab(t *testing.T) *criLab {
	t.Helper()
	testutil.RequireRoot(t)
	for _, tool := range []string{"containerd", "ctr", "containerd-shim-runc-v2", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.SkipOrFail(t, "%s not found (apt-get install containerd)", tool)
		}
	}
	dir, err := os.MkdirTemp("", "pbox-cri")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	lab, err := crilab.Start(crilab.Config{Dir: dir, Pbox: pboxBin(t), Rootfs: busyboxRootfs(t)})
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	l := &criLab{Lab: lab, t: t, dir: dir, root: lab.PboxRoot, pid: lab.Pid, rt: lab.Runtime,
		parent: fmt.Sprintf("/pbox-cri-%d", os.Getpid()), handler: criHandler}
	t.Cleanup(func() {
		tailLog := lab.LogTail(40)
		lab.Stop()
		for _, d := range testutil.CgroupDirs("", strings.TrimPrefix(l.parent, "/")) {
			unix.Rmdir(d)
		}
		if t.Failed() {
			t.Logf("containerd log (tail):\n%s", tailLog)
		}
		os.RemoveAll(dir)
	})
	return l
}

func (l *criLab) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

func (l *criLab) sandboxConfig(name string) *cri.PodSandboxConfig {
	return l.SandboxConfig(name, l.parent)
}

func (l *criLab) runPod(name string) (string, *cri.PodSandboxConfig) {
	l.t.Helper()
	cfg := l.sandboxConfig(name)
	ctx, cancel := l.ctx()
	defer cancel()
	id, err := l.RunPod(ctx, cfg, l.handler)
	if err != nil {
		l.t.Fatalf("RunPodSandbox: %v", err)
	}
	return id, cfg
}

func (l *criLab) container(pod string, sb *cri.PodSandboxConfig, name string, res *cri.LinuxContainerResources, args ...string) string {
	l.t.Helper()
	ctx, cancel := l.ctx()
	defer cancel()
	id, err := l.StartContainer(ctx, pod, sb, name, res, args...)
	if err != nil {
		l.t.Fatal(err)
	}
	return id
}

func (l *criLab) status(id string) *cri.ContainerStatus {
	l.t.Helper()
	ctx, cancel := l.ctx()
	defer cancel()
	r, err := l.rt.ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		l.t.Fatalf("ContainerStatus: %v", err)
	}
	return r.Status
}

func (l *criLab) waitExited(id string) *cri.ContainerStatus {
	l.t.Helper()
	var st *cri.ContainerStatus
	if !testutil.WaitFor(30*time.Second, func() bool {
		st = l.status(id)
		return st.State == cri.ContainerState_CONTAINER_EXITED
	}) {
		l.t.Fatalf("container %s did not exit: %+v", id, st)
	}
	return st
}

// The pod lifecycle the kubelet runs, with pbox as the runtime handler.
func TestE2ECRIPodLifecycle(t *testing.T) {
	l := newCRILab(t)
	pod, sb := l.runPod("web")
	ctx, cancel := l.ctx()
	defer cancel()
	ps, err := l.rt.PodSandboxStatus(ctx, &cri.PodSandboxStatusRequest{PodSandboxId: pod})
	if err != nil || ps.Status.State != cri.PodSandboxState_SANDBOX_READY {
		t.Fatalf("PodSandboxStatus: %v %+v", err, ps)
	}

	// A long-running container: RUNNING, its log, ExecSync, an update,
	// and a stop whose SIGTERM reaches it through pbox-init.
	app := l.container(pod, sb, "app", nil, "sh", "-c", `trap 'echo got TERM; exit 0' TERM; echo hello from app; while :; do sleep 0.1; done`)
	if st := l.status(app); st.State != cri.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("app: %+v", st)
	}
	ex, err := l.rt.ExecSync(ctx, &cri.ExecSyncRequest{ContainerId: app, Cmd: []string{"sh", "-c", "echo exec-ok; echo to-stderr >&2; exit 4"}, Timeout: 20})
	if err != nil || string(ex.Stdout) != "exec-ok\n" || string(ex.Stderr) != "to-stderr\n" || ex.ExitCode != 4 {
		t.Errorf("ExecSync: %v %+v", err, ex)
	}
	// Pid namespace sharing: the app sees the sandbox's processes.
	ex, err = l.rt.ExecSync(ctx, &cri.ExecSyncRequest{ContainerId: app, Cmd: []string{"sh", "-c", "ps -o comm | sort | tr '\\n' ' '"}, Timeout: 20})
	if err != nil || !strings.Contains(string(ex.Stdout), "sleep") {
		t.Errorf("ps in a pod that shares its PID namespace: %v %q; want the pause container's sleep", err, ex.GetStdout())
	}
	// inspect, by the host pid of the app's process, names its pod.
	var state struct{ Pid int }
	json.Unmarshal([]byte(pbox(t, "--root", filepath.Join(l.root, "k8s.io"), "state", app).stdout), &state)
	var rep struct {
		Box struct {
			ID         string
			Kubernetes struct {
				Type, Pod, Container string
				PodNamespace         string `json:"pod_namespace"`
				SandboxID            string `json:"sandbox_id"`
			}
		}
	}
	r := pbox(t, "inspect", "--json", strconv.Itoa(state.Pid))
	json.Unmarshal([]byte(r.stdout), &rep)
	if k := rep.Box.Kubernetes; rep.Box.ID != app || k.Type != "container" || k.Pod != "web" || k.PodNamespace != "default" || k.Container != "app" || k.SandboxID != pod {
		t.Errorf("inspect %d: %+v (%s); want container app of pod default/web, sandbox %s", state.Pid, rep.Box, r.stderr, pod)
	}
	if r := pbox(t, "inspect", strconv.Itoa(state.Pid)); !strings.Contains(r.stdout, "Kubernetes: pod default/web, container app; sandbox "+pod[:13]) {
		t.Errorf("inspect's text does not name the pod:\n%s", r.stdout)
	}
	if _, err := l.rt.UpdateContainerResources(ctx, &cri.UpdateContainerResourcesRequest{ContainerId: app,
		Linux: &cri.LinuxContainerResources{MemoryLimitInBytes: 96 << 20, CpuPeriod: 100000, CpuQuota: 50000}}); err != nil {
		t.Errorf("UpdateContainerResources: %v", err)
	}
	if r := pbox(t, "--root", filepath.Join(l.root, "k8s.io"), "ps", "--json"); !strings.Contains(r.stdout, `"MemoryBytes": 100663296`) {
		t.Errorf("after UpdateContainerResources, pbox ps shows: %s %s", r.stdout, r.stderr)
	}
	if _, err := l.rt.StopContainer(ctx, &cri.StopContainerRequest{ContainerId: app, Timeout: 10}); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	if st := l.waitExited(app); st.ExitCode != 0 {
		t.Errorf("app after StopContainer: exit %d reason %q; want 0 (its TERM trap)", st.ExitCode, st.Reason)
	}
	logData, _ := os.ReadFile(filepath.Join(sb.LogDirectory, "app.log"))
	if !strings.Contains(string(logData), " stdout F hello from app\n") || !strings.Contains(string(logData), " stdout F got TERM\n") {
		t.Errorf("app's CRI log:\n%s", logData)
	}

	// In a pod that shares its PID namespace the pause container's init is
	// PID 1; a container's own pbox-init is a child subreaper, so the
	// container's orphans are its to reap, not PID 1's, and none is left
	// a zombie.
	orphans := l.container(pod, sb, "orphans", nil, "sh", "-c", `
		sh -c 'sleep 0.6 &'
		sleep 0.2
		echo "my init is pid $PPID, not 1: $([ "$PPID" != 1 ] && echo yes)"
		echo "adopted by my init: $(ps -o ppid,comm | awk -v p=$PPID '$1==p && $2=="sleep"' | wc -l)"
		sleep 1
		echo "zombies under my init: $(ps -o stat,ppid | awk -v p=$PPID '$2==p && $1 ~ /^Z/' | wc -l)"`)
	if st := l.waitExited(orphans); st.ExitCode != 0 {
		t.Errorf("orphans: %+v", st)
	}
	logData, _ = os.ReadFile(filepath.Join(sb.LogDirectory, "orphans.log"))
	for _, want := range []string{"not 1: yes", "adopted by my init: 1", "zombies under my init: 0"} {
		if !strings.Contains(string(logData), want) {
			t.Errorf("a shared-PID pod's orphans: want %q in:\n%s", want, logData)
		}
	}

	// Exit codes and an OOM kill, as the kubelet reads them.
	three := l.container(pod, sb, "three", nil, "sh", "-c", "exit 3")
	if st := l.waitExited(three); st.ExitCode != 3 {
		t.Errorf("exit 3: %+v", st)
	}
	oom := l.container(pod, sb, "oom", &cri.LinuxContainerResources{MemoryLimitInBytes: 32 << 20}, "sh", "-c", "head -c 314572800 /dev/zero | tail")
	if st := l.waitExited(oom); st.Reason != "OOMKilled" || st.ExitCode != 137 {
		t.Errorf("OOM: exit %d reason %q; want 137 OOMKilled", st.ExitCode, st.Reason)
	}

	for _, c := range []string{app, orphans, three, oom} {
		if _, err := l.rt.RemoveContainer(ctx, &cri.RemoveContainerRequest{ContainerId: c}); err != nil {
			t.Errorf("RemoveContainer: %v", err)
		}
	}
	if _, err := l.rt.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatalf("StopPodSandbox: %v", err)
	}
	if _, err := l.rt.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatalf("RemovePodSandbox: %v", err)
	}
	l.assertNothingLeft()
}

// assertNothingLeft: no box in pbox's root, no process or cgroup under the
// pods' parent, no mount of the pods in containerd's mount namespace.
func (l *criLab) assertNothingLeft() {
	l.t.Helper()
	if r := pbox(l.t, "--root", filepath.Join(l.root, "k8s.io"), "ps", "-aq"); strings.TrimSpace(r.stdout) != "" {
		l.t.Errorf("boxes left in pbox's root: %q", r.stdout)
	}
	if dirs := testutil.CgroupDirs("", strings.TrimPrefix(l.parent, "/")); len(dirs) > 0 {
		for _, d := range dirs {
			if entries, _ := os.ReadDir(d); hasSubdir(entries) {
				l.t.Errorf("cgroups left under %s: %v", d, entries)
			}
		}
	}
	mi, _ := os.ReadFile("/proc/" + strconv.Itoa(l.pid) + "/mountinfo")
	for _, line := range strings.Split(string(mi), "\n") {
		if strings.Contains(line, "/io.containerd.runtime.v2.task/k8s.io/") {
			l.t.Errorf("a container's mount is left in containerd's mount namespace: %s", line)
		}
	}
}

func hasSubdir(entries []os.DirEntry) bool {
	for _, e := range entries {
		if e.IsDir() {
			return true
		}
	}
	return false
}

var criHandler = func() string {
	if h := os.Getenv("CRI_HANDLER"); h != "" {
		return h
	}
	return "pbox"
}()

// What pbox cannot honour fails the call that needs it, with pbox's
// message naming the field as containerd relays it, and leaves nothing.
func TestE2ECRIBadInput(t *testing.T) {
	l := newCRILab(t)
	ctx, cancel := l.ctx()
	defer cancel()

	// A handler that asks for systemd's cgroups.
	cfg := l.sandboxConfig("systemd")
	cfg.Linux.CgroupParent = "pbox.slice"
	_, err := l.rt.RunPodSandbox(ctx, &cri.RunPodSandboxRequest{Config: cfg, RuntimeHandler: "pbox-systemd"})
	// (This host has no systemd to ask: vagrant/vm-steps.sh makes scopes.)
	if err == nil || !strings.Contains(err.Error(), "leave out --systemd-cgroup") {
		t.Errorf("a systemd-cgroup handler on a host without systemd: %v; want pbox's reason", err)
	}

	pod, sb := l.runPod("bad")
	create := func(name string, sc *cri.LinuxContainerSecurityContext) error {
		r, err := l.rt.CreateContainer(ctx, &cri.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: sb, Config: &cri.ContainerConfig{
			Metadata: &cri.ContainerMetadata{Name: name}, Image: &cri.ImageSpec{Image: criBusybox},
			Command: []string{"true"}, LogPath: name + ".log", Linux: &cri.LinuxContainerConfig{SecurityContext: sc},
		}})
		if err != nil {
			return err
		}
		_, err = l.rt.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: r.ContainerId})
		l.rt.RemoveContainer(ctx, &cri.RemoveContainerRequest{ContainerId: r.ContainerId})
		return err
	}
	// A seccomp profile with an action pbox does not support.
	profile := filepath.Join(l.dir, "notify.json")
	os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}`), 0o644)
	err = create("seccomp", &cri.LinuxContainerSecurityContext{Seccomp: &cri.SecurityProfile{ProfileType: cri.SecurityProfile_Localhost, LocalhostRef: profile}})
	if err == nil || !strings.Contains(err.Error(), "seccomp") || !strings.Contains(strings.ToLower(err.Error()), "notify") {
		t.Errorf("a seccomp profile with SCMP_ACT_NOTIFY: %v; want pbox's refusal naming linux.seccomp and the action", err)
	}
	// An AppArmor profile: containerd refuses it on a host without
	// AppArmor, pbox on one with it (it applies none).
	err = create("apparmor", &cri.LinuxContainerSecurityContext{Apparmor: &cri.SecurityProfile{ProfileType: cri.SecurityProfile_Localhost, LocalhostRef: "pbox-test-profile"}})
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "apparmor") {
		t.Errorf("an AppArmor profile: %v; want a refusal naming AppArmor", err)
	}

	if _, err := l.rt.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatalf("StopPodSandbox: %v", err)
	}
	if _, err := l.rt.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatalf("RemovePodSandbox: %v", err)
	}
	l.assertNothingLeft()
}
