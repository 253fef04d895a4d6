package inspect

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// Status is what pbox uses from /proc/<pid>/status.
type Status struct {
	Name       string
	State      string // "S (sleeping)"
	PPid       int
	Tgid       int
	NSpid      []int // outermost namespace first
	NStgid     []int
	NSpgid     []int
	NSsid      []int
	Uid, Gid   []int // real, effective, saved, filesystem
	CapEff     uint64
	NoNewPrivs bool
	Seccomp    int // 0 disabled, 1 strict, 2 filter
	// SeccompFilters is how many filters are attached (Linux 5.9+).
	SeccompFilters int
	SigCgt         uint64
	SigIgn         uint64
	SigBlk         uint64 // of the main thread
	Threads        int
	Kthread        bool
}

// ParseStatus reads /proc/<pid>/status. Fields it does not know are
// skipped; a malformed number is an error naming the field.
func ParseStatus(r io.Reader) (Status, error) {
	var s Status
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		var err error
		switch key {
		case "Name":
			s.Name = val
		case "State":
			s.State = val
		case "PPid":
			s.PPid, err = strconv.Atoi(val)
		case "Tgid":
			s.Tgid, err = strconv.Atoi(val)
		case "NSpid":
			s.NSpid, err = ints(val)
		case "NStgid":
			s.NStgid, err = ints(val)
		case "NSpgid":
			s.NSpgid, err = ints(val)
		case "NSsid":
			s.NSsid, err = ints(val)
		case "Uid":
			s.Uid, err = ints(val)
		case "Gid":
			s.Gid, err = ints(val)
		case "CapEff":
			s.CapEff, err = strconv.ParseUint(val, 16, 64)
		case "NoNewPrivs":
			s.NoNewPrivs = val == "1"
		case "Seccomp":
			s.Seccomp, err = strconv.Atoi(val)
		case "Seccomp_filters":
			s.SeccompFilters, err = strconv.Atoi(val)
		case "SigCgt":
			s.SigCgt, err = strconv.ParseUint(val, 16, 64)
		case "SigIgn":
			s.SigIgn, err = strconv.ParseUint(val, 16, 64)
		case "SigBlk":
			s.SigBlk, err = strconv.ParseUint(val, 16, 64)
		case "Threads":
			s.Threads, err = strconv.Atoi(val)
		case "Kthread":
			s.Kthread = val == "1"
		}
		if err != nil {
			return s, fmt.Errorf("status field %s: %w", key, err)
		}
	}
	return s, sc.Err()
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// CgroupLine is one line of /proc/<pid>/cgroup: "hierarchy:controllers:path".
type CgroupLine struct {
	Hierarchy   int
	Controllers []string // empty for the cgroup2 line "0::"
	Path        string
}

// ParseCgroup reads /proc/<pid>/cgroup.
func ParseCgroup(r io.Reader) ([]CgroupLine, error) {
	var lines []CgroupLine
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), ":", 3)
		if len(f) != 3 {
			continue
		}
		h, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("cgroup line %q: %w", sc.Text(), err)
		}
		var ctrls []string
		if f[1] != "" {
			ctrls = strings.Split(f[1], ",")
		}
		lines = append(lines, CgroupLine{Hierarchy: h, Controllers: ctrls, Path: f[2]})
	}
	return lines, sc.Err()
}

// ParseIDMap reads /proc/<pid>/uid_map or gid_map into lines of three
// numbers: first id inside, first id outside, count.
func ParseIDMap(r io.Reader) ([][3]int64, error) {
	var out [][3]int64
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue
		}
		var m [3]int64
		for i := range f {
			n, err := strconv.ParseInt(f[i], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("id map line %q: %w", sc.Text(), err)
			}
			m[i] = n
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// ParseMountinfo reads /proc/<pid>/mountinfo (through moby/sys/mountinfo).
func ParseMountinfo(r io.Reader) ([]*mountinfo.Info, error) {
	return mountinfo.GetMountsFromReader(r, nil)
}

// ParseKV reads "key value" files (memory.events, cpu.stat, ...).
func ParseKV(r io.Reader) (map[string]uint64, error) {
	out := map[string]uint64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		if n, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			out[f[0]] = n
		}
	}
	return out, sc.Err()
}

// NetDevBytes is one interface's counters in /proc/PID/net/dev.
type NetDevBytes struct {
	Name             string
	RxBytes, TxBytes uint64
}

// ParseNetDev reads /proc/PID/net/dev (the counters of the network
// namespace PID is in): two header lines, then "NAME: rx_bytes rx_packets
// ... (8 receive fields) tx_bytes ...".
func ParseNetDev(r io.Reader) ([]NetDevBytes, error) {
	var out []NetDevBytes
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue // a header line
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			return nil, fmt.Errorf("net/dev: %q: want 16 counters", sc.Text())
		}
		rx, err1 := strconv.ParseUint(f[0], 10, 64)
		tx, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("net/dev: %q: counters are not numbers", sc.Text())
		}
		out = append(out, NetDevBytes{Name: strings.TrimSpace(name), RxBytes: rx, TxBytes: tx})
	}
	return out, sc.Err()
}
