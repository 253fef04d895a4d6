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
// the process tree as the host sees it, with the box's boundary drawn
// around the box's processes (each with its host pid and its box pid,
// PID 1 marked, zombies in red), and beside it the namespace matrix
// (isolated or shared, per type) and the cgroup's limits with usage.
func RenderSVG(w io.Writer, r *Report) error {
	level := len(r.NSpid) - 1
	const (
		rowH           = 34
		indent         = 22
		ancestorIndent = 12
		nodeW          = 250
		top            = 60
		left           = 20
		rightX         = 600
	)
	type row struct {
		p     Process
		depth int
		inBox bool
	}
	var rows []row
	for i, a := range r.Ancestry {
		rows = append(rows, row{p: a, depth: i})
	}
	roots, children := r.tree()
	var walk func(p Process, depth int)
	walk = func(p Process, depth int) {
		rows = append(rows, row{p: p, depth: depth, inBox: true})
		for _, k := range children[p.Pid] {
			walk(k, depth+1)
		}
	}
	for _, root := range roots {
		walk(root, len(r.Ancestry))
	}

	netLines := 0
	if r.Network != nil {
		netLines = 2 + len(r.Network.Interfaces) + len(r.Network.Published)
	}
	height := max(top+len(rows)*rowH+70, top+len(r.Namespaces)*22+260+netLines*20)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="%d" viewBox="0 0 1000 %d" font-family="sans-serif" font-size="13">`+"\n", height, height)
	b.WriteString(`<style>.node{fill:#eef3fb;stroke:#5b7db1}.pid1{fill:#d9f2d9;stroke:#2e7d32}.zombie{fill:#fde2e2;stroke:#c62828}.host{fill:#f4f4f4;stroke:#999}.small{font-size:11px;fill:#444}.iso{fill:#2e7d32}.shared{fill:#888}</style>` + "\n")
	fmt.Fprintf(&b, `<text x="%d" y="28" font-size="17" font-weight="bold">%s</text>`+"\n", left, esc(fmt.Sprintf("pbox inspect %d: %s", r.Pid, r.Comm)))
	fmt.Fprintf(&b, `<text x="%d" y="46" class="small">the host's view; box pids are what the box's own processes see</text>`+"\n", left)

	// The box's boundary first, under the nodes.
	first, last := -1, -1
	maxDepth := 0
	for i, rw := range rows {
		if rw.inBox {
			if first < 0 {
				first = i
			}
			last = i
			maxDepth = max(maxDepth, rw.depth)
		}
	}
	// The host's chain above the box is drawn tighter than the box's
	// tree, so a deep chain does not push the box off the picture.
	xOf := func(rw row) int {
		a := len(r.Ancestry)
		if !rw.inBox {
			return left + rw.depth*ancestorIndent
		}
		return left + a*ancestorIndent + (rw.depth-a)*indent
	}
	if first >= 0 && level > 0 {
		x := xOf(rows[first]) - 10
		y := top + first*rowH - 8
		wdt := (maxDepth-rows[first].depth)*indent + nodeW + 20
		h := (last-first+1)*rowH + 6
		fmt.Fprintf(&b, `<rect id="box-boundary" x="%d" y="%d" width="%d" height="%d" rx="10" fill="none" stroke="#2e7d32" stroke-width="2" stroke-dasharray="8 4"/>`+"\n", x, y, wdt, h)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="small" fill="#2e7d32">the box: its own PID namespace (box pids start at 1)</text>`+"\n", x+10, y+h+16)
	}
	pos := map[int][2]int{}
	for i, rw := range rows {
		x := xOf(rw)
		y := top + i*rowH
		pos[rw.p.Pid] = [2]int{x, y}
		class, boxPid := "host", "-"
		if rw.inBox {
			class = "node"
			if level >= 0 && level < len(rw.p.NSpid) {
				boxPid = strconv.Itoa(rw.p.NSpid[level])
			}
			if boxPid == "1" && level > 0 {
				class = "pid1"
			}
			if rw.p.State == "Z" {
				class = "zombie"
			}
		}
		if pp, ok := pos[rw.p.PPid]; ok {
			fmt.Fprintf(&b, `<path d="M%d %d V%d H%d" fill="none" stroke="#999"/>`+"\n", pp[0]+8, pp[1]+24, y+12, x)
		}
		label := rw.p.Comm
		switch {
		case class == "pid1":
			label += "  — PID 1"
		case class == "zombie":
			label += "  — zombie"
		}
		fmt.Fprintf(&b, `<g class="proc" data-host-pid="%d" data-box-pid="%s"><rect class="%s" x="%d" y="%d" width="%d" height="26" rx="5"/>`, rw.p.Pid, boxPid, class, x, y, nodeW)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`, x+8, y+17, esc(label))
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="small" text-anchor="end">host %d · box %s</text></g>`+"\n", x+nodeW-8, y+17, rw.p.Pid, boxPid)
	}

	// The namespace matrix.
	y := top
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">Namespaces (against %s, pid %d)</text>`+"\n", rightX, y, esc(r.Reference.Comm), r.Reference.Pid)
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
		fmt.Fprintf(&b, `<g class="ns" data-type="%s"><text x="%d" y="%d">%s</text><circle cx="%d" cy="%d" r="6" class="%s"/><text x="%d" y="%d" class="small">%s</text></g>`+"\n",
			t, rightX, y, esc(t), rightX+80, y-4, class, rightX+94, y, verdict)
	}

	// The cgroup: limits with usage.
	y += 40
	cg := r.Cgroup
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">Cgroup %s (%s)</text>`+"\n", rightX, y, esc(cg.Outside), esc(cg.Version))
	bar := func(name string, used uint64, limit string, unit func(uint64) string) {
		y += 34
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`, rightX, y-6, esc(name))
		max, err := strconv.ParseUint(limit, 10, 64)
		text := unit(used) + " used, no limit"
		frac := 0.0
		if err == nil && max > 0 {
			frac = float64(used) / float64(max)
			text = fmt.Sprintf("%s of %s (%.0f%%)", unit(used), unit(max), 100*frac)
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="300" height="10" fill="#eee"/><rect class="usage" data-limit="%s" x="%d" y="%d" width="%.0f" height="10" fill="#5b7db1"/>`,
			rightX+70, y-14, esc(limit), rightX+70, y-14, 300*min(frac, 1))
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="small">%s</text>`+"\n", rightX+70, y+8, esc(text))
	}
	bytesText := func(n uint64) string { return limitBytes(strconv.FormatUint(n, 10)) }
	bar("memory", cg.Usage["memory_bytes"], cg.Limits["memory"], bytesText)
	bar("pids", cg.Usage["pids"], cg.Limits["pids"], func(n uint64) string { return strconv.FormatUint(n, 10) })
	y += 30
	fmt.Fprintf(&b, `<text x="%d" y="%d">cpu: %s, %s used; OOM kills: %d</text>`+"\n", rightX, y, esc(cpuLimit(cg.Limits["cpu"])), esc(cpuUsed(cg.Usage)), cg.OOMKills)

	// The network: each interface of the box and where it leads.
	if n := r.Network; n != nil {
		y += 40
		title := "Network " + n.Namespace
		if n.Shared {
			title += " (the host's)"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", rightX, y, esc(title))
		for _, i := range n.Interfaces {
			y += 20
			text := i.Name + " " + strings.Join(i.Addresses, " ")
			if i.Peer != nil {
				text += " ⇄ host " + i.Peer.Name
				if i.Peer.Bridge != "" {
					text += " on bridge " + i.Peer.Bridge
				}
			}
			fmt.Fprintf(&b, `<text class="iface" x="%d" y="%d">%s</text>`+"\n", rightX, y, esc(text))
		}
		for _, p := range n.Published {
			y += 20
			fmt.Fprintf(&b, `<text class="small" x="%d" y="%d">published %s (%d NAT rules)</text>`+"\n", rightX, y, esc(p.Port), len(p.Rules))
		}
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
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
