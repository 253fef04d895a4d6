package main

// End-to-end tests of the OCI runtime command line (runc's), which
// containerd drives: spec, create, start, state, kill, delete, exec
// --process, ps, list, pause, resume, update, features, hooks, terminals.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/box"
	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/internal/osthread"
	"github.com/pbox-dev/pbox/internal/testutil"
	"github.com/pbox-dev/pbox/seccomp"
	"golang.org/x/sys/unix"
)

// bundle makes an OCI bundle with a busybox rootfs and `pbox spec`'s
// config.json, changed by edit.
func bundle(t *testing.T, edit func(cfg map[string]any)) string {
	t.Helper()
	dir := filepath.Dir(busyboxRootfs(t)) // .../rootfs
	if r := pbox(t, "spec", "--bundle", dir); r.code != 0 {
		t.Fatalf("spec: %+v", r)
	}
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	linux := cfg["linux"].(map[string]any)
	linux["cgroupsPath"] = "/" + e2eParent + "/" + leafOf(dir)
	if edit != nil {
		edit(cfg)
	}
	data, _ = json.Marshal(cfg)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// leafOf is the cgroup leaf bundle gives a bundle dir.
func leafOf(bundle string) string {
	return fmt.Sprintf("oci-%d-%s", os.Getpid(), filepath.Base(filepath.Dir(bundle)))
}

func setArgs(args ...string) func(map[string]any) {
	return func(cfg map[string]any) { cfg["process"].(map[string]any)["args"] = args }
}

type ociState struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Pid    int    `json:"pid"`
	Bundle string `json:"bundle"`
}

func stateOfBox(t *testing.T, root, id string) ociState {
	t.Helper()
	r := pbox(t, "--root", root, "state", id)
	var s ociState
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &s) != nil {
		t.Fatalf("state %s: %+v", id, r)
	}
	return s
}

func TestE2EOCILifecycle(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	hooks := t.TempDir()
	b := bundle(t, func(cfg map[string]any) {
		setArgs("sh", "-c", "echo started > /hooks/process; exec sleep 1000")(cfg)
		cfg["mounts"] = append(cfg["mounts"].([]any), map[string]any{
			"destination": "/hooks", "type": "bind", "source": hooks, "options": []string{"rbind", "rw"},
		})
		hook := func(name string) []any {
			return []any{map[string]any{"path": "/bin/sh", "args": []string{"sh", "-c", "cat > " + filepath.Join(hooks, name)}}}
		}
		cfg["hooks"] = map[string]any{
			"prestart": hook("prestart"), "createRuntime": hook("createRuntime"), "createContainer": hook("createContainer"),
			// startContainer runs inside the box: the path is the box's.
			"startContainer": []any{map[string]any{"path": "/bin/sh", "args": []string{"sh", "-c", "cat > /hooks/startContainer"}}},
			"poststart":      hook("poststart"), "poststop": hook("poststop"),
		}
		cfg["linux"].(map[string]any)["resources"] = map[string]any{"memory": map[string]any{"limit": 64 << 20}, "pids": map[string]any{"limit": 64}}
		// pbox-init as PID 1, asked for (process.args is PID 1 otherwise).
		cfg["annotations"] = map[string]string{"org.example/test": "yes", "run.pbox.init": "true"}
	})
	id := boxName(t, "oci")
	p := func(args ...string) result { return pbox(t, append([]string{"--root", root}, args...)...) }
	pidFile := filepath.Join(t.TempDir(), "init.pid")

	if r := p("create", "--bundle", b, "--pid-file", pidFile, id); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	s := stateOfBox(t, root, id)
	pidData, _ := os.ReadFile(pidFile)
	if s.Status != "created" || strconv.Itoa(s.Pid) != string(pidData) || s.Bundle != b {
		t.Fatalf("after create: state %+v, pid file %q", s, pidData)
	}
	if _, err := os.Stat(filepath.Join(hooks, "process")); err == nil {
		t.Fatal("the process ran before start")
	}
	for _, h := range []string{"prestart", "createRuntime", "createContainer"} {
		var hs ociState
		data, _ := os.ReadFile(filepath.Join(hooks, h))
		if err := json.Unmarshal(data, &hs); err != nil || hs.ID != id || hs.Pid != s.Pid || hs.Status != "creating" {
			t.Errorf("%s hook got state %q (%v); want id, pid and status creating", h, data, err)
		}
	}
	assertCleanError(t, p("create", "--bundle", b, id), 1, "exists")

	if r := p("start", id); r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	if !testutil.WaitFor(5*time.Second, func() bool { _, err := os.Stat(filepath.Join(hooks, "process")); return err == nil }) {
		t.Fatal("the process did not run after start")
	}
	for _, h := range []string{"startContainer", "poststart"} {
		if _, err := os.Stat(filepath.Join(hooks, h)); err != nil {
			t.Errorf("%s hook did not run: %v", h, err)
		}
	}
	if s = stateOfBox(t, root, id); s.Status != "running" {
		t.Errorf("after start: %+v", s)
	}
	assertCleanError(t, p("start", id), 1, "not created")
	assertCleanError(t, p("delete", id), 1, "is running")

	// ps ID: the box's processes, host pids.
	var pids []int
	r := p("ps", "--format", "json", id)
	if json.Unmarshal([]byte(r.stdout), &pids); len(pids) < 2 {
		t.Errorf("ps --format json: %+v; want the init and sleep", r)
	}
	// The table: each host pid with its pid in the box and its command
	// line (the init is 1, pbox-init).
	r = p("ps", id)
	if len(pids) > 0 && (!regexp.MustCompile(`(?m)^`+strconv.Itoa(pids[0])+` +1 +pbox-init`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^[0-9]+ +[0-9]+ +sleep `).MatchString(r.stdout)) {
		t.Errorf("ps %s:\n%s\nwant PID, BOX PID and COMMAND of the init (pid 1 in the box) and of sleep", id, r.stdout)
	}
	// list
	var list []ociState
	r = p("list", "--format", "json")
	if json.Unmarshal([]byte(r.stdout), &list); len(list) != 1 || list[0].ID != id {
		t.Errorf("list: %+v", r)
	}

	// exec --process, as containerd's shim calls it.
	proc := map[string]any{"args": []string{"sh", "-c", "echo exec-ok; hostname; exit 3"}, "cwd": "/", "env": []string{"PATH=/bin"},
		"user": map[string]any{"uid": 0, "gid": 0}}
	data, _ := json.Marshal(proc)
	procFile := filepath.Join(t.TempDir(), "process.json")
	os.WriteFile(procFile, data, 0o644)
	if r = p("exec", "--process", procFile, id); r.code != 3 || r.stdout != "exec-ok\npbox\n" {
		t.Errorf("exec --process: %+v; want exit 3 and the box's hostname", r)
	}
	execPid := filepath.Join(t.TempDir(), "exec.pid")
	proc["args"] = []string{"sleep", "1000"}
	data, _ = json.Marshal(proc)
	os.WriteFile(procFile, data, 0o644)
	if r = p("exec", "--process", procFile, "--detach", "--pid-file", execPid, id); r.code != 0 {
		t.Errorf("exec --detach: %+v", r)
	}
	if d, err := os.ReadFile(execPid); err != nil || len(d) == 0 {
		t.Errorf("exec --pid-file: %q %v", d, err)
	}

	// pause, resume, update.
	if r = p("pause", id); r.code != 0 || stateOfBox(t, root, id).Status != "paused" {
		t.Errorf("pause: %+v", r)
	}
	assertCleanError(t, p("pause", id), 1, "paused")
	if r = p("resume", id); r.code != 0 || stateOfBox(t, root, id).Status != "running" {
		t.Errorf("resume: %+v", r)
	}
	res := filepath.Join(t.TempDir(), "res.json")
	os.WriteFile(res, []byte(`{"memory":{"limit":134217728},"pids":{"limit":100}}`), 0o644)
	if r = p("update", "--resources", res, id); r.code != 0 {
		t.Errorf("update: %+v", r)
	}
	var st struct {
		MemoryLimit int64 `json:"memory_limit"`
		PidsLimit   int64 `json:"pids_limit"`
	}
	json.Unmarshal([]byte(p("stats", "--json", id).stdout), &st)
	if st.MemoryLimit != 128<<20 || st.PidsLimit != 100 {
		t.Errorf("after update: %+v", st)
	}
	if cgroups.DetectMode() == cgroups.V2 {
		// A controller the box's cgroup was made without is refused ...
		assertCleanError(t, p("update", "--cpus", "1", id), 1, "cpu")
	} else if r = p("update", "--cpus", "1", id); r.code != 0 {
		// ... while on v1 the box is in every hierarchy from the start.
		t.Errorf("update --cpus on v1: %+v", r)
	}

	// kill: TERM goes to the init, which passes it on; the box stops.
	if r = p("kill", id, "TERM"); r.code != 0 {
		t.Errorf("kill: %+v", r)
	}
	if !testutil.WaitFor(5*time.Second, func() bool { return stateOfBox(t, root, id).Status == "stopped" }) {
		t.Fatal("box did not stop after kill TERM")
	}
	assertCleanError(t, p("exec", "--process", procFile, id), 125, "not running")
	if r = p("delete", id); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	var hs ociState
	data, _ = os.ReadFile(filepath.Join(hooks, "poststop"))
	if json.Unmarshal(data, &hs); hs.ID != id || hs.Status != "stopped" {
		t.Errorf("poststop hook got %q", data)
	}
	assertCleanError(t, p("state", id), 1, "does not exist")
	if _, err := os.Stat(filepath.Join(root, id)); !os.IsNotExist(err) {
		t.Errorf("delete left state: %v", err)
	}
	assertNoLeftovers(t, leafOf(b))
}

func TestE2EOCIDeleteForceAndCreated(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	b := bundle(t, setArgs("sleep", "1000"))
	leaf := leafOf(b)
	for _, force := range []bool{false, true} {
		id := boxName(t, "del"+strconv.FormatBool(force))
		if r := pbox(t, "--root", root, "create", "--bundle", b, id); r.code != 0 {
			t.Fatalf("create: %+v", r)
		}
		args := []string{"--root", root, "delete", id}
		if force {
			pbox(t, "--root", root, "start", id)
			args = []string{"--root", root, "delete", "--force", id}
		}
		// A created box may be deleted without --force, as with runc.
		if r := pbox(t, args...); r.code != 0 {
			t.Fatalf("delete (force %v): %+v", force, r)
		}
		assertNoLeftovers(t, leaf)
	}
}

func TestE2EOCIBadInput(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	p := func(args ...string) result { return pbox(t, append([]string{"--root", root}, args...)...) }
	id := boxName(t, "ocibad")
	empty := t.TempDir()
	assertCleanError(t, p("create", "--bundle", empty, id), 1, "no config.json")
	os.WriteFile(filepath.Join(empty, "config.json"), []byte("{not json"), 0o644)
	assertCleanError(t, p("create", "--bundle", empty, id), 1, "invalid JSON")
	// An id nobody created: the words containerd's shim and podman match
	// in runc's answer ("does not exist"), for every command that takes one.
	for _, cmd := range [][]string{{"state", id}, {"delete", id}, {"kill", id, "KILL"}, {"start", id}, {"ps", id}, {"pause", id}} {
		assertCleanError(t, p(cmd...), 1, "does not exist")
	}

	cases := []struct {
		edit func(map[string]any)
		want string
	}{
		{func(c map[string]any) {
			c["linux"].(map[string]any)["seccomp"] = map[string]any{"defaultAction": "SCMP_ACT_NOTIFY"}
		}, "linux.seccomp.defaultAction"},
		{func(c map[string]any) {
			c["linux"].(map[string]any)["seccomp"] = map[string]any{"defaultAction": "SCMP_ACT_ALLOW",
				"syscalls": []any{map[string]any{"names": []any{"nosuchcall"}, "action": "SCMP_ACT_ERRNO"}}}
		}, `unknown syscall "nosuchcall"`},
		{func(c map[string]any) {
			// Attack: a host sysctl through an OCI bundle (runc refuses it too).
			c["linux"].(map[string]any)["sysctl"] = map[string]any{"kernel.printk_ratelimit": "17"}
		}, "not in a separate kernel namespace"},
		{func(c map[string]any) {
			l := c["linux"].(map[string]any)
			l["namespaces"] = append(l["namespaces"].([]any), map[string]any{"type": "user"})
		}, "user"},
		{func(c map[string]any) { c["process"].(map[string]any)["cwd"] = "relative" }, "process.cwd"},
		{func(c map[string]any) { c["process"].(map[string]any)["args"] = []string{} }, "process.args"},
		{func(c map[string]any) {
			c["process"].(map[string]any)["rlimits"] = []any{map[string]any{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}}
		}, "RLIMIT_BOGUS"},
		{func(c map[string]any) { c["linux"].(map[string]any)["cgroupsPath"] = "system:pbox:x" }, "linux.cgroupsPath"},
		{func(c map[string]any) { c["root"].(map[string]any)["path"] = "/no/such/rootfs" }, "/no/such/rootfs"},
		{func(c map[string]any) {
			// CPUs this machine does not have: the kernel refuses the write.
			c["linux"].(map[string]any)["resources"] = map[string]any{"cpu": map[string]any{"cpus": "0-999"}}
		}, "cpuset.cpus"},
		{func(c map[string]any) {
			// A page size this machine has no hugepages of.
			c["linux"].(map[string]any)["resources"] = map[string]any{"hugepageLimits": []any{map[string]any{"pageSize": "64KB", "limit": 1 << 20}}}
		}, "linux.resources.hugepageLimits"},
		{setArgs("no-such-cmd-xyz"), "not found"},
		// Issue 19: accepted though wrong, until now.
		{func(c map[string]any) {
			c["linux"].(map[string]any)["seccomp"] = map[string]any{"defaultAction": "SCMP_ACT_ALLOW", "architectures": []any{"SCMP_ARCH_BOGUS"}}
		}, "linux.seccomp.architectures[0]"},
		{func(c map[string]any) {
			c["linux"].(map[string]any)["resources"] = map[string]any{"memory": map[string]any{"limit": -5}}
		}, "linux.resources.memory.limit -5"},
		{func(c map[string]any) {
			// pbox's own init would be OOM-killed mid-setup under it.
			c["linux"].(map[string]any)["resources"] = map[string]any{"memory": map[string]any{"limit": 4096}}
		}, "linux.resources.memory.limit 4096"},
	}
	printk, err := os.ReadFile("/proc/sys/kernel/printk_ratelimit")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if now, _ := os.ReadFile("/proc/sys/kernel/printk_ratelimit"); string(now) != string(printk) {
			t.Errorf("the host's kernel.printk_ratelimit changed from %q to %q", printk, now)
			os.WriteFile("/proc/sys/kernel/printk_ratelimit", printk, 0)
		}
	}()
	for _, tc := range cases {
		b := bundle(t, tc.edit)
		r := p("create", "--bundle", b, id)
		assertCleanError(t, r, 1, tc.want)
		if _, err := os.Stat(filepath.Join(root, id)); !os.IsNotExist(err) {
			t.Errorf("failed create (%s) left state: %v", tc.want, err)
		}
		assertNoLeftovers(t, leafOf(b))
	}

	// A failing prestart hook: create fails, the poststop hooks still run
	// (the runtime-spec's "continue at delete"), nothing is left.
	marker := filepath.Join(t.TempDir(), "poststop-ran")
	b := bundle(t, func(c map[string]any) {
		c["hooks"] = map[string]any{
			"prestart": []any{map[string]any{"path": "/bin/sh", "args": []string{"sh", "-c", "echo no way >&2; exit 3"}}},
			"poststop": []any{map[string]any{"path": "/bin/sh", "args": []string{"sh", "-c", "cat > " + marker}}},
		}
	})
	assertCleanError(t, p("create", "--bundle", b, id), 1, "no way")
	if data, err := os.ReadFile(marker); err != nil || !strings.Contains(string(data), `"status":"stopped"`) {
		t.Errorf("poststop after a failed prestart hook: %q %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(root, id)); !os.IsNotExist(err) {
		t.Errorf("failed hook left state: %v", err)
	}
	assertNoLeftovers(t, leafOf(b))

	// --log-format json: the error is also a JSON line in --log.
	logFile := filepath.Join(t.TempDir(), "log.json")
	r := pbox(t, "--root", root, "--log", logFile, "--log-format", "json", "start", "nobox")
	assertCleanError(t, r, 1, "does not exist")
	data, _ := os.ReadFile(logFile)
	var line struct{ Level, Msg, Time string }
	if err := json.Unmarshal(data, &line); err != nil || line.Level != "error" || !strings.Contains(line.Msg, "does not exist") || line.Time == "" {
		t.Errorf("--log json: %q (%v)", data, err)
	}
	assertCleanError(t, pbox(t, "--log-format", "xml", "list"), 1, "--log-format") // an OCI command: 1, as runc
	assertCleanError(t, pbox(t, "--log-format", "xml", "ps"), 2, "--log-format")
}

func TestE2EOCITerminalAndPreservedFDs(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)

	// process.terminal: the pty master arrives on the console socket, of
	// process.consoleSize from the start.
	b := bundle(t, func(cfg map[string]any) {
		setArgs("sh", "-c", "tty; stty size; echo done")(cfg)
		cfg["process"].(map[string]any)["terminal"] = true
		cfg["process"].(map[string]any)["consoleSize"] = map[string]any{"height": 33, "width": 111}
	})
	sockPath := filepath.Join(t.TempDir(), "console.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sockPath, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	masterCh := make(chan *os.File, 1)
	go func() {
		conn, err := ln.AcceptUnix()
		if err != nil {
			masterCh <- nil
			return
		}
		defer conn.Close()
		buf, oob := make([]byte, 64), make([]byte, 64)
		_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		msgs, perr := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil || perr != nil || len(msgs) != 1 {
			masterCh <- nil
			return
		}
		fds, _ := syscall.ParseUnixRights(&msgs[0])
		masterCh <- os.NewFile(uintptr(fds[0]), "master")
	}()
	id := boxName(t, "tty")
	if r := pbox(t, "--root", root, "create", "--bundle", b, "--console-socket", sockPath, id); r.code != 0 {
		t.Fatalf("create with a terminal: %+v", r)
	}
	master := <-masterCh
	if master == nil {
		t.Fatal("no pty master on the console socket")
	}
	defer master.Close()
	pbox(t, "--root", root, "start", id)
	out := make([]byte, 256)
	master.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got string
	for !strings.Contains(got, "done") {
		n, err := master.Read(out)
		got += string(out[:n])
		if err != nil {
			break
		}
	}
	if !strings.Contains(got, "/dev/pts/0") || !strings.Contains(got, "33 111") {
		t.Errorf("the process's terminal: %q; want /dev/pts/0 of the box's devpts, 33 rows and 111 columns", got)
	}
	assertCleanError(t, pbox(t, "--root", root, "create", "--bundle", b, id+"x"), 1, "--console-socket")
	pbox(t, "--root", root, "delete", "--force", id)

	// --preserve-fds 1: the caller's fd 3 is the process's fd 3.
	b2 := bundle(t, setArgs("sh", "-c", "echo via-fd3 >&3"))
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	id2 := boxName(t, "fds")
	cmd := exec.Command(pboxBin(t), "--root", root, "create", "--bundle", b2, "--preserve-fds", "1", id2)
	cmd.ExtraFiles = []*os.File{wr}
	errFile := filepath.Join(t.TempDir(), "stderr")
	stderr, err := os.Create(errFile) // a file, not a pipe: the box keeps pbox create's stdio
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	err = cmd.Run()
	stderr.Close()
	if err != nil {
		msg, _ := os.ReadFile(errFile)
		t.Fatalf("create --preserve-fds: %v: %s", err, msg)
	}
	wr.Close()
	pbox(t, "--root", root, "start", id2)
	rd.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _ := rd.Read(out)
	if string(out[:n]) != "via-fd3\n" {
		t.Errorf("fd 3 in the box got %q", out[:n])
	}
	pbox(t, "--root", root, "delete", "--force", id2)
	assertNoLeftovers(t, leafOf(b2))
}

func TestE2ESpecAndFeatures(t *testing.T) {
	dir := t.TempDir()
	if r := pbox(t, "spec", "-b", dir); r.code != 0 {
		t.Fatalf("spec: %+v", r)
	}
	assertCleanError(t, pbox(t, "spec", "-b", dir), 1, "exists")
	var f struct {
		OCIVersionMax string `json:"ociVersionMax"`
		Hooks         []string
		Linux         struct{ Namespaces []string }
	}
	r := pbox(t, "features")
	if err := json.Unmarshal([]byte(r.stdout), &f); err != nil || len(f.Hooks) != 6 || len(f.Linux.Namespaces) == 0 {
		t.Errorf("features: %+v (%v)", r, err)
	}
}

// linux.namespaces[].path joins an existing namespace; sysctl and
// linux.devices are applied inside the box.
func TestE2EOCIJoinsANamespaceByPathWithSysctlsAndDevices(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	other := boxName(t, "netowner")
	if r := pbox(t, "--root", root, "run", "-d", "--name", other, "--cgroup-parent", e2eParent, "--ns", "pid,mnt,uts,net", "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	pid := psAll(t, root)[other].Pid
	netns := fmt.Sprintf("/proc/%d/ns/net", pid)
	want, _ := os.Readlink(netns)
	b := bundle(t, func(cfg map[string]any) {
		setArgs("sleep", "1000")(cfg)
		l := cfg["linux"].(map[string]any)
		var ns []any
		for _, n := range l["namespaces"].([]any) {
			if n.(map[string]any)["type"] != "network" {
				ns = append(ns, n)
			}
		}
		l["namespaces"] = append(ns, map[string]any{"type": "network", "path": netns})
		l["sysctl"] = map[string]string{"kernel.msgmax": "12345"} // ipc-namespaced
		l["devices"] = []any{map[string]any{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o600}}
	})
	id := boxName(t, "joiner")
	if r := pbox(t, "--root", root, "create", "--bundle", b, id); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	pbox(t, "--root", root, "start", id)
	r := pbox(t, "--root", root, "exec", id, "--", "sh", "-c", "readlink /proc/self/ns/net; cat /proc/sys/kernel/msgmax; stat -c '%t:%T %a' /dev/fuse")
	if r.stdout != want+"\n12345\na:e5 600\n" {
		t.Errorf("in the joining box: %q; want net %s, msgmax 12345, /dev/fuse 10:229 mode 600", r.stdout, want)
	}
	pbox(t, "--root", root, "delete", "--force", id)
	pbox(t, "--root", root, "rm", "-f", other)
	assertNoLeftovers(t, leafOf(b))
	assertNoLeftovers(t, other)
}

// linux.resources.devices: v1's devices controller on this host, an eBPF
// device filter on cgroup v2 (the VM lane).
func TestE2EOCIDeviceRules(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	b := bundle(t, func(cfg map[string]any) {
		setArgs("sh", "-c", "echo x > /dev/null && echo null-ok; if head -c1 /dev/kmsg >/dev/null 2>&1; then echo kmsg-open; else echo kmsg-denied; fi")(cfg)
		// The host's /dev/kmsg (c 1:11), bound in: the node is there, the
		// rules deny it. The standard nodes stay usable.
		cfg["mounts"] = append(cfg["mounts"].([]any), map[string]any{
			"destination": "/dev/kmsg", "type": "bind", "source": "/dev/kmsg", "options": []string{"bind"},
		})
		cfg["linux"].(map[string]any)["resources"] = map[string]any{"devices": []any{map[string]any{"allow": false, "access": "rwm"}}}
	})
	id := boxName(t, "devices")
	out := createToFile(t, root, b, id)
	pbox(t, "--root", root, "start", id)
	var got string
	testutil.WaitFor(5*time.Second, func() bool {
		data, _ := os.ReadFile(out)
		got = string(data)
		return strings.Contains(got, "kmsg-")
	})
	if got != "null-ok\nkmsg-denied\n" {
		t.Errorf("in a box whose rules deny every device: %q; want /dev/null usable (a default) and /dev/kmsg denied", got)
	}
	pbox(t, "--root", root, "delete", "--force", id)
	assertNoLeftovers(t, leafOf(b))
}

// A new user namespace with uid/gid maps: root in the box is an
// unprivileged uid on the host; pbox exec joins it (the joiner is
// single-threaded), and what it runs is that uid on the host too.
func TestE2EOCIUserNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	b := bundle(t, func(cfg map[string]any) {
		setArgs("sh", "-c", "id -u; cat /proc/self/uid_map; exec sleep 1000")(cfg)
		l := cfg["linux"].(map[string]any)
		l["namespaces"] = append(l["namespaces"].([]any), map[string]any{"type": "user"})
		m := []any{map[string]any{"containerID": 0, "hostID": 200000, "size": 65536}}
		l["uidMappings"], l["gidMappings"] = m, m
	})
	// The box's root is host uid 200000: it must be able to reach the
	// rootfs, as with runc.
	openToOthers(b)
	id := boxName(t, "userns")
	got := startAndRead(t, root, b, id, 2)
	if fields := strings.Fields(got); len(fields) != 4 || fields[0] != "0" || fields[1] != "0" || fields[2] != "200000" || fields[3] != "65536" {
		t.Errorf("inside: %q; want uid 0 mapped to 200000", got)
	}
	pid := stateOfBox(t, root, id).Pid
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if uids := statusField(string(status), "Uid"); len(uids) == 0 || uids[0] != "200000" {
		t.Errorf("on the host the box's init runs as %v; want 200000", uids)
	}
	r := pbox(t, "--root", root, "exec", id, "--", "sh", "-c", "id -u; cat /proc/self/uid_map; grep Uid /proc/self/status")
	if f := strings.Fields(r.stdout); r.code != 0 || len(f) < 5 || f[0] != "0" || f[2] != "200000" {
		t.Errorf("exec into the user namespace: %+v; want uid 0 mapped to 200000", r)
	}
	pbox(t, "--root", root, "delete", "--force", id)
	assertNoLeftovers(t, leafOf(b))
}

// createToFile runs pbox create with its stdout and stderr in a file, which
// the box keeps (as containerd's pipes), and returns the file's path.
func createToFile(t *testing.T, root, bundle, id string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(pboxBin(t), "--root", root, "create", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		data, _ := os.ReadFile(out)
		t.Fatalf("create %s: %v %s", id, err, data)
	}
	return out
}

// startAndRead creates and starts box id from bundle b, its output going
// to a file, and returns that output once it has lines lines (or after 5 s).
func startAndRead(t *testing.T, root, b, id string, lines int) string {
	t.Helper()
	out := createToFile(t, root, b, id)
	pbox(t, "--root", root, "start", id)
	var got string
	testutil.WaitFor(5*time.Second, func() bool {
		data, _ := os.ReadFile(out)
		got = string(data)
		return strings.Count(got, "\n") >= lines
	})
	return got
}

// openToOthers lets every user into the directories above bundle b, up to
// the temp dir (t.TempDir makes them 0700): a box whose processes are not
// host root must reach its rootfs, as with runc.
func openToOthers(b string) {
	for d := filepath.Dir(b); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
}

// linux.seccomp from a config.json: actions with errnoRet, argument
// conditions, flags; pbox exec gets the same filter as the box.
func TestE2EOCISeccomp(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	b := bundle(t, func(cfg map[string]any) {
		setArgs("sleep", "1000")(cfg)
		cfg["linux"].(map[string]any)["seccomp"] = map[string]any{
			"defaultAction": "SCMP_ACT_ALLOW",
			"architectures": []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
			"flags":         []string{"SECCOMP_FILTER_FLAG_SPEC_ALLOW"},
			"syscalls": []any{
				map[string]any{"names": []string{"mkdir", "mkdirat"}, "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
				// chmod to mode 0777 only (chmod(2) and fchmodat(2), argument by
				// argument): EPERM; any other mode is allowed.
				map[string]any{"names": []string{"chmod"}, "action": "SCMP_ACT_ERRNO",
					"args": []any{map[string]any{"index": 1, "value": 0o777, "op": "SCMP_CMP_EQ"}}},
				map[string]any{"names": []string{"fchmodat"}, "action": "SCMP_ACT_ERRNO",
					"args": []any{map[string]any{"index": 2, "value": 0o777, "op": "SCMP_CMP_EQ"}}},
			},
		}
	})
	id := boxName(t, "ociseccomp")
	if r := pbox(t, "--root", root, "create", "--bundle", b, id); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	defer func() {
		pbox(t, "--root", root, "delete", "--force", id)
		assertNoLeftovers(t, leafOf(b))
	}()
	pbox(t, "--root", root, "start", id)
	r := pbox(t, "--root", root, "exec", id, "--", "sh", "-c",
		"mkdir /dev/shm/d; echo mkdir=$?; touch /dev/shm/f; chmod 640 /dev/shm/f; echo chmod640=$?; chmod 777 /dev/shm/f; echo chmod777=$?; grep -E '^Seccomp(_filters)?:' /proc/self/status")
	for _, want := range []string{"Permission denied", "mkdir=1", "chmod640=0", "chmod777=1", "Operation not permitted", "Seccomp:\t2", "Seccomp_filters:\t1"} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("exec in a box with a seccomp config: %q lacks %q", r.stdout+r.stderr, want)
		}
	}
}

// What engines send besides the basics (issue 11): a shared root
// (rootfsPropagation), a top-level cgroupsPath, the hostname in a UTS
// namespace joined by path, and a PID namespace joined by path — as
// Kubernetes pods share the pause container's — where pbox-init is not
// PID 1 and adopts orphans as a child subreaper.
func TestE2EOCIFieldsEnginesSend(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	owner := boxName(t, "podowner")
	if r := pbox(t, "--root", root, "run", "-d", "--name", owner, "--cgroup-parent", e2eParent, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	ownerPid := psAll(t, root)[owner].Pid
	top := fmt.Sprintf("pbox-e2e-top-%d", os.Getpid())
	b := bundle(t, func(cfg map[string]any) {
		setArgs("sh", "-c", "(sleep 2 &); exec sleep 1000")(cfg)
		cfg["annotations"] = map[string]string{"run.pbox.init": "true"} // it reaps the orphan
		cfg["hostname"] = "joined-host"
		l := cfg["linux"].(map[string]any)
		l["rootfsPropagation"] = "rshared"
		l["cgroupsPath"] = "/" + top
		var ns []any
		for _, n := range l["namespaces"].([]any) {
			if t := n.(map[string]any)["type"]; t != "pid" && t != "uts" {
				ns = append(ns, n)
			}
		}
		l["namespaces"] = append(ns,
			map[string]any{"type": "pid", "path": fmt.Sprintf("/proc/%d/ns/pid", ownerPid)},
			map[string]any{"type": "uts", "path": fmt.Sprintf("/proc/%d/ns/uts", ownerPid)})
	})
	id := boxName(t, "engine")
	if r := pbox(t, "--root", root, "create", "--bundle", b, id); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	defer func() {
		pbox(t, "--root", root, "delete", "--force", id)
		if left, _ := filepath.Glob("/sys/fs/cgroup/*/" + top); len(left) > 0 {
			t.Errorf("a top-level cgroup is left: %v", left)
		}
		if left, _ := filepath.Glob("/sys/fs/cgroup/" + top); len(left) > 0 {
			t.Errorf("a top-level cgroup is left: %v", left)
		}
	}()
	if r := pbox(t, "--root", root, "start", id); r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	initPid := stateOfBox(t, root, id).Pid
	// The box's cgroup is at the top of the hierarchy.
	cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", initPid))
	if !strings.Contains(string(cg), "::/"+top) {
		t.Errorf("init's cgroups %q lack /%s", cg, top)
	}
	// The hostname went into the owner's UTS namespace.
	if r := pbox(t, "--root", root, "exec", owner, "--", "hostname"); strings.TrimSpace(r.stdout) != "joined-host" {
		t.Errorf("hostname in the joined UTS namespace: %+v", r)
	}
	// / is shared inside.
	if r := pbox(t, "--root", root, "exec", id, "--", "awk", "$5 == \"/\"", "/proc/self/mountinfo"); !strings.Contains(r.stdout, "shared:") {
		t.Errorf("rootfsPropagation rshared: / is %q", r.stdout)
	}
	// The orphan (sleep 2, its subshell gone) is adopted by pbox-init, not
	// by the owner's PID 1.
	var orphan int
	testutil.WaitFor(5*time.Second, func() bool {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if string(cmd) == "sleep\x002\x00" {
				orphan = pid
				return testutil.PPid(pid) == initPid
			}
		}
		return false
	})
	if orphan == 0 || testutil.PPid(orphan) != initPid {
		t.Errorf("orphan %d has parent %d; want pbox-init %d (a child subreaper)", orphan, testutil.PPid(orphan), initPid)
	}
	// Once it exits, pbox-init reaps it: no zombie is left.
	if !testutil.WaitFor(5*time.Second, func() bool { _, err := os.Stat(fmt.Sprintf("/proc/%d", orphan)); return os.IsNotExist(err) }) {
		t.Errorf("the orphan %d was not reaped (state %s)", orphan, testutil.ProcState(orphan))
	}
}

// The config.json containerd 1.6's CRI plugin writes for a container of
// a pod (box/testdata/containerd-1.6-cri-container.json, after the
// defaults in containerd's pkg/cri: the cgroup mount, the sandbox's
// hosts/hostname/resolv.conf/shm binds, masked and read-only paths,
// seccomp RuntimeDefault, unprivileged-port sysctls, the pod's PID, IPC,
// UTS and network namespaces joined by path), through create, start,
// exec, kill and delete. The "pause" sandbox is a pbox box here.
func TestE2EOCICRIPodContainer(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	sandbox := boxName(t, "sandbox")
	if r := pbox(t, "--root", root, "run", "-d", "--name", sandbox, "--hostname", "pod1", "--cgroup-parent", e2eParent,
		"--ns", "pid,mnt,uts,ipc,net", "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("sandbox: %+v", r)
	}
	sandboxPid := psAll(t, root)[sandbox].Pid
	sdir := t.TempDir()
	for name, data := range map[string]string{"hosts": "127.0.0.1 localhost pod1\n", "hostname": "pod1\n", "resolv.conf": "nameserver 127.0.0.1\n", "termination-log": ""} {
		os.WriteFile(filepath.Join(sdir, name), []byte(data), 0o644)
	}
	os.Mkdir(filepath.Join(sdir, "shm"), 0o1777)
	id := boxName(t, "cri-app")
	fixture := "../../box/testdata/containerd-1.6-cri-container.json"
	if dir := os.Getenv("OCI_TESTDATA"); dir != "" { // the VM lane's copy
		fixture = filepath.Join(dir, "containerd-1.6-cri-container.json")
	}
	raw, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := seccomp.Default([]string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
		"CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"})
	if err != nil {
		t.Fatal(err)
	}
	profJSON, _ := json.Marshal(prof)
	config := strings.NewReplacer("{{SANDBOX}}", sdir, "{{SANDBOX_ID}}", sandbox, "{{PARENT}}", e2eParent, "{{ID}}", id,
		"{{SANDBOX_PID}}", strconv.Itoa(sandboxPid), `"{{RUNTIME_DEFAULT}}"`, string(profJSON)).Replace(string(raw))
	b := filepath.Dir(busyboxRootfs(t))
	if err := os.WriteFile(filepath.Join(b, "config.json"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	out := createToFile(t, root, b, id)
	defer func() {
		pbox(t, "--root", root, "delete", "--force", id)
		if left := testutil.CgroupDirs(e2eParent+"/pod1", id); len(left) > 0 {
			t.Errorf("the pod container left cgroups: %v", left)
		}
		// The pod's cgroup is the container's parent: like a
		// --cgroup-parent, it stays after the container; the pod (this
		// test) removes it.
		pods, _ := filepath.Glob("/sys/fs/cgroup/*/" + e2eParent + "/pod1")
		top, _ := filepath.Glob("/sys/fs/cgroup/" + e2eParent + "/pod1")
		for _, d := range append(pods, top...) {
			if err := syscall.Rmdir(d); err != nil {
				t.Errorf("remove the pod's cgroup %s: %v", d, err)
			}
		}
	}()
	if r := pbox(t, "--root", root, "start", id); r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	if !testutil.WaitFor(5*time.Second, func() bool { d, _ := os.ReadFile(out); return strings.Contains(string(d), "ready") }) {
		d, _ := os.ReadFile(out)
		t.Fatalf("the container did not start: %q", d)
	}
	r := pbox(t, "--root", root, "exec", id, "--", "sh", "-c",
		"hostname; cat /etc/hosts; cat /proc/sys/net/ipv4/ip_unprivileged_port_start; echo sleeps $(ps -o comm | grep -cx sleep); "+
			"grep '^Seccomp:' /proc/self/status; touch /sys/fs/cgroup/x 2>/dev/null || echo cgroup-ro; [ -s /proc/keys ] || echo keys-masked")
	// The pod's PID namespace: the sandbox's sleep and the container's.
	want := []string{"pod1\n", "127.0.0.1 localhost pod1", "\n0\n", "sleeps 2", "Seccomp:\t2", "cgroup-ro", "keys-masked"}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("exec in the pod container: %q lacks %q (stderr %q)", r.stdout, w, r.stderr)
		}
	}
	// kill: TERM to pbox-init, passed on; the container stops.
	if r := pbox(t, "--root", root, "kill", id, "TERM"); r.code != 0 {
		t.Errorf("kill: %+v", r)
	}
	if !testutil.WaitFor(5*time.Second, func() bool { return stateOfBox(t, root, id).Status == "stopped" }) {
		t.Errorf("after kill TERM: %+v", stateOfBox(t, root, id))
	}
	// The sandbox lives on, its namespaces intact.
	if st := psAll(t, root)[sandbox]; st.Status != "running" {
		t.Errorf("the sandbox after the container stopped: %+v", st)
	}
}

// Without a mount namespace (runc allows it) the box keeps the host's
// root and mounts; it still gets its own PID namespace and cgroup.
func TestE2EOCIWithoutAMountNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	b := bundle(t, func(cfg map[string]any) {
		setArgs("sh", "-c", "echo pid $$; exec sleep 1000")(cfg)
		cfg["root"] = map[string]any{"path": "/"}
		delete(cfg, "mounts")
		l := cfg["linux"].(map[string]any)
		delete(l, "maskedPaths")
		delete(l, "readonlyPaths")
		l["namespaces"] = []any{map[string]any{"type": "pid"}, map[string]any{"type": "uts"}}
	})
	id := boxName(t, "nomnt")
	out := createToFile(t, root, b, id)
	defer func() {
		pbox(t, "--root", root, "delete", "--force", id)
		assertNoLeftovers(t, leafOf(b))
	}()
	pbox(t, "--root", root, "start", id)
	var line string
	if !testutil.WaitFor(5*time.Second, func() bool { d, _ := os.ReadFile(out); line = string(d); return strings.HasPrefix(line, "pid ") }) {
		t.Fatalf("output %q", line)
	}
	// PID 1 of the box's own namespace: process.args is PID 1, as in runc.
	if n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "pid "))); n != 1 {
		t.Errorf("the process's pid in the box: %q", line)
	}
	pid := stateOfBox(t, root, id).Pid
	for _, k := range []string{"mnt", "pid"} {
		mine, _ := os.Readlink("/proc/self/ns/" + k)
		its, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, k))
		if (mine == its) != (k == "mnt") {
			t.Errorf("%s namespace: the box's %s, the host's %s", k, its, mine)
		}
	}
}

// Issue 19: pbox create SIGKILLed during a createRuntime hook — after the
// cgroup exists and the init waits in it, before the record names them —
// left the cgroups, their mark and the waiting init behind a delete that
// said 0. delete now removes all of it.
func TestE2EOCIDeleteAfterAKilledCreate(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	marker := filepath.Join(t.TempDir(), "hook-ran")
	b := bundle(t, func(c map[string]any) {
		setArgs("sleep", "100")(c)
		c["hooks"] = map[string]any{"createRuntime": []any{map[string]any{"path": "/bin/sh", "args": []any{"sh", "-c", "touch " + marker + "; exec sleep 5"}}}}
	})
	id := boxName(t, "killedcreate")
	cmd := exec.Command(pboxBin(t), "--root", root, "create", "--bundle", b, id)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !testutil.WaitFor(10*time.Second, func() bool { _, err := os.Stat(marker); return err == nil }) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the createRuntime hook never ran")
	}
	cmd.Process.Kill() // pbox create, mid-hook
	cmd.Wait()
	if len(testutil.CgroupDirs(e2eParent, leafOf(b))) == 0 {
		t.Fatal("no cgroup to leave behind: the test would prove nothing")
	}
	if r := pbox(t, "--root", root, "delete", id); r.code != 0 {
		t.Errorf("delete after a killed create: %+v", r)
	}
	assertNoLeftovers(t, leafOf(b))
	if marks, _ := filepath.Glob(filepath.Join(root, ".cgroups", "*")); len(marks) > 0 {
		t.Errorf("marks left: %v", marks)
	}
}

// Issue 21: containerd gives a runAsUser container the default capability
// set as effective and permitted and no ambient set. runc runs it and exec
// leaves the user no capability; pbox refused it, so every non-root pod
// failed. Now it runs, as uid 1000 with no capability.
func TestE2EOCINonRootWithoutAmbient(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	b := bundle(t, func(cfg map[string]any) {
		setArgs("sh", "-c", "id -u; grep CapEff /proc/self/status; exec sleep 1000")(cfg)
		p := cfg["process"].(map[string]any)
		p["user"] = map[string]any{"uid": 1000, "gid": 1000}
		caps := []any{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
		p["capabilities"] = map[string]any{"bounding": caps, "effective": caps, "permitted": caps}
	})
	openToOthers(b) // uid 1000 must reach its rootfs
	id := boxName(t, "nonroot")
	got := startAndRead(t, root, b, id, 2)
	if !strings.Contains(got, "1000\n") || !strings.Contains(got, "CapEff:\t0000000000000000") {
		t.Errorf("inside: %q; want uid 1000 with no capability", got)
	}
	pbox(t, "--root", root, "delete", "--force", id)
	assertNoLeftovers(t, leafOf(b))
}

// Issue 21: a bundle's five capability sets, as a conformance run checks
// them from inside: root with inheritable = ambient = bounding gets them
// all (pbox dropped inheritable and ambient for root before), and pbox
// exec gets the box's sets too. A capability pbox does not hold itself is
// refused by name, as runc and crun refuse it.
func TestE2EOCIAllFiveCapabilitySets(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	caps := []any{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	b := bundle(t, func(cfg map[string]any) {
		p := cfg["process"].(map[string]any)
		p["args"] = []any{"sh", "-c", "grep ^Cap /proc/self/status; sleep 1000"}
		p["capabilities"] = map[string]any{"bounding": caps, "effective": caps, "permitted": caps, "inheritable": caps, "ambient": caps}
	})
	id := boxName(t, "caps5")
	const want = "CapInh:\t0000000000000421\nCapPrm:\t0000000000000421\nCapEff:\t0000000000000421\nCapBnd:\t0000000000000421\nCapAmb:\t0000000000000421\n"
	if got := startAndRead(t, root, b, id, 5); got != want {
		t.Errorf("the box's process:\n%swant\n%s", got, want)
	}
	if r := pbox(t, "--root", root, "exec", id, "grep", "^Cap", "/proc/self/status"); r.code != 0 || r.stdout != want {
		t.Errorf("pbox exec: %+v\nwant\n%s", r, want)
	}
	pbox(t, "--root", root, "delete", "--force", id)
	assertNoLeftovers(t, leafOf(b))

	// From a pbox whose own bounding set lacks CAP_NET_BIND_SERVICE: the
	// fork takes the bounding set of the thread that forks.
	var r result
	osthread.Throwaway(func() {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, unix.CAP_NET_BIND_SERVICE, 0, 0, 0); err != nil {
			r.stderr = err.Error()
			return
		}
		r = runCaptured(t, exec.Command(pboxBin(t), "--root", root, "create", "--bundle", b, id))
	})
	assertCleanError(t, r, 1, "capabilities.bounding: CAP_NET_BIND_SERVICE: pbox does not hold it")
	assertNoLeftovers(t, leafOf(b))
}

// Issue 21: process.args is the box's PID 1, as under runc (Kubernetes
// expects its entrypoint there, docker --init and podman --init put their
// own init there); pbox-init is PID 1 when the config's annotations ask
// for it, as pbox run's config does.
func TestE2EOCIProcessIsPID1(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	for _, tt := range []struct {
		annotations map[string]string
		want        string
	}{
		{nil, "sh -c cat /proc/1/cmdline"},
		{map[string]string{"run.pbox.init": "true"}, "pbox-init"},
	} {
		b := bundle(t, func(cfg map[string]any) {
			setArgs("sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo")(cfg)
			if tt.annotations != nil {
				cfg["annotations"] = tt.annotations
			}
		})
		id := boxName(t, "pid1")
		got := strings.TrimSpace(startAndRead(t, root, b, id, 1))
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("annotations %v: PID 1 is %q; want %q", tt.annotations, got, tt.want)
		}
		pbox(t, "--root", root, "delete", "--force", id)
		assertNoLeftovers(t, leafOf(b))
	}
	b := bundle(t, func(cfg map[string]any) { cfg["annotations"] = map[string]string{"run.pbox.init": "yes"} })
	assertCleanError(t, pbox(t, "--root", root, "create", "--bundle", b, boxName(t, "pid1bad")), 1, `annotations["run.pbox.init"] "yes"`)
}

// Issue 21: the systemd form of linux.cgroupsPath, which containerd writes
// for every pod under Kubernetes' systemd cgroup driver, puts the box
// where runc's systemd driver would: the slice expanded, a PREFIX-NAME.scope.
func TestE2EOCISystemdCgroupsPath(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	slice := fmt.Sprintf("pboxe2e-pod%d", os.Getpid())
	id := boxName(t, "sdcg")
	b := bundle(t, func(cfg map[string]any) {
		setArgs("sleep", "1000")(cfg)
		cfg["linux"].(map[string]any)["cgroupsPath"] = slice + ".slice:cri-containerd:" + id
	})
	want := "/pboxe2e.slice/" + slice + ".slice/cri-containerd-" + id + ".scope"
	t.Cleanup(func() {
		for _, d := range []string{"pboxe2e.slice/" + slice + ".slice", "pboxe2e.slice"} {
			for _, dir := range testutil.CgroupDirs("", d) {
				unix.Rmdir(dir)
			}
		}
	})
	createToFile(t, root, b, id)
	pid := stateOfBox(t, root, id).Pid
	cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if !strings.Contains(string(cg), ":"+want+"\n") {
		t.Errorf("the box's cgroups:\n%s\nwant %s", cg, want)
	}
	pbox(t, "--root", root, "delete", "--force", id)
	if left := testutil.CgroupDirs("", strings.TrimPrefix(want, "/")); len(left) > 0 {
		t.Errorf("the scope's cgroups are left: %v", left)
	}
}

// --systemd-cgroup where systemd cannot make the box's scope (this host
// and the VM lane have no systemd; vagrant/vm-steps.sh tests it with
// one): one line, and nothing left; a cgroupfs path is refused with runc's
// words, a --cgroup-parent that is not a slice by its name.
func TestE2ESystemdCgroupWithoutSystemd(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	p := func(args ...string) result {
		return pbox(t, append([]string{"--root", root, "--systemd-cgroup"}, args...)...)
	}
	name := boxName(t, "sdrun")
	assertCleanError(t, p("run", "--cgroup-parent", "pbox-e2e", "--", "true"), 125, "give one such as machine.slice")

	b := bundle(t, func(cfg map[string]any) { cfg["linux"].(map[string]any)["cgroupsPath"] = "/pbox/x" })
	assertCleanError(t, p("create", "--bundle", b, boxName(t, "sdpath")), 1, `expected cgroupsPath to be of format "slice:prefix:name"`)
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		return // systemd runs here: it would make the scope
	}
	want := "leave out --systemd-cgroup"
	assertCleanError(t, p("run", "--name", name, "--memory", "64M", "--", "true"), 125, want)
	b = bundle(t, func(cfg map[string]any) { cfg["linux"].(map[string]any)["cgroupsPath"] = "system.slice:pbox:" + name })
	assertCleanError(t, p("create", "--bundle", b, name), 1, want)
	scope := "pbox-" + strings.ReplaceAll(box.Store{Root: root}.CgroupLeaf(name), "@", "-") + ".scope"
	if left := testutil.CgroupDirs("system.slice", scope); len(left) > 0 {
		t.Errorf("a refused --systemd-cgroup box left cgroups: %v", left)
	}
	if _, err := os.Stat(filepath.Join(root, name)); !os.IsNotExist(err) {
		t.Errorf("a refused --systemd-cgroup box left its state: %v", err)
	}
}

// Issue 21: "ro" on an rbind makes the bind mount read-only and leaves a
// mount below it as it is, as runc does; "rro" makes every mount below it
// read-only too (mount_setattr AT_RECURSIVE).
func TestE2EOCIReadOnlyAndRecursiveReadOnly(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	src := t.TempDir()
	sub := filepath.Join(src, "sub")
	os.Mkdir(sub, 0o755)
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(sub, unix.MNT_DETACH) })
	for _, tt := range []struct {
		opt, want string
	}{
		{"ro", "top read-only\nsub writable\n"},
		{"rro", "top read-only\nsub read-only\n"},
	} {
		b := bundle(t, func(cfg map[string]any) {
			setArgs("sh", "-c", `touch /v/x 2>/dev/null && echo top writable || echo top read-only
				touch /v/sub/x 2>/dev/null && echo sub writable || echo sub read-only`)(cfg)
			cfg["mounts"] = append(cfg["mounts"].([]any), map[string]any{
				"destination": "/v", "type": "bind", "source": src, "options": []string{"rbind", "rprivate", tt.opt},
			})
		})
		id := boxName(t, "rro-"+tt.opt)
		if got := startAndRead(t, root, b, id, 2); got != tt.want {
			t.Errorf("rbind,%s: %q; want %q", tt.opt, got, tt.want)
		}
		pbox(t, "--root", root, "delete", "--force", id)
		assertNoLeftovers(t, leafOf(b))
	}
}

// Issue 21: with rootfsPropagation rshared, a volume of a shared host
// directory stays its peer, as under runc: a mount the host makes there
// after the box started appears in the box (pbox made / private first and
// lost the link).
func TestE2EOCISharedPropagationKeepsTheHostLink(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	src := t.TempDir()
	late := filepath.Join(src, "late")
	os.Mkdir(late, 0o755)
	if err := unix.Mount(src, src, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Unmount(late, unix.MNT_DETACH)
		unix.Unmount(src, unix.MNT_DETACH)
	})
	if err := unix.Mount("", src, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
	b := bundle(t, func(cfg map[string]any) {
		setArgs("sh", "-c", `echo up; i=0; while [ $i -lt 50 ]; do
			grep -q " /v/late " /proc/self/mountinfo && { echo seen; exit 0; }; sleep 0.1; i=$((i+1)); done; echo unseen`)(cfg)
		cfg["linux"].(map[string]any)["rootfsPropagation"] = "rshared"
		cfg["mounts"] = append(cfg["mounts"].([]any), map[string]any{
			"destination": "/v", "type": "bind", "source": src, "options": []string{"rbind"},
		})
	})
	id := boxName(t, "rshared")
	out := createToFile(t, root, b, id)
	defer func() {
		pbox(t, "--root", root, "delete", "--force", id)
		assertNoLeftovers(t, leafOf(b))
	}()
	pbox(t, "--root", root, "start", id)
	testutil.WaitFor(5*time.Second, func() bool { d, _ := os.ReadFile(out); return strings.HasPrefix(string(d), "up\n") })
	if err := unix.Mount("tmpfs", late, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	var got string
	testutil.WaitFor(10*time.Second, func() bool { d, _ := os.ReadFile(out); got = string(d); return strings.Count(got, "\n") >= 2 })
	if got != "up\nseen\n" {
		t.Errorf("the box's output %q; want the host's later mount seen in the shared volume", got)
	}
}

// Issue 21: the memory and CPU fields runc honours, written where the
// host's cgroups have them and read back from inside the box; on a host
// without the file, an error that names the field (never a silent
// no-op); the kernel memory limits accepted with a warning, as runc 1.2.
func TestE2EOCIMemoryAndCPUFields(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	v2 := cgroupsMode(t) == "v2"
	type field struct {
		name string
		set  func(res map[string]any)
		file string // as the box sees it, under /sys/fs/cgroup
		want string // a line of the file
		v1   bool   // the file is v1's (else v2's)
		both bool   // both have it (file is then v2's, v1file v1's)
		v1f  string
	}
	fields := []field{
		{name: "memory.swappiness", set: func(r map[string]any) { r["memory"] = map[string]any{"swappiness": 30} },
			file: "memory/memory.swappiness", want: "30", v1: true},
		{name: "memory.disableOOMKiller", set: func(r map[string]any) { r["memory"] = map[string]any{"disableOOMKiller": true} },
			file: "memory/memory.oom_control", want: "oom_kill_disable 1", v1: true},
		{name: "cpu.burst", set: func(r map[string]any) { r["cpu"] = map[string]any{"quota": 50000, "period": 100000, "burst": 20000} },
			file: "cpu.max.burst", want: "20000", both: true, v1f: "cpu/cpu.cfs_burst_us"},
		{name: "cpu.idle", set: func(r map[string]any) { r["cpu"] = map[string]any{"idle": 1} },
			file: "cpu.idle", want: "1", both: true, v1f: "cpu/cpu.idle"},
		{name: "cpu.realtime", set: func(r map[string]any) { r["cpu"] = map[string]any{"realtimePeriod": 1000000, "realtimeRuntime": 10000} },
			file: "cpu/cpu.rt_runtime_us", want: "10000", v1: true},
	}
	for i, f := range fields {
		t.Run(f.name, func(t *testing.T) {
			file := f.file
			if f.both && !v2 {
				file = f.v1f
			}
			b := bundle(t, func(cfg map[string]any) {
				setArgs("cat", "/sys/fs/cgroup/"+file)(cfg)
				f.set(cfg["linux"].(map[string]any)["resources"].(map[string]any))
			})
			id := boxName(t, fmt.Sprintf("res%d", i))
			created := pbox(t, "--root", root, "create", "--bundle", b, id)
			hostHas := !v2 && f.v1 || v2 && !f.v1 || f.both
			if created.code != 0 {
				// Refused by name: the host has no such file, or (real-time
				// runtime under a parent without any) the kernel refused it.
				assertCleanError(t, created, 1, "linux.resources."+f.name)
				if hostHas == strings.Contains(created.stderr, "this host's cgroup has no") {
					t.Errorf("refused for the wrong reason on a %s host: %+v", cgroupsMode(t), created)
				}
				assertNoLeftovers(t, leafOf(b))
				return
			}
			if !hostHas {
				t.Errorf("accepted on a host whose cgroups have no %s", file)
			}
			pbox(t, "--root", root, "delete", "--force", id)
			got := startAndRead(t, root, b, id, 1)
			if !strings.Contains(got, f.want+"\n") {
				t.Errorf("%s in the box: %q; want a line %q", file, got, f.want)
			}
			pbox(t, "--root", root, "delete", "--force", id)
			assertNoLeftovers(t, leafOf(b))
		})
	}
	// Kernel memory: accepted, warned of, not applied.
	b := bundle(t, func(cfg map[string]any) {
		cfg["linux"].(map[string]any)["resources"].(map[string]any)["memory"] = map[string]any{"kernel": 64 << 20, "kernelTCP": 16 << 20}
	})
	id := boxName(t, "kmem")
	r := pbox(t, "--root", root, "create", "--bundle", b, id)
	if r.code != 0 || !strings.Contains(r.stderr, "pbox: create: warning: linux.resources.memory.kernel: kernel memory limits are not applied") ||
		!strings.Contains(r.stderr, "memory.kernelTCP") {
		t.Errorf("kernel memory limits: %+v; want the box, with a warning naming each field", r)
	}
	pbox(t, "--root", root, "delete", "--force", id)
	assertNoLeftovers(t, leafOf(b))
}

// Issue 21: memory.checkBeforeUpdate in pbox update refuses a limit below
// what the box uses now (which would OOM-kill it at once), and takes one
// above it.
func TestE2EOCICheckBeforeUpdate(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	b := bundle(t, func(cfg map[string]any) {
		// 24 MB in a tmpfs: memory that cannot be reclaimed without swap.
		setArgs("sh", "-c", "head -c 24000000 /dev/zero > /dev/shm/f; echo filled; exec sleep 1000")(cfg)
		cfg["linux"].(map[string]any)["resources"].(map[string]any)["memory"] = map[string]any{"limit": 64 << 20}
	})
	id := boxName(t, "cbu")
	if got := startAndRead(t, root, b, id, 1); got != "filled\n" {
		t.Fatalf("the box: %q", got)
	}
	defer func() {
		pbox(t, "--root", root, "delete", "--force", id)
		assertNoLeftovers(t, leafOf(b))
	}()
	update := func(check bool, limit int) result {
		res := filepath.Join(t.TempDir(), "res.json")
		os.WriteFile(res, []byte(fmt.Sprintf(`{"memory": {"limit": %d, "checkBeforeUpdate": %v}}`, limit, check)), 0o644)
		return pbox(t, "--root", root, "update", "--resources", res, id)
	}
	assertCleanError(t, update(true, 16<<20), 1, "checkBeforeUpdate")
	if r := update(true, 48<<20); r.code != 0 {
		t.Errorf("a limit above the use, with checkBeforeUpdate: %+v", r)
	}
}

// Issue 21: block I/O, hugepage and unified limits from a bundle, read
// back from inside the box: a throttle on the loop driver's first device
// (blkio.throttle.* on v1, io.max on v2), a 2 MB hugepage limit (v1's
// hugetlb hierarchy, or the cgroup2 tree where a hybrid host has hugetlb
// only there, as this development host does), and a unified key on v2
// (refused with runc's words elsewhere).
func TestE2EOCIBlockIOHugepagesUnified(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	v2 := cgroupsMode(t) == "v2"
	if _, err := os.Stat("/sys/block/loop0"); err != nil {
		testutil.SkipOrFail(t, "no /sys/block/loop0: load the loop driver (modprobe loop)")
	}
	run := func(name string, res map[string]any, script string, lines int) result {
		t.Helper()
		b := bundle(t, func(cfg map[string]any) {
			setArgs("sh", "-c", script)(cfg)
			r := cfg["linux"].(map[string]any)["resources"].(map[string]any)
			for k, v := range res {
				r[k] = v
			}
		})
		id := boxName(t, name)
		created := pbox(t, "--root", root, "create", "--bundle", b, id)
		if created.code != 0 {
			assertNoLeftovers(t, leafOf(b))
			return created
		}
		pbox(t, "--root", root, "delete", "--force", id)
		out := startAndRead(t, root, b, id, lines)
		pbox(t, "--root", root, "delete", "--force", id)
		assertNoLeftovers(t, leafOf(b))
		return result{stdout: out}
	}
	throttle := map[string]any{"blockIO": map[string]any{"weight": 0,
		"throttleReadBpsDevice":   []any{map[string]any{"major": 7, "minor": 0, "rate": 1048576}},
		"throttleWriteIOPSDevice": []any{map[string]any{"major": 7, "minor": 0, "rate": 100}}}}
	if v2 {
		if r := run("io", throttle, "cat /sys/fs/cgroup/io.max", 1); r.stdout != "7:0 rbps=1048576 wbps=max riops=max wiops=100\n" {
			t.Errorf("io.max: %+v", r)
		}
	} else if r := run("io", throttle, "cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device", 2); r.stdout != "7:0 1048576\n7:0 100\n" {
		t.Errorf("blkio throttles: %+v", r)
	}

	// A weight: applied where the host has a weight file (CFQ's or BFQ's,
	// io.weight), refused by name where it has none.
	weight := map[string]any{"blockIO": map[string]any{"weight": 500}}
	if r := run("weight", weight, "cat /sys/fs/cgroup/io.bfq.weight /sys/fs/cgroup/io.weight /sys/fs/cgroup/blkio/blkio.weight /sys/fs/cgroup/blkio/blkio.bfq.weight 2>/dev/null; echo end", 1); r.code != 0 {
		assertCleanError(t, r, 1, "linux.resources.blockIO.weight")
	} else if !regexp.MustCompile(`(?m)^(default )?(500|4950)$`).MatchString(r.stdout) {
		t.Errorf("blockIO weight 500: %q", r.stdout)
	}

	huge := map[string]any{"hugepageLimits": []any{map[string]any{"pageSize": "2MB", "limit": 8 << 20}}}
	file := "/sys/fs/cgroup/hugetlb.2MB.max"
	if _, err := os.Stat("/sys/fs/cgroup/hugetlb"); err == nil && !v2 {
		file = "/sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes"
	} else if !v2 {
		file = "/sys/fs/cgroup/unified/hugetlb.2MB.max" // the hybrid host's cgroup2 tree
	}
	if r := run("huge", huge, "cat "+file, 1); r.stdout != "8388608\n" {
		t.Errorf("%s: %+v", file, r)
	}

	unified := map[string]any{"unified": map[string]any{"pids.max": "77", "memory.high": "67108864"}}
	r := run("unified", unified, "cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.high", 2)
	if v2 {
		if r.stdout != "77\n67108864\n" {
			t.Errorf("unified: %+v", r)
		}
	} else {
		assertCleanError(t, r, 1, "cgroup v2 is not enabled on this host")
	}
}

// Issue 21: process.ioPriority, scheduler and execCPUAffinity (runc 1.2's)
// for the box's process and, from --process, for pbox exec.
func TestE2EOCIProcessScheduling(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	sched := map[string]any{
		"ioPriority":      map[string]any{"class": "IOPRIO_CLASS_IDLE", "priority": 0},
		"scheduler":       map[string]any{"policy": "SCHED_BATCH", "nice": 5},
		"execCPUAffinity": map[string]any{"final": "0"},
	}
	const want = "ioprio: class 3 level 0\npolicy: 3\nnice: 5\ncpus: 0\n"
	b := bundle(t, func(cfg map[string]any) {
		p := cfg["process"].(map[string]any)
		p["args"] = []any{"/attack", "sched"}
		for k, v := range sched {
			p[k] = v
		}
	})
	attack, err := os.ReadFile(attackBin(t))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(b, "rootfs", "attack"), attack, 0o755)
	id := boxName(t, "sched")
	if got := startAndRead(t, root, b, id, 4); got != want {
		t.Errorf("the box's process:\n%swant\n%s", got, want)
	}
	pbox(t, "--root", root, "delete", "--force", id)

	// pbox exec --process of a running box, as containerd's shim runs it.
	b2 := bundle(t, setArgs("sleep", "1000"))
	os.WriteFile(filepath.Join(b2, "rootfs", "attack"), attack, 0o755)
	id2 := boxName(t, "sched2")
	createToFile(t, root, b2, id2)
	pbox(t, "--root", root, "start", id2)
	proc := map[string]any{"args": []string{"/attack", "sched"}, "cwd": "/", "env": []string{"PATH=/bin"}, "user": map[string]any{"uid": 0, "gid": 0}}
	for k, v := range sched {
		proc[k] = v
	}
	data, _ := json.Marshal(proc)
	procFile := filepath.Join(t.TempDir(), "process.json")
	os.WriteFile(procFile, data, 0o644)
	if r := pbox(t, "--root", root, "exec", "--process", procFile, id2); r.code != 0 || r.stdout != want {
		t.Errorf("pbox exec --process: %+v\nwant\n%s", r, want)
	}
	pbox(t, "--root", root, "delete", "--force", id2)
	assertNoLeftovers(t, leafOf(b2))
}
