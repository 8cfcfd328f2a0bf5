#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What streets cost (docs/traffic.md), through the real processes: a fleet
# slows itself down, identically whatever the number of shards, and the
# junction delays and the rush hour make rides slower than free flow.
source "$(dirname "$0")/lib.sh"

# One small grid, one busy city demand: 20 cars, then 1,000 cars on the same
# 24 lane-km. The vehicles per lane-km a city of 100,000 robotaxis would have,
# at a size CI can afford.
scenario() { # fleet size, extra YAML
  cat >"$WORK/fleet$1.yaml" <<YAML
seed: 3
duration: 30m
city: {name: grid, map: "grid:6x6:200"}
fleet: {size: $1}
demand: {trips_per_day: 100000}
$2
YAML
}
run() { # name, args...
  local name=$1
  shift
  "$SVC/fleetsim" run --quiet --bus="$(new_bus "$name")" --out="$WORK/$name" "$@" >"$WORK/$name.log" 2>&1
}
speed() { # out dir: km/h with a rider aboard
  json "$WORK/$1/summary.json" "round(j['results']['dispatch']['trip_km_mean'] / j['results']['dispatch']['in_vehicle_mean_s'] * 3600, 2)"
}

scenario 20 ""
scenario 1000 ""
check "20 vehicles run" run few --scenario "$WORK/fleet20.yaml"
check "1,000 vehicles run" run many --scenario "$WORK/fleet1000.yaml"
check "1,000 vehicles run on 2 shards" run many2 --scenario "$WORK/fleet1000.yaml" --shards 2
diag "speed with a rider: 20 vehicles $(speed few) km/h, 1,000 vehicles $(speed many) km/h"
diag "largest fleet factor: 20 vehicles $(json "$WORK/few/summary.json" "j['results']['dispatch']['traffic_max_fleet_factor']"), 1,000 $(json "$WORK/many/summary.json" "j['results']['dispatch']['traffic_max_fleet_factor']")"
check "1,000 vehicles on one network are slower per trip than 20 at the same hour" \
  python3 -c "import sys; sys.exit(0 if $(speed many) < 0.8 * $(speed few) else 1)"
check "the fleet's traffic was counted and applied" \
  python3 -c "import sys; sys.exit(0 if $(json "$WORK/many/summary.json" "j['results']['dispatch']['traffic_updates']") >= 30 else 1)"
check "same digest with 1 and 2 vehicle shards under the fleet's own traffic" \
  test "$(json "$WORK/many/summary.json" "j['run_digest']")" = "$(json "$WORK/many2/summary.json" "j['run_digest']")"
check "vehicle shards accepted every traffic message" \
  test "$(json "$WORK/many2/summary.json" "sum(p.get('rejected', 0) + p.get('malformed', 0) for p in j['participants'].values())")" = 0

# Free flow against the default streets, same fleet and demand.
scenario 21 "traffic: {speed_profile: none, signal_cycle: 0s, stop_delay: 0s, give_way_delay: 0s, equal_delay: 0s, bpr_alpha: 0}"
check "a free-flow run" run free --scenario "$WORK/fleet21.yaml"
scenario 22 ""
check "the same with junction delays and the rush hour" run streets --scenario "$WORK/fleet22.yaml"
diag "speed with a rider: free flow $(speed free) km/h, streets $(speed streets) km/h"
check "junctions (equal-road crossings on a grid) and the 07:00 rush make rides slower than free flow" \
  python3 -c "import sys; sys.exit(0 if $(speed streets) < 0.9 * $(speed free) else 1)"
finish
