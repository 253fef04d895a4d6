package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Mounting without races (runc's CVE-2019-19921 and CVE-2021-30465
// classes). The plan resolves every target inside the root on the host,
// but the root is a directory others may write to — a neighbour box
// using the same rootfs — and a target swapped for a symlink between the
// plan and the mount would, mounted by path, send the mount wherever the
// link points: onto the host's /proc/sys, or over the box's whole root.
//
// So Apply never mounts by path under the root. It opens each target
// with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) from a descriptor
// of the root (what pathrs-lite and runc do; pathrs-lite itself cost
// ~50 µs a call here against ~4 µs, for some 45 targets a start, so
// the few lines are pbox's own), checks that the descriptor is still
// the path the plan resolved — a
// target that changed makes the start fail, it never redirects the mount
// — and mounts onto the descriptor: mount(2) on /proc/self/fd/N, or, for
// bind mounts, open_tree + mount_setattr + move_mount, so a read-only
// bind is read-only before it is visible. Directories and files the mounts
// need are made the same way (mkdirat, openat on a verified parent).
// After pivot_root, targets under /proc and /sys must be procfs and sysfs
// (fstatfs) before they are masked or made read-only.

// Apply runs ops in order, logging each one first. It must run in the
// box's own mount namespace. root is the box's root directory on the host
// (the pivot_root target) for the ops before the pivot, "/" for those
// after it and for a box that keeps the host's files (its mounts are
// made in place).
func Apply(ops []Op, root string, log Logf) error {
	a := &applier{root: filepath.Clean(root)}
	defer a.close()
	for _, o := range ops {
		log.Printf("mount: %s", o)
		if err := a.apply(o); err != nil {
			a.removeMade()
			return fmt.Errorf("%s: %w", o, err)
		}
	}
	return nil
}

// removeMade removes the directories this Apply made in the root
// filesystem, newest first, when a start fails: the rootfs is the
// caller's directory, and a failed start leaves it as it was. A
// directory that is not empty, or has a mount on it, stays.
func (a *applier) removeMade() {
	if a.rootFile == nil {
		return
	}
	for i := len(a.made) - 1; i >= 0; i-- {
		dir, name := path.Split(a.made[i])
		how := inRootHow
		parent, err := unix.Openat2(int(a.rootFile.Fd()), "/"+dir, &how)
		if err != nil {
			continue
		}
		unix.Unlinkat(parent, name, unix.AT_REMOVEDIR)
		unix.Close(parent)
	}
}

type applier struct {
	root     string
	rootFile *os.File // opened on first use: after the root's own bind mount
	made     []string // directories made in the root (relative), for removeMade
}

func (a *applier) close() {
	if a.rootFile != nil {
		a.rootFile.Close()
	}
}

// inRoot reports whether target lies strictly under the root.
func (a *applier) inRoot(target string) bool {
	if a.root == "/" {
		return target != "/"
	}
	return strings.HasPrefix(target, a.root+"/")
}

func (a *applier) rel(target string) string {
	if a.root == "/" {
		return target
	}
	return strings.TrimPrefix(target, a.root)
}

func (a *applier) openRoot() (*os.File, error) {
	if a.rootFile == nil {
		f, err := os.OpenFile(a.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		a.rootFile = f
	}
	return a.rootFile, nil
}

// handle opens target (O_PATH) inside the root, making the directories
// on its way if mkdir, and checks it is the path the plan resolved.
func (a *applier) handle(target string, mkdir bool) (*os.File, error) {
	root, err := a.openRoot()
	if err != nil {
		return nil, err
	}
	f, err := openInRoot(root, a.rel(target), mkdir, &a.made)
	if err != nil {
		return nil, err
	}
	if a.root != "/" {
		if got, err := os.Readlink(fdPath(f)); err != nil || got != target {
			f.Close()
			return nil, fmt.Errorf("%w: %s now leads to %q: the root filesystem changed while the box started (is another box using it?): refused", ErrEscape, target, got)
		}
	}
	return f, nil
}

// inRootHow resolves a path as if the root descriptor were /: symlinks,
// absolute or with "..", cannot leave it; magic links (/proc/self/fd/N)
// are not followed at all.
var inRootHow = unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}

// openInRoot opens rel (O_PATH) inside root; with mkdir it first makes
// the directories on its way, one component at a time, each step
// resolved inside the root again, and appends each one it made to made.
func openInRoot(root *os.File, rel string, mkdir bool, made *[]string) (*os.File, error) {
	how := inRootHow
	fd, err := unix.Openat2(int(root.Fd()), rel, &how)
	if err == unix.ENOENT && mkdir {
		prefix := ""
		for _, part := range strings.Split(strings.Trim(rel, "/"), "/") {
			parent, err := unix.Openat2(int(root.Fd()), "/"+prefix, &how)
			if err != nil {
				return nil, err
			}
			err = unix.Mkdirat(parent, part, 0o755)
			unix.Close(parent)
			if err != nil && err != unix.EEXIST {
				return nil, fmt.Errorf("mkdir %s: %w", prefix+"/"+part, err)
			}
			if err == nil {
				*made = append(*made, strings.TrimPrefix(prefix+"/"+part, "/"))
			}
			prefix += "/" + part
		}
		fd, err = unix.Openat2(int(root.Fd()), rel, &how)
	}
	if err != nil {
		return nil, &os.PathError{Op: "openat2", Path: rel, Err: err}
	}
	return os.NewFile(uintptr(fd), rel), nil
}

func fdPath(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }

// at runs fn on a path for target: the target itself when it is not
// under the root, else /proc/self/fd/N of a verified handle.
func (a *applier) at(target string, mkdir bool, fn func(path string) error) error {
	if !a.inRoot(target) {
		if mkdir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		}
		return fn(target)
	}
	f, err := a.handle(target, mkdir)
	if err != nil {
		return err
	}
	defer f.Close()
	return fn(fdPath(f))
}

func (a *applier) apply(o Op) error {
	switch o.Kind {
	case OpMount:
		if o.Flags&unix.MS_BIND != 0 && o.Flags&unix.MS_REMOUNT == 0 {
			return a.bind(o)
		}
		if o.CopyUp {
			return a.copyUp(o)
		}
		// A new filesystem, a propagation change or a remount, on the
		// verified target.
		return a.at(o.Target, false, func(p string) error { return unix.Mount(o.Source, p, o.FSType, o.Flags, o.Data) })
	case OpMkdir:
		return a.at(o.Target, true, func(string) error { return nil })
	case OpMknod:
		return a.inParent(o.Target, func(dir *os.File, name string) error { return mknod(dir, name, o) })
	case OpSymlink:
		return a.inParent(o.Target, func(dir *os.File, name string) error {
			return unix.Symlinkat(o.Source, int(dir.Fd()), name)
		})
	case OpPivotRoot:
		return pivotRoot(o.Target)
	case OpMask:
		return a.mask(o.Target)
	case OpReadOnly:
		return a.readOnly(o.Target)
	case OpRemountRO:
		return a.at(o.Target, false, remountRO)
	case OpMoveRoot:
		return moveRoot(o.Target)
	case OpWrite:
		return os.WriteFile(o.Target, []byte(o.Data), 0)
	}
	return fmt.Errorf("unknown operation %q", o.Kind)
}

// copyUp mounts a tmpfs on o.Target and copies into it what the
// directory held: the directory is opened before the mount (its
// descriptor keeps the old contents reachable), the new mount after it.
func (a *applier) copyUp(o Op) error {
	return a.at(o.Target, false, func(old string) error {
		src, err := unix.Open(old, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(src)
		if err := unix.Mount(o.Source, old, o.FSType, o.Flags, o.Data); err != nil {
			return err
		}
		return a.at(o.Target, false, func(mounted string) error {
			dst, err := unix.Open(mounted, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(dst)
			return copyTree(src, dst)
		})
	})
}

// copyTree copies the entries of directory src into directory dst:
// files with their contents, directories, symlinks, with modes and
// owners. Nothing is followed: every step is *at(2) on a descriptor.
func copyTree(src, dst int) error {
	dup, err := unix.Dup(src) // Readdirnames owns (and closes) its copy
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(dup), "copyup-src")
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(src, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		mode := st.Mode & 0o7777
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if err := unix.Mkdirat(dst, name, mode); err != nil {
				return err
			}
			s, err := unix.Openat(src, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			t, err := unix.Openat(dst, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err == nil {
				err = copyTree(s, t)
				unix.Close(t)
			}
			unix.Close(s)
			if err != nil {
				return err
			}
		case unix.S_IFREG:
			s, err := unix.Openat(src, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			t, err := unix.Openat(dst, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
			if err == nil {
				err = copyFD(t, s)
				unix.Close(t)
			}
			unix.Close(s)
			if err != nil {
				return err
			}
		case unix.S_IFLNK:
			buf := make([]byte, unix.PathMax)
			n, err := unix.Readlinkat(src, name, buf)
			if err != nil {
				return err
			}
			if err := unix.Symlinkat(string(buf[:n]), dst, name); err != nil {
				return err
			}
		default:
			continue // devices, fifos and sockets are not copied up
		}
		if err := unix.Fchownat(dst, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			if err := unix.Fchmodat(dst, name, mode, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyFD copies everything from src to dst.
func copyFD(dst, src int) error {
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(src, buf)
		if n > 0 {
			if _, werr := unix.Write(dst, buf[:n]); werr != nil {
				return werr
			}
		}
		if n == 0 || err != nil {
			return err
		}
	}
}

// inParent runs fn in target's directory (made if missing, verified),
// with target's last name.
func (a *applier) inParent(target string, fn func(dir *os.File, name string) error) error {
	parent, name := filepath.Dir(target), filepath.Base(target)
	if !a.inRoot(parent) && parent != a.root {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return err
		}
		d, err := os.OpenFile(parent, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer d.Close()
		return fn(d, name)
	}
	var d *os.File
	var err error
	if parent == a.root {
		d, err = a.openRoot()
	} else {
		d, err = a.handle(parent, true)
		if err == nil {
			defer d.Close()
		}
	}
	if err != nil {
		return err
	}
	return fn(d, name)
}

// bind mounts o.Source on o.Target: the source cloned (open_tree),
// given its flags (mount_setattr: ro, nosuid, nodev, noexec) while still
// detached, then moved onto the verified target. The target is made like
// the source: a directory for a directory, an empty file otherwise.
func (a *applier) bind(o Op) error {
	st, err := os.Stat(o.Source)
	if err != nil {
		return err
	}
	if st.IsDir() {
		if err := a.at(o.Target, true, func(string) error { return nil }); err != nil {
			return err
		}
	} else if err := a.inParent(o.Target, func(dir *os.File, name string) error {
		fd, err := unix.Openat(int(dir.Fd()), name, unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return err
		}
		return unix.Close(fd)
	}); err != nil {
		return err
	}
	treeFlags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
	if o.Flags&unix.MS_REC != 0 {
		treeFlags |= unix.AT_RECURSIVE
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, o.Source, uint(treeFlags))
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", o.Source, err)
	}
	defer unix.Close(tree)
	// The recursive attributes on the whole copy, then the bind mount's
	// own on its top mount alone (as a remount of it would set them).
	for _, set := range []struct {
		flags uintptr
		at    int
	}{{o.Recursive, unix.AT_EMPTY_PATH | unix.AT_RECURSIVE}, {o.Flags, unix.AT_EMPTY_PATH}} {
		var attr unix.MountAttr
		for _, f := range []struct {
			ms   uintptr
			attr uint64
		}{{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY}, {unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
			{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV}, {unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC}} {
			if set.flags&f.ms != 0 {
				attr.Attr_set |= f.attr
			}
		}
		if attr.Attr_set != 0 {
			if err := unix.MountSetattr(tree, "", uint(set.at), &attr); err != nil {
				return fmt.Errorf("mount_setattr %s: %w", o.Source, err)
			}
		}
	}
	return a.moveOnto(tree, o.Target)
}

// moveOnto attaches a detached mount at target (verified when under the
// root).
func (a *applier) moveOnto(tree int, target string) error {
	if !a.inRoot(target) {
		return unix.MoveMount(tree, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
	}
	f, err := a.handle(target, false)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.MoveMount(tree, "", int(f.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// kernelFS opens a target under /proc or /sys after pivot_root and checks
// it is on procfs or sysfs: something mounted over /proc by the box's own
// config, or /proc swapped for a symlink by a neighbour sharing the root
// filesystem, must not turn a mask into a mount elsewhere — or into no
// mount at all (CVE-2019-19921). The directory is opened and checked
// first, and the target looked up beneath that descriptor (no symlinks):
// checked by name twice, a swap between the two lookups could make a
// present target look missing. A target its directory lacks (kernels
// differ in what /proc holds) is skipped: (nil, nil).
func (a *applier) kernelFS(target string) (*os.File, error) {
	var want int64
	switch {
	case strings.HasPrefix(target, "/proc/"):
		want = unix.PROC_SUPER_MAGIC
	case strings.HasPrefix(target, "/sys/"):
		want = unix.SYSFS_MAGIC
	}
	check := func(fd int, what string) error {
		if want == 0 {
			return nil
		}
		var st unix.Statfs_t
		if err := unix.Fstatfs(fd, &st); err != nil {
			return err
		}
		if st.Type != want {
			return fmt.Errorf("%s is not on %s (filesystem type %#x): something is mounted over it, or the root filesystem changed while the box started; refused",
				what, map[int64]string{unix.PROC_SUPER_MAGIC: "procfs", unix.SYSFS_MAGIC: "sysfs"}[want], st.Type)
		}
		return nil
	}
	dir := filepath.Dir(target)
	d, err := a.handle(dir, false)
	if err != nil {
		if want == 0 && (errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOENT)) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w (its directory %s should be there)", target, err, dir)
	}
	defer d.Close()
	if err := check(int(d.Fd()), dir); err != nil {
		return nil, err
	}
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := unix.Openat2(int(d.Fd()), filepath.Base(target), &how)
	if err == unix.ENOENT {
		return nil, nil
	}
	if err != nil {
		return nil, &os.PathError{Op: "openat2", Path: target, Err: err}
	}
	if err := check(fd, target); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), target), nil
}

// mask hides target: /dev/null bound over a file, an empty read-only
// tmpfs over a directory; both with the new mount API, which needs no
// /proc (a box without a PID namespace has none).
func (a *applier) mask(target string) error {
	f, err := a.kernelFS(target)
	if f == nil || err != nil {
		return err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	var tree int
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
		if err != nil {
			return fmt.Errorf("fsopen tmpfs: %w", err)
		}
		defer unix.Close(fsfd)
		if err := unix.FsconfigSetString(fsfd, "size", "0"); err != nil {
			return err
		}
		if err := unix.FsconfigCreate(fsfd); err != nil {
			return err
		}
		tree, err = unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
		if err != nil {
			return fmt.Errorf("fsmount tmpfs: %w", err)
		}
	} else {
		tree, err = unix.OpenTree(unix.AT_FDCWD, "/dev/null", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return fmt.Errorf("open_tree /dev/null: %w", err)
		}
	}
	defer unix.Close(tree)
	return unix.MoveMount(tree, "", int(f.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// readOnly binds target on itself, read-only before it is attached.
func (a *applier) readOnly(target string) error {
	f, err := a.kernelFS(target)
	if f == nil || err != nil {
		return err
	}
	defer f.Close()
	tree, err := unix.OpenTree(int(f.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", target, err)
	}
	defer unix.Close(tree)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		return fmt.Errorf("mount_setattr %s: %w", target, err)
	}
	return unix.MoveMount(tree, "", int(f.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// mknod makes a device node in dir: a character device of the standard
// set (bound from the host's /dev where mknod is not allowed, as in a
// user namespace), or an OCI device of any type, with its mode and owner.
func mknod(dir *os.File, name string, o Op) error {
	typ := uint32(unix.S_IFCHR)
	switch o.FSType {
	case "", "c", "u":
	case "b":
		typ = unix.S_IFBLK
	case "p":
		typ = unix.S_IFIFO
	default:
		return fmt.Errorf("device type %q: use c, b, u or p", o.FSType)
	}
	dfd := int(dir.Fd())
	err := unix.Mknodat(dfd, name, typ|0o666, int(unix.Mkdev(o.Major, o.Minor)))
	if errors.Is(err, unix.EPERM) && o.FSType == "" {
		// No CAP_MKNOD (a user namespace): bind the host's node.
		fd, err := unix.Openat(dfd, name, unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return err
		}
		unix.Close(fd)
		tree, err := unix.OpenTree(unix.AT_FDCWD, "/dev/"+filepath.Base(o.Target), unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return err
		}
		defer unix.Close(tree)
		return unix.MoveMount(tree, "", dfd, name, unix.MOVE_MOUNT_F_EMPTY_PATH)
	}
	if err != nil && !(errors.Is(err, unix.EEXIST) && o.FSType != "") {
		return err
	}
	mode := o.Mode & 0o7777
	if mode == 0 {
		mode = 0o666 // the umask must not narrow it
	}
	if err := unix.Fchmodat(dfd, name, mode, 0); err != nil {
		return err
	}
	if o.UID != 0 || o.GID != 0 {
		return unix.Fchownat(dfd, name, int(o.UID), int(o.GID), unix.AT_SYMLINK_NOFOLLOW)
	}
	return nil
}
