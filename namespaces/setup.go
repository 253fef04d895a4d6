package namespaces

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// MaxHostname is the kernel's limit for a hostname (HOST_NAME_MAX).
const MaxHostname = 64

// ValidHostname reports why name cannot be a hostname, or nil.
func ValidHostname(name string) error {
	if name == "" {
		return fmt.Errorf("hostname is empty")
	}
	if len(name) > MaxHostname {
		return fmt.Errorf("hostname %q is %d bytes, the kernel allows at most %d", name, len(name), MaxHostname)
	}
	// The kernel takes any bytes, but a newline or a control character
	// breaks every prompt, /etc/hosts and log line that shows it: take
	// what a DNS label may hold (RFC 1123), plus '_' and '.' as Docker.
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		default:
			return fmt.Errorf("hostname %q: use letters, digits, '-', '.' and '_' only", name)
		}
	}
	return nil
}

// SetHostname sets the hostname of the caller's UTS namespace.
func SetHostname(name string) error {
	if err := unix.Sethostname([]byte(name)); err != nil {
		return fmt.Errorf("sethostname %q: %w", name, err)
	}
	return nil
}

// LoopbackUp brings up "lo" in the caller's network namespace. A new
// network namespace starts with lo down, so even 127.0.0.1 is unreachable.
func LoopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket for ioctl on lo: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("ifreq lo: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("get flags of lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}
