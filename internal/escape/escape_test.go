package escape

import (
	"bytes"
	"testing"
)

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"sleep":                        "sleep",
		"\x1b]0;owned\a":               "?]0;owned?",
		"\x1b[2J\x1b[Hhidden\rshown":   "?[2J?[Hhidden?shown",
		"two\nlines\ttab":              "two?lines?tab",
		"csi \u009b31m c1":             "csi ?31m c1",
		"del\x7f":                      "del?",
		"bad \xff utf8":                "bad ? utf8",
		"héllo wörld ✓":                "héllo wörld ✓",
		"real replacement char \ufffd": "real replacement char \ufffd",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriterKeepsLinesAndTabs(t *testing.T) {
	var b bytes.Buffer
	Writer(&b).Write([]byte("a\tb\n\x1b[31mred\x1b[0m\n"))
	if b.String() != "a\tb\n?[31mred?[0m\n" {
		t.Errorf("%q", b.String())
	}
}
