package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/pbox-dev/pbox/box"
	"github.com/pbox-dev/pbox/internal/escape"
	"github.com/pbox-dev/pbox/internal/humanize"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// table prints aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, headers ...string) *table {
	t := &table{tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)}
	t.row(headers...)
	return t
}

// row prints one line; a box chose some of the cells (its processes'
// names and arguments), so control characters print as '?' (procps's way).
func (t *table) row(cells ...string) {
	for i := range cells {
		cells[i] = escape.Text(cells[i])
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}
func (t *table) flush() { t.tw.Flush() }

// psEntry is one box in `pbox ps --json`.
type psEntry struct {
	ID       string     `json:"id"`
	Pid      int        `json:"pid,omitempty"`
	Status   string     `json:"status"`
	Created  time.Time  `json:"created"`
	Command  []string   `json:"command"`
	Limits   box.Limits `json:"limits"`
	Detached bool       `json:"detached,omitempty"`
	Exit     *box.Exit  `json:"exit,omitempty"`
	// A box on a CNI network: its addresses and published ports.
	Addresses []string `json:"addresses,omitempty"`
	Ports     []string `json:"ports,omitempty"`
}

func newPsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ps",
		Aliases:   []string{"top"}, // docker top BOX is ps BOX
		Usage:     "list boxes; with an ID, list the processes in that box",
		ArgsUsage: "[ID]",
		Description: `Without ID: running boxes (-a: stopped ones too), with their limits.
	With ID (runc's ps): each process of the box with its host pid and its
	pid inside the box; --format json prints the host pids only.
	
	example: sudo pbox ps -a`,
		UseShortOptionHandling: true, // -aq, as docker ps
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "include stopped boxes"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print the box names only (as docker ps -q)"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table, json (as --json; with ID, the host pids, as runc ps), or a Go template over the JSON's fields, as docker's: '{{.Names}}', 'table {{.ID}}\t{{.Status}}', '{{json .}}'"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "print whole commands (the table cuts COMMAND so that a row fits 120 columns)"},
		},
		Action: func(c *cli.Context) error {
			f := c.String("format")
			isTemplate := strings.Contains(f, "{{")
			if f != "table" && f != "json" && (!isTemplate || c.NArg() > 0) {
				return fail(statusUsage, "ps: --format %q: use table, json or a Go template such as '{{.Names}}' (a template lists boxes, not one box's processes)", f)
			}
			if c.NArg() > 0 {
				return psBox(c)
			}
			st := store()
			ids, err := st.List()
			if err != nil {
				return fail(statusFailed, "ps: %v", err)
			}
			entries := []psEntry{}
			for _, id := range ids {
				rec, err := st.Read(id)
				if err != nil {
					continue
				}
				if st.NeverStarted(rec) {
					// Its pbox died before the box ran: no box, only
					// leftovers, which go.
					st.RemoveNeverStarted(id)
					continue
				}
				e := psEntry{ID: id, Status: st.Status(rec), Created: rec.Created, Command: rec.Config.Args,
					Limits: rec.Cgroup.Limits, Detached: rec.Kind == box.KindDetached, Exit: rec.Exit}
				if e.Status == box.StatusStopped && !c.Bool("all") {
					continue
				}
				if e.Status != box.StatusStopped {
					e.Pid = rec.Pid
					e.Addresses = rec.Addresses
					if att, _ := st.Network(id); att != nil {
						for _, p := range att.Ports {
							e.Ports = append(e.Ports, p.String())
						}
					}
				}
				e.Limits.Devices = nil
				entries = append(entries, e)
			}
			if c.Bool("quiet") {
				for _, e := range entries {
					fmt.Fprintln(c.App.Writer, e.ID)
				}
				return nil
			}
			if c.Bool("json") || c.String("format") == "json" {
				data, _ := json.MarshalIndent(entries, "", "  ")
				fmt.Fprintln(c.App.Writer, string(data))
				return nil
			}
			if isTemplate {
				return psTemplate(c.App.Writer, entries, f)
			}
			var rows [][]string
			for _, e := range entries {
				status := e.Status
				if e.Exit != nil {
					status = fmt.Sprintf("stopped (%d)", e.Exit.Status)
				}
				pid := "-"
				if e.Pid > 0 {
					pid = strconv.Itoa(e.Pid)
				}
				netText := "-"
				if len(e.Addresses)+len(e.Ports) > 0 {
					netText = strings.Join(append(append([]string{}, e.Addresses...), e.Ports...), " ")
				}
				rows = append(rows, []string{e.ID, pid, status, ago(e.Created), strings.Join(e.Command, " "), limitsText(e.Limits), netText})
			}
			t := newTable(c.App.Writer, slices.Clone(psHeaders)...) // row escapes its cells in place
			if !c.Bool("no-trunc") {
				fitCommand(rows, 4, psWidth)
			}
			for _, r := range rows {
				t.row(r...)
			}
			t.flush()
			return nil
		},
	}
}

// psWidth is what a ps row fits in unless --no-trunc: docker ps's habit
// of a line per box on an ordinary terminal.
const psWidth = 120

// fitCommand cuts column col of rows (the command) so that each row
// fits width columns with the table's padding, keeping at least 20
// characters of it, and marks a cut with "...".
func fitCommand(rows [][]string, col, width int) {
	others := 0
	for c := range psHeaders {
		if c == col {
			continue
		}
		w := len(psHeaders[c])
		for _, r := range rows {
			w = max(w, utf8.RuneCountInString(r[c]))
		}
		others += w + 3
	}
	room := max(20, width-others)
	for _, r := range rows {
		if runes := []rune(r[col]); len(runes) > room {
			r[col] = string(runes[:room-3]) + "..."
		}
	}
}

var psHeaders = []string{"ID", "PID", "STATUS", "CREATED", "COMMAND", "LIMITS", "NETWORK"}

// Names, RunningFor and CreatedAt are docker ps's template fields, for
// --format '{{.Names}}'; the JSON's fields (ID, Status, Command...) are
// there as they are.
func (e psEntry) Names() string      { return e.ID }
func (e psEntry) RunningFor() string { return ago(e.Created) }
func (e psEntry) CreatedAt() string  { return e.Created.Format(time.RFC3339) }

// psTemplate prints each box through a Go template, as docker ps
// --format: "\t" and "\n" typed in the format are a tab and a newline,
// "table " in front adds a header row and aligns columns, {{json .}}
// prints the entry as JSON. The command, which the box chose, has its
// control characters printed as '?', as in the table.
func psTemplate(out io.Writer, entries []psEntry, format string) error {
	table := strings.HasPrefix(format, "table ")
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(strings.TrimPrefix(format, "table "))
	tmpl, err := template.New("format").Funcs(template.FuncMap{
		"json": func(v any) (string, error) { data, err := json.Marshal(v); return string(data), err },
		"join": strings.Join,
	}).Parse(format)
	if err != nil {
		return fail(statusUsage, "ps: --format: %v", err)
	}
	w := out
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
		w = tw
		header := regexp.MustCompile(`{{\s*\.(\w+)\s*}}`).ReplaceAllStringFunc(format, func(m string) string {
			return strings.ToUpper(strings.Trim(m, "{}. \t"))
		})
		fmt.Fprintln(w, header)
	}
	for _, e := range entries {
		e.Command = slices.Clone(e.Command)
		for i := range e.Command {
			e.Command[i] = escape.Text(e.Command[i])
		}
		var b strings.Builder
		if err := tmpl.Execute(&b, e); err != nil {
			return fail(statusUsage, "ps: --format: %v", err)
		}
		fmt.Fprintln(w, b.String())
	}
	if tw != nil {
		tw.Flush()
	}
	return nil
}

// ago says how long ago t was, as docker ps does.
func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t).Round(time.Second)
	return d.String() + " ago"
}

func limitsText(l box.Limits) string {
	var parts []string
	if l.MemoryBytes > 0 {
		parts = append(parts, "memory="+humanize.Bytes(l.MemoryBytes))
	}
	if l.CPUQuota > 0 && l.CPUPeriod > 0 {
		parts = append(parts, fmt.Sprintf("cpus=%g", float64(l.CPUQuota)/float64(l.CPUPeriod)))
	}
	if l.PidsMax > 0 {
		parts = append(parts, fmt.Sprintf("pids=%d", l.PidsMax))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// psBox is runc's `ps ID`: the processes in one box.
func psBox(c *cli.Context) error {
	h, err := lookBox(c)
	if err != nil {
		return err
	}
	if c.String("format") == "json" { // runc's: the host pids, as a JSON list
		pids, err := h.Processes()
		if err != nil {
			return fail(statusFailed, "ps: %v", err)
		}
		data, _ := json.Marshal(pids)
		fmt.Fprintln(c.App.Writer, string(data))
		return nil
	}
	procs, err := h.ProcessList()
	if err != nil {
		return fail(statusFailed, "ps: %v", err)
	}
	t := newTable(c.App.Writer, "PID", "BOX PID", "COMMAND")
	for _, p := range procs {
		boxPid, command := "?", p.Command
		if p.BoxPid > 0 {
			boxPid = strconv.Itoa(p.BoxPid)
		}
		if command == "" {
			command = "?"
		}
		t.row(strconv.Itoa(p.Pid), boxPid, command)
	}
	t.flush()
	return nil
}

func newKillCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "send a signal to boxes' init (default SIGTERM)",
		ArgsUsage: "ID... [SIGNAL] | -s SIGNAL ID...",
		Description: `SIGNAL is a name (TERM, SIGTERM) or a number. The init passes it on to
	COMMAND. --all signals every process in the box's cgroup instead.
	Several IDs signal every box; the status is 1 if any failed. Without
	--signal, a last argument that is a signal is the signal (runc's
	"kill ID SIGNAL", which containerd sends).
	
	example: sudo pbox kill web HUP; sudo pbox kill -s KILL web db`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every process of the box"},
			&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "the signal, when several IDs are given (default TERM)"},
		},
		Action: func(c *cli.Context) error {
			ids, sig, err := killArgs(c)
			if err != nil {
				return err
			}
			if err := needRoot(c); err != nil {
				return err
			}
			return eachBox(c, ids, func(id string) error { return killOne(c, id, sig) })
		},
	}
}

// killArgs splits kill's arguments into box ids and the signal.
func killArgs(c *cli.Context) ([]string, unix.Signal, error) {
	ids := c.Args().Slice()
	sig := unix.SIGTERM
	if c.IsSet("signal") {
		s, ok := parseSignal(c.String("signal"))
		if !ok {
			return nil, 0, fail(statusFailed, "kill: --signal %q is not a signal: give a name (TERM, SIGKILL) or a number (1-64)", c.String("signal"))
		}
		return ids, s, nil
	}
	if len(ids) > 1 {
		last := ids[len(ids)-1]
		if s, ok := parseSignal(last); ok {
			return ids[:len(ids)-1], s, nil
		}
		if len(ids) == 2 && !boxExists(last) {
			return nil, 0, fail(statusFailed, "kill: %q is not a signal, nor a box: give a signal name (TERM, SIGKILL) or number (1-64), or box ids (see 'pbox ps -a')", last)
		}
	}
	return ids, sig, nil
}

func boxExists(id string) bool {
	_, err := store().Read(id)
	return err == nil
}

func killOne(c *cli.Context, id string, sig unix.Signal) error {
	h, err := lockBoxID(c, id)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.Signal(sig, c.Bool("all")); err != nil {
		return fail(statusFailed, "kill: %v", err)
	}
	return nil
}

func newStopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "stop boxes: SIGTERM, then SIGKILL after a grace period",
		ArgsUsage: "ID...",
		Description: `As docker stop: the init passes SIGTERM to COMMAND; whatever is left
	after --time seconds is killed. Several IDs stop every box, one after
	the other; the status is 1 if any failed.
	
	example: sudo pbox stop -t 5 web`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Value: 10, Usage: "seconds to wait before SIGKILL"},
		},
		Action: func(c *cli.Context) error {
			if c.Int("time") < 0 {
				return fail(statusUsage, "stop: --time %d: must be 0 or more", c.Int("time"))
			}
			if c.NArg() > 0 {
				if err := needRoot(c); err != nil {
					return err
				}
			}
			return eachBox(c, c.Args().Slice(), func(id string) error { return stopOne(c, id) })
		},
	}
}

func stopOne(c *cli.Context, id string) error {
	h, err := lockBoxID(c, id)
	if err != nil {
		return err
	}
	defer h.Close()
	grace := time.Duration(c.Int("time")) * time.Second
	err = h.Stop(grace, func() {
		fmt.Fprintf(c.App.ErrWriter, "pbox: stop: box %s did not stop within %ds: SIGKILL\n", id, c.Int("time"))
	})
	if err != nil {
		return fail(statusFailed, "stop: %v", err)
	}
	return nil
}

func newRmCommand() *cli.Command {
	return &cli.Command{
		Name:        "rm",
		Usage:       "remove stopped boxes (-f: stop them first)",
		ArgsUsage:   "ID...",
		Description: "Several IDs remove every box; the status is 1 if any failed.\n\n\texample: sudo pbox rm -f web db",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the box if it is running"},
		},
		Action: func(c *cli.Context) error {
			return eachBox(c, c.Args().Slice(), func(id string) error { return removeBox(c, id, "rm", c.Bool("force")) })
		},
	}
}

func newEventsCommand() *cli.Command {
	return &cli.Command{
		Name:      "events",
		Usage:     "print a box's events as JSON lines (start, oom, exit), following until it exits",
		ArgsUsage: "ID",
		Description: `Boxes started by pbox run -d record start, oom and exit (with the
	status). A box made by pbox create has no pbox watching it (containerd
	does), so it records start only; a foreground box records none.
	
	example: sudo pbox events web | jq -c .`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-follow", Usage: "print what happened so far and return"},
		},
		Action: func(c *cli.Context) error {
			h, err := lookBox(c)
			if err != nil {
				return err
			}
			if err := h.Store.Events(h.ID(), !c.Bool("no-follow"), c.App.Writer); err != nil {
				return fail(statusFailed, "events: %v", err)
			}
			return nil
		},
	}
}

// parseSignal reads "TERM", "SIGTERM", "term" or "15".
func parseSignal(s string) (unix.Signal, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return unix.Signal(n), n >= 1 && n <= 64
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	return sig, sig != 0
}

// newWaitCommand is docker wait: block until each box has stopped, and
// print its exit status.
func newWaitCommand() *cli.Command {
	return &cli.Command{
		Name:      "wait",
		Usage:     "wait until boxes stop, and print each one's exit status",
		ArgsUsage: "ID...",
		Description: `As docker wait: one line per box, in the order given, once it has stopped.
	The status is 1 if a box does not exist, or stopped without a pbox to see
	its exit status (its pbox was killed), or was removed before it could be read.

	example: sudo pbox wait web`,
		Action: func(c *cli.Context) error {
			return eachBox(c, c.Args().Slice(), func(id string) error {
				h, err := lookBoxID(c, id)
				if err != nil {
					return err
				}
				st := h.Store
				for rec := h.Record; ; {
					if st.Finished(rec) {
						if rec.Exit == nil {
							return fail(statusFailed, "wait: box %s stopped, but no pbox was there to see its exit status (its pbox was killed)", id)
						}
						fmt.Fprintln(c.App.Writer, rec.Exit.Status)
						return nil
					}
					time.Sleep(50 * time.Millisecond)
					if rec, err = st.Read(id); errors.Is(err, box.ErrNoSuchBox) {
						return fail(statusFailed, "wait: box %s was removed before its exit status could be read (pbox run --rm, or pbox rm)", id)
					} else if err != nil {
						return fail(statusFailed, "wait: %v", err)
					}
				}
			})
		},
	}
}
