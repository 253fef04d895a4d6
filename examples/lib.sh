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
# experiment's README, which shows it. Generated, not committed.
draw_box() {
  svg="$(cd "$(dirname "$0")" && pwd)/box.svg"
  if pbox inspect --svg "$1" >"$svg" 2>/dev/null; then
    echo "picture of the box: $svg (open it in a browser, or read the README beside it)"
  fi
}
