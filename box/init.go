package box

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// defaultPath is used to find COMMAND when the box's env has no PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// InitThreadsMax is how many threads pbox-init has: one. It is a small
// single-threaded C program (plan.go) that never starts a thread, so a
// fork bomb that uses up the box's pids limit cannot take it down.
const InitThreadsMax = 1

// MinPidsLimit is the lowest pids limit a box with pbox-init can live
// under: the init and COMMAND.
const MinPidsLimit = InitThreadsMax + 1

// envPath is the PATH COMMAND is looked up in: the box's last PATH=, as
// execve's environment reads, else defaultPath.
func envPath(env []string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "PATH="); ok {
			return v
		}
	}
	return defaultPath
}

// explainRlimit names an rlimit that could not be set and, when it is
// above the hard limit pbox itself runs under (raising it needs
// CAP_SYS_RESOURCE in the host's user namespace, or a higher limit from
// the caller), says what that limit is — as runc fails there too.
func explainRlimit(rl Rlimit, err error) error {
	name := rl.Name
	if name == "" {
		name = fmt.Sprint(rl.Resource)
	}
	var cur syscall.Rlimit
	if errors.Is(err, syscall.EPERM) && syscall.Getrlimit(rl.Resource, &cur) == nil && rl.Hard > cur.Max {
		return fmt.Errorf("%s soft %d hard %d: %w: above the hard limit %d that pbox runs under here; raise it for pbox's caller (ulimit -H, or systemd's LimitNOFILE= and the like) or ask for at most %d (podman: --ulimit)",
			name, rl.Soft, rl.Hard, err, cur.Max, cur.Max)
	}
	return fmt.Errorf("%s soft %d hard %d: %w", name, rl.Soft, rl.Hard, err)
}
