package inspect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/moby/sys/mountinfo"
	"github.com/pbox-dev/pbox/internal/osthread"
	"golang.org/x/sys/unix"
)

// NamespaceTypes are the namespaces compared, in display order.
var NamespaceTypes = []string{"pid", "mnt", "uts", "ipc", "net", "user", "cgroup", "time"}

// ErrNoProcess is returned (wrapped) when the pid does not exist.
var ErrNoProcess = errors.New("no process with pid")

// Options tell Collect about the host; zero values mean the usual places.
type Options struct {
	CgroupVersion string // "v1", "hybrid" or "v2": the caller detects it
	CgroupRoot    string // default /sys/fs/cgroup
	// Published are the box's published ports and their NAT rules, which
	// only the caller knows (pbox, from the box's state).
	Published []Published
	// CNICheck is the outcome of CNI CHECK for a box on a CNI network.
	CNICheck string
	// HostNetns is the network namespace the box's veth's other end is in
	// (where its CNI plugins ran); "" for the inspector's own.
	HostNetns string
	// Box is the box the process belongs to, if the caller found one.
	Box *BoxInfo
	// DeviceRules are the box's device cgroup rules in order, to say what
	// each node of its /dev allows; nil: not known (no pbox box).
	DeviceRules []DeviceRule
	// CPUWindow, if not 0, is how long to watch the box's CPU time for
	// Cgroup.CPUPercent (inspect --svg draws it against the quota).
	CPUWindow time.Duration
}

// maxArgsText bounds a process's Args.
const maxArgsText = 200

// collector reads /proc for one Collect call and remembers what failed.
type collector struct {
	opt   Options
	rep   *Report
	level int // index of the box's pid namespace in NSpid
	// cpuFile is where the box's CPU time is read (cgroupLimits).
	cpuFile string
}

// Collect reads everything about pid from the host's /proc and from the
// box's side. Only a missing process is an error: whatever else cannot be
// read (no root, the process exiting half-way) becomes a note.
func Collect(pid int, opt Options) (*Report, error) {
	if opt.CgroupRoot == "" {
		opt.CgroupRoot = "/sys/fs/cgroup"
	}
	st, err := readStatus(pid)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
			return nil, fmt.Errorf("%w %d", ErrNoProcess, pid)
		}
		return nil, err
	}
	c := &collector{opt: opt, rep: &Report{
		Pid: pid, NSpid: st.NSpid, NStgid: st.NStgid, NSpgid: st.NSpgid, NSsid: st.NSsid,
		State: st.State, Namespaces: map[string]NSInfo{},
		Cmdline: []string{}, Processes: []Process{}, Warnings: []string{}, Notes: []string{},
		Mounts: Mounts{OnlyInside: []string{}, OnlyOutside: []string{}},
		Cgroup: Cgroup{Version: opt.CgroupVersion, Limits: map[string]string{}, Usage: map[string]uint64{}},
	}}
	c.level = len(st.NSpid) - 1
	r := c.rep
	r.Comm = readTrimmed(pid, "comm")
	if data, err := os.ReadFile(procPath(pid, "cmdline")); err == nil {
		r.Cmdline = splitNUL(data)
	}
	c.reference()
	c.namespaces(pid)
	c.processes(pid, st)
	c.parent(st)
	c.pid1()
	c.ancestry()
	c.hostname(pid)
	c.network(pid)
	c.rep.Box = c.opt.Box
	c.cgroup(pid)
	c.cpuPercent()
	c.mounts(pid)
	if c.rep.Namespaces["mnt"].Isolated {
		c.devices(pid)
	}
	c.security(pid, st)
	c.warnings()
	if _, err := os.Stat(procPath(pid, "")); err != nil {
		c.note("process %d exited during inspection: what was read before is shown", pid)
	}
	return r, nil
}

func (c *collector) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	for _, old := range c.rep.Notes {
		if old == n {
			return
		}
	}
	c.rep.Notes = append(c.rep.Notes, n)
}

// noteErr records a failed read, saying when root would help.
func (c *collector) noteErr(what string, err error) {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EPERM) {
		c.note("%s: needs root (%v)", what, err)
		return
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		c.note("%s: gone while reading (%v)", what, err)
		return
	}
	c.note("%s: %v", what, err)
}

// reference picks the process whose namespaces are "the host's". PID 1
// is the natural choice, but it may be unreadable (a sandboxed PID 1);
// kernel threads always live in the initial namespaces, so kthreadd
// (pid 2) is next; last, the inspector itself.
func (c *collector) reference() {
	r := &c.rep.Reference
	if _, err := os.Readlink(procPath(1, "ns/pid")); err == nil {
		*r = Reference{Pid: 1, Comm: readTrimmed(1, "comm"), Why: "PID 1 of the host"}
		return
	}
	if st, err := readStatus(2); err == nil && st.Kthread && canReadNS(2) {
		*r = Reference{Pid: 2, Comm: st.Name, Why: "/proc/1/ns is not readable; kernel threads always live in the initial namespaces"}
		return
	}
	*r = Reference{Pid: os.Getpid(), Comm: readTrimmed(os.Getpid(), "comm"), Why: "neither PID 1 nor kthreadd can be read: pbox inspect's own namespaces stand for the host's"}
}

// canReadNS: pid's namespace links can be read (an ordinary user cannot
// read kthreadd's).
func canReadNS(pid int) bool {
	_, err := os.Readlink(procPath(pid, "ns/pid"))
	return err == nil
}

func (c *collector) namespaces(pid int) {
	ref := c.rep.Reference.Pid
	for _, t := range NamespaceTypes {
		ino, err := nsInode(pid, t)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) { // a kernel without that type
				c.noteErr("namespaces of "+strconv.Itoa(pid), err)
			}
			continue
		}
		host, err := nsInode(ref, t)
		if err != nil {
			c.noteErr("namespaces of the reference", err)
			continue
		}
		c.rep.Namespaces[t] = NSInfo{Inode: ino, HostInode: host, Isolated: ino != host}
	}
	for _, t := range []string{"pid", "time"} {
		ino, err := nsInode(pid, t+"_for_children")
		if err != nil {
			continue
		}
		if own, ok := c.rep.Namespaces[t]; ok && own.Inode != ino {
			if c.rep.ForChildren == nil {
				c.rep.ForChildren = map[string]NSInfo{}
			}
			host, _ := nsInode(ref, t)
			c.rep.ForChildren[t] = NSInfo{Inode: ino, HostInode: host, Isolated: ino != host}
		}
	}
}

// processes finds every process in the target's PID namespace by scanning
// the host's /proc: NSpid gives each one's pid on both sides.
func (c *collector) processes(pid int, st Status) {
	own := c.rep.Namespaces["pid"]
	if own.Inode == 0 || !own.Isolated {
		c.rep.Processes = []Process{{Pid: pid, NSpid: st.NSpid, PPid: st.PPid, Comm: st.Name, State: stateLetter(st.State), Args: argsText(pid)}}
		return
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		c.noteErr("list /proc", err)
		return
	}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ino, err := nsInode(p, "pid")
		if err != nil || ino != own.Inode {
			continue // another namespace, or gone since the listing
		}
		ps, err := readStatus(p)
		if err != nil {
			continue
		}
		c.rep.Processes = append(c.rep.Processes, Process{Pid: p, NSpid: ps.NSpid, PPid: ps.PPid, Comm: ps.Name, State: stateLetter(ps.State), Args: argsText(p)})
	}
	sort.Slice(c.rep.Processes, func(i, j int) bool { return c.insidePid(c.rep.Processes[i]) < c.insidePid(c.rep.Processes[j]) })

	// What ps inside the box would list: its /proc, seen through its root.
	boxProc, err := os.ReadDir(procPath(pid, "root/proc"))
	if err != nil {
		c.noteErr("the box's /proc", err)
		return
	}
	n := 0
	for _, e := range boxProc {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			n++
		}
	}
	c.rep.BoxProcCount = n
	if n != len(c.rep.Processes) && n > len(c.rep.Processes)+5 {
		c.rep.Warnings = append(c.rep.Warnings, fmt.Sprintf(
			"the box's /proc lists %d processes, its PID namespace has %d: it still shows another namespace's /proc (mount a fresh proc inside, as pbox run does)", n, len(c.rep.Processes)))
	}
}

// insidePid is p's pid in the box's namespace.
func (c *collector) insidePid(p Process) int {
	if c.level < len(p.NSpid) {
		return p.NSpid[c.level]
	}
	return 0
}

func (c *collector) byHostPid(pid int) (Process, bool) {
	for _, p := range c.rep.Processes {
		if p.Pid == pid {
			return p, true
		}
	}
	return Process{}, false
}

func (c *collector) parent(st Status) {
	par := Parent{Pid: st.PPid}
	if st.PPid > 0 {
		par.Comm = readTrimmed(st.PPid, "comm")
	}
	if p, ok := c.byHostPid(st.PPid); ok {
		par.InsidePid = c.insidePid(p)
	}
	c.rep.Parent = par
}

// knownInits are programs built to be PID 1 of a container.
var knownInits = map[string]bool{
	"tini": true, "tini-static": true, "dumb-init": true, "catatonit": true, "docker-init": true,
	"s6-svscan": true, "runit": true, "systemd": true, "init": true, "supervisord": true,
}

// ancestry walks from the box's topmost process up to the host's PID 1,
// for the tree and the picture: where the box hangs on the host.
func (c *collector) ancestry() {
	top := 0
	if roots, _ := c.rep.tree(); len(roots) > 0 {
		top = roots[0].PPid
	}
	var chain []Process
	for pid := top; pid > 0 && len(chain) < 32; {
		st, err := readStatus(pid)
		if err != nil {
			break
		}
		chain = append(chain, Process{Pid: pid, NSpid: st.NSpid, PPid: st.PPid, Comm: st.Name, State: stateLetter(st.State)})
		pid = st.PPid
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	c.rep.Ancestry = chain
}

func (c *collector) pid1() {
	if !c.rep.Namespaces["pid"].Isolated {
		c.rep.PID1 = PID1{Pid: 1, Comm: readTrimmed(1, "comm"), Kind: "host init"}
		return
	}
	for _, p := range c.rep.Processes {
		if c.insidePid(p) != 1 {
			continue
		}
		one := PID1{Pid: p.Pid, Comm: p.Comm}
		switch {
		case p.Comm == "pbox-init":
			one.Kind = "pbox-init"
		case knownInits[p.Comm]:
			one.Kind = "init"
		default:
			one.Kind = "application"
		}
		for _, q := range c.rep.Processes {
			if q.PPid == p.Pid && q.State == "Z" {
				one.Zombies++
			}
		}
		if st, err := readStatus(p.Pid); err == nil {
			one.HandlesTERM = handles(st, unix.SIGTERM)
			one.HandlesINT = handles(st, unix.SIGINT)
		}
		c.rep.PID1 = one
		return
	}
	c.note("PID 1 of the box is not visible from here")
}

// handles reports whether a process catches sig (SigCgt) or blocks it
// to take it with sigwaitinfo, as tini and pbox's tiny init do (SigBlk: the
// kernel queues a blocked signal even for PID 1). An ignored signal
// (SigIgn) is not "handled": it will not stop the process either.
func handles(st Status, sig unix.Signal) bool {
	bit := uint64(1) << (uint(sig) - 1)
	return (st.SigCgt|st.SigBlk)&bit != 0 && st.SigIgn&bit == 0
}

// hostname reads the UTS namespace's own hostname by joining it on a
// locked OS thread that is then thrown away (Go allows setns for UTS;
// /proc/sys/kernel/hostname would answer for the reader's namespace).
func (c *collector) hostname(pid int) {
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		c.rep.Hostname.Outside = unix.ByteSliceToString(u.Nodename[:])
	}
	if !c.rep.Namespaces["uts"].Isolated {
		c.rep.Hostname.Inside = c.rep.Hostname.Outside
		return
	}
	var name string
	err := osthread.InNamespace(procPath(pid, "ns/uts"), unix.CLONE_NEWUTS, func() error {
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			return err
		}
		name = unix.ByteSliceToString(u.Nodename[:])
		return nil
	})
	if err != nil {
		c.noteErr("hostname inside the box", err)
		return
	}
	c.rep.Hostname.Inside = name
}

func (c *collector) cgroup(pid int) {
	data, err := os.ReadFile(procPath(pid, "cgroup"))
	if err != nil {
		c.noteErr("cgroup", err)
		return
	}
	lines, _ := ParseCgroup(bytes.NewReader(data))
	cg := &c.rep.Cgroup
	cg.Outside = boxCgroupPath(lines, cg.Version)
	cg.Inside = cg.Outside
	for _, l := range lines {
		if l.Hierarchy > 0 && len(l.Controllers) > 0 {
			if cg.V1 == nil {
				cg.V1 = map[string]string{}
			}
			cg.V1[strings.Join(l.Controllers, ",")] = l.Path
		}
	}
	if c.rep.Namespaces["cgroup"].Isolated {
		var inside string
		err := osthread.InNamespace(procPath(pid, "ns/cgroup"), unix.CLONE_NEWCGROUP, func() error {
			data, err := os.ReadFile(procPath(pid, "cgroup"))
			if err != nil {
				return err
			}
			l, err := ParseCgroup(bytes.NewReader(data))
			inside = boxCgroupPath(l, cg.Version)
			return err
		})
		if err != nil {
			c.noteErr("cgroup path inside the box", err)
		} else {
			cg.Inside = inside
		}
	}
	c.cgroupLimits(lines)
}

// boxCgroupPath picks the line that places the process: the cgroup2 line
// on v2 and on hybrid hosts (pbox tracks every box there, limits or not:
// a v1 line may still be the caller's cgroup in a hierarchy the box did
// not join), and on v1 the pids or memory hierarchy.
func boxCgroupPath(lines []CgroupLine, version string) string {
	var v2, pids, memory string
	for _, l := range lines {
		switch {
		case l.Hierarchy == 0:
			v2 = l.Path
		case contains(l.Controllers, "pids"):
			pids = l.Path
		case contains(l.Controllers, "memory"):
			memory = l.Path
		}
	}
	if version == "v2" || (version == "hybrid" && v2 != "" && v2 != "/") {
		return v2
	}
	for _, p := range []string{pids, memory, v2} {
		if p != "" && p != "/" {
			return p
		}
	}
	return v2
}

func (c *collector) cgroupLimits(lines []CgroupLine) {
	cg := &c.rep.Cgroup
	root := c.opt.CgroupRoot
	// A v1 hierarchy where the process sits at the root says nothing
	// about it (the root's usage is the whole machine's): skip those.
	pathOf := func(ctrl string) string {
		for _, l := range lines {
			if contains(l.Controllers, ctrl) && l.Path != "/" {
				return filepath.Join(root, ctrl, l.Path)
			}
		}
		return ""
	}
	if cg.Version == "v2" {
		dir := filepath.Join(root, cg.Outside)
		cg.Limits["memory"] = readFirst(filepath.Join(dir, "memory.max"))
		cg.Limits["pids"] = readFirst(filepath.Join(dir, "pids.max"))
		cg.Limits["cpu"] = readFirst(filepath.Join(dir, "cpu.max"))
		setUsage(cg, "memory_bytes", filepath.Join(dir, "memory.current"))
		setUsage(cg, "pids", filepath.Join(dir, "pids.current"))
		c.cpuFile = filepath.Join(dir, "cpu.stat")
		if n, ok := readCPUUsec(c.cpuFile); ok {
			cg.Usage["cpu_usec"] = n
		}
		if kv := readKV(filepath.Join(dir, "memory.events")); kv != nil {
			cg.OOMKills = kv["oom_kill"]
		}
	} else {
		if d := pathOf("memory"); d != "" {
			cg.Limits["memory"] = v1Max(readFirst(filepath.Join(d, "memory.limit_in_bytes")))
			setUsage(cg, "memory_bytes", filepath.Join(d, "memory.usage_in_bytes"))
			if kv := readKV(filepath.Join(d, "memory.oom_control")); kv != nil {
				cg.OOMKills = kv["oom_kill"]
			}
		}
		if d := pathOf("pids"); d != "" {
			cg.Limits["pids"] = readFirst(filepath.Join(d, "pids.max"))
			setUsage(cg, "pids", filepath.Join(d, "pids.current"))
		}
		if d := pathOf("cpu"); d != "" {
			quota := readFirst(filepath.Join(d, "cpu.cfs_quota_us"))
			if quota == "-1" {
				quota = "max"
			}
			if quota != "" {
				cg.Limits["cpu"] = quota + " " + readFirst(filepath.Join(d, "cpu.cfs_period_us"))
			}
		}
		if d := pathOf("cpuacct"); d != "" {
			c.cpuFile = filepath.Join(d, "cpuacct.usage")
			if n, ok := readCPUUsec(c.cpuFile); ok {
				cg.Usage["cpu_usec"] = n
			}
		}
	}
	for k, v := range cg.Limits {
		if v == "" {
			delete(cg.Limits, k)
		}
	}
}

// argsText is pid's command line as one line, at most maxArgsText
// characters.
func argsText(pid int) string {
	f, err := os.Open(procPath(pid, "cmdline"))
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, maxArgsText*4) // enough runes however wide
	n, _ := io.ReadFull(f, buf)
	text := []rune(strings.Join(splitNUL(buf[:n]), " "))
	if len(text) > maxArgsText {
		text = append(text[:maxArgsText-1], '…')
	}
	return string(text)
}

// cpuPercent watches the box's CPU time for CPUWindow.
func (c *collector) cpuPercent() {
	cg := &c.rep.Cgroup
	before, ok := cg.Usage["cpu_usec"]
	if c.opt.CPUWindow <= 0 || !ok || c.cpuFile == "" {
		return
	}
	start := time.Now()
	time.Sleep(c.opt.CPUWindow)
	after, ok := readCPUUsec(c.cpuFile)
	if !ok || after < before {
		return
	}
	pct := float64(after-before) / float64(time.Since(start).Microseconds()) * 100
	cg.CPUPercent = &pct
}

// readCPUUsec reads a cgroup's CPU time in µs: cpu.stat's usage_usec, or
// v1 cpuacct.usage (ns).
func readCPUUsec(file string) (uint64, bool) {
	if filepath.Base(file) == "cpu.stat" {
		kv := readKV(file)
		n, ok := kv["usage_usec"]
		return n, ok
	}
	ns, err := strconv.ParseUint(readFirst(file), 10, 64)
	return ns / 1000, err == nil
}

// v1Max shows v1's "no limit" (a page-rounded LONG_MAX) as "max".
func v1Max(s string) string {
	if n, err := strconv.ParseUint(s, 10, 64); err == nil && n >= 1<<62 {
		return "max"
	}
	return s
}

func setUsage(cg *Cgroup, key, file string) {
	if n, err := strconv.ParseUint(readFirst(file), 10, 64); err == nil {
		cg.Usage[key] = n
	}
}

// mounts compares the box's mount table with the reference's.
func (c *collector) mounts(pid int) {
	inside, err := readMountinfo(pid)
	if err != nil {
		c.noteErr("mounts of "+strconv.Itoa(pid), err)
		return
	}
	outside, err := readMountinfo(c.rep.Reference.Pid)
	if err != nil {
		c.noteErr("mounts of the reference", err)
		return
	}
	m := &c.rep.Mounts
	m.InsideCount, m.OutsideCount = len(inside), len(outside)
	// The device tells two procfs instances on /proc apart.
	// A bind mount's root directory shows as source[dir], as findmnt does.
	key := func(i *mountinfo.Info) string {
		src := i.Source
		if i.Root != "/" {
			src += "[" + i.Root + "]"
		}
		return fmt.Sprintf("%s (%s %s, device %d:%d)", i.Mountpoint, i.FSType, src, i.Major, i.Minor)
	}
	in, out := map[string]bool{}, map[string]bool{}
	for _, i := range inside {
		in[key(i)] = true
		switch i.Mountpoint {
		case "/":
			m.Root = fmt.Sprintf("%s (%s), directory %s", i.Source, i.FSType, i.Root)
		case "/proc":
			if i.FSType == "proc" {
				m.ProcInside = fmt.Sprintf("proc, device %d:%d", i.Major, i.Minor)
			}
		}
	}
	for _, o := range outside {
		out[key(o)] = true
		if o.Mountpoint == "/" {
			m.RootOutside = fmt.Sprintf("%s (%s), directory %s", o.Source, o.FSType, o.Root)
		}
		if o.Mountpoint == "/proc" && o.FSType == "proc" {
			m.ProcOutside = fmt.Sprintf("proc, device %d:%d", o.Major, o.Minor)
		}
	}
	if !c.rep.Namespaces["mnt"].Isolated {
		m.OnlyInside, m.OnlyOutside = []string{}, []string{}
		return
	}
	m.OnlyInside, m.OnlyOutside = []string{}, []string{}
	for _, i := range inside {
		if k := key(i); !out[k] {
			m.OnlyInside = append(m.OnlyInside, k)
		}
	}
	for _, o := range outside {
		if k := key(o); !in[k] {
			m.OnlyOutside = append(m.OnlyOutside, k)
		}
	}
}

func (c *collector) security(pid int, st Status) {
	s := &c.rep.Security
	for _, m := range []struct {
		file string
		dst  *[]string
	}{{"uid_map", &s.UIDMap}, {"gid_map", &s.GIDMap}} {
		f, err := os.Open(procPath(pid, m.file))
		if err != nil {
			c.noteErr(m.file, err)
			continue
		}
		lines, _ := ParseIDMap(f)
		f.Close()
		for _, l := range lines {
			*m.dst = append(*m.dst, fmt.Sprintf("%d %d %d", l[0], l[1], l[2]))
		}
	}
	if len(st.Uid) > 1 && len(st.Gid) > 1 {
		s.UID, s.GID = st.Uid[1], st.Gid[1]
	}
	if ns := c.rep.Namespaces["user"]; ns.Isolated {
		if fd, err := unix.Open(procPath(pid, "ns/user"), unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
			var owner uint32
			// NS_GET_OWNER_UID: who created the namespace, as its parent
			// sees it (ioctl_ns(2)).
			if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.NS_GET_OWNER_UID, uintptr(unsafe.Pointer(&owner))); e == 0 {
				o := int(owner)
				s.UserNSOwner = &o
			}
			unix.Close(fd)
		}
	}
	s.CapEff = CapNames(st.CapEff)
	s.CapEffHex = fmt.Sprintf("%016x", st.CapEff)
	s.NoNewPrivs = st.NoNewPrivs
	s.Seccomp = [...]string{"disabled", "strict", "filter"}[min(max(st.Seccomp, 0), 2)]
	s.SeccompFilters = st.SeccompFilters
}

func (c *collector) warnings() {
	r := c.rep
	one := r.PID1
	if one.Kind == "application" || one.Kind == "init" || one.Kind == "pbox-init" {
		var missing []string
		if !one.HandlesTERM {
			missing = append(missing, "SIGTERM")
		}
		if !one.HandlesINT {
			missing = append(missing, "SIGINT")
		}
		if len(missing) > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf(
				"PID 1 of the box (%s, host pid %d) has no handler for %s: the kernel drops those signals for PID 1, so `kill -TERM` does nothing and `docker stop` waits out its grace period, then escalates to SIGKILL. Run it under an init (pbox run without --no-init, tini, dumb-init) or handle the signal.",
				one.Comm, one.Pid, strings.Join(missing, " and ")))
		}
		if one.Zombies > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf(
				"%d zombie(s) under PID 1 (%s): it does not reap orphaned children. Run the box with an init (pbox run without --no-init, or tini).",
				one.Zombies, one.Comm))
		}
	}
	if r.Reference.Pid != 1 {
		c.note("\"host\" means the namespaces of %s (pid %d): %s", r.Reference.Comm, r.Reference.Pid, r.Reference.Why)
	}
}

// --- small readers -------------------------------------------------------

func procPath(pid int, name string) string {
	return "/proc/" + strconv.Itoa(pid) + "/" + name
}

func readStatus(pid int) (Status, error) {
	data, err := os.ReadFile(procPath(pid, "status"))
	if err != nil {
		return Status{}, err
	}
	return ParseStatus(bytes.NewReader(data))
}

func readMountinfo(pid int) ([]*mountinfo.Info, error) {
	f, err := os.Open(procPath(pid, "mountinfo"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseMountinfo(f)
}

// nsInode reads the inode of /proc/<pid>/ns/<typ> ("pid:[4026531836]").
func nsInode(pid int, typ string) (uint64, error) {
	link, err := os.Readlink(procPath(pid, "ns/"+typ))
	if err != nil {
		return 0, err
	}
	i := strings.IndexByte(link, '[')
	if i < 0 || !strings.HasSuffix(link, "]") {
		return 0, fmt.Errorf("unexpected namespace link %q", link)
	}
	return strconv.ParseUint(link[i+1:len(link)-1], 10, 64)
}

func readTrimmed(pid int, name string) string {
	data, err := os.ReadFile(procPath(pid, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

func readFirst(file string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

func readKV(file string) map[string]uint64 {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	kv, _ := ParseKV(f)
	return kv
}

func splitNUL(data []byte) []string {
	var out []string
	for _, p := range bytes.Split(bytes.TrimRight(data, "\x00"), []byte{0}) {
		out = append(out, string(p))
	}
	if len(data) == 0 {
		return []string{}
	}
	return out
}

func stateLetter(state string) string {
	if state == "" {
		return "?"
	}
	return state[:1]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
