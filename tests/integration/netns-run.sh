#!/usr/bin/env bash
# Runs an integration test script inside its own network namespace that has
# only a loopback interface: tests cannot collide on ports, and no packet can
# leave 127.0.0.0/8.
#   tests/integration/netns-run.sh tests/integration/test_lab_core.sh [args]
# Environment passed through: WIMSD, WIMS_BUILD, WIMS_SRC, TMPDIR, WIMS_KEEP, ...
set -u
if [ $# -lt 1 ]; then
  echo "usage: $0 SCRIPT [ARGS...]" >&2
  exit 2
fi
script=$1; shift
if [ ! -f "$script" ]; then
  echo "netns-run: no such script: $script" >&2
  exit 2
fi
if [ "${WIMS_IN_NETNS:-}" = 1 ]; then # already isolated (nested call)
  exec bash "$script" "$@"
fi
if [ "$(id -u)" != 0 ]; then
  echo "netns-run: $(basename "$script"): needs root: each integration test runs in its own" \
       "network namespace (unshare --net), which only root can create here" >&2
  exit 1
fi
for tool in unshare ip; do
  command -v $tool >/dev/null || { echo "netns-run: '$tool' not found (packages util-linux, iproute2)" >&2; exit 1; }
done
export WIMS_IN_NETNS=1
exec unshare --net -- bash -c 'ip link set lo up || exit 1; exec bash "$0" "$@"' "$script" "$@"
