#!/bin/sh
# Experiment 11: the same two hosts joined by a VXLAN overlay (the idea
# behind Flannel's VXLAN backend): box traffic travels inside UDP packets
# between the hosts, and the wire never sees a box's address.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
need_root
need_pbox
need ip iproute2
need bridge iproute2
need iptables iptables
need nsenter util-linux
need busybox busybox-static
work=$(mktemp -d)
two_hosts vxlan "$work"
trap 'lab_cleanup; rm -rf "$work"' EXIT

box_on_each_host vxlan "$work"
echo "== two hosts on one wire, a box on each: A's is $A1_IP, B's is $B1_IP"

echo "== a VXLAN device on each host: network 42, UDP port 4789, to the other host over the wire"
in_a ip link add vxlan42 type vxlan id 42 local 192.168.50.1 remote 192.168.50.2 dstport 4789 dev ul-a
in_b ip link add vxlan42 type vxlan id 42 local 192.168.50.2 remote 192.168.50.1 dstport 4789 dev ul-b
in_a ip addr add 10.10.255.1/24 dev vxlan42
in_b ip addr add 10.10.255.2/24 dev vxlan42
in_a ip link set vxlan42 up
in_b ip link set vxlan42 up
in_a ip -d -o link show vxlan42 | grep -o 'vxlan id 42 remote [0-9.]* local [0-9.]* dev ul-a'
echo "its MTU leaves room for the outer headers: $(in_a ip -o link show vxlan42 | grep -o 'mtu [0-9]*') (the wire: $(in_a ip -o link show ul-a | grep -o 'mtu [0-9]*'))"

echo "== its forwarding database: every inner frame goes to host B"
in_a bridge fdb show dev vxlan42 | awk '{print $1, $2, $3}'

echo "== each host routes the other's box subnet into the overlay"
in_a ip route add 10.10.2.0/24 via 10.10.255.2 dev vxlan42
in_b ip route add 10.10.1.0/24 via 10.10.255.1 dev vxlan42
in_a ip -4 route show 10.10.2.0/24

echo "== box to box across the hosts, counted on the wire"
in_b iptables -I INPUT -i ul-b -p udp --dport 4789 -m comment --comment lab-vxlan
in_b iptables -I INPUT -i ul-b -s 10.10.1.0/24 -m comment --comment lab-inner
count() { in_b iptables -L INPUT -v -n -x | awk -v c="$1" '$0 ~ c {print $1}'; }
before=$(count lab-vxlan)
in_a pbox exec "$A1" wget -qO- "http://$B1_IP/cgi-bin/whoami"
# Counted as a difference: the overlay's own chatter (IPv6 neighbour
# discovery on vxlan42) may cross the wire at any moment, before too.
echo "UDP packets to port 4789 that reached host B on the wire during the request: $(($(count lab-vxlan) - before))"
echo "packets on the wire with a box's address as their source: $(count lab-inner)"

echo "== the path, hop by hop: the wire is not a hop any more"
in_a pbox exec "$A1" traceroute -n -q 1 -w 2 "$B1_IP" 2>&1 | tail -n +2 | awk '{print "hop " $1 ": " $2}'
