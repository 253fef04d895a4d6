package box

import _ "embed"

// tinyInit is tinyinit/tinyinit.c, built by tinyinit/build.sh.
//
//go:embed tinyinit/pbox-init-amd64
var tinyInit []byte
