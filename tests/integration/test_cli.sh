#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The CLI as a new user meets it: `fleetsim run` makes the folders it is
# given, fleetctl's hz and echo report what is on the bus, and the programs'
# help and error messages name the command the user typed.
source "$(dirname "$0")/lib.sh"

NET=(--network=grid:6x6:200 --vehicles=10 --phase=data-collection)

# --out and an ipc bus in folders that do not exist yet
"$SVC/fleetsim" run --quiet "${NET[@]}" --duration=30 --out="$WORK/new/out/rec" \
  --bus="ipc://$WORK/newbus/a/bus" 2>"$WORK/mkdirs.log"; rc=$?
check "--out and --bus in missing folders: the run completes (exit $rc)" test "$rc" -eq 0
check "... results written into the new --out folder" test -s "$WORK/new/out/rec/summary.json"
check "... the bus's new parent folders are private (0700)" \
  test "$(stat -c %a "$WORK/newbus" "$WORK/newbus/a" | tr '\n' ' ')" = "700 700 "
# a missing folder is made only inside one no other user could swap it out of
mkdir -m 0777 "$WORK/open"
"$SVC/fleetsim" run --quiet "${NET[@]}" --duration=30 --bus="ipc://$WORK/open/x/bus" 2>"$WORK/open.log"; rc=$?
check "a bus folder to create in a world-writable, non-sticky folder is refused (exit $rc)" test "$rc" -ne 0
check "... saying why" grep -q "writable by other users and not sticky" "$WORK/open.log"
check "... and nothing is created there" test ! -e "$WORK/open/x"
# ---- fleetctl against a paced run ----------------------------------------------
BUS=$(new_bus live)
CTL="$SVC/fleetctl --bus=$BUS"
"$SVC/fleetsim" run --quiet --bus="$BUS" --out="$WORK/live" --network=grid:8x8:200 --vehicles=12 \
  --duration=10h --speed=20 2>"$WORK/live.log" &
RUN=$!
PIDS+=($RUN)
for _ in $(seq 600); do $CTL status 2>/dev/null | grep -q "^state *running" && break; sleep 0.1; done

# hz: the spread of the intervals it measured (ros2 topic hz's std)
$CTL hz veh.state --window 1 --timeout 4.5 >"$WORK/hz.out" 2>&1
sed 's/^/# /' "$WORK/hz.out"
check "hz: the interval std is positive when min and max differ, and within their range" python3 - "$WORK/hz.out" <<'PY'
import re, sys
rows = [tuple(map(float, m.groups())) for m in
        re.finditer(r"min ([0-9.]+)s max ([0-9.]+)s std ([0-9.]+)s", open(sys.argv[1]).read())]
assert len(rows) >= 3, rows
for lo, hi, sd in rows:
    assert hi - lo <= 0.002 or sd > 0, (lo, hi, sd)
    assert sd <= hi - lo + 1e-4, (lo, hi, sd)
PY

$CTL stop >/dev/null
wait "$RUN"
finish
