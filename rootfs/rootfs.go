package rootfs

import (
	"fmt"
	"github.com/pbox-dev/pbox/internal/bitnames"

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

var mountFlagNames = []bitnames.Bit{
	{Value: unix.MS_RDONLY, Name: "MS_RDONLY"},
	{Value: unix.MS_NOSUID, Name: "MS_NOSUID"},
	{Value: unix.MS_NODEV, Name: "MS_NODEV"},
	{Value: unix.MS_NOEXEC, Name: "MS_NOEXEC"},
	{Value: unix.MS_REMOUNT, Name: "MS_REMOUNT"},
	{Value: unix.MS_BIND, Name: "MS_BIND"},
	{Value: unix.MS_REC, Name: "MS_REC"},
	{Value: unix.MS_PRIVATE, Name: "MS_PRIVATE"},
	{Value: unix.MS_SLAVE, Name: "MS_SLAVE"},
	{Value: unix.MS_SHARED, Name: "MS_SHARED"},
}

// FlagNames spells mount flags by name, e.g. "MS_REC|MS_PRIVATE".
func FlagNames(flags uintptr) string { return bitnames.Format(mountFlagNames, flags) }

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
