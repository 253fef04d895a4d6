package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/urfave/cli/v2"
)

// The command line's own errors: one "pbox:" line with a hint, no usage
// dump, no stack trace, and the status of the one table (errors.go, the
// README's "Exit status"): 125 for run and exec, 1 for the OCI commands
// (as runc), 2 for every other command.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"pbox", "run", "--bogus", "x"}, 125, "pbox: run: unknown flag --bogus: see 'pbox run --help'"},
		{[]string{"pbox", "run"}, 125, "pbox: run: no COMMAND given"},
		{[]string{"pbox", "run", "--memory", "12XB", "true"}, 125, "pbox: run: --memory:"},
		{[]string{"pbox", "run", "--memory", "1", "true"}, 125, "pbox: run: --memory: cgroups: bad size \"1\": a box needs at least 6 MiB"},
		{[]string{"pbox", "run", "--name", "", "true"}, 125, "pbox: run: --name is empty"},
		{[]string{"pbox", "run", "--cpus", "", "true"}, 125, "pbox: run: --cpus is empty"},
		{[]string{"pbox", "run", "-w", "", "true"}, 125, "pbox: run: --workdir is empty"},
		{[]string{"pbox", "run", "-e", "", "true"}, 125, "pbox: run: --env is empty"},
		{[]string{"pbox", "run", "--ns", "pid,pid,mnt", "true"}, 125, "pbox: run: --ns \"pid,pid,mnt\": namespaces: namespace named twice: pid"},
		{[]string{"pbox", "run", "--ns", "pid,mnt", "--ns", "mnt", "true"}, 125, "pbox: run: --ns \"pid,mnt,mnt\": namespaces: namespace named twice: mnt"},
		{[]string{"pbox", "run", "--hostname", "lab\nroot", "true"}, 125, "pbox: run: --hostname: hostname \"lab\\nroot\": use letters"},
		{[]string{"pbox", "run", "--pids-limit", "1", "true"}, 125, "pbox: run: --pids-limit: 1 is too low: pbox-init counts against the limit"},
		{[]string{"pbox", "run", "--cgroup-parent", "/", "true"}, 125, "pbox: run: --cgroup-parent: cgroup path \"/\": give a path relative"},
		{[]string{"pbox", "run", "--cgroup-parent", "/sys/fs/cgroup/x", "true"}, 125, "pbox: run: --cgroup-parent: cgroup path \"/sys/fs/cgroup/x\": give a path relative"},
		{[]string{"pbox", "exec"}, 125, "pbox: exec: give a box id"},
		{[]string{"pbox", "exec", "--bogus", "x"}, 125, "pbox: exec: unknown flag --bogus"},
		{[]string{"pbox", "frob"}, 2, `pbox: unknown command "frob": see 'pbox --help'`},
		{[]string{"pbox", "rn"}, 2, `pbox: unknown command "rn": did you mean "run"? see 'pbox --help'`},
		{[]string{"pbox", "rnu"}, 2, `pbox: unknown command "rnu": did you mean "run"? see 'pbox --help'`},
		{[]string{"pbox", "restart", "a"}, 2, `pbox: unknown command "restart": pbox restarts no box in place: pbox stop ID, then pbox run it again; see 'pbox --help'`},
		{[]string{"pbox", "rename", "a", "b"}, 2, `pbox: unknown command "rename": a box's name is fixed`},
		{[]string{"pbox", "images"}, 2, `pbox: unknown command "images": pbox keeps no images`},
		{[]string{"pbox", "pull", "alpine"}, 2, `pbox: unknown command "pull": pbox pulls no images: docker save`},
		{[]string{"pbox", "save", "alpine"}, 2, `pbox: unknown command "save": pbox saves no images`},
		{[]string{"pbox", "run", "--pid", "host", "true"}, 125, "pbox: run: unknown flag --pid: the box's namespaces are --ns (docker's --pid host: leave pid out of --ns, e.g. --ns mnt,uts,ipc); see 'pbox run --help'"},
		{[]string{"pbox", "run", "--memory-swap", "1g", "true"}, 125, "pbox: run: unknown flag --memory-swap: pbox has no swap limit"},
		{[]string{"pbox", "run", "--memroy", "64M", "true"}, 125, "pbox: run: unknown flag --memroy: did you mean --memory? see 'pbox run --help'"},
		{[]string{"pbox", "rm", "-fx", "a"}, 2, "pbox: rm: unknown flag -fx: did you mean -f? see 'pbox rm --help'"},
		{[]string{"pbox", "run", "-x", "true"}, 125, "pbox: run: unknown flag -x: see 'pbox run --help'"},
		{[]string{"pbox", "--bogus"}, 2, "pbox: unknown flag --bogus: see 'pbox --help'"},
		{[]string{"pbox", "cleanup", "extra"}, 2, "pbox: cleanup: takes no arguments"},
		{[]string{"pbox", "cleanup", "--cgroup-parent", "/"}, 2, "pbox: cleanup: --cgroup-parent:"},
		{[]string{"pbox", "rootfs", "bogus"}, 2, `pbox: rootfs: unknown subcommand "bogus"`},
		{[]string{"pbox", "rootfs", "import", "--max-size", "lots", "a", "b"}, 2, "pbox: rootfs import: --max-size:"},
		{[]string{"pbox", "rootfs", "import", "a"}, 2, "pbox: rootfs import: give TARBALL and DIR"},
		{[]string{"pbox", "inspect"}, 2, "pbox: inspect: give exactly one PID"},
		{[]string{"pbox", "stop"}, 2, "pbox: stop: give a box id"},
		{[]string{"pbox", "stop", "-t", "-1", "a"}, 2, "pbox: stop: --time -1"},
		{[]string{"pbox", "rm"}, 2, "pbox: rm: give a box id"},
		{[]string{"pbox", "kill"}, 2, "pbox: kill: give a box id"},
		{[]string{"pbox", "kill", "-s", "NOPE", "a"}, 1, `pbox: kill: --signal "NOPE" is not a signal`},
		{[]string{"pbox", "logs", "a", "b"}, 2, "pbox: logs: takes one box id, got 2 arguments"},
		{[]string{"pbox", "ps", "--format", "yaml"}, 2, `pbox: ps: --format "yaml": use table, json or a Go template`},
		{[]string{"pbox", "ps", "--bogus"}, 2, "pbox: ps: unknown flag --bogus"},
		{[]string{"pbox", "state"}, 1, "pbox: state: give a box id"},
		{[]string{"pbox", "delete", "a", "b"}, 1, "pbox: delete: takes one box id"},
		{[]string{"pbox", "create", "--bogus"}, 1, "pbox: create: unknown flag --bogus"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := runApp(tt.args, &out, &errOut)
		if code != tt.code || !strings.HasPrefix(errOut.String(), tt.want) || strings.Count(errOut.String(), "\n") != 1 {
			t.Errorf("%q: status %d, stderr %q; want %d and %q", tt.args, code, errOut.String(), tt.code, tt.want)
		}
	}
}

func TestHelpShowsExamples(t *testing.T) {
	args := [][]string{{"pbox", "--help"}}
	for _, cmd := range newCommands() {
		args = append(args, []string{"pbox", cmd.Name, "--help"})
		for _, sub := range cmd.Subcommands {
			args = append(args, []string{"pbox", cmd.Name, sub.Name, "--help"})
		}
	}
	for _, a := range args {
		var out, errOut bytes.Buffer
		if code := runApp(a, &out, &errOut); code != 0 || !strings.Contains(out.String(), "example: ") {
			t.Errorf("%q: status %d, no example line in:\n%s", a, code, out.String())
		}
	}
}

// Issue 24: every flag's value has a name that means something
// (--memory BYTES), never urfave/cli's "value", and help fits 100
// columns.
func TestHelpPlaceholdersAndWidth(t *testing.T) {
	args := [][]string{{"pbox", "--help"}}
	for _, cmd := range newCommands() {
		args = append(args, []string{"pbox", cmd.Name, "--help"})
		for _, sub := range cmd.Subcommands {
			args = append(args, []string{"pbox", cmd.Name, sub.Name, "--help"})
		}
	}
	valueFlag := regexp.MustCompile(`-[a-z-]+ value\b`)
	for _, a := range args {
		var out, errOut bytes.Buffer
		runApp(a, &out, &errOut)
		if m := valueFlag.FindString(out.String()); m != "" {
			t.Errorf("%q: %q has no placeholder (add it to placeholders)", a, m)
		}
		for _, line := range strings.Split(out.String(), "\n") {
			if utf8.RuneCountInString(line) > helpWidth {
				t.Errorf("%q: a line of %d columns: %q", a, utf8.RuneCountInString(line), line)
			}
		}
	}
	var out, errOut bytes.Buffer
	runApp([]string{"pbox", "run", "--help"}, &out, &errOut)
	for _, want := range []string{"--memory BYTES, -m BYTES", "--network MODE", "--volume SRC:DST", "--publish HOST:BOX, -p HOST:BOX"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("run --help lacks %q", want)
		}
	}
}

func TestVolumeShorthand(t *testing.T) {
	tests := []struct{ in, want string }{
		{"pbox run -v /a:/b -- sh", "pbox run --volume /a:/b -- sh"},
		{"pbox run -v -- true", "pbox run -v -- true"},
		{"pbox run -v true", "pbox run -v true"},
		{"pbox run --name x -v /a:/b:ro -v sh", "pbox run --name x --volume /a:/b:ro -v sh"},
		{"pbox run -e A=b:c -v sh", "pbox run -e A=b:c -v sh"},
		{"pbox run -- -v /a:/b", "pbox run -- -v /a:/b"},
		{"pbox run sh -c -v /a:/b", "pbox run sh -c -v /a:/b"},
		{"pbox inspect -v /a:/b", "pbox inspect -v /a:/b"},
		// Global flags and their values come first.
		{"pbox --root /x run -v /a:/b:ro sh", "pbox --root /x run --volume /a:/b:ro sh"},
		{"pbox --debug --log /l --log-format json run -v /a:/b sh", "pbox --debug --log /l --log-format json run --volume /a:/b sh"},
		{"pbox --root=/x run -v /a:/b sh", "pbox --root=/x run --volume /a:/b sh"},
	}
	for _, tt := range tests {
		if got := strings.Join(volumeShorthand(strings.Fields(tt.in)), " "); got != tt.want {
			t.Errorf("%q -> %q, want %q", tt.in, got, tt.want)
		}
	}
	// Every value flag of run, in every spelling, before -v SRC:DST: its
	// value is skipped, and -v is still read as a volume (issue 20: a
	// hand-kept list lacked --net, -p and --dns).
	n := 0
	for _, f := range newRunCommand().Flags {
		if _, isBool := f.(*cli.BoolFlag); isBool {
			continue
		}
		for _, name := range f.Names() {
			flag := "--" + name
			if len(name) == 1 {
				flag = "-" + name
			}
			in := []string{"pbox", "run", flag, "VALUE", "-v", "/srv:/data", "--", "cat", "/data/f"}
			want := "pbox run " + flag + " VALUE --volume /srv:/data -- cat /data/f"
			if got := strings.Join(volumeShorthand(in), " "); got != want {
				t.Errorf("%q -> %q, want %q", strings.Join(in, " "), got, want)
			}
			n++
		}
	}
	if n < 20 {
		t.Errorf("only %d value flag spellings of run tried", n)
	}
}
