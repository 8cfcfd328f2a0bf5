# SPDX-License-Identifier: Apache-2.0
# Shared helpers of the integration tests (sourced). Each test gets a private
# bus directory, starts real processes, and reports TAP.
set -uo pipefail

BUILD=${FS_BUILD_ROOT:?FS_BUILD_ROOT not set (run through meson test)}
SRC=${FS_SOURCE_ROOT:?FS_SOURCE_ROOT not set}
SVC=$BUILD/services
TESTBIN=$BUILD/tests/integration
WORK=$(mktemp -d /tmp/fsit.XXXXXX)
PIDS=()
tap_n=0
tap_failed=0

# Only a process that is still our child is ours to kill: the pid of one that ended minutes ago
# may be another test's or user's by now (pids wrap at /proc/sys/kernel/pid_max, 32768 here, in
# about 3 minutes on a machine busy with tests).
still_ours() { [ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" = "$$" ]; }

cleanup() {
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && still_ours "$p" && kill -9 "$p" 2>/dev/null
  done
  wait 2>/dev/null
  # FS_TEST_KEEP_FAILED=1 (scripts/test-under-load sets it): a failed test's logs stay for a look
  if [ "$tap_failed" -gt 0 ] && [ -n "${FS_TEST_KEEP_FAILED:-}" ]; then
    echo "# logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
check() { # description, command...
  local what=$1; shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
diag() { printf '%s\n' "$*" | sed 's/^/# /'; } # every line a TAP comment
finish() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }

# json FILE EXPR: evaluate a Python expression on the parsed file, bound to j.
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
# digest NAME: the run digest of the run whose --out was $WORK/NAME.
digest() { json "$WORK/$1/summary.json" "j['run_digest']"; }
# ctl ARGS...: fleetctl on the test's bus $BUS, its output as TAP comments; fleetctl's exit status.
ctl() { "$SVC/fleetctl" --bus="$BUS" "$@" | sed "s/^/# /"; return "${PIPESTATUS[0]}"; }

# end_run_of BROKER_PID CONDUCTOR_PID [PID...]: wait for a run's conductor and the other
# processes named, then stop the run's broker; returns the conductor's exit status.
end_run_of() {
  local broker=$1
  wait "$2"; local rc=$?
  shift 2
  for p in "$@"; do wait "$p"; done
  kill "$broker" 2>/dev/null
  return $rc
}

free_ports() { # N: the first of N consecutive free tcp ports on 127.0.0.1
  python3 - "$1" <<'PY'
import random, socket, sys
for _ in range(200):
    p = random.randint(20000, 60000)
    socks = []
    try:
        for i in range(int(sys.argv[1])):
            s = socket.socket()
            s.bind(("127.0.0.1", p + i))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(p)
    break
PY
}

new_bus() { # name -> prints an ipc address in WORK
  mkdir -p "$WORK/$1"
  echo "ipc://$WORK/$1/bus"
}

start_broker() { # bus [args...]
  local bus=$1; shift
  "$SVC/fs-broker" --bus="$bus" "$@" 2>>"$WORK/broker.log" &
  PIDS+=($!)
  BROKER_PID=$!
  local dir=${bus#ipc://}
  for _ in $(seq 3000); do [ -S "$dir/tap" ] && return 0; sleep 0.02; done # up to 60 s on a busy machine
  echo "# broker did not start" >&2
  return 1
}

# Is any process of this test's programs still alive?
leftovers() { # pattern (matched against full command lines)
  pgrep -f "$1" || true
}

# The reference MCAP reader (npm @mcap/core and the checks in tests/integration/mcap-node),
# installed once per build directory from the committed lockfile. MCAP_NODE: where it is.
MCAP_NODE=$BUILD/tests/integration/mcap-node
mcap_node_ready() {
  command -v node >/dev/null && command -v npm >/dev/null || { diag "node/npm missing (scripts/deps installs them)"; return 1; }
  mkdir -p "$MCAP_NODE"
  cp "$SRC"/tests/integration/mcap-node/{package.json,package-lock.json,*.cjs} "$MCAP_NODE/"
  if [ ! -d "$MCAP_NODE/node_modules/@mcap/core" ]; then
    (cd "$MCAP_NODE" && npm ci --no-audit --no-fund --ignore-scripts >"$WORK/npm.log" 2>&1) || { sed 's/^/# /' "$WORK/npm.log"; return 1; }
  fi
}
