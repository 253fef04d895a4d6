package main

// The containment suite: each test is an attack from inside a default box
// (root, Docker's capabilities), written down before the hole was closed
// (issue 10). A default box must keep the host's files, devices,
// descriptors, keyrings, sysctls, cgroups and the pbox binary out of reach.

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/box"
	"github.com/pbox-dev/pbox/internal/testutil"
	"github.com/pbox-dev/pbox/rootfs"
	"golang.org/x/sys/unix"
)

// hostSecret makes a host directory with a file "secret" in it and opens
// the directory: the kind of descriptor a caller's shell may hold.
func hostSecret(t *testing.T) (*os.File, string) {
	t.Helper()
	dir := t.TempDir()
	const secret = "host-secret-4242"
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, secret
}

// fdsOf lists where a process's descriptors lead.
func fdsOf(pid int) []string {
	entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	var out []string
	for _, e := range entries {
		l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		out = append(out, e.Name()+" -> "+l)
	}
	return out
}

// Attack: a caller's shell holds `exec 9</some/host/dir`; the box reads
// the host through /proc/self/fd/9, or starts with its cwd there.
func TestContainmentInheritedDescriptors(t *testing.T) {
	root := busyboxRootfs(t)
	dir, secret := hostSecret(t)
	fd9 := []*os.File{nil, nil, nil, nil, nil, nil, dir} // fd 9
	name := boxName(t, "fd9")
	r := pboxWith(t, fd9, nil, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--",
		"sh", "-c", "cat /proc/self/fd/9/secret; ls /proc/self/fd")
	if strings.Contains(r.stdout, secret) {
		t.Errorf("the box read a host file through an inherited descriptor:\n%s", r.stdout)
	}
	if fields := strings.Fields(r.stdout); len(fields) != 4 { // 0 1 2 and ls's own directory
		t.Errorf("the box holds descriptors beyond stdio: %q (stderr %q)", fields, r.stderr)
	}
	assertNoLeftovers(t, name)

	// The working directory through the inherited descriptor, and through
	// one passed on purpose: refused, nothing left behind.
	for _, extra := range [][]string{nil, {"--preserve-fds", "7"}} {
		args := append([]string{"run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root}, extra...)
		args = append(args, "-w", "/proc/self/fd/9", "--", "sh", "-c", "pwd; cat secret")
		r = pboxWith(t, fd9, nil, args...)
		if strings.Contains(r.stdout, secret) {
			t.Errorf("%v: the box's working directory was on the host:\n%s", extra, r.stdout)
		}
		assertCleanError(t, r, 125, "/proc/self/fd/9")
		assertNoLeftovers(t, name)
	}

	// Passed on purpose: --preserve-fds 1 gives the box fd 3, nothing more.
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(pipeW, "passed-on-purpose")
	pipeW.Close()
	defer pipeR.Close()
	r = pboxWith(t, []*os.File{pipeR, nil, nil, nil, nil, nil, dir}, nil, "run", "--name", name, "--cgroup-parent", e2eParent,
		"--rootfs", root, "--preserve-fds", "1", "--", "sh", "-c", "cat <&3; ls /proc/self/fd")
	if r.code != 0 || !strings.Contains(r.stdout, "passed-on-purpose") {
		t.Errorf("--preserve-fds 1: %+v", r)
	}
	if fields := strings.Fields(r.stdout); len(fields) != 6 { // the line, 0 1 2 3, ls's dir
		t.Errorf("--preserve-fds 1: descriptors %q", fields)
	}
	// More than is open: a clear error, nothing started.
	r = pboxWith(t, nil, nil, "run", "--name", name, "--cgroup-parent", e2eParent, "--preserve-fds", "5", "--", "true")
	assertCleanError(t, r, 125, "descriptor 3 is not open")
	assertNoLeftovers(t, name)
}

// Attack: the -d monitor and the init keep the caller's descriptors, and
// pbox exec -w /proc/self/fd/N reaches the host through a descriptor of
// pbox's own (its cgroup directory) in a box without a PID namespace.
func TestContainmentDetachedAndExecDescriptors(t *testing.T) {
	testutil.RequireRoot(t)
	dir, _ := hostSecret(t)
	fd9 := []*os.File{nil, nil, nil, nil, nil, nil, dir}
	name := boxName(t, "fdd")
	r := pboxWith(t, fd9, nil, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--ns", "mnt,uts", "--", "sleep", "100")
	if r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	defer func() {
		pbox(t, "rm", "-f", name)
		assertNoLeftovers(t, name)
	}()
	rec := readState(t, name)
	for _, pid := range []int{rec.Monitor, rec.Pid} {
		for _, l := range fdsOf(pid) {
			if strings.Contains(l, dir.Name()) {
				t.Errorf("pid %d (monitor %d, init %d) holds the caller's descriptor: %s", pid, rec.Monitor, rec.Pid, l)
			}
		}
	}
	for n := 3; n < 16; n++ {
		wd := fmt.Sprintf("/proc/self/fd/%d", n)
		r := pboxWith(t, fd9, nil, "exec", "-w", wd, name, "--", "sh", "-c", "pwd; ls")
		if r.code == 0 {
			t.Errorf("exec -w %s ran (cwd %q)", wd, r.stdout)
		}
		if strings.Contains(r.stdout, "cgroup.procs") || strings.Contains(r.stdout, "secret") {
			t.Errorf("exec -w %s reached the host:\n%s", wd, r.stdout)
		}
	}
	r = pboxWith(t, fd9, nil, "exec", name, "--", "ls", "/proc/self/fd")
	if fields := strings.Fields(r.stdout); r.code != 0 || len(fields) != 4 {
		t.Errorf("exec: the process holds descriptors beyond stdio: %+v", r)
	}
}

// Attack (CVE-2019-5736): a process in the box holds /proc/<pid>/exe of a
// pbox process — PID 1 (the init), or the process a `#!/proc/self/exe`
// script (or a symlink to /proc/self/exe) becomes under pbox exec — and
// once no pbox runs from it, reopens it for writing to replace the host's
// pbox. Played here from the host with O_PATH descriptors, which is what
// such a process holds; the write is only opened, never done.
func TestContainmentPboxBinaryStaysReadOnly(t *testing.T) {
	root := busyboxRootfs(t)
	if err := os.Symlink("/proc/self/exe", filepath.Join(root, "evil")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "evil.sh"), []byte("#!/proc/self/exe\n"), 0o755)
	name := boxName(t, "exe")
	r := pbox(t, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--", "sleep", "100")
	if r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	defer func() {
		pbox(t, "rm", "-f", name)
		assertNoLeftovers(t, name)
	}()
	held := map[string]int{}
	hold := func(what string, pid int) {
		fd, err := syscall.Open(fmt.Sprintf("/proc/%d/exe", pid), unix.O_PATH|syscall.O_CLOEXEC, 0)
		if err != nil {
			t.Fatalf("%s (pid %d): %v", what, pid, err)
		}
		held[what] = fd
	}
	hold("the init", readState(t, name).Pid)

	// pbox exec of the symlink: the process runs whatever its exec'ing
	// process was — the joiner, pbox's tiny program from a sealed memfd
	// (once, the exec stage: pbox itself). It is kept alive by its stdout
	// and stderr, a pipe filled to the brim beforehand: what it prints
	// blocks until the test closes the other end.
	pidFile := filepath.Join(t.TempDir(), "pid")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	wfd := int(pw.Fd()) // once: Fd() makes the file blocking again
	unix.SetNonblock(wfd, true)
	for {
		if _, err := unix.Write(wfd, make([]byte, 4096)); err != nil {
			break
		}
	}
	unix.SetNonblock(wfd, false)
	cmd := exec.Command(pboxBin(t), "exec", "--pid-file", pidFile, name, "--", "/evil", "--version")
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if !testutil.WaitFor(5*time.Second, func() bool { _, err := os.Stat(pidFile); return err == nil }) {
		t.Fatal("pbox exec wrote no pid file")
	}
	data, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	testutil.WaitFor(5*time.Second, func() bool {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return strings.Contains(string(cmdline), "--version")
	})
	hold("a process exec'd through /proc/self/exe", pid)
	pr.Close()
	cmd.Wait()
	// The script form runs the same way; it must at least not run the
	// host's binary writable while it lives.
	r = pbox(t, "exec", name, "--", "/evil.sh")
	if !strings.Contains(r.stderr, "pbox: ") {
		t.Errorf("#!/proc/self/exe did not run pbox (the test would prove nothing): %+v", r)
	}

	pbox(t, "rm", "-f", name)
	var self unix.Stat_t
	if err := unix.Stat(pboxBin(t), &self); err != nil {
		t.Fatal(err)
	}
	for what, fd := range held {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		if st.Dev != self.Dev || st.Ino != self.Ino {
			// Not pbox's binary at all: PID 1 is the tiny init, run from
			// a memfd that must be sealed against writes.
			assertSealedMemfd(t, what, fd)
			syscall.Close(fd)
			continue
		}
		// ETXTBSY comes before EROFS while any process still runs the
		// binary (this box's monitor on its way out, or another test's
		// pbox): the question is what the open says once none does.
		var w int
		var err error
		testutil.WaitFor(10*time.Second, func() bool {
			w, err = syscall.Open(fmt.Sprintf("/proc/self/fd/%d", fd), syscall.O_WRONLY|syscall.O_APPEND|syscall.O_CLOEXEC, 0)
			return err != syscall.ETXTBSY
		})
		if err == nil {
			syscall.Close(w)
			t.Errorf("%s: its executable opened for writing once it stopped: the host's pbox binary is reachable", what)
		} else if err != syscall.EROFS {
			t.Errorf("%s: open for writing: %v, want EROFS (a read-only view of pbox)", what, err)
		}
		syscall.Close(fd)
	}
	if _, ok := held["the init"]; !ok {
		t.Error("the init's executable was never held")
	}
}

// assertSealedMemfd checks that the executable behind fd (an O_PATH
// descriptor) is a memfd that no one can write to, grow or unseal.
func assertSealedMemfd(t *testing.T, what string, fd int) {
	t.Helper()
	r, err := syscall.Open(fmt.Sprintf("/proc/self/fd/%d", fd), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Errorf("%s: reopen its executable: %v", what, err)
		return
	}
	defer syscall.Close(r)
	seals, err := unix.FcntlInt(uintptr(r), unix.F_GET_SEALS, 0)
	if err != nil {
		t.Errorf("%s: its executable is neither pbox's binary nor a memfd (F_GET_SEALS: %v)", what, err)
		return
	}
	want := unix.F_SEAL_SEAL | unix.F_SEAL_WRITE | unix.F_SEAL_GROW | unix.F_SEAL_SHRINK
	if seals&want != want {
		t.Errorf("%s: its executable is a memfd with seals %#x, want at least %#x", what, seals, want)
	}
	if w, err := syscall.Open(fmt.Sprintf("/proc/self/fd/%d", fd), syscall.O_WRONLY|syscall.O_CLOEXEC, 0); err == nil {
		if _, err := syscall.Write(w, []byte{0}); err != syscall.EPERM {
			t.Errorf("%s: a write to its sealed executable: %v, want EPERM", what, err)
		}
		syscall.Close(w)
	}
}

// Attack: with no seccomp filter, a box's root can use keyctl and add_key,
// unshare every namespace (a user namespace first, which leads to the
// cgroup attack below), perf_event_open, io_uring_setup and
// personality(READ_IMPLIES_EXEC). Docker's default profile stops them all.
func TestContainmentSeccompByDefault(t *testing.T) {
	root := attackRootfs(t)
	name := boxName(t, "seccomp")
	run := func(extra ...string) result {
		args := append([]string{"run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root}, extra...)
		return pbox(t, append(args, "--", "/attack", "syscalls")...)
	}
	r := run()
	got := results(r.stdout)
	for _, call := range []string{"keyctl", "add_key", "unshare user", "unshare mount", "unshare cgroup", "unshare net",
		"perf_event_open", "io_uring_setup", "personality READ_IMPLIES_EXEC", "bpf", "mount"} {
		if got[call] != "EPERM" {
			t.Errorf("default box: %s: %q, want EPERM from the seccomp filter", call, got[call])
		}
	}
	if got["getpid"] != "ok" {
		t.Errorf("default box: getpid: %q: the filter blocks ordinary syscalls (%+v)", got["getpid"], r)
	}
	assertNoLeftovers(t, name)

	// A syscall newer than pbox's table: ENOSYS, as under runc, so that a
	// program falls back as on an older kernel (issue 21).
	r = pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--", "/attack", "nr", "499")
	if got := results(r.stdout); got["nr 499"] != "ENOSYS" {
		t.Errorf("default box: syscall 499: %+v, want ENOSYS", r)
	}

	// Unconfined, the same box reaches them: the filter is what stopped them.
	got = results(run("--security-opt", "seccomp=unconfined").stdout)
	for _, call := range []string{"keyctl", "io_uring_setup", "personality READ_IMPLIES_EXEC"} {
		if got[call] != "ok" {
			t.Errorf("seccomp=unconfined: %s: %q, want ok", call, got[call])
		}
	}
	// pbox inspect of COMMAND says so.
	if r := pbox(t, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--", "sleep", "100"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	// COMMAND is the init's child (forked from one of its threads).
	initPid := readState(t, name).Pid
	var children []byte
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", initPid))
	for _, f := range tasks {
		c, _ := os.ReadFile(f)
		children = append(children, c...)
	}
	var rep struct {
		Security struct {
			Seccomp        string `json:"seccomp"`
			SeccompFilters int    `json:"seccomp_filters"`
		} `json:"security"`
	}
	ins := pbox(t, "inspect", "--json", strings.TrimSpace(string(children)))
	pbox(t, "rm", "-f", name)
	if err := json.Unmarshal([]byte(ins.stdout), &rep); err != nil || rep.Security.Seccomp != "filter" || rep.Security.SeccompFilters != 1 {
		t.Errorf("inspect: seccomp %+v (%v), want filter with 1 attached", rep.Security, err)
	}
	r = pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--privileged", "--", "grep", "^Seccomp:", "/proc/self/status")
	if !strings.Contains(r.stdout, "0") {
		t.Errorf("--privileged: %+v, want no filter (Seccomp: 0)", r)
	}

	// A profile of one's own, in Docker's format.
	dir := t.TempDir()
	prof := filepath.Join(dir, "profile.json")
	os.WriteFile(prof, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}`), 0o644)
	r = pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--security-opt", "seccomp="+prof, "--", "sh", "-c", "mkdir /tmp/x; echo rc=$?")
	if !strings.Contains(r.stderr+r.stdout, "Permission denied") || !strings.Contains(r.stdout, "rc=1") {
		t.Errorf("profile denying mkdir with EACCES: %+v", r)
	}
	// Bad profiles: one line, status 125, nothing left behind.
	for body, want := range map[string]string{
		`{"defaultAction":`: "seccomp=" + filepath.Join(dir, "bad.json"),
		`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["reed"],"action":"SCMP_ACT_ERRNO"}]}`: `unknown syscall "reed"`,
		`{"defaultAction":"SCMP_ACT_SOMETIMES"}`:                                                       `unknown action "SCMP_ACT_SOMETIMES"`,
		`{"defaultAction":"SCMP_ACT_NOTIFY"}`:                                                          "needs a listener",
	} {
		os.WriteFile(filepath.Join(dir, "bad.json"), []byte(body), 0o644)
		r = pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--security-opt", "seccomp="+filepath.Join(dir, "bad.json"), "--", "true")
		assertCleanError(t, r, 125, want)
		assertNoLeftovers(t, name)
	}
	r = pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--security-opt", "apparmor=x", "--", "true")
	assertCleanError(t, r, 125, "no AppArmor")
	r = pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--security-opt", "seccomp=/nonexistent.json", "--", "true")
	assertCleanError(t, r, 125, "/nonexistent.json")
	assertNoLeftovers(t, name)
}

// Attack: MKNOD is in the default capabilities, and nothing stopped a
// box from making a node of a host device (a loop device, /dev/kvm,
// tty0) and using it; a 0666 block node shipped in an image worked even
// with --cap-drop ALL. Every box now has a device allow-list.
func TestContainmentDevices(t *testing.T) {
	root := attackRootfs(t)
	// A node "shipped in the image": made on the host inside the rootfs.
	if err := unix.Mknod(filepath.Join(root, "shipped-loop"), unix.S_IFBLK|0o666, int(unix.Mkdev(7, 0))); err != nil {
		t.Fatal(err)
	}
	name := boxName(t, "dev")
	mk := "mknod /tmp/loop b 7 0; mknod /tmp/kvm c 10 232; mknod /tmp/tty0 c 4 0; mknod /tmp/lctl c 10 237; " +
		"/attack open /tmp/loop /tmp/kvm /tmp/tty0 /tmp/lctl /shipped-loop /dev/null /dev/zero /dev/urandom /dev/full /dev/tty /dev/ptmx"
	r := pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--", "sh", "-c", mk)
	got := results(r.stdout)
	for _, p := range []string{"/tmp/loop", "/tmp/kvm", "/tmp/tty0", "/tmp/lctl", "/shipped-loop"} {
		if got["open "+p] != "EPERM" {
			t.Errorf("open %s: %q, want EPERM from the device rules (%+v)", p, got["open "+p], r)
		}
	}
	for _, p := range []string{"/dev/null", "/dev/zero", "/dev/urandom", "/dev/full", "/dev/ptmx"} {
		if got["open "+p] != "ok" {
			t.Errorf("open %s: %q, want ok (a standard node)", p, got["open "+p])
		}
	}
	assertNoLeftovers(t, name)
	r = pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--cap-drop", "ALL", "--", "/attack", "open", "/shipped-loop")
	if got := results(r.stdout)["open /shipped-loop"]; got != "EPERM" {
		t.Errorf("--cap-drop ALL, image-shipped node: %q, want EPERM", got)
	}
	// --device adds one, as in Docker: /dev/fuse (10:229), from a node of
	// the test's own (the host may have no fuse module: then the open
	// answers ENODEV, anything but the device rules' EPERM).
	fuse := filepath.Join(t.TempDir(), "fuse")
	if err := unix.Mknod(fuse, unix.S_IFCHR|0o666, int(unix.Mkdev(10, 229))); err != nil {
		t.Fatal(err)
	}
	r = pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--", "sh", "-c", "mknod /tmp/fuse c 10 229; /attack open /tmp/fuse")
	if got := results(r.stdout)["open /tmp/fuse"]; got != "EPERM" {
		t.Errorf("fuse without --device: %q (%+v), want EPERM", got, r)
	}
	r = pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--device", fuse+":/dev/fuse:rw", "--", "/attack", "open", "/dev/fuse")
	if got := results(r.stdout)["open /dev/fuse"]; got == "EPERM" || got == "" || got == "ENOENT" {
		t.Errorf("--device %s:/dev/fuse:rw: %q (%+v), want the device reachable", fuse, got, r)
	}
	// --privileged: no device rules (an unbound loop device answers ENXIO, or opens).
	r = pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--privileged", "--", "/attack", "open", "/shipped-loop")
	if got := results(r.stdout)["open /shipped-loop"]; got == "EPERM" {
		t.Errorf("--privileged: the device rules still apply (%+v)", r)
	}
	for spec, want := range map[string]string{
		"/dev/nonexistent": "no such file",
		"/etc/passwd":      "not a device node",
		"dev/null":         "absolute",
		"/dev/null:/x:rwx": "permissions",
		"/a:/b:rw:m":       "HOST[:BOX][:PERMS]",
	} {
		r = pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--device", spec, "--", "true")
		assertCleanError(t, r, 125, want)
		assertNoLeftovers(t, name)
	}
}

// Attack: the box shared the caller's session keyring: it read a key the
// caller had added, and planted keys in it. Each box gets its own.
func TestContainmentSessionKeyring(t *testing.T) {
	root := attackRootfs(t)
	name := boxName(t, "keys")
	type outcome struct {
		host, box, plant string
		planted          bool
	}
	done := make(chan outcome, 1)
	go func() {
		// A session keyring of this thread's own with a secret in it; the
		// commands below are forked from this thread and inherit it.
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		var o outcome
		if _, err := unix.KeyctlJoinSessionKeyring("pbox-test"); err != nil {
			o.host = err.Error()
			done <- o
			return
		}
		if _, err := unix.AddKey("user", "pbox-secret", []byte("hunter2"), unix.KEY_SPEC_SESSION_KEYRING); err != nil {
			o.host = err.Error()
			done <- o
			return
		}
		host, _ := exec.Command(attackBin(t), "keyring-read", "pbox-secret").Output()
		o.host = string(host)
		o.box = pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--security-opt", "seccomp=unconfined", "--", "/attack", "keyring-read", "pbox-secret").stdout
		o.plant = pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--security-opt", "seccomp=unconfined", "--", "/attack", "keyring-plant", "planted").stdout
		_, err := unix.KeyctlSearch(unix.KEY_SPEC_SESSION_KEYRING, "user", "planted", 0)
		o.planted = err == nil
		done <- o
	}()
	o := <-done
	if !strings.Contains(o.host, "ok hunter2") {
		t.Fatalf("the test's own keyring does not work, so it proves nothing: %q", o.host)
	}
	if strings.Contains(o.box, "hunter2") {
		t.Errorf("the box read the caller's key: %q", o.box)
	}
	if !strings.Contains(o.plant, "keyring-plant: ok") {
		t.Errorf("planting in the box's own keyring: %q", o.plant)
	}
	if o.planted {
		t.Error("the box planted a key in the caller's session keyring")
	}
	assertNoLeftovers(t, name)
}

// Attack: the box unshares a user, mount and cgroup namespace, maps uid
// 0, mounts cgroup hierarchies and raises its own memory and pids limits
// — or, in a hierarchy it never joined (rooted at the host's cgroup),
// freezes or retunes other cgroups. And plainly: it writes its limits
// through /sys/fs/cgroup.
func TestContainmentCgroups(t *testing.T) {
	root := attackRootfs(t)
	name := boxName(t, "cg")
	r := pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--memory", "64M", "--pids-limit", "50", "--", "sh", "-c",
		"/attack cgroup-escape; for f in /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes; do "+
			"[ -e $f ] && /attack write $f 999999; done; echo limits $(cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null); "+
			"echo cgroup-lines; cat /proc/self/cgroup; echo subdirs $(find /sys/fs/cgroup -mindepth 2 -type d | wc -l)")
	got := results(r.stdout)
	for _, k := range []string{"cgroup-escape cgroup memory", "cgroup-escape cgroup pids", "cgroup-escape cgroup2 "} {
		if got[k] != "EPERM" {
			t.Errorf("%s: %q, want EPERM (no user namespace for a default box)", k, got[k])
		}
	}
	for k, v := range got {
		if strings.HasPrefix(k, "write ") && v != "EROFS" {
			t.Errorf("%s: %q, want EROFS: /sys/fs/cgroup is read-only in the box", k, v)
		}
	}
	if !strings.Contains(r.stdout, "limits 50\n") {
		t.Errorf("the pids limit is not 50 any more:\n%s", r.stdout)
	}
	// Every hierarchy is rooted at the box's own cgroup, and nothing
	// below it (no other box, no host cgroup) is in view.
	_, lines, _ := strings.Cut(r.stdout, "cgroup-lines\n")
	lines, _, _ = strings.Cut(lines, "subdirs")
	for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
		if !strings.HasSuffix(l, ":/") {
			t.Errorf("/proc/self/cgroup in the box: %q is not the box's own cgroup", l)
		}
	}
	if !strings.Contains(r.stdout, "subdirs 0") {
		t.Errorf("the box sees cgroups below its own:\n%s", r.stdout)
	}
	assertNoLeftovers(t, name)

	// Without a cgroup namespace, /sys/fs/cgroup shows the box's own
	// directories, read-only.
	r = pbox(t, "run", "--name", name, "--cgroup-parent", e2eParent, "--ns", "pid,mnt,uts", "--rootfs", root, "--pids-limit", "50", "--", "sh", "-c",
		"cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null; /attack write /sys/fs/cgroup/pids/pids.max 9; /attack write /sys/fs/cgroup/pids.max 9")
	if !strings.HasPrefix(r.stdout, "50\n") || strings.Contains(r.stdout, ": ok") {
		t.Errorf("--ns without cgroup: %+v", r)
	}
	assertNoLeftovers(t, name)

	// The init's whole thread group is in the new cgroup namespace.
	r = pbox(t, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sleep", "100")
	if r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	defer func() {
		pbox(t, "rm", "-f", name)
		assertNoLeftovers(t, name)
	}()
	pid := readState(t, name).Pid
	host, _ := os.Readlink("/proc/self/ns/cgroup")
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/task/%s/ns/cgroup", pid, task.Name()))
		if ns == host || ns == "" {
			t.Errorf("thread %s of the init is in cgroup namespace %q, the host's is %q", task.Name(), ns, host)
		}
	}
}

// Attack (CVE-2019-19921, CVE-2021-30465 classes): a neighbour working in
// the same root filesystem swaps a mount target (/proc, a volume's) for a
// symlink while boxes start. Mounted by path, the mounts followed the
// link: a writable /proc/sys, an unmasked /proc/kcore, a :ro volume
// mounted writable or over the whole root. Now each start either refuses
// (the target changed) or gets exactly the mounts it asked for.
func TestContainmentMountRaces(t *testing.T) {
	root := busyboxRootfs(t)
	os.WriteFile(filepath.Join(root, "MARKER"), []byte("box\n"), 0o644)
	vol := t.TempDir()
	os.WriteFile(filepath.Join(vol, "in"), []byte("volume\n"), 0o644)
	for _, d := range []string{"data", "swap-data", "swap-proc"} {
		os.RemoveAll(filepath.Join(root, d))
	}
	os.Mkdir(filepath.Join(root, "data"), 0o755)
	os.Symlink("/", filepath.Join(root, "swap-data"))   // over the whole root
	os.Symlink("etc", filepath.Join(root, "swap-proc")) // procfs somewhere else
	stop := make(chan struct{})
	swapped := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				swapped <- n
				return
			default:
			}
			for _, pair := range [][2]string{{"data", "swap-data"}, {"proc", "swap-proc"}} {
				// One atomic exchange: the name is a directory or a link at every instant.
				if unix.Renameat2(unix.AT_FDCWD, filepath.Join(root, pair[0]), unix.AT_FDCWD, filepath.Join(root, pair[1]), unix.RENAME_EXCHANGE) == nil {
					n++
				}
			}
			// Irregular pauses, so that some starts fall between swaps
			// and some across them.
			time.Sleep(time.Duration(n%7) * 2 * time.Millisecond)
		}
	}()
	// The box's mounts are checked from the host (/proc/<init>/mountinfo),
	// not through names inside the box, which the neighbour keeps
	// swapping after the start too (that changes what a name points to in
	// the shared directory, never what is mounted).
	name := boxName(t, "race")
	started, refused := 0, 0
	for i := 0; i < 40; i++ {
		r := pbox(t, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "-v", vol+":/data:ro", "--", "sleep", "100")
		switch {
		case r.code == 0:
			started++
			info, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", readState(t, name).Pid))
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range mountViolations(string(info), vol) {
				t.Errorf("start %d: %s\n%s", i, v, info)
			}
			pbox(t, "rm", "-f", name)
		case r.code == 125 && strings.HasPrefix(r.stderr, "pbox: ") && !strings.Contains(r.stderr, "goroutine"):
			if refused++; refused <= 3 {
				t.Logf("refused: %s", strings.TrimSpace(r.stderr))
			}
		default:
			t.Errorf("start %d: %+v: neither a clean start nor a clean refusal", i, r)
		}
		assertNoLeftovers(t, name)
	}
	close(stop)
	n := <-swapped
	t.Logf("40 starts under %d swaps: %d started contained, %d refused", n, started, refused)
	if n == 0 {
		t.Error("the neighbour never swapped anything: the test proved nothing")
	}
	// Put the root back for whoever looks at it.
	if fi, err := os.Lstat(filepath.Join(root, "proc")); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		unix.Renameat2(unix.AT_FDCWD, filepath.Join(root, "proc"), unix.AT_FDCWD, filepath.Join(root, "swap-proc"), unix.RENAME_EXCHANGE)
	}
}

// mountViolations reads a box's mountinfo and names what the start must
// never produce: a procfs whose sys is writable or whose masked paths
// (the ones this kernel has) are not masked, the volume (host directory vol) writable or over the
// root.
//
// Mounts are related by their ids, not by mount point names: the
// neighbour keeps renaming /proc while the file is read, so one line may
// name a mount point "/proc" and the next, written a moment later,
// "/swap-proc".
func mountViolations(mountinfo, vol string) []string {
	type mnt struct{ id, parent, root, point, fstype, opts string }
	var mounts []mnt
	for _, l := range strings.Split(mountinfo, "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 6 || len(g) < 1 {
			continue
		}
		mounts = append(mounts, mnt{id: f[0], parent: f[1], root: f[3], point: f[4], fstype: g[0], opts: f[5]})
	}
	// has: a mount on top of parent at its subpath rel (read-only if ro).
	has := func(parent mnt, rel string, ro bool) bool {
		for _, m := range mounts {
			if m.parent == parent.id && strings.HasSuffix(m.point, "/"+rel) && (!ro || strings.HasPrefix(m.opts, "ro")) {
				return true
			}
		}
		return false
	}
	var bad []string
	for _, m := range mounts {
		switch {
		// A whole procfs (mount root /; the read-only binds of its
		// subdirectories are procfs mounts too).
		case m.fstype == "proc" && m.root == "/" && !has(m, "sys", true):
			bad = append(bad, "procfs at "+m.point+" has a writable sys")
		case m.fstype == "proc" && m.root == "/":
			// Every masked /proc path this kernel has must be masked.
			for _, p := range rootfs.MaskedPaths {
				if rel, ok := strings.CutPrefix(p, "/proc/"); ok {
					if _, err := os.Stat(p); err == nil && !has(m, rel, false) {
						bad = append(bad, "procfs at "+m.point+" has "+rel+" unmasked")
					}
				}
			}
		// The volume's mount root is vol (or its end, when vol's filesystem
		// is mounted below /).
		case m.root != "/" && strings.HasSuffix(vol, m.root) && m.point == "/":
			bad = append(bad, "the volume is mounted over the box's root")
		case m.root != "/" && strings.HasSuffix(vol, m.root) && !strings.HasPrefix(m.opts, "ro"):
			bad = append(bad, "the :ro volume is writable at "+m.point)
		}
	}
	return bad
}

// Attack (issue 19): a box makes pbox exec run a file of the host. The
// prober inside keeps /bin/sh, a script's interpreter and a directory
// pointing at /proc/self/task/T/root/<host path>, T a thread of whatever
// process has just appeared in the box; a joiner with a thread still
// rooted on the host would follow the link out of the box. Then it holds
// the exe of whatever ran the host's file and tries to append to it.
// None of 80 execs may run or open the host's file, which stays as it was.
func TestContainmentExecResolvesOnlyInTheBox(t *testing.T) {
	root := attackRootfs(t)
	hostDir := t.TempDir()
	host := filepath.Join(hostDir, "host-file")
	data, err := os.ReadFile(attackBin(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(host, data, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(hostDir, "HOST-MARKER"), []byte("host\n"), 0o644)
	before := sha256.Sum256(data)
	os.WriteFile(filepath.Join(root, "script"), []byte("#!/interp -c\necho fine\n"), 0o755)
	os.Symlink("/bin/busybox", filepath.Join(root, "interp"))
	os.Symlink("/tmp", filepath.Join(root, "wd"))
	name := boxName(t, "hijack")
	r := pbox(t, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--",
		"/attack", "hijack", host, "/bin/sh="+host, "/interp="+host, "/wd="+hostDir)
	if r.code != 0 {
		t.Fatalf("start the prober: %+v", r)
	}
	defer func() {
		pbox(t, "rm", "-f", name)
		assertNoLeftovers(t, name)
	}()
	// The OCI form (containerd's exec, the CRI's ExecSync) takes the
	// same way in.
	procFile := filepath.Join(t.TempDir(), "process.json")
	os.WriteFile(procFile, []byte(`{"args":["sh","-c","echo fine"],"cwd":"/","env":["PATH=/bin:/usr/bin"],"user":{"uid":0,"gid":0}}`), 0o644)
	tries := [][]string{
		{"exec", name, "sh", "-c", "echo fine"},
		{"exec", name, "/script"},
		{"exec", "-w", "/wd", name, "/attack", "open", "HOST-MARKER"},
		{"exec", "--process", procFile, name},
	}
	for i := 0; i < 20; i++ {
		for _, args := range tries {
			r := pbox(t, args...)
			if strings.Contains(r.stdout, "hijacked") || strings.Contains(r.stdout, "open HOST-MARKER: ok") {
				t.Errorf("%v (try %d) reached the host: %+v", args, i, r)
			}
			if strings.Contains(r.stderr, "goroutine") {
				t.Errorf("%v: %+v", args, r)
			}
		}
	}
	logs := pbox(t, "logs", name)
	if strings.Contains(logs.stdout, "holding the exe") || strings.Contains(logs.stdout, "append to the host's file: ok") {
		t.Errorf("the prober got hold of the host's file:\n%s", logs.stdout)
	}
	after, err := os.ReadFile(host)
	if err != nil || sha256.Sum256(after) != before {
		t.Errorf("the host's file changed (%v)", err)
	}
}

// Attack (issue 19): the box replaces its /etc/passwd with a device node
// (here /dev/null's numbers) and waits for pbox exec -u NAME to read it
// from the host, where the box's device rules do not apply: opening a
// watchdog or a tape drive has effects. inotify on the node sees every
// open of it; pbox may look at it (O_PATH, which opens nothing) but never
// open it, and says the user is not there.
func TestContainmentHostReadsOpenOnlyRegularFiles(t *testing.T) {
	root := busyboxRootfs(t)
	name := boxName(t, "passwd-node")
	if r := pbox(t, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--", "sleep", "100"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	defer func() {
		pbox(t, "rm", "-f", name)
		assertNoLeftovers(t, name)
	}()
	for _, f := range []string{"passwd", "group"} {
		p := filepath.Join(root, "etc", f)
		os.Remove(p)
		if err := unix.Mknod(p, unix.S_IFCHR|0o644, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
	}
	in, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(in)
	for _, f := range []string{"passwd", "group"} {
		if _, err := unix.InotifyAddWatch(in, filepath.Join(root, "etc", f), unix.IN_OPEN); err != nil {
			t.Fatal(err)
		}
	}
	r := pbox(t, "exec", "-u", "nobody", name, "--", "id")
	assertCleanError(t, r, 125, "no such user")
	r = pbox(t, "exec", "-u", "0:wheel", name, "--", "id")
	assertCleanError(t, r, 125, "no such group")
	buf := make([]byte, 4096)
	if n, _ := unix.Read(in, buf); n > 0 {
		t.Errorf("pbox opened a device node the box planted as /etc/passwd or /etc/group (%d bytes of inotify IN_OPEN events)", n)
	}
	// A regular file is still read, through a symlink that stays inside.
	os.Remove(filepath.Join(root, "etc", "passwd"))
	os.WriteFile(filepath.Join(root, "etc", "passwd.real"), []byte("app:x:1234:1234::/:/bin/sh\n"), 0o644)
	os.Symlink("/etc/passwd.real", filepath.Join(root, "etc", "passwd"))
	if r := pbox(t, "exec", "-u", "app", name, "--", "id", "-u"); r.code != 0 || strings.TrimSpace(r.stdout) != "1234" {
		t.Errorf("exec -u app with passwd a symlink inside the box: %+v", r)
	}
}

// Attack (issue 19): a default box reads the host's SysV shared memory
// (it shared the host's IPC namespace), and a box on the host's network
// opens a packet socket that reads every frame of the host (it had
// CAP_NET_RAW). A default box has an IPC namespace of its own; on the
// host's network CAP_NET_RAW is left out unless --cap-add NET_RAW, and a
// box with its own network keeps it (Docker's set).
func TestContainmentDefaultIPCAndRawSockets(t *testing.T) {
	root := attackRootfs(t)
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.SysvShmCtl(id, unix.IPC_RMID, nil)
	shm := strconv.Itoa(id)
	for _, c := range []struct {
		args []string
		want map[string]string
	}{
		{[]string{"--", "/attack", "shm", shm}, map[string]string{"shm " + shm: "EINVAL"}},
		{[]string{"--rootfs", root, "--", "/attack", "shm", shm}, map[string]string{"shm " + shm: "EINVAL"}},
		{[]string{"--rootfs", root, "--", "/attack", "packet-socket"}, map[string]string{"packet-socket": "EPERM"}},
		{[]string{"--rootfs", root, "--cap-add", "NET_RAW", "--", "/attack", "packet-socket"}, map[string]string{"packet-socket": "ok"}},
		{[]string{"--rootfs", root, "--network", "none", "--", "/attack", "packet-socket"}, map[string]string{"packet-socket": "ok"}},
	} {
		args := append([]string{"run", "--rm", "--cgroup-parent", e2eParent}, c.args...)
		if c.args[0] == "--" {
			// No --rootfs: the prober is the host's file.
			args = append([]string{"run", "--rm", "--cgroup-parent", e2eParent, "--", attackBin(t)}, c.args[2:]...)
		}
		r := pbox(t, args...)
		got := results(r.stdout)
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("pbox %v: %s = %q, want %s (%+v)", args[1:], k, got[k], v, r)
			}
		}
	}
	// Without a box, the segment is there to read: the test proves something.
	out, err := exec.Command(attackBin(t), "shm", shm).Output()
	if err != nil || results(string(out))["shm "+shm] != "ok" {
		t.Errorf("on the host: %q %v", out, err)
	}
}

// Attack (issue 19): a process in the box names itself
// "ESC ]0;owned BEL" (which retitles a terminal) and carries "ESC [2J"
// (which clears it) in its arguments; pbox ps BOX and pbox inspect, text
// and tree, print them with '?' for each control character. JSON keeps
// the real bytes, escaped by the encoder.
func TestContainmentOutputIsEscaped(t *testing.T) {
	name := boxName(t, "title")
	if r := pbox(t, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", attackBin(t), "title", "\x1b[2Jcleared", "a\nforged line"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	defer func() {
		pbox(t, "rm", "-f", name)
		assertNoLeftovers(t, name)
	}()
	var pid int
	if !testutil.WaitFor(5*time.Second, func() bool {
		r := pbox(t, "ps", "--format", "json", name)
		var pids []int
		json.Unmarshal([]byte(r.stdout), &pids)
		for _, p := range pids {
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); strings.Contains(string(comm), "owned") {
				pid = p
			}
		}
		return pid > 0
	}) {
		t.Fatal("the prober never renamed itself")
	}
	for _, args := range [][]string{{"ps", name}, {"inspect", strconv.Itoa(pid)}, {"inspect", "--tree", strconv.Itoa(pid)}} {
		r := pbox(t, args...)
		if r.code != 0 {
			t.Errorf("pbox %v: %+v", args, r)
		}
		if strings.ContainsAny(r.stdout, "\x1b\a") || strings.Contains(r.stdout, "\nforged line") {
			t.Errorf("pbox %v printed the box's control characters raw:\n%q", args, r.stdout)
		}
		if !strings.Contains(r.stdout, "?]0;owned?") && !strings.Contains(r.stdout, "?[2Jcleared") {
			t.Errorf("pbox %v does not show the escaped name or arguments:\n%s", args, r.stdout)
		}
	}
	r := pbox(t, "inspect", "--json", strconv.Itoa(pid))
	if !strings.Contains(r.stdout, `\u001b]0;owned\u0007`) {
		t.Errorf("inspect --json should keep the name, escaped by JSON: %s", r.stdout)
	}
}

// Attack (issue 22): exec's OOM score is now written by the joiner inside
// the running box, whose /proc a --privileged box can replace. A FIFO
// planted at /proc/self/oom_score_adj must neither hang pbox exec nor
// take the write: it is refused, quickly, with one line.
func TestContainmentExecOOMScoreOnlyOnProcfs(t *testing.T) {
	root := busyboxRootfs(t)
	name := boxName(t, "fakeproc")
	r := pbox(t, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "--privileged", "--",
		"sh", "-c", "mount -t tmpfs none /proc && mkdir /proc/self && mkfifo /proc/self/oom_score_adj && touch /proc/ready && exec sleep 1000")
	if r.code != 0 {
		t.Fatalf("start the box: %+v", r)
	}
	defer func() {
		pbox(t, "rm", "-f", name)
		assertNoLeftovers(t, name)
	}()
	rec := readRecord(t, box.DefaultStateRoot, name)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/root/proc/ready", rec.Pid)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the box did not mount its own /proc")
		}
		time.Sleep(20 * time.Millisecond)
	}
	procFile := filepath.Join(t.TempDir(), "process.json")
	os.WriteFile(procFile, []byte(`{"args":["true"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0},"oomScoreAdj":100}`), 0o644)
	execOOM := func(want string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, pboxBin(t), "exec", "--process", procFile, name)
		cmd.WaitDelay = 5 * time.Second // a joiner left blocking must not hang the test
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("pbox exec hung on what the box planted: %s", out)
		}
		if code := cmd.ProcessState.ExitCode(); code != 125 || !strings.Contains(string(out), want) {
			t.Errorf("exec with an OOM score into a box with a fake /proc: status %d (%v), %q; want 125 and %q", code, err, out, want)
		}
	}
	// A FIFO: opened without blocking, so refused at once.
	execOOM("pbox: exec: oom_score_adj: open /proc/self/oom_score_adj")
	// A plain file on the box's tmpfs: not procfs, so not written.
	if r := pbox(t, "exec", name, "sh", "-c", "rm /proc/self/oom_score_adj && echo 0 > /proc/self/oom_score_adj"); r.code != 0 {
		t.Fatalf("plant a file: %+v", r)
	}
	execOOM("pbox: exec: oom_score_adj: /proc/self/oom_score_adj in the box is not on procfs")
	if data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/root/proc/self/oom_score_adj", rec.Pid)); string(data) != "0\n" {
		t.Errorf("the planted file holds %q: pbox wrote to it", data)
	}
}
