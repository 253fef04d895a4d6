#!/bin/sh
# Experiment 8: two boxes on one bridge talk to each other; the bridge's
# forwarding table and the boxes' ARP entries show how.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
need_root
need_pbox
need ip iproute2
need bridge iproute2
need nsenter util-linux
lab_host bridge
root=$(mktemp -d)
trap 'lab_cleanup; rm -rf "$root"' EXIT
web_rootfs "$root/rootfs"

server=$(box_name bridge-server)
client=$(box_name bridge-client)
lab_box "$server"
lab_box "$client"
echo "== box 1: a web server on the bridge"
in_host pbox run -d --name "$server" --network bridge --rootfs "$root/rootfs" -- httpd -f -p 80 -h /www >/dev/null
ip=$(box_ip "$server")
echo "it has its own address: $ip"

echo "== box 2 asks box 1 for its page, then shows its ARP table"
# shellcheck disable=SC2016 # expanded by the shell in the box
in_host pbox run --name "$client" --network bridge --rootfs "$root/rootfs" -- sh -c '
  wget -qO- "http://$1/"
  echo "box 2 is $(ip -4 -o addr show eth0 | awk "{print \$4}"); its neighbours (ARP):"
  ip neigh show dev eth0' sh "$ip"

echo "== the host: pbox0 and the veths on it (one per box)"
in_host bridge link show | sed -n 's/^[0-9]*: \([^@:]*\).* master \([^ ]*\).*/\1 on \2/p'
echo "== the bridge's forwarding table: which MAC was learnt behind which port"
in_host bridge fdb show br pbox0 | grep -v permanent
