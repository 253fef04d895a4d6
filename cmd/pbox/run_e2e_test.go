package main

// End-to-end tests of pbox run in the foreground: exit statuses, signals,
// the box seen from the host, OOM kills, mounts that must not leak, -v.
// The shared helpers are in helpers_test.go.

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/box"
	"github.com/pbox-dev/pbox/internal/testutil"
)

func TestE2EBinaryIsStatic(t *testing.T) {
	f, err := elf.Open(pboxBin(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("pbox is dynamically linked: something imports net or os/user (cgo); keep the binary static")
		}
	}
}

func TestE2EBadInputLeavesNothing(t *testing.T) {
	testutil.RequireRoot(t)
	name := boxName(t, "bad")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--bogus"}, 125, "unknown flag --bogus"},
		{[]string{"--memory", "12XB", "--", "true"}, 125, "--memory"},
		{[]string{"--memory", "0", "--", "true"}, 125, "--memory"},
		{[]string{"--cpus", "-1", "--", "true"}, 125, "--cpus"},
		{[]string{"--pids-limit", "0", "--", "true"}, 125, "--pids-limit"},
		{[]string{"--ns", "pid,mnt,bogus", "--", "true"}, 125, `unknown namespace "bogus"`},
		{[]string{"--ns", "pid", "--", "true"}, 125, "add mnt"},
		{[]string{"--hostname", strings.Repeat("h", 65), "--", "true"}, 125, "at most 64"},
		{[]string{"--", "no-such-command-xyz"}, 127, "executable file not found in $PATH"},
		{[]string{"--", "/etc/passwd"}, 126, "not executable"},
		{[]string{"-w", "/no/such/dir", "--", "true"}, 125, "workdir"},
		{[]string{"--cgroup-parent", e2eParent + "/cgroup.procs", "--", "true"}, 125, "--cgroup-parent"},
	}
	for _, tt := range tests {
		args := append([]string{"run", "--name", name, "--cgroup-parent", e2eParent}, tt.args...)
		r := pbox(t, args...)
		assertCleanError(t, r, tt.code, tt.want)
		assertNoLeftovers(t, name)
	}
	if r := pbox(t, "run", "--cgroup-parent", e2eParent); r.code != 125 || !strings.Contains(r.stderr, "no COMMAND") {
		t.Errorf("no COMMAND: %+v", r)
	}
}

// An ordinary user gets a rootless box (rootless_e2e_test.go), and what
// only root can give it, such as limits, is refused with a hint to sudo.
func TestE2ENotRootSuggestsSudo(t *testing.T) {
	testutil.RequireRoot(t)                               // to become someone else
	t.Cleanup(func() { os.RemoveAll("/tmp/pbox-65534") }) // nobody's state root
	run := func(args ...string) (int, string) {
		cmd := exec.Command(pboxBin(t), args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), errOut.String()
		}
		return 0, errOut.String()
	}
	if code, stderr := run("run", "--", "true"); code != 0 {
		t.Errorf("a rootless box as nobody: %d, stderr %q", code, stderr)
	}
	if code, stderr := run("run", "--memory", "64M", "--", "true"); code != 125 || !strings.Contains(stderr, "sudo") {
		t.Errorf("a limit as nobody: %d, stderr %q; want 125 and a hint to use sudo", code, stderr)
	}
}

func TestE2EExitStatuses(t *testing.T) {
	testutil.RequireRoot(t)
	tests := []struct {
		cmd  string
		want int
	}{
		{"exit 0", 0}, {"exit 3", 3}, {"kill -KILL $$", 137}, {"kill -TERM $$", 143},
	}
	for _, tt := range tests {
		name := boxName(t, "st")
		r := pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--", "sh", "-c", tt.cmd)
		if r.code != tt.want {
			t.Errorf("%q: status %d, want %d (stderr %q)", tt.cmd, r.code, tt.want, r.stderr)
		}
		assertNoLeftovers(t, name)
	}
}

// runningBox is a `pbox run` in the background whose COMMAND printed
// "ready" once it was set up.
type runningBox struct {
	cmd    *exec.Cmd
	name   string
	stdout *bufio.Reader
	stderr *bytes.Buffer
	waited chan struct{}
	code   int
}

func startBox(t *testing.T, name string, setpgid bool, args ...string) *runningBox {
	t.Helper()
	testutil.RequireRoot(t)
	full := append([]string{"run", "--name", name, "--cgroup-parent", e2eParent}, args...)
	cmd := exec.Command(pboxBin(t), full...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: setpgid}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b := &runningBox{cmd: cmd, name: name, stdout: bufio.NewReader(out), stderr: &bytes.Buffer{}, waited: make(chan struct{})}
	cmd.Stderr = b.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-b.waited:
		default:
			testutil.Kill(t, cmd.Process.Pid, syscall.SIGKILL)
			b.wait(t)
		}
		pbox(t, "cleanup", "--cgroup-parent", e2eParent)
	})
	line, err := b.stdout.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("box did not get ready: %q %v; stderr %q", line, err, b.stderr.String())
	}
	return b
}

func (b *runningBox) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-b.waited:
		return b.code
	default:
	}
	io.Copy(io.Discard, b.stdout)
	err := b.cmd.Wait()
	b.code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		b.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			b.code = 128 + int(ws.Signal())
		}
	}
	close(b.waited)
	return b.code
}

func (b *runningBox) rest(t *testing.T) string {
	data, _ := io.ReadAll(b.stdout)
	return string(data)
}

func TestE2EBoxFromTheHostSide(t *testing.T) {
	name := boxName(t, "host")
	b := startBox(t, name, false, "--hostname", "lab", "--", "sh", "-c", "echo ready; exec sleep 100")
	pids := testutil.CgroupProcs(e2eParent, name)
	if len(pids) != 2 {
		t.Fatalf("cgroup.procs of the box: %v, want the init and sleep", pids)
	}
	for _, pid := range pids {
		status, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		nspid := statusField(string(status), "NSpid")
		if len(nspid) != 2 || nspid[0] != strconv.Itoa(pid) {
			t.Errorf("pid %d NSpid %v: want the host pid and the box pid", pid, nspid)
		}
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if c := strings.TrimSpace(string(comm)); (c == "pbox-init") != (nspid[1] == "1") {
			t.Errorf("pid %d (%s) has box pid %s: only pbox-init is PID 1", pid, c, nspid[1])
		}
		for _, ns := range []string{"pid", "mnt", "uts"} {
			mine, _ := os.Readlink("/proc/self/ns/" + ns)
			theirs, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/" + ns)
			if mine == theirs {
				t.Errorf("pid %d shares the %s namespace with the host (%s)", pid, ns, mine)
			}
		}
	}
	testutil.Kill(t, b.cmd.Process.Pid, syscall.SIGTERM)
	if code := b.wait(t); code != 143 {
		t.Errorf("sleep got SIGTERM through pbox and the init: status %d, want 143", code)
	}
	assertNoLeftovers(t, name)
	for _, pid := range pids {
		if testutil.Alive(pid) {
			t.Errorf("pid %d survived its box", pid)
		}
	}
}

func TestE2ESignalsReachATrappingCommand(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1} {
		name := boxName(t, "sig")
		b := startBox(t, name, false, "--", "sh", "-c",
			fmt.Sprintf(`trap 'echo got %d; exit 3' %d; echo ready; while :; do sleep 0.05; done`, sig, sig))
		testutil.Kill(t, b.cmd.Process.Pid, sig)
		out := b.rest(t)
		if code := b.wait(t); code != 3 || !strings.Contains(out, fmt.Sprintf("got %d", sig)) {
			t.Errorf("%v: status %d output %q; want the trap to run and 3", sig, code, out)
		}
		assertNoLeftovers(t, name)
	}
}

func TestE2ECtrlCReachesTheBox(t *testing.T) {
	// A terminal's Ctrl-C signals the whole foreground process group.
	name := boxName(t, "ctrlc")
	b := startBox(t, name, true, "--", "sh", "-c", `trap 'echo got INT; exit 4' INT; echo ready; while :; do sleep 0.05; done`)
	testutil.KillGroup(t, b.cmd.Process.Pid, syscall.SIGINT)
	out := b.rest(t)
	if code := b.wait(t); code != 4 || !strings.Contains(out, "got INT") {
		t.Errorf("status %d output %q", code, out)
	}
	assertNoLeftovers(t, name)
}

func TestE2EBoxDiesWithPbox(t *testing.T) {
	name := boxName(t, "sigkill")
	b := startBox(t, name, false, "--", "sh", "-c", "sleep 100 & echo ready; wait")
	pids := testutil.CgroupProcs(e2eParent, name)
	if len(pids) < 3 {
		t.Fatalf("want init, sh and sleep in the box, got %v", pids)
	}
	testutil.Kill(t, b.cmd.Process.Pid, syscall.SIGKILL)
	b.wait(t)
	if !testutil.WaitFor(5*time.Second, func() bool {
		for _, pid := range pids {
			if testutil.Alive(pid) {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("box processes %v outlived a SIGKILLed pbox", pids)
	}
	// SIGKILL leaves the empty cgroup directory; cleanup finds it.
	r := pbox(t, "cleanup", "--cgroup-parent", e2eParent)
	if r.code != 0 || !strings.Contains(r.stdout, name) {
		t.Errorf("cleanup: %+v, want it to remove %s", r, name)
	}
	assertNoLeftovers(t, name)
}

func TestE2EOOMKillIsReported(t *testing.T) {
	testutil.RequireRoot(t)
	name := boxName(t, "oom")
	r := pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--memory", "32M", "--", "sh", "-c", "head -c 314572800 /dev/zero | tail")
	want := fmt.Sprintf("pbox: box %s was OOM-killed (memory limit 32 MiB)", name)
	if r.code != 137 || !strings.Contains(r.stderr, want) {
		t.Errorf("status %d stderr %q; want 137 and %q", r.code, r.stderr, want)
	}
	assertNoLeftovers(t, name)
}

func TestE2EZombiesPileUpWithoutInit(t *testing.T) {
	const orphans = 20
	// The orphans outlive the loop: one that ended while sh (PID 1 until
	// its exec) still ran would be reaped by sh, and on a loaded machine
	// the loop has taken longer than 0.2 s (CI saw 13-19 zombies of 20).
	script := fmt.Sprintf(`for i in $(seq %d); do (sleep 3 &); done; echo ready; exec sleep 100`, orphans)
	for _, noInit := range []bool{true, false} {
		name := boxName(t, fmt.Sprintf("zombie-%v", noInit))
		args := []string{"--", "sh", "-c", script}
		if noInit {
			args = append([]string{"--no-init"}, args...)
		}
		b := startBox(t, name, false, args...)
		pid1 := boxPID1(t, name)
		var zombies int
		testutil.WaitFor(20*time.Second, func() bool {
			zombies = testutil.ChildrenInState(pid1, "Z")
			if noInit {
				return zombies == orphans
			}
			// Under the init: until the orphans have ended (their
			// sleeps were the init's children, adopted).
			alive := 0
			for _, st := range []string{"S", "R", "D"} {
				alive += testutil.ChildrenInState(pid1, st)
			}
			return alive <= 1 // COMMAND's sleep 100
		})
		time.Sleep(300 * time.Millisecond) // give a working init time to reap
		zombies = testutil.ChildrenInState(pid1, "Z")
		if noInit && zombies != orphans {
			t.Errorf("--no-init: %d zombies under PID 1, want %d", zombies, orphans)
		}
		if !noInit && zombies != 0 {
			t.Errorf("with pbox-init: %d zombies, want 0", zombies)
		}
		// SIGTERM through pbox: sleep as PID 1 has no handler, so the
		// kernel drops it; under the init, sleep is not PID 1 and dies.
		testutil.Kill(t, b.cmd.Process.Pid, syscall.SIGTERM)
		if noInit {
			time.Sleep(300 * time.Millisecond)
			if !testutil.Alive(pid1) {
				t.Error("PID 1 without a SIGTERM handler died of SIGTERM")
			}
			testutil.Kill(t, b.cmd.Process.Pid, syscall.SIGKILL)
		} else if code := b.wait(t); code != 143 {
			t.Errorf("with the init, SIGTERM ended the box with %d, want 143", code)
		}
		b.wait(t)
	}
}

// boxPID1 finds the host pid of the box's PID 1 from its cgroup.
func boxPID1(t *testing.T, name string) int {
	t.Helper()
	for _, pid := range testutil.CgroupProcs(e2eParent, name) {
		status, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if ns := statusField(string(status), "NSpid"); len(ns) == 2 && ns[1] == "1" {
			return pid
		}
	}
	t.Fatalf("no PID 1 found in box %s", name)
	return 0
}

func TestE2EMountsDoNotLeakFromASharedRoot(t *testing.T) {
	// systemd makes / shared; this machine's / is private. Recreate a
	// systemd host in a throwaway mount namespace, then compare its mount
	// table before and after boxes ran. The control proves the check sees
	// propagation: a nested namespace that mounts without going private
	// first does change it.
	testutil.RequireRoot(t)
	bin := pboxBin(t)
	script := fmt.Sprintf(`set -e
mount --make-rshared /
cat /proc/self/mountinfo > %[3]s/before
%[1]s run --cgroup-parent %[2]s -- true
%[1]s run --cgroup-parent %[2]s --ns pid,mnt -- sh -c 'mount -t tmpfs boxonly /mnt'
cat /proc/self/mountinfo > %[3]s/after
# Only what the boxes mount is compared (their /proc and the tmpfs
# "boxonly"): the rest of the host's table may change beside the test.
owned() { grep -E ' - proc | boxonly | pbox-control ' "$1" | sed 's/^[0-9]* [0-9]* //' | sort; }
if [ "$(owned %[3]s/after)" = "$(owned %[3]s/before)" ]; then echo boxes=unchanged; else echo boxes=changed; diff %[3]s/before %[3]s/after || true; fi
unshare --mount --propagation shared mount -t tmpfs pbox-control /mnt
cat /proc/self/mountinfo > %[3]s/after
if [ "$(owned %[3]s/after)" = "$(owned %[3]s/before)" ]; then echo control=unchanged; else echo control=changed; fi
`, bin, e2eParent, t.TempDir())
	out, err := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "control=changed") {
		t.Fatalf("the control did not see propagation, so this test proves nothing:\n%s", out)
	}
	if !strings.Contains(string(out), "boxes=unchanged") {
		t.Errorf("a box changed the mount table of a shared-root host:\n%s", out)
	}
}

func TestE2EVerboseExplainsEachStep(t *testing.T) {
	testutil.RequireRoot(t)
	name := boxName(t, "verbose")
	r := pbox(t, "run", "-v", "--name", name, "--cgroup-parent", e2eParent, "--pids-limit", "50", "--", "true")
	for _, want := range []string{
		"CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS",
		"mount: make / private, recursively (MS_REC|MS_PRIVATE)",
		"mount: mount proc on /proc type proc (MS_NOSUID|MS_NODEV|MS_NOEXEC)",
		`write "50" to `,
		"pids.max",
		`sethostname "` + name + `"`,
		"cgroup: rmdir ",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("-v output lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.code != 0 {
		t.Errorf("status %d", r.code)
	}
	assertNoLeftovers(t, name)
}

func TestE2ENameInUse(t *testing.T) {
	name := boxName(t, "dup")
	b := startBox(t, name, false, "--", "sh", "-c", "echo ready; exec sleep 100")
	r := pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--", "true")
	assertCleanError(t, r, 125, "pick another --name")
	testutil.Kill(t, b.cmd.Process.Pid, syscall.SIGTERM)
	b.wait(t)
	assertNoLeftovers(t, name)
}

// Issue 19: a pbox that dies before its box ran leaves no box behind.
// (1) pbox run -v killed by its own output (| head -1 closes the pipe):
// writes to a closed pipe no longer kill pbox, and the box runs to its end.
// (2) A claimed directory with no record, whose pbox is gone, and (3) a
// record of a set-up that was SIGKILLed after its cgroups were made but
// before they were recorded: ps -a does not list them, and they are
// removed — cgroups included — by ps, by rm, or when the name is used
// again.
func TestE2ENoPhantomBoxes(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	st := box.Store{Root: root}
	// (1)
	name := boxName(t, "sigpipe")
	sh := exec.Command("sh", "-c", pboxBin(t)+" --root "+root+" run -v --rm --name "+name+" --cgroup-parent "+e2eParent+" -- true 2>&1 | head -1")
	if out, err := sh.CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "pbox: ") {
		t.Fatalf("run -v | head -1: %q %v", out, err)
	}
	testutil.WaitFor(5*time.Second, func() bool { _, err := os.Stat(filepath.Join(root, name)); return err != nil })
	if _, err := os.Stat(filepath.Join(root, name)); err == nil {
		t.Errorf("pbox run -v | head -1 left its box's state: %v", psAll(t, root)[name])
	}
	assertNoLeftovers(t, name)
	// (2) A claim whose pbox died before it wrote a record.
	unwritten := boxName(t, "unwritten")
	os.Mkdir(filepath.Join(root, unwritten), 0o711)
	// (3) A set-up killed after MarkCgroup and the mkdirs.
	killed := boxName(t, "killed")
	gone := exec.Command("true")
	gone.Run() // a pid that no longer runs: the killed pbox's
	os.Mkdir(filepath.Join(root, killed), 0o711)
	if err := st.Write(&box.Record{OCIVersion: box.OCIVersion, ID: killed, Status: box.StatusCreating, Monitor: gone.Process.Pid, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	rel := "/" + e2eParent + "/" + st.CgroupLeaf(killed)
	if err := st.MarkCgroup(killed, rel); err != nil {
		t.Fatal(err)
	}
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*/cgroup.procs")
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		hierarchies = []string{"/sys/fs/cgroup/cgroup.procs"} // cgroup v2
	}
	made := 0
	for _, h := range hierarchies {
		if os.MkdirAll(filepath.Join(filepath.Dir(h), rel), 0o755) == nil {
			made++
		}
	}
	if made == 0 || len(testutil.CgroupDirs(e2eParent, killed)) == 0 {
		t.Fatal("could not make the killed set-up's cgroups: the test would prove nothing")
	}
	all := psAll(t, root)
	for _, n := range []string{unwritten, killed} {
		if e, ok := all[n]; ok {
			t.Errorf("ps -a lists %s, whose pbox died before it ran: %+v", n, e)
		}
		if _, err := os.Stat(filepath.Join(root, n)); err == nil {
			t.Errorf("ps -a left %s's state", n)
		}
	}
	assertNoLeftovers(t, killed)
	// rm of such a record removes its cgroups too, and run reuses a name
	// whose claim was abandoned.
	os.Mkdir(filepath.Join(root, killed), 0o711)
	if err := st.Write(&box.Record{OCIVersion: box.OCIVersion, ID: killed, Status: box.StatusCreating, Monitor: gone.Process.Pid, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	st.MarkCgroup(killed, rel)
	for _, h := range hierarchies {
		os.MkdirAll(filepath.Join(filepath.Dir(h), rel), 0o755)
	}
	if r := pbox(t, "--root", root, "rm", killed); r.code != 0 {
		t.Errorf("rm %s: %+v", killed, r)
	}
	assertNoLeftovers(t, killed)
	os.Mkdir(filepath.Join(root, unwritten), 0o711)
	if r := pbox(t, "--root", root, "run", "--name", unwritten, "--cgroup-parent", e2eParent, "--", "true"); r.code != 0 {
		t.Errorf("run --name %s after an abandoned claim: %+v", unwritten, r)
	}
	assertNoLeftovers(t, unwritten)
}

// Issue 19: a config bigger than the sync socket's buffer (three 100 KB
// -e values) hung pbox for good: it waited to send the config to an init
// that did not exist yet. It starts now, and the values arrive whole.
func TestE2EBigConfigStarts(t *testing.T) {
	testutil.RequireRoot(t)
	big := strings.Repeat("a", 100_000)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	name := boxName(t, "bigconfig")
	cmd := exec.CommandContext(ctx, pboxBin(t), "run", "--name", name, "--cgroup-parent", e2eParent,
		"-e", "A="+big, "-e", "B="+big, "-e", "C="+big, "--", "sh", "-c", `echo ${#A} ${#B} ${#C}`)
	out, err := cmd.Output()
	if ctx.Err() != nil {
		t.Fatal("pbox run with a 300 KB config did not finish within a minute")
	}
	if err != nil || strings.TrimSpace(string(out)) != "100000 100000 100000" {
		t.Errorf("pbox run with a 300 KB config: %q %v", out, err)
	}
	assertNoLeftovers(t, name)
}

// Issue 23: `ip netns exec NS pbox run` works. ip netns exec runs its
// command in a mount namespace of its own with a fresh /sys, whose
// /sys/fs/cgroup is empty; pbox mounts the hierarchies it is in there
// (and only there), so limits work, a detached box is handled from
// outside, and the host's mount table is as it was. The test makes that
// namespace as ip netns exec does (busybox's unshare: the VM lane has no
// ip netns).
func TestE2ECgroupsMountedWhereMissing(t *testing.T) {
	testutil.RequireRoot(t)
	bb, err := exec.LookPath("busybox")
	if err != nil {
		testutil.SkipOrFail(t, "busybox not found (apt-get install busybox-static)")
	}
	countCgroupMounts := func() int {
		data, _ := os.ReadFile("/proc/self/mountinfo")
		return strings.Count(string(data), " - cgroup")
	}
	before := countCgroupMounts()
	root := stateRoot(t)
	name, detached := boxName(t, "netnsexec"), boxName(t, "netnsexecd")
	inIPNetnsExec := func(args ...string) result {
		script := `umount -l /sys && mount -t sysfs sysfs /sys && echo "hierarchies: $(ls /sys/fs/cgroup | wc -l)" && exec "$@"`
		argv := append([]string{"unshare", "-m", "--propagation", "slave", "sh", "-c", script, "sh", pboxBin(t), "--root", root}, args...)
		return runCaptured(t, exec.Command(bb, argv...))
	}
	r := inIPNetnsExec("run", "--rm", "--name", name, "--cgroup-parent", e2eParent, "--ns", "pid,mnt,uts,ipc", "--memory", "32M", "--pids-limit", "20", "--", "cat", "/proc/self/cgroup")
	if !strings.HasPrefix(r.stdout, "hierarchies: 0\n") {
		t.Fatalf("the namespace has cgroup hierarchies mounted: this test proves nothing: %+v", r)
	}
	if r.code != 0 || !strings.Contains(r.stdout, name) {
		t.Errorf("pbox run with limits where /sys/fs/cgroup is empty: %+v", r)
	}
	assertNoLeftovers(t, name)
	if r := inIPNetnsExec("run", "-d", "--name", detached, "--cgroup-parent", e2eParent, "--memory", "32M", "--", "sleep", "100"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	if r := pbox(t, "--root", root, "stats", "--no-stream", detached); r.code != 0 || !strings.Contains(r.stdout, "32 MiB") {
		t.Errorf("stats from the host of a box started there: %+v", r)
	}
	if r := pbox(t, "--root", root, "rm", "-f", detached); r.code != 0 {
		t.Errorf("rm -f from the host: %+v", r)
	}
	assertNoLeftovers(t, detached)
	if after := countCgroupMounts(); after != before {
		t.Errorf("the host has %d cgroup mounts, had %d: pbox's mounts leaked out of the private namespace", after, before)
	}
}
