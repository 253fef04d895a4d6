package box

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// pbox cp copies between the host and a box as docker cp does, through a
// tar stream: the source is walked into tar entries, the destination
// made from them. A box's files are the box's to plant, so every path on
// the box's side is resolved by the kernel inside the box's root
// (openat2 RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS: a symlink the box made
// never leads out, /proc/self/fd/N links are refused; a directory
// symlink on the way is followed only inside the root), every file is
// opened O_PATH first and read or written only if fstat says it is a
// regular file (a FIFO the box planted never blocks pbox, a device node
// is never opened), a file that is a symlink is copied as one and never
// written through, and
// setuid/setgid bits never cross into a box. The host's side goes
// through the same code with "/" as its root.

// Tree is one side of a copy: a root directory (the host's "/", a box's
// rootfs, or /proc/PID/root of a running box) and a path inside it.
type Tree struct {
	Root string
	Path string
}

// FilesRoot is where box id's files are, seen from the host: its running
// init's root (with its volumes and tmpfs mounts), or, for a stopped box,
// its rootfs.
func (h *Handle) FilesRoot() (string, error) {
	if st := h.Status(); st == StatusRunning || st == StatusPaused || st == StatusCreated {
		if h.Record.Pid <= 0 {
			return "", fmt.Errorf("box %s has no process to copy through", h.ID())
		}
		return fmt.Sprintf("/proc/%d/root", h.Record.Pid), nil
	}
	if h.Record.Rootfs == "" {
		return "", fmt.Errorf("box %s is stopped and ran on the host's own files: copy them with cp", h.ID())
	}
	return h.Record.Rootfs, nil
}

// IsDir reports whether t names a directory (false if it does not exist).
func (t Tree) IsDir() bool {
	fd, err := openInRoot(t.Root, t.Path, true) // inside the root: a directory symlink is its target
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// WriteTar writes t (a file, a symlink, or a directory and everything
// under it) to w as a tar stream whose entries are named under name.
// What is neither (devices, FIFOs, sockets) is left out and reported to
// skipped.
func (t Tree) WriteTar(w io.Writer, name string, skipped func(string)) error {
	tw := tar.NewWriter(w)
	if err := t.walk(tw, t.Path, name, skipped); err != nil {
		return err
	}
	return tw.Close()
}

func (t Tree) walk(tw *tar.Writer, p, name string, skipped func(string)) error {
	fd, err := openInRoot(t.Root, p, false)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	hdr := &tar.Header{Name: name, Mode: int64(st.Mode & 0o7777), ModTime: statTime(st)}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		rfd, err := reopen(fd, unix.O_RDONLY)
		if err != nil {
			return &os.PathError{Op: "open", Path: p, Err: err}
		}
		f := os.NewFile(uintptr(rfd), p)
		defer f.Close()
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.CopyN(tw, f, st.Size); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return &os.PathError{Op: "readlink", Path: p, Err: err}
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(buf[:n])
		return tw.WriteHeader(hdr)
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		dfd, err := reopen(fd, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return &os.PathError{Op: "open", Path: p, Err: err}
		}
		d := os.NewFile(uintptr(dfd), p)
		names, err := d.Readdirnames(-1)
		d.Close()
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := t.walk(tw, path.Join(p, n), name+"/"+n, skipped); err != nil {
				return err
			}
		}
		return nil
	default:
		if skipped != nil {
			skipped(p)
		}
		return nil
	}
}

func statTime(st unix.Stat_t) time.Time { return time.Unix(st.Mtim.Sec, st.Mtim.Nsec) }

// ErrNotDirectory is the destination of a tar stream that is not a
// directory.
var ErrNotDirectory = errors.New("not a directory")

// ReadTar makes the entries of the tar stream r under t, a directory.
// Every entry's name is cleaned and kept under t; each parent is resolved
// inside t's root; an existing file is written only if it is a regular
// file, and only in place; a symlink is made, never followed.
// intoBox drops setuid and setgid bits.
func (t Tree) ReadTar(r io.Reader, intoBox bool) error {
	if !t.IsDir() {
		return &os.PathError{Op: "copy into", Path: t.Path, Err: ErrNotDirectory}
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("the tar stream: %w", err)
		}
		rel := path.Clean("/" + hdr.Name)[1:]
		if rel == "" {
			continue
		}
		mode := uint32(hdr.Mode & 0o7777)
		if intoBox {
			mode &^= unix.S_ISUID | unix.S_ISGID
		}
		parent, base := path.Dir(path.Join(t.Path, rel)), path.Base(rel)
		pfd, err := openInRoot(t.Root, parent, true)
		if err != nil {
			return err
		}
		err = makeEntry(pfd, base, path.Join(parent, base), hdr, tr, mode)
		unix.Close(pfd)
		if err != nil {
			return err
		}
	}
}

// makeEntry makes one tar entry as base in the directory pfd (O_PATH).
func makeEntry(pfd int, base, full string, hdr *tar.Header, r io.Reader, mode uint32) error {
	var st unix.Stat_t
	exists := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
	switch hdr.Typeflag {
	case tar.TypeDir:
		if exists && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return nil
		}
		if err := unix.Mkdirat(pfd, base, mode); err != nil {
			return &os.PathError{Op: "mkdir", Path: full, Err: err}
		}
		return nil
	case tar.TypeSymlink:
		if exists {
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				return &os.PathError{Op: "symlink", Path: full, Err: unix.EISDIR}
			}
			unix.Unlinkat(pfd, base, 0)
		}
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return &os.PathError{Op: "symlink", Path: full, Err: err}
		}
		return nil
	case tar.TypeReg:
		// What is there is looked at through O_PATH (which opens nothing:
		// a FIFO does not block, a device node's open has no effect) and
		// written only if it is a regular file, through the same inode;
		// a new file is made with O_EXCL. O_NOFOLLOW: a symlink planted
		// there is never written through.
		var fd int
		pathFd, err := unix.Openat(pfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		switch {
		case err == nil:
			ferr := unix.Fstat(pathFd, &st)
			if ferr != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
				unix.Close(pathFd)
				return &os.PathError{Op: "write", Path: full, Err: ErrNotRegular}
			}
			fd, err = reopen(pathFd, unix.O_WRONLY)
			unix.Close(pathFd)
		case errors.Is(err, unix.ENOENT):
			fd, err = unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
		}
		if err != nil {
			return &os.PathError{Op: "create", Path: full, Err: err}
		}
		f := os.NewFile(uintptr(fd), full)
		defer f.Close()
		if err := f.Truncate(0); err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			return fmt.Errorf("%s: %w", full, err)
		}
		return unix.Fchmod(fd, mode)
	default:
		return nil // devices, FIFOs, hard links: not made
	}
}

// SplitCopyArg reads one argument of pbox cp: BOX:PATH or a host path
// ("-" for a tar stream). A host path with a colon is written ./a:b.
func SplitCopyArg(arg string) (boxID, p string) {
	if i := strings.Index(arg, ":"); i > 0 && !strings.Contains(arg[:i], "/") {
		return arg[:i], arg[i+1:]
	}
	return "", arg
}
