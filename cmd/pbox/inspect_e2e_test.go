package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/inspect"
	"github.com/pbox-dev/pbox/internal/testutil"
)

func TestE2EInspectABox(t *testing.T) {
	name := boxName(t, "inspect")
	b := startBox(t, name, false, "--hostname", "lab", "--memory", "64M", "--", "sh", "-c", "sleep 100 & echo ready; wait")
	// "ready" may come before the forked sleep has exec'd: wait for it.
	var procs []int
	var sleep int
	testutil.WaitFor(5*time.Second, func() bool {
		procs = testutil.CgroupProcs(e2eParent, name)
		for _, p := range procs {
			if c, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); strings.TrimSpace(string(c)) == "sleep" {
				sleep = p
			}
		}
		return sleep != 0
	})
	if sleep == 0 {
		t.Fatalf("no sleep among %v", procs)
	}
	r := pbox(t, "inspect", "--json", strconv.Itoa(sleep))
	if r.code != 0 {
		t.Fatalf("inspect: %+v", r)
	}
	var rep inspect.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Pid != sleep || len(rep.NSpid) != 2 || rep.NSpid[1] <= 1 {
		t.Errorf("pid %d nspid %v", rep.Pid, rep.NSpid)
	}
	if rep.PID1.Comm != "pbox-init" || rep.PID1.Kind != "pbox-init" || rep.PID1.Pid <= 1 || !rep.PID1.HandlesTERM {
		t.Errorf("PID 1 %+v", rep.PID1)
	}
	if rep.Hostname.Inside != "lab" {
		t.Errorf("hostname %+v", rep.Hostname)
	}
	for _, ns := range []string{"pid", "mnt", "uts"} {
		if !rep.Namespaces[ns].Isolated {
			t.Errorf("%s not isolated: %+v", ns, rep.Namespaces[ns])
		}
	}
	if rep.Namespaces["net"].Isolated {
		t.Error("net isolated without --ns net")
	}
	// Every process of the box is found, and only those.
	var got []int
	for _, p := range rep.Processes {
		got = append(got, p.Pid)
	}
	sort.Ints(got)
	sort.Ints(procs)
	if fmt.Sprint(got) != fmt.Sprint(procs) {
		t.Errorf("inspect found %v, the box's cgroup holds %v", got, procs)
	}
	if !strings.HasSuffix(rep.Cgroup.Outside, "/"+name) || rep.Cgroup.Limits["memory"] != strconv.Itoa(64<<20) {
		t.Errorf("cgroup %+v", rep.Cgroup)
	}
	// The same numbers as ps, for the pids it shows.
	if out, err := exec.Command("ps", "-o", "pid=,ppid=", "-p", strconv.Itoa(sleep)).Output(); err == nil {
		f := strings.Fields(string(out))
		if len(f) == 2 && f[1] != strconv.Itoa(rep.Parent.Pid) {
			t.Errorf("ps says ppid %s, inspect %d", f[1], rep.Parent.Pid)
		}
	}
	tree := pbox(t, "inspect", "--tree", strconv.Itoa(sleep))
	if !strings.Contains(tree.stdout, fmt.Sprintf("pbox-init(1 | %d)", rep.PID1.Pid)) || !strings.Contains(tree.stdout, fmt.Sprintf("| %d)", sleep)) {
		t.Errorf("tree:\n%s", tree.stdout)
	}
	text := pbox(t, "inspect", strconv.Itoa(sleep))
	for _, want := range []string{"host view", "box view", "isolated", "shared with host", "lab", "pbox-init"} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("text output lacks %q", want)
		}
	}
	testutil.Kill(t, b.cmd.Process.Pid, syscall.SIGTERM)
	b.wait(t)
}

func TestE2EInspectWarnsAboutAnInitlessBox(t *testing.T) {
	name := boxName(t, "inspect-noinit")
	// The orphans outlive sh's loop, or sh (PID 1 until its exec) could
	// reap them first on a loaded machine.
	b := startBox(t, name, false, "--no-init", "--", "sh", "-c", "for i in 1 2 3; do (sleep 1 &); done; echo ready; exec sleep 100")
	pid1 := boxPID1(t, name)
	testutil.WaitFor(20*time.Second, func() bool { return testutil.ChildrenInState(pid1, "Z") == 3 })
	r := pbox(t, "inspect", "--json", strconv.Itoa(pid1))
	var rep inspect.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.PID1.Kind != "application" || rep.PID1.Zombies != 3 || rep.PID1.HandlesTERM {
		t.Errorf("PID 1 %+v", rep.PID1)
	}
	all := strings.Join(rep.Warnings, "\n")
	if !strings.Contains(all, "no handler for SIGTERM") || !strings.Contains(all, "docker stop") || !strings.Contains(all, "3 zombie") {
		t.Errorf("warnings %q", rep.Warnings)
	}
	// The tree shows where the box hangs on the host, and the zombies.
	tree := pbox(t, "inspect", "--tree", strconv.Itoa(pid1))
	if strings.Count(tree.stdout, ") Z") != 3 || !strings.Contains(tree.stdout, "(- | 1)") || !strings.Contains(tree.stdout, "the box: its own PID namespace") ||
		!strings.Contains(tree.stdout, fmt.Sprintf("(1 | %d) [PID 1]", pid1)) {
		t.Errorf("tree:\n%s", tree.stdout)
	}
	// The picture: well-formed XML, the boundary, both pids, the zombies.
	svg := pbox(t, "inspect", "--svg", strconv.Itoa(pid1))
	if err := xmlWellFormed(svg.stdout); err != nil || svg.code != 0 {
		t.Fatalf("--svg: %v %+v", err, svg)
	}
	for _, want := range []string{`id="box-boundary"`, fmt.Sprintf(`data-host-pid="%d" data-box-pid="1"`, pid1), `class="pid1"`} {
		if !strings.Contains(svg.stdout, want) {
			t.Errorf("--svg lacks %s", want)
		}
	}
	// The three zombies are alike: one node with a count, as pstree.
	if n := strings.Count(svg.stdout, `class="zombie"`); n != 1 || !strings.Contains(svg.stdout, `data-count="3"`) || !strings.Contains(svg.stdout, "3 × ") {
		t.Errorf("--svg marks %d zombie nodes, want 1 for the 3 of them", n)
	}
	testutil.Kill(t, b.cmd.Process.Pid, syscall.SIGKILL)
	b.wait(t)
}

func TestE2EInspectBadInput(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"inspect"}, 2, "give exactly one PID"},
		{[]string{"inspect", "abc"}, 2, `"abc" is not a pid`},
		{[]string{"inspect", "0"}, 2, `"0" is not a pid`},
		{[]string{"inspect", "--", "-5"}, 2, `"-5" is not a pid`},
		{[]string{"inspect", "-5"}, 2, "unknown flag -5"},
		{[]string{"inspect", "1", "2"}, 2, "give exactly one PID"},
		{[]string{"inspect", "--json", "--tree", "1"}, 2, "exclude each other"},
		{[]string{"inspect", "--svg", "--tree", "1"}, 2, "exclude each other"},
		{[]string{"inspect", "99999999"}, 1, "pbox: inspect: no process with pid 99999999"},
	} {
		r := pbox(t, tt.args...)
		assertCleanError(t, r, tt.code, tt.want)
	}
}

func TestE2EInspectAsNonRootSaysWhatNeedsRoot(t *testing.T) {
	testutil.RequireRoot(t) // to become nobody
	name := boxName(t, "inspect-nonroot")
	b := startBox(t, name, false, "--", "sh", "-c", "echo ready; exec sleep 100")
	pid1 := boxPID1(t, name)
	cmd := exec.Command(pboxBin(t), "inspect", strconv.Itoa(pid1))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "needs root") || !strings.Contains(string(out), "sudo") {
		t.Errorf("no word on what needs root:\n%s", out)
	}
	testutil.Kill(t, b.cmd.Process.Pid, syscall.SIGTERM)
	b.wait(t)
}

func xmlWellFormed(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		if _, err := d.Token(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// --svg on a terminal is refused with the way to use it.
func TestE2EInspectSVGWantsAFile(t *testing.T) {
	_, term := testPty(t)
	cmd := exec.Command(pboxBin(t), "inspect", "--svg", "1")
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = term, &stderr
	err := cmd.Run()
	ee, _ := err.(*exec.ExitError)
	if ee == nil || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "> box.svg") {
		t.Errorf("--svg to a terminal: %v %q", err, stderr.String())
	}
}

// Issue 24: pbox inspect BOX finds a box under another state root (every
// root a box was made under is registered), or, where several have one
// of that name, says which --root to add.
func TestE2EInspectBoxUnderAnotherRoot(t *testing.T) {
	testutil.RequireRoot(t)
	a, b := stateRoot(t), stateRoot(t)
	name := boxName(t, "elsewhere")
	if r := pbox(t, "--root", a, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	defer func() {
		pbox(t, "--root", a, "rm", "-f", name)
		pbox(t, "--root", b, "rm", "-f", name)
		assertNoLeftovers(t, name)
	}()
	if r := pbox(t, "inspect", name); r.code != 0 || !strings.Contains(r.stdout, "pbox-init") {
		t.Errorf("inspect %s without --root: %+v", name, r)
	}
	if r := pbox(t, "--root", b, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d under the second root: %+v", r)
	}
	assertCleanError(t, pbox(t, "inspect", name), 2, "add --root (one of ")
}
