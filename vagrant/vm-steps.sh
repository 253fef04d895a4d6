#!/usr/bin/env bash
# The lab checked inside the Debian 12 VM that test-vm.sh boots (systemd as
# PID 1, pure cgroup v2): run there as root by a systemd unit once the
# machine is up. Each step prints its output under "== step NAME" on the
# console and one line to /vagrant/.vm-result: "step NAME ok" or
# "step NAME FAILED"; "all passed" ends a run in which none failed.
set -uo pipefail

result=/vagrant/.vm-result
: >"$result"
failed=0
step() { # step NAME CMD...: run CMD, record how it went
  local name=$1
  shift
  echo "== step $name"
  if "$@"; then
    echo "step $name ok" >>"$result"
  else
    echo "step $name FAILED" >>"$result"
    echo "== step $name FAILED"
    failed=1
  fi
}
# as_vagrant CMD: CMD as the vagrant user in a login session of its own
# (PAM's pam_systemd makes it a session-N.scope, as an ssh login would).
as_vagrant() { runuser -l vagrant -c "$*"; }
check() { # check WHAT CONDITION...: a condition, named when it fails
  local what=$1
  shift
  if ! "$@"; then
    echo "check failed: $what" >&2
    return 1
  fi
}

provision() {
  # As Vagrant runs it: as root, with the synced folder, in a root login
  # environment (a systemd unit has no HOME; Vagrant's shell has one).
  env HOME=/root bash /vagrant/vagrant/provision.sh /vagrant
}

first_commands() {
  # The README's first commands: a box from one session, looked at from
  # another, as a user with sudo.
  as_vagrant 'sudo pbox run -- sleep 10000 >/dev/null 2>&1 &'
  local pid=""
  for _ in $(seq 100); do
    pid=$(pgrep -n -x sleep) && break
    sleep 0.1
  done
  check "the boxed sleep runs" test -n "$pid" || return 1
  as_vagrant "pgrep -a sleep; grep NSpid /proc/$pid/status; sudo pbox inspect $pid" >/tmp/inspect.out 2>&1
  cat /tmp/inspect.out
  check "NSpid has a box pid" grep -qE 'NSpid:\s+[0-9]+\s+[0-9]+' /tmp/inspect.out &&
    check "inspect names pbox-init" grep -q 'pbox-init' /tmp/inspect.out &&
    check "the box's cgroup is pbox's" grep -q '/pbox/' /tmp/inspect.out
  local ok=$?
  kill "$pid" 2>/dev/null
  return $ok
}

session_is_a_scope() {
  as_vagrant 'cat /proc/self/cgroup' | tee /tmp/own.cgroup
  check "a login shell sits in a session scope" grep -qE '^0::/user.slice/user-[0-9]+.slice/session-[0-9a-z]+.scope$' /tmp/own.cgroup
}

experiments() {
  # Every experiment, with its expected output, as the vagrant user with
  # sudo: the examples' test (built by test-vm.sh) runs each run.sh.
  as_vagrant 'cd /vagrant/examples && sudo PBOX_BIN=/usr/local/bin/pbox ./examples.test -test.run TestExperiments -test.v 2>&1'
}

living_with_systemd() {
  local before
  before=$(systemctl --failed --no-legend | wc -l)
  pbox run -d --name lives --memory 64M -- sleep 10000 || return 1
  systemd-cgls --no-pager | grep -B2 -A2 'sleep 10000' | tee /tmp/cgls.out
  check "systemd-cgls shows the box" grep -q 'lives' /tmp/cgls.out || return 1
  printf '[Service]\nExecStart=/bin/sleep infinity\n' >/etc/systemd/system/pbox-unrelated.service
  systemctl daemon-reload && systemctl start pbox-unrelated && systemctl restart pbox-unrelated && systemctl daemon-reload
  sleep 1
  pbox ps | tee /tmp/ps.out
  check "the box still runs after daemon-reload and a restart" grep -qE '^lives +[0-9]+ +running' /tmp/ps.out &&
    check "its cgroup still holds it" test -n "$(cat /sys/fs/cgroup/pbox/lives/cgroup.procs)" &&
    check "its limit is still set" grep -qx 67108864 /sys/fs/cgroup/pbox/lives/memory.max &&
    check "no unit failed" test "$(systemctl --failed --no-legend | wc -l)" -le "$before"
  local ok=$?
  systemctl --failed --no-legend
  systemctl stop pbox-unrelated
  pbox rm -f lives
  return $ok
}

from_a_service() {
  # A box started by a service with Delegate=yes, in the service's own
  # subtree (--cgroup-parent), and one from a login session.
  cat >/etc/systemd/system/pbox-boxes.service <<'UNIT'
[Service]
Type=oneshot
RemainAfterExit=yes
Delegate=yes
ExecStart=/usr/local/bin/pbox run -d --name svcbox --cgroup-parent system.slice/pbox-boxes.service/boxes -- sleep 10000
ExecStop=/usr/local/bin/pbox rm -f svcbox
UNIT
  systemctl daemon-reload
  if ! systemctl start pbox-boxes; then
    journalctl -u pbox-boxes --no-pager | tail
    return 1
  fi
  pbox ps | tee /tmp/ps.out
  check "the service's box runs" grep -qE '^svcbox +[0-9]+ +running' /tmp/ps.out &&
    check "in the service's delegated subtree" test -d /sys/fs/cgroup/system.slice/pbox-boxes.service/boxes/svcbox &&
    as_vagrant 'sudo pbox run -d --name sessionbox -- sleep 10000 && sudo pbox ps && sudo pbox rm -f sessionbox'
  local ok=$?
  systemctl stop pbox-boxes
  check "stopping the service removed its box" test ! -e /sys/fs/cgroup/system.slice/pbox-boxes.service/boxes/svcbox || ok=1
  return $ok
}

rootless_with_systemd() {
  # The rootless experiment as vagrant, then limits in systemd's delegated
  # subtree: pbox in a scope of the user's systemd (user@UID.service).
  as_vagrant 'cd /vagrant/examples/user-namespaces && sudo ./run.sh' || return 1
  as_vagrant 'systemd-run --user --scope --quiet pbox run -d --name rl --memory 64M --pids-limit 30 -- sleep 10000' || return 1
  local dir
  dir=$(ls -d /sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/pbox/rl@* 2>/dev/null)
  echo "the box's cgroup: $dir"
  check "the rootless box's cgroup in user@1000.service" test -n "$dir" &&
    check "its memory limit" grep -qx 67108864 "$dir/memory.max" &&
    check "its pids limit" grep -qx 30 "$dir/pids.max" &&
    as_vagrant 'pbox stats --no-stream rl && pbox rm -f rl'
  local ok=$?
  check "rm removed its cgroup" test ! -e "$dir" || ok=1
  return $ok
}

systemd_cgroup() {
  # --systemd-cgroup (containerd's SystemdCgroup = true): the box's cgroup
  # is a transient scope with Delegate=yes, whose limits survive systemd
  # writing every unit's attributes again on daemon-reload.
  local unit=pbox-sdbox.scope dir=/sys/fs/cgroup/system.slice/pbox-sdbox.scope ok=0
  pbox --systemd-cgroup run -d --name sdbox --memory 64M --cpus 0.5 --pids-limit 40 -- sleep 10000 || return 1
  systemctl status --no-pager "$unit"
  local pid
  pid=$(pbox ps --format '{{.Pid}}' | head -1)
  check "the scope is active" systemctl is-active --quiet "$unit" &&
    check "Delegate=yes" test "$(systemctl show -P Delegate "$unit")" = yes &&
    check "systemd knows its memory limit" test "$(systemctl show -P MemoryMax "$unit")" = 67108864 &&
    check "the box's init is in the scope" grep -qx "$pid" "$dir/cgroup.procs" &&
    check "memory.max" grep -qx 67108864 "$dir/memory.max" &&
    check "pids.max" grep -qx 40 "$dir/pids.max" &&
    check "cpu.max" grep -qx "50000 100000" "$dir/cpu.max" &&
    check "the device rules hold in a scope (the VM's disk)" bash -c '! pbox exec sdbox head -c1 /dev/vda' &&
    systemctl daemon-reload &&
    check "memory.max after daemon-reload" grep -qx 67108864 "$dir/memory.max" &&
    check "pids.max after daemon-reload" grep -qx 40 "$dir/pids.max" &&
    check "cpu.max after daemon-reload" grep -qx "50000 100000" "$dir/cpu.max" &&
    pbox update --memory 128M sdbox &&
    systemctl daemon-reload &&
    check "an update survives daemon-reload" grep -qx 134217728 "$dir/memory.max" &&
    pbox rm -f sdbox || ok=1
  check "rm: the scope is gone" test ! -e "$dir" || ok=1
  # A box that ends by itself: its monitor stops the unit.
  pbox --systemd-cgroup run -d --name sdshort -- true && pbox wait sdshort &&
    check "an ended box's scope is gone" test ! -e /sys/fs/cgroup/system.slice/pbox-sdshort.scope &&
    pbox rm sdshort || ok=1
  # A Kubernetes-style path from a config: its slices expanded, as runc's
  # systemd driver (and systemd) name them.
  local bundle
  bundle=$(mktemp -d)
  pbox --systemd-cgroup run --print-config --name k8s --cgroup-parent kubepods-besteffort-pod1.slice -- sleep 10000 >"$bundle/config.json" &&
    pbox --systemd-cgroup create --bundle "$bundle" k8s && pbox start k8s &&
    check "the pod's scope" systemctl is-active --quiet pbox-k8s.scope &&
    check "in the pod's slice" test "$(systemctl show -P Slice pbox-k8s.scope)" = kubepods-besteffort-pod1.slice &&
    check "at runc's path" test -d /sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/pbox-k8s.scope &&
    pbox delete --force k8s || ok=1
  rm -rf "$bundle"
  systemctl stop kubepods.slice
  systemctl list-units --all --plain --no-legend 'pbox-*.scope' | tee /tmp/units.out
  check "no box's unit is left" test ! -s /tmp/units.out || ok=1
  systemctl list-units --failed --plain --no-legend | tee /tmp/failed.out
  check "no unit failed" test ! -s /tmp/failed.out || ok=1
  return $ok
}

containerd_systemd_cgroup() {
  # containerd's SystemdCgroup = true, as ctr asks for it: its runc shim
  # runs pbox --systemd-cgroup create/start/kill/delete; the box's scope
  # is named by the cgroupsPath containerd passes.
  systemctl start containerd || return 1
  local rootfs ok=0 unit=ctr-sd1.scope
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" && cp /bin/busybox "$rootfs/bin/" && ln -s busybox "$rootfs/bin/sleep" || return 1
  ctr run -d --runc-binary "$(command -v pbox)" --runc-systemd-cgroup --cgroup system.slice:ctr:sd1 \
    --memory-limit 67108864 --rootfs "$rootfs" sd1 /bin/sleep 10000 || return 1
  ctr task ls | tee /tmp/tasks.out
  check "containerd's task runs" grep -qE '^sd1 +[0-9]+ +RUNNING' /tmp/tasks.out &&
    check "its box is a scope" systemctl is-active --quiet "$unit" &&
    check "with Delegate=yes" test "$(systemctl show -P Delegate "$unit")" = yes &&
    check "and its memory limit" test "$(systemctl show -P MemoryMax "$unit")" = 67108864 || ok=1
  ctr task kill -s SIGKILL sd1
  for _ in $(seq 50); do ctr task ls | grep -qE '^sd1 .*STOPPED' && break; sleep 0.2; done
  ctr task delete sd1 && ctr container delete sd1 || ok=1
  check "the scope is gone" bash -c "! systemctl is-active --quiet $unit" || ok=1
  systemctl stop containerd
  rm -rf "$rootfs"
  return $ok
}

step provision provision
step session-scope session_is_a_scope
step first-commands first_commands
step experiments experiments
step living-with-systemd living_with_systemd
step from-a-service from_a_service
step rootless-systemd rootless_with_systemd
step systemd-cgroup systemd_cgroup
step containerd-systemd-cgroup containerd_systemd_cgroup
if [ "$failed" = 0 ]; then
  echo "all passed" >>"$result"
fi
sync
