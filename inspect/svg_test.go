package inspect

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pbox-dev/pbox/internal/capnames"
)

// svgFacts parses an SVG as XML and gathers what a reader looks for.
type svgFacts struct {
	boundary       bool
	classes        map[string]int    // rect classes: pid1, zombie, node, host
	procs          map[string]string // host pid -> box pid
	groups         map[string]int    // command -> count, for identical siblings drawn once
	inspected      string            // the host pid of the process marked as inspected
	mark           bool              // the "inspected" pointer is drawn
	isolated, seen map[string]bool   // namespace type -> isolated
	hops           []string          // the network path's hops, in order
	bars           map[string]string // cgroup bar -> fraction, or "none" (no limit, in words)
	badges         []string          // badge kinds, in order
	texts          []string          // every text drawn
	width          int
	overflow       []string // text that runs past the picture's width
}

func parseSVG(t *testing.T, data []byte) svgFacts {
	t.Helper()
	f := svgFacts{classes: map[string]int{}, procs: map[string]string{}, groups: map[string]int{}, isolated: map[string]bool{}, seen: map[string]bool{}, bars: map[string]string{}}
	d := xml.NewDecoder(bytes.NewReader(data))
	nsType := ""
	var textAttr map[string]string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, data)
		}
		if cd, ok := tok.(xml.CharData); ok && textAttr != nil {
			// The text's right end, as a browser's sans-serif draws it
			// at most (0.6 em a character), against the width.
			text := string(cd)
			f.texts = append(f.texts, text)
			size := 13
			if strings.Contains(textAttr["class"], "small") {
				size = 11
			}
			if v, err := strconv.Atoi(textAttr["font-size"]); err == nil {
				size = v
			}
			x, _ := strconv.Atoi(textAttr["x"])
			if textAttr["text-anchor"] == "end" {
				x -= utf8.RuneCountInString(text) * size * 6 / 10
			} else {
				x += utf8.RuneCountInString(text) * size * 6 / 10
			}
			if x > f.width || x < 0 {
				f.overflow = append(f.overflow, text)
			}
			continue
		}
		if ee, ok := tok.(xml.EndElement); ok {
			if ee.Name.Local == "g" {
				nsType = ""
			}
			textAttr = nil
			continue
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := map[string]string{}
		for _, a := range se.Attr {
			attr[a.Name.Local] = a.Value
		}
		if se.Name.Local == "text" {
			textAttr = attr
		}
		if v := attr["data-bar"]; v != "" {
			if attr["data-limit"] == "none" {
				f.bars[v] = "none"
			} else {
				f.bars[v] = attr["data-fraction"]
			}
		}
		switch {
		case se.Name.Local == "svg":
			f.width, _ = strconv.Atoi(attr["width"])
		case se.Name.Local == "g" && attr["class"] == "proc group":
			n, _ := strconv.Atoi(attr["data-count"])
			f.groups[attr["data-comm"]] = n
		case se.Name.Local == "g" && attr["class"] == "hop":
			f.hops = append(f.hops, attr["data-kind"])
		case se.Name.Local == "g" && attr["class"] == "badge":
			f.badges = append(f.badges, attr["data-kind"])
		case se.Name.Local == "text" && attr["id"] == "inspected-mark":
			f.mark = true
		case se.Name.Local == "rect" && attr["id"] == "box-boundary":
			f.boundary = true
		case se.Name.Local == "rect" && attr["class"] != "":
			f.classes[attr["class"]]++
		case se.Name.Local == "g" && attr["class"] == "proc":
			f.procs[attr["data-host-pid"]] = attr["data-box-pid"]
			if attr["data-inspected"] == "true" {
				f.inspected = attr["data-host-pid"]
			}
		case se.Name.Local == "g" && attr["class"] == "ns":
			nsType = attr["data-type"]
		case se.Name.Local == "circle" && nsType != "":
			f.seen[nsType] = true
			f.isolated[nsType] = attr["class"] == "iso"
		}
	}
	return f
}

func TestRenderSVG(t *testing.T) {
	for _, tt := range []struct {
		fixture       string
		pid1, zombies int
		procs         map[string]string
		groups        map[string]int
	}{
		// The three zombies are one node, "3 × sleep — zombies".
		{"report-noinit", 1, 1, map[string]string{"7000": "1", "6990": "-"}, map[string]int{"sleep": 3}},
		{"report-box", 1, 0, map[string]string{"7004": "1", "7003": "8", "7006": "9", "7000": "10", "7005": "-"}, map[string]int{}},
	} {
		var r Report
		data, err := os.ReadFile(filepath.Join("testdata", tt.fixture+".json"))
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(data, &r)
		var buf bytes.Buffer
		if err := RenderSVG(&buf, &r); err != nil {
			t.Fatal(err)
		}
		f := parseSVG(t, buf.Bytes())
		if !f.boundary {
			t.Errorf("%s: no box boundary", tt.fixture)
		}
		if f.classes["pid1"] != tt.pid1 || f.classes["zombie"] != tt.zombies {
			t.Errorf("%s: classes %v, want %d PID 1 and %d zombies", tt.fixture, f.classes, tt.pid1, tt.zombies)
		}
		for host, box := range tt.procs {
			if f.procs[host] != box {
				t.Errorf("%s: host pid %s shows box pid %q, want %q", tt.fixture, host, f.procs[host], box)
			}
		}
		for typ, ns := range r.Namespaces {
			if !f.seen[typ] || f.isolated[typ] != ns.Isolated {
				t.Errorf("%s: namespace %s: seen %v isolated %v, want %v", tt.fixture, typ, f.seen[typ], f.isolated[typ], ns.Isolated)
			}
		}
		if !reflect.DeepEqual(f.groups, tt.groups) {
			t.Errorf("%s: groups %v, want %v", tt.fixture, f.groups, tt.groups)
		}
		if f.inspected != strconv.Itoa(r.Pid) || !f.mark {
			t.Errorf("%s: the inspected process marked: %q (mark %v), want %d", tt.fixture, f.inspected, f.mark, r.Pid)
		}
		if len(f.overflow) > 0 {
			t.Errorf("%s: text past the picture's %d px: %q", tt.fixture, f.width, f.overflow)
		}
	}
}

// Issue 24: a busy box still makes a picture worth looking at. 25
// identical sleeps are one node with a count (each one's arguments on
// hover), the inspected one stands apart and is marked, a long cgroup path
// widens the picture rather than being cut, the network is drawn as the
// path a packet takes, a limit is a bar and no limit is said in words.
func TestRenderSVGBusyBox(t *testing.T) {
	var r Report
	data, err := os.ReadFile(filepath.Join("testdata", "report-box.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	init := r.Processes[0]
	for _, p := range r.Processes {
		if len(p.NSpid) > 1 && p.NSpid[len(p.NSpid)-1] == 1 {
			init = p
		}
	}
	for i := 0; i < 25; i++ {
		r.Processes = append(r.Processes, Process{Pid: 8000 + i, NSpid: []int{8000 + i, 100 + i}, PPid: init.Pid, Comm: "sleep", State: "S", Args: fmt.Sprintf("sleep %d", 1000+i)})
	}
	r.Pid = 8012 // one of them: it must stand alone, marked
	r.Cgroup.Outside = "/" + strings.Repeat("kubepods.slice/kubepods-burstable.slice/", 6) + "cri-containerd-0123456789abcdef.scope"
	r.Cgroup.Limits = map[string]string{"memory": "67108864", "cpu": "50000 100000"}
	r.Cgroup.Usage = map[string]uint64{"memory_bytes": 16 << 20, "pids": 27, "cpu_usec": 1234567}
	pct := 25.0
	r.Cgroup.CPUPercent = &pct
	r.Security.UIDMap = []string{"0 100000 65536"}
	owner := 1000
	r.Security.UserNSOwner = &owner
	r.Devices = []Device{{Node: "/dev/null", Type: "c", Major: 1, Minor: 3, Access: "rwm"}, {Node: "/dev/sda", Type: "b", Major: 8, Access: "-"}}
	r.Namespaces["net"] = NSInfo{Inode: 1, HostInode: 2, Isolated: true}
	r.Network = &Network{Namespace: "net:[1]", Interfaces: []Interface{
		{Name: "lo", Addresses: []string{"127.0.0.1/8"}, Verdict: "box-only"},
		{Name: "eth0", Kind: "veth", Addresses: []string{"10.99.0.5/16"}, Peer: &HostLink{Name: "veth1a2b3c4d", Bridge: "pbox0", BridgeAddresses: []string{"10.99.0.1/16"}}},
	}, Published: []Published{{Port: "8080->80/tcp", Rules: []string{"-A PBOX-DNAT ...", "-A PBOX-SNAT ..."}}}}
	var buf bytes.Buffer
	if err := RenderSVG(&buf, &r); err != nil {
		t.Fatal(err)
	}
	f := parseSVG(t, buf.Bytes())
	if f.groups["sleep"] != 24 || f.inspected != "8012" || !f.mark {
		t.Errorf("25 sleeps, one inspected: groups %v, inspected %q", f.groups, f.inspected)
	}
	if len(f.overflow) > 0 {
		t.Errorf("text past the picture's %d px: %q", f.width, f.overflow)
	}
	if want := []string{"box-iface", "veth", "bridge", "nat", "port"}; !reflect.DeepEqual(f.hops, want) {
		t.Errorf("the network path: %v, want %v", f.hops, want)
	}
	for _, want := range []string{"devices: 2 nodes, 1 usable", "10.99.0.5/16", "veth1a2b3c4d", "10.99.0.1/16", "2 iptables rules", "host:8080 → box 80/tcp"} {
		if !slices.ContainsFunc(f.texts, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("no text with %q in the picture", want)
		}
	}
	// The long path is all there, broken at slashes: nothing cut.
	if joined := strings.Join(f.texts, ""); !strings.Contains(joined, r.Cgroup.Outside) {
		t.Errorf("the cgroup path %s is not whole in the picture", r.Cgroup.Outside)
	}
	if f.bars["memory"] != "0.250" || f.bars["cpu"] != "0.500" || f.bars["pids"] != "none" {
		t.Errorf("bars: %v; want memory 0.250, cpu 0.500 (25%% of a 0.5 quota), pids said in words", f.bars)
	}
	if want := []string{"hostname", "rootfs", "user", "rootless", "caps", "devices", "seccomp"}; !reflect.DeepEqual(f.badges, want) {
		t.Errorf("badges %v, want %v", f.badges, want)
	}
	if os.Getenv("PBOX_SVG_OUT") != "" {
		os.WriteFile(os.Getenv("PBOX_SVG_OUT"), buf.Bytes(), 0o644) // to look at it
	}
}

func TestCapLinesSummarise(t *testing.T) {
	docker := append([]string(nil), capnames.DockerDefault...)
	for _, tt := range []struct {
		caps []string
		want string
	}{
		{nil, "none"},
		{capnames.Names, "all 41"},
		{docker, "Docker's default set (14)"},
		{append(append([]string(nil), docker...), "CAP_NET_ADMIN"), "15: Docker's default set + CAP_NET_ADMIN"},
		{docker[1:], "13: Docker's default set - CAP_CHOWN"},
		{capnames.Names[1:], "all but 1: without CAP_CHOWN"},
	} {
		lines := capLines(Security{CapEff: tt.caps, CapEffHex: "x"})
		if !strings.HasPrefix(lines[0], tt.want) {
			t.Errorf("%d caps: %q, want %q", len(tt.caps), lines[0], tt.want)
		}
		for _, l := range lines[1:] {
			if len(strings.Fields(l)) > 4 {
				t.Errorf("line %q: more than 4 names", l)
			}
		}
	}
}

// esc matches encoding/xml's EscapeText, which it replaces.
func TestEscMatchesEncodingXML(t *testing.T) {
	for _, s := range []string{"plain", `a<b>&"c'`, "tab\tnl\ncr\r", "ctl\x01\x1f", "bad\xffutf8", "ünï©ødé ✓", "\uFFFE"} {
		var want bytes.Buffer
		xml.EscapeText(&want, []byte(s))
		if got := esc(s); got != want.String() {
			t.Errorf("esc(%q) = %q, want %q", s, got, want.String())
		}
	}
}
