package box

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
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

// The facts tinyinit.c shares with Go are one list each: its exit
// statuses are status.go's, and its plan tags are joiner.go's.
func TestTinyInitSharesGosFacts(t *testing.T) {
	src, err := os.ReadFile("tinyinit/tinyinit.c")
	if err != nil {
		t.Fatal(err)
	}
	c := string(src)
	for name, want := range map[string]int{
		"STATUS_SETUP": StatusSetupFailed, "STATUS_NOT_EXECUTABLE": StatusNotExecutable,
		"STATUS_NOT_FOUND": StatusNotFound, "STATUS_SIGNAL_BASE": statusSignalBase,
	} {
		m := regexp.MustCompile(`\b` + name + ` = (\d+)`).FindStringSubmatch(c)
		if m == nil || m[1] != strconv.Itoa(want) {
			t.Errorf("tinyinit.c: %s is %v, status.go says %d", name, m, want)
		}
	}
	for name, want := range map[string]byte{
		"NAMESPACE": tagNamespace, "ARG": tagArg, "ENV": tagEnv, "PATH": tagPath, "WORKDIR": tagWorkdir,
		"USER": tagUser, "BOUNDING": tagBounding, "AMBIENT": tagAmbient, "INHERITABLE": tagInherit, "IOPRIO": tagIOPrio, "SCHED": tagSched, "AFFINITY": tagAffinity, "NO_NEW_PRIVS": tagNoNewPrivs,
		"KEYRING": tagKeyring, "SECCOMP": tagSeccomp, "TERMINAL": tagTerminal, "PRESERVE": tagPreserve,
	} {
		m := regexp.MustCompile(`\bTAG_` + name + ` = '(.)'`).FindStringSubmatch(c)
		if m == nil || m[1][0] != want {
			t.Errorf("tinyinit.c: TAG_%s is %v, joiner.go says %q", name, m, want)
		}
	}
}
