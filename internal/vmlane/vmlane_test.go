package vmlane

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbox-dev/pbox/internal/testutil"
)

// vmRun finds the vm-run tool: $VM_RUN, or ../shared/vm/vm-run beside the
// repository, as in the development and CI layout.
func vmRun(t *testing.T) string {
	if p := os.Getenv("VM_RUN"); p != "" {
		return p
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	return filepath.Join(root, "..", "shared", "vm", "vm-run")
}

// The lane runs the privileged box tests and the end-to-end tests of the
// pbox binary on a pure cgroup v2 kernel. Output streams through, so a
// failure inside the VM is readable here.
func TestCgroupV2Lane(t *testing.T) {
	testutil.RequireRoot(t)
	tool := vmRun(t)
	if _, err := os.Stat(tool); err != nil {
		testutil.SkipOrFail(t, "no vm-run at %s (set VM_RUN): %v", tool, err)
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		testutil.SkipOrFail(t, "qemu-system-x86_64 not installed (apt-get install qemu-system-x86 busybox-static)")
	}
	dir := t.TempDir()
	build := func(args ...string) {
		cmd := exec.Command("go", args...)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // the VM has no libc
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}
	build("build", "-o", filepath.Join(dir, "pbox"), "./cmd/pbox")
	build("build", "-o", filepath.Join(dir, "attack"), "./internal/attack") // the containment tests' prober
	for _, pkg := range []string{"box", "inspect", "cmd/pbox"} {
		build("test", "-c", "-o", filepath.Join(dir, strings.ReplaceAll(pkg, "/", "-")+".test"), "./"+pkg)
	}
	// Test binaries run with the VM's copy of dir as their working
	// directory: give inspect.test its captures there.
	if out, err := exec.Command("cp", "-r", "../../inspect/testdata", filepath.Join(dir, "testdata")).CombinedOutput(); err != nil {
		t.Fatalf("copy testdata: %v\n%s", err, out)
	}
	// and box.test (and cmd-pbox.test) the OCI fixtures, beside them.
	if out, err := exec.Command("cp", "-r", "../../box/testdata/.", filepath.Join(dir, "testdata")).CombinedOutput(); err != nil {
		t.Fatalf("copy OCI testdata: %v\n%s", err, out)
	}
	// Each binary runs even if one before it failed; the lane fails if any did.
	script := `set -u
rc=0
echo "lane: $(uname -r), cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
./box.test -test.v -test.skip "TestTinyInitMatchesItsSource|TestTinyInitSharesGosFacts" || rc=1  # the VM has no C compiler, nor the C source; the host rebuilds the tiny init and checks it
./inspect.test -test.v -test.skip TestLiveAgreesWithLsns || rc=1  # no lsns in busybox
PBOX_BIN=./pbox ATTACK_BIN=./attack OCI_TESTDATA=./testdata ./cmd-pbox.test -test.v -test.skip "TestManPages|TestE2EContainerd|TestE2EPodman|TestE2EDocker|TestE2EExecInteractiveTerminal|TestE2ENetwork|TestE2ECRI|TestE2ERootless" || rc=1  # docs are checked on the host; the VM has no containerd (nor its CRI), no podman, no docker, no script(1), neither the CNI plugins (Debian's link against libc, which the busybox VM lacks) nor iptables, and no useradd or newuidmap (rootless boxes are tested on the host)
for d in /sys/fs/cgroup/pbox-test /sys/fs/cgroup/pbox-e2e; do
  if [ -d "$d" ] && [ -n "$(find "$d" -mindepth 1 -type d)" ]; then echo "leftover cgroups under $d:"; find "$d" -mindepth 1 -type d; rc=1; fi
done
exit $rc`
	cmd := exec.Command(tool, "-e", "CI="+os.Getenv("CI"), dir, script)
	// The loop driver gives the VM block devices, for the block I/O tests.
	cmd.Env = append(os.Environ(), "VM_MODULES=loop "+os.Getenv("VM_MODULES"))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cgroup v2 lane failed: %v", err)
	}
}
