package image

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// tarEntry is what a test archive holds; written with the standard
// library's archive/tar, which pbox reads them with too.
type tarEntry struct {
	hdr  tar.Header
	body string
}

func buildTar(t *testing.T, format tar.Format, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		h.Format = format
		h.Size = int64(len(e.body))
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(1700000000, 0)
		}
		if err := w.WriteHeader(&h); err != nil {
			t.Fatalf("%v: %v", h.Name, err)
		}
		io.WriteString(w, e.body)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The index of an image archive points at each file's data, wherever
// archive/tar's headers (long names, PAX records) put it.
func TestIndexArchiveFindsEveryFilesData(t *testing.T) {
	for _, format := range []tar.Format{tar.FormatUSTAR, tar.FormatPAX, tar.FormatGNU} {
		long := strings.Repeat("d/", 60) + "file"
		if format == tar.FormatUSTAR {
			long = "short/file"
		}
		entries := []tarEntry{
			{hdr: tar.Header{Name: "a", Typeflag: tar.TypeReg, Mode: 0o644}, body: "first"},
			{hdr: tar.Header{Name: long, Typeflag: tar.TypeReg, Mode: 0o644, PAXRecords: map[string]string{}}, body: strings.Repeat("y", 700)},
			{hdr: tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755}},
			{hdr: tar.Header{Name: "z", Typeflag: tar.TypeReg, Mode: 0o644}, body: "last"},
		}
		data := buildTar(t, format, entries)
		f, err := os.CreateTemp(t.TempDir(), "archive")
		if err != nil {
			t.Fatal(err)
		}
		f.Write(data)
		f.Seek(0, io.SeekStart)
		index, err := indexArchive(f)
		if err != nil {
			t.Fatalf("%v: %v", format, err)
		}
		for _, e := range entries {
			if e.hdr.Typeflag != tar.TypeReg {
				continue
			}
			got, ok := index[e.hdr.Name]
			if !ok || got.size != int64(len(e.body)) || string(data[got.offset:got.offset+got.size]) != e.body {
				t.Errorf("%v: %s indexed as %+v", format, e.hdr.Name, got)
			}
		}
		f.Close()
	}

}
