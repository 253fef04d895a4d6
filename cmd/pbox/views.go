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
		Usage:     "show a box's memory, CPU and pids usage against its limits, and OOM kills, live",
		ArgsUsage: "ID",
		Description: `On a terminal the table is redrawn every second until the box stops or
	you press Ctrl-C, as docker stats; --no-stream prints it once (the
	default when stdout is not a terminal, so scripts get one reading);
	--stream redraws anyway. --json prints one JSON object per reading.
	
	example: sudo pbox stats web; sudo pbox stats --no-stream --json web`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON (one object per reading)"},
			&cli.BoolFlag{Name: "no-stream", Usage: "print one reading and return"},
			&cli.BoolFlag{Name: "stream", Usage: "keep printing readings even when stdout is not a terminal"},
		},
		Action: statsAction,
	}
}

func statsAction(c *cli.Context) error {
	if c.Bool("stream") && c.Bool("no-stream") {
		return fail(statusUsage, "stats: --stream and --no-stream exclude each other: pick one")
	}
	h, err := lookBox(c)
	if err != nil {
		return err
	}
	live := c.Bool("stream") || (!c.Bool("no-stream") && isTerminal(os.Stdout))
	s, err := h.Stats()
	if err != nil {
		return fail(statusFailed, "stats: %v", err)
	}
	for n := 0; ; n++ {
		if live && !c.Bool("json") && isTerminal(os.Stdout) {
			fmt.Fprint(c.App.Writer, "\x1b[H\x1b[2J") // redraw in place
		}
		printStats(c, h.ID(), s, live)
		if !live {
			return nil
		}
		time.Sleep(refreshEvery)
		if h, err = store().Look(h.ID()); err != nil {
			return nil // removed meanwhile (rm -f): nothing more to show
		}
		if s, err = h.Stats(); err != nil {
			if errors.Is(err, box.ErrWrongState) {
				rec := h.Record
				if settled, err := store().Settled(h.ID()); err == nil {
					rec = settled // with the exit its monitor records
				}
				fmt.Fprintf(c.App.ErrWriter, "pbox: stats: box %s %s\n", h.ID(), stoppedText(rec))
				return nil
			}
			return fail(statusFailed, "stats: %v", err)
		}
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

// printStats prints one reading: JSON lines while live, one indented
// object otherwise.
func printStats(c *cli.Context, id string, s box.Stats, live bool) {
	if c.Bool("json") {
		v := struct {
			ID string `json:"id"`
			box.Stats
		}{id, s}
		var data []byte
		if live {
			data, _ = json.Marshal(v)
		} else {
			data, _ = json.MarshalIndent(v, "", "  ")
		}
		fmt.Fprintln(c.App.Writer, string(data))
		return
	}
	limit := func(n int64, f func(int64) string) string {
		if n <= 0 {
			return "no limit"
		}
		return f(n)
	}
	t := newTable(c.App.Writer, "ID", "MEMORY", "LIMIT", "CPU TIME", "CPUS", "PIDS", "LIMIT", "OOM KILLS")
	cpus := "no limit"
	if s.CPUQuota > 0 && s.CPUPeriod > 0 {
		cpus = fmt.Sprintf("%g", float64(s.CPUQuota)/float64(s.CPUPeriod))
	}
	t.row(id, humanize.Bytes(int64(s.MemoryBytes)), limit(s.MemoryLimit, humanize.Bytes),
		(time.Duration(s.CPUNanos) * time.Nanosecond).Round(time.Millisecond).String(), cpus,
		strconv.FormatUint(s.Pids, 10), limit(s.PidsLimit, func(n int64) string { return strconv.FormatInt(n, 10) }),
		strconv.FormatUint(s.OOMKills, 10))
	t.flush()
	if s.Partial != "" {
		fmt.Fprintf(c.App.ErrWriter, "pbox: stats: %s\n", s.Partial)
	}
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
