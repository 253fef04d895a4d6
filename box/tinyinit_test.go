package box

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pbox-dev/pbox/internal/testutil"
)

// The tiny init pbox carries is what its source builds, byte for byte
// (go generate ./box rebuilds it; build.sh says with what).
func TestTinyInitMatchesItsSource(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("pbox carries a tiny init for amd64 only")
	}
	if _, err := exec.LookPath("musl-gcc"); err != nil {
		testutil.SkipOrFail(t, "musl-gcc not found (apt-get install musl-tools): cannot rebuild the tiny init to compare")
	}
	out := filepath.Join(t.TempDir(), "pbox-init-amd64")
	cmd := exec.Command("sh", "tinyinit/build.sh", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	built, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, tinyInit) {
		t.Errorf("box/tinyinit/pbox-init-amd64 (%d bytes) is not what tinyinit.c builds (%d bytes): run go generate ./box and commit the result", len(tinyInit), len(built))
	}
}
