package seccomp

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pbox-dev/pbox/internal/testutil"
)

// pbox builds boxes on amd64 and arm64 (box/tinyinit): this package's
// tests pass on the other one too, run under user-mode emulation. Docker's
// default profile names ARM's own syscalls (breakpoint, cacheflush,
// set_tls) for arm and arm64, which x/sys's tables leave out: an arm64
// pbox refused every default box before they were added.
func TestOnTheOtherArchitecture(t *testing.T) {
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	emulator := map[string]string{"arm64": "qemu-aarch64-static", "amd64": "qemu-x86_64-static"}[other]
	if other == "" || os.Getenv("PBOX_CROSS_TEST") != "" {
		t.Skip("runs once, from an amd64 or arm64 host")
	}
	if testing.Short() {
		t.Skip("-short: builds this package for another architecture")
	}
	if _, err := exec.LookPath(emulator); err != nil {
		testutil.SkipOrFail(t, "%s not found (apt-get install qemu-user-static): cannot run the %s tests", emulator, other)
	}
	bin := filepath.Join(t.TempDir(), "seccomp-"+other+".test")
	build := exec.Command("go", "test", "-c", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOARCH="+other, "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build for %s: %v\n%s", other, err, out)
	}
	run := exec.Command(emulator, bin)
	run.Env = append(os.Environ(), "PBOX_CROSS_TEST=1")
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("the seccomp tests on %s (%s): %v\n%s", other, emulator, err, out)
	}
}
