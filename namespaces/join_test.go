package namespaces

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/internal/testutil"
	"golang.org/x/sys/unix"
)

// JoinThread from this multi-threaded test binary: the thread sees the
// other process's hostname and mounts; the rest of the process does not.
func TestJoinThreadEntersMountAndUTS(t *testing.T) {
	testutil.RequireRoot(t)
	cmd := exec.Command("sh", "-c", "mount --make-rprivate / && hostname joined-box && mount -t tmpfs tmpfs /mnt && touch /mnt/marker && echo ready && exec sleep 100")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		testutil.Kill(t, cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	buf := make([]byte, 6)
	if n, _ := out.Read(buf); string(buf[:n]) != "ready\n" {
		t.Fatalf("child not ready: %q", buf[:n])
	}
	pid := cmd.Process.Pid
	type seen struct {
		host   string
		marker bool
		err    error
	}
	ch := make(chan seen, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is thrown away
		err := JoinThread(map[Kind]string{UTS: NsPath(pid, UTS), Mount: NsPath(pid, Mount)})
		var u unix.Utsname
		unix.Uname(&u)
		_, serr := os.Stat("/mnt/marker")
		ch <- seen{strings.TrimRight(string(u.Nodename[:]), "\x00"), serr == nil, err}
	}()
	var s seen
	select {
	case s = <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("JoinThread hung")
	}
	if s.err != nil || s.host != "joined-box" || !s.marker {
		t.Errorf("joined thread saw hostname %q, marker %v, err %v", s.host, s.marker, s.err)
	}
	if h, _ := os.Hostname(); h == "joined-box" {
		t.Error("the rest of the process changed hostname too")
	}
	if _, err := os.Stat("/mnt/marker"); err == nil {
		t.Error("the rest of the process sees the joined mount namespace")
	}
	if same, err := Same(pid, UTS); err != nil || same {
		t.Errorf("Same(child, uts) = %v, %v; want false", same, err)
	}
	if err := JoinThread(map[Kind]string{UTS: "/proc/self/ns/nope"}); err == nil {
		t.Error("joining a missing namespace file succeeded")
	}
}
