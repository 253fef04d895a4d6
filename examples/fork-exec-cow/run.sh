#!/bin/sh
# Experiment 1: fork returns twice, exec replaces the program, and a forked
# child shares its parent's memory until one of them writes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
need_root
need cc gcc
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cc -O0 -o "$bin/cow" "$here/cow.c"
"$bin/cow"
