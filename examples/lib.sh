# shellcheck shell=sh
# Shared by the experiments: prerequisite checks that say what to install.
# Sourced, not run.

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "this experiment needs root (namespaces, cgroups, /proc/<pid>/pagemap): run it with sudo" >&2
    exit 1
  fi
}

# need CMD PACKAGE: stop with an install hint if CMD is missing.
need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "this experiment needs '$1': install it (Debian/Ubuntu: apt-get install $2)" >&2
    exit 1
  fi
}

need_pbox() {
  if ! command -v pbox >/dev/null 2>&1; then
    echo "pbox is not on PATH: build it (CGO_ENABLED=0 go build -o pbox ./cmd/pbox) and put it there, or run from the VM (vagrant up)" >&2
    exit 1
  fi
}

# wait_for CMD...: retry CMD for up to 5 s (readiness only).
wait_for() {
  i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 100 ]; then
      echo "timed out waiting for: $*" >&2
      return 1
    fi
    sleep 0.05
  done
}

# stop_box PID NAME: stop this experiment's own box by its name (SIGTERM,
# SIGKILL after 2 s) and wait for its pbox run, which then removes the
# box's state and cgroup itself. Nobody else's boxes are touched (no
# global pbox cleanup: on a shared machine that is other people's).
stop_box() {
  if [ -n "${2:-}" ]; then
    pbox stop -t 2 "$2" >/dev/null 2>&1 || true
  fi
  if [ -n "${1:-}" ] && [ "$1" -gt 1 ]; then
    kill -TERM "$1" 2>/dev/null || true # pbox run passes it on to the box
    wait "$1" 2>/dev/null || true
  fi
}

# box_name EXPERIMENT: a box name of this run's own.
box_name() {
  echo "lab-$1-$$"
}

# draw_box PID: the picture of PID's box (pbox inspect --svg), next to the
# experiment's README as your-box.svg (not committed). The README shows
# box.svg, the same picture drawn by `go generate ./examples`
# (gen-pictures.sh), which sets LAB_SVG_NAME=box.svg.
draw_box() {
  svg="$(cd "$(dirname "$0")" && pwd)/${LAB_SVG_NAME:-your-box.svg}"
  if pbox inspect --svg "$1" >"$svg" 2>/dev/null; then
    echo "picture of the box: $svg (open it in a browser, or read the README beside it)"
  fi
}

# lab_host NAME: make a network namespace that plays the host for a
# network experiment, and remove it (and this run's boxes) on exit. The
# experiment's bridge, NAT rules and addresses live only there: nothing it
# does touches the machine's own network. Sets LAB_NS; run host-side
# commands with in_host.
lab_host() {
  LAB_NS="lab-$1-$$"
  ip netns add "$LAB_NS"
  ip -n "$LAB_NS" link set lo up
  trap 'lab_cleanup' EXIT
}

# lab_boxes: names of this run's boxes, removed with the lab host.
LAB_BOXES=""
lab_box() {
  LAB_BOXES="$LAB_BOXES $1"
}

lab_cleanup() {
  for b in $LAB_BOXES; do
    in_host pbox rm -f "$b" >/dev/null 2>&1 || true
  done
  for ns in ${LAB_EXTRA_NS:-}; do
    ip netns del "$ns" 2>/dev/null || true
  done
  ip netns del "$LAB_NS" 2>/dev/null || true
}

# in_host CMD...: run CMD in the lab's host namespace (network only: the
# files and mounts stay the machine's, so pbox sees its boxes' state).
# Not `ip netns exec`, which pbox runs under too (it mounts the cgroup
# hierarchies that command's fresh /sys lacks): ip netns exec gives each
# command a mount namespace of its own, so the pins a detached box's
# network needs (state directory bind mounts) would be seen only by the
# command that made them, not by the later pbox rm.
in_host() {
  nsenter --net="/run/netns/$LAB_NS" "$@"
}

# web_rootfs DIR: a busybox root with a page for httpd to serve.
web_rootfs() {
  pbox rootfs busybox "$1" >/dev/null
  mkdir -p "$1/www"
  echo "hello from the box's web server" >"$1/www/index.html"
}

# box_ip NAME: the box's address on its network, without the prefix.
box_ip() {
  in_host pbox inspect --json "$1" | tr -d ' \n' | sed -n 's/.*"name":"eth0"[^}]*"addresses":\["\([0-9.]*\)\/.*/\1/p'
}

# two_hosts NAME DIR: two network namespaces that play two hosts, A and
# B, joined by a veth pair that plays the wire between them (the
# underlay: 192.168.50.1 on A's ul-a, 192.168.50.2 on B's ul-b). Each host
# gets its own box network, a .conflist in DIR: a bridge pbox0 (one per
# host: a bridge's name is its namespace's) with its own subnet,
# 10.10.1.0/24 on A and 10.10.2.0/24 on B, and no NAT — boxes keep their
# addresses across hosts, as Kubernetes asks of pod networks. Run
# commands on a host with in_a and in_b; both hosts and this run's boxes
# go on exit.
two_hosts() {
  lab_host "$1-a"
  HOST_B="lab-$1-b-$$"
  LAB_EXTRA_NS="$HOST_B"
  ip netns add "$HOST_B"
  ip -n "$HOST_B" link set lo up
  ip -n "$LAB_NS" link add ul-a type veth peer name ul-b netns "$HOST_B"
  ip -n "$LAB_NS" addr add 192.168.50.1/24 dev ul-a
  ip -n "$HOST_B" addr add 192.168.50.2/24 dev ul-b
  ip -n "$LAB_NS" link set ul-a up
  ip -n "$HOST_B" link set ul-b up
  # A veth is UP once both ends are; on a slow machine the second end's
  # carrier takes a moment to reach the first.
  wait_for sh -c "ip -n $LAB_NS -br link show ul-a | grep -q ' UP ' && ip -n $HOST_B -br link show ul-b | grep -q ' UP '"
  for h in a b; do
    n=1
    [ "$h" = b ] && n=2
    cat >"$2/host-$h.conflist" <<CONF
{"cniVersion": "1.0.0", "name": "lab-host-$h", "plugins": [
  {"type": "bridge", "bridge": "pbox0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$2/leases",
            "ranges": [[{"subnet": "10.10.$n.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]}
CONF
  done
}

in_a() { nsenter --net="/run/netns/$LAB_NS" "$@"; }
in_b() { nsenter --net="/run/netns/$HOST_B" "$@"; }

# whoami_rootfs DIR: web_rootfs, plus a CGI script that answers with the
# address the request came from (httpd's REMOTE_ADDR): what the server
# sees, NAT or not.
whoami_rootfs() {
  web_rootfs "$1"
  mkdir -p "$1/www/cgi-bin"
  cat >"$1/www/cgi-bin/whoami" <<'CGI'
#!/bin/sh
# httpd gives an IPv4 peer as [::ffff:A.B.C.D]: show A.B.C.D
echo "Content-Type: text/plain"
echo
echo "the server saw the request come from $(echo "$REMOTE_ADDR" | sed 's/^\[::ffff://; s/^\[//; s/\]$//')"
CGI
  chmod 755 "$1/www/cgi-bin/whoami"
}

# box_ip_in HOSTFN NAME: box_ip on one of two hosts (in_a or in_b).
box_ip_in() {
  "$1" pbox inspect --json "$2" | tr -d ' \n' | sed -n 's/.*"name":"eth0"[^}]*"addresses":\["\([0-9.]*\)\/.*/\1/p'
}

# box_on_each_host NAME DIR: on two_hosts' hosts, a box on each host's own
# network: on B a web server (whoami_rootfs), on A a box to ask it from.
# Sets A1 and B1 (their names) and A1_IP and B1_IP.
box_on_each_host() {
  whoami_rootfs "$2/rootfs"
  A1=$(box_name "$1-a1")
  B1=$(box_name "$1-b1")
  lab_box "$A1"
  lab_box "$B1"
  in_b pbox run -d --name "$B1" --network "$2/host-b.conflist" --rootfs "$2/rootfs" -- httpd -f -p 80 -h /www >/dev/null
  in_a pbox run -d --name "$A1" --network "$2/host-a.conflist" --rootfs "$2/rootfs" -- sleep 1000 >/dev/null
  # shellcheck disable=SC2034 # for the experiment that sourced this
  A1_IP=$(box_ip_in in_a "$A1")
  # shellcheck disable=SC2034
  B1_IP=$(box_ip_in in_b "$B1")
}
