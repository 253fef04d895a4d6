package main

//go:generate go run -tags genman . ../../docs/man

import (
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// manPages renders a man page (section 8: it needs root) for pbox and for
// each subcommand, from the same definitions the command line uses, in
// roff written here: the runtime binary carries no documentation code
// (urfave/cli's renderer and the markdown library under it cost every
// pbox process its package init). docs/man/ holds them; `go generate
// ./cmd/pbox` rewrites them (genman.go), and TestManPages fails if they
// are out of date. pbox itself never calls this: the linker leaves it out.
func manPages() (map[string]string, error) {
	app := newApp(nil, nil)
	pages := map[string]string{}
	var cmds []string
	for _, cmd := range app.Commands {
		if !cmd.Hidden {
			cmds = append(cmds, `\fBpbox-`+cmd.Name+`\fR(8)`)
		}
	}
	var b manWriter
	b.header("pbox", app.Usage)
	b.section("SYNOPSIS")
	b.line(`\fBpbox\fR [GLOBAL OPTIONS] \fICOMMAND\fR [FLAGS] [ARGS]`)
	b.section("DESCRIPTION")
	b.text(app.Usage + ". Every command has its own page, listed below; " +
		"the README has the whole story, with the reasons.")
	b.section("COMMANDS")
	for _, cmd := range app.Commands {
		if !cmd.Hidden {
			b.item(`\fB`+esc(cmd.Name)+`\fR`, cmd.Usage)
		}
	}
	b.section("GLOBAL OPTIONS")
	b.flags(app.Flags)
	b.exitStatus("")
	b.examples(app.UsageText)
	b.seeAlso(cmds)
	pages["pbox.8"] = b.String()

	for _, cmd := range app.Commands {
		if cmd.Hidden {
			continue
		}
		var b manWriter
		b.header("pbox-"+cmd.Name, cmd.Usage)
		b.section("SYNOPSIS")
		synopsis := `\fBpbox ` + esc(cmd.Name) + `\fR`
		if len(cmd.Flags) > 0 {
			synopsis += " [FLAGS]"
		}
		if cmd.ArgsUsage != "" {
			synopsis += " " + esc(cmd.ArgsUsage)
		}
		b.line(synopsis)
		for _, sub := range cmd.Subcommands {
			b.line(`.br`)
			b.line(`\fBpbox ` + esc(cmd.Name+" "+sub.Name) + `\fR ` + esc(sub.ArgsUsage))
		}
		b.section("DESCRIPTION")
		b.text(cmd.Usage + ".")
		b.text(description(cmd.Description))
		if len(cmd.Flags) > 0 {
			b.section("OPTIONS")
			b.flags(cmd.Flags)
		}
		for _, sub := range cmd.Subcommands {
			b.section("pbox " + cmd.Name + " " + sub.Name)
			b.text(sub.Usage + ".")
			b.text(description(sub.Description))
			b.flags(sub.Flags)
		}
		b.exitStatus(cmd.Name)
		b.examples(cmd.Description)
		for _, sub := range cmd.Subcommands {
			b.examples(sub.Description)
		}
		b.seeAlso([]string{`\fBpbox\fR(8)`})
		pages["pbox-"+cmd.Name+".8"] = b.String()
	}
	return pages, nil
}

// manWriter builds one page of roff.
type manWriter struct{ strings.Builder }

func (b *manWriter) line(s string) { b.WriteString(s + "\n") }

func (b *manWriter) header(name, usage string) {
	b.line(`.TH ` + strings.ToUpper(esc(name)) + ` 8 "" "pbox" "System Administration"`)
	b.line(`.nh`)
	b.section("NAME")
	b.line(esc(name) + ` \- ` + esc(usage))
}

func (b *manWriter) section(name string) { b.line(`.SH "` + strings.ToUpper(name) + `"`) }

// text writes a paragraph; a description's own blank lines start new ones.
func (b *manWriter) text(s string) {
	for _, para := range strings.Split(strings.TrimSpace(s), "\n\n") {
		if para = strings.TrimSpace(para); para != "" {
			b.line(`.PP`)
			b.line(esc(strings.Join(strings.Fields(para), " ")))
		}
	}
}

func (b *manWriter) item(tag, text string) {
	b.line(`.TP`)
	b.line(tag)
	b.line(esc(text))
}

// flags lists each flag with its names, its value and default, sorted.
func (b *manWriter) flags(flags []cli.Flag) {
	sorted := append([]cli.Flag(nil), flags...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Names()[0] < sorted[j].Names()[0] })
	for _, f := range sorted {
		var names []string
		for _, n := range f.Names() {
			dash := "--"
			if len(n) == 1 {
				dash = "-"
			}
			names = append(names, `\fB`+esc(dash+n)+`\fR`)
		}
		tag := strings.Join(names, ", ")
		df, ok := f.(cli.DocGenerationFlag)
		if ok && df.TakesValue() {
			ph := placeholders[f.Names()[0]]
			if ph == "" {
				ph = "value"
			}
			tag += ` \fI` + esc(ph) + `\fR`
		}
		usage := ""
		if ok {
			usage = df.GetUsage()
			if d := df.GetDefaultText(); d != "" && d != "false" && d != "0" && d != "[]" && d != `""` {
				usage += " (default: " + d + ")"
			}
		}
		b.item(tag, usage)
	}
}

// exitStatus prints the one table, as it applies to the command.
func (b *manWriter) exitStatus(cmd string) {
	b.section("EXIT STATUS")
	switch {
	case cmd == "":
		b.text("0 on success; 1 when a command failed (every failure of the OCI commands, as runc); 2 for bad usage; run and exec: COMMAND's own status, 125 when pbox failed before COMMAND ran, 126 and 127 when COMMAND could not be run or found, 128+N when it was killed by signal N.")
	case cmd == "run" || cmd == "exec":
		b.item(`\fBN\fR`, "COMMAND exited by itself with N (0 included).")
		b.item(`\fB128+N\fR`, "COMMAND was killed by signal N (137: SIGKILL, e.g. an OOM kill; 143: SIGTERM).")
		b.item(`\fB125\fR`, "pbox failed before COMMAND ran, bad usage included (as docker run).")
		b.item(`\fB126\fR`, "COMMAND was found but cannot be executed.")
		b.item(`\fB127\fR`, "COMMAND was not found.")
	case ociCommands[cmd]:
		b.item(`\fB0\fR`, "success.")
		b.item(`\fB1\fR`, "any failure, bad usage included, as runc.")
	default:
		b.item(`\fB0\fR`, "success.")
		b.item(`\fB1\fR`, "the command failed (no such box or process, a box in the wrong state; with several boxes, any of them).")
		b.item(`\fB2\fR`, "bad usage: an unknown flag, a bad value, the wrong number of arguments.")
	}
}

// examples prints the "example: ..." lines of a usage or description.
func (b *manWriter) examples(text string) {
	var ex []string
	for _, l := range strings.Split(text, "\n") {
		if e, ok := strings.CutPrefix(strings.TrimSpace(l), "example: "); ok {
			ex = append(ex, e)
		}
	}
	if len(ex) == 0 {
		return
	}
	b.section("EXAMPLES")
	for _, e := range ex {
		b.line(`.PP`)
		b.line(`.EX`)
		b.line(esc(e))
		b.line(`.EE`)
	}
}

func (b *manWriter) seeAlso(refs []string) {
	b.section("SEE ALSO")
	b.line(strings.Join(refs, ", "))
}

// description is a command's description without its example lines.
func description(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "example: ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// esc makes text safe for roff: backslashes, a leading dot or quote, and
// hyphens (which roff would turn into typographic ones).
func esc(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
