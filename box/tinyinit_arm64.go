package box

import _ "embed"

// tinyInit is tinyinit/tinyinit.c, built by tinyinit/build.sh arm64.
//
//go:embed tinyinit/pbox-init-arm64
var tinyInit []byte
