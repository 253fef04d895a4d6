package crilab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The images a lab imports: busybox, and a pause image whose entrypoint
// is busybox's sleep (the pod's sandbox container).
const (
	BusyboxImage = "pbox.test/busybox:latest"
	PauseImage   = "pbox.test/pause:latest"
)

// Config says where a lab lives and what it runs.
type Config struct {
	Dir    string // the lab's own directory (containerd's root, state, socket)
	Pbox   string // the pbox binary the "pbox" handlers run
	Rootfs string // a busybox root filesystem for the images
}

// Lab is a running private containerd with the CRI plugin. Its handlers:
// "runc" (containerd's default), "pbox" (the runc shim with BinaryName =
// pbox, state under PboxRoot) and "pbox-systemd" (the same, asking for
// systemd cgroups, which pbox refuses).
type Lab struct {
	Dir, Sock, PboxRoot string
	Pid                 int // containerd's
	Runtime             cri.RuntimeServiceClient
	conn                *grpc.ClientConn
	cmd                 *exec.Cmd
	log                 *os.File
}

// ContainerdConfig is the start of a private containerd's config.toml:
// its root and state under dir, its API on the unix socket sock (no TCP,
// no debug or metrics listener), and topLevel lines of its own (which
// TOML wants before the first table).
func ContainerdConfig(dir, sock, topLevel string) string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
%s[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  address = ""
[metrics]
  address = ""
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), topLevel, sock, sock+".ttrpc")
}

// Start builds the images, starts containerd and imports them. On error
// whatever was started is stopped again.
func Start(c Config) (*Lab, error) {
	l := &Lab{Dir: c.Dir, Sock: filepath.Join(c.Dir, "containerd.sock"), PboxRoot: filepath.Join(c.Dir, "pbox-root")}
	if err := ImageTar(c.Rootfs, filepath.Join(c.Dir, "busybox.tar"), BusyboxImage, nil, []string{"sh"}); err != nil {
		return nil, err
	}
	if err := ImageTar(c.Rootfs, filepath.Join(c.Dir, "pause.tar"), PauseImage, []string{"sleep", "infinity"}, nil); err != nil {
		return nil, err
	}
	handler := func(name string, systemd bool) string {
		s := fmt.Sprintf(`    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%s]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%s.options]
        BinaryName = %q
        Root = %q
`, name, name, c.Pbox, l.PboxRoot)
		if systemd {
			s += "        SystemdCgroup = true\n"
		}
		return s
	}
	cfg := ContainerdConfig(c.Dir, l.Sock, "") + fmt.Sprintf(`[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
%s%s`, PauseImage,
		filepath.Join(c.Dir, "cni"), handler("pbox", false), handler("pbox-systemd", true))
	cfgPath := filepath.Join(c.Dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	var err error
	if l.log, err = os.Create(filepath.Join(c.Dir, "containerd.log")); err != nil {
		return nil, err
	}
	l.cmd = exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mkdir -p /run/containerd && mount -t tmpfs -o mode=0711 tmpfs /run/containerd && exec containerd --config "$1"`, "sh", cfgPath)
	l.cmd.Stdout, l.cmd.Stderr = l.log, l.log
	if err := l.cmd.Start(); err != nil {
		l.log.Close()
		return nil, err
	}
	l.Pid = l.cmd.Process.Pid
	fail := func(err error) (*Lab, error) {
		l.Stop()
		return nil, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(l.Sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("containerd did not create its socket:\n%s", l.LogTail(20)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, img := range []string{"busybox.tar", "pause.tar"} {
		out, err := exec.Command("ctr", "-a", l.Sock, "-n", "k8s.io", "images", "import", "--no-unpack", filepath.Join(c.Dir, img)).CombinedOutput()
		if err != nil {
			return fail(fmt.Errorf("ctr images import %s: %v\n%s", img, err, out))
		}
	}
	if l.conn, err = grpc.NewClient("unix://"+l.Sock, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		return fail(err)
	}
	l.Runtime = cri.NewRuntimeServiceClient(l.conn)
	// The CRI plugin learns of imported images from containerd's events,
	// a moment after ctr returns: a pod started at once may find no pause
	// image and try to pull it (seen once in CI). Wait until CRI sees both.
	images := cri.NewImageServiceClient(l.conn)
	for _, img := range []string{BusyboxImage, PauseImage} {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			st, err := images.ImageStatus(ctx, &cri.ImageStatusRequest{Image: &cri.ImageSpec{Image: img}})
			cancel()
			if err == nil && st.Image != nil {
				break
			}
			if time.Now().After(deadline) {
				return fail(fmt.Errorf("CRI does not list the imported image %s (%v):\n%s", img, err, l.LogTail(20)))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return l, nil
}

// Stop ends containerd (SIGTERM, SIGKILL after 15 s), its shims, and the
// mounts it left under the lab's directory.
func (l *Lab) Stop() {
	if l.conn != nil {
		l.conn.Close()
	}
	if l.Pid > 1 {
		syscall.Kill(l.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { l.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			syscall.Kill(l.Pid, syscall.SIGKILL)
			<-done
		}
	}
	l.log.Close()
	KillShims(l.Sock)
	UnmountUnder(l.Dir)
}

// LogTail is the end of containerd's log.
func (l *Lab) LogTail(n int) string {
	data, _ := os.ReadFile(l.log.Name())
	lines := strings.Split(string(data), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// SandboxConfig is a pod on the host's network (no hostname: the kubelet
// sets none for a host-network pod, whose UTS namespace is the host's)
// that shares one PID namespace among its containers, under cgroup parent.
func (l *Lab) SandboxConfig(name, parent string) *cri.PodSandboxConfig {
	return &cri.PodSandboxConfig{
		Metadata:     &cri.PodSandboxMetadata{Name: name, Uid: name + "-uid", Namespace: "default"},
		LogDirectory: filepath.Join(l.Dir, "logs", name),
		Linux: &cri.LinuxPodSandboxConfig{
			CgroupParent: parent,
			SecurityContext: &cri.LinuxSandboxSecurityContext{
				NamespaceOptions: &cri.NamespaceOption{Network: cri.NamespaceMode_NODE, Pid: cri.NamespaceMode_POD},
			},
		},
	}
}

// RunPod runs a pod sandbox with the given handler.
func (l *Lab) RunPod(ctx context.Context, cfg *cri.PodSandboxConfig, handler string) (string, error) {
	os.MkdirAll(cfg.LogDirectory, 0o755)
	r, err := l.Runtime.RunPodSandbox(ctx, &cri.RunPodSandboxRequest{Config: cfg, RuntimeHandler: handler})
	if err != nil {
		return "", err
	}
	return r.PodSandboxId, nil
}

// StartContainer creates and starts a busybox container in a pod.
func (l *Lab) StartContainer(ctx context.Context, pod string, sb *cri.PodSandboxConfig, name string, res *cri.LinuxContainerResources, args ...string) (string, error) {
	cfg := &cri.ContainerConfig{
		Metadata: &cri.ContainerMetadata{Name: name},
		Image:    &cri.ImageSpec{Image: BusyboxImage},
		Command:  args,
		LogPath:  name + ".log",
		Linux:    &cri.LinuxContainerConfig{Resources: res},
	}
	r, err := l.Runtime.CreateContainer(ctx, &cri.CreateContainerRequest{PodSandboxId: pod, Config: cfg, SandboxConfig: sb})
	if err != nil {
		return "", fmt.Errorf("CreateContainer %s: %w", name, err)
	}
	if _, err := l.Runtime.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: r.ContainerId}); err != nil {
		return r.ContainerId, fmt.Errorf("StartContainer %s: %w", name, err)
	}
	return r.ContainerId, nil
}

// RemovePod stops and removes a pod and everything in it.
func (l *Lab) RemovePod(ctx context.Context, pod string) error {
	if _, err := l.Runtime.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: pod}); err != nil {
		return err
	}
	_, err := l.Runtime.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: pod})
	return err
}

// KillShims ends the containerd-shim-runc-v2 processes of this containerd
// (found by its socket path on their command line), by pid.
func KillShims(sock string) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 1 {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if bytes.Contains(cmdline, []byte("containerd-shim")) && bytes.Contains(cmdline, []byte(sock)) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// UnmountUnder lazily unmounts whatever containerd left mounted in dir.
func UnmountUnder(dir string) {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var targets []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			targets = append(targets, f[4])
		}
	}
	for i := len(targets) - 1; i >= 0; i-- {
		unix.Unmount(targets[i], unix.MNT_DETACH)
	}
}
