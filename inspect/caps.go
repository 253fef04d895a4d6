package inspect

import "github.com/pbox-dev/pbox/internal/capnames"

// CapNames decodes a capability mask (CapEff) into names; bits newer than
// the table are shown as "cap_N".
func CapNames(mask uint64) []string {
	var names []string
	for i := 0; i < 64; i++ {
		if mask&(1<<i) != 0 {
			names = append(names, capnames.Name(i))
		}
	}
	return names
}
