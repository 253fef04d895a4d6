package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pbox-dev/pbox/internal/testutil"
)

func dir(name string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
}
func file(name, body string, mode int64) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode}, body: body}
}

// Two layers: the second deletes a file with a whiteout, empties a
// directory with an opaque marker (keeping its own new file) and
// overwrites a file.
func twoLayers(t *testing.T) [][]byte {
	l1 := buildTar(t, tar.FormatPAX, []tarEntry{
		dir("etc/"), file("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644),
		dir("data/"), file("data/keep", "keep\n", 0o644), file("data/gone", "gone\n", 0o644),
		dir("opq/"), file("opq/old1", "1", 0o644), file("opq/old2", "2", 0o644),
		file("bin/tool", "#!/bin/sh\n", 0o4755),
		{hdr: tar.Header{Name: "bin/link", Typeflag: tar.TypeSymlink, Linkname: "tool"}},
		{hdr: tar.Header{Name: "bin/hard", Typeflag: tar.TypeLink, Linkname: "bin/tool"}},
		{hdr: tar.Header{Name: "home/user/file", Typeflag: tar.TypeReg, Mode: 0o600, Uid: 1000, Gid: 1000}, body: "mine"},
		{hdr: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666}},
		{hdr: tar.Header{Name: "run/fifo", Typeflag: tar.TypeFifo, Mode: 0o600}},
		file("etc/motd", "old\n", 0o644),
	})
	l2 := buildTar(t, tar.FormatGNU, []tarEntry{
		file("data/.wh.gone", "", 0o644),
		file("opq/new", "new\n", 0o644),
		file("opq/.wh..wh..opq", "", 0o644),
		file("etc/motd", "new\n", 0o644),
	})
	return [][]byte{l1, l2}
}

// dockerSave writes what `docker save` writes: manifest.json and one
// layer.tar per layer.
func dockerSave(t *testing.T, layers [][]byte) string {
	return dockerSaveConfig(t, layers, "{}")
}

// dockerSaveConfig is dockerSave with the image config given.
func dockerSaveConfig(t *testing.T, layers [][]byte, config string) string {
	var entries []tarEntry
	var names []string
	for i, l := range layers {
		name := filepath.Join(strings.Repeat("a", 10)+string(rune('0'+i)), "layer.tar")
		names = append(names, name)
		entries = append(entries, tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}, body: string(l)})
	}
	m, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{"test:latest"}, "Layers": names}})
	entries = append(entries, tarEntry{hdr: tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg, Mode: 0o644}, body: string(m)},
		tarEntry{hdr: tar.Header{Name: "config.json", Typeflag: tar.TypeReg, Mode: 0o644}, body: config})
	p := filepath.Join(t.TempDir(), "image.tar")
	os.WriteFile(p, buildTar(t, tar.FormatPAX, entries), 0o644)
	return p
}

// ociLayout writes an OCI image layout as a tar: index.json points at a
// manifest blob whose layers are blobs (the second one gzip'd).
func ociLayout(t *testing.T, layers [][]byte, corrupt bool) string {
	var entries []tarEntry
	blob := func(data []byte) string {
		sum := sha256.Sum256(data)
		d := "sha256:" + hex.EncodeToString(sum[:])
		if corrupt {
			data = append([]byte(nil), data...)
			data[len(data)-1] ^= 1
		}
		entries = append(entries, tarEntry{hdr: tar.Header{Name: "blobs/sha256/" + hex.EncodeToString(sum[:]), Typeflag: tar.TypeReg, Mode: 0o644}, body: string(data)})
		return d
	}
	var descs []map[string]any
	for i, l := range layers {
		mt := "application/vnd.oci.image.layer.v1.tar"
		if i == 1 {
			var gz bytes.Buffer
			w := gzip.NewWriter(&gz)
			w.Write(l)
			w.Close()
			l = gz.Bytes()
			mt += "+gzip"
		}
		descs = append(descs, map[string]any{"mediaType": mt, "digest": blob(l), "size": len(l)})
	}
	corrupt = false // only the layers
	cfg := blob([]byte("{}"))
	man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": 2}, "layers": descs})
	md := blob(man)
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []map[string]any{
		{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(man)}}})
	entries = append(entries,
		tarEntry{hdr: tar.Header{Name: "oci-layout", Typeflag: tar.TypeReg, Mode: 0o644}, body: `{"imageLayoutVersion":"1.0.0"}`},
		tarEntry{hdr: tar.Header{Name: "index.json", Typeflag: tar.TypeReg, Mode: 0o644}, body: string(idx)})
	p := filepath.Join(t.TempDir(), "oci.tar")
	os.WriteFile(p, buildTar(t, tar.FormatPAX, entries), 0o644)
	return p
}

func quiet(string, ...any) {}

func checkUnpacked(t *testing.T, root string) {
	t.Helper()
	read := func(p string) string { b, _ := os.ReadFile(filepath.Join(root, p)); return string(b) }
	exists := func(p string) bool { _, err := os.Lstat(filepath.Join(root, p)); return err == nil }
	if read("etc/motd") != "new\n" || read("data/keep") != "keep\n" || read("opq/new") != "new\n" {
		t.Errorf("contents: motd %q keep %q new %q", read("etc/motd"), read("data/keep"), read("opq/new"))
	}
	for _, gone := range []string{"data/gone", "data/.wh.gone", "opq/old1", "opq/old2", "opq/.wh..wh..opq"} {
		if exists(gone) {
			t.Errorf("%s should be gone (whiteout/opaque)", gone)
		}
	}
	st, _ := os.Stat(filepath.Join(root, "bin/tool"))
	if st == nil || st.Mode()&os.ModeSetuid == 0 || st.Mode().Perm() != 0o755 {
		t.Errorf("bin/tool mode %v", st)
	}
	if l, _ := os.Readlink(filepath.Join(root, "bin/link")); l != "tool" {
		t.Errorf("symlink %q", l)
	}
	hard, _ := os.Stat(filepath.Join(root, "bin/hard"))
	if hard == nil || !os.SameFile(hard, st) {
		t.Error("bin/hard is not a hard link of bin/tool")
	}
	own, _ := os.Stat(filepath.Join(root, "home/user/file"))
	if own == nil || own.Sys().(*syscall.Stat_t).Uid != 1000 || own.Mode().Perm() != 0o600 {
		t.Errorf("owner/mode of home/user/file: %v", own)
	}
	dev, _ := os.Stat(filepath.Join(root, "dev/null"))
	if dev == nil || dev.Mode()&os.ModeCharDevice == 0 || dev.Sys().(*syscall.Stat_t).Rdev != 259 {
		t.Errorf("dev/null: %v", dev)
	}
	fifo, _ := os.Stat(filepath.Join(root, "run/fifo"))
	if fifo == nil || fifo.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("run/fifo: %v", fifo)
	}
}

func TestImportDockerSave(t *testing.T) {
	testutil.RequireRoot(t) // owners and device nodes
	out := filepath.Join(t.TempDir(), "rootfs")
	if err := Import(context.Background(), dockerSave(t, twoLayers(t)), out, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	checkUnpacked(t, out)
}

func TestImportOCILayoutGzipAndDigests(t *testing.T) {
	testutil.RequireRoot(t)
	out := filepath.Join(t.TempDir(), "rootfs")
	if err := Import(context.Background(), ociLayout(t, twoLayers(t), false), out, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	checkUnpacked(t, out)
	bad := filepath.Join(t.TempDir(), "rootfs")
	err := Import(context.Background(), ociLayout(t, twoLayers(t), true), bad, ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Errorf("a damaged blob: %v", err)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Error("a failed import left its directory behind")
	}
}

// Crafted layers that try to write outside the target: by name, through
// a relative symlink that climbs out, with a hard link, with a whiteout.
func TestImportRefusesEscapes(t *testing.T) {
	testutil.RequireRoot(t)
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	os.WriteFile(victim, []byte("untouched"), 0o644)
	for name, layer := range map[string][]tarEntry{
		"dotdot": {file("../../../../../../.."+victim, "pwned", 0o644)},
		"rel-symlink": {
			{hdr: tar.Header{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: "../../../../../../.." + outside}},
			file("evil/victim", "pwned", 0o644)},
		"hardlink": {{hdr: tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../../../../../.." + victim}}},
		"whiteout": {file("../../../../../../.."+filepath.Dir(victim)+"/.wh.victim", "", 0o644)},
	} {
		out := filepath.Join(t.TempDir(), "rootfs")
		err := Import(context.Background(), dockerSave(t, [][]byte{buildTar(t, tar.FormatPAX, layer)}), out, ImportOptions{})
		if !errors.Is(err, ErrTraversal) {
			t.Errorf("%s: err %v, want ErrTraversal", name, err)
		}
		if data, _ := os.ReadFile(victim); string(data) != "untouched" {
			t.Fatalf("%s: the file outside was changed: %q", name, data)
		}
		if entries, _ := os.ReadDir(outside); len(entries) != 1 {
			t.Fatalf("%s: something was written outside: %v", name, entries)
		}
	}
}

// An absolute symlink an earlier layer made is followed inside the root,
// as Docker does: writing through it lands in the rootfs, never outside.
func TestImportFollowsAbsoluteLinksInsideTheRoot(t *testing.T) {
	testutil.RequireRoot(t)
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	os.WriteFile(victim, []byte("untouched"), 0o644)
	layers := [][]byte{
		buildTar(t, tar.FormatPAX, []tarEntry{
			dir("opt/bin/"),
			{hdr: tar.Header{Name: "usr/local/bin", Typeflag: tar.TypeSymlink, Linkname: "/opt/bin"}},
			{hdr: tar.Header{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: outside}},
		}),
		buildTar(t, tar.FormatPAX, []tarEntry{
			file("usr/local/bin/tool", "tool", 0o755),
			file("evil/victim", "inside", 0o644),
			{hdr: tar.Header{Name: "usr/local/bin/hard", Typeflag: tar.TypeLink, Linkname: "usr/local/bin/tool"}},
		}),
	}
	out := filepath.Join(t.TempDir(), "rootfs")
	if err := Import(context.Background(), dockerSave(t, layers), out, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(out, "opt/bin/tool")); string(data) != "tool" {
		t.Errorf("usr/local/bin/tool should land in opt/bin: %q", data)
	}
	if data, _ := os.ReadFile(filepath.Join(out, outside, "victim")); string(data) != "inside" {
		t.Errorf("evil/victim should land inside the root at %s: %q", filepath.Join(out, outside), data)
	}
	if data, _ := os.ReadFile(victim); string(data) != "untouched" {
		t.Fatalf("the file outside was changed: %q", data)
	}
	a, _ := os.Stat(filepath.Join(out, "opt/bin/tool"))
	b, _ := os.Stat(filepath.Join(out, "opt/bin/hard"))
	if a == nil || b == nil || !os.SameFile(a, b) {
		t.Error("the hard link through the symlink should point at opt/bin/tool")
	}
}

func TestImportBadInput(t *testing.T) {
	junk := filepath.Join(t.TempDir(), "junk.tar")
	os.WriteFile(junk, bytes.Repeat([]byte("junk"), 1000), 0o644)
	notImage := filepath.Join(t.TempDir(), "plain.tar")
	os.WriteFile(notImage, buildTar(t, tar.FormatPAX, []tarEntry{file("hello", "x", 0o644)}), 0o644)
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	for _, tc := range []struct{ tarball, dir, want string }{
		{"/nonexistent.tar", t.TempDir(), "no such file"},
		{junk, filepath.Join(t.TempDir(), "r"), "not a tar archive"},
		{notImage, filepath.Join(t.TempDir(), "r"), "not an image archive"},
		{dockerSave(t, twoLayers(t)), full, "not empty"},
	} {
		if err := Import(context.Background(), tc.tarball, tc.dir, ImportOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s -> %s: err %v, want %q", tc.tarball, tc.dir, err, tc.want)
		}
	}
}

// ownFile is a layer entry the test's own user may chown to.
func ownFile(name string, size int) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Uid: os.Getuid(), Gid: os.Getgid()},
		body: strings.Repeat("\x00", size)}
}

func gzipped(t *testing.T, data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

func TestImportStopsAtMaxSize(t *testing.T) {
	// A gzip'd layer of zeros is a few KiB and unpacks to MiBs: the
	// budget stops it before it is written, and nothing is left.
	layer := gzipped(t, buildTar(t, tar.FormatPAX, []tarEntry{ownFile("a", 1<<20), ownFile("b", 1<<20), ownFile("c", 1<<20)}))
	out := filepath.Join(t.TempDir(), "rootfs")
	err := Import(context.Background(), dockerSave(t, [][]byte{layer}), out, ImportOptions{MaxSize: 2 << 20})
	if !errors.Is(err, ErrTooBig) || !strings.Contains(err.Error(), "--max-size") {
		t.Fatalf("err %v: want ErrTooBig naming --max-size", err)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Errorf("%s left behind: %v", out, serr)
	}
	if _, serr := os.Stat(PartialMarker(out)); !os.IsNotExist(serr) {
		t.Errorf("marker left behind: %v", serr)
	}
}

func TestImportCancelledRemovesItsOutput(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("interrupted by SIGINT"))
	parent := t.TempDir()
	out := filepath.Join(parent, "rootfs")
	os.Mkdir(out, 0o755) // an existing empty directory stays, emptied
	err := Import(ctx, dockerSave(t, [][]byte{buildTar(t, tar.FormatPAX, []tarEntry{ownFile("a", 10)})}), out, ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "interrupted by SIGINT") {
		t.Fatalf("err %v: want the cancellation's cause", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 || entries[0].Name() != "rootfs" {
		t.Errorf("want only the empty rootfs/ left in %s: %v", parent, entries)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("%s not emptied: %v", out, entries)
	}
}

func TestImportOverAKilledImportsOutput(t *testing.T) {
	tarball := dockerSave(t, [][]byte{buildTar(t, tar.FormatPAX, []tarEntry{ownFile("a", 10)})})
	out := filepath.Join(t.TempDir(), "rootfs")
	os.MkdirAll(filepath.Join(out, "half/written"), 0o755)
	// Not marked: someone's files, refused.
	if err := Import(context.Background(), tarball, out, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("err %v: an unmarked, non-empty DIR must be refused", err)
	}
	// Marked, as a SIGKILLed import leaves it: cleared and filled.
	os.WriteFile(PartialMarker(out), nil, 0o600)
	if err := Import(context.Background(), tarball, out, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 || entries[0].Name() != "a" {
		t.Errorf("want just the image's a in %s: %v", out, entries)
	}
	if _, err := os.Stat(PartialMarker(out)); !os.IsNotExist(err) {
		t.Errorf("the marker stays after a finished import: %v", err)
	}
}

func TestImportShowsProgress(t *testing.T) {
	var progress bytes.Buffer
	var logged []string
	out := filepath.Join(t.TempDir(), "rootfs")
	err := Import(context.Background(), dockerSave(t, [][]byte{buildTar(t, tar.FormatPAX, []tarEntry{ownFile("a", 3000)})}), out,
		ImportOptions{Progress: &progress, Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatal(err)
	}
	if p := progress.String(); !strings.Contains(p, "\r\x1b[Klayer 1/1: 3 KiB written") || !strings.HasSuffix(p, "\r\x1b[K") {
		t.Errorf("progress %q: want a redrawn 'layer 1/1: ... written' line, erased at the end", p)
	}
	if len(logged) != 3 || !strings.Contains(logged[1], "unpacked 1 layers (3 KiB)") || !strings.Contains(logged[2], "rootfs.image.json") {
		t.Errorf("log %q", logged)
	}
}

func TestImportKeepsTheImageConfig(t *testing.T) {
	cfg := `{"architecture":"amd64","config":{"Env":["PATH=/usr/local/bin:/usr/bin:/bin","APP=demo"],"Entrypoint":["/entry"],"Cmd":["serve","--port","80"],"WorkingDir":"/srv","User":"web"}}`
	out := filepath.Join(t.TempDir(), "rootfs")
	if err := Import(context.Background(), dockerSaveConfig(t, [][]byte{buildTar(t, tar.FormatPAX, []tarEntry{ownFile("a", 1)})}, cfg), out, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(out)
	if err != nil || c == nil {
		t.Fatalf("LoadConfig: %v %v", c, err)
	}
	if strings.Join(c.Env, " ") != "PATH=/usr/local/bin:/usr/bin:/bin APP=demo" || strings.Join(c.Entrypoint, " ") != "/entry" ||
		strings.Join(c.Cmd, " ") != "serve --port 80" || c.WorkingDir != "/srv" || c.User != "web" {
		t.Errorf("config %+v", c)
	}
	if _, err := os.Stat(filepath.Join(out, "rootfs.image.json")); err == nil {
		t.Error("the config is inside the rootfs, where the box sees it")
	}
	// A rootfs made another way has none.
	if c, err := LoadConfig(t.TempDir()); c != nil || err != nil {
		t.Errorf("no config: %v %v", c, err)
	}
}
