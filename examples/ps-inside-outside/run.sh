#!/bin/sh
# Experiment 3: the same processes through ps, pstree, pgrep and top,
# inside a box and on the host. The pids differ; NSpid links them.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
need_root
need_pbox
need ps procps
need pstree psmisc
need top procps

ready=$(mktemp -u /tmp/pbox-ps.XXXXXX)
marker=$((2000 + $$ % 1000))
name=$(box_name ps)
pbox run --name "$name" --hostname psdemo -- sh -c "
  sleep $marker &
  until pgrep -x sleep >/dev/null; do sleep 0.05; done
  echo '== inside: ps -ef'; ps -ef
  echo '== inside: pstree -p'; pstree -p
  echo '== inside: pgrep -l sleep'; pgrep -l sleep
  echo '== inside: top -b -n 1 (first lines)'; top -b -n 1 | head -n 12
  touch $ready
  wait" &
box=$!
trap 'rm -f "$ready"; stop_box "$box" "$name"' EXIT
wait_for test -e "$ready"
pid=$(pgrep -xf "sleep $marker")
draw_box "$pid"
echo "== outside: pgrep -l -x -f 'sleep $marker'"
pgrep -l -x -f "sleep $marker"
echo "== outside: ps -o pid,ppid,pidns,comm -p $pid"
ps -o pid,ppid,pidns,comm -p "$pid"
echo "== outside: NSpid (host pid, then the box's)"
grep NSpid "/proc/$pid/status"
echo "== outside: pstree -p of the box (from its PID 1, the sleep's grandparent)"
sh=$(ps -o ppid= -p "$pid" | tr -d ' ')
pstree -p "$(ps -o ppid= -p "$sh" | tr -d ' ')"
