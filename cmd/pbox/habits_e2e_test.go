package main

// End-to-end tests of docker's habits on pbox run: -it, --rm, -m, -u,
// --env-file, -e KEY, --network, --init — each as a docker user types it.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/internal/testutil"
	"golang.org/x/sys/unix"
)

func TestE2ERunWithATerminal(t *testing.T) {
	testutil.RequireRoot(t)
	master, term := testPty(t)
	// -t: COMMAND's stdio is a new pty of the box's, relayed to ours.
	r := pboxFrom(t, term, nil, nil, "run", "-t", "--cgroup-parent", e2eParent, "--", "tty")
	if r.code != 0 || !strings.HasPrefix(strings.TrimSpace(r.stdout), "/dev/pts/") {
		t.Errorf("run -t tty: %+v", r)
	}
	// -it: what is typed at our terminal reaches COMMAND.
	if _, err := master.Write([]byte("typed words\r")); err != nil {
		t.Fatal(err)
	}
	r = pboxFrom(t, term, nil, nil, "run", "-it", "--cgroup-parent", e2eParent, "--", "sh", "-c", "read x; echo got: $x")
	if r.code != 0 || !strings.Contains(r.stdout, "got: typed words") {
		t.Errorf("run -it read: %+v", r)
	}
	// Not a terminal: refused at once, not a hang (docker: "the input
	// device is not a TTY"); with -d it need not be (pbox attach).
	assertCleanError(t, pbox(t, "run", "-t", "--cgroup-parent", e2eParent, "--", "true"), 125, "stdin is not a terminal")
}

// Issue 24: pbox run -dit and pbox attach, as docker's. The monitor keeps
// the box's terminal; attach connects ours (its size, raw keys), Ctrl-P
// Ctrl-Q leaves the box running, the next attach finds the same shell,
// and attach exits with the box's status. -di boxes get attach's stdin;
// any other detached box's output is followed.
func TestE2EAttach(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	p := func(args ...string) result { return pbox(t, append([]string{"--root", root}, args...)...) }
	name := boxName(t, "attach")
	if r := p("run", "-dit", "--name", name, "--cgroup-parent", e2eParent, "--", "sh"); r.code != 0 || strings.TrimSpace(r.stdout) != name {
		t.Fatalf("run -dit: %+v", r)
	}
	defer p("rm", "-f", name)
	sock := filepath.Join(root, name, "attach.sock")

	// From a terminal of 33x99: the box's terminal takes its size, our
	// keys reach its shell, and Ctrl-P Ctrl-Q leaves.
	master, term := testPty(t)
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 99}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var out strings.Builder
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
		}
	}()
	cmd := exec.Command(pboxBin(t), "--root", root, "attach", name)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = term, term, term
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	seen := func(want string) bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(out.String(), want)
	}
	// attach sends the size before any key, whenever the keys are typed.
	master.Write([]byte("echo size=$(stty size) mark=$((6*7))\r"))
	if !testutil.WaitFor(20*time.Second, func() bool { return seen("mark=42") }) {
		t.Errorf("the box's shell never answered through attach")
	}
	master.Write([]byte{0x10, 0x11})
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("attach, left with Ctrl-P Ctrl-Q: %v", err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("attach did not leave on Ctrl-P Ctrl-Q")
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	got := out.String()
	mu.Unlock()
	if !strings.Contains(got, "size=33 99 mark=42") || !strings.Contains(got, "left box "+name+" running") {
		t.Errorf("attach from a terminal: %q", got)
	}
	if e := psAll(t, root)[name]; e.Status != "running" {
		t.Fatalf("after Ctrl-P Ctrl-Q the box is %+v, want running", e)
	}

	// Piped input, again: the same shell (its variable kept), its status.
	r := pboxFrom(t, inputFile(t, "echo again; exit 3\n"), nil, nil, "--root", root, "attach", name)
	if r.code != 3 || !strings.Contains(r.stdout, "again") {
		t.Errorf("attach with piped input, exit 3: %+v", r)
	}
	if e := waitStopped(t, root, name); e.Exit == nil || e.Exit.Status != 3 {
		t.Errorf("after exit 3: %+v", e)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("the attach socket outlived the box: %v", err)
	}
	if r := p("logs", name); !strings.Contains(r.stdout, "mark=42") || !strings.Contains(r.stdout, "again") {
		t.Errorf("a -t box's log keeps its terminal's output: %+v", r)
	}
	assertCleanError(t, p("attach", name), 1, "has stopped (exit status 3): nothing to attach to")
	p("rm", name)
	assertNoLeftovers(t, name)

	// -di: attach's stdin is the box's, and its end ends cat.
	name = boxName(t, "attach-i")
	if r := p("run", "-di", "--name", name, "--cgroup-parent", e2eParent, "--", "sh", "-c", "cat; echo stdin-closed; exit 4"); r.code != 0 {
		t.Fatalf("run -di: %+v", r)
	}
	r = pboxFrom(t, inputFile(t, "line one\nline two\n"), nil, nil, "--root", root, "attach", name)
	if r.code != 4 || r.stdout != "line one\nline two\nstdin-closed\n" {
		t.Errorf("attach to -di: %+v", r)
	}
	p("rm", name)

	// Neither -i nor -t: its output from now, and its status.
	name = boxName(t, "attach-d")
	if r := p("run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sh", "-c", "sleep 1; echo late; exit 6"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	if r = p("attach", name); r.code != 6 || r.stdout != "late\n" {
		t.Errorf("attach to a -d box: %+v", r)
	}
	p("rm", name)
	assertNoLeftovers(t, name)
	assertCleanError(t, p("attach", "no-such-box"), 1, "no-such-box")
	assertCleanError(t, p("attach", "--detach-keys", "ctrl-1", "x"), 2, "--detach-keys")
}

func TestE2ERunDockerHabits(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	p := func(args ...string) result { return pbox(t, append([]string{"--root", root}, args...)...) }
	rootfs := busyboxRootfs(t)

	// --rm -d: once it ends, nothing of it is left, not even ps -a's line.
	name := boxName(t, "rm")
	if r := p("run", "-d", "--rm", "--name", name, "--cgroup-parent", e2eParent, "--", "sleep", "0.3"); r.code != 0 {
		t.Fatalf("run -d --rm: %+v", r)
	}
	if !testutil.WaitFor(10*time.Second, func() bool { _, ok := psAll(t, root)[name]; return !ok }) {
		t.Errorf("run -d --rm: the box is still listed after it ended: %+v", psAll(t, root)[name])
	}
	assertNoLeftovers(t, name)
	if _, err := os.Stat(filepath.Join(root, name)); !os.IsNotExist(err) {
		t.Errorf("run -d --rm left state: %v", err)
	}

	// -m, -u (a name from the box's own /etc/passwd), --init.
	name = boxName(t, "habits")
	r := p("run", "-d", "-m", "64M", "-u", "nobody", "--init", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", rootfs, "--", "sleep", "100")
	if r.code != 0 {
		t.Fatalf("run -d -m -u --init: %+v", r)
	}
	if e := psAll(t, root)[name]; e.Limits.MemoryBytes != 64<<20 {
		t.Errorf("-m 64M: %+v", e)
	}
	if r := p("exec", name, "--", "sh", "-c", "cat /proc/1/comm; ps -o user,comm | grep sleep"); !strings.Contains(r.stdout, "pbox-init") || !strings.Contains(r.stdout, "nobody") {
		t.Errorf("-u nobody --init: %+v", r)
	}
	p("rm", "-f", name)
	assertCleanError(t, p("run", "-u", "nosuchuser", "--cgroup-parent", e2eParent, "--rootfs", rootfs, "--", "true"), 125, `no such user in the box's /etc/passwd`)

	// --env-file, then -e KEY=VALUE and -e KEY (pbox's own, left out if unset).
	envFile := filepath.Join(t.TempDir(), "env")
	os.WriteFile(envFile, []byte("# the app's settings\nMODE=file\nLEVEL=1\n"), 0o644)
	r = pboxWith(t, nil, []string{"FROM_CALLER=yes"}, "--root", root, "run", "--env-file", envFile, "-e", "LEVEL=2", "-e", "FROM_CALLER", "-e", "NOT_SET_ANYWHERE",
		"--cgroup-parent", e2eParent, "--", "sh", "-c", `echo "$MODE $LEVEL $FROM_CALLER ${NOT_SET_ANYWHERE-unset}"`)
	if r.code != 0 || r.stdout != "file 2 yes unset\n" {
		t.Errorf("--env-file, -e: %+v", r)
	}
	os.WriteFile(envFile, []byte("MODE=file\nNO_EQUALS_NOR_SET\n"), 0o644)
	assertCleanError(t, p("run", "--env-file", envFile, "--cgroup-parent", e2eParent, "--", "true"), 125, envFile+":2: NO_EQUALS_NOR_SET has no '='")

	// --network none: only lo; host: the host's; anything else refused.
	host, _ := os.Readlink("/proc/self/ns/net")
	r = p("run", "--network", "none", "--cgroup-parent", e2eParent, "--", "sh", "-c", "readlink /proc/self/ns/net; tail -n +3 /proc/net/dev | cut -d: -f1")
	if lines := strings.Fields(r.stdout); r.code != 0 || len(lines) != 2 || lines[0] == host || lines[1] != "lo" {
		t.Errorf("--network none: %+v (host %s)", r, host)
	}
	if r = p("run", "--network", "host", "--cgroup-parent", e2eParent, "--", "readlink", "/proc/self/ns/net"); strings.TrimSpace(r.stdout) != host {
		t.Errorf("--network host: %+v, want %s", r, host)
	}
	assertCleanError(t, p("run", "--network", "no-such-net", "--cgroup-parent", e2eParent, "--", "true"), 125, "--network no-such-net: no such network")
}

// A terminal resized during run -it reaches the box: pbox sets the box's
// pty to its own terminal's size on SIGWINCH.
func TestE2ERunTerminalFollowsAResize(t *testing.T) {
	testutil.RequireRoot(t)
	master, term := testPty(t)
	setSize := func(rows, cols uint16) {
		if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
			t.Fatal(err)
		}
	}
	setSize(30, 100)
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	// The box watches its own terminal until the new size shows.
	cmd := exec.Command(pboxBin(t), "run", "-t", "--cgroup-parent", e2eParent, "--", "sh", "-c",
		`stty size; echo ready; until [ "$(stty size)" = "40 120" ]; do sleep 0.05; done; echo resized`)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = term, out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if !testutil.WaitFor(10*time.Second, func() bool { b, _ := os.ReadFile(out.Name()); return strings.Contains(string(b), "ready") }) {
		cmd.Process.Kill()
		<-done
		t.Fatalf("the box never got ready")
	}
	setSize(40, 120)
	cmd.Process.Signal(syscall.SIGWINCH) // what the terminal would send pbox
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run -t: %v", err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Error("the box never saw the new size")
	}
	b, _ := os.ReadFile(out.Name())
	if got := string(b); !strings.Contains(got, "30 100") || !strings.Contains(got, "resized") {
		t.Errorf("the box's terminal: %q, want 30 100, then resized to 40 120", got)
	}
}

// Issue 24: the caller's environment does not leak into a --rootfs box.
// It starts as Docker's containers do: Docker's PATH, HOSTNAME, HOME
// from the box's passwd ("/" for a uid it lacks), then --env-file and
// -e (KEY alone passes the caller's value, on purpose). A box on the
// host's files keeps the caller's environment, as unshare does.
func TestE2ERootfsEnvironmentIsClean(t *testing.T) {
	testutil.RequireRoot(t)
	root := busyboxRootfs(t)
	secret := []string{"SECRET_TOKEN=abc123"}
	name := boxName(t, "env")
	r := pboxWith(t, nil, secret, "run", "--rm", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", root, "-e", "FOO=bar", "--", "env")
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	want := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME": name, "HOME": "/root", "FOO": "bar"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q in the box, want %q (%+v)", k, env[k], v, r)
		}
	}
	if _, leaked := env["SECRET_TOKEN"]; leaked || len(env) != len(want) {
		t.Errorf("the caller's environment leaked into a --rootfs box: %v", env)
	}
	r = pboxWith(t, nil, secret, "run", "--rm", "--cgroup-parent", e2eParent, "--rootfs", root, "-u", "4321", "-e", "SECRET_TOKEN", "--", "env")
	if !strings.Contains(r.stdout, "HOME=/\n") || !strings.Contains(r.stdout, "SECRET_TOKEN=abc123\n") {
		t.Errorf("-u 4321 (not in passwd) and -e SECRET_TOKEN: %+v", r)
	}
	r = pboxWith(t, nil, secret, "run", "--rm", "--cgroup-parent", e2eParent, "--", "env")
	if !strings.Contains(r.stdout, "SECRET_TOKEN=abc123\n") {
		t.Errorf("a box on the host's files keeps the caller's environment: %+v", r)
	}
}

// Issue 24: docker's commands get docker's answers: pbox top BOX lists
// its processes, and an image's name where COMMAND goes says how to get
// an image's files (127, nothing left behind).
func TestE2EDockerHabitsTopAndImageNames(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	name := boxName(t, "top")
	if r := pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	if r := pbox(t, "--root", root, "top", name); r.code != 0 || !strings.Contains(r.stdout, "sleep 1000") {
		t.Errorf("pbox top %s: %+v", name, r)
	}
	pbox(t, "--root", root, "rm", "-f", name)
	assertNoLeftovers(t, name)
	img := boxName(t, "img")
	r := pbox(t, "--root", root, "run", "--name", img, "--cgroup-parent", e2eParent, "alpine", "sh")
	assertCleanError(t, r, 127, "; pbox runs commands, not images: if alpine is an image, docker save alpine -o alpine.tar && pbox rootfs import alpine.tar ./alpine, then pbox run --rootfs ./alpine -- sh")
	if !strings.Contains(r.stderr, "alpine: executable file not found in $PATH") {
		t.Errorf("run alpine sh: %+v", r)
	}
	assertNoLeftovers(t, img)
}

// Issue 24: pbox wait BOX... blocks until each box stops and prints its
// exit status, as docker wait; a box that does not exist makes it 1.
func TestE2EWait(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	slow, fast := boxName(t, "wslow"), boxName(t, "wfast")
	for name, script := range map[string]string{slow: "sleep 0.5; exit 3", fast: "exit 0"} {
		if r := pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sh", "-c", script); r.code != 0 {
			t.Fatalf("run -d: %+v", r)
		}
		defer func(name string) {
			pbox(t, "--root", root, "rm", "-f", name)
			assertNoLeftovers(t, name)
		}(name)
	}
	if r := pbox(t, "--root", root, "wait", slow, fast); r.code != 0 || r.stdout != "3\n0\n" {
		t.Errorf("wait %s %s: %+v; want 3 then 0", slow, fast, r)
	}
	if r := pbox(t, "--root", root, "wait", fast, "no-such-box"); r.code != 1 || r.stdout != "0\n" || !strings.Contains(r.stderr, "pbox: wait: box does not exist: no-such-box") {
		t.Errorf("wait with a box that does not exist: %+v", r)
	}
}

// Issue 24: ps --format takes Go templates over the JSON's fields, as
// docker's ('{{.Names}}', 'table ...', '{{json .}}'), and the table cuts
// a long command so that a row fits 120 columns unless --no-trunc.
func TestE2EPsFormatAndWidth(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	if r := pbox(t, "--root", root, "ps"); r.code != 0 || strings.Fields(r.stdout)[0] != "ID" || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("ps without boxes: %+v; want the header alone", r)
	}
	long, short := boxName(t, "long"), boxName(t, "short")
	if r := pbox(t, "--root", root, "run", "-d", "--name", long, "--cgroup-parent", e2eParent, "--", "sh", "-c", "sleep 1000; echo "+strings.Repeat("x", 150)); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	if r := pbox(t, "--root", root, "run", "-d", "--name", short, "--cgroup-parent", e2eParent, "--", "sleep", "999"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	if r := pbox(t, "--root", root, "ps", "--format", "{{.Names}}"); r.code != 0 || r.stdout != long+"\n"+short+"\n" && r.stdout != short+"\n"+long+"\n" {
		t.Errorf("ps --format '{{.Names}}': %+v", r)
	}
	r := pbox(t, "--root", root, "ps", "--format", `table {{.Names}}\t{{.Status}}`)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 3 || strings.Fields(lines[0])[0] != "NAMES" || strings.Fields(lines[1])[1] != "running" {
		t.Errorf("ps --format 'table ...': %+v", r)
	}
	if r := pbox(t, "--root", root, "ps", "--format", `{{json .Command}}`); !strings.Contains(r.stdout, `["sleep","999"]`) {
		t.Errorf("ps --format '{{json .Command}}': %+v", r)
	}
	for _, line := range strings.Split(strings.TrimSpace(pbox(t, "--root", root, "ps").stdout), "\n") {
		if len(line) > 120 {
			t.Errorf("a ps row of %d columns: %q", len(line), line)
		}
	}
	if r := pbox(t, "--root", root, "ps", "--no-trunc"); !strings.Contains(r.stdout, strings.Repeat("x", 150)) {
		t.Errorf("ps --no-trunc cut the command: %+v", r)
	}
	assertCleanError(t, pbox(t, "--root", root, "ps", "--format", "{{.Nope}}"), 2, "ps: --format")
	assertCleanError(t, pbox(t, "--root", root, "ps", "--format", "yaml"), 2, "use table, json or a Go template")
	for _, n := range []string{long, short} {
		pbox(t, "--root", root, "rm", "-f", n)
		assertNoLeftovers(t, n)
	}
}

// Issue 24: pbox cp, both ways, files and directories, and tar streams
// with "-". Attacks: the box plants symlinks to host paths (to read a
// host file through, to write one through, as the destination itself),
// a FIFO (which would hang a reader or writer) and a setuid file on the
// host side; pbox reads and writes only the box's own files, never
// blocks, and no setuid bit crosses into the box.
func TestE2ECp(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	rfs := busyboxRootfs(t)
	name := boxName(t, "cp")
	if r := pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--rootfs", rfs, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	defer func() {
		pbox(t, "--root", root, "rm", "-f", name)
		assertNoLeftovers(t, name)
	}()
	host := t.TempDir()
	secret := filepath.Join(host, "secret")
	os.WriteFile(secret, []byte("host secret\n"), 0o600)
	target := filepath.Join(host, "target")
	os.MkdirAll(filepath.Join(target, "sub"), 0o755)
	in := filepath.Join(host, "in")
	os.MkdirAll(filepath.Join(in, "sub"), 0o755)
	os.WriteFile(filepath.Join(in, "sub", "file"), []byte("from the host\n"), 0o644)
	os.WriteFile(filepath.Join(in, "suid"), []byte("x"), 0o4755)
	os.Chmod(filepath.Join(in, "suid"), 0o4755)
	exec1 := func(script string) result { return pbox(t, "--root", root, "exec", name, "sh", "-c", script) }
	cp := func(args ...string) result { return pbox(t, append([]string{"--root", root, "cp"}, args...)...) }

	// Into the box: a directory, under its own name in an existing one.
	if r := cp(in, name+":/tmp"); r.code != 0 {
		t.Fatalf("cp DIR BOX:/tmp: %+v", r)
	}
	if r := exec1("cat /tmp/in/sub/file; stat -c %a /tmp/in/suid"); r.stdout != "from the host\n755\n" {
		t.Errorf("in the box after cp: %+v; want the file, and 755 (no setuid bit)", r)
	}
	// Out of the box: a file to a new name, a directory into one.
	out := t.TempDir()
	if r := cp(name+":/etc/hostname", filepath.Join(out, "h")); r.code != 0 {
		t.Errorf("cp BOX:FILE NEW: %+v", r)
	}
	if data, _ := os.ReadFile(filepath.Join(out, "h")); strings.TrimSpace(string(data)) == "" {
		t.Errorf("the copied hostname is empty")
	}
	// The box plants its traps.
	r := exec1("mkfifo /tmp/fifo && ln -s " + host + " /tmp/hostdir && ln -s " + secret + " /tmp/secretlink && ln -s " + target + " /tmp/drop")
	if r.code != 0 {
		t.Fatalf("planting: %+v", r)
	}
	// Reading through a symlink to a host directory reads the box's own
	// path (there is none), never the host's file.
	if r := cp(name+":/tmp/hostdir/secret", filepath.Join(out, "stolen")); r.code == 0 || strings.Contains(readFile(filepath.Join(out, "stolen")), "host secret") {
		t.Errorf("cp BOX:/tmp/hostdir/secret read the host's file: %+v", r)
	}
	// A symlink is copied as a symlink, not read through.
	if r := cp(name+":/tmp/secretlink", filepath.Join(out, "link")); r.code != 0 {
		t.Errorf("cp of a symlink: %+v", r)
	} else if fi, err := os.Lstat(filepath.Join(out, "link")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the box's symlink did not arrive as a symlink: %v %v", fi, err)
	}
	// Writing through the box's symlinks: into the host's directory, or
	// as the symlink itself.
	for _, dst := range []string{"/tmp/drop/sub", "/tmp/drop/x", "/tmp/drop", "/tmp/hostdir/secret"} {
		r := cp(filepath.Join(in, "sub", "file"), name+":"+dst)
		if ents, _ := os.ReadDir(filepath.Join(target, "sub")); len(ents) > 0 || readFile(secret) != "host secret\n" {
			t.Errorf("cp FILE BOX:%s wrote on the host through the box's symlink (%+v): target has %v", dst, r, ents)
		}
	}
	// The FIFO: never opened, so neither direction hangs.
	if r := cp(filepath.Join(in, "sub", "file"), name+":/tmp/fifo"); r.code != 1 || !strings.Contains(r.stderr, "not a regular file") {
		t.Errorf("cp FILE BOX:/tmp/fifo: %+v", r)
	}
	if r := cp(name+":/tmp/fifo", filepath.Join(out, "fifo")); !strings.Contains(r.stderr, "left out") {
		t.Errorf("cp BOX:/tmp/fifo: %+v", r)
	}
	// Tar streams: out of the box to stdout, and into it from stdin.
	r = cp(name+":/tmp/in", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "from the host") {
		t.Errorf("cp BOX:/tmp/in -: %+v", r)
	}
	tarFile := filepath.Join(host, "in.tar")
	os.WriteFile(tarFile, []byte(r.stdout), 0o644)
	exec1("mkdir /tmp/again")
	f, _ := os.Open(tarFile)
	defer f.Close()
	if r := pboxFrom(t, f, nil, nil, "--root", root, "cp", "-", name+":/tmp/again"); r.code != 0 {
		t.Errorf("cp - BOX:DIR: %+v", r)
	}
	if r := exec1("cat /tmp/again/in/sub/file"); r.stdout != "from the host\n" {
		t.Errorf("after cp -: %+v", r)
	}
	assertCleanError(t, cp("a", "b"), 2, "name a box")
	assertCleanError(t, cp(name+":/x", name+":/y"), 2, "between two boxes")
	assertCleanError(t, cp(name+":/no/such", out), 1, "no such file")
}

func readFile(p string) string {
	data, _ := os.ReadFile(p)
	return string(data)
}

// inputFile is a file holding s, for a pbox's stdin.
func inputFile(t *testing.T, s string) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
