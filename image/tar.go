package image

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Why not archive/tar: it imports os/user, whose user lookups pbox never
// needs (and which, built with cgo, link libc; pbox is built with
// CGO_ENABLED=0 anyway since the CNI library brings package net). Image
// layers are written by Go's archive/tar or GNU tar, in the ustar, PAX and
// GNU formats; this reader covers what they write (long names and links,
// PAX records, base-256 numbers) and refuses what it does not (sparse
// files), by name. Its tests read archive/tar's own output side by side.

// Tar entry types.
const (
	tarReg     = '0'
	tarRegA    = '\x00'
	tarLink    = '1'
	tarSymlink = '2'
	tarChar    = '3'
	tarBlock   = '4'
	tarDir     = '5'
	tarFifo    = '6'
	tarCont    = '7'
	tarPAX     = 'x'
	tarPAXG    = 'g'
	tarGNULong = 'L'
	tarGNULink = 'K'
	tarSparse  = 'S'
)

const tarBlockSize = 512

// tarHeader is one entry of a tar stream.
type tarHeader struct {
	Name     string
	Linkname string
	Type     byte
	Mode     int64
	UID, GID int
	Size     int64
	ModTime  time.Time
	Devmajor int64
	Devminor int64
	Offset   int64 // where the entry's data starts in the stream
}

// tarReader reads a tar stream entry by entry.
type tarReader struct {
	r         io.Reader
	pos       int64 // bytes consumed from r
	remaining int64 // data left in the current entry
	pad       int64 // padding after it
	global    map[string]string
}

func newTarReader(r io.Reader) *tarReader { return &tarReader{r: r} }

func (t *tarReader) Read(p []byte) (int, error) {
	if t.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > t.remaining {
		p = p[:t.remaining]
	}
	n, err := t.r.Read(p)
	t.pos += int64(n)
	t.remaining -= int64(n)
	if err == io.EOF && t.remaining > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (t *tarReader) skip(n int64) error {
	if n <= 0 {
		return nil
	}
	c, err := io.CopyN(io.Discard, t.r, n)
	t.pos += c
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (t *tarReader) readBlock(b []byte) error {
	n, err := io.ReadFull(t.r, b)
	t.pos += int64(n)
	return err
}

// Next skips the rest of the current entry and reads the next header. It
// returns io.EOF at the end of the archive.
func (t *tarReader) Next() (*tarHeader, error) {
	if err := t.skip(t.remaining + t.pad); err != nil {
		return nil, err
	}
	t.remaining, t.pad = 0, 0
	pax := map[string]string{}
	var longName, longLink string
	block := make([]byte, tarBlockSize)
	for {
		if err := t.readBlock(block); err != nil {
			if err == io.EOF {
				return nil, io.EOF // no end-of-archive blocks: tolerated
			}
			return nil, fmt.Errorf("tar: read header: %w", err)
		}
		if isZero(block) {
			return nil, io.EOF
		}
		h, err := parseHeader(block)
		if err != nil {
			return nil, err
		}
		switch h.Type {
		case tarPAX, tarPAXG, tarGNULong, tarGNULink:
			if h.Size > 1<<20 {
				return nil, fmt.Errorf("tar: %c header of %d bytes is too large", h.Type, h.Size)
			}
			data := make([]byte, h.Size)
			if err := t.readBlock(data); err != nil {
				return nil, fmt.Errorf("tar: read %c header: %w", h.Type, err)
			}
			if err := t.skip(padding(h.Size)); err != nil {
				return nil, err
			}
			switch h.Type {
			case tarGNULong:
				longName = cstring(data)
			case tarGNULink:
				longLink = cstring(data)
			case tarPAX:
				if err := parsePAX(data, pax); err != nil {
					return nil, err
				}
			case tarPAXG:
				if t.global == nil {
					t.global = map[string]string{}
				}
				if err := parsePAX(data, t.global); err != nil {
					return nil, err
				}
			}
			continue
		case tarSparse:
			return nil, fmt.Errorf("tar: %s is a GNU sparse file, which pbox does not read", h.Name)
		}
		if longName != "" {
			h.Name = longName
		}
		if longLink != "" {
			h.Linkname = longLink
		}
		for _, m := range []map[string]string{t.global, pax} {
			if err := applyPAX(h, m); err != nil {
				return nil, err
			}
		}
		switch h.Type {
		case tarLink, tarSymlink, tarChar, tarBlock, tarDir, tarFifo:
			if h.Type == tarDir || h.Type == tarSymlink || h.Type == tarLink {
				// These carry no data even if a size is written.
				h.Size = 0
			}
		}
		h.Offset = t.pos
		t.remaining, t.pad = h.Size, padding(h.Size)
		return h, nil
	}
}

func parseHeader(b []byte) (*tarHeader, error) {
	if err := checkSum(b); err != nil {
		return nil, err
	}
	var p parser
	h := &tarHeader{
		Name:     cstring(b[0:100]),
		Mode:     p.number(b[100:108]),
		UID:      int(p.number(b[108:116])),
		GID:      int(p.number(b[116:124])),
		Size:     p.number(b[124:136]),
		ModTime:  time.Unix(p.number(b[136:148]), 0),
		Type:     b[156],
		Linkname: cstring(b[157:257]),
	}
	magic := string(b[257:263])
	if magic == "ustar\x00" || magic == "ustar " {
		h.Devmajor = p.number(b[329:337])
		h.Devminor = p.number(b[337:345])
		if magic == "ustar\x00" { // POSIX: a prefix field extends the name
			if prefix := cstring(b[345:500]); prefix != "" {
				h.Name = prefix + "/" + h.Name
			}
		}
	}
	if p.err != nil {
		return nil, fmt.Errorf("tar: header of %q: %w", h.Name, p.err)
	}
	if h.Size < 0 {
		return nil, fmt.Errorf("tar: header of %q: negative size", h.Name)
	}
	return h, nil
}

// parser reads tar numbers: octal text, or base-256 (high bit set) for
// values octal cannot hold (GNU). The first error sticks.
type parser struct{ err error }

func (p *parser) number(b []byte) int64 {
	if len(b) > 0 && b[0]&0x80 != 0 {
		if b[0]&0x40 != 0 {
			p.err = errors.New("negative base-256 number")
			return 0
		}
		var x uint64
		for i, c := range b {
			if i == 0 {
				c &= 0x7f
			}
			if x>>56 != 0 {
				p.err = errors.New("base-256 number overflows")
				return 0
			}
			x = x<<8 | uint64(c)
		}
		if x > math.MaxInt64 {
			p.err = errors.New("base-256 number overflows")
			return 0
		}
		return int64(x)
	}
	s := strings.Trim(string(b), " \x00")
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 8, 64)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("bad octal number %q", s)
	}
	return n
}

// checkSum verifies the header checksum: the sum of its bytes with the
// checksum field read as spaces (unsigned; some old tars sum signed).
func checkSum(b []byte) error {
	var p parser
	want := p.number(b[148:156])
	if p.err != nil {
		return fmt.Errorf("tar: bad checksum field: %w", p.err)
	}
	var unsigned, signed int64
	for i, c := range b {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	if want != unsigned && want != signed {
		return errors.New("tar: header checksum mismatch: not a tar file, or a damaged one")
	}
	return nil
}

// parsePAX reads "length key=value\n" records into m.
func parsePAX(data []byte, m map[string]string) error {
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		if sp <= 0 {
			return errors.New("tar: malformed PAX record")
		}
		n, err := strconv.Atoi(string(data[:sp]))
		if err != nil || n <= sp+1 || n > len(data) || data[n-1] != '\n' {
			return errors.New("tar: malformed PAX record")
		}
		kv := string(data[sp+1 : n-1])
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return errors.New("tar: malformed PAX record")
		}
		m[k] = v
		data = data[n:]
	}
	return nil
}

func applyPAX(h *tarHeader, m map[string]string) error {
	for k, v := range m {
		var err error
		switch k {
		case "path":
			h.Name = v
		case "linkpath":
			h.Linkname = v
		case "size":
			h.Size, err = strconv.ParseInt(v, 10, 64)
		case "uid":
			h.UID, err = strconv.Atoi(v)
		case "gid":
			h.GID, err = strconv.Atoi(v)
		case "mtime":
			sec, _, _ := strings.Cut(v, ".")
			var s int64
			s, err = strconv.ParseInt(sec, 10, 64)
			h.ModTime = time.Unix(s, 0)
		default:
			if strings.HasPrefix(k, "GNU.sparse.") {
				return fmt.Errorf("tar: %s is a GNU sparse file, which pbox does not read", h.Name)
			}
		}
		if err != nil {
			return fmt.Errorf("tar: PAX %s=%q: %w", k, v, err)
		}
	}
	return nil
}

func padding(size int64) int64 { return (tarBlockSize - size%tarBlockSize) % tarBlockSize }

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
