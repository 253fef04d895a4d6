package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/man from the command definitions")

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
	if *update {
		os.MkdirAll(dir, 0o755)
		for name, page := range pages {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(page), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for name, page := range pages {
		have, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(have) != page {
			t.Errorf("docs/man/%s is out of date with the command definitions: run go test ./cmd/pbox -run TestManPages -update", name)
		}
	}
	run := pages["pbox-run.8"]
	for _, flag := range []string{"--memory", "--pids-limit", "--rootfs", "--no-init", "--cap-add"} {
		if !strings.Contains(run, flag) {
			t.Errorf("pbox-run.8 does not document %s", flag)
		}
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "complete -o bashdefault", "zsh": "#compdef pbox"} {
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
	if r := pbox(t, "run", "--mem", "--generate-bash-completion"); !strings.Contains(r.stdout, "--memory") {
		t.Errorf("flag completion for run: %q", r.stdout)
	}
	var out, errOut bytes.Buffer
	if code := runApp([]string{"pbox", "completion", "fish"}, &out, &errOut); code != 2 {
		t.Errorf("unknown shell: status %d", code)
	}
}
