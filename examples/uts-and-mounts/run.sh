#!/bin/sh
# Experiment 6: a UTS namespace has its own hostname, a mount namespace
# its own mount table: changes inside stay inside.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
need_root
need_pbox

host_name=$(hostname)
host_mounts=$(grep -c ' /mnt ' /proc/self/mountinfo || true)
echo "host: hostname is $host_name, $host_mounts mount(s) on /mnt"
# shellcheck disable=SC2016 # expanded by the shell in the box
pbox run --hostname lab -- sh -c '
  echo "box: hostname is $(hostname)"
  hostname renamed-inside
  echo "box: after hostname renamed-inside, it is $(hostname)"
  before=$(grep -c " /mnt " /proc/self/mountinfo || true)
  mount -t tmpfs boxonly /mnt
  echo "box: $(( $(grep -c " /mnt " /proc/self/mountinfo) - before )) new mount on /mnt (a tmpfs only the box has)"'
if [ "$(hostname)" = "$host_name" ]; then
  echo "host: hostname unchanged ($host_name)"
else
  echo "host: hostname CHANGED to $(hostname)"
fi
if [ "$(grep -c ' /mnt ' /proc/self/mountinfo || true)" = "$host_mounts" ]; then
  echo "host: mounts on /mnt unchanged ($host_mounts): the box's tmpfs never reached the host"
else
  echo "host: mounts on /mnt CHANGED"
fi
