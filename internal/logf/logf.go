// Package logf is pbox's one logger type: a function that takes one line
// per step (what -v and --debug print), shared by the packages that
// explain what they do (box, cgroups, rootfs, image) without importing
// each other. The zero value is quiet.
package logf

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// TimestampsEnv set to 1 in pbox's environment starts every line with the
// time on CLOCK_MONOTONIC in milliseconds, "[12345.678901] ", in pbox, its
// init and the tiny init alike (one clock for all three): bench/ reads them
// to show where the time of a start goes; a learner can too.
const TimestampsEnv = "PBOX_TIMESTAMPS"

// Timestamps reports whether lines carry the time (TimestampsEnv).
func Timestamps() bool { return os.Getenv(TimestampsEnv) == "1" }

// Stamp is the time as a line starts with it.
func Stamp() string {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return fmt.Sprintf("[%d.%06d] ", ts.Sec*1000+ts.Nsec/1e6, ts.Nsec%1e6)
}

// Logf receives one line per step, without its newline; nil means quiet.
type Logf func(format string, args ...any)

// Printf writes one line, if there is anyone to write to.
func (l Logf) Printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}

// To writes each line to w after prefix ("pbox: "); a nil w is quiet.
// The result is never nil: it may be called directly.
func To(w io.Writer, prefix string) Logf {
	if w == nil {
		return func(string, ...any) {}
	}
	if Timestamps() {
		return func(format string, args ...any) {
			fmt.Fprintf(w, Stamp()+prefix+format+"\n", args...)
		}
	}
	return func(format string, args ...any) {
		fmt.Fprintf(w, prefix+format+"\n", args...)
	}
}
