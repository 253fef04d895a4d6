#!/bin/sh
# Builds box/tinyinit/pbox-init-ARCH from tinyinit.c, byte for byte the
# same on Debian 12 (gcc 12.2, musl 1.2.3): amd64 with musl-tools, arm64
# with Debian's cross compiler and arm64 musl:
#   apt-get install musl-tools
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install gcc-aarch64-linux-gnu musl-dev:arm64
# Run it with `go generate ./box` (both); CI compares each result with the
# committed file (TestTinyInitMatchesItsSource).
#
# Static with musl (no glibc: its static binaries are ~800 KB), -Os, no
# build id, no paths of this machine in the output.
#   build.sh [ARCH [OUT]]     ARCH: amd64 (default) or arm64
set -eu
cd "$(dirname "$0")"
arch="${1:-amd64}"
out="${2:-pbox-init-$arch}"
case "$arch" in
amd64) cc="x86_64-linux-gnu-gcc" triple="x86_64-linux-musl" ;;
arm64) cc="aarch64-linux-gnu-gcc" triple="aarch64-linux-musl" ;;
*) echo "build.sh: no build for $arch (amd64, arm64)" >&2; exit 2 ;;
esac
"$cc" -specs "/usr/lib/$triple/musl-gcc.specs" -static -Os -s -fno-asynchronous-unwind-tables -fno-ident \
	-ffile-prefix-map="$PWD"=. -Wl,--build-id=none -Wl,-z,noexecstack \
	-o "$out" tinyinit.c
