#!/usr/bin/env bash
# The lab's VM for real: Debian 12 (bookworm) with systemd as PID 1 and pure
# cgroup v2, as the Vagrantfile's debian/bookworm64 box, built here from
# Debian's packages with mmdebstrap and booted with qemu; provision.sh runs
# in it unchanged, as Vagrant runs it (as root, the project at /vagrant);
# then vm-steps.sh checks the lab as the vagrant user in a login session.
#
#   sudo vagrant/test-vm.sh          # exit 0 only when every step passed
#
# The image is cached by the hash of its recipe (this file's package list
# and set-up) under $PBOX_VM_CACHE (default ~/.cache/pbox-vm), so a second
# run starts from it. The host's files are never touched: the VM boots the
# cached image with -snapshot (its writes are thrown away), sees a copy of
# the project, and every qemu this script starts is ended on every path.
# Needs: mmdebstrap, qemu-system-x86, e2fsprogs, and network access to a
# Debian mirror and the Go module proxy (the VM reaches them through qemu's
# user-mode network). PBOX_VM_TIMEOUT (default 1500) bounds the VM's run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/.." && pwd)
cache=${PBOX_VM_CACHE:-$HOME/.cache/pbox-vm}
timeout=${PBOX_VM_TIMEOUT:-1500}
mirror=${PBOX_VM_MIRROR:-http://deb.debian.org/debian}

die() { echo "test-vm: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run it as root (mmdebstrap and the image need it): sudo $0"
for c in mmdebstrap qemu-system-x86_64 mke2fs; do
  command -v "$c" >/dev/null || die "needs $c (apt-get install mmdebstrap qemu-system-x86 e2fsprogs)"
done

# What the Vagrant box has (systemd, sudo, a vagrant user with passwordless
# sudo), what a logind session and systemd --user need (dbus, libpam-systemd,
# dbus-user-session), a kernel, and provision.sh's packages, so that its
# apt-get install finds them installed (it still runs, and apt-get update
# still reaches the mirror). containerd is not the Vagrant box's: it is
# there for the step that drives pbox as containerd's runc with systemd
# cgroups, and starts only then.
packages=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,sudo,linux-image-amd64,udev,kmod,\
procps,psmisc,tree,htop,util-linux,jq,busybox-static,gcc,curl,ca-certificates,unzip,\
iproute2,iptables,containernetworking-plugins,bridge-utils,uidmap,passwd,containerd
recipe=$( (printf '%s\n' "$packages"; sed -n '/^setup_image()/,/^}/p' "$0"; cat /usr/local/share/ca-certificates/*.crt 2>/dev/null) | sha256sum | cut -c1-16)
image=$cache/bookworm-$recipe.img

setup_image() { # $1: the root directory mmdebstrap made
  local root=$1
  echo pbox-lab >"$root/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 pbox-lab\n' >"$root/etc/hosts"
  printf 'LABEL=root / ext4 rw,relatime 0 1\nvagrant /vagrant 9p trans=virtio,version=9p2000.L,msize=262144,nofail 0 0\n' >"$root/etc/fstab"
  mkdir -p "$root/vagrant"
  chroot "$root" useradd --create-home --shell /bin/bash --groups sudo vagrant
  echo 'vagrant ALL=(ALL) NOPASSWD:ALL' >"$root/etc/sudoers.d/vagrant"
  chmod 440 "$root/etc/sudoers.d/vagrant"
  # qemu's user-mode network: DHCP on the first interface, its DNS.
  printf '[Match]\nName=en* eth*\n[Network]\nDHCP=yes\n' >"$root/etc/systemd/network/50-dhcp.network"
  chroot "$root" systemctl enable systemd-networkd systemd-networkd-wait-online
  rm -f "$root/etc/resolv.conf"
  echo 'nameserver 10.0.2.3' >"$root/etc/resolv.conf"
  # The certificate authorities this host adds to Debian's (a workplace's
  # TLS proxy): the VM reaches the network through this host.
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null
  fi
  # The test: vm-steps.sh from the project copy, once the machine is up,
  # its output on the console; the machine powers off after it.
  cat >"$root/etc/systemd/system/pbox-vm-test.service" <<'UNIT'
[Unit]
Description=pbox lab test (vagrant/vm-steps.sh)
After=multi-user.target network-online.target vagrant.mount
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=/bin/bash /vagrant/vagrant/vm-steps.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
ExecStopPost=/bin/systemctl --no-block poweroff

[Install]
WantedBy=multi-user.target
UNIT
  chroot "$root" systemctl enable pbox-vm-test.service
  chroot "$root" systemctl mask serial-getty@ttyS0.service getty@tty1.service
  chroot "$root" systemctl disable containerd.service
}

build_image() {
  echo "== image: mmdebstrap bookworm ($image)"
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  mmdebstrap --variant=minbase --include="$packages" bookworm "$work/root" "$mirror" >"$work/log" 2>&1 ||
    { tail -30 "$work/log" >&2; die "mmdebstrap failed"; }
  setup_image "$work/root"
  cp "$work/root"/boot/vmlinuz-* "$work/vmlinuz"
  cp "$work/root"/boot/initrd.img-* "$work/initrd"
  mkdir -p "$cache"
  truncate -s 8G "$work/img"
  mke2fs -q -t ext4 -L root -d "$work/root" "$work/img"
  mv "$work/vmlinuz" "$image.vmlinuz"
  mv "$work/initrd" "$image.initrd"
  mv "$work/img" "$image"
}

[ -f "$image" ] || build_image

# The project, as Vagrant syncs it: a copy, so nothing the VM writes
# reaches the checkout; the examples' test binary built here (the VM has
# Go only after provision.sh, and compiling under emulation is slow).
run=$(mktemp -d)
qemu_pid=
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  rm -rf "$run"
}
trap cleanup EXIT INT TERM
mkdir "$run/vagrant"
(cd "$project" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$run/vagrant" 2>/dev/null) ||
  cp -a "$project/." "$run/vagrant/"
(cd "$project" && CGO_ENABLED=0 go test -c -o "$run/vagrant/examples/examples.test" ./examples) || die "go test -c ./examples failed"

accel=tcg
# A paravirtual KVM (kvm_pvm) boots stock kernels far slower than TCG.
if [ -w /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then accel=kvm; fi
echo "== boot (qemu, $accel): Debian 12, systemd, cgroup v2"
qemu-system-x86_64 -accel "$accel" -m 3G -smp 2 -nographic -no-reboot -snapshot \
  -kernel "$image.vmlinuz" -initrd "$image.initrd" \
  -append "root=LABEL=root rw console=ttyS0 quiet systemd.show_status=0" \
  -drive "file=$image,format=raw,if=virtio" \
  -virtfs "local,path=$run/vagrant,mount_tag=vagrant,security_model=none" \
  -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
  -serial "file:$run/console" -monitor none -display none </dev/null &
qemu_pid=$!
start=$(date +%s)
while kill -0 "$qemu_pid" 2>/dev/null; do
  if [ $(($(date +%s) - start)) -gt "$timeout" ]; then
    echo "test-vm: the VM ran past ${timeout}s: stopped" >&2
    break
  fi
  sleep 2
done
cleanup_qemu=$qemu_pid
kill "$cleanup_qemu" 2>/dev/null || true
wait "$cleanup_qemu" 2>/dev/null || true
qemu_pid=

cp "$run/console" "$cache/last-console.log" 2>/dev/null || true
result=$run/vagrant/.vm-result
if [ ! -f "$result" ]; then
  tail -60 "$run/console" >&2
  die "the VM wrote no result (the console's tail is above)"
fi
grep -a '^step ' "$result" || true
if grep -q '^step .* FAILED' "$result"; then
  grep '^step .* FAILED' "$result" | cut -d' ' -f2 | while read -r name; do
    echo "== what step $name printed (the last 60 lines; all of the console: $cache/last-console.log)" >&2
    sed -n "/^== step $name\$/,/^== step $name FAILED/p" "$run/console" | tail -60 >&2
  done
  die "a step failed: $(grep '^step .* FAILED' "$result" | cut -d' ' -f2 | tr '\n' ' ')"
fi
grep -q '^all passed$' "$result" || { tail -60 "$run/console" >&2; die "the VM did not finish every step"; }
echo "test-vm: every step passed in $(($(date +%s) - start)) s"
