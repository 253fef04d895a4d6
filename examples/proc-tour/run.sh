#!/bin/sh
# Experiment 4: the reference experiment (sleep 10000, then pgrep, tree
# /proc/<pid>, cmdline) with the sleep in a box, from outside and inside.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
need_root
need_pbox
need tree tree
need pgrep procps

ready=$(mktemp -u /tmp/pbox-tour.XXXXXX)
name=$(box_name proc)
pbox run --name "$name" --hostname tour -- sh -c "
  sleep 10000 &
  p=\$!
  until [ \"\$(cat /proc/\$p/comm)\" = sleep ]; do sleep 0.05; done
  echo '== inside: the same process as the box sees it'
  echo \"pid \$p, cmdline: \$(tr '\\0' ' ' < /proc/\$p/cmdline)\"
  grep -E '^(NSpid|PPid)' /proc/\$p/status
  echo \"cgroup: \$(cat /proc/\$p/cgroup | tail -n 1)\"
  touch $ready
  wait" &
box=$!
trap 'rm -f "$ready"; stop_box "$box" "$name"' EXIT
wait_for test -e "$ready"
pid=$(pgrep -xf 'sleep 10000' | head -n 1)
draw_box "$pid"
echo "== outside: pgrep sleep"
echo "$pid"
echo "== outside: tree /proc/$pid -L 1 (first entries)"
tree "/proc/$pid" -L 1 | head -n 12
echo "== outside: cat /proc/$pid/cmdline"
tr '\0' ' ' < "/proc/$pid/cmdline"; echo
echo "== outside: status"
grep -E '^(Name|State|PPid|NSpid)' "/proc/$pid/status"
echo "== outside: ns"
for ns in mnt net pid uts; do echo "$ns -> $(readlink "/proc/$pid/ns/$ns")"; done
echo "== outside: root"
readlink "/proc/$pid/root"
