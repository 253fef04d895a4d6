package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// tarEntry is what a test archive holds; written with the standard
// library's archive/tar (test-only: the pbox binary must not link it).
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

func sampleEntries(long bool) []tarEntry {
	name := "etc/motd"
	link := "../usr/share/motd"
	if long {
		name = "usr/" + strings.Repeat("d", 150) + "/" + strings.Repeat("f", 120)
		link = "/" + strings.Repeat("l", 130)
	}
	return []tarEntry{
		{hdr: tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o4755, Uid: 1000, Gid: 1001}, body: "hello\n"},
		{hdr: tar.Header{Name: "etc/link", Typeflag: tar.TypeSymlink, Linkname: link, Mode: 0o777}},
		{hdr: tar.Header{Name: "etc/hard", Typeflag: tar.TypeLink, Linkname: name}},
		{hdr: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666}},
		{hdr: tar.Header{Name: "run/fifo", Typeflag: tar.TypeFifo, Mode: 0o600}},
		{hdr: tar.Header{Name: "big", Typeflag: tar.TypeReg, Mode: 0o644}, body: strings.Repeat("x", 1500)},
	}
}

// Our reader must see exactly what archive/tar sees, in every format
// archive/tar writes.
func TestTarReaderMatchesArchiveTar(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format tar.Format
		long   bool
	}{
		{"ustar", tar.FormatUSTAR, false},
		{"pax", tar.FormatPAX, false},
		{"pax-long", tar.FormatPAX, true},
		{"gnu", tar.FormatGNU, false},
		{"gnu-long", tar.FormatGNU, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := buildTar(t, tc.format, sampleEntries(tc.long))
			want := tar.NewReader(bytes.NewReader(data))
			got := newTarReader(bytes.NewReader(data))
			for {
				wh, werr := want.Next()
				gh, gerr := got.Next()
				if werr == io.EOF || gerr == io.EOF {
					if werr != gerr {
						t.Fatalf("end: archive/tar %v, ours %v", werr, gerr)
					}
					return
				}
				if werr != nil || gerr != nil {
					t.Fatalf("archive/tar %v, ours %v", werr, gerr)
				}
				if wh.Name != gh.Name || wh.Linkname != gh.Linkname || wh.Typeflag != gh.Type ||
					wh.Mode != gh.Mode || wh.Uid != gh.UID || wh.Gid != gh.GID || wh.Size != gh.Size ||
					wh.Devmajor != gh.Devmajor || wh.Devminor != gh.Devminor || !wh.ModTime.Equal(gh.ModTime) {
					t.Errorf("archive/tar %+v\nours %+v", wh, gh)
				}
				wb, _ := io.ReadAll(want)
				gb, _ := io.ReadAll(got)
				if !bytes.Equal(wb, gb) {
					t.Errorf("%s: content differs", gh.Name)
				}
			}
		})
	}
}

func TestTarReaderBigIDsAndSparse(t *testing.T) {
	// GNU writes ids past octal's 7 digits in base-256.
	data := buildTar(t, tar.FormatGNU, []tarEntry{{hdr: tar.Header{Name: "f", Typeflag: tar.TypeReg, Uid: 1 << 30, Gid: 3 << 25}, body: "x"}})
	h, err := newTarReader(bytes.NewReader(data)).Next()
	if err != nil || h.UID != 1<<30 || h.GID != 3<<25 {
		t.Errorf("base-256 ids: %+v %v", h, err)
	}
	// A GNU sparse entry (archive/tar cannot write one: patch the type of
	// a plain header and fix its checksum) is refused by name.
	data = buildTar(t, tar.FormatGNU, []tarEntry{{hdr: tar.Header{Name: "s", Typeflag: tar.TypeReg}, body: "x"}})
	data[156] = 'S'
	copy(data[148:156], "        ")
	sum := 0
	for _, c := range data[:512] {
		sum += int(c)
	}
	copy(data[148:156], fmt.Sprintf("%06o\x00 ", sum))
	if _, err := newTarReader(bytes.NewReader(data)).Next(); err == nil || !strings.Contains(err.Error(), "sparse") {
		t.Errorf("sparse: %v", err)
	}
}

func TestTarReaderRejectsGarbage(t *testing.T) {
	junk := bytes.Repeat([]byte("not a tar file "), 100)
	if _, err := newTarReader(bytes.NewReader(junk)).Next(); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("garbage: %v", err)
	}
	data := buildTar(t, tar.FormatPAX, sampleEntries(false))
	r := newTarReader(bytes.NewReader(data[:len(data)/3]))
	var err error
	for err == nil {
		if _, err = r.Next(); err == nil {
			_, err = io.ReadAll(r)
		}
	}
	if err == io.EOF {
		t.Error("a truncated archive must not end cleanly")
	}
}

func FuzzTarReader(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newTarReader(bytes.NewReader(data))
		for i := 0; i < 100; i++ {
			if _, err := r.Next(); err != nil {
				return
			}
			io.Copy(io.Discard, r)
		}
	})
}
