package box

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"tags.cncf.io/container-device-interface/pkg/cdi"
)

// docker run --gpus: NVIDIA GPUs, the way Docker 25+ and the NVIDIA
// container toolkit pass them. Where a CDI spec names devices of kind
// nvidia.com/gpu, --gpus is those CDI devices (all, the first N, or by
// index or UUID, as nvidia-ctk names them). Many GPU machines have no spec
// (no toolkit, a driver in a read-only /usr/local/nvidia): there a box on
// the host's files gets what nvidia-container-cli would list — the control
// nodes and the chosen /dev/nvidiaN, found through the driver's
// /proc/driver/nvidia/gpus — and NVIDIA_VISIBLE_DEVICES; a --rootfs box
// would also need the driver's user-space libraries, which only a spec
// describes, so it is refused rather than started half-working.

// GPUKind is the CDI kind of NVIDIA's GPUs.
const GPUKind = "nvidia.com/gpu"

// nvidiaGPUsDir is where the driver lists its GPUs (a variable for tests).
var nvidiaGPUsDir = "/proc/driver/nvidia/gpus"

// nvidiaControlNodes are the nodes every GPU process needs, when present.
var nvidiaControlNodes = []string{"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset"}

// gpuRequest is --gpus read: all, the first Count, or IDs (indices or UUIDs).
type gpuRequest struct {
	All   bool
	Count int
	IDs   []string
}

// parseGPUs reads --gpus as docker does: all, a number, device=ID[,ID]
// (also quoted, "device=0,1").
func parseGPUs(v string) (gpuRequest, error) {
	v = strings.Trim(v, `"'`)
	switch {
	case v == "all":
		return gpuRequest{All: true}, nil
	case strings.HasPrefix(v, "device="):
		var ids []string
		for _, id := range strings.Split(strings.TrimPrefix(v, "device="), ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			return gpuRequest{IDs: ids}, nil
		}
	default:
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return gpuRequest{Count: n}, nil
		}
	}
	return gpuRequest{}, fmt.Errorf("--gpus %q: give all, a number of GPUs, or device=ID[,ID] (an index or a GPU UUID)", v)
}

// gpuCDINames are --gpus as CDI names, when the CDI specs have GPUs: ok
// false when they have none.
func gpuCDINames(req gpuRequest, cache *cdi.Cache) ([]string, bool) {
	if cache == nil || !slices.ContainsFunc(cache.ListDevices(), func(d string) bool { return strings.HasPrefix(d, GPUKind+"=") }) {
		return nil, false
	}
	var names []string
	switch {
	case req.All:
		names = []string{GPUKind + "=all"}
	case req.Count > 0:
		for i := 0; i < req.Count; i++ {
			names = append(names, GPUKind+"="+strconv.Itoa(i)) // an unknown one is named by injectCDI
		}
	default:
		for _, id := range req.IDs {
			names = append(names, GPUKind+"="+id)
		}
	}
	return names, true
}

// nvidiaGPU is one GPU as the driver lists it.
type nvidiaGPU struct {
	Minor int    // /dev/nvidiaMINOR
	UUID  string // GPU-...
}

// nvidiaGPUs reads the driver's GPUs, by minor number.
func nvidiaGPUs() ([]nvidiaGPU, error) {
	entries, err := os.ReadDir(nvidiaGPUsDir)
	if err != nil {
		return nil, err
	}
	var gpus []nvidiaGPU
	for _, e := range entries {
		f, err := os.Open(filepath.Join(nvidiaGPUsDir, e.Name(), "information"))
		if err != nil {
			continue
		}
		g := nvidiaGPU{Minor: -1}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			switch strings.TrimSpace(k) {
			case "Device Minor":
				g.Minor, _ = strconv.Atoi(strings.TrimSpace(v))
			case "GPU UUID":
				g.UUID = strings.TrimSpace(v)
			}
		}
		f.Close()
		if g.Minor >= 0 {
			gpus = append(gpus, g)
		}
	}
	sort.Slice(gpus, func(i, j int) bool { return gpus[i].Minor < gpus[j].Minor })
	return gpus, nil
}

// gpuNodes are --gpus without a CDI spec: the host's nodes for the chosen
// GPUs and the control nodes, and NVIDIA_VISIBLE_DEVICES's value.
func gpuNodes(req gpuRequest) (nodes []string, visible string, err error) {
	gpus, err := nvidiaGPUs()
	if err != nil || len(gpus) == 0 {
		return nil, "", fmt.Errorf("--gpus: this host has no NVIDIA GPU the driver lists (%s), and no CDI spec of %s: install the driver, or give a CDI spec (nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml)", nvidiaGPUsDir, GPUKind)
	}
	var chosen []nvidiaGPU
	switch {
	case req.All:
		chosen = gpus
	case req.Count > 0:
		if req.Count > len(gpus) {
			return nil, "", fmt.Errorf("--gpus %d: this host has %d", req.Count, len(gpus))
		}
		chosen = gpus[:req.Count]
	default:
		for _, id := range req.IDs {
			found := false
			for i, g := range gpus {
				if id == strconv.Itoa(i) || id == g.UUID {
					chosen, found = append(chosen, g), true
				}
			}
			if !found {
				var known []string
				for i, g := range gpus {
					known = append(known, fmt.Sprintf("%d (%s)", i, g.UUID))
				}
				return nil, "", fmt.Errorf("--gpus device=%s: no such GPU; this host has %s", id, strings.Join(known, ", "))
			}
		}
	}
	for _, n := range nvidiaControlNodes {
		if _, err := os.Stat(n); err == nil {
			nodes = append(nodes, n)
		}
	}
	var ids []string
	for _, g := range chosen {
		nodes = append(nodes, "/dev/nvidia"+strconv.Itoa(g.Minor))
		ids = append(ids, g.UUID)
	}
	visible = strings.Join(ids, ",")
	if req.All {
		visible = "all"
	}
	return nodes, visible, nil
}
