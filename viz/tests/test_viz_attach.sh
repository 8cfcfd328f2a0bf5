#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A viewer attached to a running simulation mid-run (issue 17, Done-when 5),
# headless. Vehicles publish records when they change and keyframes of every
# vehicle every 60 s simulated; an independent observer (viz-probe) records
# them from before the viewer attaches. fleet-viz attaches right after a
# keyframe, logs what every frame shows (--state-log) and saves a screenshot
# once it holds a keyframe of every shard. viz-attach-check compares each frame
# with the probe's records: (a) before the keyframes only vehicles with news,
# (b) the whole fleet within one keyframe period, each where its records put
# it at the frame's display time, (c) moving vehicles move frame by frame
# between records, along their road. viz-check checks the screenshot's pixels
# against the same records, zoomed in (the last frames are saved one by one):
# in two consecutive frames between two ticks' data, every isolated vehicle in
# view is drawn where its records put it, and moving ones' markers moved.
source "${FS_SOURCE_ROOT:?}/tests/integration/lib.sh"
source "${FS_SOURCE_ROOT:?}/viz/tests/lib_viz.sh"

ATTACH=$BUILD/viz/tests/viz-attach-check
KEYFRAME_MS=60000 # the vehicle nodes' default keyframe period

keyframes_seen() { # count
  [ "$(grep -c '^keyframe' "$WORK/probe.out" 2>/dev/null)" -ge "$1" ]
}

wait_for() { # seconds command...
  local n=$(($1 * 20)); shift
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.05; done
  return 1
}

# Data collection: every vehicle drives (moves), some change state (full records: charging).
bus=$(new_bus attach)
check "the run starts" start_probed_run "$bus" 20m "$WORK/run.log"
# The probe holds a keyframe of both shards; then attach right after the next one, so the viewer
# has most of a keyframe period with news only.
check "the probe saw keyframes of both shards" wait_for 30 keyframes_seen 2
check "... and the next ones" wait_for 30 keyframes_seen 4
"$VIZ" --bus="$bus" --headless --screenshot="$WORK/shot.png" --frames=120 --screenshot-meta="$WORK/shot.meta" \
  --screenshot-series=10 --press=zzzzz --state-log="$WORK/frames.log" --wait=60 2>"$WORK/viz.log"
rc=$?
kill -TERM "$PROBE_PID"; wait "$PROBE_PID"
kill -TERM "$LAUNCHER"; wait "$LAUNCHER"
check "fleet-viz saved its screenshot once every shard's keyframe came (exit $rc)" test "$rc" -eq 0 -a -s "$WORK/shot.png"
diag "$(grep -c '^frame' "$WORK/frames.log") frames logged; $(grep '^keyframed\|^display_ms' "$WORK/shot.meta" | tr '\n' ' ')"

"$ATTACH" --record="$WORK/rec" --log="$WORK/frames.log" --network="$ATLANTA" --keyframe-every-ms=$KEYFRAME_MS \
  >"$WORK/attach.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/attach.out"
check "every frame against the run's records: (a) news only before the keyframes, (b) the whole fleet in place within one keyframe period, (c) smooth along the roads" test "$rc" -eq 0

"$CHECK" --png="$WORK/shot.png" --meta="$WORK/shot.meta" --record="$WORK/rec" --network="$ATLANTA" \
  --min-checked=10 >"$WORK/check.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/check.out"
check "the screenshot: every isolated vehicle in its state colour where its records put it at the display time" \
  test "$rc" -eq 0

# Two consecutive frames with no new data between them (the same newest batch), later display time.
meta() { sed -n "s/^$2=//p" "$1"; }
pair=""
for n in $(seq 1 9); do
  m1=$WORK/shot.meta-$n m2=$WORK/shot.meta-$((n + 1))
  if [ "$(meta "$m1" data_ms)" = "$(meta "$m2" data_ms)" ] &&
     [ "$(meta "$m2" display_ms)" -gt "$(meta "$m1" display_ms)" ]; then
    pair=$n; break
  fi
done
check "two consecutive saved frames between two ticks' data" test -n "$pair"
"$CHECK" --png="$WORK/shot-$((pair + 1)).png" --meta="$WORK/shot.meta-$((pair + 1))" --prev-png="$WORK/shot-$pair.png" \
  --prev-meta="$WORK/shot.meta-$pair" --record="$WORK/rec" --network="$ATLANTA" --min-checked=10 --min-moved=5 \
  >"$WORK/smooth.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/smooth.out"
check "pixels, frame to frame between records: every vehicle where its records put it, moving markers moved" \
  test "$rc" -eq 0

finish
