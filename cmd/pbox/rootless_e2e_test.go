package main

// End-to-end tests of rootless boxes (issue 25): pbox run by an ordinary
// user the test creates, with and without subordinate ids, as the user
// would type it.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/internal/testutil"
	"golang.org/x/sys/unix"
)

// testUser is an ordinary user made for one test, and removed after it
// with its home, subordinate ids and pbox state.
type testUser struct {
	name     string
	uid, gid int
	dir      string // a directory of the user's, which it can reach
	bin      string // pbox, where the user can run it
}

func newTestUser(t *testing.T, subIDs bool) testUser {
	t.Helper()
	testutil.RequireRoot(t)
	if _, err := exec.LookPath("useradd"); err != nil {
		testutil.SkipOrFail(t, "no useradd (Debian's passwd package): %v", err)
	}
	name := fmt.Sprintf("pboxt%d", os.Getpid()%100000)
	if !subIDs {
		name += "n"
	}
	args := []string{"--no-create-home", "--shell", "/bin/sh", name}
	if !subIDs {
		args = append([]string{"--no-user-group", "--gid", "100"}, args...)
	}
	// setSubIDs leaves name's subordinate ids in file as the test wants
	// them: none, or one range of the test's own.
	setSubIDs := func(file string, give bool) {
		data, _ := os.ReadFile(file)
		var keep []string
		for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if !strings.HasPrefix(l, name+":") && l != "" {
				keep = append(keep, l)
			}
		}
		if give {
			keep = append(keep, fmt.Sprintf("%s:%d:65536", name, testSubIDs()))
		}
		os.WriteFile(file, []byte(strings.Join(keep, "\n")+"\n"), 0o644)
	}
	userdel := func() {
		exec.Command("userdel", name).Run()
		// userdel leaves the subordinate ids on some versions.
		setSubIDs("/etc/subuid", false)
		setSubIDs("/etc/subgid", false)
	}
	userdel()
	if out, err := exec.Command("useradd", args...).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(userdel)
	u := testUser{name: name}
	out, err := exec.Command("id", "-u", name).Output()
	u.uid, _ = strconv.Atoi(strings.TrimSpace(string(out)))
	out2, err2 := exec.Command("id", "-g", name).Output()
	u.gid, _ = strconv.Atoi(strings.TrimSpace(string(out2)))
	if err != nil || err2 != nil || u.uid == 0 {
		t.Fatalf("id of %s: %v %v", name, err, err2)
	}
	// useradd's automatic ranges give way to the test's own (or none).
	setSubIDs("/etc/subuid", subIDs)
	setSubIDs("/etc/subgid", subIDs)
	// A directory the user can reach (a test's TempDir is root's alone).
	u.dir, err = os.MkdirTemp("", "pbox-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(u.dir) })
	os.Chmod(u.dir, 0o755)
	u.bin = filepath.Join(u.dir, "pbox")
	data, err := os.ReadFile(pboxBin(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(u.bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The user's state root (no XDG_RUNTIME_DIR here): its boxes
		// first, as the user would.
		root := fmt.Sprintf("/tmp/pbox-%d", u.uid)
		if ids, _ := os.ReadDir(root); len(ids) > 0 {
			for _, e := range ids {
				if !strings.HasPrefix(e.Name(), ".") {
					u.pbox(t, "rm", "-f", e.Name())
				}
			}
		}
		os.RemoveAll(root)
	})
	return u
}

// testSubIDs is where a test user's subordinate ids start: far above
// useradd's ranges, one range per test process.
func testSubIDs() int { return 3000000 + 65536*(os.Getpid()%1000) }

// pbox runs pbox as the user, in its directory, with a clean environment
// (no XDG_RUNTIME_DIR: the state root is /tmp/pbox-UID).
func (u testUser) pbox(t *testing.T, args ...string) result {
	t.Helper()
	return u.pboxEnv(t, []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}, args...)
}

func (u testUser) pboxEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(u.bin, args...)
	cmd.Dir = u.dir
	cmd.Env = append([]string{"HOME=" + u.dir, "USER=" + u.name}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid)}}
	return runCaptured(t, cmd)
}

// Issue 25: an ordinary user runs boxes, is root in them and nothing more
// outside: its own uid is 0 inside, its subordinate ids follow; a file it
// makes in a bound directory is the user's on the host; the host's
// /etc/shadow stays unreadable; limits, a CNI network and the rest of what
// needs host root are refused with one line and nothing left; -d, ps,
// exec, logs, stop and rm work on the user's own state root, which root's
// pbox ps does not list.
func TestE2ERootless(t *testing.T) {
	u := newTestUser(t, true)
	// The user makes its own root filesystem, which its box may write.
	rootfs := filepath.Join(u.dir, "rootfs")
	os.Chown(u.dir, u.uid, u.gid)
	if r := u.pbox(t, "rootfs", "busybox", rootfs); r.code != 0 {
		t.Fatalf("rootfs busybox as the user: %+v", r)
	}
	sub := testSubIDs()

	r := u.pbox(t, "run", "--", "sh", "-c", "id -u; cat /proc/self/uid_map")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "0\n") || !strings.Contains(r.stdout, fmt.Sprintf("0 %10d          1", u.uid)) ||
		!strings.Contains(r.stdout, fmt.Sprintf("1 %10d      65536", sub)) || r.stderr != "" {
		t.Errorf("a rootless box's ids: %+v; want uid 0 = %d, 1.. = %d..", r, u.uid, sub)
	}

	// Root inside, the user outside: its file in a bound directory.
	data := filepath.Join(u.dir, "data")
	os.Mkdir(data, 0o755)
	os.Chown(data, u.uid, u.gid)
	r = u.pbox(t, "run", "--rootfs", rootfs, "-v", data+":/data", "-v", "/etc/shadow:/shadow:ro", "--",
		"sh", "-c", "touch /data/made-inside; grep CapEff /proc/self/status; grep CapAmb /proc/self/status; cat /shadow && echo READ-SHADOW")
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(data, "made-inside"), &st); err != nil || int(st.Uid) != u.uid {
		t.Errorf("a file root made in the box is uid %d on the host (%v), want the user's %d: %+v", st.Uid, err, u.uid, r)
	}
	if strings.Contains(r.stdout, "READ-SHADOW") || !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("root in a rootless box read the host's /etc/shadow: %+v", r)
	}
	if !strings.Contains(r.stdout, "CapEff:\t00000000a80405fb") || !strings.Contains(r.stdout, "CapAmb:\t0000000000000000") {
		t.Errorf("a rootless --rootfs box's capabilities (Docker's default set, nothing ambient): %q", r.stdout)
	}

	// What needs host root: one line each, status 125, nothing left.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--memory", "64M"}, "--memory: a rootless box has no cgroup of its own"},
		{[]string{"--pids-limit", "10"}, "--pids-limit: a rootless box has no cgroup of its own"},
		{[]string{"--network", "bridge"}, "--network bridge: a CNI network needs root"},
		{[]string{"-u", "70000"}, "--user 70000:0: not an id of this rootless box"},
	} {
		name := boxName(t, "rl-bad")
		r := u.pbox(t, append(append([]string{"run", "--name", name}, c.args...), "--", "true")...)
		assertCleanError(t, r, 125, c.want)
		if _, err := os.Stat(filepath.Join(fmt.Sprintf("/tmp/pbox-%d", u.uid), name)); err == nil {
			t.Errorf("%v left its state", c.args)
		}
	}

	// A box that lives on, on the user's own state root.
	name := boxName(t, "rl-d")
	if r := u.pbox(t, "run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", "echo started; sleep 100"); r.code != 0 {
		t.Fatalf("run -d as a user: %+v", r)
	}
	if r := u.pbox(t, "ps"); !strings.Contains(r.stdout, name) {
		t.Errorf("the user's ps: %+v", r)
	}
	if r := pbox(t, "ps", "-a"); strings.Contains(r.stdout, name) {
		t.Errorf("root's ps lists the user's box: %s", r.stdout)
	}
	if r := u.pbox(t, "exec", name, "--", "sh", "-c", "id -u; cat /proc/1/comm"); r.code != 0 || r.stdout != "0\npbox-init\n" {
		t.Errorf("exec into a rootless box: %+v", r)
	}
	if r := u.pbox(t, "inspect", name); !strings.Contains(r.stdout, fmt.Sprintf("uid 0 inside is uid %d outside", u.uid)) {
		t.Errorf("inspect of a rootless box: %s", r.stdout)
	}
	if r := u.pbox(t, "logs", name); r.stdout != "started\n" {
		t.Errorf("logs: %+v", r)
	}
	if r := u.pbox(t, "stop", "-t", "1", name); r.code != 0 {
		t.Errorf("stop: %+v", r)
	}
	if r := u.pbox(t, "rm", name); r.code != 0 {
		t.Errorf("rm: %+v", r)
	}
	if ids, _ := os.ReadDir(fmt.Sprintf("/tmp/pbox-%d", u.uid)); len(ids) > 1 { // .seccomp, a cache, may stay
		t.Errorf("the user's state root after rm: %v", ids)
	}
}

// Without subordinate ids the box has one uid and one gid, and says so;
// without newuidmap where it is needed, one line saying what to install.
func TestE2ERootlessWithoutSubordinateIDs(t *testing.T) {
	u := newTestUser(t, false)
	r := u.pbox(t, "run", "--", "cat", "/proc/self/uid_map", "/proc/self/setgroups")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stdout, fmt.Sprintf("0 %10d          1", u.uid)) || !strings.Contains(r.stdout, "deny") {
		t.Errorf("one mapping, setgroups denied: %+v", r)
	}
	if !strings.Contains(r.stderr, "pbox: note: "+u.name+" has no subordinate ids") {
		t.Errorf("no note about the missing subordinate ids: %q", r.stderr)
	}

	v := newTestUser(t, true)
	r = v.pboxEnv(t, []string{"PATH=/nonexistent"}, "run", "--", "/bin/true")
	assertCleanError(t, r, 125, "newuidmap is not installed")
}

// Issue 25: root gives a box a user namespace of its own: --userns auto
// takes a block of pbox's subordinate ids no other box has, --uidmap maps
// as told; root in such a box cannot read the host's /etc/shadow. Bad
// maps are refused with one line and nothing left.
func TestE2EUsernsForRoot(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	p := func(args ...string) result { return pbox(t, append([]string{"--root", root}, args...)...) }
	// pbox's subordinate ids, as an admin would add them (and removed).
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		old, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.WriteFile(f, old, 0o644) })
		var keep []string
		for _, l := range strings.Split(string(old), "\n") {
			if l != "" && !strings.HasPrefix(l, "pbox:") {
				keep = append(keep, l)
			}
		}
		keep = append(keep, "pbox:5000000:131072")
		os.WriteFile(f, []byte(strings.Join(keep, "\n")+"\n"), 0o644)
	}
	a, b := boxName(t, "ua"), boxName(t, "ub")
	for _, n := range []string{a, b} {
		if r := p("run", "-d", "--name", n, "--userns", "auto", "--cgroup-parent", e2eParent, "--", "sleep", "100"); r.code != 0 {
			t.Fatalf("run -d --userns auto: %+v", r)
		}
		defer func(n string) { p("rm", "-f", n); assertNoLeftovers(t, n) }(n)
	}
	maps := map[string]string{}
	for _, n := range []string{a, b} {
		r := p("exec", n, "--", "sh", "-c", "cat /proc/self/uid_map; cat /etc/shadow >/dev/null 2>&1 || echo no-shadow")
		maps[n] = strings.Join(strings.Fields(r.stdout), " ")
	}
	if maps[a] != "0 5000000 65536 no-shadow" || maps[b] != "0 5065536 65536 no-shadow" {
		t.Errorf("--userns auto: two boxes, two blocks, no /etc/shadow: %v", maps)
	}
	if r := p("inspect", a); !strings.Contains(r.stdout, "uid 0 inside is uid 5000000 outside") {
		t.Errorf("inspect --userns auto: %s", r.stdout)
	}
	// A third box has no block left.
	assertCleanError(t, p("run", "--userns", "auto", "--cgroup-parent", e2eParent, "--", "true"), 125, "every block of 65536")
	p("rm", "-f", a)
	if entries, _ := os.ReadDir(filepath.Join(root, ".userns")); len(entries) != 1 {
		t.Errorf("after rm, the blocks still claimed: %v", entries)
	}

	r := p("run", "--uidmap", "0:6000000:1000", "--cgroup-parent", e2eParent, "--", "cat", "/proc/self/uid_map", "/proc/self/gid_map")
	if got := strings.Join(strings.Fields(r.stdout), " "); r.code != 0 || got != "0 6000000 1000 0 6000000 1000" {
		t.Errorf("--uidmap alone maps uids and gids: %+v", r)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--uidmap", "0:100000:65536", "--uidmap", "10:300000:5"}, "overlap inside the box"},
		{[]string{"--uidmap", "0:100000"}, "give CONTAINER:HOST:SIZE"},
		{[]string{"--userns", "auto", "--uidmap", "0:1:1"}, "pick one"},
		{[]string{"--userns", "private"}, `--userns "private"`},
		{[]string{"--uidmap", "0:100000:10", "-u", "20"}, "not mapped by the box's user namespace"},
		{[]string{"--userns", "auto", "-u", "70000"}, "not mapped by the box's user namespace"},
	} {
		assertCleanError(t, p(append(append([]string{"run", "--cgroup-parent", e2eParent}, c.args...), "--", "true")...), 125, c.want)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, ".userns")); len(entries) != 1 {
		t.Errorf("a refused --userns auto box left its block claimed: %v", entries)
	}
}

// Issue 25: on cgroup v2, a user with a delegated subtree (here a
// directory root chowned to it, as the kernel's cgroup-v2 "Delegation"
// describes; systemd's user@UID.service is the same) gets limits for its
// rootless boxes: pbox, started in that subtree, makes the box's cgroup in
// it. The user needs no passwd entry (uid 4242) and no subordinate ids.
// On v1 and hybrid hosts nothing can be delegated this way, and limits are
// refused (the VM lane runs the v2 half).
func TestE2EDelegatedCgroupForAUser(t *testing.T) {
	testutil.RequireRoot(t)
	const uid = 4242
	dir, err := os.MkdirTemp("", "pbox-deleg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "pbox")
	data, err := os.ReadFile(pboxBin(t))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bin, data, 0o755)
	state := fmt.Sprintf("/tmp/pbox-%d", uid)
	t.Cleanup(func() { os.RemoveAll(state) })
	run := func(cgroupFD int, args ...string) result {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		if cgroupFD >= 0 {
			cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, cgroupFD
		}
		return runCaptured(t, cmd)
	}
	if cgroups.DetectMode() != cgroups.V2 {
		assertCleanError(t, run(-1, "run", "--memory", "64M", "--", "true"), 125, "no cgroup of its own here")
		return
	}

	// The subtree, as root delegates it: the directory and its
	// cgroup.procs, cgroup.subtree_control and cgroup.threads are the
	// user's; the user's processes start in a leaf of it.
	top := filepath.Join("/sys/fs/cgroup", fmt.Sprintf("pbox-e2e-deleg-%d", os.Getpid()))
	for _, c := range []string{"+memory", "+pids", "+cpu"} {
		os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte(c), 0)
	}
	shell := filepath.Join(top, "shell")
	for _, d := range []string{top, shell} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"} {
			os.Chown(filepath.Join(d, f), uid, uid)
		}
	}
	t.Cleanup(func() {
		for _, d := range []string{filepath.Join(top, "pbox"), shell, top} {
			unix.Rmdir(d)
		}
	})
	fd, err := unix.Open(shell, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)

	name := boxName(t, "deleg")
	if r := run(fd, "run", "-d", "--name", name, "--memory", "64M", "--pids-limit", "20", "--", "sleep", "100"); r.code != 0 {
		t.Fatalf("run -d --memory as a user with a delegated subtree: %+v", r)
	}
	boxes, _ := filepath.Glob(filepath.Join(top, "pbox", name+"@*"))
	if len(boxes) != 1 {
		t.Fatalf("the box's cgroup in the user's subtree: %v", boxes)
	}
	mem, _ := os.ReadFile(filepath.Join(boxes[0], "memory.max"))
	pids, _ := os.ReadFile(filepath.Join(boxes[0], "pids.max"))
	procs, _ := os.ReadFile(filepath.Join(boxes[0], "cgroup.procs"))
	if strings.TrimSpace(string(mem)) != "67108864" || strings.TrimSpace(string(pids)) != "20" || len(strings.Fields(string(procs))) == 0 {
		t.Errorf("the box's cgroup %s: memory.max %q, pids.max %q, procs %q", boxes[0], mem, pids, procs)
	}
	if r := run(fd, "stats", "--no-stream", "--json", name); !strings.Contains(r.stdout, `"memory_limit": 67108864`) {
		t.Errorf("stats of a rootless box with limits: %+v", r)
	}
	if r := run(fd, "rm", "-f", name); r.code != 0 {
		t.Errorf("rm -f: %+v", r)
	}
	if _, err := os.Stat(boxes[0]); !os.IsNotExist(err) {
		t.Errorf("the box's cgroup outlived it: %v", err)
	}
}
