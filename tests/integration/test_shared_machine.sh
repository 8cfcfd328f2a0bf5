#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A shared machine: another local user prepares the ipc bus of ours in /tmp
# before we start (a directory of theirs to listen in, a lock to block us, a
# symbolic link to make us write elsewhere). Each attempt must end in a
# refusal that names the path and what is wrong, never in a run that uses
# what they prepared. The other user is a throwaway account made here (CI
# runs as root); without root or useradd the test is skipped, saying so.
source "$(dirname "$0")/lib.sh"

OTHER=fleetsim-intruder
if [ "$(id -u)" -ne 0 ]; then
  echo "1..0 # SKIP needs root to act as a second local user (run as root, as CI does)"
  exit 0
fi
if ! id "$OTHER" >/dev/null 2>&1; then
  if ! command -v useradd >/dev/null 2>&1; then
    echo "1..0 # SKIP useradd is not available to create the second local user $OTHER"
    exit 0
  fi
  useradd --system --no-create-home --shell /usr/sbin/nologin "$OTHER" 2>/dev/null || id "$OTHER" >/dev/null 2>&1 || {
    echo "1..0 # SKIP cannot create the second local user $OTHER"
    exit 0
  }
fi
if ! command -v setpriv >/dev/null 2>&1; then
  echo "1..0 # SKIP setpriv (util-linux) is needed to act as $OTHER"
  exit 0
fi
OUID=$(id -u "$OTHER")
OGID=$(id -g "$OTHER")
as_other() { setpriv --reuid="$OUID" --regid="$OGID" --clear-groups -- "$@"; }
diag "the other user: $OTHER (uid $OUID)"

FLEETSIM=$SVC/fleetsim
RUN=(--quiet --network=grid:6x6:200 --vehicles=5 --duration=2m)
# Their side has to be where both of us can create names: /tmp itself.
SHARED=/tmp/fsit-shared-$$
cleanup_shared() { rm -rf "$SHARED"-*; }
trap 'cleanup_shared; cleanup' EXIT

refused() { # tag log path words...: non-zero exit, a message naming the path and saying what is wrong
  local tag=$1 rc=$2 log=$3 path=$4; shift 4
  check "$tag: refused (exit $rc)" test "$rc" -ne 0
  check "$tag: the refusal names $path" grep -q -- "$path" "$log"
  for w in "$@"; do
    check "$tag: ... and says '$w'" grep -q -- "$w" "$log"
  done
  sed 's/^/#   /' "$log" | head -3
}

# 1. Takeover: they make our bus directory first, open to all, and wait for our sockets.
bus=$SHARED-takeover
as_other mkdir -m 0777 "$bus"
"$FLEETSIM" run "${RUN[@]}" --bus="ipc://$bus" --out="$WORK/takeover" 2>"$WORK/takeover.log"; rc=$?
refused "takeover, fleetsim run" "$rc" "$WORK/takeover.log" "$bus" "belongs to $OTHER"
check "takeover: nothing of ours was bound in their directory" test -z "$(ls -A "$bus")"
check "takeover: no run started, no results" test ! -e "$WORK/takeover/summary.json"
timeout 20 "$SVC/fs-broker" --bus="ipc://$bus" 2>"$WORK/takeover-broker.log"; rc=$?
refused "takeover, fs-broker alone" "$rc" "$WORK/takeover-broker.log" "$bus" "belongs to $OTHER"
# ... or they listen in a private directory of theirs (as a broker of theirs would): our clients refuse it
bus=$SHARED-listen
as_other mkdir -m 0700 "$bus"
timeout 20 "$SVC/fleetctl" --bus="ipc://$bus" pause >"$WORK/listen.out" 2>"$WORK/listen.log"; rc=$?
refused "takeover, fleetctl pause" "$rc" "$WORK/listen.log" "$bus" "belongs to $OTHER" "not to you"
timeout 20 "$SVC/fleetctl" --bus="ipc://$bus" inject --event weather zone=downtown severity=storm for=30m \
  >/dev/null 2>"$WORK/listen-inject.log"; rc=$?
refused "takeover, fleetctl inject" "$rc" "$WORK/listen-inject.log" "$bus" "belongs to $OTHER"
timeout 20 "$SVC/fs-vehicle" --bus="ipc://$bus" --name=vehicle-0 --network=grid:6x6:200 --vehicles=5 \
  2>"$WORK/listen-vehicle.log"; rc=$?
refused "takeover, a participant" "$rc" "$WORK/listen-vehicle.log" "$bus" "belongs to $OTHER"

# 2. Lock blocking: a lock of theirs where ours used to be, held, does not stop us...
bus=$SHARED-lock
as_other touch "$bus.lock"
# the holder is the process holding the lock (exec), so killing it releases the lock
setpriv --reuid="$OUID" --regid="$OGID" --clear-groups -- bash -c 'exec 9<"$1" && flock 9 && touch "$1.held" && exec sleep 120' - "$bus.lock" >/dev/null 2>&1 &
HOLDER=$!
PIDS+=($HOLDER)
for _ in $(seq 1200); do [ -e "$bus.lock.held" ] && break; sleep 0.05; done
"$FLEETSIM" run "${RUN[@]}" --bus="ipc://$bus" --out="$WORK/lock" 2>"$WORK/lock.log"; rc=$?
check "lock beside the bus directory: ignored, our run completes (exit $rc)" test "$rc" -eq 0
check "... with its results" test "$(json "$WORK/lock/summary.json" "j['completed']")" = True
check "... and takes its lock inside its own directory, removed after" test ! -e "$bus"
# ... and a directory of theirs with a lock in it is refused for what it is, not taken for a running simulation
bus=$SHARED-lockdir
as_other mkdir -m 0755 "$bus"
as_other touch "$bus/lock"
"$FLEETSIM" run "${RUN[@]}" --bus="ipc://$bus" 2>"$WORK/lockdir.log"; rc=$?
refused "lock inside their directory" "$rc" "$WORK/lockdir.log" "$bus" "belongs to $OTHER"
check "lock inside their directory: not mistaken for a simulation already running" \
  bash -c "! grep -q 'already running' '$WORK/lockdir.log'"
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null

# 3. Symbolic links: ours made to point at a private directory or file of ours.
mkdir -m 0700 "$WORK/mine"
echo "precious" >"$WORK/precious"
bus=$SHARED-link
as_other ln -s "$WORK/mine" "$bus"
"$FLEETSIM" run "${RUN[@]}" --bus="ipc://$bus" --out="$WORK/link" 2>"$WORK/link.log"; rc=$?
refused "bus directory as a symbolic link, fleetsim run" "$rc" "$WORK/link.log" "$bus" "symbolic link"
check "... nothing was created where it points" test -z "$(ls -A "$WORK/mine")"
timeout 20 "$SVC/fleetctl" --bus="ipc://$bus" status >/dev/null 2>"$WORK/link-ctl.log"; rc=$?
refused "bus directory as a symbolic link, fleetctl" "$rc" "$WORK/link-ctl.log" "$bus" "symbolic link"
bus=$SHARED-locklink
as_other ln -s "$WORK/precious" "$bus.lock"
"$FLEETSIM" run "${RUN[@]}" --bus="ipc://$bus" --out="$WORK/locklink" 2>"$WORK/locklink.log"; rc=$?
check "a symbolic link where the lock used to be: our run completes (exit $rc)" test "$rc" -eq 0
check "... and the file it points to is untouched" test "$(cat "$WORK/precious")" = precious
finish
