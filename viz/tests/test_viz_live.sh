#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fleet-viz against real runs of the default Atlanta network (headless: SDL's
# offscreen driver, software renderer):
#  - its screenshot shows every isolated vehicle in its state colour where an
#    independent observer (viz-probe) saw it, roads and the HUD;
#  - its control keys pause the run and change its pace through the conductor;
#  - killing it mid-run leaves the run alone: same run digest as without it.
source "${FS_SOURCE_ROOT:?}/tests/integration/lib.sh"
source "${FS_SOURCE_ROOT:?}/viz/tests/lib_viz.sh"

none_left() { # bus
  sleep 0.1
  [ -z "$(pgrep -f -- "--bus=$1" || true)" ]
}

status_of() { # bus
  "$FLEETCTL" --bus="$1" status 2>/dev/null
}

# 1. The screenshot against the probe's record of the same batches (2 shards).
bus=$(new_bus shot)
check "shot: the run starts" start_probed_run "$bus" 30m "$WORK/shot-run.log"
"$VIZ" --bus="$bus" --headless --screenshot="$WORK/shot.png" --frames=20 --screenshot-meta="$WORK/shot.meta" \
  2>"$WORK/viz-shot.log"
rc=$?
kill -TERM "$PROBE_PID"; wait "$PROBE_PID"
check "shot: fleet-viz saved a screenshot (exit $rc)" test "$rc" -eq 0 -a -s "$WORK/shot.png"
check "shot: fleet-viz attached with control" grep -q "control keys ready" "$WORK/viz-shot.log"
check "shot: it showed 300 vehicles from 2 shards" grep -qx "vehicles=300" "$WORK/shot.meta"
"$CHECK" --png="$WORK/shot.png" --meta="$WORK/shot.meta" --record="$WORK/rec" --network="$ATLANTA" \
  >"$WORK/check.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/check.out"
check "shot: vehicles in their state colours where the probe saw them, roads and HUD drawn" test "$rc" -eq 0

# 2. Control keys: space pauses, '+' speeds up (10x -> 20x), both answered by the conductor.
# 600 frames (~10 s): time for the acknowledgements on a loaded machine (the meta file keeps the
# last answer; its on-screen toast fades after 3.5 s).
"$VIZ" --bus="$bus" --headless --screenshot="$WORK/keys.png" --frames=600 --press=' +' \
  --screenshot-meta="$WORK/keys.meta" 2>"$WORK/viz-keys.log"
check "keys: fleet-viz ran (exit $?)" test -s "$WORK/keys.png"
st=$(status_of "$bus")
diag "$(echo "$st" | head -4 | tr '\n' ';')"
check "keys: space paused the run" grep -q '^state *paused' <<<"$st"
check "keys: + set the pace to 20x" grep -q '^speed *20x' <<<"$st"
check "keys: the conductor's answer reached the viewer" grep -q '^answer=conductor: speed 20x' "$WORK/keys.meta"
check "keys: the conductor logged both commands from fleet-viz" \
  test "$(grep -c 'command from fleet-viz' "$WORK/shot-run.log")" -ge 2
kill -TERM "$LAUNCHER"; wait "$LAUNCHER"

# 3. Killing the viewer mid-run does not disturb the run.
digest() { json "$1/summary.json" "j['run_digest']"; }
busA=$(new_bus alone)
"$FLEETSIM" run --quiet --bus="$busA" --out="$WORK/alone" --seed=5 --duration=4m --phase=data-collection \
  2>"$WORK/alone.log"
check "kill: run without a viewer completes" test "$(json "$WORK/alone/summary.json" "j['completed']")" = True
busB=$(new_bus watched)
"$FLEETSIM" run --quiet --bus="$busB" --out="$WORK/watched" --seed=5 --duration=4m --phase=data-collection \
  --speed=30 2>"$WORK/watched.log" &
LAUNCHER=$!; PIDS+=($LAUNCHER)
wait_running "$busB"
"$VIZ" --bus="$busB" --headless 2>"$WORK/viz-kill.log" &
VIEWER=$!; PIDS+=($VIEWER)
for _ in $(seq 100); do grep -q "control keys ready" "$WORK/viz-kill.log" && break; sleep 0.05; done
sleep 1
check "kill: the viewer was watching when killed" grep -q "control keys ready" "$WORK/viz-kill.log"
check "kill: the run was still going" grep -q '^state *running' <<<"$(status_of "$busB")"
kill -9 "$VIEWER"; wait "$VIEWER" 2>/dev/null
wait "$LAUNCHER"; rc=$?
check "kill: the watched run exits 0 ($rc)" test "$rc" -eq 0
check "kill: the watched run completes" test "$(json "$WORK/watched/summary.json" "j['completed']")" = True
diag "digest alone $(digest "$WORK/alone"), watched and viewer killed $(digest "$WORK/watched")"
check "kill: same run digest as without the viewer" test "$(digest "$WORK/alone")" = "$(digest "$WORK/watched")"
check "kill: no process of the run left" none_left "$busB"

finish
