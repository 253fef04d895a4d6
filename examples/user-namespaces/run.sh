#!/bin/sh
# Experiment 12: a user namespace. An ordinary user starts a box and is
# root in it; outside, root in the box is that user and nothing more.
# Then root gives a box the same with --userns auto.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
need_root
need_pbox
need useradd passwd
need newuidmap uidmap

# The ordinary user: the one who ran sudo, else one made for the lesson.
lab_user=${SUDO_USER:-}
made_user=
if [ -z "$lab_user" ] || [ "$lab_user" = root ]; then
  lab_user=pboxlab
  if ! id "$lab_user" >/dev/null 2>&1; then
    useradd --no-create-home --shell /bin/sh "$lab_user"
    made_user=1
  fi
fi
work=$(mktemp -d)
subids_added=
cleanup() {
  rm -rf "$work"
  if [ -n "$subids_added" ]; then
    sed -i '/^pbox:2000000:1000000$/d' /etc/subuid /etc/subgid
  fi
  if [ -n "$made_user" ]; then
    userdel "$lab_user" 2>/dev/null || true
    sed -i "/^$lab_user:/d" /etc/subuid /etc/subgid
  fi
}
trap cleanup EXIT
chmod 755 "$work"
cp "$(command -v pbox)" "$work/pbox"   # where the user can run it
mkdir "$work/data"
chown "$lab_user" "$work/data"
uid=$(id -u "$lab_user")
as_user() { su -s /bin/sh "$lab_user" -c "cd $work && env -u XDG_RUNTIME_DIR $*"; }

echo "== as $lab_user (uid $uid): ./pbox run, no sudo"
# shellcheck disable=SC2016 # expanded by the shell in the box
as_user './pbox run -v '"$work"'/data:/mnt -- sh -c '"'"'
  echo "box: id -u says $(id -u)"
  echo "box: uid_map (inside outside count):"; sed "s/^/box:   /" /proc/self/uid_map
  touch /mnt/made-by-root-inside
  cat /etc/shadow >/dev/null 2>&1 && echo "box: READ the host shadow file" || echo "box: cat /etc/shadow: Permission denied, root in here is not root out there"
'"'"''
owner=$(stat -c %u "$work/data/made-by-root-inside")
if [ "$owner" = "$uid" ]; then
  echo "host: the file root made in the box belongs to uid $owner ($lab_user)"
else
  echo "host: the file root made in the box belongs to uid $owner, NOT $lab_user"
fi

echo "== as root: pbox run --userns auto"
if ! grep -q '^pbox:' /etc/subuid || ! grep -q '^pbox:' /etc/subgid; then
  echo "pbox:2000000:1000000" | tee -a /etc/subuid /etc/subgid >/dev/null   # removed at the end
  subids_added=1
fi
# shellcheck disable=SC2016 # expanded by the shell in the box
pbox run --userns auto -- sh -c '
  echo "box: id -u says $(id -u), uid_map: $(tr -s " " </proc/self/uid_map)"
  cat /etc/shadow >/dev/null 2>&1 && echo "box: READ the host shadow file" || echo "box: cat /etc/shadow: Permission denied"'
