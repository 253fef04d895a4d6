package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// InCI reports whether the tests run in CI (CI=true), where every test
// that cannot run must fail: a green run that skipped the work proves
// nothing.
func InCI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail skips the test, or fails it in CI.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true, so this cannot be skipped: "+format, args...)
	}
	t.Skipf(format, args...)
}

// RequireRoot gates a privileged test.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "needs root (run the tests with sudo)")
	}
}

// Kill signals pid, refusing the pids that mean "a group" or "everyone".
func Kill(t testing.TB, pid int, sig syscall.Signal) {
	t.Helper()
	if pid <= 1 {
		t.Fatalf("refusing to signal pid %d", pid)
	}
	if err := syscall.Kill(pid, sig); err != nil && err != syscall.ESRCH {
		t.Errorf("kill %d %v: %v", pid, sig, err)
	}
}

// KillGroup signals a process group, refusing pgid <= 1.
func KillGroup(t testing.TB, pgid int, sig syscall.Signal) {
	t.Helper()
	if pgid <= 1 {
		t.Fatalf("refusing to signal process group %d", pgid)
	}
	if err := syscall.Kill(-pgid, sig); err != nil && err != syscall.ESRCH {
		t.Errorf("kill -%d %v: %v", pgid, sig, err)
	}
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	st := ProcState(pid)
	return st != "" && st != "Z" && st != "X"
}

// ProcState is the one-letter state of pid from /proc, "" if it is gone.
func ProcState(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

// PPid is the parent of pid, 0 if unknown.
func PPid(pid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// ChildrenInState counts the children of parent in state st ("Z").
func ChildrenInState(parent int, st string) int {
	n := 0
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if PPid(pid) == parent && ProcState(pid) == st {
			n++
		}
	}
	return n
}

// WaitFor polls cond every 10 ms until it holds or timeout passes. Used
// for readiness only, never to assert speed.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// CgroupDirs lists every directory named name under parent in every
// cgroup hierarchy of this host (v1 controllers and the v2 tree).
func CgroupDirs(parent, name string) []string {
	var found []string
	// A box of a state root other than /run/pbox lives in "NAME@<hash>".
	patterns := []string{
		filepath.Join("/sys/fs/cgroup", parent, name),
		filepath.Join("/sys/fs/cgroup/*", parent, name),
		filepath.Join("/sys/fs/cgroup", parent, name+"@*"),
		filepath.Join("/sys/fs/cgroup/*", parent, name+"@*"),
	}
	for _, p := range patterns {
		m, _ := filepath.Glob(p)
		for _, d := range m {
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				found = append(found, d)
			}
		}
	}
	return found
}

// CgroupProcs reads the pids in the first cgroup.procs found for the box.
func CgroupProcs(parent, name string) []int {
	var pids []int
	for _, d := range CgroupDirs(parent, name) {
		data, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
		if len(pids) > 0 {
			return pids
		}
	}
	return pids
}

// CgroupTreeProcs is every pid in the box's cgroups and those below them.
func CgroupTreeProcs(parent, name string) []int {
	var pids []int
	for _, d := range CgroupDirs(parent, name) {
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() || e.Name() != "cgroup.procs" {
				return nil
			}
			data, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(data)) {
				if n, err := strconv.Atoi(f); err == nil {
					pids = append(pids, n)
				}
			}
			return nil
		})
	}
	return pids
}

// MountTable is /proc/self/mountinfo without the per-mount ids, which the
// kernel may renumber: enough to see that nothing was added or removed.
func MountTable(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
