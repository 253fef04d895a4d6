package box

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestValidID(t *testing.T) {
	for _, ok := range []string{"web", "a", "k8s.pod-1_x", "0abc"} {
		if err := ValidID(ok); err != nil {
			t.Errorf("ValidID(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", ".x", "a/b", "..", "a b", string(make([]byte, 65))} {
		if err := ValidID(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("ValidID(%q) = %v; want ErrBadID", bad, err)
		}
	}
}

func TestClaimIsExclusive(t *testing.T) {
	st := Store{Root: filepath.Join(t.TempDir(), "state")}
	const racers = 16
	var wg sync.WaitGroup
	wins := make(chan *Lock, racers)
	for i := 0; i < racers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l, err := st.Claim("web"); err == nil {
				wins <- l
			} else if !errors.Is(err, ErrBoxExists) {
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	if n := len(wins); n != 1 {
		t.Fatalf("%d of %d racing claims won; want exactly 1", n, racers)
	}
	(<-wins).Unlock()
}

func TestWriteReadRoundTrip(t *testing.T) {
	st := Store{Root: t.TempDir()}
	l, err := st.Claim("web")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	rec := &Record{ID: "web", Status: StatusRunning, Pid: 42, Annotations: map[string]string{"a": "b"}, Config: Config{Process: Process{Args: []string{"sleep", "1"}}}}
	if err := st.Write(rec); err != nil {
		t.Fatal(err)
	}
	got, err := st.Read("web")
	if err != nil || got.Pid != 42 || got.Annotations["a"] != "b" || got.Config.Args[0] != "sleep" {
		t.Fatalf("read back %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(st.Dir("web"))
	if len(entries) != 1 || entries[0].Name() != "state.json" {
		t.Errorf("state dir holds %v; want state.json only (no temp file)", entries)
	}
	if _, err := st.Read("nope"); !errors.Is(err, ErrNoSuchBox) {
		t.Errorf("read of a missing box: %v", err)
	}
	os.WriteFile(st.Path("web", "state.json"), []byte("{"), 0o600)
	if _, err := st.Read("web"); err == nil {
		t.Error("a corrupt state file was read without error")
	}
}

// Status reads the truth: a record that says running is stopped once its
// process is gone, or if its pid now belongs to another process.
func TestStatusFollowsTheProcess(t *testing.T) {
	st := Store{Root: t.TempDir()}
	l, _ := st.Claim("web")
	l.Unlock()
	self := os.Getpid()
	start, _, err := procStart(self)
	if err != nil {
		t.Fatal(err)
	}
	rec := &Record{ID: "web", Status: StatusRunning, Pid: self, PidStart: start}
	if s := st.Status(rec); s != StatusRunning {
		t.Errorf("live pid: %s", s)
	}
	if err := unix.Mkfifo(st.Path("web", "exec.fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s := st.Status(rec); s != StatusCreated {
		t.Errorf("with exec.fifo: %s", s)
	}
	os.Remove(st.Path("web", "exec.fifo"))
	rec.PidStart = start + 1 // the pid was reused by another process
	if s := st.Status(rec); s != StatusStopped {
		t.Errorf("reused pid: %s", s)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := &Record{ID: "web", Status: StatusRunning, Pid: cmd.Process.Pid}
	if s := st.Status(dead); s != StatusStopped {
		t.Errorf("exited pid: %s", s)
	}
	rec.PidStart, rec.Exit = start, &Exit{Status: 0}
	if s := st.Status(rec); s != StatusStopped {
		t.Errorf("recorded exit: %s", s)
	}
	// Claimed but not yet written: creating while the claimer holds the
	// lock; once it is gone, stopped (also for whoever then locks it).
	l2, _ := st.Claim("half")
	if r, _ := st.Read("half"); st.Status(r) != StatusCreating {
		t.Errorf("being claimed: %s", st.Status(r))
	}
	l2.Unlock()
	if r, _ := st.Read("half"); st.Status(r) != StatusStopped {
		t.Errorf("abandoned claim: %s", st.Status(r))
	}
	if r, l3, err := st.Open("half"); err != nil || st.Status(r) != StatusStopped {
		t.Errorf("abandoned claim under our own lock: %v %v", r, err)
	} else {
		l3.Unlock()
	}
	// Written as creating: creating while the pbox setting it up lives.
	if s := st.Status(&Record{ID: "half", Status: StatusCreating, Monitor: self}); s != StatusCreating {
		t.Errorf("being set up by a live pbox: %s", s)
	}
	if s := st.Status(&Record{ID: "half", Status: StatusCreating, Monitor: cmd.Process.Pid}); s != StatusStopped {
		t.Errorf("set up by a dead pbox: %s", s)
	}
}

func TestListAndRemove(t *testing.T) {
	st := Store{Root: t.TempDir()}
	for _, id := range []string{"b", "a"} {
		l, _ := st.Claim(id)
		l.Unlock()
	}
	os.WriteFile(filepath.Join(st.Root, "stray-file"), nil, 0o600)
	ids, err := st.List()
	if err != nil || len(ids) != 2 || ids[0] != "a" {
		t.Errorf("List = %v, %v", ids, err)
	}
	st.Remove("a")
	if ids, _ := st.List(); len(ids) != 1 {
		t.Errorf("after Remove: %v", ids)
	}
	if ids, err := (Store{Root: "/nonexistent/pbox"}).List(); err != nil || ids != nil {
		t.Errorf("missing root: %v %v", ids, err)
	}
}

// A monitor runs while its process is not a zombie, whatever its cmdline
// says: that reads empty for a moment while it exec's (as the monitor does
// when it starts), which once let a racing pbox run take a box being set
// up for an abandoned one. A kernel thread (an empty cmdline, running)
// stands in for a process mid-exec.
func TestMonitorRunningByState(t *testing.T) {
	kthread := 0
	for pid := 2; pid < 1000 && kthread == 0; pid++ {
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if _, state, err2 := procStart(pid); err == nil && err2 == nil && len(cmdline) == 0 && state != 'Z' {
			kthread = pid
		}
	}
	if kthread == 0 {
		t.Skip("no process with an empty cmdline in sight (a PID namespace without kernel threads)")
	}
	if !(&Record{Monitor: kthread}).monitorRunning() {
		t.Errorf("pid %d runs with an empty cmdline: taken for a monitor that has gone", kthread)
	}
	child := exec.Command("/bin/true")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Wait()
	for i := 0; i < 500; i++ {
		if _, state, _ := procStart(child.Process.Pid); state == 'Z' {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if (&Record{Monitor: child.Process.Pid}).monitorRunning() {
		t.Errorf("a zombie taken for a running monitor")
	}
}
