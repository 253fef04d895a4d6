package rootfs

import (
	"github.com/pbox-dev/pbox/internal/bitnames"
	"github.com/pbox-dev/pbox/internal/logf"
	"golang.org/x/sys/unix"
)

// Logf receives one line per step; nil means quiet (pbox's one logger
// type, internal/logf).
type Logf = logf.Logf

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
	{Value: unix.MS_STRICTATIME, Name: "MS_STRICTATIME"},
	{Value: unix.MS_RELATIME, Name: "MS_RELATIME"},
}

// FlagNames spells mount flags by name, e.g. "MS_REC|MS_PRIVATE".
func FlagNames(flags uintptr) string { return bitnames.Format(mountFlagNames, flags) }
