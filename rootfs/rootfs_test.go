package rootfs

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestFlagNames(t *testing.T) {
	tests := map[uintptr]string{
		0:                                     "0",
		unix.MS_REC | unix.MS_PRIVATE:         "MS_REC|MS_PRIVATE",
		ProcFlags:                             "MS_NOSUID|MS_NODEV|MS_NOEXEC",
		unix.MS_BIND | unix.MS_RDONLY | 1<<30: "MS_RDONLY|MS_BIND|0x40000000",
	}
	for in, want := range tests {
		if got := FlagNames(in); got != want {
			t.Errorf("FlagNames(%#x) = %q, want %q", in, got, want)
		}
	}
}
