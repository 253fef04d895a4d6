#!/bin/sh
# Experiment 2: what an init is for. Without one (--no-init) orphans pile
# up as zombies and PID 1 ignores SIGTERM; under pbox-init they are reaped
# and SIGTERM works.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
need_root
need_pbox
need pgrep procps

# Each (sleep 0.1 &) subshell exits at once: its sleep is an orphan,
# reparented to PID 1 of the box. Then PID 1 becomes `sleep`, which never
# waits for children.
orphans='for i in 1 2 3 4 5; do (sleep 0.1 &); done'

for mode in --no-init with-init; do
  marker=$((1000 + $$ % 1000))
  name=$(box_name "zombies$mode")
  if [ "$mode" = --no-init ]; then
    echo "== pbox run --no-init: sleep is PID 1"
    pbox run --name "$name" --no-init -- sh -c "$orphans; exec sleep $marker" &
  else
    echo "== pbox run: pbox-init is PID 1, sleep its child"
    pbox run --name "$name" -- sh -c "$orphans; exec sleep $marker" &
  fi
  box=$!
  wait_for pgrep -xf "sleep $marker"
  pid=$(pgrep -xf "sleep $marker")
  # The orphans exit after 0.1 s; give them up to 5 s on a busy machine.
  i=0
  while :; do
    zombies=$(pbox inspect --json "$pid" | grep -o '"zombies": [0-9]*' | grep -o '[0-9]*$')
    i=$((i + 1))
    if [ "$mode" = with-init ] && [ "$i" -ge 10 ]; then break; fi
    if [ "$zombies" = 5 ] || [ "$i" -ge 100 ]; then break; fi
    sleep 0.05
  done
  echo "pbox inspect: PID 1 of the box has $zombies zombie children"
  if [ "$mode" = --no-init ]; then
    draw_box "$pid" # the zombies, in red
  fi
  kill -TERM "$pid"
  sleep 0.3
  if kill -0 "$pid" 2>/dev/null; then
    echo "kill -TERM $pid: still running (PID 1 without a SIGTERM handler: the kernel dropped the signal)"
  else
    echo "kill -TERM $pid: it died (not PID 1, so SIGTERM's default action applies)"
  fi
  stop_box "$box" "$name"
done
