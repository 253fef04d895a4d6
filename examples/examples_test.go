package examples

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pbox-dev/pbox/internal/testutil"
)

// Experiments lists the lab in the order examples/README.md walks it.
var Experiments = []string{
	"fork-exec-cow", "init-and-zombies", "ps-inside-outside", "proc-tour", "limits", "uts-and-mounts",
	"netns-and-veth", "bridge-box-to-box", "nat-and-ports", "host-gw-routing", "vxlan-overlay",
	"user-namespaces",
}

// pboxDir builds pbox (or takes $PBOX_BIN) and returns a directory to put
// on PATH.
func pboxDir(t *testing.T) string {
	if bin := os.Getenv("PBOX_BIN"); bin != "" {
		abs, _ := filepath.Abs(bin)
		return filepath.Dir(abs)
	}
	dir := t.TempDir()
	if out, err := pboxBuildCmd(filepath.Join(dir, "pbox")).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// readExpected reads an experiment's patterns, one regexp per line.
func readExpected(t *testing.T, name string) []*regexp.Regexp {
	f, err := os.Open(filepath.Join(name, "expected"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var res []*regexp.Regexp
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		res = append(res, regexp.MustCompile(line))
	}
	return res
}

// matchInOrder checks that each pattern matches a line after the one the
// previous pattern matched.
func matchInOrder(out string, patterns []*regexp.Regexp) (int, bool) {
	lines := strings.Split(out, "\n")
	i := 0
	for n, re := range patterns {
		for i < len(lines) && !re.MatchString(lines[i]) {
			i++
		}
		if i == len(lines) {
			return n, false
		}
		i++
	}
	return len(patterns), true
}

func TestMatchInOrder(t *testing.T) {
	pats := []*regexp.Regexp{regexp.MustCompile("^a$"), regexp.MustCompile("^c$")}
	if _, ok := matchInOrder("a\nb\nc\n", pats); !ok {
		t.Error("in order must match")
	}
	if n, ok := matchInOrder("c\nb\na\n", pats); ok || n != 1 {
		t.Errorf("out of order must fail at pattern 1, got %d %v", n, ok)
	}
}

func TestExperiments(t *testing.T) {
	testutil.RequireRoot(t)
	path := pboxDir(t) + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, name := range Experiments {
		t.Run(name, func(t *testing.T) {
			for _, f := range []string{"README.md", "run.sh", "expected"} {
				if _, err := os.Stat(filepath.Join(name, f)); err != nil {
					t.Fatalf("experiment %s lacks %s", name, f)
				}
			}
			cmd := exec.Command("sh", filepath.Join(name, "run.sh"))
			cmd.Env = append(os.Environ(), "PATH="+path)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s/run.sh: %v\n%s", name, err, out.String())
			}
			patterns := readExpected(t, name)
			if n, ok := matchInOrder(out.String(), patterns); !ok {
				t.Errorf("%s: output does not match pattern %d %q of %s/expected:\n%s", name, n+1, patterns[n], name, out.String())
			}
		})
	}
}

// Every experiment checks its prerequisites and says what to install.
func TestExperimentsSayWhatIsMissing(t *testing.T) {
	for _, name := range Experiments[1:] { // all but fork-exec-cow need pbox
		cmd := exec.Command("sh", filepath.Join(name, "run.sh"))
		cmd.Env = []string{"PATH=/usr/bin:/bin"} // no pbox here
		if os.Geteuid() != 0 {
			cmd.Env = append(cmd.Env, "HOME=/")
		}
		out, err := cmd.CombinedOutput()
		if err == nil || !(strings.Contains(string(out), "pbox is not on PATH") || strings.Contains(string(out), "needs root")) {
			t.Errorf("%s without pbox: %v\n%s", name, err, out)
		}
	}
}

// The VM definition and every script are checked as CI would: vagrant
// validate (no box is downloaded), bash -n and shellcheck.
func TestVagrantfileAndScripts(t *testing.T) {
	scripts, _ := filepath.Glob("*/run.sh")
	scripts = append(scripts, "lib.sh", "../vagrant/provision.sh", "../vagrant/test-vm.sh", "../vagrant/vm-steps.sh")
	for _, tool := range []string{"vagrant", "shellcheck"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.SkipOrFail(t, "%s not installed (apt-get install %s)", tool, tool)
		}
	}
	validate := exec.Command("vagrant", "validate")
	validate.Dir = ".."
	// No state in ~, and no update check: CI has no network but the registries.
	validate.Env = append(os.Environ(), "VAGRANT_HOME="+t.TempDir(), "VAGRANT_CHECKPOINT_DISABLE=1")
	if out, err := validate.CombinedOutput(); err != nil {
		t.Errorf("vagrant validate: %v\n%s", err, out)
	}
	if out, err := exec.Command("bash", "-n", "../vagrant/provision.sh").CombinedOutput(); err != nil {
		t.Errorf("bash -n provision.sh: %v\n%s", err, out)
	}
	if out, err := exec.Command("shellcheck", append([]string{"-x"}, scripts...)...).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// pboxBuildCmd builds pbox as the README does: CGO_ENABLED=0, static.
func pboxBuildCmd(out string) *exec.Cmd {
	cmd := exec.Command("go", "build", "-o", out, "../cmd/pbox")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	return cmd
}

// Every picture a README shows is in the repository (a fresh clone, or a
// web view of it, shows no broken image): box.svg is committed, drawn by
// `go generate ./examples`; your-box.svg is each reader's own.
func TestREADMEPicturesExist(t *testing.T) {
	readmes, _ := filepath.Glob("*/README.md")
	readmes = append(readmes, "README.md", "../README.md")
	link := regexp.MustCompile(`!\[[^\]]*\]\(([^)]+)\)`)
	seen := 0
	for _, readme := range readmes {
		data, err := os.ReadFile(readme)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(data), -1) {
			seen++
			if strings.Contains(m[1], "://") {
				continue
			}
			path := filepath.Join(filepath.Dir(readme), m[1])
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s shows %s, which is not in the repository: %v", readme, m[1], err)
			}
			if tracked := exec.Command("git", "ls-files", "--error-unmatch", path); tracked.Run() != nil {
				t.Errorf("%s shows %s, which git does not track (a fresh clone lacks it)", readme, m[1])
			}
		}
	}
	if seen == 0 {
		t.Fatal("no picture in any README: the pattern is wrong")
	}
}
