#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fleet-viz (headless) on real runs, for what a user of the viewer relies on:
#  - a viewer on another road network than the run's refuses its vehicles
#    loudly (an error, a red banner, exit status 4 with --screenshot) instead
#    of drawing them over the wrong streets;
#  - its clock is the city's local time with its zone (the scenario's
#    city.timezone), or the zone asked for;
#  - when the run ends it stays open on the final state, saying so; under
#    `fleetsim run --viz` the launcher waits for it to be closed.
source "${FS_SOURCE_ROOT:?}/tests/integration/lib.sh"
source "${FS_SOURCE_ROOT:?}/viz/tests/lib_viz.sh"

REFUSAL=170,24,40 # viz_refusal_color()

# 1. A run on a grid, a viewer on the default network (Atlanta).
bus=$(new_bus grid)
"$FLEETSIM" run --quiet --bus="$bus" --network=grid:20x20:150 --vehicles=50 --speed=10 --duration=10m \
  --phase=data-collection 2>"$WORK/grid-run.log" &
LAUNCHER=$!; PIDS+=($LAUNCHER)
check "grid: the run starts" wait_running "$bus"
"$VIZ" --bus="$bus" --headless --screenshot="$WORK/grid.png" --screenshot-meta="$WORK/grid.meta" --wait=30 \
  2>"$WORK/grid-viz.log"
rc=$?
kill -TERM "$LAUNCHER"; wait "$LAUNCHER"
sed 's/^/# /' "$WORK/grid-viz.log"
check "grid: fleet-viz refuses the run at once (exit 4, got $rc)" test "$rc" -eq 4
check "grid: ... saying so in an error" grep -q "error.*another road network" "$WORK/grid-viz.log"
check "grid: ... drawing none of its vehicles" grep -qx "vehicles=0" "$WORK/grid.meta"
check "grid: ... counting its batches as refused" grep -q "^refused=[1-9]" "$WORK/grid.meta"
banner=$("$PIXELS" --png="$WORK/grid.png" --color=$REFUSAL --rect=300,0,980,90)
diag "banner pixels: $banner"
check "grid: ... under a red banner across the top of the map" test "$banner" -ge 5000

# 2. Atlanta (America/New_York): the run starts at 12:00 UTC, 08:00 on daylight time. The viewer
# watches until after the run's end (100 simulated seconds at 10x: 10 s; 900 frames: 15 s or more).
bus=$(new_bus atlanta)
"$FLEETSIM" run --quiet --bus="$bus" --vehicles=50 --speed=10 --duration=100s --phase=data-collection \
  2>"$WORK/atl-run.log" &
LAUNCHER=$!; PIDS+=($LAUNCHER)
check "atlanta: the run starts" wait_running "$bus"
"$VIZ" --bus="$bus" --headless --screenshot="$WORK/end.png" --screenshot-meta="$WORK/end.meta" --frames=900 \
  2>"$WORK/end-viz.log" &
VIEWER=$!; PIDS+=($VIEWER)
"$VIZ" --bus="$bus" --headless --timezone=UTC --screenshot="$WORK/utc.png" --screenshot-meta="$WORK/utc.meta" \
  2>"$WORK/utc-viz.log"
wait "$LAUNCHER"
wait "$VIEWER"; rc=$?
grep '^clock\|^zone\|^run_state\|^vehicles' "$WORK/end.meta" "$WORK/utc.meta" | sed 's/^/# /'
check "clock: the city's local time, 08:0x on 2028-06-01" grep -q '^clock=2028-06-01 08:0[0-9]:[0-9][0-9] Thu$' "$WORK/end.meta"
check "clock: ... with its zone and offset" grep -qx 'zone=UTC-4 America/New_York' "$WORK/end.meta"
check "clock: --timezone UTC shows 12:0x UTC" grep -q '^clock=2028-06-01 12:0[0-9]' "$WORK/utc.meta"
check "clock: ... labelled UTC" grep -qx 'zone=UTC' "$WORK/utc.meta"
check "end: the viewer outlived the run (exit $rc)" test "$rc" -eq 0
check "end: it shows the ended run" grep -qx 'run_state=5' "$WORK/end.meta"
check "end: ... with its final fleet" grep -qx 'vehicles=50' "$WORK/end.meta"
check "end: ... at the last tick's time" grep -qx 'clock=2028-06-01 08:01:39 Thu' "$WORK/end.meta"

# 4. fleetsim run --viz: when the run ends by itself the viewer stays on its final state, and
# the launcher waits for it (the results are written already); closing it ends the launcher.
bus=$(new_bus launched)
SDL_VIDEODRIVER=dummy "$FLEETSIM" run --viz --quiet --bus="$bus" --network=grid:6x6:200 --vehicles=5 \
  --duration=2m --out="$WORK/launched" 2>"$WORK/launched.log" &
LAUNCHER=$!; PIDS+=($LAUNCHER)
ended() { [ -s "$WORK/launched/summary.json" ] && grep -q "the viewer shows the run's final state" "$WORK/launched.log"; }
for _ in $(seq 1200); do ended && break; sleep 0.1; done
check "--viz: the run ended, its summary written" test -s "$WORK/launched/summary.json"
check "... the launcher says the viewer stays on the final state" grep -q "the viewer shows the run's final state" "$WORK/launched.log"
sleep 1
viewer_open() { pgrep -f -- "fleet-viz --bus=$1" >/dev/null; } # quiet: a pid is no TAP line
check "... and the viewer is still open" viewer_open "$bus"
pkill -TERM -f -- "fleet-viz --bus=$bus"
wait "$LAUNCHER"; rc=$?
check "closing the viewer ends the launcher (exit $rc)" test "$rc" -eq 0
nothing_left() { sleep 0.2; ! pgrep -f -- "--bus=$1" >/dev/null; }
check "... leaving nothing of the run" nothing_left "$bus"

finish
