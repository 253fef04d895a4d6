package rootfs

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Logf receives one line per step; nil means quiet.
type Logf func(format string, args ...any)

func (l Logf) printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}

// ProcFlags are the flags every container runtime uses for /proc.
const ProcFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

var mountFlagNames = []struct {
	flag uintptr
	name string
}{
	{unix.MS_RDONLY, "MS_RDONLY"},
	{unix.MS_NOSUID, "MS_NOSUID"},
	{unix.MS_NODEV, "MS_NODEV"},
	{unix.MS_NOEXEC, "MS_NOEXEC"},
	{unix.MS_REMOUNT, "MS_REMOUNT"},
	{unix.MS_BIND, "MS_BIND"},
	{unix.MS_REC, "MS_REC"},
	{unix.MS_PRIVATE, "MS_PRIVATE"},
	{unix.MS_SLAVE, "MS_SLAVE"},
	{unix.MS_SHARED, "MS_SHARED"},
}

// FlagNames spells mount flags by name, e.g. "MS_REC|MS_PRIVATE".
func FlagNames(flags uintptr) string {
	var names []string
	for _, f := range mountFlagNames {
		if flags&f.flag != 0 {
			names = append(names, f.name)
			flags &^= f.flag
		}
	}
	if flags != 0 {
		names = append(names, fmt.Sprintf("%#x", flags))
	}
	if len(names) == 0 {
		return "0"
	}
	return strings.Join(names, "|")
}

// MakePrivate makes / and every mount below it private. On a systemd host
// / is shared: without this, the fresh /proc mounted next would propagate
// to the host and replace the host's /proc view.
func MakePrivate(log Logf) error {
	flags := uintptr(unix.MS_REC | unix.MS_PRIVATE)
	log.printf("mount: make / private, recursively (%s)", FlagNames(flags))
	if err := unix.Mount("", "/", "", flags, ""); err != nil {
		return fmt.Errorf("make / rprivate: %w", err)
	}
	return nil
}

// MountProc mounts a new procfs on target. Mounted from inside a new PID
// namespace it shows only that namespace's processes, which is what makes
// ps in the box see only the box.
func MountProc(target string, log Logf) error {
	log.printf("mount: proc on %s type proc (%s)", target, FlagNames(ProcFlags))
	if err := unix.Mount("proc", target, "proc", ProcFlags, ""); err != nil {
		return fmt.Errorf("mount proc on %s: %w", target, err)
	}
	return nil
}
