package inspect

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RenderSVG draws the report as one SVG picture that any browser shows:
// badges for what the box runs as (hostname, root filesystem, user,
// capabilities, seccomp); the process tree as the host sees it, with the
// box's boundary drawn around the box's processes (each with its host pid
// and its box pid, PID 1 marked, zombies in red, the inspected process
// pointed at, identical siblings drawn once with a count, as pstree does);
// beside it the namespace matrix and the cgroup's limits with usage; below
// them the network as the path a packet takes; and a legend. The picture
// is as wide and as tall as what it holds.
func RenderSVG(w io.Writer, r *Report) error {
	c := &canvas{}
	const left = 20
	title := fmt.Sprintf("pbox inspect %d: %s", r.Pid, r.Comm)
	if r.Box != nil {
		title += " in box " + r.Box.ID
	}
	c.text(left, 28, 17, `font-weight="bold"`, title)
	c.text(left, 46, 11, `class="small"`, "the host's view; box pids are what the box's own processes see")
	y := c.badges(left, 58, r)

	treeRight, treeBottom := c.tree(left, y+30, r)
	rightBottom := c.facts(treeRight+40, y+30, r)
	y = max(treeBottom, rightBottom) + 20
	if r.Network != nil {
		y = c.network(left, y+20, r.Network)
	}
	y = c.legend(left, y+30)

	width, height := c.right+20, y+20
	var out bytes.Buffer
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n", width, height, width, height)
	out.WriteString(`<style>.node{fill:#eef3fb;stroke:#5b7db1}.pid1{fill:#d9f2d9;stroke:#2e7d32}.zombie{fill:#fde2e2;stroke:#c62828}.host{fill:#f4f4f4;stroke:#999}.small{font-size:11px;fill:#444}.iso{fill:#2e7d32}.shared{fill:#888}.badgebox{fill:#fff;stroke:#5b7db1}.warnbox{fill:#fff4e0;stroke:#e65100}.hopbox{fill:#fff;stroke:#5b7db1}.boxside{fill:#eef3fb;stroke:#5b7db1}.mark{fill:#e65100;font-weight:bold}</style>` + "\n")
	out.Write(c.b.Bytes())
	out.WriteString("</svg>\n")
	_, err := w.Write(out.Bytes())
	return err
}

// canvas is the SVG's body as it is drawn, and how far it reaches, so the
// picture can be made to fit it.
type canvas struct {
	b      bytes.Buffer
	right  int
	bottom int
}

// textWidth estimates how wide s is drawn in a sans-serif font of size
// px: 0.6 em a character, a little more than the average, so that an
// estimate errs on the side of room.
func textWidth(s string, size int) int {
	return (utf8.RuneCountInString(s)*size*6 + 9) / 10
}

func (c *canvas) reach(x, y int) {
	c.right, c.bottom = max(c.right, x), max(c.bottom, y)
}

// text draws s, start-anchored at x.
func (c *canvas) text(x, y, size int, attrs, s string) {
	if attrs != "" {
		attrs = " " + attrs
	}
	if size != 13 && !strings.Contains(attrs, "small") {
		attrs += fmt.Sprintf(` font-size="%d"`, size)
	}
	fmt.Fprintf(&c.b, `<text x="%d" y="%d"%s>%s</text>`+"\n", x, y, attrs, esc(s))
	c.reach(x+textWidth(s, size), y+4)
}

func (c *canvas) rect(x, y, w, h int, attrs string) {
	fmt.Fprintf(&c.b, `<rect x="%d" y="%d" width="%d" height="%d" %s/>`+"\n", x, y, w, h, attrs)
	c.reach(x+w, y+h)
}

// badges draws a row of labelled facts about how the box runs, and
// returns where the row ends.
func (c *canvas) badges(x, y int, r *Report) int {
	type badge struct{ kind, text, hover string }
	var list []badge
	if r.Hostname.Inside != "" {
		list = append(list, badge{"hostname", "hostname " + r.Hostname.Inside, "the box's UTS namespace says " + r.Hostname.Inside + "; the host's is " + r.Hostname.Outside})
	}
	if r.Mounts.Root != "" {
		list = append(list, badge{"rootfs", "/ = " + cut(r.Mounts.Root, 48), "the box's root: " + r.Mounts.Root + "; the host's: " + r.Mounts.RootOutside})
	}
	user := "uid " + strconv.Itoa(r.Security.UID)
	if r.Security.UID == 0 {
		user = "root (uid 0)"
	}
	list = append(list, badge{"user", "user " + user, "effective uid " + strconv.Itoa(r.Security.UID) + ", gid " + strconv.Itoa(r.Security.GID) + " as the box sees them"})
	if outside, ok := rootOutside(r.Security.UIDMap); ok {
		kind, text := "userns", "user namespace: uid 0 inside is uid "+outside+" outside"
		if o := r.Security.UserNSOwner; o != nil && *o != 0 {
			kind, text = "rootless", fmt.Sprintf("rootless (uid %d's): uid 0 inside is uid %s outside", *o, outside)
		}
		list = append(list, badge{kind, text, "uid_map " + strings.Join(r.Security.UIDMap, ", ")})
	}
	caps := capLines(r.Security)
	list = append(list, badge{"caps", "capabilities: " + caps[0], strings.Join(caps, " ")})
	seccomp := "no seccomp filter"
	if r.Security.Seccomp == "filter" {
		seccomp = fmt.Sprintf("seccomp: %d filter", r.Security.SeccompFilters)
		if r.Security.SeccompFilters != 1 {
			seccomp += "s"
		}
	} else if r.Security.Seccomp == "strict" {
		seccomp = "seccomp: strict"
	}
	if len(r.Devices) > 0 {
		var lines []string
		usable := 0
		for _, d := range r.Devices {
			lines = append(lines, deviceLine(d))
			if d.Access != "-" {
				usable++
			}
		}
		list = append(list, badge{"devices", fmt.Sprintf("devices: %d nodes, %d usable", len(r.Devices), usable), strings.Join(lines, "\n")})
	}
	list = append(list, badge{"seccomp", seccomp, "what the kernel lets the process call: " + r.Security.Seccomp})
	bx := x
	for _, b := range list {
		class := "badgebox"
		if b.kind == "seccomp" && r.Security.Seccomp != "filter" || b.kind == "caps" && strings.HasPrefix(caps[0], "all") {
			class = "warnbox" // what a default box does not have
		}
		w := textWidth(b.text, 11) + 16
		fmt.Fprintf(&c.b, `<g class="badge" data-kind="%s"><title>%s</title>`, b.kind, esc(b.hover))
		c.rect(bx, y, w, 22, fmt.Sprintf(`rx="11" class="%s"`, class))
		c.text(bx+8, y+15, 11, `class="small"`, b.text)
		c.b.WriteString("</g>\n")
		bx += w + 8
	}
	return y + 22
}

// rootOutside reads a uid_map: the host uid that uid 0 inside is, when it
// is not 0 (a rootless box, or one with --userns).
func rootOutside(uidMap []string) (string, bool) {
	for _, line := range uidMap {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "0" && f[1] != "0" {
			return f[1], true
		}
	}
	return "", false
}

// treeRow is one node of the process tree: a process, or a group of
// identical siblings drawn once.
type treeRow struct {
	p     Process
	group []Process // with the one drawn, for a group
	depth int
	inBox bool
}

// groupSiblings folds identical leaf siblings (same command, same state,
// no children) into one, as pstree's "25*[sleep]": the inspected process
// and PID 1 always stand alone.
func groupSiblings(kids []Process, children map[int][]Process, keep func(Process) bool) [][]Process {
	var out [][]Process
	at := map[string]int{}
	for _, k := range kids {
		key := k.Comm + "\x00" + k.State
		if len(children[k.Pid]) > 0 || keep(k) {
			out = append(out, []Process{k})
			continue
		}
		if i, ok := at[key]; ok {
			out[i] = append(out[i], k)
			continue
		}
		at[key] = len(out)
		out = append(out, []Process{k})
	}
	return out
}

// tree draws the host's chain above the box and the box's processes, and
// returns how far right and down it reaches.
func (c *canvas) tree(left, top int, r *Report) (int, int) {
	level := len(r.NSpid) - 1
	const (
		rowH           = 34
		indent         = 22
		ancestorIndent = 12
	)
	boxPid := func(p Process) string {
		if level >= 0 && level < len(p.NSpid) {
			return strconv.Itoa(p.NSpid[level])
		}
		return "-"
	}
	keep := func(p Process) bool { return p.Pid == r.Pid || boxPid(p) == "1" }
	var rows []treeRow
	for i, a := range r.Ancestry {
		rows = append(rows, treeRow{p: a, depth: i})
	}
	roots, children := r.tree()
	var walk func(g []Process, depth int)
	walk = func(g []Process, depth int) {
		row := treeRow{p: g[0], depth: depth, inBox: true}
		if len(g) > 1 {
			row.group = g
		}
		rows = append(rows, row)
		if len(g) == 1 {
			for _, k := range groupSiblings(children[g[0].Pid], children, keep) {
				walk(k, depth+1)
			}
		}
	}
	for _, g := range groupSiblings(roots, children, keep) {
		walk(g, len(r.Ancestry))
	}

	label := func(rw treeRow) (string, string) {
		name := rw.p.Comm
		if rw.group != nil {
			name = fmt.Sprintf("%d × %s", len(rw.group), rw.p.Comm)
		}
		if !rw.inBox {
			return name, "host " + strconv.Itoa(rw.p.Pid)
		}
		switch {
		case boxPid(rw.p) == "1" && level > 0:
			name += "  — PID 1"
		case rw.p.State == "Z":
			name += "  — zombie"
			if rw.group != nil {
				name += "s"
			}
		}
		if rw.group != nil {
			first, last := rw.group[0], rw.group[len(rw.group)-1]
			return name, fmt.Sprintf("box %s … %s", boxPid(first), boxPid(last))
		}
		return name, fmt.Sprintf("host %d · box %s", rw.p.Pid, boxPid(rw.p))
	}
	nodeW := 250
	for _, rw := range rows {
		name, pids := label(rw)
		nodeW = max(nodeW, textWidth(name, 13)+textWidth(pids, 11)+30)
	}
	xOf := func(rw treeRow) int {
		a := len(r.Ancestry)
		if !rw.inBox {
			return left + rw.depth*ancestorIndent
		}
		// The host's chain above the box is drawn tighter than the
		// box's tree, so a deep chain does not push the box aside.
		return left + a*ancestorIndent + (rw.depth-a)*indent
	}

	// The box's boundary first, under the nodes.
	first, last, maxDepth := -1, -1, 0
	for i, rw := range rows {
		if rw.inBox {
			if first < 0 {
				first = i
			}
			last = i
			maxDepth = max(maxDepth, rw.depth)
		}
	}
	right := 0 // how far the tree reaches, apart from what was drawn above it
	if first >= 0 && level > 0 {
		x := xOf(rows[first]) - 10
		y := top + first*rowH - 8
		h := (last-first+1)*rowH + 6
		c.rect(x, y, (maxDepth-rows[first].depth)*indent+nodeW+20, h, `id="box-boundary" rx="10" fill="none" stroke="#2e7d32" stroke-width="2" stroke-dasharray="8 4"`)
		note := "the box: its own PID namespace (box pids start at 1)"
		c.text(x+10, y+h+16, 11, `class="small" fill="#2e7d32"`, note)
		right = max(right, x+10+textWidth(note, 11), x+(maxDepth-rows[first].depth)*indent+nodeW+20)
	}
	pos := map[int][2]int{}
	for i, rw := range rows {
		x, y := xOf(rw), top+i*rowH
		pos[rw.p.Pid] = [2]int{x, y}
		right = max(right, x+nodeW+3)
		class := "host"
		if rw.inBox {
			class = "node"
			if boxPid(rw.p) == "1" && level > 0 {
				class = "pid1"
			}
			if rw.p.State == "Z" {
				class = "zombie"
			}
		}
		if pp, ok := pos[rw.p.PPid]; ok {
			fmt.Fprintf(&c.b, `<path d="M%d %d V%d H%d" fill="none" stroke="#999"/>`+"\n", pp[0]+8, pp[1]+24, y+12, x)
		}
		name, pids := label(rw)
		inspected := rw.p.Pid == r.Pid
		if rw.group != nil {
			var hover []string
			for i, p := range rw.group {
				if i == 30 {
					hover = append(hover, fmt.Sprintf("… and %d more", len(rw.group)-i))
					break
				}
				hover = append(hover, fmt.Sprintf("host %d · box %s: %s", p.Pid, boxPid(p), orText(p.Args, p.Comm)))
			}
			fmt.Fprintf(&c.b, `<g class="proc group" data-count="%d" data-comm="%s"><title>%s</title>`, len(rw.group), esc(rw.p.Comm), esc(strings.Join(hover, "\n")))
		} else {
			fmt.Fprintf(&c.b, `<g class="proc" data-host-pid="%d" data-box-pid="%s"`, rw.p.Pid, boxPid(rw.p))
			if inspected {
				c.b.WriteString(` data-inspected="true"`)
			}
			fmt.Fprintf(&c.b, `><title>%s</title>`, esc(orText(rw.p.Args, rw.p.Comm)))
		}
		stroke := ""
		if inspected {
			stroke = ` stroke-width="3"`
		}
		c.rect(x, y, nodeW, 26, fmt.Sprintf(`rx="5" class="%s"%s`, class, stroke))
		if rw.group != nil {
			// A stack of cards says "several".
			fmt.Fprintf(&c.b, `<path d="M%d %d h%d v%d" fill="none" stroke="#5b7db1"/>`, x+3, y-3, nodeW, 26)
		}
		c.text(x+8, y+17, 13, "", name)
		fmt.Fprintf(&c.b, `<text x="%d" y="%d" class="small" text-anchor="end">%s</text>`, x+nodeW-8, y+17, esc(pids))
		c.b.WriteString("</g>\n")
		if inspected {
			mark := "◀ inspected"
			c.text(x+nodeW+8, y+17, 13, `class="mark" id="inspected-mark"`, mark)
			right = max(right, x+nodeW+8+textWidth(mark, 13))
		}
	}
	return right, top + len(rows)*rowH + 24
}

func orText(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// cut shortens s to n characters, marking the cut.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// facts draws the namespace matrix and the cgroup at x, and returns how
// far down they reach.
func (c *canvas) facts(x, top int, r *Report) int {
	y := top
	c.text(x, y, 13, `font-weight="bold"`, fmt.Sprintf("Namespaces (against %s, pid %d)", r.Reference.Comm, r.Reference.Pid))
	types := make([]string, 0, len(r.Namespaces))
	for t := range r.Namespaces {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		y += 22
		ns := r.Namespaces[t]
		verdict, class := "shared with host", "shared"
		if ns.Isolated {
			verdict, class = "isolated", "iso"
		}
		fmt.Fprintf(&c.b, `<g class="ns" data-type="%s">`, t)
		c.text(x, y, 13, "", t)
		fmt.Fprintf(&c.b, `<circle cx="%d" cy="%d" r="6" class="%s"/>`, x+80, y-4, class)
		c.text(x+94, y, 11, `class="small"`, verdict)
		c.b.WriteString("</g>\n")
	}

	y += 40
	cg := r.Cgroup
	// A long path (Kubernetes' slices) is broken at its slashes rather
	// than drawn as one line the width of several screens.
	path := wrapPath(cg.Outside, 64)
	c.text(x, y, 13, `font-weight="bold"`, fmt.Sprintf("Cgroup (%s) %s", cg.Version, path[0]))
	for _, l := range path[1:] {
		y += 16
		c.text(x+20, y, 13, `font-weight="bold"`, l)
	}
	const barW = 300
	bar := func(name, kind string, frac float64, text string) {
		y += 34
		c.text(x, y-6, 13, "", name)
		if frac < 0 {
			// No limit: said in words, not drawn as an empty bar.
			c.text(x+70, y-4, 11, fmt.Sprintf(`class="small" data-bar="%s" data-limit="none"`, kind), text)
			return
		}
		fmt.Fprintf(&c.b, `<g class="bar" data-bar="%s" data-fraction="%.3f">`, kind, frac)
		c.rect(x+70, y-14, barW, 10, `fill="#eee"`)
		fill := "#5b7db1"
		if frac >= 0.9 {
			fill = "#c62828" // at its limit
		}
		c.rect(x+70, y-14, int(barW*min(frac, 1)+0.5), 10, fmt.Sprintf(`class="usage" fill="%s"`, fill))
		c.b.WriteString("</g>")
		c.text(x+70, y+8, 11, `class="small"`, text)
	}
	used := func(kind string, n uint64, limit string, unit func(uint64) string) {
		max, err := strconv.ParseUint(limit, 10, 64)
		if err != nil || max == 0 {
			bar(kind, kind, -1, unit(n)+" used — no limit")
			return
		}
		frac := float64(n) / float64(max)
		bar(kind, kind, frac, fmt.Sprintf("%s of %s (%.0f%%)", unit(n), unit(max), 100*frac))
	}
	used("memory", cg.Usage["memory_bytes"], cg.Limits["memory"], func(n uint64) string { return limitBytes(strconv.FormatUint(n, 10)) })
	used("pids", cg.Usage["pids"], cg.Limits["pids"], func(n uint64) string { return strconv.FormatUint(n, 10) })
	cpus, limited := quotaCPUs(cg.Limits["cpu"])
	switch {
	case cg.CPUPercent != nil && limited:
		frac := *cg.CPUPercent / 100 / cpus
		bar("cpu", "cpu", frac, fmt.Sprintf("%.0f%% of a CPU, against a quota of %.2f CPUs (%.0f%%)", *cg.CPUPercent, cpus, 100*frac))
	case cg.CPUPercent != nil:
		bar("cpu", "cpu", -1, fmt.Sprintf("%.0f%% of a CPU now — no limit", *cg.CPUPercent))
	case limited:
		bar("cpu", "cpu", -1, fmt.Sprintf("%s used in all; quota %.2f CPUs", cpuUsed(cg.Usage), cpus))
	default:
		bar("cpu", "cpu", -1, cpuUsed(cg.Usage)+" used in all — no limit")
	}
	y += 34
	c.text(x, y, 13, "", fmt.Sprintf("OOM kills: %d", cg.OOMKills))
	return y + 10
}

// wrapPath breaks a path into lines of at most n characters, after a
// slash where it can.
func wrapPath(p string, n int) []string {
	var lines []string
	for utf8.RuneCountInString(p) > n {
		r := []rune(p)
		at := strings.LastIndex(string(r[:n]), "/")
		if at <= 0 {
			at = len(string(r[:n])) - 1
		}
		lines = append(lines, p[:at+1])
		p = p[at+1:]
	}
	return append(lines, p)
}

// quotaCPUs reads a cpu limit ("QUOTA PERIOD") as a number of CPUs.
func quotaCPUs(v string) (float64, bool) {
	f := strings.Fields(v)
	if len(f) != 2 || f[0] == "max" {
		return 0, false
	}
	q, err1 := strconv.ParseFloat(f[0], 64)
	per, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil || per <= 0 || q <= 0 {
		return 0, false
	}
	return q / per, true
}

// network draws the path from each of the box's interfaces to the host:
// eth0 ⇄ veth ⇄ bridge ⇄ NAT ⇄ host ports, and returns where it ends.
func (c *canvas) network(left, y int, n *Network) int {
	title := "Network " + n.Namespace
	if n.Shared {
		title += ": the host's (the box uses the host's interfaces and addresses)"
	}
	c.text(left, y, 13, `font-weight="bold"`, title)
	if n.Shared {
		return y + 10
	}
	var others []string
	for _, i := range n.Interfaces {
		if i.Peer == nil {
			others = append(others, strings.TrimSpace(i.Name+" "+strings.Join(i.Addresses, " "))+" ("+i.Verdict+")")
			continue
		}
		y += 20
		type hop struct {
			kind, label string
			lines       []string
		}
		hops := []hop{{"box-iface", i.Name, i.Addresses}, {"veth", i.Peer.Name, []string{"the veth's host end"}}}
		if i.Peer.Bridge != "" {
			hops = append(hops, hop{"bridge", i.Peer.Bridge, append([]string{"bridge"}, i.Peer.BridgeAddresses...)})
		}
		if len(n.Published) > 0 {
			rules := 0
			var ports []string
			for _, p := range n.Published {
				rules += len(p.Rules)
				host, box, _ := strings.Cut(p.Port, "->")
				ports = append(ports, "host:"+host+" → box "+box)
			}
			hops = append(hops, hop{"nat", "NAT", []string{fmt.Sprintf("%d iptables rules", rules)}}, hop{"port", "published", ports})
		}
		h := 22
		for _, hp := range hops {
			h = max(h, 22+14*len(hp.lines))
		}
		fmt.Fprintf(&c.b, `<g class="netpath" data-iface="%s">`+"\n", esc(i.Name))
		x := left
		for k, hp := range hops {
			w := textWidth(hp.label, 13) + 20
			for _, l := range hp.lines {
				w = max(w, textWidth(l, 11)+20)
			}
			if k > 0 {
				c.text(x-26, y+h/2+5, 15, `class="arrow"`, "⇄")
			}
			class := "hopbox"
			if k == 0 {
				class = "boxside" // inside the box's network namespace
			}
			fmt.Fprintf(&c.b, `<g class="hop" data-kind="%s">`, hp.kind)
			c.rect(x, y, w, h, fmt.Sprintf(`rx="6" class="%s"`, class))
			c.text(x+10, y+16, 13, `font-weight="bold"`, hp.label)
			for j, l := range hp.lines {
				c.text(x+10, y+30+14*j, 11, `class="small"`, l)
			}
			c.b.WriteString("</g>\n")
			if k == 0 {
				c.text(x, y+h+14, 11, `class="small" fill="#2e7d32"`, "in the box")
			}
			x += w + 34
		}
		c.b.WriteString("</g>\n")
		y += h + 20
	}
	if len(others) > 0 {
		y += 16
		c.text(left, y, 11, `class="small"`, "also in the box: "+strings.Join(others, "; "))
	}
	return y + 10
}

// legend explains the colours.
func (c *canvas) legend(x, y int) int {
	c.text(x, y, 11, `class="small" font-weight="bold"`, "Legend")
	items := []struct{ fill, stroke, text string }{
		{"#d9f2d9", "#2e7d32", "PID 1 of the box"},
		{"#eef3fb", "#5b7db1", "a process in the box"},
		{"#f4f4f4", "#999", "a host process"},
		{"#fde2e2", "#c62828", "a zombie"},
	}
	lx := x + 60
	c.b.WriteString(`<g class="legend">`)
	for _, it := range items {
		c.rect(lx, y-10, 14, 12, fmt.Sprintf(`rx="3" fill="%s" stroke="%s"`, it.fill, it.stroke))
		c.text(lx+20, y, 11, `class="small"`, it.text)
		lx += textWidth(it.text, 11) + 44
	}
	fmt.Fprintf(&c.b, `<circle cx="%d" cy="%d" r="6" fill="#2e7d32"/>`, lx+6, y-4)
	c.text(lx+16, y, 11, `class="small"`, "isolated")
	lx += 80
	fmt.Fprintf(&c.b, `<circle cx="%d" cy="%d" r="6" fill="#888"/>`, lx+6, y-4)
	c.text(lx+16, y, 11, `class="small"`, "shared with the host")
	lx += 150
	c.text(lx, y, 11, `class="small mark"`, "◀ inspected")
	c.b.WriteString("</g>\n")
	return y + 6
}

// esc escapes text for XML, as encoding/xml's EscapeText does (that
// package's initialisation would cost every pbox process, box inits
// included, ~0.25 ms): the five markup characters, line breaks and tabs as
// character references, and what XML cannot carry (other control
// characters, invalid UTF-8) as U+FFFD.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&#34;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == '\t':
			b.WriteString("&#x9;")
		case r == '\n':
			b.WriteString("&#xA;")
		case r == '\r':
			b.WriteString("&#xD;")
		case r < 0x20 || r == utf8.RuneError || (r >= 0xFFFE && r <= 0xFFFF):
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
