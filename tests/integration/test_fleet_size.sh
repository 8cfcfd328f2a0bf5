#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Demand is the city's, not the fleet's (docs/demand.md "Trips of the city"): the
# same scenario run with `fleetsim run --vehicles N` for half, once and twice a
# fleet sized for the afternoon peak of the default demand on the default Atlanta
# network. Every run gets the same requests; twice the fleet waits less and each
# car is busy less of the time; half the fleet waits longer and loses riders to
# cancellation.
source "$(dirname "$0")/lib.sh"

FLEETSIM=$SVC/fleetsim

# Four hours from 16:00 local (20:00 UTC in June): the evening peak of the profile,
# the default city demand (659 requests a day, 156 of them in the window).
cat >"$WORK/peak.yaml" <<'EOF'
start: 2028-06-01T20:00:00Z
duration: 4h
EOF

sim() { # tag vehicles
  local bus; bus=$(new_bus "$1")
  "$FLEETSIM" run --quiet --bus="$bus" --out="$WORK/$1" --scenario="$WORK/peak.yaml" --seed=7 \
    --vehicles="$2" 2>"$WORK/$1.log"
}
kpi() { json "$WORK/$1/summary.json" "j['results']['dispatch']['$2']"; }
gt() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)" "$1" "$2"; }

BASE=8
check "half the fleet ($((BASE / 2)) vehicles) runs" sim half $((BASE / 2))
check "the fleet ($BASE vehicles) runs" sim base $BASE
check "twice the fleet ($((BASE * 2)) vehicles) runs" sim double $((BASE * 2))
for t in half base double; do
  diag "$t: requests $(kpi $t requests) served $(kpi $t served) cancelled $(kpi $t cancelled)" \
    "wait p50 $(kpi $t wait_p50_s) mean $(kpi $t wait_mean_s) utilisation $(kpi $t utilisation)" \
    "demand_per_day $(kpi $t demand_per_day)"
done

check "the fleet size does not change the demand" \
  test "$(kpi half demand_per_day)" = "$(kpi base demand_per_day)" -a "$(kpi base demand_per_day)" = "$(kpi double demand_per_day)"
check "... every run gets the same requests" \
  test "$(kpi half requests)" = "$(kpi base requests)" -a "$(kpi base requests)" = "$(kpi double requests)"
check "twice the fleet: riders wait less (mean)" gt "$(kpi base wait_mean_s)" "$(kpi double wait_mean_s)"
check "twice the fleet: riders wait less (median)" gt "$(kpi base wait_p50_s)" "$(kpi double wait_p50_s)"
check "twice the fleet: each car is busy less of the time" gt "$(kpi base utilisation)" "$(kpi double utilisation)"
check "half the fleet: riders wait longer (mean)" gt "$(kpi half wait_mean_s)" "$(kpi base wait_mean_s)"
check "half the fleet: more riders cancel" gt "$(kpi half cancelled)" "$(kpi base cancelled)"
check "half the fleet: fewer riders served" gt "$(kpi base served)" "$(kpi half served)"
finish
