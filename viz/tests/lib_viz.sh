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
