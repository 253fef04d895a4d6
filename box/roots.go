package box

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
)

// RootsDir registers the state roots boxes were made under, one file
// each holding the root's path, so that a command given a box's name
// without --root (pbox inspect NAME) can find it under another root. It
// is on /run: a reboot empties it, as it ends the boxes. A root that no
// longer exists is dropped when next listed.
var RootsDir = "/run/pbox-roots"

func rootEntry(root string) string {
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(RootsDir, hex.EncodeToString(sum[:8]))
}

// registerRoot enters root in RootsDir, once (a stat when it is there).
func registerRoot(root string) {
	p := rootEntry(root)
	if _, err := os.Stat(p); err == nil {
		return
	}
	if os.MkdirAll(RootsDir, 0o700) == nil {
		atomicWrite(p, []byte(root))
	}
}

// RootsWith lists the registered state roots other than except that
// hold a box named id.
func RootsWith(id, except string) []string {
	ents, _ := os.ReadDir(RootsDir)
	var out []string
	for _, e := range ents {
		p := filepath.Join(RootsDir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		root := string(data)
		if st, err := os.Stat(root); err != nil || !st.IsDir() {
			os.Remove(p) // the root is gone
			continue
		}
		if root == except {
			continue
		}
		if _, err := (Store{Root: root}).Read(id); err == nil {
			out = append(out, root)
		}
	}
	sort.Strings(out)
	return out
}
