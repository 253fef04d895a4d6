package main

// The containment suite: each test is an attack from inside a default box
// (root, Docker's capabilities), written down before the hole was closed
// (issue 10). A default box must keep the host's files, devices,
// descriptors, keyrings, sysctls, cgroups and the pbox binary out of reach.

import (
	"fmt"
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
	"golang.org/x/sys/unix"
)

// pboxWith runs pbox with extra descriptors (extra[i] becomes fd 3+i; nil
// leaves a slot on /dev/null) and extra environment.
func pboxWith(t *testing.T, extra []*os.File, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(pboxBin(t), args...)
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
	cmd.Env = append(os.Environ(), env...)
	out, _ := os.CreateTemp("", "pbox-out")
	defer os.Remove(out.Name())
	errOut, _ := os.CreateTemp("", "pbox-err")
	defer os.Remove(errOut.Name())
	cmd.Stdout, cmd.Stderr = out, errOut
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("pbox %q: %v", args, err)
	}
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errOut.Name())
	return result{string(o), string(e), code}
}

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

// readState reads a box's record from the default state root.
func readState(t *testing.T, name string) box.Record {
	t.Helper()
	rec, err := box.Store{Root: box.DefaultStateRoot}.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	return *rec
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

	// pbox exec of the symlink: the process runs pbox; keep it waiting on
	// stdin (pbox update --resources - reads it).
	pidFile := filepath.Join(t.TempDir(), "pid")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pboxBin(t), "exec", "-i", "--pid-file", pidFile, name, "--", "/evil", "update", "--resources", "-", "nobox")
	cmd.Stdin = pr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	if !testutil.WaitFor(5*time.Second, func() bool { _, err := os.Stat(pidFile); return err == nil }) {
		t.Fatal("pbox exec wrote no pid file")
	}
	data, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	testutil.WaitFor(5*time.Second, func() bool {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return strings.Contains(string(cmdline), "update")
	})
	hold("a process exec'd through /proc/self/exe", pid)
	pw.Close()
	cmd.Wait()
	// The script form runs the same way; it must at least not run the
	// host's binary writable while it lives.
	r = pbox(t, "exec", name, "--", "/evil.sh")
	if !strings.Contains(r.stderr, "pbox: ") {
		t.Errorf("#!/proc/self/exe did not run pbox (the test would prove nothing): %+v", r)
	}

	pbox(t, "rm", "-f", name)
	for what, fd := range held {
		w, err := syscall.Open(fmt.Sprintf("/proc/self/fd/%d", fd), syscall.O_WRONLY|syscall.O_APPEND|syscall.O_CLOEXEC, 0)
		if err == nil {
			syscall.Close(w)
			t.Errorf("%s: its executable opened for writing once it stopped: the host's pbox binary is reachable", what)
		} else if err != syscall.EROFS {
			t.Errorf("%s: open for writing: %v, want EROFS (a read-only view of pbox)", what, err)
		}
		syscall.Close(fd)
	}
}
