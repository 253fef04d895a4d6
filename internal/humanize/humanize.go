// Package humanize prints byte counts the way pbox's messages show them:
// binary units with a space, "32 MiB", "1.5 GiB". It wraps docker/go-units
// so that the CLI and the inspector say sizes the same way.
package humanize

import (
	"fmt"

	units "github.com/docker/go-units"
)

var binary = []string{"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// Bytes formats n with up to four significant digits.
func Bytes(n int64) string {
	return units.CustomSize("%.4g %s", float64(n), 1024, binary)
}

// ParseSize reads a size such as "64M", "8G", "512MiB" or plain bytes, in
// binary units (1M = 1 MiB), as docker run --memory does.
func ParseSize(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q: give a size such as 512M or 8G", s)
	}
	return n, nil
}
