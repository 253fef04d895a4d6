//go:build genman

package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// With -tags genman this package is the man page writer: `go generate
// ./cmd/pbox` runs `go run -tags genman . ../../docs/man`, which writes
// manPages into the directory given and exits before pbox's main.
func init() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run -tags genman ./cmd/pbox DIR")
		os.Exit(2)
	}
	pages, err := manPages()
	if err == nil {
		err = os.MkdirAll(os.Args[1], 0o755)
	}
	for name, page := range pages {
		if err == nil {
			err = os.WriteFile(filepath.Join(os.Args[1], name), []byte(page), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genman:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
