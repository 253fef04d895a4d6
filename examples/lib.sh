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
    echo "pbox is not on PATH: build it (go build -o pbox ./cmd/pbox) and put it there, or run from the VM (vagrant up)" >&2
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

# stop_box PID: end a background pbox run (and with it the whole box).
stop_box() {
  if [ -n "${1:-}" ] && [ "$1" -gt 1 ]; then
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
  pbox cleanup >/dev/null 2>&1 || true
}
