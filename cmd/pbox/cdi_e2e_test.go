package main

// End-to-end tests of CDI devices (issue 27): a fake vendor's spec, made
// by the test, applied to a box as podman applies it.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbox-dev/pbox/internal/testutil"
)

// A vendor's CDI spec gives the box a device node (here backed by the
// harmless /dev/loop-control, 10:237, which no box may open by default), a
// mount and environment; the device rules let the box open that node and
// no other; nothing is left after. Unknown names list the known ones, a
// malformed spec is named with its problem, and a box on the host's files
// is refused a node the host does not have at that path.
func TestE2ECDIDevices(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		testutil.SkipOrFail(t, "no /dev/loop-control (the loop module): %v", err)
	}
	rootfs := busyboxRootfs(t)
	dir := t.TempDir()
	specs, lib := filepath.Join(dir, "cdi"), filepath.Join(dir, "lib")
	os.MkdirAll(specs, 0o755)
	os.MkdirAll(lib, 0o755)
	os.WriteFile(filepath.Join(lib, "libvendor.so"), []byte("the vendor's library\n"), 0o644)
	os.WriteFile(filepath.Join(specs, "vendor.yaml"), []byte(`cdiVersion: "0.6.0"
kind: example.com/fake
devices:
- name: ctl0
  containerEdits:
    deviceNodes:
    - path: /dev/fake-ctl0
      hostPath: /dev/loop-control
    env:
    - FAKE_DEVICE=ctl0
containerEdits:
  env:
  - FAKE_VENDOR=1
  mounts:
  - hostPath: `+lib+`
    containerPath: /opt/vendor
    options: [ro, bind]
  hooks:
  - hookName: createContainer
    path: /bin/sh
    args: [sh, -c, "cat > `+filepath.Join(dir, "hook-state")+`"]
`), 0o644)
	probe := `(exec 3</dev/fake-ctl0) && echo opened-cdi-node; cat /opt/vendor/libvendor.so; echo "$FAKE_VENDOR $FAKE_DEVICE"`
	for _, dev := range []string{"example.com/fake=ctl0", "example.com/fake=all"} {
		name := boxName(t, "cdi")
		r := pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", rootfs, "--cdi-spec-dir", specs, "--device", dev, "--", "sh", "-c", probe)
		if r.code != 0 || !strings.Contains(r.stdout, "opened-cdi-node\nthe vendor's library\n1 ctl0\n") {
			t.Errorf("--device %s: %+v", dev, r)
		}
		if state, _ := os.ReadFile(filepath.Join(dir, "hook-state")); !strings.Contains(string(state), `"id":"`+name+`","status":"creating"`) {
			t.Errorf("the spec's createContainer hook got %q", state)
		}
		os.Remove(filepath.Join(dir, "hook-state"))
		assertNoLeftovers(t, name)
	}
	// inspect lists the node, its number and what the rules allow.
	name := boxName(t, "cdi-d")
	if r := pbox(t, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", rootfs, "--cdi-spec-dir", specs, "--device", "example.com/fake=ctl0", "--", "sleep", "100"); r.code != 0 {
		t.Fatalf("run -d with a CDI device: %+v", r)
	}
	if r := pbox(t, "inspect", name); !strings.Contains(r.stdout, "/dev/fake-ctl0 c 10:237 rwm") || !strings.Contains(r.stdout, "/dev/null c 1:3 rwm") {
		t.Errorf("inspect's devices: %s", r.stdout)
	}
	pbox(t, "rm", "-f", name)
	assertNoLeftovers(t, name)
	// Another box has no rule for it: the same node, made by hand, stays shut.
	r := pbox(t, "run", "--cgroup-parent", e2eParent, "--rootfs", rootfs, "--", "sh", "-c", "mknod /tmp/lc-$$ c 10 237; (exec 3</tmp/lc-$$) 2>/dev/null && echo OPENED || echo denied; rm -f /tmp/lc-$$")
	if r.stdout != "denied\n" {
		t.Errorf("a box without the CDI device opened its node: %+v", r)
	}

	assertCleanError(t, pbox(t, "run", "--cgroup-parent", e2eParent, "--rootfs", rootfs, "--cdi-spec-dir", specs, "--device", "example.com/fake=nope", "--", "true"),
		125, "no such CDI device in "+specs+"; known: example.com/fake=ctl0")
	assertCleanError(t, pbox(t, "run", "--cgroup-parent", e2eParent, "--cdi-spec-dir", specs, "--device", "example.com/fake=ctl0", "--", "true"),
		125, "puts a node at /dev/fake-ctl0, which the host has not")
	os.WriteFile(filepath.Join(specs, "broken.yaml"), []byte("cdiVersion: \"0.6.0\"\nkind: example.com/broken\ndevices: [ {name: a\n"), 0o644)
	assertCleanError(t, pbox(t, "run", "--cgroup-parent", e2eParent, "--rootfs", rootfs, "--cdi-spec-dir", specs, "--device", "example.com/broken=a", "--", "true"),
		125, filepath.Join(specs, "broken.yaml")+": failed to load CDI Spec")
}

// --gpus, where a CDI spec has nvidia.com/gpu devices, is those devices
// (a fake vendor's two "GPUs" here, backed by harmless nodes): all, the
// first N, or by name; a GPU the spec lacks lists the known ones.
func TestE2EGPUsThroughCDI(t *testing.T) {
	testutil.RequireRoot(t)
	rootfs := busyboxRootfs(t)
	specs := t.TempDir()
	os.WriteFile(filepath.Join(specs, "nvidia.yaml"), []byte(`cdiVersion: "0.6.0"
kind: nvidia.com/gpu
devices:
- name: "0"
  containerEdits:
    deviceNodes: [{path: /dev/nvidia0, hostPath: /dev/loop-control}]
- name: "1"
  containerEdits:
    deviceNodes: [{path: /dev/nvidia1, hostPath: /dev/loop-control}]
containerEdits:
  env: [NVIDIA_VISIBLE_DEVICES=void]
`), 0o644)
	for gpus, want := range map[string]string{"all": "/dev/nvidia0 /dev/nvidia1", "1": "/dev/nvidia0", "device=1": "/dev/nvidia1"} {
		r := pbox(t, "run", "--cgroup-parent", e2eParent, "--rootfs", rootfs, "--cdi-spec-dir", specs, "--gpus", gpus, "--", "sh", "-c", "echo /dev/nvidia*")
		if r.code != 0 || strings.TrimSpace(r.stdout) != want {
			t.Errorf("--gpus %s: %+v, want %s", gpus, r, want)
		}
	}
	assertCleanError(t, pbox(t, "run", "--cgroup-parent", e2eParent, "--rootfs", rootfs, "--cdi-spec-dir", specs, "--gpus", "3", "--", "true"),
		125, "nvidia.com/gpu=2: no such CDI device")
	// No spec, and a root filesystem: refused, with how to make a spec.
	assertCleanError(t, pbox(t, "run", "--cgroup-parent", e2eParent, "--rootfs", rootfs, "--cdi-spec-dir", t.TempDir(), "--gpus", "all", "--", "true"),
		125, "nvidia-ctk cdi generate")
}

// An OCI config whose annotations name CDI devices (cdi.k8s.io/..., as
// containerd writes them with its own CDI injection off) gets them.
func TestE2EOCICDIAnnotations(t *testing.T) {
	testutil.RequireRoot(t)
	spec := fmt.Sprintf("/etc/cdi/pbox-e2e-%d.yaml", os.Getpid())
	if _, err := os.Stat("/etc/cdi"); os.IsNotExist(err) {
		os.Mkdir("/etc/cdi", 0o755)
		t.Cleanup(func() { os.Remove("/etc/cdi") })
	}
	if err := os.WriteFile(spec, []byte("cdiVersion: \"0.6.0\"\nkind: example.com/pboxe2e\ndevices:\n- name: ctl\n  containerEdits:\n    deviceNodes: [{path: /dev/pbox-e2e-ctl, hostPath: /dev/loop-control}]\n    env: [FROM_ANNOTATION=yes]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(spec) })
	root := stateRoot(t)
	b := bundle(t, func(cfg map[string]any) {
		setArgs("sleep", "1000")(cfg)
		cfg["annotations"] = map[string]string{"cdi.k8s.io/pbox-e2e": "example.com/pboxe2e=ctl"}
	})
	id := boxName(t, "ocicdi")
	p := func(args ...string) result { return pbox(t, append([]string{"--root", root}, args...)...) }
	if r := p("create", "--bundle", b, id); r.code != 0 {
		t.Fatalf("create with a CDI annotation: %+v", r)
	}
	defer p("delete", "--force", id)
	if r := p("start", id); r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	r := p("exec", id, "--", "sh", "-c", "ls /dev/pbox-e2e-ctl; echo $FROM_ANNOTATION; (exec 3</dev/pbox-e2e-ctl) && echo opened")
	if r.stdout != "/dev/pbox-e2e-ctl\nyes\nopened\n" {
		t.Errorf("the annotated CDI device in the box: %+v", r)
	}
}
