package main

// End-to-end tests of pbox exec. (What exec must never let a box do is in
// containment_e2e_test.go; exec in a box's life, detached_e2e_test.go.)

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/internal/testutil"
)

// pbox exec -it from a terminal (script(1) makes one): keystrokes reach a
// shell in the box, its output and exit status come back.
func TestE2EExecInteractiveTerminal(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := exec.LookPath("script"); err != nil {
		testutil.SkipOrFail(t, "script not found (apt-get install util-linux)")
	}
	root := stateRoot(t)
	name := boxName(t, "it")
	if r := pbox(t, "--root", root, "run", "-d", "--name", name, "--cgroup-parent", e2eParent, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	cmd := exec.Command("script", "-qec", pboxBin(t)+" --root "+root+" exec -it "+name+" sh", "/dev/null")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(t.TempDir(), "out")
	f, _ := os.Create(outFile)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the shell start reading
	stdin.Write([]byte("echo in-box-$((6*7)) $(hostname)\nexit 4\n"))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		testutil.Kill(t, cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatal("pbox exec -it did not end")
	}
	f.Close()
	out, _ := os.ReadFile(outFile)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 4 {
		t.Errorf("exit: %v; want 4 from the shell in the box", err)
	}
	if !strings.Contains(string(out), "in-box-42 "+name) {
		t.Errorf("terminal output %q; want the shell's answer with the box's hostname", out)
	}
	pbox(t, "--root", root, "rm", "-f", name)
	assertNoLeftovers(t, name)
}
