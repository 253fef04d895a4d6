package box

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseGPUs(t *testing.T) {
	for v, want := range map[string]gpuRequest{
		"all": {All: true}, "2": {Count: 2}, "device=0,2": {IDs: []string{"0", "2"}},
		`"device=GPU-abc"`: {IDs: []string{"GPU-abc"}},
	} {
		if got, err := parseGPUs(v); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseGPUs(%q) = %+v, %v; want %+v", v, got, err, want)
		}
	}
	for _, v := range []string{"", "0", "-1", "device=", "some"} {
		if _, err := parseGPUs(v); err == nil {
			t.Errorf("parseGPUs(%q) took it", v)
		}
	}
}

// Without a CDI spec, --gpus reads the driver's list of GPUs, as
// nvidia-container-cli does: by index (the driver's order) or UUID.
func TestGPUNodesFromTheDriver(t *testing.T) {
	dir := t.TempDir()
	for bus, info := range map[string]string{
		"0000:01:00.0": "Model: \t NVIDIA H200\nDevice Minor: \t 0\nGPU UUID: \t GPU-aaaa\n",
		"0000:02:00.0": "Model: \t NVIDIA H200\nDevice Minor: \t 3\nGPU UUID: \t GPU-bbbb\n",
	} {
		os.MkdirAll(filepath.Join(dir, bus), 0o755)
		os.WriteFile(filepath.Join(dir, bus, "information"), []byte(info), 0o644)
	}
	old := nvidiaGPUsDir
	nvidiaGPUsDir = dir
	defer func() { nvidiaGPUsDir = old }()
	control := 0
	for _, n := range nvidiaControlNodes {
		if _, err := os.Stat(n); err == nil {
			control++
		}
	}
	for _, c := range []struct {
		req     gpuRequest
		gpus    []string
		visible string
	}{
		{gpuRequest{All: true}, []string{"/dev/nvidia0", "/dev/nvidia3"}, "all"},
		{gpuRequest{Count: 1}, []string{"/dev/nvidia0"}, "GPU-aaaa"},
		{gpuRequest{IDs: []string{"1"}}, []string{"/dev/nvidia3"}, "GPU-bbbb"},
		{gpuRequest{IDs: []string{"GPU-aaaa"}}, []string{"/dev/nvidia0"}, "GPU-aaaa"},
	} {
		nodes, visible, err := gpuNodes(c.req)
		if err != nil || !reflect.DeepEqual(nodes[control:], c.gpus) || visible != c.visible {
			t.Errorf("gpuNodes(%+v) = %v, %q, %v; want %v, %q", c.req, nodes, visible, err, c.gpus, c.visible)
		}
	}
	if _, _, err := gpuNodes(gpuRequest{IDs: []string{"GPU-zzzz"}}); err == nil || !strings.Contains(err.Error(), "0 (GPU-aaaa), 1 (GPU-bbbb)") {
		t.Errorf("an unknown GPU: %v", err)
	}
	if _, _, err := gpuNodes(gpuRequest{Count: 3}); err == nil {
		t.Error("3 of 2 GPUs: no error")
	}
	nvidiaGPUsDir = filepath.Join(dir, "none")
	if _, _, err := gpuNodes(gpuRequest{All: true}); err == nil || !strings.Contains(err.Error(), "nvidia-ctk cdi generate") {
		t.Errorf("no driver: %v", err)
	}
}
