package box

import (
	"errors"
	"fmt"

	"github.com/pbox-dev/pbox/internal/logf"
	"golang.org/x/sys/unix"
)

// confine applies, on the calling (locked) thread, everything that keeps
// COMMAND in: a session keyring of its own, the capability bounding set,
// no_new_privs and, last, the seccomp filter (it may forbid what the
// steps before it need). All of them are per thread and inherited by a
// child forked from it, which is how COMMAND — and every process pbox
// exec starts — gets them.
func confine(cfg *Config, log logf.Logf) *SetupError {
	if !cfg.NoNewKeyring {
		log("keyctl JOIN_SESSION_KEYRING %q: a new session keyring (the caller's keys stay out)", keyringName(cfg.Name))
		if err := joinNewSessionKeyring(cfg.Name); err != nil {
			return setupErr("keyring", err)
		}
	}
	if cfg.Capabilities != nil || cfg.NoNewPrivileges {
		if err := restrictPrivileges(cfg, log); err != nil {
			return setupErr("capabilities", err)
		}
	}
	if cfg.Seccomp != nil {
		log("seccomp: load the filter (%s)", cfg.Seccomp.Describe())
		if err := cfg.Seccomp.Load(); err != nil {
			return setupErr("seccomp", err)
		}
	}
	return nil
}

// keyringName is what runc calls a container's session keyring.
func keyringName(box string) string { return "_ses." + box }

// joinNewSessionKeyring gives the calling thread a new, empty session
// keyring, as runc does for every container: otherwise the box shares the
// caller's, reads the keys in it and can plant keys there. A kernel
// without keyrings (ENOSYS) has nothing to share.
func joinNewSessionKeyring(box string) error {
	_, err := unix.KeyctlJoinSessionKeyring(keyringName(box))
	if errors.Is(err, unix.ENOSYS) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("keyctl JOIN_SESSION_KEYRING: %w", err)
	}
	return nil
}
