package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pbox-dev/pbox/internal/crilab"
	"golang.org/x/sys/unix"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// criRows times what the kubelet waits for when it starts a pod — from
// RunPodSandbox to its one container RUNNING (RunPodSandbox,
// CreateContainer, StartContainer, ContainerStatus) — through a private
// containerd's CRI, with the pbox handler and with runc, interleaved.
func criRows(pbox string, rounds int) {
	fmt.Printf("A pod with one container to RUNNING through containerd's CRI (%d rounds, interleaved)\n", rounds)
	for _, tool := range []string{"containerd", "ctr", "runc"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Printf("  (left out: no %s)\n", tool)
			return
		}
	}
	dir, err := os.MkdirTemp("", "pbox-bench-cri")
	check(err)
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	rootfs := filepath.Join(dir, "rootfs")
	if out, err := exec.Command(pbox, "rootfs", "busybox", rootfs).CombinedOutput(); err != nil {
		fmt.Printf("  (left out: pbox rootfs busybox: %v %s)\n", err, out)
		return
	}
	lab, err := crilab.Start(crilab.Config{Dir: dir, Pbox: pbox, Rootfs: rootfs})
	if err != nil {
		fmt.Printf("  (left out: %v)\n", err)
		return
	}
	defer lab.Stop()
	parent := fmt.Sprintf("/pbox-bench-cri-%d", os.Getpid())
	defer func() {
		for _, d := range cgroupDirsNamed(strings.TrimPrefix(parent, "/")) {
			unix.Rmdir(d)
		}
	}()
	handlers := []string{"pbox", "runc"}
	times := map[string][]time.Duration{}
	for i := 0; i < rounds; i++ {
		for _, h := range handlers {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			sb := lab.SandboxConfig(fmt.Sprintf("bench-%s-%d", h, i), parent)
			start := time.Now()
			pod, err := lab.RunPod(ctx, sb, h)
			if err == nil {
				var id string
				if id, err = lab.StartContainer(ctx, pod, sb, "app", nil, "sleep", "60"); err == nil {
					err = waitRunning(ctx, lab, id)
				}
			}
			elapsed := time.Since(start)
			if pod != "" {
				lab.RemovePod(ctx, pod)
			}
			cancel()
			if err != nil {
				fmt.Printf("  %s: %v\n", h, err)
				return
			}
			times[h] = append(times[h], elapsed)
		}
	}
	base := median(times["runc"])
	fmt.Printf("  %-55s %12s %10s\n", "handler", "median", "vs runc")
	for _, h := range handlers {
		m := median(times[h])
		fmt.Printf("  %-55s %9.2f ms %9.2fx\n", h, ms(m), float64(m)/float64(base))
	}
}

func waitRunning(ctx context.Context, lab *crilab.Lab, id string) error {
	for {
		r, err := lab.Runtime.ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: id})
		if err != nil {
			return err
		}
		if r.Status.State == cri.ContainerState_CONTAINER_RUNNING {
			return nil
		}
		if r.Status.State == cri.ContainerState_CONTAINER_EXITED {
			return fmt.Errorf("container exited: %s", r.Status.Reason)
		}
		time.Sleep(time.Millisecond)
	}
}

// cgroupDirsNamed lists name's directories in every cgroup hierarchy.
func cgroupDirsNamed(name string) []string {
	var out []string
	for _, base := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if _, err := os.Stat(filepath.Join(base, name)); err == nil {
			out = append(out, filepath.Join(base, name))
		}
	}
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range entries {
		p := filepath.Join("/sys/fs/cgroup", e.Name(), name)
		if _, err := os.Stat(p); err == nil && e.Name() != "unified" {
			out = append(out, p)
		}
	}
	return out
}
