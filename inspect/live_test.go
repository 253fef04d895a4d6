package inspect

import (
	"encoding/json"
	"errors"
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

// childrenOf lists the children of every thread of pid.
func childrenOf(pid int) []int {
	var kids []int
	lists, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, l := range lists {
		data, _ := os.ReadFile(l)
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				kids = append(kids, n)
			}
		}
	}
	return kids
}

// unshareBox starts `unshare --pid --fork --mount-proc --uts sh` with a
// sleep under it and returns the host pids of sh (PID 1 inside) and sleep.
func unshareBox(t *testing.T) (sh, sleep int) {
	t.Helper()
	testutil.RequireRoot(t)
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount", "--mount-proc", "--uts",
		"sh", "-c", "hostname ulab; sleep 100 & wait")
	if err := cmd.Start(); err != nil {
		testutil.SkipOrFail(t, "unshare: %v", err)
	}
	t.Cleanup(func() {
		// SIGKILL of the box's PID 1 ends the whole box.
		if sh > 1 {
			testutil.Kill(t, sh, syscall.SIGKILL)
		}
		testutil.Kill(t, cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	if !testutil.WaitFor(5*time.Second, func() bool {
		if k := childrenOf(cmd.Process.Pid); len(k) == 1 {
			sh = k[0]
			if k := childrenOf(sh); len(k) == 1 && readTrimmed(k[0], "comm") == "sleep" {
				sleep = k[0]
				return true
			}
		}
		return false
	}) {
		t.Fatal("the unshare box did not come up")
	}
	return sh, sleep
}

func TestLiveUnshareBox(t *testing.T) {
	sh, sleep := unshareBox(t)
	r, err := Collect(sleep, Options{CgroupVersion: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.NSpid) != 2 || r.NSpid[0] != sleep || r.NSpid[1] == sleep {
		t.Errorf("NSpid %v: want the host pid then the box pid", r.NSpid)
	}
	for _, ns := range []string{"pid", "mnt", "uts"} {
		if !r.Namespaces[ns].Isolated || r.Namespaces[ns].Inode == r.Namespaces[ns].HostInode {
			t.Errorf("%s: %+v, want isolated with a different inode", ns, r.Namespaces[ns])
		}
	}
	for _, ns := range []string{"net", "ipc", "user"} {
		if r.Namespaces[ns].Isolated {
			t.Errorf("%s: %+v, want shared (unshare did not make one)", ns, r.Namespaces[ns])
		}
	}
	if r.Hostname.Inside != "ulab" || r.Hostname.Outside == "ulab" {
		t.Errorf("hostname %+v", r.Hostname)
	}
	if r.PID1.Pid != sh || r.PID1.Pid <= 1 || r.PID1.Kind != "application" {
		t.Errorf("PID 1 %+v: want sh (host pid %d) as the application itself", r.PID1, sh)
	}
	if len(r.Processes) != 2 || r.Processes[0].Pid != sh || r.Processes[1].Pid != sleep {
		t.Errorf("processes %+v: want exactly sh and sleep", r.Processes)
	}
	if r.Parent.Pid != sh || r.Parent.InsidePid != 1 {
		t.Errorf("parent %+v: want sh, PID 1 inside", r.Parent)
	}
	if r.BoxProcCount != 2 {
		t.Errorf("the box's /proc lists %d processes, want 2", r.BoxProcCount)
	}
	if len(r.Mounts.OnlyInside) == 0 || !strings.HasPrefix(r.Mounts.OnlyInside[len(r.Mounts.OnlyInside)-1], "/proc (proc") {
		t.Errorf("the box's own /proc should show as only inside: %v", r.Mounts.OnlyInside)
	}
}

func TestLiveAgreesWithLsns(t *testing.T) {
	_, sleep := unshareBox(t)
	out, err := exec.Command("lsns", "-J", "-p", strconv.Itoa(sleep)).Output()
	if err != nil {
		testutil.SkipOrFail(t, "lsns (util-linux): %v", err)
	}
	var l struct {
		Namespaces []struct {
			NS   uint64 `json:"ns"`
			Type string `json:"type"`
		} `json:"namespaces"`
	}
	if err := json.Unmarshal(out, &l); err != nil {
		t.Fatal(err)
	}
	r, err := Collect(sleep, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range l.Namespaces {
		if got := r.Namespaces[ns.Type].Inode; got != ns.NS {
			t.Errorf("%s: inspect says %d, lsns %d", ns.Type, got, ns.NS)
		}
	}
	if len(l.Namespaces) < 7 {
		t.Errorf("lsns listed only %d namespaces", len(l.Namespaces))
	}
}

func TestLivePlainProcessSharesEverything(t *testing.T) {
	testutil.RequireRoot(t)
	r, err := Collect(os.Getpid(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Namespaces) < 7 {
		t.Fatalf("only %d namespaces read: %v", len(r.Namespaces), r.Notes)
	}
	for typ, ns := range r.Namespaces {
		if ns.Isolated {
			t.Errorf("%s isolated for a plain process (reference %+v)", typ, r.Reference)
		}
	}
	if len(r.Processes) != 1 || r.PID1.Kind != "host init" || len(r.Warnings) != 0 {
		t.Errorf("processes %v, pid1 %+v, warnings %v", r.Processes, r.PID1, r.Warnings)
	}
}

func TestLiveKernelThreadAndPID1(t *testing.T) {
	testutil.RequireRoot(t)
	r, err := Collect(2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Comm != "kthreadd" || len(r.Cmdline) != 0 {
		t.Errorf("pid 2: comm %q cmdline %q", r.Comm, r.Cmdline)
	}
	if _, err := Collect(1, Options{}); err != nil {
		t.Errorf("pid 1: %v", err)
	}
}

func TestNoSuchProcess(t *testing.T) {
	_, err := Collect(99999999, Options{})
	if !errors.Is(err, ErrNoProcess) || err.Error() != "no process with pid 99999999" {
		t.Errorf("err = %v", err)
	}
}

func TestZombieIsReportedNotFatal(t *testing.T) {
	// An exited, unreaped child: most of /proc/<pid> is gone or empty.
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	testutil.WaitFor(5*time.Second, func() bool { return testutil.ProcState(cmd.Process.Pid) == "Z" })
	r, err := Collect(cmd.Process.Pid, Options{})
	if err != nil {
		t.Fatalf("a zombie must still be inspectable: %v", err)
	}
	if !strings.HasPrefix(r.State, "Z") {
		t.Errorf("state %q", r.State)
	}
}
