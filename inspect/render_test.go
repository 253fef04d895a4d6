package inspect

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The fixtures are reports collected live (pbox inspect --json) from a
// pbox box (pbox-init, sh, two sleeps), a --no-init box with zombies, and
// kthreadd on the host; the renderers must turn them into the goldens.
func TestRenderGolden(t *testing.T) {
	for _, fixture := range []string{"report-box", "report-noinit", "report-kthreadd"} {
		var r Report
		data, err := os.ReadFile(filepath.Join("testdata", fixture+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		for _, view := range []struct {
			suffix string
			render func(*bytes.Buffer, *Report) error
		}{
			{".txt", func(b *bytes.Buffer, r *Report) error { return RenderText(b, r) }},
			{".tree", func(b *bytes.Buffer, r *Report) error { return RenderTree(b, r) }},
			{".golden.json", func(b *bytes.Buffer, r *Report) error { return RenderJSON(b, r) }},
		} {
			var buf bytes.Buffer
			if err := view.render(&buf, &r); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", fixture+view.suffix)
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./inspect -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the rendering; if the change is meant, run go test ./inspect -update\n--- got\n%s", golden, buf.String())
			}
		}
	}
}

// The JSON keys are an interface for scripts: these must stay.
func TestJSONSchemaKeys(t *testing.T) {
	var buf bytes.Buffer
	RenderJSON(&buf, &Report{Namespaces: map[string]NSInfo{"pid": {Inode: 1, HostInode: 2, Isolated: true}}, Processes: []Process{{Pid: 5}}})
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"pid", "nspid", "comm", "cmdline", "namespaces", "hostname", "cgroup", "processes", "mounts", "warnings"} {
		if _, ok := m[k]; !ok {
			t.Errorf("top-level key %q missing", k)
		}
	}
	ns := m["namespaces"].(map[string]any)["pid"].(map[string]any)
	for _, k := range []string{"inode", "host_inode", "isolated"} {
		if _, ok := ns[k]; !ok {
			t.Errorf("namespaces.pid.%s missing", k)
		}
	}
	for obj, keys := range map[string][]string{
		"hostname": {"inside", "outside"},
		"cgroup":   {"version", "inside", "outside", "limits", "usage"},
		"mounts":   {"inside_count", "outside_count", "only_inside", "only_outside"},
	} {
		for _, k := range keys {
			if _, ok := m[obj].(map[string]any)[k]; !ok {
				t.Errorf("%s.%s missing", obj, k)
			}
		}
	}
	proc := m["processes"].([]any)[0].(map[string]any)
	for _, k := range []string{"pid", "nspid", "ppid", "comm", "state"} {
		if _, ok := proc[k]; !ok {
			t.Errorf("processes[].%s missing", k)
		}
	}
}
