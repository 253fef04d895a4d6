#!/bin/sh
# Experiment 10: two hosts, each with its own bridge and box subnet,
# routed to each other through the hosts (Flannel's host-gw backend).
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
need_root
need_pbox
need ip iproute2
need nsenter util-linux
need busybox busybox-static
work=$(mktemp -d)
two_hosts hostgw "$work"
trap 'lab_cleanup; rm -rf "$work"' EXIT

echo "== two hosts on one wire (the underlay)"
in_a ip -br -4 addr show ul-a
in_b ip -br -4 addr show ul-b
in_a busybox ping -c 1 -W 2 192.168.50.2 | grep 'packets transmitted'

echo "== a box on each host: each host has its own pbox0 and subnet"
box_on_each_host hostgw "$work"
echo "box on host A: $A1_IP, box on host B: $B1_IP"

echo "== without routes: host A does not know where 10.10.2.0/24 is"
in_a ip -4 route
in_a pbox exec "$A1" wget -qO- "http://$B1_IP/cgi-bin/whoami" 2>&1 ||
  echo "the request from A's box to B's box failed"

echo "== host-gw: each host routes the other host's box subnet via that host"
in_a ip route add 10.10.2.0/24 via 192.168.50.2
in_b ip route add 10.10.1.0/24 via 192.168.50.1
in_a ip -4 route show 10.10.2.0/24
in_b ip -4 route show 10.10.1.0/24

echo "== box to box across the hosts: no NAT, the server sees the box's own address"
in_a pbox exec "$A1" wget -qO- "http://$B1_IP/cgi-bin/whoami"
echo "== the path, hop by hop: A's bridge, host B, B's box"
in_a pbox exec "$A1" traceroute -n -q 1 -w 2 "$B1_IP" 2>&1 | tail -n +2 | awk '{print "hop " $1 ": " $2}'
