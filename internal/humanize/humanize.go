// Package humanize prints byte counts the way pbox's messages show them:
// binary units with a space, "32 MiB", "1.5 GiB". It wraps docker/go-units
// so that the CLI and the inspector say sizes the same way.
package humanize

import units "github.com/docker/go-units"

var binary = []string{"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// Bytes formats n with up to four significant digits.
func Bytes(n int64) string {
	return units.CustomSize("%.4g %s", float64(n), 1024, binary)
}
