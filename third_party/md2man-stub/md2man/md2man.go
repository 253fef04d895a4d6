// Package md2man stands in for github.com/cpuguy83/go-md2man/v2 in pbox's
// build (go.mod's replace). urfave/cli v2 links its man page renderer
// into every program that uses it, unless built with the tag
// urfave_cli_no_docs, which a plain `go build` cannot be told about; the
// real package pulls in blackfriday, whose package init every pbox
// process (pbox, pbox-init, the monitor) would pay. pbox writes its man
// pages itself (cmd/pbox/man_test.go) and never calls this.
package md2man

// Render returns doc unchanged: pbox never renders markdown to roff.
func Render(doc []byte) []byte { return doc }
