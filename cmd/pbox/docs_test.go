package main

import (
	"bytes"
	"debug/buildinfo"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestManPages(t *testing.T) {
	pages, err := manPages()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "docs", "man")
	for _, want := range []string{"pbox.8", "pbox-run.8", "pbox-inspect.8", "pbox-rootfs.8", "pbox-cleanup.8"} {
		if _, ok := pages[want]; !ok {
			t.Errorf("no man page %s", want)
		}
	}
	for name, page := range pages {
		have, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(have) != page {
			t.Errorf("docs/man/%s is out of date with the command definitions: run go generate ./cmd/pbox", name)
		}
	}
	run := pages["pbox-run.8"]
	for _, flag := range []string{"--memory", "--pids-limit", "--rootfs", "--no-init", "--cap-add", "--tty"} {
		if !strings.Contains(run, `\fB`+strings.ReplaceAll(flag, "-", `\-`)+`\fR`) {
			t.Errorf("pbox-run.8 does not document %s", flag)
		}
	}
	// A page a reader can use: its own header, the command's flags under
	// OPTIONS, the exit statuses and examples, defaults whole.
	for _, want := range []string{".TH PBOX\\-RUN 8", `.SH "OPTIONS"`, `.SH "EXIT STATUS"`, `.SH "EXAMPLES"`, "(default: pbox\\-<6 hex>)", `\fB125\fR`} {
		if !strings.Contains(run, want) {
			t.Errorf("pbox-run.8 lacks %q", want)
		}
	}
	if strings.Contains(run, "GLOBAL OPTIONS") {
		t.Error("pbox-run.8 lists the global options: they belong to pbox.8")
	}
	for name, page := range pages {
		if !strings.Contains(page, `.SH "EXIT STATUS"`) {
			t.Errorf("%s has no EXIT STATUS", name)
		}
	}
}

// The runtime binary carries no documentation code: urfave/cli's man
// page renderer (go-md2man) and blackfriday under it would cost every
// pbox process — pbox, pbox-init, the monitor — their package init.
func TestE2EBinaryHasNoDocumentationCode(t *testing.T) {
	info, err := buildinfo.ReadFile(pboxBin(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range info.Deps {
		switch {
		case strings.Contains(dep.Path, "russross/blackfriday"):
			t.Errorf("pbox links blackfriday %s", dep.Version)
		case strings.Contains(dep.Path, "cpuguy83/go-md2man"):
			// Only as the stub go.mod puts in its place.
			if dep.Replace == nil || !strings.Contains(dep.Replace.Path, "third_party/md2man-stub") {
				t.Errorf("pbox links the real go-md2man %s", dep.Version)
			}
		}
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "complete -o bashdefault", "zsh": "#compdef pbox", "fish": "complete -c pbox"} {
		var out, errOut bytes.Buffer
		if code := runApp([]string{"pbox", "completion", shell}, &out, &errOut); code != 0 || !strings.Contains(out.String(), want) {
			t.Errorf("completion %s: %d %q", shell, code, out.String())
		}
	}
	// urfave/cli's completion reads os.Args, so ask the built binary.
	r := pbox(t, "--generate-bash-completion")
	for _, cmd := range []string{"run", "inspect", "rootfs", "cleanup", "completion"} {
		if !strings.Contains(r.stdout, cmd+"\n") {
			t.Errorf("bash completion of commands lacks %s: %q", cmd, r.stdout)
		}
	}
	for _, args := range [][]string{{"run", "--mem"}, {"ps", "--js"}, {"exec", "--us"}} {
		want := map[string]string{"run": "--memory", "ps": "--json", "exec": "--user"}[args[0]]
		r := pbox(t, append(args, "--generate-bash-completion")...)
		if !strings.Contains(r.stdout, want) || r.code != 0 || strings.Contains(r.stderr, "panic") {
			t.Errorf("flag completion for %v: %+v (urfave/cli's short option handling once panicked here)", args, r)
		}
	}
	var out, errOut bytes.Buffer
	if code := runApp([]string{"pbox", "completion", "tcsh"}, &out, &errOut); code != 2 {
		t.Errorf("unknown shell: status %d", code)
	}
	// Box names where a command takes them, from the --root given.
	root := t.TempDir()
	for _, id := range []string{"web", "db"} {
		os.MkdirAll(filepath.Join(root, id), 0o700)
	}
	for _, cmd := range []string{"stop", "rm", "logs", "exec", "inspect"} {
		if r := pbox(t, "--root", root, cmd, "--generate-bash-completion"); r.stdout != "db\nweb\n" {
			t.Errorf("completion of %s: %q, want the box names", cmd, r.stdout)
		}
	}
	if r := pbox(t, "--root", root, "exec", "web", "--generate-bash-completion"); r.stdout != "" {
		t.Errorf("after exec's box, COMMAND (files): %q", r.stdout)
	}
	// --network's values (the boxes above have no record: not running).
	for _, flag := range []string{"--network", "--net"} {
		if r := pbox(t, "--root", root, "run", flag, "--generate-bash-completion"); !strings.HasPrefix(r.stdout, "host\nnone\nbridge\n") || strings.Contains(r.stdout, "container:web") {
			t.Errorf("completion of run %s: %q", flag, r.stdout)
		}
	}
	// The script completes ./pbox too (the README builds it in place).
	runApp([]string{"pbox", "completion", "bash"}, &out, &errOut)
	if !strings.Contains(out.String(), "_pbox_complete pbox ./pbox") {
		t.Errorf("the bash script does not complete ./pbox")
	}
}
