package main

// The views that follow a box while it runs: pbox stats (a live table,
// as docker stats) and pbox logs -f (as docker logs -f). Both end by
// themselves when the box stops, with its exit shown.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/pbox-dev/pbox/box"
	"github.com/pbox-dev/pbox/internal/humanize"
	"github.com/urfave/cli/v2"
)

// refreshEvery is how often the live views look again.
const refreshEvery = time.Second

func newStatsCommand() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "show boxes' CPU, memory, network, block I/O and pids against their limits, live",
		ArgsUsage: "[ID...]",
		Description: `Every running box, one row each (IDs narrow it), as docker stats: CPU %
	over the last interval (100% is one CPU), memory against its limit, pids.
	On a terminal the table is redrawn every second until the boxes stop or
	you press Ctrl-C; --no-stream prints one reading (the default when stdout
	is not a terminal, so scripts get one); --stream redraws anyway. --json
	prints one JSON object per box and reading.

	example: sudo pbox stats; sudo pbox stats --no-stream --json web`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON (one object per box and reading)"},
			&cli.BoolFlag{Name: "no-stream", Usage: "print one reading and return"},
			&cli.BoolFlag{Name: "stream", Usage: "keep printing readings even when stdout is not a terminal"},
		},
		Action: statsAction,
	}
}

// firstWindow is how long the first reading measures CPU use over (a
// percentage needs two samples; later readings use the refresh interval).
const firstWindow = 300 * time.Millisecond

// boxStats is one box's reading: its cgroup's figures and CPU use over
// the interval since the last one.
type boxStats struct {
	ID         string  `json:"id"`
	CPUPercent float64 `json:"cpu_percent"`
	box.Stats
}

func statsAction(c *cli.Context) error {
	if c.Bool("stream") && c.Bool("no-stream") {
		return fail(statusUsage, "stats: --stream and --no-stream exclude each other: pick one")
	}
	st := store()
	ids := c.Args().Slice()
	named := len(ids) > 0
	for _, id := range ids {
		if _, err := lookBoxID(c, id); err != nil {
			return err
		}
	}
	if !named {
		all, err := st.List()
		if err != nil {
			return fail(statusFailed, "stats: %v", err)
		}
		for _, id := range all {
			if h, err := st.Look(id); err == nil && h.Allows(box.OpStats) == nil {
				ids = append(ids, id)
			}
		}
	}
	live := c.Bool("stream") || (!c.Bool("no-stream") && isTerminal(os.Stdout))
	prev := map[string]uint64{}
	read := func() ([]boxStats, error) {
		var out []boxStats
		var still []string
		for _, id := range ids {
			h, err := st.Look(id)
			if err != nil {
				continue // removed meanwhile (rm -f): nothing more to show
			}
			s, err := h.Stats()
			if errors.Is(err, box.ErrWrongState) {
				if named {
					rec := h.Record
					if settled, err := st.Settled(id); err == nil {
						rec = settled // with the exit its monitor records
					}
					fmt.Fprintf(c.App.ErrWriter, "pbox: stats: box %s %s\n", id, stoppedText(rec))
				}
				continue
			}
			if err != nil {
				return nil, fail(statusFailed, "stats: %v", err)
			}
			still = append(still, id)
			out = append(out, boxStats{ID: id, Stats: s})
		}
		ids = still
		return out, nil
	}
	last := time.Now()
	readings, err := read()
	if err != nil {
		return err
	}
	for _, r := range readings {
		prev[r.ID] = r.CPUNanos
	}
	if len(readings) > 0 {
		time.Sleep(firstWindow)
	}
	for {
		readings, err = read()
		if err != nil {
			return err
		}
		now := time.Now()
		for i := range readings {
			r := &readings[i]
			if before, ok := prev[r.ID]; ok && r.CPUNanos >= before {
				r.CPUPercent = float64(r.CPUNanos-before) / float64(now.Sub(last).Nanoseconds()) * 100
			}
			prev[r.ID] = r.CPUNanos
		}
		last = now
		if live && !c.Bool("json") && isTerminal(os.Stdout) {
			fmt.Fprint(c.App.Writer, "\x1b[H\x1b[2J") // redraw in place
		}
		printStats(c, readings, live || len(readings) != 1)
		if !live || len(ids) == 0 {
			return nil
		}
		time.Sleep(refreshEvery)
	}
}

// stoppedText says how a box ended, when that is known.
func stoppedText(rec *box.Record) string {
	if rec.Exit == nil {
		return "stopped"
	}
	text := "stopped (exit status " + strconv.Itoa(rec.Exit.Status) + ")"
	if rec.Exit.OOMKills > 0 {
		text += fmt.Sprintf(", %d OOM kills", rec.Exit.OOMKills)
	}
	return text
}

// printStats prints one reading of every box: JSON lines (or one
// indented object for one box, once), or a table as docker stats.
func printStats(c *cli.Context, readings []boxStats, lines bool) {
	if c.Bool("json") {
		for _, r := range readings {
			var data []byte
			if lines {
				data, _ = json.Marshal(r)
			} else {
				data, _ = json.MarshalIndent(r, "", "  ")
			}
			fmt.Fprintln(c.App.Writer, string(data))
		}
		return
	}
	t := newTable(c.App.Writer, "ID", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS / LIMIT", "CPUS", "OOM KILLS")
	for _, r := range readings {
		s := r.Stats
		mem, memPct := humanize.Bytes(int64(s.MemoryBytes))+" / no limit", "-"
		if s.MemoryLimit > 0 {
			mem = humanize.Bytes(int64(s.MemoryBytes)) + " / " + humanize.Bytes(s.MemoryLimit)
			memPct = fmt.Sprintf("%.2f%%", float64(s.MemoryBytes)/float64(s.MemoryLimit)*100)
		}
		pids := strconv.FormatUint(s.Pids, 10) + " / no limit"
		if s.PidsLimit > 0 {
			pids = fmt.Sprintf("%d / %d", s.Pids, s.PidsLimit)
		}
		cpus := "no limit"
		if s.CPUQuota > 0 && s.CPUPeriod > 0 {
			cpus = fmt.Sprintf("%g", float64(s.CPUQuota)/float64(s.CPUPeriod))
		}
		// "-": the box has no network namespace (its counters would be the
		// host's) or no io cgroup of its own (see cgroups.Stats.BlockIO).
		netIO, blockIO := "-", "-"
		if r.NetIO != nil {
			netIO = humanize.Bytes(int64(r.NetIO.Rx)) + " / " + humanize.Bytes(int64(r.NetIO.Tx))
		}
		if s.BlockIO != nil {
			blockIO = humanize.Bytes(int64(s.BlockIO.Read)) + " / " + humanize.Bytes(int64(s.BlockIO.Write))
		}
		t.row(r.ID, fmt.Sprintf("%.2f%%", r.CPUPercent), mem, memPct, netIO, blockIO, pids, cpus, strconv.FormatUint(s.OOMKills, 10))
		if s.Partial != "" {
			defer fmt.Fprintf(c.App.ErrWriter, "pbox: stats: %s: %s\n", r.ID, s.Partial)
		}
	}
	t.flush()
}

func newLogsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print what a detached box wrote to stdout and stderr",
		ArgsUsage: "ID",
		Description: `-f follows the output as it is written, until the box stops (then its
	exit is shown on stderr) or Ctrl-C; --tail N starts from the last N
	lines.
	
	example: sudo pbox logs -f --tail 20 web`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing what the box writes, until it stops"},
			&cli.StringFlag{Name: "tail", Usage: "only the last N lines (all: everything)", Value: "all"},
			&cli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}, Usage: "begin each line with the time it was written (RFC 3339, UTC)"},
			&cli.StringFlag{Name: "since", Usage: "only lines written at or after TIME: 2026-12-05T10:00:00Z, 2026-12-05, Unix seconds, or a duration before now (10m)"},
			&cli.StringFlag{Name: "until", Usage: "only lines written at or before TIME (as --since)"},
		},
		Action: logsAction,
	}
}

func logsAction(c *cli.Context) error {
	tail := -1
	if v := c.String("tail"); v != "all" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fail(statusUsage, "logs: --tail %q: give a number of lines, or all", v)
		}
		tail = n
	}
	req := box.LogsRequest{Tail: tail, Follow: c.Bool("follow"), Timestamps: c.Bool("timestamps")}
	now := time.Now()
	for _, b := range []struct {
		flag string
		to   *time.Time
	}{{"since", &req.Since}, {"until", &req.Until}} {
		if v := c.String(b.flag); v != "" {
			t, err := box.ParseLogTime(v, now)
			if err != nil {
				return fail(statusUsage, "logs: --%s %v", b.flag, err)
			}
			*b.to = t
		}
	}
	h, err := lookBox(c)
	if err != nil {
		return err
	}
	st, id := h.Store, h.ID()
	if h.Record.Kind != box.KindDetached {
		return fail(statusFailed, "logs: box %s was not started with 'pbox run -d': its output went where pbox's did", id)
	}
	w, ew := bufio.NewWriter(c.App.Writer), bufio.NewWriter(c.App.ErrWriter)
	err = st.Logs(id, req, w, ew)
	w.Flush()
	ew.Flush()
	if err != nil {
		return fail(statusFailed, "logs: %v", err)
	}
	if c.Bool("follow") {
		if rec, err := st.Read(id); err == nil {
			fmt.Fprintf(c.App.ErrWriter, "pbox: logs: box %s %s\n", id, stoppedText(rec))
		}
	}
	return nil
}
