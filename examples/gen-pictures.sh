#!/bin/sh
# Draws the pictures the experiments' READMEs show (box.svg), as a reader
# would get them by running the experiment: run by `go generate
# ./examples`, as root. Each experiment draws its box with pbox inspect
# --svg (draw_box in lib.sh); LAB_SVG_NAME makes that box.svg.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd "$here/.." && CGO_ENABLED=0 go build -o "$bin/pbox" ./cmd/pbox)
for e in init-and-zombies ps-inside-outside proc-tour; do
  PATH="$bin:$PATH" LAB_SVG_NAME=box.svg sh "$here/$e/run.sh" >/dev/null
done
