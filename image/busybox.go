package image

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pbox-dev/pbox/internal/logf"
)

// ErrNoStaticBusybox is returned when the host has no static busybox.
var ErrNoStaticBusybox = errors.New("no static busybox found: install it (Debian/Ubuntu: apt-get install busybox-static)")

// busyboxCandidates are where distributions put busybox.
var busyboxCandidates = []string{"/bin/busybox", "/usr/bin/busybox", "/sbin/busybox", "/usr/sbin/busybox"}

// FindStaticBusybox returns the path of a statically linked busybox: a
// dynamic one would not run inside a rootfs without the host's libc.
func FindStaticBusybox() (string, error) {
	paths := busyboxCandidates
	if p, err := exec.LookPath("busybox"); err == nil {
		paths = append([]string{p}, paths...)
	}
	var dynamic string
	for _, p := range paths {
		static, err := isStatic(p)
		if err != nil {
			continue
		}
		if static {
			return p, nil
		}
		dynamic = p
	}
	if dynamic != "" {
		return "", fmt.Errorf("%w (%s is dynamically linked)", ErrNoStaticBusybox, dynamic)
	}
	return "", ErrNoStaticBusybox
}

func isStatic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// BusyboxFiles are the small files a busybox rootfs gets.
var BusyboxFiles = map[string]string{
	"etc/passwd":   "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
	"etc/group":    "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n",
	"etc/hosts":    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
	"etc/hostname": "pbox\n",
}

// Busybox fills dir (created if missing; it must be empty if it exists)
// with a working root filesystem: busybox as /bin/busybox with a link per
// applet, /etc/passwd, group, hosts, and empty /proc /dev /sys /tmp /root.
// It reports what it did through logf. On error it removes what it made.
func Busybox(dir string, logf logf.Logf) error {
	bb, err := FindStaticBusybox()
	if err != nil {
		return err
	}
	os.Remove(ConfigPath(dir)) // no image config: an earlier import's is not this rootfs's
	return fillEmptyDir(dir, func() error { return busybox(bb, dir, logf) })
}

func busybox(bb, dir string, logf logf.Logf) error {
	for _, d := range []string{"bin", "etc", "proc", "dev", "sys", "tmp", "root", "usr/bin", "sbin", "usr/sbin", "var", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	os.Chmod(filepath.Join(dir, "tmp"), 0o1777)
	os.Chmod(filepath.Join(dir, "root"), 0o700)
	if err := copyFile(bb, filepath.Join(dir, "bin", "busybox"), 0o755); err != nil {
		return fmt.Errorf("copy %s: %w", bb, err)
	}
	out, err := exec.Command(bb, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("%s --list-full: %w", bb, err)
	}
	n := 0
	for _, app := range strings.Fields(string(out)) {
		if filepath.Base(app) == "busybox" || strings.Contains(app, "..") {
			continue
		}
		link := filepath.Join(dir, app)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("/bin/busybox", link); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		n++
	}
	for name, content := range BusyboxFiles {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	logf("%s: busybox from %s, %d applet links, /etc/passwd, /etc/group, /etc/hosts", dir, bb, n)
	return nil
}

// fillEmptyDir runs fill on dir, which it makes if missing and which must
// be empty if it exists — or hold the partial output of a fill that was
// killed, which it empties first. While fill runs, a marker next to dir
// (PartialMarker) says its content is not to be trusted; a SIGKILL leaves
// the marker, so the next fill knows it may clear dir. If fill fails, it
// removes what fill made: dir itself if it made it, else dir's contents.
func fillEmptyDir(dir string, fill func() error) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	marker := PartialMarker(abs)
	_, merr := os.Lstat(marker)
	partial := merr == nil
	entries, err := os.ReadDir(abs)
	created := false
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return err
		}
		created = true
	case err != nil:
		return err
	case len(entries) > 0 && !partial:
		return fmt.Errorf("%s is not empty: give a new or empty directory", dir)
	}
	if err := os.WriteFile(marker, []byte("pbox: an unfinished rootfs import or busybox in "+abs+"\n"), 0o600); err != nil {
		if created {
			os.Remove(abs)
		}
		return fmt.Errorf("mark %s as unfinished: %w", dir, err)
	}
	clear := func() {
		entries, _ := os.ReadDir(abs)
		for _, e := range entries {
			os.RemoveAll(filepath.Join(abs, e.Name()))
		}
	}
	if partial {
		clear() // what a killed fill left
	}
	if err := fill(); err != nil {
		if created {
			os.RemoveAll(abs)
		} else {
			clear()
		}
		os.Remove(marker)
		return err
	}
	return os.Remove(marker)
}

// PartialMarker is the file next to dir that marks dir as the partial
// output of an unfinished import: ".DIRNAME.pbox-partial" in dir's parent,
// out of the box's sight and out of reach of the image's own entries.
func PartialMarker(dir string) string {
	return filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".pbox-partial")
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
