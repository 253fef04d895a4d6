package inspect

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/pbox-dev/pbox/internal/capnames"
	"github.com/pbox-dev/pbox/internal/escape"
	"github.com/pbox-dev/pbox/internal/humanize"
)

// RenderJSON writes the report as indented JSON (docs/inspect-json.md).
func RenderJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// RenderText writes the side-by-side view: aligned sections, a "host
// view" and a "box view" column, and a verdict where one applies.
func RenderText(w io.Writer, r *Report) error {
	// What the box chose (names, arguments, its hostname, paths) is
	// printed with its control characters as '?', as procps does: each
	// column of the table, and every other line through escape.Writer.
	w = escape.Writer(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(cols ...string) {
		for i := range cols {
			cols[i] = escape.Text(cols[i])
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	}
	level := len(r.NSpid) - 1
	inside := func(ns []int) string {
		switch {
		case level < 0 || level >= len(ns):
			return "-"
		case ns[level] == 0:
			return "0 (outside the box)"
		}
		return strconv.Itoa(ns[level])
	}

	fmt.Fprintf(w, "pbox inspect %d: %s\n", r.Pid, escape.Text(r.Comm))
	if b := r.Box; b != nil {
		fmt.Fprintf(w, "box %s (%s, state root %s)\n", b.ID, b.Status, b.Root)
		if k := b.Kubernetes; k != nil {
			what := "the pod's sandbox (pause container)"
			if k.Type != "sandbox" {
				what = "container " + k.Container
			}
			fmt.Fprintf(w, "Kubernetes: pod %s/%s, %s; sandbox %s\n", escape.Text(k.PodNamespace), escape.Text(k.Pod), escape.Text(what), escape.Text(shortID(k.SandboxID)))
		}
	}
	fmt.Fprintf(w, "\"host\" is %s (pid %d): %s\n\n", r.Reference.Comm, r.Reference.Pid, r.Reference.Why)

	p("IDENTITY", "host view", "box view")
	p("  pid", strconv.Itoa(r.Pid), inside(r.NSpid))
	p("  NSpid (outermost first)", joinInts(r.NSpid), "")
	p("  thread group", firstOr(r.NStgid), inside(r.NStgid))
	p("  process group", firstOr(r.NSpgid), inside(r.NSpgid))
	p("  session", firstOr(r.NSsid), inside(r.NSsid))
	parentIn := "outside the box"
	if r.Parent.InsidePid > 0 {
		parentIn = fmt.Sprintf("%d (%s)", r.Parent.InsidePid, r.Parent.Comm)
	} else if level == 0 {
		parentIn = fmt.Sprintf("%d (%s)", r.Parent.Pid, r.Parent.Comm)
	}
	p("  parent", fmt.Sprintf("%d (%s)", r.Parent.Pid, r.Parent.Comm), parentIn)
	p("  state", r.State, "")
	p("  cmdline", quoteArgs(r.Cmdline), "")
	p("")

	p("NAMESPACES", "this process", "host", "verdict")
	for _, t := range NamespaceTypes {
		ns, ok := r.Namespaces[t]
		if !ok {
			p("  "+t, "(unreadable)", "", "")
			continue
		}
		p("  "+t, fmt.Sprintf("%s:[%d]", t, ns.Inode), fmt.Sprintf("%s:[%d]", t, ns.HostInode), verdict(ns.Isolated))
	}
	for _, t := range sortedKeys(r.ForChildren) {
		ns := r.ForChildren[t]
		p("  "+t+"_for_children", fmt.Sprintf("%s:[%d]", t, ns.Inode), fmt.Sprintf("%s:[%d]", t, ns.HostInode), verdict(ns.Isolated))
	}
	p("")

	p("HOSTNAME", "host view", "box view")
	p("  hostname", r.Hostname.Outside, r.Hostname.Inside)
	p("")

	if n := r.Network; n != nil {
		renderNetwork(p, n)
	}

	cg := r.Cgroup
	p("CGROUP ("+orDash(cg.Version)+")", "host view", "box view")
	p("  path", orDash(cg.Outside), orDash(cg.Inside))
	renderV1Paths(p, cg.V1)
	p("  resources", "LIMIT", "USAGE")
	p("  memory", limitBytes(cg.Limits["memory"]), bytesOrDash(cg.Usage, "memory_bytes"))
	p("  pids", orDash(cg.Limits["pids"]), numOrDash(cg.Usage, "pids"))
	p("  cpu", cpuLimit(cg.Limits["cpu"]), cpuUsed(cg.Usage))
	p("  OOM kills", "", strconv.FormatUint(cg.OOMKills, 10))
	p("")

	m := r.Mounts
	p("MOUNTS", "host view", "box view")
	p("  mounts", strconv.Itoa(m.OutsideCount), strconv.Itoa(m.InsideCount))
	p("  /", orDash(m.RootOutside), orDash(m.Root))
	p("  /proc", orDash(m.ProcOutside), orDash(m.ProcInside))
	for _, s := range m.OnlyInside {
		p("  only in the box", "", s)
	}
	for _, s := range m.OnlyOutside {
		p("  only on the host", s, "")
	}
	p("")

	s := r.Security
	p("SECURITY", "")
	p("  uid_map (inside outside count)", strings.Join(s.UIDMap, "; "))
	p("  gid_map", strings.Join(s.GIDMap, "; "))
	p("  user namespace", userVerdict(s))
	for i, l := range capLines(s) {
		label := ""
		if i == 0 {
			label = "  effective capabilities"
		}
		p(label, l)
	}
	p("  no_new_privs", strconv.FormatBool(s.NoNewPrivs))
	for i, d := range r.Devices {
		label := ""
		if i == 0 {
			label = "  devices (node type major:minor access)"
		}
		p(label, deviceLine(d))
	}
	seccomp := s.Seccomp
	if s.Seccomp == "filter" {
		seccomp = fmt.Sprintf("filter (%d attached)", s.SeccompFilters)
	}
	p("  seccomp", seccomp)
	p("")

	one := r.PID1
	p("PID 1 OF THE BOX", "")
	switch one.Kind {
	case "":
		p("  (not visible)", "")
	case "host init":
		p("  the host's own init", fmt.Sprintf("%s: this process shares the host's PID namespace", one.Comm))
	default:
		p("  program", fmt.Sprintf("%s (host pid %d): %s", one.Comm, one.Pid, kindText(one.Kind)))
		p("  zombies under it", strconv.Itoa(one.Zombies))
		p("  handles SIGTERM / SIGINT", yesNo(one.HandlesTERM)+" / "+yesNo(one.HandlesINT))
	}
	p("")

	title := fmt.Sprintf("PROCESSES (%d)", len(r.Processes))
	if r.BoxProcCount > 0 {
		title = fmt.Sprintf("PROCESSES (%d; the box's /proc lists %d)", len(r.Processes), r.BoxProcCount)
	}
	p(title, "host pid", "box pid", "parent (host)", "state", "comm")
	for _, pr := range r.Processes {
		p("", strconv.Itoa(pr.Pid), inside(pr.NSpid), strconv.Itoa(pr.PPid), pr.State, pr.Comm)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, wmsg := range r.Warnings {
		fmt.Fprintf(w, "\nwarning: %s\n", wmsg)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
	return nil
}

// RenderTree draws the box's processes as a tree, like pstree -p, each
// node "comm(box pid | host pid)", under the host's chain that leads to
// the box (box pid "-": outside it) and a line for the box's boundary;
// PID 1 of the box is marked, and zombies with Z.
func RenderTree(w io.Writer, r *Report) error {
	level := len(r.NSpid) - 1
	roots, children := r.tree()
	label := func(p Process) string {
		box := "?"
		if level >= 0 && level < len(p.NSpid) {
			box = strconv.Itoa(p.NSpid[level])
		}
		l := fmt.Sprintf("%s(%s | %d)", escape.Text(p.Comm), box, p.Pid)
		if box == "1" && level > 0 {
			l += " [PID 1]"
		}
		if p.State == "Z" {
			l += " Z"
		}
		return l
	}
	var b strings.Builder
	indent := ""
	for _, a := range r.Ancestry {
		fmt.Fprintf(&b, "%s%s(- | %d)\n", indent, escape.Text(a.Comm), a.Pid)
		indent += "  "
	}
	if len(r.Ancestry) > 0 && level > 0 {
		fmt.Fprintf(&b, "%s╔═ the box: its own PID namespace (box pids start at 1) ═╗\n", indent)
	}
	var draw func(p Process, prefix string)
	draw = func(p Process, prefix string) {
		l := label(p)
		b.WriteString(l)
		kids := children[p.Pid]
		pad := prefix + strings.Repeat(" ", runeLen(l))
		for i, k := range kids {
			switch {
			case len(kids) == 1:
				b.WriteString("───")
				draw(k, pad+"   ")
			case i == 0:
				b.WriteString("─┬─")
				draw(k, pad+" │ ")
			case i == len(kids)-1:
				b.WriteString("\n" + pad + " └─")
				draw(k, pad+"   ")
			default:
				b.WriteString("\n" + pad + " ├─")
				draw(k, pad+" │ ")
			}
		}
	}
	for _, root := range roots {
		b.WriteString(indent)
		draw(root, indent)
		b.WriteString("\n")
	}
	fmt.Fprint(w, "(box pid | host pid; - outside the box; Z zombie)\n"+b.String())
	return nil
}

func runeLen(s string) int { return len([]rune(s)) }

func verdict(isolated bool) string {
	if isolated {
		return "isolated"
	}
	return "shared with host"
}

func kindText(k string) string {
	switch k {
	case "pbox-init":
		return "pbox's init: reaps orphans, forwards signals"
	case "init":
		return "an init built for containers"
	}
	return "the application itself, no init: nothing else reaps orphans"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// capLines names the effective capabilities as a learner reads them:
// none, all, Docker's default set, or the nearer of those two with the
// difference; then the names, a few per line.
func capLines(s Security) []string {
	have := map[string]bool{}
	for _, c := range s.CapEff {
		have[c] = true
	}
	var lines []string
	switch {
	case len(s.CapEff) == 0:
		return []string{"none"}
	case len(s.CapEff) >= len(capnames.Names):
		return []string{fmt.Sprintf("all %d (%s)", len(s.CapEff), s.CapEffHex)}
	}
	docker := map[string]bool{}
	for _, c := range capnames.DockerDefault {
		docker[c] = true
	}
	var plus, minus []string
	for _, c := range s.CapEff {
		if !docker[c] {
			plus = append(plus, c)
		}
	}
	for _, c := range capnames.DockerDefault {
		if !have[c] {
			minus = append(minus, c)
		}
	}
	var missing []string
	for _, c := range capnames.Names {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	switch {
	case len(plus) == 0 && len(minus) == 0:
		lines = append(lines, fmt.Sprintf("Docker's default set (%d)", len(s.CapEff)))
	case len(missing) <= len(plus)+len(minus):
		lines = append(lines, fmt.Sprintf("all but %d: without %s", len(missing), strings.Join(missing, " ")))
		return lines
	default:
		d := fmt.Sprintf("%d: Docker's default set", len(s.CapEff))
		if len(plus) > 0 {
			d += " + " + strings.Join(plus, " ")
		}
		if len(minus) > 0 {
			d += " - " + strings.Join(minus, " ")
		}
		lines = append(lines, d)
	}
	for i := 0; i < len(s.CapEff); i += 4 {
		lines = append(lines, "  "+strings.Join(s.CapEff[i:min(i+4, len(s.CapEff))], " "))
	}
	return lines
}

func limitBytes(v string) string {
	if v == "" || v == "max" {
		return orDash(v)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return v
	}
	return humanize.Bytes(n)
}

func bytesOrDash(u map[string]uint64, k string) string {
	v, ok := u[k]
	if !ok {
		return "-"
	}
	return humanize.Bytes(int64(v))
}

func numOrDash(u map[string]uint64, k string) string {
	v, ok := u[k]
	if !ok {
		return "-"
	}
	return strconv.FormatUint(v, 10)
}

func cpuLimit(v string) string {
	f := strings.Fields(v)
	if len(f) != 2 || f[0] == "max" {
		return orDash(v)
	}
	q, err1 := strconv.ParseFloat(f[0], 64)
	per, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil || per == 0 {
		return v
	}
	return fmt.Sprintf("%.2f CPUs (%s)", q/per, v)
}

func cpuUsed(u map[string]uint64) string {
	v, ok := u["cpu_usec"]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.3f s", float64(v)/1e6)
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " ")
}

func firstOr(v []int) string {
	if len(v) == 0 {
		return "-"
	}
	return strconv.Itoa(v[0])
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'\\") {
			q[i] = strconv.Quote(a)
		} else {
			q[i] = a
		}
	}
	if len(q) == 0 {
		return "(none: a kernel thread)"
	}
	return strings.Join(q, " ")
}

func sortedKeys(m map[string]NSInfo) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// renderV1Paths shows where the process is in each v1 hierarchy: one line
// when it is in the same place in all, else one per hierarchy.
func renderV1Paths(p func(...string), v1 map[string]string) {
	if len(v1) == 0 {
		return
	}
	keys := make([]string, 0, len(v1))
	for k := range v1 {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	same := true
	for _, k := range keys {
		same = same && v1[k] == v1[keys[0]]
	}
	if same {
		p("  v1 (all "+strconv.Itoa(len(keys))+")", v1[keys[0]], "")
		return
	}
	for _, k := range keys {
		p("  v1 "+k, v1[k], "")
	}
}

// tree arranges the box's processes: the ones whose parent is outside the
// box (its top), and each process's children in the box.
func (r *Report) tree() (roots []Process, children map[int][]Process) {
	in := map[int]bool{}
	for _, p := range r.Processes {
		in[p.Pid] = true
	}
	children = map[int][]Process{}
	for _, p := range r.Processes {
		if in[p.PPid] {
			children[p.PPid] = append(children[p.PPid], p)
		} else {
			roots = append(roots, p)
		}
	}
	return roots, children
}

// userVerdict says what root in the box is outside it.
func userVerdict(s Security) string {
	if outside, ok := rootOutside(s.UIDMap); ok {
		v := "uid 0 inside is uid " + outside + " outside: root in the box has no privilege on the host"
		if s.UserNSOwner != nil && *s.UserNSOwner != 0 {
			v += fmt.Sprintf(" (rootless: made by uid %d)", *s.UserNSOwner)
		}
		return v
	}
	if len(s.UIDMap) == 1 && s.UIDMap[0] == "0 0 4294967295" {
		return "the host's: uid 0 inside is the host's root"
	}
	if len(s.UIDMap) == 0 {
		return "-"
	}
	return "its own: uid 0 inside is uid 0 outside"
}

// renderNetwork is the NETWORK section: each interface of the box with its
// addresses, what it leads to on the host, the routes, the published ports
// and their NAT rules.
func renderNetwork(p func(...string), n *Network) {
	ns := n.Namespace
	if n.Shared {
		ns += " (the host's)"
	}
	p("NETWORK "+ns, "box view", "host view", "verdict")
	for _, i := range n.Interfaces {
		state := "down"
		if i.Up {
			state = "up"
		}
		kind := ""
		if i.Kind != "" {
			kind = " " + i.Kind
		}
		host := "-"
		if i.Peer != nil {
			host = fmt.Sprintf("%s (index %d)", i.Peer.Name, i.Peer.Index)
			if i.Peer.Bridge != "" {
				host += " on bridge " + i.Peer.Bridge
			}
		}
		p("  "+i.Name, fmt.Sprintf("%s%s %s", orDash(strings.Join(i.Addresses, " ")), kind, state), host, i.Verdict)
	}
	for _, r := range n.Routes {
		via := r.Dst + " dev " + r.Dev
		if r.Gateway != "" {
			via = r.Dst + " via " + r.Gateway + " dev " + r.Dev
		}
		p("  route", via)
	}
	if n.Check != "" {
		p("  CNI CHECK", n.Check)
	}
	for _, pub := range n.Published {
		p("  published", pub.Port, fmt.Sprintf("%d NAT rule(s)", len(pub.Rules)))
		for _, rule := range pub.Rules {
			p("", "", rule)
		}
	}
	p("")
}

// shortID is a container id as crictl and docker print it: 13 characters.
func shortID(id string) string {
	if len(id) > 13 {
		return id[:13]
	}
	return id
}
