#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fleet-viz --play: a recording (fleetsim run --record) on a timeline, headless.
# Keys pause, change the pace and jump a minute either way (back means the
# viewer starts over and the recording is fed again up to there); each saved
# frame is checked against the recording's own vehicle records placed at the
# frame's time (viz-check reads the MCAP), and the timeline is on screen.
source "${FS_SOURCE_ROOT:?}/tests/integration/lib.sh"
source "${FS_SOURCE_ROOT:?}/viz/tests/lib_viz.sh"

record_run "$WORK/run.mcap"
check "a 10-minute run recorded" test -s "$WORK/run.mcap"

play() { # name keys [frames]
  "$VIZ" --play="$WORK/run.mcap" --headless --screenshot="$WORK/$1.png" --screenshot-meta="$WORK/$1.meta" \
    --frames="${3:-60}" --press="$2" 2>"$WORK/$1.log"
}

frame_right() { # name
  "$CHECK" --png="$WORK/$1.png" --meta="$WORK/$1.meta" --record="$WORK/run.mcap" --network="$ATLANTA" \
    --min-checked=20 >"$WORK/$1.check" 2>&1
  local rc=$?
  sed 's/^/# /' "$WORK/$1.check"
  return $rc
}

# 1. Space pauses, ] ] jumps two minutes, + doubles the pace (60x -> 120x).
play fwd ' ]]+'
check "forward: fleet-viz played the recording (exit $?)" test -s "$WORK/fwd.png"
pos=$(meta "$WORK/fwd.meta" play_position_ms)
diag "position $((pos - START)) ms after the start; $(grep '^play_\|^clock' "$WORK/fwd.meta" | tr '\n' ' ')"
check "forward: paused" grep -qx 'play_paused=1' "$WORK/fwd.meta"
check "forward: at 120x" grep -qx 'play_rate=120' "$WORK/fwd.meta"
check "forward: two minutes on from where space paused it" test "$((pos - START))" -ge 120000 -a "$((pos - START))" -le 135000
check "forward: the recording's span" grep -qx 'play_end_ms=1843474199000' "$WORK/fwd.meta"
check "forward: the frame shows every vehicle where the recording puts it then" frame_right fwd
played=$("$PIXELS" --png="$WORK/fwd.png" --color=$ACCENT --rect=316,762,764,10)
diag "timeline: $played played pixels"
check "forward: the timeline shows about a fifth played" test "$played" -ge 1000 -a "$played" -le 2500

# 2. Back: ] ] ] then [ lands two minutes in, rebuilt from the recording's start.
play back ' ]]]['
pos=$(meta "$WORK/back.meta" play_position_ms)
diag "position $((pos - START)) ms after the start"
check "back: two minutes in after three forward and one back" test "$((pos - START))" -ge 120000 -a "$((pos - START))" -le 135000
check "back: the frame shows every vehicle where the recording puts it then" frame_right back

# 3. At the fastest pace it reaches the end and stays on the last picture.
play end '++++++++' 400
check "end: the end of the recording" grep -qx 'play_at_end=1' "$WORK/end.meta"
check "end: its last time on the clock (08:09:59 local)" grep -qx 'clock=2028-06-01 08:09:59 Thu' "$WORK/end.meta"
check "end: the final frame shows every vehicle where the recording puts it" frame_right end

finish
