package main

import (
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

// lifecycleRows times what containerd does for every container, with each
// runtime on the same bundle: create (with a pid file), start, wait for
// the process to exit, delete. The bundle is `runc spec`'s with /bin/true,
// no terminal, and without the two things pbox refuses (a cgroupfs mount
// and a device list), so every runtime does the same work.
func lifecycleRows(pbox, before, work string, rounds int) {
	bundle, err := busyboxBundle(filepath.Join(work, "lifecycle"))
	if err != nil {
		fmt.Printf("(lifecycle rows left out: %v)\n", err)
		return
	}
	cfgPath := filepath.Join(bundle, "config.json")
	var cfg map[string]any
	data, _ := os.ReadFile(cfgPath)
	check(json.Unmarshal(data, &cfg))
	var mounts []any
	for _, m := range cfg["mounts"].([]any) {
		if m.(map[string]any)["type"] != "cgroup" {
			mounts = append(mounts, m)
		}
	}
	cfg["mounts"] = mounts
	linux := cfg["linux"].(map[string]any)
	delete(linux, "resources")
	delete(linux, "cgroupsPath") // each runtime's default: <id> (runc), pbox/<id> (pbox)
	data, _ = json.Marshal(cfg)
	check(os.WriteFile(cfgPath, data, 0o644))

	type rt struct {
		name string
		bin  string
		ok   bool
		wrap bool // crun on a hybrid host: in a mount ns without cgroup2
	}
	runtimes := []*rt{{name: "pbox", bin: pbox}, {name: "runc"}, {name: "crun"}}
	if _, err := os.Stat("/sys/fs/cgroup/unified"); err == nil {
		// crun refuses a hybrid host; wrapped as in the start-up rows,
		// each of its three commands, and the wrapper's cost measured
		// alone (three times a round) to be subtracted.
		runtimes = append(runtimes, &rt{name: "crun (wrapped)", bin: "crun", wrap: true}, &rt{name: "3 wrappers around true", bin: "true", wrap: true})
	}
	command := func(r *rt, args ...string) *exec.Cmd {
		if !r.wrap {
			return exec.Command(r.bin, args...)
		}
		return exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", `umount /sys/fs/cgroup/unified && exec "$@"`, "sh", r.bin}, args...)...)
	}
	if before != "" {
		runtimes = append(runtimes, &rt{name: "pbox-before", bin: before})
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	check(err)
	defer devnull.Close()
	once := func(r *rt, i int) (time.Duration, error) {
		slug := strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(r.name)
		root := filepath.Join(work, slug+"-lifecycle")
		id := "lc-" + slug + "-" + strconv.Itoa(i+1)
		pidFile := filepath.Join(work, slug+".pid")
		start := time.Now()
		if r.bin == "true" {
			for range 3 {
				if err := command(r).Run(); err != nil {
					return 0, err
				}
			}
			return time.Since(start), nil
		}
		// The box keeps create's stdio (as containerd's pipes): give it
		// files, or waiting for create's output would wait for the box.
		errFile := filepath.Join(work, slug+".stderr")
		errOut, err := os.Create(errFile)
		if err != nil {
			return 0, err
		}
		cmd := command(r, "--root", root, "create", "--bundle", bundle, "--pid-file", pidFile, id)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, errOut
		err = cmd.Run()
		errOut.Close()
		if err != nil {
			msg, _ := os.ReadFile(errFile)
			return 0, fmt.Errorf("create: %v: %s", err, strings.TrimSpace(string(msg)))
		}
		pidData, _ := os.ReadFile(pidFile)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(pidData)))
		pidfd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			return 0, fmt.Errorf("pidfd_open %d: %v", pid, err)
		}
		if out, err := command(r, "--root", root, "start", id).CombinedOutput(); err != nil {
			unix.Close(pidfd)
			return 0, fmt.Errorf("start: %v: %s", err, out)
		}
		// A pidfd becomes readable when the process exits, child or not.
		unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, 5000)
		unix.Close(pidfd)
		if out, err := command(r, "--root", root, "delete", "--force", id).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("delete: %v: %s", err, out)
		}
		return time.Since(start), nil
	}
	var rows []row
	for _, r := range runtimes {
		if r.bin == "" {
			p, err := exec.LookPath(r.name)
			if err != nil {
				fmt.Printf("(%s left out: not installed)\n", r.name)
				continue
			}
			r.bin = p
		}
		if _, err := once(r, -1); err != nil {
			fmt.Printf("(%s left out: %v)\n", r.name, err)
			continue
		}
		r.ok = true
	}
	for _, r := range runtimes {
		if r.ok {
			rows = append(rows, row{name: r.name + " create+start+wait+delete", base: r.name == "pbox"})
		}
	}
	for n := 0; n < rounds; n++ {
		j := 0
		for _, r := range runtimes {
			if !r.ok {
				continue
			}
			d, err := once(r, n)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s: %v\n", r.name, err)
			}
			rows[j].times = append(rows[j].times, d)
			j++
		}
	}
	printTableVs("OCI lifecycle of `true` on one bundle (what containerd runs per container)", rows, "vs pbox")
	med := map[string]time.Duration{}
	for _, r := range rows {
		med[r.name] = median(r.times)
	}
	w, c, p := med["3 wrappers around true create+start+wait+delete"], med["crun (wrapped) create+start+wait+delete"], med["pbox create+start+wait+delete"]
	if w > 0 && c > w && p > 0 {
		fmt.Printf("  crun create+start+wait+delete, net of its 3 wrappers: %.2f ms; pbox / crun: %.2fx\n", ms(c-w), float64(p)/float64(c-w))
	}
}

// execRows times a new process in a running box: pbox exec against
// nsenter -a (every namespace of the target, nothing else).
func execRows(pbox, before string, rounds int) {
	root, err := os.MkdirTemp("", "pbox-bench-state")
	check(err)
	defer os.RemoveAll(root)
	out, err := exec.Command(pbox, "--root", root, "run", "-d", "--name", "bench-exec", "--cgroup-parent", "pbox-bench", "--", "sleep", "100000").CombinedOutput()
	if err != nil {
		fmt.Printf("(exec rows left out: %v %s)\n", err, out)
		return
	}
	defer exec.Command(pbox, "--root", root, "rm", "-f", "bench-exec").Run()
	data, _ := os.ReadFile(filepath.Join(root, "bench-exec", "state.json"))
	var rec struct{ Pid int }
	json.Unmarshal(data, &rec)
	trueBin := "/bin/true"
	all := []row{
		{name: "pbox exec BOX -- true", argv: []string{pbox, "--root", root, "exec", "bench-exec", "--", trueBin}},
		{name: "nsenter -a -t PID true", argv: []string{"nsenter", "-a", "-t", strconv.Itoa(rec.Pid), trueBin}, base: true},
	}
	if before != "" {
		all = append(all, row{name: "pbox (before) exec BOX -- true", argv: []string{before, "--root", root, "exec", "bench-exec", "--", trueBin}})
	}
	rows := available(all)
	rows = measure(rows, rounds)
	printTableVs("A new process in a running box", rows, "vs nsenter")
}

// printTableVs is printTable against the row marked base.
func printTableVs(title string, rows []row, vs string) {
	var base time.Duration
	for _, r := range rows {
		if r.base && len(r.times) > 0 {
			base = median(r.times)
		}
	}
	fmt.Printf("%s\n", title)
	fmt.Printf("  %-55s %12s %14s\n", "command", "median", vs)
	for _, r := range rows {
		if len(r.times) == 0 {
			continue
		}
		m := median(r.times)
		fmt.Printf("  %-55s %9.2f ms %13.2fx\n", r.name, float64(m.Microseconds())/1000, float64(m)/float64(base))
	}
}
