package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/box"
	"github.com/pbox-dev/pbox/internal/testutil"
	"golang.org/x/sys/unix"
)

// Helpers every end-to-end test of this package shares: building the pbox
// binary the way a user does (plain `go build`; PBOX_BIN names a prebuilt
// one, as in the cgroup v2 VM lane, which has no Go toolchain) and running
// it, box names, state roots, the checks for what a box may leave
// behind, and the root filesystems and prober the tests run.

// binary is a program the tests build once: $ENV names a prebuilt one
// instead (the cgroup v2 VM lane has no Go toolchain).
type binary struct {
	env, pkg, name string
	cgoOff         bool // a static binary for use inside a box
	once           sync.Once
	path           string
	err            error
}

// pboxBin is pbox, built the way a user does (plain `go build`), or $PBOX_BIN.
var pboxBuild = &binary{env: "PBOX_BIN", pkg: ".", name: "pbox", cgoOff: true} // as the README builds it

func pboxBin(t *testing.T) string { return pboxBuild.get(t) }

const e2eParent = "pbox-e2e"

// result is one finished pbox run.
type result struct {
	stdout, stderr string
	code           int
}

func pbox(t *testing.T, args ...string) result {
	t.Helper()
	return pboxWith(t, nil, nil, args...)
}

// pboxWith runs pbox with extra descriptors (extra[i] becomes fd 3+i; nil
// leaves a slot on /dev/null) and extra environment. Its output goes to
// files, not pipes: what pbox starts may keep its stdio (pbox create hands
// it to the box, as runc does), and a pipe would then never end.
func pboxWith(t *testing.T, extra []*os.File, env []string, args ...string) result {
	t.Helper()
	return pboxFrom(t, nil, extra, env, args...)
}

// pboxFrom is pboxWith with stdin (nil: /dev/null).
func pboxFrom(t *testing.T, stdin *os.File, extra []*os.File, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(pboxBin(t), args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if len(extra) > 0 {
		null, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		defer null.Close()
		for _, f := range extra {
			if f == nil {
				f = null
			}
			cmd.ExtraFiles = append(cmd.ExtraFiles, f)
		}
	}
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	return runCaptured(t, cmd)
}

// runCaptured runs cmd with its output in files (see pboxWith).
func runCaptured(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	out, err := os.CreateTemp("", "pbox-out")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(out.Name())
	defer out.Close()
	errOut, err := os.CreateTemp("", "pbox-err")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(errOut.Name())
	defer errOut.Close()
	cmd.Stdout, cmd.Stderr = out, errOut
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%q: %v", cmd.Args, err)
	}
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errOut.Name())
	return result{string(o), string(e), code}
}

// testPty opens a pseudo-terminal: pbox's stdin when a test plays a user
// at a terminal.
func testPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sl.Close() })
	return m, sl
}

// boxName gives each test its own box name, so leftovers are attributable.
func boxName(t *testing.T, suffix string) string {
	return fmt.Sprintf("e2e-%d-%s", os.Getpid(), suffix)
}

func assertNoLeftovers(t *testing.T, name string) {
	t.Helper()
	if left := testutil.CgroupDirs(e2eParent, name); len(left) > 0 {
		t.Errorf("box %s left cgroup directories: %v", name, left)
	}
	if _, err := os.Stat(filepath.Join("/run/pbox", name)); err == nil {
		t.Errorf("box %s left its state directory in /run/pbox", name)
	}
}

func assertCleanError(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code || !strings.HasPrefix(r.stderr, "pbox: ") || !strings.Contains(r.stderr, want) {
		t.Errorf("status %d stderr %q; want %d and a pbox: message with %q", r.code, r.stderr, code, want)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		t.Errorf("a Go stack trace reached the user:\n%s", r.stderr)
	}
}

func statusField(status, key string) []string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.Fields(v)
		}
	}
	return nil
}

// stateRoot gives a test its own --root, removed (with any box still in
// it) at the end.
func stateRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	t.Cleanup(func() {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			pbox(t, "--root", root, "rm", "-f", e.Name())
		}
	})
	return root
}

// psJSON is one entry of pbox ps --json.
type psJSON struct {
	ID        string   `json:"id"`
	Pid       int      `json:"pid"`
	Status    string   `json:"status"`
	Command   []string `json:"command"`
	Addresses []string `json:"addresses"`
	Ports     []string `json:"ports"`
	Limits    struct {
		MemoryBytes int64 `json:"MemoryBytes"`
	} `json:"limits"`
	Exit *struct {
		Status   int    `json:"status"`
		OOMKills uint64 `json:"oom_kills"`
	} `json:"exit"`
}

func psAll(t *testing.T, root string) map[string]psJSON {
	t.Helper()
	r := pbox(t, "--root", root, "ps", "-a", "--json")
	if r.code != 0 {
		t.Fatalf("ps -a --json: %+v", r)
	}
	var list []psJSON
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("ps --json: %v\n%s", err, r.stdout)
	}
	m := map[string]psJSON{}
	for _, e := range list {
		m[e.ID] = e
	}
	return m
}

func waitStopped(t *testing.T, root, name string) psJSON {
	t.Helper()
	var e psJSON
	if !testutil.WaitFor(10*time.Second, func() bool {
		e = psAll(t, root)[name]
		return e.Status == "stopped" && e.Exit != nil
	}) {
		t.Fatalf("box %s did not stop with a recorded exit: %+v", name, e)
	}
	return e
}

// readState reads a box's record from the default state root.
func readState(t *testing.T, name string) box.Record {
	t.Helper()
	rec, err := box.Store{Root: box.DefaultStateRoot}.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	return *rec
}

// attackBin is internal/attack, built static: $ATTACK_BIN, or built once.
var attackBuild = &binary{env: "ATTACK_BIN", pkg: "../../internal/attack", name: "attack", cgoOff: true}

func attackBin(t *testing.T) string { return attackBuild.get(t) }

// attackRootfs is a busybox root with /attack in it.
func attackRootfs(t *testing.T) string {
	t.Helper()
	root := busyboxRootfs(t)
	data, err := os.ReadFile(attackBin(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "attack"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// results reads attack's "name: result" lines.
func results(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			m[k] = v
		}
	}
	return m
}

func busyboxRootfs(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	dir := filepath.Join(t.TempDir(), "rootfs")
	r := pbox(t, "rootfs", "busybox", dir)
	if r.code != 0 {
		testutil.SkipOrFail(t, "pbox rootfs busybox: %+v", r)
	}
	return dir
}

// readRecord reads a box's state.json.
func readRecord(t *testing.T, root, name string) (rec struct {
	Monitor int `json:"monitor"`
	Pid     int `json:"pid"`
}) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, name, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return rec
}

func (b *binary) get(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(b.env); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "pbox-e2e")
		if err != nil {
			b.err = err
			return
		}
		os.Chmod(dir, 0o755) // the not-root test runs pbox as nobody
		b.path = filepath.Join(dir, b.name)
		cmd := exec.Command("go", "build", "-o", b.path, b.pkg)
		if b.cgoOff {
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// stopDaemon ends a daemon a test started (a private containerd or
// dockerd): SIGTERM to its recorded pid, SIGKILL after grace.
func stopDaemon(t *testing.T, cmd *exec.Cmd, grace time.Duration) {
	t.Helper()
	pid := cmd.Process.Pid
	testutil.Kill(t, pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		testutil.Kill(t, pid, syscall.SIGKILL)
		<-done
	}
}
