#!/bin/sh
# Experiment 7: a network namespace and a veth pair, first by hand with
# ip(8), then the same made by pbox and the CNI plugins, step by step.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
need_root
need_pbox
need ip iproute2
need nsenter util-linux
need busybox busybox-static
lab_host veth
tmp=$(mktemp -d)
trap 'lab_cleanup; rm -rf "$tmp"' EXIT
hand="lab-hand-$$"
LAB_EXTRA_NS="$hand"

echo "== by hand: a namespace with only lo"
ip netns add "$hand"
ip -n "$hand" -br link

echo "== by hand: a veth pair, one end moved into it, an address on each"
in_host ip link add v-host type veth peer name v-box
in_host ip link set v-box netns "$hand"
in_host ip addr add 10.200.0.1/24 dev v-host
in_host ip link set v-host up
ip -n "$hand" addr add 10.200.0.2/24 dev v-box
ip -n "$hand" link set v-box up
ip -n "$hand" -br -4 addr show v-box
in_host busybox ping -c 1 -W 2 10.200.0.2 | grep 'packets transmitted'

echo "== the same made by pbox run --network bridge -v"
name=$(box_name veth)
lab_box "$name"
# -v's steps (stderr) and the box's output (stdout) apart, then in order:
# one pipe for both would let their lines interleave.
in_host pbox run -v --name "$name" --network bridge -- ip -br -4 addr show eth0 >"$tmp/out" 2>"$tmp/steps"
grep '^pbox: network:' "$tmp/steps" | grep -v -E '^pbox: network: (CNI DEL|DEL took)'
grep '^eth0' "$tmp/out"
grep -E '^pbox: network: (CNI DEL|DEL took)' "$tmp/steps"
echo "== a box that stays: the host pings it, and the two ends of its veth pair name each other"
stay=$(box_name veth-stay)
lab_box "$stay"
in_host pbox run -d --name "$stay" --network bridge -- sleep 1000 >/dev/null
in_host busybox ping -c 1 -W 2 "$(box_ip "$stay")" | grep 'packets transmitted'
# "5: veth1234@if2: <...>": the index, then the name with its peer's index.
host_end=$(in_host ip -o link show master pbox0 | awk -F': ' '{print $1 " " $2}')
box_end=$(in_host pbox exec "$stay" ip -o link show eth0 | awk -F': ' '{print $1 " " $2}')
echo "host: index ${host_end% *} is ${host_end#* }"
echo "box:  index ${box_end% *} is ${box_end#* }"
if [ "${host_end##*@if}" = "${box_end% *}" ] && [ "${box_end##*@if}" = "${host_end% *}" ]; then
  echo "each end names the other's index: one pair, two namespaces"
fi
in_host pbox rm -f "$stay" >/dev/null

echo "== after the boxes: their veths are gone, the bridge stays (as docker0 does)"
in_host ip -br link | awk '{print $1}' | sed 's/@.*//' | sort
