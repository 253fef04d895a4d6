// Package logf is pbox's one logger type: a function that takes one line
// per step (what -v and --debug print), shared by the packages that
// explain what they do (box, cgroups, rootfs, image) without importing
// each other. The zero value is quiet.
package logf

import (
	"fmt"
	"io"
)

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
	return func(format string, args ...any) {
		fmt.Fprintf(w, prefix+format+"\n", args...)
	}
}
