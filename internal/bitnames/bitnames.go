// Package bitnames spells a set of flag bits by name, "A|B|0x40", the way
// strace does. The leaf packages use it for clone flags and mount flags;
// it exists so that they share the code without importing each other.
package bitnames

import (
	"fmt"
	"strings"
)

// Bit is one named flag.
type Bit struct {
	Value uintptr
	Name  string
}

// Format names the bits of v in the table's order; bits the table does
// not know are printed in hex, so nothing is hidden. Zero is "0".
func Format(table []Bit, v uintptr) string {
	var names []string
	for _, b := range table {
		if v&b.Value != 0 {
			names = append(names, b.Name)
			v &^= b.Value
		}
	}
	if v != 0 {
		names = append(names, fmt.Sprintf("%#x", v))
	}
	if len(names) == 0 {
		return "0"
	}
	return strings.Join(names, "|")
}
