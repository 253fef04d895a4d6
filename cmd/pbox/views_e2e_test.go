package main

// End-to-end tests of the views that follow a box: stats (live), logs -f
// and --tail, ps -q.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/internal/testutil"
	"golang.org/x/sys/unix"
)

func TestE2EStatsIsLiveUntilTheBoxStops(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	name := boxName(t, "stats")
	if r := pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--memory", "64M", "--", "sleep", "3"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	// --stream: readings keep coming (one JSON line each) until the box
	// stops, then stats ends by itself and says how the box ended.
	r := pbox(t, "--root", root, "stats", "--stream", "--json", name)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) < 2 {
		t.Fatalf("stats --stream: %d readings: %+v", len(lines), r)
	}
	for _, l := range lines {
		var v struct {
			ID          string `json:"id"`
			MemoryLimit int64  `json:"MemoryLimit"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil || v.ID != name {
			t.Errorf("reading %q: %v", l, err)
		}
	}
	if !strings.Contains(r.stderr, "box "+name+" stopped (exit status 0)") {
		t.Errorf("stats did not say the box stopped: %q", r.stderr)
	}
	// On a terminal it is live by default: redrawn in place.
	name2 := boxName(t, "stats2")
	if r := pbox(t, "--root", root, "run", "-d", "--name", name2, "--cgroup-parent", e2eParent, "--", "sleep", "2.5"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	master, term := testPty(t)
	cmd := exec.Command(pboxBin(t), "--root", root, "stats", name2)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = term, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	screen := make(chan string, 1)
	go func() {
		var all bytes.Buffer
		io.Copy(&all, master) // ends (EIO) once no one holds the terminal
		screen <- all.String()
	}()
	cmd.Wait()
	term.Close()
	got := <-screen
	if n := strings.Count(got, "\x1b[H\x1b[2J"); n < 2 {
		t.Errorf("stats on a terminal redrew %d times, want 2 or more: %q", n, got)
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Errorf("stats on a terminal did not end with the box: %q", out.String())
	}
	// --no-stream: one reading; and it is the default off a terminal.
	name3 := boxName(t, "stats3")
	pbox(t, "--root", root, "run", "-d", "--name", name3, "--cgroup-parent", e2eParent, "--", "sleep", "100")
	if r := pbox(t, "--root", root, "stats", "--no-stream", name3); r.code != 0 || strings.Count(r.stdout, name3) != 1 {
		t.Errorf("stats --no-stream: %+v", r)
	}
	assertCleanError(t, pbox(t, "--root", root, "stats", "--stream", "--no-stream", name3), 2, "exclude each other")
}

func TestE2ELogsFollowAndTail(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	name := boxName(t, "logs")
	r := pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sh", "-c",
		"for i in 1 2 3 4; do echo line $i; sleep 0.5; done")
	if r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	cmd := exec.Command(pboxBin(t), "--root", root, "logs", "-f", name)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(stdout)
	first, _ := rd.ReadString('\n')
	// The first line came while the box still writes: it streams.
	if first != "line 1\n" || psAll(t, root)[name].Status != "running" {
		t.Errorf("logs -f: first line %q, box %+v: want it while the box runs", first, psAll(t, root)[name])
	}
	rest, _ := readAll(rd)
	cmd.Wait()
	if rest != "line 2\nline 3\nline 4\n" || !strings.Contains(stderr.String(), "stopped (exit status 0)") {
		t.Errorf("logs -f: rest %q, stderr %q", rest, stderr.String())
	}
	if r := pbox(t, "--root", root, "logs", "--tail", "2", name); r.stdout != "line 3\nline 4\n" {
		t.Errorf("logs --tail 2: %+v", r)
	}
	assertCleanError(t, pbox(t, "--root", root, "logs", "--tail", "-3", name), 2, "--tail")
	// ps -q: names only.
	if r := pbox(t, "--root", root, "ps", "-aq"); strings.TrimSpace(r.stdout) != name {
		t.Errorf("ps -aq: %+v", r)
	}
}

// boxProcesses describes what box name's processes and its log writer
// are doing (state and kernel wait channel), for a test that waited in
// vain.
func boxProcesses(t *testing.T, root, name string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(pbox(t, "--root", root, "top", name).stdout)
	var pids []string
	if box := psAll(t, root)[name]; box.Pid > 0 {
		pids = append(pids, strconv.Itoa(box.Pid))
		for i := 0; i < len(pids) && i < 50; i++ { // the box's tree
			data, _ := os.ReadFile("/proc/" + pids[i] + "/task/" + pids[i] + "/children")
			pids = append(pids, strings.Fields(string(data))...)
		}
	}
	out, _ := exec.Command("pgrep", "-x", "pbox-logger").Output()
	pids = append(pids, strings.Fields(string(out))...)
	for _, pid := range pids {
		stat, _ := os.ReadFile("/proc/" + pid + "/stat")
		wchan, _ := os.ReadFile("/proc/" + pid + "/wchan")
		fmt.Fprintf(&b, "%s wchan %s\n", strings.TrimSpace(string(stat)), wchan)
	}
	return b.String()
}

func readAll(r *bufio.Reader) (string, error) {
	var b strings.Builder
	_, err := r.WriteTo(&b)
	return b.String(), err
}

// Issue 19: a detached box's log is written by pbox, not by the box. A
// box that writes 300 MB under a 48 MiB memory limit keeps running (the
// log's pages are not the box's), its log stays within max-size x
// max-file, stdout and stderr come back apart, and the box, holding only
// pipes, cannot truncate, extend or seek its log.
func TestE2ELogsAreThePboxsToWrite(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	name := boxName(t, "chatty")
	line := strings.Repeat("x", 99)
	r := pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent,
		"--memory", "48M", "--log-opt", "max-size=1m", "--log-opt", "max-file=3", "--", "sh", "-c",
		"echo to-stderr >&2; yes "+line+" | head -c 300000000; echo; echo done-writing; "+
			"truncate -s 1T /proc/self/fd/1 || echo cannot-truncate >&2; exec sleep 1000")
	if r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	defer func() {
		pbox(t, "--root", root, "rm", "-f", name)
		assertNoLeftovers(t, name)
	}()
	// Two waits, so that a failure says which part did not come: the
	// 300 MB, then the attack on the log (its answer comes after them).
	var logs result
	wrote := func() bool { return strings.Contains(logs.stdout, "done-writing") }
	attacked := func() bool { return strings.Contains(logs.stderr, "cannot-truncate") }
	for _, step := range []struct {
		what string
		done func() bool
	}{{"the 300 MB", wrote}, {"its truncate of the log", attacked}} {
		if !testutil.WaitFor(180*time.Second, func() bool {
			logs = pbox(t, "--root", root, "logs", "--tail", "3", name)
			return step.done() || psAll(t, root)[name].Status != "running"
		}) {
			t.Fatalf("the box never finished %s: logs %+v\n%s", step.what, logs, boxProcesses(t, root, name))
		}
	}
	if s := psAll(t, root)[name].Status; s != "running" {
		t.Fatalf("the box writing 300 MB of logs under --memory 48M is %s (OOM-killed?): %+v", s, pbox(t, "--root", root, "events", name))
	}
	if !strings.Contains(logs.stdout, "done-writing\n") || strings.Contains(logs.stdout, "cannot-truncate") {
		t.Errorf("logs --tail 3: stdout %q, stderr %q", logs.stdout, logs.stderr)
	}
	var total int64
	files, _ := filepath.Glob(filepath.Join(root, name, "output.log*"))
	for _, f := range files {
		if strings.HasSuffix(f, ".lock") {
			continue
		}
		fi, err := os.Stat(f)
		if err == nil {
			total += fi.Size()
		}
	}
	if total > 3<<20 || total < 1<<20 {
		t.Errorf("the log files %v hold %d bytes; want at most max-size x max-file = 3 MiB (and some)", files, total)
	}
	// stdout alone: no line the box wrote to stderr.
	cmd := exec.Command(pboxBin(t), "--root", root, "logs", "--tail", "5", name)
	out, err := cmd.Output()
	if err != nil || strings.Contains(string(out), "to-stderr") || strings.Contains(string(out), "cannot-truncate") || !strings.Contains(string(out), "done-writing") {
		t.Errorf("pbox logs 2>/dev/null: %q %v", out, err)
	}
}

// Issue 24: pbox logs -t, --since and --until, as docker logs: each line
// with the time it was written, and only the lines of a time range;
// stdout and stderr stay apart.
func TestE2ELogsTimestampsSinceUntil(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	name := boxName(t, "stamps")
	r := pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sh", "-c",
		"echo early; echo early-err >&2; sleep 1.5; echo late; exec sleep 1000")
	if r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	defer func() {
		pbox(t, "--root", root, "rm", "-f", name)
		assertNoLeftovers(t, name)
	}()
	var all result
	testutil.WaitFor(10*time.Second, func() bool {
		all = pbox(t, "--root", root, "logs", "-t", name)
		return strings.Contains(all.stdout, "late")
	})
	lines := strings.Split(strings.TrimSpace(all.stdout), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], " early") || !strings.HasSuffix(lines[1], " late") {
		t.Fatalf("logs -t: %+v", all)
	}
	stamp := func(line string) time.Time {
		ts, err := time.Parse(time.RFC3339Nano, strings.Fields(line)[0])
		if err != nil {
			t.Fatalf("logs -t: %q does not begin with an RFC 3339 time: %v", line, err)
		}
		return ts
	}
	early, late := stamp(lines[0]), stamp(lines[1])
	if late.Sub(early) < time.Second || !strings.HasSuffix(strings.TrimSpace(all.stderr), " early-err") {
		t.Errorf("logs -t: times %s and %s, stderr %q", early, late, all.stderr)
	}
	between := early.Add(late.Sub(early) / 2).Format(time.RFC3339Nano)
	if r := pbox(t, "--root", root, "logs", "--since", between, name); r.stdout != "late\n" || r.stderr != "" {
		t.Errorf("logs --since %s: %+v", between, r)
	}
	if r := pbox(t, "--root", root, "logs", "--until", between, name); r.stdout != "early\n" || r.stderr != "early-err\n" {
		t.Errorf("logs --until %s: %+v", between, r)
	}
	if r := pbox(t, "--root", root, "logs", "--since", "1h", name); r.stdout != "early\nlate\n" {
		t.Errorf("logs --since 1h: %+v", r)
	}
	assertCleanError(t, pbox(t, "--root", root, "logs", "--since", "yesterday-ish", name), 2, "--since")
}

// Issue 24: pbox stats without an id shows every running box, one row
// each, with its CPU % over the interval and memory against its limit,
// as docker stats; an id narrows it.
func TestE2EStatsEveryBox(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	spin, idle := boxName(t, "spin"), boxName(t, "idle")
	if r := pbox(t, "--root", root, "run", "-d", "--name", spin, "--cgroup-parent", e2eParent, "--cpus", "0.5", "--memory", "64M", "--", "sh", "-c", "while :; do :; done"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	if r := pbox(t, "--root", root, "run", "-d", "--name", idle, "--cgroup-parent", e2eParent, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	defer func() {
		for _, n := range []string{spin, idle} {
			pbox(t, "--root", root, "rm", "-f", n)
			assertNoLeftovers(t, n)
		}
	}()
	r := pbox(t, "--root", root, "stats", "--no-stream", "--json")
	readings := map[string]struct {
		CPUPercent  float64 `json:"cpu_percent"`
		MemoryLimit int64   `json:"memory_limit"`
	}{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var v struct {
			ID          string  `json:"id"`
			CPUPercent  float64 `json:"cpu_percent"`
			MemoryLimit int64   `json:"memory_limit"`
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("stats --json line %q: %v", line, err)
		}
		readings[v.ID] = struct {
			CPUPercent  float64 `json:"cpu_percent"`
			MemoryLimit int64   `json:"memory_limit"`
		}{v.CPUPercent, v.MemoryLimit}
	}
	if len(readings) != 2 || readings[spin].MemoryLimit != 64<<20 || readings[spin].CPUPercent <= readings[idle].CPUPercent {
		t.Errorf("stats of every box: %v; want both, the spinner's CPU %% above the sleeper's, its 64 MiB limit", readings)
	}
	r = pbox(t, "--root", root, "stats", "--no-stream", idle)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); r.code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[1], idle+" ") || !strings.Contains(lines[0], "CPU %") {
		t.Errorf("stats ID: %+v", r)
	}
}

// Issue 24: stats' BLOCK I/O is the box's cgroup's (what its processes
// wrote to disk, past the page cache), and NET I/O is shown only for a box
// with a network namespace of its own (a box on the host's network would
// show the host's counters).
func TestE2EStatsBlockAndNetIO(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	name := boxName(t, "io")
	dir := t.TempDir() // on the disk, not a tmpfs: see below
	r := pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "-v", dir+":/out", "--",
		"sh", "-c", "dd if=/dev/zero of=/out/f bs=1M count=4 oflag=direct 2>/dev/null; touch /out/done; sleep 100")
	if r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	defer func() {
		pbox(t, "--root", root, "rm", "-f", name)
		assertNoLeftovers(t, name)
	}()
	if !testutil.WaitFor(20*time.Second, func() bool { _, err := os.Stat(filepath.Join(dir, "done")); return err == nil }) {
		t.Fatal("the box never wrote its file")
	}
	var st struct {
		BlockIO *struct {
			Write uint64 `json:"write_bytes"`
		} `json:"block_io"`
		NetIO *struct{} `json:"net_io"`
		Dirs  []string  `json:"cgroup_dirs"`
	}
	r = pbox(t, "--root", root, "stats", "--no-stream", "--json", name)
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("stats --json: %+v: %v", r, err)
	}
	if st.NetIO != nil {
		t.Errorf("a box on the host's network has net_io: %s", r.stdout)
	}
	// Where the kernel counts the box's block I/O (v2 with the io
	// controller; v1 only for throttled cgroups on recent kernels, so not
	// on this hybrid host: cgroups.parseServiceBytes), it counts these.
	var fs unix.Stat_t
	onDisk := unix.Stat(dir, &fs) == nil && unix.Major(fs.Dev) != 0 // not a tmpfs, 9p, ... (the VM lane's)
	if onDisk && st.BlockIO != nil && st.BlockIO.Write < 4<<20 {
		t.Errorf("4 MiB written with O_DIRECT, stats says %s", r.stdout)
	}
	r = pbox(t, "--root", root, "stats", "--no-stream", name)
	if lines := strings.Split(r.stdout, "\n"); len(lines) < 2 || !strings.Contains(lines[0], "NET I/O") || !strings.Contains(lines[0], "BLOCK I/O") {
		t.Errorf("stats' table: %q", r.stdout)
	}
}
