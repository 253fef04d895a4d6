package inspect

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func open(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// The captures come from a pbox box on the hybrid development host
// (sleep under sh under pbox-init), its host, and a box in the cgroup v2 VM.
func TestParseStatusBoxed(t *testing.T) {
	st, err := ParseStatus(open(t, "status-boxed-sleep"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "sleep" || !reflect.DeepEqual(st.NSpid, []int{11179, 10}) || st.PPid != 11177 {
		t.Errorf("got %+v", st)
	}
	if len(st.NSpgid) != 2 || st.NSpgid[1] != 0 {
		t.Errorf("NSpgid %v: the process group is outside the box, so 0 inside", st.NSpgid)
	}
	if st.SigCgt != 0 || st.Kthread || st.Seccomp != 0 || st.NoNewPrivs {
		t.Errorf("got %+v", st)
	}
}

func TestParseStatusInitAndKthread(t *testing.T) {
	init, err := ParseStatus(open(t, "status-pbox-init"))
	if err != nil {
		t.Fatal(err)
	}
	if init.NSpid[1] != 1 || !handles(init, 15) || !handles(init, 2) {
		t.Errorf("pbox-init must be PID 1 inside and catch TERM and INT: %+v", init)
	}
	tiny, err := ParseStatus(open(t, "status-pbox-tiny-init"))
	if err != nil {
		t.Fatal(err)
	}
	if tiny.NSpid[len(tiny.NSpid)-1] != 1 || tiny.Threads != 1 || !handles(tiny, 15) || !handles(tiny, 2) {
		t.Errorf("the tiny init must be PID 1 inside, one thread, blocking TERM and INT for sigwaitinfo: %+v", tiny)
	}
	kt, err := ParseStatus(open(t, "status-kthreadd"))
	if err != nil {
		t.Fatal(err)
	}
	if !kt.Kthread || kt.Name != "kthreadd" || len(kt.NSpid) != 1 {
		t.Errorf("kthreadd: %+v", kt)
	}
	host, err := ParseStatus(open(t, "status-host-bash"))
	// This capture's root shell lacks CAP_SYS_RESOURCE (the sandbox the
	// development machine runs in drops it): 40 of 41.
	if err != nil || len(host.NSpid) != 1 || len(CapNames(host.CapEff)) != 40 {
		t.Errorf("host bash as root: %+v %v", host, err)
	}
}

func TestParseStatusBadNumber(t *testing.T) {
	_, err := ParseStatus(stringsReader("Name:\tx\nPPid:\tabc\n"))
	if err == nil {
		t.Error("a malformed PPid must be an error")
	}
}

func TestParseCgroup(t *testing.T) {
	box, err := ParseCgroup(open(t, "cgroup-hybrid-box"))
	if err != nil {
		t.Fatal(err)
	}
	if got := boxCgroupPath(box, "hybrid"); got != "/pbox/insp" {
		t.Errorf("hybrid box path %q", got)
	}
	// A box pbox tracks in cgroup2 only, started from a caller whose own
	// v1 memory cgroup is not the root: the box is where cgroup2 says.
	nolimits, _ := ParseCgroup(open(t, "cgroup-hybrid-nolimits"))
	if got := boxCgroupPath(nolimits, "hybrid"); got != "/pbox/web" {
		t.Errorf("hybrid box without v1 cgroups: path %q, want the cgroup2 one", got)
	}
	host, _ := ParseCgroup(open(t, "cgroup-hybrid-host"))
	if got := boxCgroupPath(host, "hybrid"); got == "" || got == "/pbox/insp" {
		t.Errorf("hybrid host path %q", got)
	}
	v2, _ := ParseCgroup(open(t, "cgroup-v2-box"))
	if got := boxCgroupPath(v2, "v2"); got != "/pbox/cap" {
		t.Errorf("v2 box path %q", got)
	}
	ns, _ := ParseCgroup(open(t, "cgroup-v2-box-cgroupns"))
	if got := boxCgroupPath(ns, "v2"); got != "/" {
		t.Errorf("inside a cgroup namespace %q", got)
	}
	if len(box) < 5 || box[0].Hierarchy == 0 && len(box[0].Controllers) != 0 {
		t.Errorf("lines %+v", box)
	}
}

func TestParseMountinfo(t *testing.T) {
	box, err := ParseMountinfo(open(t, "mountinfo-box"))
	if err != nil {
		t.Fatal(err)
	}
	host, err := ParseMountinfo(open(t, "mountinfo-host"))
	if err != nil {
		t.Fatal(err)
	}
	if len(box) != len(host)+1 {
		t.Errorf("box %d mounts, host %d: the box adds exactly its /proc", len(box), len(host))
	}
	procs := 0
	for _, m := range box {
		if m.Mountpoint == "/proc" && m.FSType == "proc" {
			procs++
		}
	}
	if procs != 2 {
		t.Errorf("the box sees %d proc mounts on /proc, want the host's and its own on top", procs)
	}
	v2, err := ParseMountinfo(open(t, "mountinfo-v2-box"))
	if err != nil || len(v2) < 5 || v2[0].Mountpoint != "/" {
		t.Errorf("v2 box mountinfo: %d mounts, %v", len(v2), err)
	}
}

func TestParseIDMap(t *testing.T) {
	m, err := ParseIDMap(open(t, "uid_map-host"))
	if err != nil || len(m) != 1 || m[0] != [3]int64{0, 0, 4294967295} {
		t.Errorf("uid_map %v %v", m, err)
	}
}

func TestCapNames(t *testing.T) {
	got := CapNames(1<<0 | 1<<21 | 1<<50)
	want := []string{"CAP_CHOWN", "CAP_SYS_ADMIN", "cap_50"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CapNames = %v, want %v", got, want)
	}
	if len(CapNames(0)) != 0 {
		t.Error("no bits, no names")
	}
}

func TestParseStatusSeccompFilters(t *testing.T) {
	st, err := ParseStatus(strings.NewReader("Name:\tsh\nNoNewPrivs:\t0\nSeccomp:\t2\nSeccomp_filters:\t1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Seccomp != 2 || st.SeccompFilters != 1 {
		t.Errorf("Seccomp %d, filters %d; want 2 and 1", st.Seccomp, st.SeccompFilters)
	}
}

// PID 1 that blocks its signals and takes them with sigwaitinfo (pbox's
// tiny init, tini) handles them; one that ignores them does not.
func TestHandlesCountsBlockedSignals(t *testing.T) {
	term := uint64(1) << (15 - 1)
	for _, c := range []struct {
		st   Status
		want bool
	}{
		{Status{SigCgt: term}, true},
		{Status{SigBlk: ^uint64(0)}, true},
		{Status{SigBlk: term, SigIgn: term}, false},
		{Status{SigIgn: term}, false},
		{Status{}, false},
	} {
		if got := handles(c.st, 15); got != c.want {
			t.Errorf("handles(%+v, SIGTERM) = %v, want %v", c.st, got, c.want)
		}
	}
}

func TestParseNetDev(t *testing.T) {
	in := `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
  eth0: 1234567      90    0    0    0     0          0         0    76543      50    0    0    0     0       0          0
`
	got, err := ParseNetDev(strings.NewReader(in))
	want := []NetDevBytes{{"lo", 140, 140}, {"eth0", 1234567, 76543}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseNetDev = %+v, %v; want %+v", got, err, want)
	}
	if _, err := ParseNetDev(strings.NewReader("  eth0: 1 2 3\n")); err == nil {
		t.Error("a short line was read without error")
	}
}

func TestDeviceAccessFollowsTheRulesInOrder(t *testing.T) {
	rules := []DeviceRule{
		{Allow: false, Type: 'a', Major: -1, Minor: -1, Access: "rwm"},
		{Allow: true, Type: 'c', Major: -1, Minor: -1, Access: "m"},
		{Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "rwm"},
		{Allow: true, Type: 'c', Major: 10, Minor: 237, Access: "r"},
	}
	for _, c := range []struct {
		d    Device
		want string
	}{
		{Device{Type: "c", Major: 1, Minor: 3}, "rwm"},
		{Device{Type: "c", Major: 10, Minor: 237}, "rm"},
		{Device{Type: "c", Major: 4, Minor: 1}, "m"},
		{Device{Type: "b", Major: 8, Minor: 0}, "-"},
	} {
		if got := accessOf(rules, c.d); got != c.want {
			t.Errorf("%+v: %q, want %q", c.d, got, c.want)
		}
	}
	if got := accessOf(nil, Device{Type: "c"}); got != "?" {
		t.Errorf("no rules: %q", got)
	}
}
