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
in_host pbox run -v --name "$name" --network bridge -- ip -br -4 addr show eth0 2>&1 |
  grep -E '^pbox: network:|^eth0'
echo "== after the box: its veth is gone, the bridge stays (as docker0 does)"
in_host ip -br link | awk '{print $1}' | sed 's/@.*//' | sort
