package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "orphans" {
		makeOrphans(os.Args[2])
		return
	}
	rounds := flag.Int("n", 200, "rounds per start-up row")
	orphans := flag.Int("orphans", 10000, "orphans for the reaping row")
	pbox := flag.String("pbox", "", "pbox binary (default: build ./cmd/pbox)")
	procs := flag.Int("procs", 1000, "processes in the box for the inspect row")
	before := flag.String("before", "", "an earlier pbox binary: its start-up rows run side by side with this one's")
	startOnly := flag.Bool("start-only", false, "only the start-up, OCI lifecycle and exec rows, the breakdown and the detached box's cost")
	breakdownOnly := flag.Bool("breakdown", false, "only where the time of a start goes, and what a detached box costs")
	networkOnly := flag.Bool("network", false, "only the network rows (host, none, bridge; the CNI plugins' ADD and DEL)")
	criOnly := flag.Bool("cri", false, "only the CRI row: a pod to RUNNING through containerd, pbox against runc")
	flag.StringVar(&breakdownArgs, "breakdown-args", "", "extra pbox run flags for the breakdown, e.g. \"--memory 64M --pids-limit 100\"")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: needs root (namespaces, cgroups): sudo go run ./bench")
		os.Exit(2)
	}
	work, err := os.MkdirTemp("", "pbox-bench")
	check(err)
	defer os.RemoveAll(work)
	if *pbox == "" {
		*pbox = filepath.Join(work, "pbox")
		build := exec.Command("go", "build", "-o", *pbox, "./cmd/pbox")
		build.Env = append(os.Environ(), "CGO_ENABLED=0") // as the README builds it
		out, err := build.CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: go build: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	bins, order := map[string]string{"now": *pbox}, []string{"now"}
	if *before != "" {
		bins["before"], order = *before, append(order, "before")
	}
	if *criOnly {
		criRows(*pbox, *rounds)
		return
	}
	if *networkOnly {
		networkRows(*pbox, *rounds)
		return
	}
	if *breakdownOnly {
		breakdown(bins, order, *rounds)
		fmt.Println()
		detachedPSS(bins, order)
		return
	}
	trueBin, _ := exec.LookPath("true")
	fmt.Printf("pbox benchmark, %s, %d rounds per row, rows interleaved\n\n", time.Now().Format("2006-01-02 15:04"), *rounds)

	startRows := []row{
		{name: "exec true (no isolation)", argv: []string{trueBin}},
		{name: "unshare --pid --fork --mount --uts --mount-proc true", argv: []string{"unshare", "--pid", "--fork", "--mount", "--uts", "--mount-proc", trueBin}, base: true},
		{name: "pbox run -- true", argv: []string{*pbox, "run", "--cgroup-parent", "pbox-bench", "--", trueBin}},
		{name: "pbox run --memory 64M --pids-limit 100 -- true", argv: []string{*pbox, "run", "--cgroup-parent", "pbox-bench", "--memory", "64M", "--pids-limit", "100", "--", trueBin}},
		{name: "unshare ... + tini as PID 1", argv: []string{"unshare", "--pid", "--fork", "--mount", "--uts", "--mount-proc", "tini", "-s", "--", trueBin}, needs: "tini"},
		{name: "bwrap --unshare-pid --unshare-uts --proc --dev", argv: []string{"bwrap", "--bind", "/", "/", "--unshare-pid", "--unshare-uts", "--proc", "/proc", "--dev", "/dev", trueBin}, needs: "bwrap"},
		// The floor of any pbox written in Go: its runtime's start and its
		// package initialisation, with no box at all.
		{name: "pbox --version (no box: Go start + package init)", argv: []string{*pbox, "--version"}},
	}
	if empty, err := emptyGoProgram(work); err == nil {
		startRows = append(startRows, row{name: "an empty Go program (func main() {})", argv: []string{empty}})
	}
	if minimal, err := goBuild(work, "minimalinit", "./bench/minimalinit"); err == nil {
		startRows = append(startRows, row{name: minimalInitRow, argv: []string{minimal, trueBin}})
	} else {
		fmt.Printf("(minimal Go re-exec init left out: %v)\n", err)
	}
	if *before != "" {
		startRows = append(startRows,
			row{name: "pbox (before) run -- true", argv: []string{*before, "run", "--cgroup-parent", "pbox-bench", "--", trueBin}},
			row{name: "pbox (before) run --memory 64M --pids-limit 100 -- true", argv: []string{*before, "run", "--cgroup-parent", "pbox-bench", "--memory", "64M", "--pids-limit", "100", "--", trueBin}})
	}
	if bundle, err := busyboxBundle(work); err == nil {
		rootfs := filepath.Join(bundle, "rootfs")
		startRows = append(startRows,
			row{name: "pbox run --rootfs (busybox) -- /bin/true", argv: []string{*pbox, "run", "--cgroup-parent", "pbox-bench", "--rootfs", rootfs, "--", "/bin/true"}},
			row{name: "pbox run --rootfs --ns pid,mnt,uts,ipc,net (as runc)", argv: []string{*pbox, "run", "--cgroup-parent", "pbox-bench", "--rootfs", rootfs, "--ns", "pid,mnt,uts,ipc,net", "--", "/bin/true"}})
		if *before != "" {
			startRows = append(startRows,
				row{name: "pbox (before) run --rootfs (busybox) -- /bin/true", argv: []string{*before, "run", "--cgroup-parent", "pbox-bench", "--rootfs", rootfs, "--", "/bin/true"}})
		}
		startRows = append(startRows,
			row{name: "pbox run --rootfs, seccomp=unconfined", argv: []string{*pbox, "run", "--cgroup-parent", "pbox-bench", "--rootfs", rootfs, "--security-opt", "seccomp=unconfined", "--", "/bin/true"}})
		for _, rt := range []string{"runc", "crun"} {
			startRows = append(startRows, row{name: rt + " run (busybox bundle, true)", argv: []string{rt, "--root", filepath.Join(work, rt+"-state"), "run", "--bundle", bundle, "bench-" + rt}, needs: rt})
		}
		// crun refuses a hybrid host ("cgroups in hybrid mode not
		// supported"); in a mount namespace of its own without the cgroup2
		// tree it runs as on a v1 host. The wrapper's own cost is measured
		// on `true` and subtracted below.
		if _, err := os.Stat("/sys/fs/cgroup/unified"); err == nil {
			wrap := func(cmd string) []string {
				return []string{"unshare", "--mount", "--propagation", "private", "sh", "-c", "umount /sys/fs/cgroup/unified && exec " + cmd}
			}
			startRows = append(startRows,
				row{name: "crun run, in a mount ns without cgroup2 (wrapped)", argv: wrap("crun --root " + filepath.Join(work, "crun-state") + " run --bundle " + bundle + " bench-crun-w"), needs: "crun"},
				row{name: "the same wrapper around true", argv: wrap(trueBin), needs: "crun"})
		}
	} else {
		fmt.Printf("(runc/crun rows left out: %v)\n", err)
	}
	startRows = measure(available(startRows), *rounds)
	printTable("Start to exit of `true`", startRows)
	var plain, limited, plainBefore, limitedBefore time.Duration
	for _, r := range startRows {
		switch {
		case strings.HasPrefix(r.name, "pbox run -- "):
			plain = median(r.times)
		case strings.HasPrefix(r.name, "pbox run --memory"):
			limited = median(r.times)
		case strings.HasPrefix(r.name, "pbox (before) run -- "):
			plainBefore = median(r.times)
		case strings.HasPrefix(r.name, "pbox (before) run --memory"):
			limitedBefore = median(r.times)
		}
	}
	if plain > 0 && limited > 0 {
		fmt.Printf("  limits (--memory, --pids-limit) add %.2f ms to pbox run", float64((limited-plain).Microseconds())/1000)
		if plainBefore > 0 && limitedBefore > 0 {
			fmt.Printf(" (before: %.2f ms)", float64((limitedBefore-plainBefore).Microseconds())/1000)
		}
		fmt.Println()
	}
	med := map[string]time.Duration{}
	for _, r := range startRows {
		med[r.name] = median(r.times)
	}
	if m, p := med[minimalInitRow], med["pbox run -- true"]; m > 0 && p > 0 {
		fmt.Printf("  pbox run -- true / the minimal Go re-exec init: %.2fx\n", float64(p)/float64(m))
	}
	if w, c := med["crun run, in a mount ns without cgroup2 (wrapped)"], med["the same wrapper around true"]; w > 0 && c > 0 {
		crun := w - c
		fmt.Printf("  crun run, net of the wrapper: %.2f ms\n", float64(crun.Microseconds())/1000)
		if p := med["pbox run --rootfs (busybox) -- /bin/true"]; p > 0 {
			fmt.Printf("  pbox run --rootfs / crun run: %.2fx\n", float64(p)/float64(crun))
		}
	}
	if b, a := med["pbox (before) run --rootfs (busybox) -- /bin/true"], med["pbox run --rootfs (busybox) -- /bin/true"]; b > 0 && a > 0 {
		fmt.Printf("  pbox run --rootfs: %.2f ms now, %.2f ms before (%+.2f ms)\n", ms(a), ms(b), ms(a)-ms(b))
	}
	// The rest, one table after another; -start-only stops before the
	// CRI, reaping, idle memory and inspect rows.
	sections := []func(){
		func() { lifecycleRows(*pbox, *before, work, *rounds/4) },
		func() { execRows(*pbox, *before, *rounds) },
		func() { breakdown(bins, order, *rounds/2) },
		func() { detachedPSS(bins, order) },
		func() { networkRows(*pbox, *rounds/4) },
	}
	if !*startOnly {
		sections = append(sections,
			func() { criRows(*pbox, *rounds/10) },
			func() { reapRows(*pbox, *orphans) },
			func() { idleRSS(*pbox) },
			func() { inspectRows(*pbox, *procs, 20) })
	}
	for _, section := range sections {
		fmt.Println()
		section()
	}
}

// inspectRows times `pbox inspect --json` on a box of n processes against
// what a user would run instead: lsns -J and ps -e, one after the other.
func inspectRows(pbox string, n, rounds int) {
	cmd := exec.Command(pbox, "run", "--cgroup-parent", "pbox-bench", "--", "sh", "-c",
		fmt.Sprintf("i=1; while [ $i -lt %d ]; do sleep 1000 & i=$((i+1)); done; echo ready; wait", n))
	out, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	defer func() {
		if cmd.Process.Pid > 1 {
			cmd.Process.Signal(syscall.SIGKILL) // the box dies with pbox
		}
		cmd.Wait()
		// A SIGKILLed pbox leaves the box's empty cgroup: sweep it.
		exec.Command(pbox, "cleanup", "--cgroup-parent", "pbox-bench").Run()
	}()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
		fmt.Printf("inspect row left out: the %d-process box did not start (%v)\n", n, err)
		return
	}
	time.Sleep(200 * time.Millisecond)
	target := findChild(cmd.Process.Pid, "sleep", 3)
	if target == 0 {
		fmt.Println("inspect row left out: no sleep found in the box")
		return
	}
	rows := []row{
		{name: fmt.Sprintf("pbox inspect --json (box of %d processes)", n), argv: []string{pbox, "inspect", "--json", strconv.Itoa(target)}},
		{name: "lsns -J", argv: []string{"lsns", "-J"}, base: true},
		{name: "ps -e", argv: []string{"ps", "-e"}},
	}
	rows = measure(available(rows), rounds)
	var both time.Duration
	for _, r := range rows {
		if r.name == "lsns -J" || r.name == "ps -e" {
			both += median(r.times)
		}
	}
	fmt.Printf("Inspecting a box of %d processes (%d rounds)\n", n, rounds)
	fmt.Printf("  %-55s %12s %20s\n", "command", "median", "vs lsns -J + ps -e")
	for _, r := range rows {
		m := median(r.times)
		fmt.Printf("  %-55s %9.2f ms %19.2fx\n", r.name, float64(m.Microseconds())/1000, float64(m)/float64(both))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type row struct {
	name  string
	argv  []string
	needs string
	base  bool // the row the ratios are against
	times []time.Duration
}

func available(rows []row) []row {
	var out []row
	for _, r := range rows {
		tool := r.needs
		if tool == "" {
			tool = r.argv[0]
		}
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Printf("(%s left out: %s not installed)\n", r.name, tool)
			continue
		}
		out = append(out, r)
	}
	return out
}

// measure runs every row once per round, in turn, so that the machine's
// slow moments hit all rows alike. syscall.ForkExec avoids os/exec's own
// pidfd probe, which would be counted against every row. A row whose
// command fails on this host is left out, with its own words.
func measure(rows []row, rounds int) []row {
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	check(err)
	defer devnull.Close()
	var ok []row
	for _, r := range rows {
		out, err := exec.Command(r.argv[0], r.argv[1:]...).CombinedOutput() // also warms caches
		if err != nil {
			fmt.Printf("(%s left out: %v: %s)\n", r.name, err, strings.TrimSpace(string(out)))
			continue
		}
		path, err := exec.LookPath(r.argv[0])
		check(err)
		r.argv[0] = path
		ok = append(ok, r)
	}
	rows = ok
	for n := 0; n < rounds; n++ {
		for i := range rows {
			start := time.Now()
			if ws := run(rows[i].argv, devnull); ws.ExitStatus() != 0 {
				fmt.Fprintf(os.Stderr, "bench: %s exited %d\n", rows[i].name, ws.ExitStatus())
			}
			rows[i].times = append(rows[i].times, time.Since(start))
		}
	}
	return rows
}

func run(argv []string, devnull *os.File) syscall.WaitStatus {
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{
		Env: os.Environ(), Files: []uintptr{devnull.Fd(), devnull.Fd(), devnull.Fd()},
	})
	check(err)
	var ws syscall.WaitStatus
	for {
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
			return ws
		}
	}
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func printTable(title string, rows []row) {
	var base time.Duration
	for _, r := range rows {
		if r.base {
			base = median(r.times)
		}
	}
	fmt.Printf("%s\n", title)
	fmt.Printf("  %-55s %12s %14s\n", "command", "median", "vs unshare")
	for _, r := range rows {
		m := median(r.times)
		fmt.Printf("  %-55s %9.2f ms %13.2fx\n", r.name, float64(m.Microseconds())/1000, float64(m)/float64(base))
	}
}

// busyboxBundle makes an OCI bundle whose rootfs is the host's static
// busybox, for runc and crun (they need a root filesystem).
func busyboxBundle(work string) (string, error) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return "", fmt.Errorf("no busybox (apt-get install busybox-static)")
	}
	bundle := filepath.Join(work, "bundle")
	bin := filepath.Join(bundle, "rootfs", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755); err != nil {
		return "", err
	}
	for _, app := range []string{"true", "sh"} {
		os.Symlink("busybox", filepath.Join(bin, app))
	}
	for _, d := range []string{"proc", "dev", "sys", "tmp"} {
		os.MkdirAll(filepath.Join(bundle, "rootfs", d), 0o755)
	}
	rt := "runc"
	if _, err := exec.LookPath(rt); err != nil {
		rt = "crun"
	}
	cmd := exec.Command(rt, "spec")
	cmd.Dir = bundle
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s spec: %v %s", rt, err, out)
	}
	cfg := filepath.Join(bundle, "config.json")
	spec, err := os.ReadFile(cfg)
	if err != nil {
		return "", err
	}
	s := strings.Replace(string(spec), `"terminal": true`, `"terminal": false`, 1)
	s = strings.Replace(s, `"sh"`, `"/bin/true"`, 1)
	return bundle, os.WriteFile(cfg, []byte(s), 0o644)
}

// makeOrphans starts n sleeps and exits without waiting: every one of
// them is reparented to PID 1 of the box, which has to reap it.
func makeOrphans(arg string) {
	n, _ := strconv.Atoi(arg)
	sleep, err := exec.LookPath("sleep")
	check(err)
	for i := 0; i < n; i++ {
		if _, err := syscall.ForkExec(sleep, []string{"sleep", "1"}, &syscall.ProcAttr{}); err != nil {
			fmt.Fprintf(os.Stderr, "orphans: %d of %d: %v\n", i, n, err)
			os.Exit(1)
		}
	}
}

// reapRows has PID 1 reap n orphans and reports its CPU time for it (from
// /proc/1/schedstat, in ns, read inside the box before and after) and the
// zombies left.
func reapRows(pbox string, n int) {
	self, err := os.Executable()
	check(err)
	script := fmt.Sprintf(`read a b c < /proc/1/schedstat
%s orphans %d
sleep 3
read d e f < /proc/1/schedstat
echo "$((d - a)) $(grep -l '^State:.Z' /proc/[0-9]*/status 2>/dev/null | wc -l)"`, self, n)
	type reaper struct {
		name string
		argv []string
	}
	reapers := []reaper{{"pbox-init (pbox run)", []string{pbox, "run", "--cgroup-parent", "pbox-bench", "--", "sh", "-c", script}}}
	if _, err := exec.LookPath("tini"); err == nil {
		reapers = append(reapers, reaper{"tini (unshare ... tini -s)", []string{"unshare", "--pid", "--fork", "--mount-proc", "tini", "-s", "--", "sh", "-c", script}})
	}
	if _, err := exec.LookPath("dumb-init"); err == nil {
		reapers = append(reapers, reaper{"dumb-init (unshare ... dumb-init)", []string{"unshare", "--pid", "--fork", "--mount-proc", "dumb-init", "sh", "-c", script}})
	}
	fmt.Printf("Reaping %d orphans reparented to PID 1 (median of 3)\n", n)
	fmt.Printf("  %-40s %16s %14s %8s\n", "PID 1", "CPU time of PID 1", "vs tini", "zombies")
	var tini time.Duration
	type res struct {
		cpu     time.Duration
		zombies string
	}
	results := map[string]res{}
	for _, r := range reapers {
		var cpus []time.Duration
		var zombies string
		for i := 0; i < 3; i++ {
			out, err := exec.Command(r.argv[0], r.argv[1:]...).Output()
			f := strings.Fields(string(out))
			if err != nil || len(f) != 2 {
				fmt.Printf("  %-40s failed: %v %q\n", r.name, err, out)
				break
			}
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			cpus = append(cpus, time.Duration(ns))
			zombies = f[1]
		}
		if len(cpus) == 0 {
			continue
		}
		results[r.name] = res{median(cpus), zombies}
		if strings.HasPrefix(r.name, "tini") {
			tini = median(cpus)
		}
	}
	for _, r := range reapers {
		x, ok := results[r.name]
		if !ok {
			continue
		}
		ratio := "-"
		if tini > 0 {
			ratio = fmt.Sprintf("%.2fx", float64(x.cpu)/float64(tini))
		}
		fmt.Printf("  %-40s %13.2f ms %14s %8s\n", r.name, float64(x.cpu.Microseconds())/1000, ratio, x.zombies)
	}
}

// idleRSS reports the resident memory of an idle PID 1.
func idleRSS(pbox string) {
	fmt.Println("Idle resident memory of PID 1 (VmRSS; RssAnon is what is not shared with the binary's file pages)")
	measureRSS := func(name string, argv []string, match string) {
		cmd := exec.Command(argv[0], argv[1:]...)
		check(cmd.Start())
		defer func() {
			if cmd.Process.Pid > 1 {
				cmd.Process.Signal(syscall.SIGTERM)
			}
			cmd.Wait()
		}()
		time.Sleep(500 * time.Millisecond)
		pid := findChild(cmd.Process.Pid, match, 3)
		if pid == 0 {
			fmt.Printf("  %-40s not found\n", name)
			return
		}
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmRSS:") || strings.HasPrefix(line, "RssAnon:") || strings.HasPrefix(line, "Threads:") {
				name += "  " + strings.Join(strings.Fields(line), " ")
			}
		}
		fmt.Printf("  %s\n", name)
	}
	measureRSS("pbox-init", []string{pbox, "run", "--cgroup-parent", "pbox-bench", "--", "sleep", "5"}, "pbox-init")
	if _, err := exec.LookPath("tini"); err == nil {
		measureRSS("tini", []string{"unshare", "--pid", "--fork", "--mount-proc", "tini", "-s", "--", "sleep", "5"}, "tini")
	}
}

// findChild looks up to depth levels below pid for a process named comm.
// Children hang off the thread that forked them, so read every task's list.
func findChild(pid int, comm string, depth int) int {
	if depth < 0 {
		return 0
	}
	lists, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var data []byte
	for _, l := range lists {
		b, _ := os.ReadFile(l)
		data = append(append(data, ' '), b...)
	}
	for _, f := range strings.Fields(string(data)) {
		c, _ := strconv.Atoi(f)
		name, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c))
		if strings.TrimSpace(string(name)) == comm {
			return c
		}
		if found := findChild(c, comm, depth-1); found != 0 {
			return found
		}
	}
	return 0
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// minimalInitRow is the yardstick of issue 22 (bench/minimalinit).
const minimalInitRow = "minimal Go re-exec init (two Go starts, private /proc, reap, forward)"

// goBuild builds the package at pkg (a path in this module) into work, as
// pbox is built.
func goBuild(work, name, pkg string) (string, error) {
	bin := filepath.Join(work, name)
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, out)
	}
	return bin, nil
}

// emptyGoProgram builds `func main() {}` into work, as pbox is built.
func emptyGoProgram(work string) (string, error) {
	dir := filepath.Join(work, "empty")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "empty")
	cmd := exec.Command("go", "build", "-o", bin, "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, out)
	}
	return bin, nil
}
