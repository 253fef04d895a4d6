#!/bin/sh
# Experiment 9: NAT and a published port: the rules the portmap plugin
# wrote, and a request traced through them by their packet counters.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
need_root
need_pbox
need ip iproute2
need iptables iptables
need nsenter util-linux
need busybox busybox-static
lab_host nat
root=$(mktemp -d)
trap 'lab_cleanup; rm -rf "$root"' EXIT
web_rootfs "$root/rootfs"

web=$(box_name nat-web)
lab_box "$web"
echo "== a web server in a box, its port 80 published on the host's 8080"
in_host pbox run -d --name "$web" --network bridge -p 8080:80 --rootfs "$root/rootfs" -- httpd -f -p 80 -h /www >/dev/null
ip=$(box_ip "$web")
echo "the box is $ip"

echo "== the nat table: the box's rules (DNAT in, MASQUERADE out)"
in_host iptables -t nat -S | grep -- '--to-destination'
in_host iptables -t nat -S | grep MASQUERADE | grep -v HOSTPORT-MASQ | sed 's/ -m comment --comment .* -j/ -j/'

count() {
  in_host iptables -t nat -L CNI-HOSTPORT-DNAT -v -n -x | awk '/multiport/ {print $1; exit}'
}
echo "== a request to the host's port 8080, traced by the DNAT rule's packet counter"
before=$(count)
in_host busybox wget -qO- http://127.0.0.1:8080/
after=$(count)
echo "packets through the DNAT rule: $before before, $after after"

echo "== pbox inspect: the same from the box's side and the host's"
in_host pbox inspect "$web" | sed -n '/^NETWORK/,/^$/p' | grep -E 'eth0|published|DNAT'
