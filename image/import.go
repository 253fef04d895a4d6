package image

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/pbox-dev/pbox/internal/logf"
	"golang.org/x/sys/unix"
)

// ErrTraversal is returned (wrapped) for a layer entry that would write
// outside the target directory.
var ErrTraversal = errors.New("refused: escapes the target directory")

// archiveEntry is where one file of the outer tarball lies.
type archiveEntry struct{ offset, size int64 }

// ImportOptions are Import's settings; the zero value is quiet, with
// DefaultMaxSize.
type ImportOptions struct {
	// Logf reports each layer; nil is quiet.
	Logf logf.Logf
	// Progress, if not nil, gets a line redrawn in place ("\r") as bytes
	// are written: for a terminal.
	Progress io.Writer
	// MaxSize is the most the unpacked image may take (the sum of its
	// files' sizes, over all layers); 0 means DefaultMaxSize. Import also
	// stops before DIR's filesystem is left with less than FreeReserve.
	MaxSize int64
}

// DefaultMaxSize bounds an import unless told otherwise: a small gzip'd
// layer can unpack to gigabytes (a "zip bomb"), and an unbounded import
// fills the disk. Real images are far smaller.
const DefaultMaxSize = 8 << 30

// FreeReserve is what Import leaves free on DIR's filesystem.
const FreeReserve = 64 << 20

// ErrTooBig is returned (wrapped) when an image would exceed MaxSize or
// fill DIR's filesystem.
var ErrTooBig = errors.New("the image is too big")

// Import unpacks an image saved by `docker save` or an OCI image layout
// tarball into dir (new, empty, or the partial output of an import that
// was killed): it applies the first image's layers in order, with
// whiteouts (.wh.<name>) and opaque directories (.wh..wh..opq), keeping
// modes, owners, symlinks, hard links and device nodes. Every write goes
// through an os.Root on dir, so no entry, symlink or hard link can make it
// write outside dir. On error, or when ctx is cancelled (SIGINT), it
// removes what it made.
func Import(ctx context.Context, tarball, dir string, opt ImportOptions) error {
	if opt.Logf == nil {
		opt.Logf = logf.To(nil, "")
	}
	if opt.MaxSize <= 0 {
		opt.MaxSize = DefaultMaxSize
	}
	f, err := openUncompressed(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	index, err := indexArchive(f)
	if err != nil {
		return fmt.Errorf("%s: %w", tarball, err)
	}
	layers, configPath, err := findLayers(f, index)
	if err != nil {
		return fmt.Errorf("%s: %w", tarball, err)
	}
	var img imageFile
	if configPath != "" {
		if err := readJSON(f, index, configPath, &img); err != nil {
			return fmt.Errorf("%s: image config %s: %w", tarball, configPath, err)
		}
	}
	os.Remove(ConfigPath(dir)) // an earlier image's, in a DIR this one refills
	err = fillEmptyDir(dir, func() error {
		u := &unpacker{ctx: ctx, opt: opt, dir: dir}
		return u.unpack(f, index, layers, tarball)
	})
	if err != nil {
		return err
	}
	// The image's config goes next to its rootfs: pbox run --rootfs takes
	// its Env, Cmd and Entrypoint, WorkingDir and User, as docker does.
	if err := SaveConfig(dir, img.Config); err != nil {
		return fmt.Errorf("save the image config next to %s: %w", dir, err)
	}
	opt.Logf("%s: the image's config (env, command, working directory, user)", ConfigPath(dir))
	return nil
}

// unpacker carries an import's budget and progress across layers.
type unpacker struct {
	ctx      context.Context
	opt      ImportOptions
	dir      string
	written  int64 // bytes of file content so far
	shown    time.Time
	layer    string
	progress bool // a progress line is on screen
}

// unpack applies the layers, in order, to dir.
func (u *unpacker) unpack(f *os.File, index map[string]archiveEntry, layers []layerRef, tarball string) error {
	root, err := os.OpenRoot(u.dir)
	if err != nil {
		return err
	}
	defer root.Close()
	defer u.endProgress()
	for i, l := range layers {
		e, ok := index[l.path]
		if !ok {
			return fmt.Errorf("%s: layer %s is not in the archive", tarball, l.path)
		}
		u.layer = fmt.Sprintf("layer %d/%d", i+1, len(layers))
		n, err := u.applyLayer(root, io.NewSectionReader(f, e.offset, e.size), l.digest)
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i+1, l.path, err)
		}
		u.endProgress()
		u.opt.Logf("layer %d/%d %s: %d entries", i+1, len(layers), l.path, n)
	}
	u.opt.Logf("%s: unpacked %d layers (%s) from %s", u.dir, len(layers), sizeText(u.written), tarball)
	return nil
}

// budget charges n more bytes to the import, refusing them past MaxSize
// or when DIR's filesystem would be left with less than FreeReserve.
func (u *unpacker) budget(n int64) error {
	if err := u.ctx.Err(); err != nil {
		return context.Cause(u.ctx)
	}
	u.written += n
	if u.written > u.opt.MaxSize {
		return fmt.Errorf("%w: it unpacks to more than %s: raise --max-size if it is real", ErrTooBig, sizeText(u.opt.MaxSize))
	}
	if n > 0 {
		var fs unix.Statfs_t
		if unix.Statfs(u.dir, &fs) == nil {
			if free := int64(fs.Bavail) * int64(fs.Bsize); free-n < FreeReserve {
				return fmt.Errorf("%w: %s has %s free, and the next file needs %s: free some space or import elsewhere", ErrTooBig, u.dir, sizeText(free), sizeText(n))
			}
		}
	}
	u.showProgress()
	return nil
}

// showProgress redraws the progress line, at most ten times a second.
func (u *unpacker) showProgress() {
	if u.opt.Progress == nil || time.Since(u.shown) < 100*time.Millisecond {
		return
	}
	u.shown = time.Now()
	fmt.Fprintf(u.opt.Progress, "\r\x1b[K%s: %s written", u.layer, sizeText(u.written))
	u.progress = true
}

func (u *unpacker) endProgress() {
	if u.progress {
		fmt.Fprint(u.opt.Progress, "\r\x1b[K")
		u.progress = false
	}
}

// sizeText writes a size in binary units (MiB, GiB).
func sizeText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", (n+1023)/1024)
}

// openUncompressed opens the tarball, decompressing a gzip'd one (docker
// save | gzip) into an unlinked temporary file, since layers are read
// by offset.
func openUncompressed(tarball string) (*os.File, error) {
	f, err := os.Open(tarball)
	if err != nil {
		return nil, err
	}
	magic := make([]byte, 2)
	if _, err := io.ReadFull(f, magic); err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		f.Seek(0, io.SeekStart)
		return f, nil
	}
	defer f.Close()
	f.Seek(0, io.SeekStart)
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tarball, err)
	}
	tmp, err := os.CreateTemp("", "pbox-import-*.tar")
	if err != nil {
		return nil, err
	}
	os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, zr); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("%s: gunzip: %w", tarball, err)
	}
	tmp.Seek(0, io.SeekStart)
	return tmp, nil
}

// indexArchive records where each regular file of the outer tar lies.
func indexArchive(f *os.File) (map[string]archiveEntry, error) {
	index := map[string]archiveEntry{}
	// archive/tar reads a header's blocks and nothing more before Next
	// returns: what it consumed so far is where the entry's data starts.
	in := &countingReader{r: bufio.NewReaderSize(f, 1<<16)}
	tr := tar.NewReader(in)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, tar.ErrHeader) {
			return nil, fmt.Errorf("not a tar archive (%w): give the file docker save or podman save wrote", err)
		}
		if err != nil {
			return nil, fmt.Errorf("read the archive: %w", err)
		}
		if h.Typeflag == tar.TypeGNUSparse {
			return nil, fmt.Errorf("%s: a sparse file: not supported in an image archive (re-save the image with docker save)", h.Name)
		}
		if h.Typeflag == tar.TypeReg || h.Typeflag == tarRegA || h.Typeflag == tar.TypeCont {
			index[path.Clean(strings.TrimPrefix(h.Name, "./"))] = archiveEntry{in.n, h.Size}
		}
	}
	if len(index) == 0 {
		return nil, errors.New("not an image archive (no files in it)")
	}
	return index, nil
}

type layerRef struct {
	path   string
	digest string // "sha256:..." to verify, when known
}

func readJSON(f *os.File, index map[string]archiveEntry, name string, v any) error {
	e, ok := index[name]
	if !ok {
		return fmt.Errorf("%s missing", name)
	}
	if err := json.NewDecoder(io.NewSectionReader(f, e.offset, e.size)).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// findLayers reads the image's layer list: from manifest.json (docker
// save) or from index.json and the manifest blob (OCI image layout).
func findLayers(f *os.File, index map[string]archiveEntry) (layers []layerRef, config string, err error) {
	if _, ok := index["manifest.json"]; ok {
		var m []struct {
			Config   string
			RepoTags []string
			Layers   []string
		}
		if err := readJSON(f, index, "manifest.json", &m); err != nil {
			return nil, "", err
		}
		if len(m) == 0 {
			return nil, "", errors.New("manifest.json lists no image")
		}
		var refs []layerRef
		for _, l := range m[0].Layers {
			ref := layerRef{path: path.Clean(l)}
			if hex, ok := strings.CutPrefix(ref.path, "blobs/sha256/"); ok {
				ref.digest = "sha256:" + hex
			}
			refs = append(refs, ref)
		}
		if m[0].Config != "" {
			config = path.Clean(m[0].Config)
		}
		return refs, config, nil
	}
	if _, ok := index["index.json"]; !ok {
		return nil, "", errors.New("neither manifest.json (docker save) nor index.json (OCI image layout) in it: not an image archive")
	}
	var idx imageIndex
	if err := readJSON(f, index, "index.json", &idx); err != nil {
		return nil, "", err
	}
	desc, err := pickManifest(f, index, idx.Manifests, 0)
	if err != nil {
		return nil, "", err
	}
	var m manifest
	if err := readJSON(f, index, blobPath(desc.Digest), &m); err != nil {
		return nil, "", err
	}
	var refs []layerRef
	for _, l := range m.Layers {
		refs = append(refs, layerRef{path: blobPath(l.Digest), digest: l.Digest})
	}
	return refs, blobPath(m.Config.Digest), nil
}

// pickManifest follows nested indexes to an image manifest, preferring
// linux/amd64 (then the first) when an index lists several platforms.
func pickManifest(f *os.File, index map[string]archiveEntry, list []descriptor, depth int) (descriptor, error) {
	if len(list) == 0 || depth > 4 {
		return descriptor{}, errors.New("the image index lists no manifest")
	}
	d := list[0]
	for _, c := range list {
		if c.Platform != nil && c.Platform.OS == "linux" && c.Platform.Architecture == "amd64" {
			d = c
			break
		}
	}
	if d.MediaType == mediaTypeImageIndex || d.MediaType == "application/vnd.docker.distribution.manifest.list.v2+json" {
		var nested imageIndex
		if err := readJSON(f, index, blobPath(d.Digest), &nested); err != nil {
			return descriptor{}, err
		}
		return pickManifest(f, index, nested.Manifests, depth+1)
	}
	return d, nil
}

func blobPath(digest string) string {
	alg, hex, _ := strings.Cut(digest, ":")
	return path.Join("blobs", alg, hex)
}

// applyLayer unpacks one layer (plain or gzip'd tar) into root.
func (u *unpacker) applyLayer(root *os.Root, r io.Reader, digest string) (int, error) {
	var sum hash.Hash
	if strings.HasPrefix(digest, "sha256:") {
		sum = sha256.New()
		r = io.TeeReader(r, sum)
	}
	br := bufio.NewReaderSize(r, 1<<16)
	magic, _ := br.Peek(4)
	var layer io.Reader = br
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, err
		}
		layer = zr
	case len(magic) == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd:
		return 0, errors.New("zstd-compressed layer: pbox reads plain and gzip layers (re-save the image with docker save)")
	}
	// verify reads the blob to its end and checks its digest, if known.
	verify := func() error {
		if sum == nil {
			return nil
		}
		io.Copy(io.Discard, br) // the digest covers the whole blob
		if got := "sha256:" + hex.EncodeToString(sum.Sum(nil)); got != digest {
			return fmt.Errorf("digest mismatch: blob is %s, the manifest says %s (a damaged archive)", got, digest)
		}
		return nil
	}
	tr := tar.NewReader(layer)
	written := map[string]bool{} // what this layer made: opaque dirs keep it
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A damaged blob is what a digest says best.
			if merr := verify(); merr != nil {
				return n, merr
			}
			return n, fmt.Errorf("read the layer: %w", err)
		}
		if h.Typeflag == tar.TypeGNUSparse {
			return n, fmt.Errorf("%s: a sparse file: not supported in a layer", h.Name)
		}
		if err := u.budget(h.Size); err != nil {
			return n, err
		}
		if err := applyEntry(root, ctxReader{u.ctx, tr}, h, written); err != nil {
			return n, err
		}
		n++
	}
	return n, verify()
}

// entryPath turns a layer entry name into a path relative to the root,
// refusing any that climb out with "..".
func entryPath(name string) (string, error) {
	clean := strings.TrimPrefix(name, "./")
	clean = strings.TrimLeft(clean, "/")
	for _, part := range strings.Split(clean, "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q: %w", name, ErrTraversal)
		}
	}
	clean = path.Clean(clean)
	if clean == "." || clean == "" {
		return ".", nil
	}
	return clean, nil
}

// tarRegA is the old type byte of a regular file (NUL), which archive/tar
// still returns for archives written that way.
const tarRegA = '\x00'

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ctxReader stops a long copy (one big file) when ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

func applyEntry(root *os.Root, tr io.Reader, h *tar.Header, written map[string]bool) error {
	p, err := entryPath(h.Name)
	if err != nil {
		return err
	}
	dir, base, err := placeInRoot(root, p)
	if err != nil {
		return fmt.Errorf("entry %q: %w", h.Name, err)
	}
	p = path.Join(dir, base)
	// Whiteouts: a lower layer's file (or a directory's whole content)
	// is deleted.
	if base == ".wh..wh..opq" {
		return opaque(root, dir, written)
	}
	if name, ok := strings.CutPrefix(base, ".wh."); ok {
		return wrap(root.RemoveAll(path.Join(dir, name)), h.Name)
	}
	if dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return wrap(err, h.Name)
		}
	}
	mode := fs.FileMode(h.Mode & 0o777)
	if h.Mode&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if h.Mode&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if h.Mode&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	// Replace what a lower layer left there, unless both are directories.
	if st, err := root.Lstat(p); err == nil && p != "." && !(st.IsDir() && h.Typeflag == tar.TypeDir) {
		if err := root.RemoveAll(p); err != nil {
			return wrap(err, h.Name)
		}
	}
	written[p] = true
	switch h.Typeflag {
	case tar.TypeDir:
		if p != "." {
			if err := root.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return wrap(err, h.Name)
			}
		}
	case tar.TypeReg, tarRegA, tar.TypeCont:
		f, err := root.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return wrap(err, h.Name)
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return wrap(err, h.Name)
		}
	case tar.TypeSymlink:
		if err := root.Symlink(h.Linkname, p); err != nil {
			return wrap(err, h.Name)
		}
		return wrap(root.Lchown(p, h.Uid, h.Gid), h.Name)
	case tar.TypeLink:
		target, err := entryPath(h.Linkname)
		if err != nil {
			return err
		}
		tdir, tbase, err := placeInRoot(root, target)
		if err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
		return wrap(root.Link(path.Join(tdir, tbase), p), h.Name)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := mknodIn(root, dir, base, h); err != nil {
			return wrap(err, h.Name)
		}
	default:
		return fmt.Errorf("entry %q: tar type %q is not supported", h.Name, h.Typeflag)
	}
	if err := root.Lchown(p, h.Uid, h.Gid); err != nil {
		return wrap(err, h.Name)
	}
	if err := root.Chmod(p, mode); err != nil {
		return wrap(err, h.Name)
	}
	return wrap(root.Chtimes(p, h.ModTime, h.ModTime), h.Name)
}

// placeInRoot splits p into its directory, with the symlinks on the way
// followed as if root were / (an absolute link an earlier layer made, like
// usr/local/bin -> /opt/bin, leads to /opt/bin inside the rootfs, as
// Docker does), and its final name, which is not followed.
func placeInRoot(root *os.Root, p string) (dir, base string, err error) {
	dir, base = path.Split(p)
	dir, err = resolveInRoot(root, strings.TrimSuffix(dir, "/"))
	return dir, base, err
}

// resolveInRoot resolves the symlinks in dir (a path relative to root)
// the way chroot would: an absolute link starts again at root. A relative
// link that climbs above root is refused: nothing in an image needs that,
// and following it would mean writing outside root.
func resolveInRoot(root *os.Root, dir string) (string, error) {
	parts := strings.Split(dir, "/")
	var done []string
	for links := 0; len(parts) > 0; {
		part := parts[0]
		parts = parts[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", ErrTraversal
			}
			done = done[:len(done)-1]
			continue
		}
		cur := path.Join(append(append([]string{}, done...), part)...)
		st, err := root.Lstat(cur)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			done = append(done, part) // a directory, or not made yet
			continue
		}
		if links++; links > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", dir)
		}
		target, err := root.Readlink(cur)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			done = nil
		}
		parts = append(strings.Split(target, "/"), parts...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

// opaque empties dir of what lower layers put there, keeping what this
// layer wrote.
func opaque(root *os.Root, dir string, written map[string]bool) error {
	d, err := root.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return wrap(err, dir)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return wrap(err, dir)
	}
	for _, n := range names {
		p := path.Join(dir, n)
		if !written[p] {
			if err := root.RemoveAll(p); err != nil {
				return wrap(err, p)
			}
		}
	}
	return nil
}

// mknodIn makes a device node or fifo named base in dir, through a
// directory fd from the os.Root (os.Root has no Mknod).
func mknodIn(root *os.Root, dir, base string, h *tar.Header) error {
	d, err := root.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer d.Close()
	mode := uint32(h.Mode & 0o7777)
	switch h.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	case tar.TypeFifo:
		mode |= unix.S_IFIFO
	}
	return unix.Mknodat(int(d.Fd()), base, mode, int(unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor))))
}

// wrap names the entry and turns os.Root's escape error into ours.
func wrap(err error, name string) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "escapes") {
		return fmt.Errorf("entry %q: %w (%v)", name, ErrTraversal, err)
	}
	return fmt.Errorf("entry %q: %w", name, err)
}
