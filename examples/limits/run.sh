#!/bin/sh
# Experiment 5: cgroup limits that hold. A memory hog is OOM-killed, a
# fork bomb stops at the pids limit, a CPU spinner gets half a CPU.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
need_root
need_pbox

echo "== memory: a hog under --memory 32M"
pbox run --memory 32M -- sh -c 'head -c 314572800 /dev/zero | tail' 2>&1
echo "exit status: $?"

echo "== pids: a fork bomb under --pids-limit 24"
# The bomb runs in a subshell; the box's shell waits for a sleep it
# started first, then reads how often the kernel refused a fork. This box
# shares the host's files, so /sys/fs/cgroup is the host's whole tree; it
# finds its own cgroup there by the path in /proc/self/cgroup, which needs
# the host's cgroup namespace (--ns without cgroup: in a box's own, that
# path is just "/").
# shellcheck disable=SC2016 # expanded by the shell in the box
pbox run --ns pid,mnt,uts --pids-limit 24 -- sh -c '
  sleep 1 & s=$!
  (f() { f | f & }; f) 2>/dev/null
  wait $s
  # Shell builtins only: while the bomb lasts, every fork fails.
  dir=
  while IFS=: read -r _ ctrl path; do
    case $ctrl in
      pids) dir=/sys/fs/cgroup/pids$path ;;
      "") [ -e "/sys/fs/cgroup$path/pids.max" ] && dir=/sys/fs/cgroup$path ;;
    esac
  done < /proc/self/cgroup
  read -r max < "$dir/pids.max"
  read -r events < "$dir/pids.events"
  echo "pids.max is $max; pids.events says: $events (forks the kernel refused)"
  echo "the box and its init survived the bomb"'
echo "exit status: $?"

echo "== cpu: a spinner under --cpus 0.5, for 2 seconds"
# shellcheck disable=SC2016 # expanded by the shell in the box
pbox run --cpus 0.5 -- sh -c '
  (while :; do :; done) & p=$!
  sleep 2
  set -- $(cut -d" " -f14,15 /proc/$p/stat)
  kill $p
  ticks=$(getconf CLK_TCK)
  echo "the spinner used $(( ($1 + $2) * 100 / ticks / 2 ))% of one CPU (limit: 50%; measured, not asserted)"'
echo "exit status: $?"
