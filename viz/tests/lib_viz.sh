# SPDX-License-Identifier: Apache-2.0
# What the viewer's shell tests share (sourced after tests/integration/lib.sh).
VIZ=$BUILD/viz/fleet-viz
PROBE=$BUILD/viz/tests/viz-probe
CHECK=$BUILD/viz/tests/viz-check
PIXELS=$BUILD/viz/tests/viz-pixels
FLEETSIM=$SVC/fleetsim
FLEETCTL=$SVC/fleetctl
ATLANTA=$SRC/data/osm/atlanta.osm.pbf
export FLEETSIM_CACHE=${FLEETSIM_CACHE:-$WORK/cache}

wait_running() { # bus: until the conductor reports the run running (the limit is a hang guard)
  for _ in $(seq 1200); do
    "$FLEETCTL" --bus="$1" status 2>/dev/null | grep -q '^state *running' && return 0
    sleep 0.05
  done
  return 1
}

# Playback tests (viz_play, viz_busplay): the default start (2028-06-01T12:00:00Z, tick 0; ticks are
# 1 s), the colour of a timeline's played part, a key of a --screenshot-meta file.
START=1843473600000
ACCENT=120,200,255
meta() { # file key
  sed -n "s/^$2=//p" "$1"
}
record_run() { # FILE: a 10-minute, 2-shard data-collection run of 100 vehicles recorded into FILE
  "$FLEETSIM" run --quiet --bus="$(new_bus rec)" --shards=2 --vehicles=100 --speed=max --duration=10m \
    --phase=data-collection --record="$1" >"$WORK/run.log" 2>&1
}

# start_probed_run BUS DURATION LOG: a data-collection run on BUS (2 shards, 300 vehicles, 10x real
# time; $LAUNCHER, its stderr in LOG) and, once it runs, viz-probe recording it into $WORK/rec
# ($PROBE_PID, its output in $WORK/probe.out). Returns 1 if the run does not start.
start_probed_run() {
  "$FLEETSIM" run --quiet --bus="$1" --shards=2 --vehicles=300 --speed=10 --duration="$2" \
    --phase=data-collection 2>"$3" &
  LAUNCHER=$!; PIDS+=($LAUNCHER)
  wait_running "$1" || return 1
  "$PROBE" --bus="$1" --out="$WORK/rec" >"$WORK/probe.out" 2>"$WORK/probe.err" &
  PROBE_PID=$!; PIDS+=($PROBE_PID)
  for _ in $(seq 200); do grep -q ready "$WORK/probe.out" && break; sleep 0.05; done # attached
}
