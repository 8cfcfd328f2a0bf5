#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `fleetctl play` onto a bus, driven like a run (issue 21): `fleetctl status` reports the
# playback (its recording, span, tick advancing); pause stops the tick; seek moves it and the
# vehicles are where the recording had them then (a headless fleet-viz's frame checked by
# viz-check against the recording's own records); the viewer shows the playback's status and
# timeline, and its keys seek and resume it; at the end (--hold) it waits until stopped.
source "${FS_SOURCE_ROOT:?}/tests/integration/lib.sh"
source "${FS_SOURCE_ROOT:?}/viz/tests/lib_viz.sh"

record_run "$WORK/run.mcap"
check "a 10-minute run recorded" test -s "$WORK/run.mcap"

BUS=$(new_bus play)
ctl() { "$FLEETCTL" --bus="$BUS" "$@"; }
# `fleetctl status` of the playback until it matches (each call reads a new status: 4 a second)
wait_status() { # extended regex
  for _ in $(seq 1200); do
    ctl status >"$WORK/status.txt" 2>&1 && grep -Eq "$1" "$WORK/status.txt" && return 0
    sleep 0.05
  done
  sed 's/^/# /' "$WORK/status.txt"
  return 1
}
tick_now() { ctl status 2>/dev/null | sed -n 's/^tick *\([0-9]*\) of.*/\1/p'; }

# At 5x: the 10 simulated minutes last two wall minutes, far more than the checks below.
ctl play "$WORK/run.mcap" --speed 5 --hold >"$WORK/play.out" 2>"$WORK/play.log" &
PLAY_PID=$!; PIDS+=($PLAY_PID)

# 1. Status: a playback, its recording and span, its tick advancing.
check "status: the playback runs" wait_status '^state *running \(playback\)'
sed 's/^/# /' "$WORK/status.txt"
check "status: the recording and its span" \
  grep -q "^span *2028-06-01T12:00:00Z .. 2028-06-01T12:09:59Z" "$WORK/status.txt"
check "status: the recording's last tick" grep -q "^tick *[0-9]* of 599$" "$WORK/status.txt"
t1=$(tick_now)
advanced=no
for _ in $(seq 1200); do [ "$(tick_now)" -gt "${t1:-0}" ] && advanced=yes && break; sleep 0.05; done
check "status: the tick advances ($t1 and on)" test $advanced = yes

# 2. Pause: acknowledged, and the tick stops.
ctl pause >"$WORK/pause.out" 2>&1
check "pause: accepted ($(cat "$WORK/pause.out"))" grep -q "^playback paused at tick [0-9]*" "$WORK/pause.out"
paused_tick=$(sed -n 's/^playback paused at tick \([0-9]*\),.*/\1/p' "$WORK/pause.out")
check "pause: status says paused" wait_status '^state *paused \(playback\)'
a=$(tick_now); b=$(tick_now); c=$(tick_now)
check "pause: the tick stays at $paused_tick over three statuses ($a $b $c)" \
  test "$a" = "$paused_tick" -a "$b" = "$paused_tick" -a "$c" = "$paused_tick"

# 3. Seek: forward to 7 minutes in, then back two minutes; the tick follows.
ctl seek 7m >"$WORK/seek.out" 2>&1
check "seek 7m: accepted ($(cat "$WORK/seek.out"))" grep -q "^playback at tick 420, 2028-06-01T12:07:00Z" "$WORK/seek.out"
check "seek 7m: status at tick 420" wait_status '^tick *420 of'
ctl seek -2m >"$WORK/back.out" 2>&1
check "seek -2m: back at tick 300 ($(cat "$WORK/back.out"))" grep -q "^playback at tick 300, 2028-06-01T12:05:00Z" "$WORK/back.out"
check "seek -2m: status at tick 300, still paused" wait_status '^tick *300 of'
grep -q '^state *paused (playback)' "$WORK/status.txt"
check "seek -2m: ... still paused" test $? -eq 0
ctl seek 2027-01-01T00:00:00Z >/dev/null 2>&1
check "seek before the recording: to its start (tick 0)" wait_status '^tick *0 of'
ctl seek 5m >/dev/null 2>&1
check "seek 5m again" wait_status '^tick *300 of'
# between two keyframes (one a simulated minute): the vehicles are the 12:05 keyframe plus 30 s of news
ctl seek +30s >/dev/null 2>&1
check "seek +30s: 12:05:30" wait_status '^tick *330 of'
ctl seek soon >"$WORK/bad.out" 2>&1
check "seek to no time: usage error (exit $?)" grep -q "is not a time" "$WORK/bad.out"

# 4. A viewer attached to the paused playback: the vehicles as at 12:05:30 (from the playback's
# keyframes, repeated while paused), its status and timeline on the HUD.
"$VIZ" --bus="$BUS" --headless --screenshot="$WORK/paused.png" --screenshot-meta="$WORK/paused.meta" \
  --frames=30 2>"$WORK/viz-paused.log"
check "viewer: attached and saved a frame (exit $?)" test -s "$WORK/paused.png"
diag "$(grep '^play_\|^run_\|^display_ms\|^vehicles' "$WORK/paused.meta" | tr '\n' ' ')"
check "viewer: a playback on the bus" grep -qx 'play_source=bus' "$WORK/paused.meta"
check "viewer: the recording's span" \
  test "$(meta "$WORK/paused.meta" play_start_ms)" = $START -a "$(meta "$WORK/paused.meta" play_end_ms)" = $((START + 599000))
check "viewer: at 12:05:30, paused (state and tick from the playback's status)" \
  test "$(meta "$WORK/paused.meta" play_position_ms)" = $((START + 330000)) -a \
  "$(meta "$WORK/paused.meta" play_paused)" = 1 -a "$(meta "$WORK/paused.meta" run_state)" = 3 -a \
  "$(meta "$WORK/paused.meta" run_tick)" = 330
check "viewer: every vehicle of both shards" grep -qx 'vehicles=100' "$WORK/paused.meta"
"$CHECK" --png="$WORK/paused.png" --meta="$WORK/paused.meta" --record="$WORK/run.mcap" --network="$ATLANTA" \
  --min-checked=20 >"$WORK/check.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/check.out"
check "viewer: every vehicle drawn where the recording has it at 12:05:30" test $rc -eq 0
played=$("$PIXELS" --png="$WORK/paused.png" --color=$ACCENT --rect=316,762,764,10)
diag "timeline: $played played pixels"
check "viewer: the timeline shows 5.5 of 10 minutes played" test "$played" -ge 3700 -a "$played" -le 4700

# 5. The viewer's keys: ] seeks a minute on, space resumes; the playback answers.
"$VIZ" --bus="$BUS" --headless --screenshot="$WORK/keys.png" --screenshot-meta="$WORK/keys.meta" \
  --frames=300 --press='] ' 2>"$WORK/viz-keys.log"
check "keys: fleet-viz ran (exit $?)" test -s "$WORK/keys.png"
diag "$(grep '^play_\|^answer\|^run_' "$WORK/keys.meta" | tr '\n' ' ')"
check "keys: the playback's answer reached the viewer" grep -q '^answer=playback: playing from tick 390' "$WORK/keys.meta"
check "keys: ] moved it to 12:06:30 and space resumed it" wait_status '^state *running \(playback\)'
check "keys: the player logged both commands from fleet-viz" \
  test "$(grep -c 'command from fleet-viz' "$WORK/play.log")" -ge 2

# 6. Step and pace; the end holds until stopped.
ctl pause >/dev/null 2>&1
t=$(tick_now)
ctl step 5 >"$WORK/step.out" 2>&1
check "step 5: accepted ($(cat "$WORK/step.out"))" grep -q "^playing 5 tick(s) from tick $t" "$WORK/step.out"
check "step 5: paused again 5 ticks on" wait_status "^tick *$((t + 5)) of"
grep -q '^state *paused' "$WORK/status.txt"
check "step 5: ... and paused" test $? -eq 0
ctl speed max >/dev/null 2>&1 && ctl resume >/dev/null 2>&1
check "speed max, resume: the end of the recording, held" wait_status '^tick *599 of 599'
grep -q '^state *paused (playback)' "$WORK/status.txt"
check "... held paused at the end" test $? -eq 0
ctl resume >"$WORK/resume-end.out" 2>&1
check "resume at the end: refused, saying to seek back (exit $?)" grep -q "seek back first" "$WORK/resume-end.out"
ctl stop >/dev/null 2>&1
wait "$PLAY_PID"
rc=$?
check "stop: the playback ends (exit $rc)" test $rc -eq 0
check "... and says what it played" grep -q "^played [1-9][0-9]* messages" "$WORK/play.out"
ctl status >"$WORK/after.txt" 2>&1
check "after the playback: no status on the bus (exit $?)" grep -q "no run is in progress\|no simulation answers" "$WORK/after.txt"

finish
