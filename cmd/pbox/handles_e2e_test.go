package main

// End-to-end tests of the handles a user holds on a box — its printed
// name, its state root, its cgroup, several names at once — each written
// from a path that once lost a box or reached the wrong one.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/internal/testutil"
)

// The name `run -d` prints is the box's: ps, inspect, stop and rm reach it
// (the monitor once made up a second name and ran the box under it).
func TestE2EDetachedPrintedNameIsTheBox(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	p := func(args ...string) result { return pbox(t, append([]string{"--root", root}, args...)...) }
	r := p("run", "-d", "--cgroup-parent", e2eParent, "--", "sleep", "1000")
	name := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.HasPrefix(name, "pbox-") {
		t.Fatalf("run -d: %+v", r)
	}
	all := psAll(t, root)
	if len(all) != 1 || all[name].Status != "running" || all[name].Pid <= 1 {
		t.Fatalf("ps -a: %+v; want only %s, running", all, name)
	}
	// The monitor is named as what it is, in ps and in inspect's parent:
	// run -d returns once the box runs, and the Go monitor then exec's the
	// tiny one, which names itself (until then it is "pbox", then the
	// number of the descriptor it was exec'd from).
	mon := readRecord(t, root, name).Monitor
	var comm []byte
	testutil.WaitFor(5*time.Second, func() bool {
		comm, _ = os.ReadFile(fmt.Sprintf("/proc/%d/comm", mon))
		return strings.TrimSpace(string(comm)) == "pbox-monitor"
	})
	if strings.TrimSpace(string(comm)) != "pbox-monitor" {
		t.Errorf("the monitor (pid %d) is %q in ps, want pbox-monitor", mon, comm)
	}
	if r := p("inspect", name); r.code != 0 || !strings.Contains(r.stdout, "pbox-init") || !strings.Contains(r.stdout, "(pbox-monitor)") {
		t.Errorf("inspect %s: %+v; want pbox-init with pbox-monitor as its parent", name, r)
	}
	pid := all[name].Pid
	if r := p("stop", "-t", "1", name); r.code != 0 {
		t.Errorf("stop: %+v", r)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("the box's init %d still runs after stop", pid)
	}
	if r := p("rm", name); r.code != 0 {
		t.Errorf("rm: %+v", r)
	}
	if left := testutil.CgroupDirs(e2eParent, name); len(left) > 0 {
		t.Errorf("cgroups left: %v", left)
	}
	if _, err := os.Stat(filepath.Join(root, name)); !os.IsNotExist(err) {
		t.Errorf("state of %s left after rm: %v", name, err)
	}
	if _, err := os.Stat(filepath.Join(root, ".cgroups")); !os.IsNotExist(err) {
		t.Errorf("cgroup marks left after rm: %v", err)
	}
}

// A state root that fills up: whatever step the write fails at, `run -d`
// either fails and leaves nothing running, or succeeds with a box that
// ps shows running and rm -f ends. Never a box no command can reach.
func TestE2EUnrecordableBoxIsNotLeftRunning(t *testing.T) {
	testutil.RequireRoot(t)
	root := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "pbox-full", root).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { syscall.Unmount(root, syscall.MNT_DETACH) })
	name := boxName(t, "full")
	failedSome, startedSome := false, false
	for free := 0; free <= 40; free += 4 {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
		os.WriteFile(filepath.Join(root, "fill"), make([]byte, (64-free)<<10), 0o600)
		r := pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sleep", "1000")
		if r.code != 0 {
			failedSome = true
			assertCleanError(t, r, 125, "")
			if procs := testutil.CgroupProcs(e2eParent, name); len(procs) > 0 {
				t.Errorf("free %d KiB: run -d failed (%q) but the box runs: %v", free, r.stderr, procs)
				for _, pid := range procs {
					if pid > 1 {
						syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			}
		} else if e := psAll(t, root)[name]; e.Status != "running" {
			t.Errorf("free %d KiB: run -d said ok, ps says %+v", free, e)
		} else {
			startedSome = true
		}
		if r := pbox(t, "--root", root, "rm", "-f", name); r.code != 0 && !strings.Contains(r.stderr, "does not exist") {
			t.Errorf("free %d KiB: rm -f: %+v", free, r)
		}
		if !testutil.WaitFor(5*time.Second, func() bool { return len(testutil.CgroupProcs(e2eParent, name)) == 0 }) {
			t.Errorf("free %d KiB: the box still runs after rm -f", free)
		}
		assertNoLeftovers(t, name)
	}
	if !failedSome || !startedSome {
		t.Errorf("failed some: %v, started some: %v: the range of free space must cross the point where a box fits", failedSome, startedSome)
	}
}

// Boxes of one name in two state roots have two cgroups: removing a stale
// one in root B must not touch the live one in root A.
func TestE2ETwoRootsOneName(t *testing.T) {
	testutil.RequireRoot(t)
	a, b := stateRoot(t), stateRoot(t)
	name := boxName(t, "tworoots")
	if r := pbox(t, "--root", a, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d in A: %+v", r)
	}
	if r := pbox(t, "--root", b, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d in B: %+v", r)
	}
	if dirs := testutil.CgroupDirs(e2eParent, name); len(dirs) < 2 {
		t.Errorf("want a cgroup per root, got %v", dirs)
	}
	if r := pbox(t, "--root", b, "rm", "-f", name); r.code != 0 {
		t.Fatalf("rm -f in B: %+v", r)
	}
	if e := psAll(t, a)[name]; e.Status != "running" || syscall.Kill(e.Pid, 0) != nil {
		t.Errorf("root A's box after rm -f in root B: %+v", e)
	}
	if r := pbox(t, "--root", a, "exec", name, "--", "true"); r.code != 0 {
		t.Errorf("exec into root A's box: %+v", r)
	}
	pbox(t, "--root", a, "rm", "-f", name)
	assertNoLeftovers(t, name)
}

// cleanup removes what a killed pbox left, in every hierarchy (the
// devices one too), and nothing pbox did not make.
func TestE2ECleanupRemovesOnlyWhatPboxMade(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	name := boxName(t, "left")
	foreign := boxName(t, "foreign")
	var made []string
	for _, top := range cgroupTops(t) {
		d := filepath.Join(top, e2eParent, foreign)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		made = append(made, d)
	}
	t.Cleanup(func() {
		for _, d := range made {
			syscall.Rmdir(d)
		}
	})
	// A SIGKILLed monitor: the box dies with it, its cgroups stay.
	if r := pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--memory", "64M", "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	rec := readRecord(t, root, name)
	if rec.Monitor <= 1 {
		t.Fatalf("no monitor recorded: %+v", rec)
	}
	syscall.Kill(rec.Monitor, syscall.SIGKILL)
	if !testutil.WaitFor(5*time.Second, func() bool { return len(testutil.CgroupProcs(e2eParent, name)) == 0 }) {
		t.Fatal("the box outlived its monitor")
	}
	left := testutil.CgroupDirs(e2eParent, name)
	if len(left) == 0 {
		t.Fatal("nothing was left to clean: the test tests nothing")
	}
	hasDevices := false
	for _, d := range left {
		hasDevices = hasDevices || strings.Contains(d, "/devices/")
	}
	if cgroupsMode(t) != "v2" && !hasDevices {
		t.Errorf("the box had device rules, yet no devices cgroup was left to clean: %v", left)
	}
	r := pbox(t, "--root", root, "cleanup")
	if r.code != 0 {
		t.Fatalf("cleanup: %+v", r)
	}
	for _, d := range left {
		if !strings.Contains(r.stdout, "removed "+d+"\n") {
			t.Errorf("cleanup did not say it removed %s:\n%s", d, r.stdout)
		}
	}
	if still := testutil.CgroupDirs(e2eParent, name); len(still) > 0 {
		t.Errorf("left after cleanup: %v", still)
	}
	for _, d := range made {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("cleanup removed %s, which pbox did not make: %v", d, err)
		}
	}
	// Said once: a second cleanup has nothing left to do.
	if r := pbox(t, "--root", root, "cleanup"); r.code != 0 || strings.Contains(r.stdout, name) {
		t.Errorf("second cleanup: %+v", r)
	}
}

// Several names act on every box; one that fails makes the status 1,
// and the others are still acted on.
func TestE2ESeveralNames(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	p := func(args ...string) result { return pbox(t, append([]string{"--root", root}, args...)...) }
	a, b := boxName(t, "a"), boxName(t, "b")
	start := func() {
		t.Helper()
		for _, n := range []string{a, b} {
			if r := p("run", "-d", "--name", n, "--cgroup-parent", e2eParent, "--", "sleep", "1000"); r.code != 0 {
				t.Fatalf("run -d %s: %+v", n, r)
			}
		}
	}
	start()
	if r := p("kill", a, b, "KILL"); r.code != 0 {
		t.Errorf("kill a b KILL: %+v", r)
	}
	for _, n := range []string{a, b} {
		if e := waitStopped(t, root, n); e.Exit.Status != 137 {
			t.Errorf("%s after kill a b KILL: %+v", n, e.Exit)
		}
	}
	if r := p("rm", a, b); r.code != 0 {
		t.Errorf("rm a b: %+v", r)
	}
	start()
	r := p("stop", "-t", "1", a, "no-such-box", b)
	assertCleanError(t, r, 1, "no-such-box")
	for _, n := range []string{a, b} {
		if e := waitStopped(t, root, n); e.Exit.Status != 143 {
			t.Errorf("%s after stop a x b: %+v", n, e.Exit)
		}
	}
	start2 := func() {
		for _, n := range []string{a, b} {
			p("rm", n)
		}
		start()
	}
	start2()
	if r := p("kill", "-s", "TERM", a, b); r.code != 0 {
		t.Errorf("kill -s TERM a b: %+v", r)
	}
	for _, n := range []string{a, b} {
		waitStopped(t, root, n)
	}
	start2()
	if r := p("rm", "-f", a, b); r.code != 0 {
		t.Errorf("rm -f a b: %+v", r)
	}
	if all := psAll(t, root); len(all) != 0 {
		t.Errorf("after rm -f a b: %+v", all)
	}
	assertNoLeftovers(t, a)
	assertNoLeftovers(t, b)
	assertCleanError(t, p("kill", a, "NOSUCHSIG"), 1, "not a signal, nor a box")
}

// `pbox --root X run -v SRC:DST` is a volume, as without --root.
func TestE2EVolumeAfterGlobalFlags(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("from the host\n"), 0o644)
	r := pbox(t, "--root", root, "run", "-v", dir+":/mnt/v:ro", "--cgroup-parent", e2eParent, "--", "cat", "/mnt/v/f")
	if r.code != 0 || r.stdout != "from the host\n" {
		t.Errorf("--root X run -v SRC:DST:ro: %+v", r)
	}
}

// ps --format json is JSON without an ID too.
func TestE2EPsFormatJSON(t *testing.T) {
	root := stateRoot(t)
	if r := pbox(t, "--root", root, "ps", "--format", "json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("ps --format json: %+v", r)
	}
}

// cgroupTops are the hierarchies' roots on this host.
func cgroupTops(t *testing.T) []string {
	t.Helper()
	if cgroupsMode(t) == "v2" {
		return []string{"/sys/fs/cgroup"}
	}
	var tops []string
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range entries {
		d := filepath.Join("/sys/fs/cgroup", e.Name())
		if fi, err := os.Lstat(d); err == nil && fi.IsDir() {
			if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err == nil {
				tops = append(tops, d)
			}
		}
	}
	return tops
}

func cgroupsMode(t *testing.T) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/sys/fs/cgroup", &st); err != nil {
		t.Fatal(err)
	}
	if st.Type == 0x63677270 { // CGROUP2_SUPER_MAGIC
		return "v2"
	}
	return "v1"
}

// A foreground box is reachable by name while it runs, and rm -f ends it.
func TestE2EForegroundBoxByName(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	name := boxName(t, "fg")
	cmd := exec.Command(pboxBin(t), "--root", root, "run", "--name", name, "--cgroup-parent", e2eParent, "--", "sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waited := false
	defer func() {
		if !waited {
			testutil.Kill(t, cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}()
	if !testutil.WaitFor(5*time.Second, func() bool { return psAll(t, root)[name].Status == "running" }) {
		t.Fatal("foreground box never showed as running")
	}
	if r := pbox(t, "--root", root, "exec", name, "--", "hostname"); strings.TrimSpace(r.stdout) != name {
		t.Errorf("exec into a foreground box: %+v", r)
	}
	if r := pbox(t, "--root", root, "rm", "-f", name); r.code != 0 {
		t.Errorf("rm -f of a foreground box: %+v", r)
	}
	select {
	case err := <-done:
		waited = true
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 137 {
			t.Errorf("pbox run after rm -f: %v; want status 137", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pbox run did not end after rm -f")
	}
	if _, err := os.Stat(filepath.Join(root, name)); !os.IsNotExist(err) {
		t.Errorf("state left: %v", err)
	}
	assertNoLeftovers(t, name)
}
