package box

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/pbox-dev/pbox/internal/testutil"
)

// The tiny programs pbox carries, for amd64 and arm64, are what their
// source builds, byte for byte (go generate ./box rebuilds them; build.sh
// says with what), and this architecture's is the one embedded.
func TestTinyInitMatchesItsSource(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			cc := map[string]string{"amd64": "x86_64-linux-gnu-gcc", "arm64": "aarch64-linux-gnu-gcc"}[arch]
			triple := map[string]string{"amd64": "x86_64-linux-musl", "arm64": "aarch64-linux-musl"}[arch]
			if _, err := exec.LookPath(cc); err != nil {
				testutil.SkipOrFail(t, "%s not found (see tinyinit/build.sh): cannot rebuild the %s tiny program to compare", cc, arch)
			}
			if _, err := os.Stat("/usr/lib/" + triple + "/musl-gcc.specs"); err != nil {
				testutil.SkipOrFail(t, "musl for %s not found (see tinyinit/build.sh): cannot rebuild the tiny program to compare", arch)
			}
			out := filepath.Join(t.TempDir(), "pbox-init-"+arch)
			if b, err := exec.Command("sh", "tinyinit/build.sh", arch, out).CombinedOutput(); err != nil {
				t.Fatalf("build.sh %s: %v\n%s", arch, err, b)
			}
			built, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			committed, err := os.ReadFile("tinyinit/pbox-init-" + arch)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(built, committed) {
				t.Errorf("box/tinyinit/pbox-init-%s (%d bytes) is not what tinyinit.c builds (%d bytes): run go generate ./box and commit the result", arch, len(committed), len(built))
			}
			if arch == runtime.GOARCH && !bytes.Equal(committed, tinyInit) {
				t.Errorf("the embedded tiny program is not box/tinyinit/pbox-init-%s", arch)
			}
		})
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
		"MOUNT": tagMount, "HOSTNAME": tagHostname, "LOOPBACK": tagLoopback, "RLIMIT": tagRlimit, "OOM_SCORE": tagOOMScore,
		"UMASK": tagUmask, "RUNTIME_HOOKS": tagRuntimeHooks, "AWAIT_NETWORK": tagAwaitNetwork, "START_FIFO": tagStartFIFO,
		"CONSOLE": tagConsole, "NO_INIT": tagNoInit, "DIES_WITH_PBOX": tagDiesWithPbox, "NO_PID_NS": tagNoPidNS,
		"CREATE_HOOK": tagCreateHook, "START_HOOK": tagStartHook, "VERBOSE": tagVerbose,
	} {
		m := regexp.MustCompile(`\bTAG_` + name + ` = '(.)'`).FindStringSubmatch(c)
		if m == nil || m[1][0] != want {
			t.Errorf("tinyinit.c: TAG_%s is %v, joiner.go and plan.go say %q", name, m, want)
		}
	}
	for kind, want := range opKinds {
		name := strings.ToUpper(strings.NewReplacer("-", "_", "readonly", "read_only").Replace(string(kind)))
		m := regexp.MustCompile(`\bOP_` + name + ` = '(.)'`).FindStringSubmatch(c)
		if m == nil || m[1][0] != want {
			t.Errorf("tinyinit.c: OP_%s is %v, plan.go says %q", name, m, want)
		}
	}
	if m := regexp.MustCompile(`\bOP_HEADER = (\d+)`).FindStringSubmatch(c); m == nil || m[1] != strconv.Itoa(opHeaderSize) {
		t.Errorf("tinyinit.c: OP_HEADER is %v, plan.go says %d", m, opHeaderSize)
	}
}
