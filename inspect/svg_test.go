package inspect

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbox-dev/pbox/internal/capnames"
)

// svgFacts parses an SVG as XML and gathers what a reader looks for.
type svgFacts struct {
	boundary       bool
	classes        map[string]int    // rect classes: pid1, zombie, node, host
	procs          map[string]string // host pid -> box pid
	isolated, seen map[string]bool   // namespace type -> isolated
}

func parseSVG(t *testing.T, data []byte) svgFacts {
	t.Helper()
	f := svgFacts{classes: map[string]int{}, procs: map[string]string{}, isolated: map[string]bool{}, seen: map[string]bool{}}
	d := xml.NewDecoder(bytes.NewReader(data))
	nsType := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, data)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := map[string]string{}
		for _, a := range se.Attr {
			attr[a.Name.Local] = a.Value
		}
		switch {
		case se.Name.Local == "rect" && attr["id"] == "box-boundary":
			f.boundary = true
		case se.Name.Local == "rect" && attr["class"] != "":
			f.classes[attr["class"]]++
		case se.Name.Local == "g" && attr["class"] == "proc":
			f.procs[attr["data-host-pid"]] = attr["data-box-pid"]
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
	}{
		{"report-noinit", 1, 3, map[string]string{"7000": "1", "7004": "9", "7005": "11", "7006": "13", "6990": "-"}},
		{"report-box", 1, 0, map[string]string{"7004": "1", "7003": "8", "7006": "9", "7000": "10", "7005": "-"}},
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
