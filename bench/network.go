package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// networkRows times pbox run with the host's network, --network none and
// --network bridge, side by side, inside a network namespace the bench
// makes (which plays the host: the bridge and NAT rules live only there),
// and the CNI plugins' own ADD and DEL as pbox -v reports them.
func networkRows(pbox string, rounds int) {
	fmt.Printf("Networks: start to exit of `true` inside a network namespace of the bench's (%d rounds, -v on every row)\n", rounds)
	if _, err := exec.LookPath("ip"); err != nil {
		fmt.Println("  (left out: no ip(8))")
		return
	}
	ns := fmt.Sprintf("pbox-bench-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		fmt.Printf("  (left out: ip netns add: %v %s)\n", err, out)
		return
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	exec.Command("ip", "-n", ns, "link", "set", "lo", "up").Run()
	root, err := os.MkdirTemp("", "pbox-bench-root")
	check(err)
	defer os.RemoveAll(root)
	trueBin, _ := exec.LookPath("true")
	variants := []struct{ name, network string }{
		{"pbox run -- true (the host's network)", ""},
		{"pbox run --network none -- true", "none"},
		{"pbox run --network bridge -- true", "bridge"},
	}
	times := make([][]time.Duration, len(variants))
	var adds, dels []time.Duration
	addRe := regexp.MustCompile(`network: ADD took ([0-9.]+) ms`)
	delRe := regexp.MustCompile(`network: DEL took ([0-9.]+) ms`)
	for i := 0; i < rounds; i++ {
		for v, variant := range variants {
			args := []string{"--net=/run/netns/" + ns, pbox, "--root", root, "run", "-v", "--cgroup-parent", "pbox-bench"}
			if variant.network != "" {
				args = append(args, "--network", variant.network)
			}
			cmd := exec.Command("nsenter", append(args, "--", trueBin)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			if err := cmd.Run(); err != nil {
				fmt.Printf("  %s: %v\n%s", variant.name, err, stderr.String())
				return
			}
			times[v] = append(times[v], time.Since(start))
			if m := addRe.FindStringSubmatch(stderr.String()); m != nil {
				adds = append(adds, msDuration(m[1]))
			}
			if m := delRe.FindStringSubmatch(stderr.String()); m != nil {
				dels = append(dels, msDuration(m[1]))
			}
		}
	}
	base := median(times[0])
	fmt.Printf("  %-55s %12s %14s\n", "command", "median", "vs host's net")
	for v, variant := range variants {
		m := median(times[v])
		fmt.Printf("  %-55s %9.2f ms %13.2fx\n", variant.name, ms(m), float64(m)/float64(base))
	}
	none, bridge := median(times[1]), median(times[2])
	fmt.Printf("  --network none adds %.2f ms to the host's network\n", ms(none-base))
	if len(adds) > 0 && len(dels) > 0 {
		add, del := median(adds), median(dels)
		fmt.Printf("  the CNI plugins (bridge + host-local, portmap), as pbox ran them: ADD %.2f ms, DEL %.2f ms\n", ms(add), ms(del))
		fmt.Printf("  --network bridge adds %.2f ms beyond --network none, of which the plugins' ADD and DEL are %.2f ms: pbox's own share %.2f ms\n",
			ms(bridge-none), ms(add+del), ms(bridge-none-add-del))
	}
}

func msDuration(s string) time.Duration {
	v, _ := strconv.ParseFloat(s, 64)
	return time.Duration(v * float64(time.Millisecond))
}
