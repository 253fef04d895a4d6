#!/bin/sh
# Builds box/tinyinit/pbox-init-amd64 from tinyinit.c, byte for byte the
# same on Debian 12 (gcc 12.2, musl 1.2.3: apt-get install musl-tools).
# Run it with `go generate ./box`; CI compares the result with the
# committed file (TestTinyInitMatchesItsSource).
#
# Static with musl (no glibc: its static binaries are ~800 KB), -Os, no
# build id, no paths of this machine in the output.
set -eu
cd "$(dirname "$0")"
out="${1:-pbox-init-amd64}"
musl-gcc -static -Os -s -fno-asynchronous-unwind-tables -fno-ident \
	-ffile-prefix-map="$PWD"=. -Wl,--build-id=none -Wl,-z,noexecstack \
	-o "$out" tinyinit.c
