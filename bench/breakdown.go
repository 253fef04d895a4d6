package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Where the time of one `pbox run -- true` goes: pbox, its Go init and the
// tiny init stamp every -v line with the time on CLOCK_MONOTONIC
// (PBOX_TIMESTAMPS=1); the phases are the gaps between marker lines, from
// the bench's own reading just before the exec to just after the wait.

// phase is one row: it ends at the first line that contains marker (after
// the previous phase's end); "" ends at the process's exit.
type phase struct {
	name, marker string
}

var phases = []phase{
	{"exec, Go runtime start, package init (pbox)", "pbox: main: started"},
	{"command line, plan, seccomp profile, state directory", "pbox: state: "},
	{"cgroup: mkdir, limits, device rules", "pbox: clone: CLONE"},
	{"clone, exec the box builder, read the plan (init)", "init: started"},
	{"mounts, pivot_root, masks, hostname (init)", "init: confine: "},
	{"keyring, caps, seccomp, user; fork+exec COMMAND (init)", "pbox: box: COMMAND runs"},
	{"COMMAND runs and exits; pbox's wait returns", "pbox: cgroup: rmdir"},
	{"cgroup and state removed, pbox exits", ""},
}

// breakdown times rounds runs of each binary, interleaved, and prints the
// median of each phase side by side.
func breakdown(bins map[string]string, order []string, rounds int) {
	trueBin, _ := exec.LookPath("true")
	got := map[string][][]time.Duration{}
	for i := 0; i < rounds; i++ {
		for _, name := range order {
			if d, ok := onePhases(bins[name], trueBin); ok {
				got[name] = append(got[name], d)
			}
		}
	}
	fmt.Printf("Where the time of `pbox run %s-- true` goes (-v with PBOX_TIMESTAMPS=1, %d rounds, medians)\n", breakdownArgs+" ", rounds)
	fmt.Printf("  %-55s", "phase")
	for _, name := range order {
		fmt.Printf(" %12s", name)
	}
	fmt.Println()
	for p := range phases {
		fmt.Printf("  %-55s", phases[p].name)
		for _, name := range order {
			fmt.Printf(" %12s", medianOf(got[name], p))
		}
		fmt.Println()
	}
	fmt.Printf("  %-55s", "total")
	for _, name := range order {
		fmt.Printf(" %12s", medianOf(got[name], -1))
	}
	fmt.Println()
	for _, name := range order {
		if len(got[name]) < rounds {
			fmt.Printf("  (%s: %d of %d runs had every marker)\n", name, len(got[name]), rounds)
		}
	}
	fmt.Printf("  %-55s", "of which package init, per Go start (inittrace)")
	for _, name := range order {
		fmt.Printf(" %12s", packageInit(bins[name], 30))
	}
	fmt.Println()
}

// breakdownArgs are extra pbox run flags for the breakdown (-breakdown-args).
var breakdownArgs string

// onePhases runs pbox run -v -- true once and cuts its time into phases.
func onePhases(pbox, trueBin string) ([]time.Duration, bool) {
	args := append([]string{"run", "-v", "--cgroup-parent", "pbox-bench"}, strings.Fields(breakdownArgs)...)
	cmd := exec.Command(pbox, append(args, "--", trueBin)...)
	cmd.Env = append(os.Environ(), "PBOX_TIMESTAMPS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := monotonicMS()
	if err := cmd.Run(); err != nil {
		return nil, false
	}
	end := monotonicMS()
	var lines []string
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	stamp := func(line string) float64 {
		s, _, _ := strings.Cut(strings.TrimPrefix(line, "["), "]")
		v, _ := strconv.ParseFloat(s, 64)
		return v
	}
	var out []time.Duration
	prev, at := start, 0
	for _, p := range phases {
		t := end
		if p.marker != "" {
			found := false
			for ; at < len(lines); at++ {
				if strings.Contains(lines[at], p.marker) {
					t, found = stamp(lines[at]), true
					if strings.Contains(p.marker, "started at ") {
						// The init's own stamp from before it read the config.
						_, inner, _ := strings.Cut(lines[at], "started at ")
						t = stamp(inner)
					}
					at++
					break
				}
			}
			if !found {
				return nil, false
			}
		}
		out = append(out, time.Duration((t-prev)*float64(time.Millisecond)))
		prev = t
	}
	out = append(out, time.Duration((end-start)*float64(time.Millisecond)))
	return out, true
}

func monotonicMS() float64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return float64(ts.Sec)*1000 + float64(ts.Nsec)/1e6
}

// medianOf is the median of phase p (-1: the total) as "1.23 ms".
func medianOf(runs [][]time.Duration, p int) string {
	if len(runs) == 0 {
		return "-"
	}
	var d []time.Duration
	for _, r := range runs {
		if p < 0 {
			d = append(d, r[len(r)-1])
		} else {
			d = append(d, r[p])
		}
	}
	return fmt.Sprintf("%.2f ms", ms(median(d)))
}

// packageInit is the median sum of GODEBUG=inittrace=1's package init
// times for `pbox --version`: what every Go start of pbox pays.
func packageInit(pbox string, rounds int) string {
	var sums []time.Duration
	for i := 0; i < rounds; i++ {
		cmd := exec.Command(pbox, "--version")
		cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if cmd.Run() != nil {
			continue
		}
		var sum float64
		for _, line := range strings.Split(stderr.String(), "\n") {
			// init PKG @T ms, D ms clock, ...
			if f := strings.Fields(line); len(f) > 6 && f[0] == "init" && f[6] == "clock," {
				v, _ := strconv.ParseFloat(f[4], 64)
				sum += v
			}
		}
		sums = append(sums, time.Duration(sum*float64(time.Millisecond)))
	}
	if len(sums) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f ms", ms(median(sums)))
}

// detachedPSS reports what a detached box costs in pbox's own processes:
// the proportional set size of its init and its monitor, idle.
func detachedPSS(bins map[string]string, order []string) {
	fmt.Println("What an idle detached box costs in pbox's own processes (PSS, smaps_rollup; two boxes at once, so shared pages are split)")
	for _, name := range order {
		root, err := os.MkdirTemp("", "pbox-bench-root")
		check(err)
		var ids []string
		for i := 0; i < 2; i++ {
			id := fmt.Sprintf("bench-pss-%d", i)
			if out, err := exec.Command(bins[name], "--root", root, "run", "-d", "--name", id, "--cgroup-parent", "pbox-bench", "--", "sleep", "60").CombinedOutput(); err != nil {
				fmt.Printf("  %s: run -d: %v %s\n", name, err, out)
				continue
			}
			ids = append(ids, id)
		}
		time.Sleep(time.Second) // the monitor hands over once the box runs
		for _, id := range ids {
			var rec struct{ Pid, Monitor int }
			data, _ := os.ReadFile(filepath.Join(root, id, "state.json"))
			json.Unmarshal(data, &rec)
			fmt.Printf("  %-10s %s: init %s, monitor %s\n", name, id, pss(rec.Pid), pss(rec.Monitor))
		}
		for _, id := range ids {
			exec.Command(bins[name], "--root", root, "rm", "-f", id).Run()
		}
		os.RemoveAll(root)
	}
}

func pss(pid int) string {
	if pid <= 1 {
		return "-"
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return "gone"
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			fields[f[0]] = f[1]
		}
	}
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	threads := ""
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			threads = strings.TrimSpace(v)
		}
	}
	return fmt.Sprintf("PSS %s kB (RSS %s kB, %s thread(s))", fields["Pss:"], fields["Rss:"], threads)
}
