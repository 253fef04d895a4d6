package main

// End-to-end tests of boxes that outlive one pbox (run -d): their life
// through ps, exec, stop, kill and rm, their monitor, what a SIGKILL of
// pbox leaves, and two pbox racing on one name. (logs, stats and events
// are views_e2e_test.go; names and state roots handles_e2e_test.go.)

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/internal/testutil"
)

func TestE2EDetachedBoxLifecycle(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	name := boxName(t, "detached")
	p := func(args ...string) result { return pbox(t, append([]string{"--root", root}, args...)...) }

	r := p("run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--memory", "64M", "--",
		"sh", "-c", "echo to-stdout; echo to-stderr >&2; exec sleep 1000")
	if r.code != 0 || strings.TrimSpace(r.stdout) != name {
		t.Fatalf("run -d: %+v; want the name on stdout and status 0", r)
	}
	e := psAll(t, root)[name]
	if e.Status != "running" || e.Pid <= 1 || e.Limits.MemoryBytes != 64<<20 {
		t.Fatalf("ps: %+v; want running with a pid and the 64 MiB limit", e)
	}
	if table := p("ps").stdout; !strings.Contains(table, name) || !strings.Contains(table, "memory=64 MiB") {
		t.Errorf("ps table lacks the box or its limit:\n%s", table)
	}

	// exec: inside the box's pid namespace, with its hostname and cgroup.
	r = p("exec", name, "--", "ps", "-o", "pid,args")
	if r.code != 0 || !strings.Contains(r.stdout, "pbox-init") || !strings.Contains(r.stdout, "sleep 1000") {
		t.Fatalf("exec ps: %+v; want the box's processes", r)
	}
	if lines := strings.Fields(strings.Split(r.stdout, "\n")[1]); len(lines) == 0 || lines[0] != "1" {
		t.Errorf("first process in the box is not pid 1:\n%s", r.stdout)
	}
	if r = p("exec", name, "--", "hostname"); strings.TrimSpace(r.stdout) != name {
		t.Errorf("exec hostname: %+v; want %s", r, name)
	}
	initNS, _ := os.Readlink("/proc/" + strconv.Itoa(e.Pid) + "/ns/pid")
	initCgroupNS, _ := os.Readlink("/proc/" + strconv.Itoa(e.Pid) + "/ns/cgroup")
	r = p("exec", name, "--", "sh", "-c", "readlink /proc/self/ns/pid; readlink /proc/self/ns/cgroup; cat /proc/self/cgroup; echo $$")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) < 4 || lines[0] != initNS || lines[1] != initCgroupNS {
		t.Fatalf("exec: %+v; want the init's pid namespace %s and cgroup namespace %s", r, initNS, initCgroupNS)
	}
	// In the box's cgroup namespace, its own cgroup is / in every hierarchy.
	for _, l := range lines[2 : len(lines)-1] {
		if !strings.HasSuffix(l, ":/") {
			t.Errorf("exec'd process is not in the box's cgroup: %q", l)
		}
	}
	if pid, _ := strconv.Atoi(lines[len(lines)-1]); pid <= 1 || pid > 100 {
		t.Errorf("exec'd process has pid %q; want a small pid of the box's", lines[len(lines)-1])
	}
	if r = p("exec", name, "--", "sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("exec exit 7: got %d", r.code)
	}
	assertCleanError(t, p("exec", name, "--", "no-such-cmd-xyz"), 127, "not found")
	if r = p("exec", "-e", "GREETING=hi", "-w", "/tmp", name, "--", "sh", "-c", "echo $GREETING; pwd"); r.stdout != "hi\n/tmp\n" {
		t.Errorf("exec -e -w: %+v", r)
	}
	_, term := testPty(t)
	if r = pboxFrom(t, term, nil, nil, "--root", root, "exec", "-t", name, "--", "tty"); r.code != 0 || !strings.HasPrefix(strings.TrimSpace(r.stdout), "/dev/pts/") {
		t.Errorf("exec -t tty: %+v; want a pty", r)
	}
	// From a pipe or a file, -t would wait for a terminal forever: refused,
	// as docker does.
	assertCleanError(t, p("exec", "-t", name, "--", "tty"), 125, "stdin is not a terminal")
	if r = p("exec", "-u", "65534:65534", name, "--", "id", "-u"); strings.TrimSpace(r.stdout) != "65534" {
		t.Errorf("exec -u: %+v", r)
	}

	// stats and inspect by name.
	r = p("stats", "--json", name)
	var st struct {
		MemoryLimit int64  `json:"memory_limit"`
		Pids        uint64 `json:"pids"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.MemoryLimit != 64<<20 || st.Pids < 2 {
		t.Errorf("stats --json: %+v (%v); want the limit and at least 2 pids", r, err)
	}
	if r = p("stats", name); r.code != 0 || !strings.Contains(r.stdout, "64 MiB") {
		t.Errorf("stats: %+v", r)
	}
	if r = p("inspect", name); r.code != 0 || !strings.Contains(r.stdout, "pbox-init") {
		t.Errorf("inspect NAME: %+v", r)
	}

	// rm without -f refuses a running box.
	assertCleanError(t, p("rm", name), 1, "is running")

	// stop: SIGTERM reaches sleep through the init; the monitor records it.
	if r = p("stop", "-t", "5", name); r.code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	e = waitStopped(t, root, name)
	if e.Exit.Status != 128+int(syscall.SIGTERM) {
		t.Errorf("exit status %d; want %d (SIGTERM)", e.Exit.Status, 128+int(syscall.SIGTERM))
	}
	if left := testutil.CgroupDirs(e2eParent, name); len(left) > 0 {
		t.Errorf("a stopped box kept its cgroup: %v", left)
	}
	if r = p("ps"); strings.Contains(r.stdout, name) {
		t.Errorf("ps without -a lists a stopped box:\n%s", r.stdout)
	}
	if r = p("logs", name); r.stdout != "to-stdout\n" || r.stderr != "to-stderr\n" {
		t.Errorf("logs: stdout %q, stderr %q; want each stream on its own", r.stdout, r.stderr)
	}
	r = p("events", name)
	if !strings.Contains(r.stdout, `"type":"start"`) || !strings.Contains(r.stdout, `"type":"exit"`) || !strings.Contains(r.stdout, `"status":143`) {
		t.Errorf("events: %+v; want start and exit with status 143", r)
	}
	assertCleanError(t, p("exec", name, "--", "true"), 125, "not running")
	if r = p("rm", name); r.code != 0 {
		t.Fatalf("rm: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(root, name)); !os.IsNotExist(err) {
		t.Errorf("rm left the state directory: %v", err)
	}
	assertNoLeftovers(t, name)
}

func TestE2EDetachedOOMKillIsAnEvent(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	name := boxName(t, "oomd")
	r := pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--memory", "32M", "--", "tail", "/dev/zero")
	if r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	e := waitStopped(t, root, name)
	if e.Exit.Status != 137 || e.Exit.OOMKills == 0 {
		t.Errorf("exit %+v; want 137 with OOM kills", e.Exit)
	}
	if ev := pbox(t, "--root", root, "events", name).stdout; !strings.Contains(ev, `"type":"oom"`) {
		t.Errorf("events lack oom:\n%s", ev)
	}
	pbox(t, "--root", root, "rm", name)
	assertNoLeftovers(t, name)
}

// While a detached box runs, what waits for it is the tiny monitor: one
// thread, a few pages, yet it records an OOM kill as it happens (the box
// lives on) and, through pbox again, the exit.
func TestE2EDetachedBoxMonitorIsTiny(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	name := boxName(t, "tinymon")
	r := pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--memory", "32M", "--",
		"sh", "-c", "head -c 314572800 /dev/zero | tail; exec sleep 1000")
	if r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	monitor := monitorOf(t, root, name)
	// Until the hand-over is done the monitor is a Go runtime (and for a
	// moment inside the exec it has one thread and the old memory): wait
	// for the tiny one, by its executable, then read its memory.
	var status, exe string
	pss := -1
	proc := "/proc/" + strconv.Itoa(monitor)
	if !testutil.WaitFor(10*time.Second, func() bool {
		b, _ := os.ReadFile(proc + "/status")
		status = string(b)
		exe, _ = os.Readlink(proc + "/exe")
		rollup, _ := os.ReadFile(proc + "/smaps_rollup")
		for _, line := range strings.Split(string(rollup), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "Pss:" {
				pss, _ = strconv.Atoi(f[1])
			}
		}
		return strings.HasPrefix(exe, "/memfd:pbox-init") && strings.Contains(status, "Name:\tpbox-monitor\n") && strings.Contains(status, "Threads:\t1\n")
	}) {
		t.Fatalf("monitor %d: exe %q, %q; want the tiny monitor: pbox-monitor, a memfd, one thread", monitor, exe, status)
	}
	if pss > 1024 {
		t.Errorf("the tiny monitor's PSS is %d kB; it has a few pages", pss)
	}
	if !testutil.WaitFor(10*time.Second, func() bool {
		return strings.Contains(pbox(t, "--root", root, "events", "--no-follow", name).stdout, `"type":"oom"`)
	}) {
		t.Error("no oom event while the box runs")
	}
	if e := psAll(t, root)[name]; e.Status != "running" {
		t.Errorf("after the OOM kill of tail: %+v; want the box still running", e)
	}
	if r := pbox(t, "--root", root, "stop", "-t", "0", name); r.code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	// stop -t 0: SIGTERM, then SIGKILL at once; either may end sleep.
	if e := waitStopped(t, root, name); (e.Exit.Status != 137 && e.Exit.Status != 143) || e.Exit.OOMKills == 0 {
		t.Errorf("exit %+v; want 143 or 137 (stop -t 0) and the OOM kill", e.Exit)
	}
	if ev := pbox(t, "--root", root, "events", "--no-follow", name).stdout; strings.Count(ev, `"type":"oom"`) != 1 || !strings.Contains(ev, `"type":"exit"`) {
		t.Errorf("events: want one oom and the exit:\n%s", ev)
	}
	pbox(t, "--root", root, "rm", name)
	assertNoLeftovers(t, name)
}

func TestE2EKilledPboxLeavesAStoppedBoxThatRmCleans(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	for _, detached := range []bool{true, false} {
		name := boxName(t, "sigkill"+strconv.FormatBool(detached))
		var monitor int
		if detached {
			if r := pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sleep", "1000"); r.code != 0 {
				t.Fatalf("run -d: %+v", r)
			}
			monitor = monitorOf(t, root, name)
		} else {
			cmd := exec.Command(pboxBin(t), "--root", root, "run", "--name", name, "--cgroup-parent", e2eParent, "--", "sleep", "1000")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			monitor = cmd.Process.Pid
			defer cmd.Wait()
			if !testutil.WaitFor(5*time.Second, func() bool { return psAll(t, root)[name].Status == "running" }) {
				t.Fatalf("foreground box %s never showed as running", name)
			}
		}
		testutil.Kill(t, monitor, syscall.SIGKILL)
		var e psJSON
		if !testutil.WaitFor(5*time.Second, func() bool { e = psAll(t, root)[name]; return e.Status == "stopped" }) {
			t.Fatalf("after SIGKILL of pbox (%d), ps says %+v; want stopped", monitor, e)
		}
		if !detached {
			// The name is free again at once, as after any foreground box.
			if r := pbox(t, "--root", root, "run", "--name", name, "--cgroup-parent", e2eParent, "--", "true"); r.code != 0 {
				t.Errorf("reusing the name of a SIGKILLed foreground box: %+v", r)
			}
			assertNoLeftovers(t, name)
			continue
		}
		if r := pbox(t, "--root", root, "rm", name); r.code != 0 {
			t.Fatalf("rm: %+v", r)
		}
		assertNoLeftovers(t, name)
		if _, err := os.Stat(filepath.Join(root, name)); !os.IsNotExist(err) {
			t.Errorf("rm left state: %v", err)
		}
	}
}

func TestE2EBoxCommandErrors(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	p := func(args ...string) result { return pbox(t, append([]string{"--root", root}, args...)...) }
	for _, args := range [][]string{
		{"stop", "nobox"}, {"kill", "nobox"}, {"rm", "nobox"}, {"logs", "nobox"}, {"stats", "nobox"},
		{"events", "nobox"}, {"state", "nobox"}, {"start", "nobox"}, {"delete", "nobox"}, {"pause", "nobox"},
		{"resume", "nobox"}, {"update", "--memory", "1G", "nobox"}, {"ps", "nobox"},
	} {
		assertCleanError(t, p(args...), 1, "does not exist")
	}
	assertCleanError(t, p("exec", "nobox", "--", "true"), 125, "does not exist")
	assertCleanError(t, p("inspect", "nobox"), 2, "no box has that name")
	assertCleanError(t, p("stop"), 2, "give a box id")
	assertCleanError(t, p("kill", "../etc"), 1, "bad box id")

	name := boxName(t, "dup")
	if r := p("run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	assertCleanError(t, p("run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "true"), 125, "exists")
	assertCleanError(t, p("run", "--name", name, "--cgroup-parent", e2eParent, "--", "true"), 125, "exists")
	assertCleanError(t, p("kill", name, "NOSUCHSIG"), 1, "not a signal")
	if r := p("kill", name, "KILL"); r.code != 0 {
		t.Fatalf("kill KILL: %+v", r)
	}
	if e := waitStopped(t, root, name); e.Exit.Status != 137 {
		t.Errorf("after kill KILL: %+v", e.Exit)
	}
	assertCleanError(t, p("kill", name), 1, "stopped")
	// A setup failure of a detached box is reported by run -d itself, and
	// leaves no state.
	bad := boxName(t, "badd")
	assertCleanError(t, p("run", "-d", "--name", bad, "--cgroup-parent", e2eParent, "--", "no-such-cmd-xyz"), 127, "not found")
	if _, err := os.Stat(filepath.Join(root, bad)); !os.IsNotExist(err) {
		t.Errorf("failed run -d left state: %v", err)
	}
	assertNoLeftovers(t, bad)
	p("rm", name)
	assertNoLeftovers(t, name)
}

// Two pbox processes racing on one id: exactly one box, one intact state.
func TestE2ERacingOnOneID(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	name := boxName(t, "race")
	const racers = 6
	results := make(chan result, racers)
	for i := 0; i < racers; i++ {
		go func() {
			results <- pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sleep", "1000")
		}()
	}
	won := 0
	for i := 0; i < racers; i++ {
		r := <-results
		switch {
		case r.code == 0:
			won++
		case r.code == 125 && strings.Contains(r.stderr, "exists"):
		default:
			t.Errorf("racer: %+v; want success or 'exists'", r)
		}
	}
	if won != 1 {
		t.Fatalf("%d racers started box %s; want exactly 1", won, name)
	}
	all := psAll(t, root)
	if len(all) != 1 || all[name].Status != "running" {
		t.Errorf("after the race: %+v; want one running box", all)
	}
	if procs := testutil.CgroupProcs(e2eParent, name); len(procs) < 2 {
		t.Errorf("the box's cgroup holds %v; want the init and sleep", procs)
	}
	if r := pbox(t, "--root", root, "rm", "-f", name); r.code != 0 {
		t.Fatalf("rm -f: %+v", r)
	}
	assertNoLeftovers(t, name)
}

// monitorOf is the pid of a detached box's monitor, from its state.
func monitorOf(t *testing.T, root, name string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, name, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Monitor int }
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	return rec.Monitor
}
