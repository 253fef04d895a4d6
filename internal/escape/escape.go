package escape

import (
	"io"
	"strings"
	"unicode/utf8"
)

// unsafeRune reports whether r must not reach a terminal: C0 controls,
// DEL, C1 controls (U+0080-U+009F: U+009B is CSI to some terminals) and
// bytes that are not UTF-8.
func unsafeRune(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == utf8.RuneError
}

// Text is s with every control character (newline and tab included) and
// every byte that is not UTF-8 replaced by '?'.
func Text(s string) string { return replace(s, "") }

// replace is s with every unsafe rune but those in keep replaced by '?'.
func replace(s, keep string) string {
	clean := true
	for i, r := range s {
		if unsafeRune(r) && !strings.ContainsRune(keep, r) {
			if r != utf8.RuneError {
				clean = false
				break
			}
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				clean = false
				break
			}
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				b.WriteByte('?')
			} else {
				b.WriteRune(r) // a real U+FFFD
			}
		case unsafeRune(r) && !strings.ContainsRune(keep, r):
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Writer passes text on to w with every control character but newline
// and tab replaced by '?': for renderers that build lines of their own
// around values a box chose. Each Write is judged on its own.
func Writer(w io.Writer) io.Writer { return writer{w} }

type writer struct{ w io.Writer }

func (x writer) Write(p []byte) (int, error) {
	if _, err := io.WriteString(x.w, replace(string(p), "\n\t")); err != nil {
		return 0, err
	}
	return len(p), nil
}
