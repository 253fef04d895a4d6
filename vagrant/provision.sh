#!/usr/bin/env bash
# Provision a machine for the pbox lab: the tools the lesson uses, the Go
# toolchain go.mod asks for, and pbox built from the source folder and put
# on PATH. Vagrant runs it as root; it also works by hand on any Debian 12
# or Ubuntu 22.04+ machine with cgroup v2:
#
#   sudo bash vagrant/provision.sh /path/to/pbox
set -euo pipefail

src=${1:-/vagrant}
go_dir=/usr/local/go

if [ "$(id -u)" != 0 ]; then
  echo "provision.sh: run it as root (sudo bash $0 $src)" >&2
  exit 1
fi
if [ ! -f "$src/go.mod" ]; then
  echo "provision.sh: no go.mod in $src: pass the pbox source folder" >&2
  exit 1
fi

echo "== the lesson's tools"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# iproute2, iptables, containernetworking-plugins, bridge-utils: the
# network lessons (ip netns, veths, bridges, NAT; pbox run --network bridge).
# gcc, libc6-dev: the fork experiment compiles C (a box without
# recommended packages has gcc without the C library's headers).
# uidmap, passwd: rootless boxes and the user-namespace lesson (newuidmap,
# newgidmap, useradd).
apt-get install -y -q procps psmisc tree htop util-linux jq busybox-static gcc libc6-dev curl ca-certificates unzip \
  iproute2 iptables containernetworking-plugins bridge-utils uidmap passwd

echo "== Go (the version go.mod names)"
want=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$src/go.mod")
have=$("$go_dir/bin/go" env GOVERSION 2>/dev/null || true)
if [ "$have" != "go$want" ]; then
  arch=$(dpkg --print-architecture)
  if curl -fsSL --max-time 300 "https://go.dev/dl/go$want.linux-$arch.tar.gz" -o /tmp/go.tgz; then
    rm -rf "$go_dir"
    tar -C /usr/local -xzf /tmp/go.tgz
  else
    # Where go.dev cannot be reached, the Go module proxy serves the same
    # toolchain as a module (what GOTOOLCHAIN downloads); a module zip
    # keeps no file modes, so the programs are made executable again.
    proxy=$(printf '%s' "${GOPROXY:-https://proxy.golang.org}" | cut -d, -f1)
    echo "go.dev unreachable: the toolchain from $proxy"
    curl -fsSL --max-time 600 "$proxy/golang.org/toolchain/@v/v0.0.1-go$want.linux-$arch.zip" -o /tmp/go.zip
    rm -rf "$go_dir" /tmp/go-unzip
    unzip -q /tmp/go.zip -d /tmp/go-unzip
    mv "/tmp/go-unzip/golang.org/toolchain@v0.0.1-go$want.linux-$arch" "$go_dir"
    chmod +x "$go_dir"/bin/* "$go_dir"/pkg/tool/*/*
    rm -rf /tmp/go-unzip /tmp/go.zip
  fi
  rm -f /tmp/go.tgz
fi
# shellcheck disable=SC2016 # $PATH is for the login shell to expand
echo 'export PATH=$PATH:/usr/local/go/bin' > /etc/profile.d/go.sh

echo "== pbox"
cd "$src"
CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$go_dir/bin/go" build -o /usr/local/bin/pbox ./cmd/pbox
/usr/local/bin/pbox --version

echo "== cgroups"
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  echo "cgroup v2 (unified): as the lab expects"
else
  echo "warning: this machine does not run cgroup v2 only; pbox works, but the lab's notes describe v2" >&2
fi
echo "ready: sudo pbox run -- sleep 10000, then the experiments in $src/examples"
