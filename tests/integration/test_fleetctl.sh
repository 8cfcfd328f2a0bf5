#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fleetctl against a running simulation from "another terminal": status,
# pause / step / resume / speed / stop, topics, echo and hz.
source "$(dirname "$0")/lib.sh"

BUS=$(new_bus ctl)
CTL="$SVC/fleetctl --bus=$BUS"
"$SVC/fleetsim" run --quiet --bus="$BUS" --out="$WORK/out" --network=grid:10x10:200 --vehicles=40 \
  --phase=data-collection --duration=10h --paused 2>"$WORK/run.log" &
RUN=$!
PIDS+=($RUN)

status_field() { $CTL status 2>/dev/null | awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }'; }
wait_for() { # field regex
  for _ in $(seq 1200); do status_field "$1" | grep -Eq "$2" && return 0; sleep 0.05; done
  return 1
}

check "status answers and shows the run paused before tick 0" wait_for state '^paused'
check "tick 0 while paused" test "$(status_field tick | awk '{print $1}')" = 0
check "status lists the participant, its lockstep on the control socket" \
  sh -c "$CTL status | grep -q '^vehicle-0 *vehicle *yes *socket '"
check "step 5 is acknowledged" sh -c "$CTL step 5 | grep -q 'stepping 5 tick'"
check "after step 5 the run is paused at tick 5" wait_for tick '^5 of'
check "... and still paused" wait_for state '^paused'
# a viewer attaching now gets the fleet: paused shards repeat their states on veh.snapshot
check "a paused shard repeats its vehicle states on veh.snapshot" \
  sh -c "$CTL echo veh.snapshot -n 1 --timeout 5 --rows 1 | grep -q 'vehicle_id *state *x_m'"
check "... and stays at tick 5 meanwhile" wait_for tick '^5 of'
check "speed 50 is acknowledged" sh -c "$CTL speed 50 | grep -q 'speed 50x'"
check "speed with junk is a usage error" sh -c "! $CTL speed fast 2>/dev/null"
check "resume is acknowledged" sh -c "$CTL resume | grep -q 'running from tick'"
check "the run is running" wait_for state '^running'
# veh.state carries what changed: full records and moves (a vehicle on its next edge), each a table with positions
records_table() {
  $CTL echo veh.state -n 1 --timeout 5 --rows 3 >"$WORK/echo-state.txt" &&
    grep -Eq '^  \([0-9]+ (move )?records\)$' "$WORK/echo-state.txt" &&
    grep -Eq '^  vehicle_id +(state +x_m|edge +x_m) +y_m ' "$WORK/echo-state.txt"
}
check "echo veh.state prints decoded records with positions" records_table
check "echo shows state names" sh -c "$CTL echo veh.snapshot -n 1 --timeout 10 | grep -Eq 'AVAILABLE|REPOSITIONING'"
check "echo veh.event prints readable vehicle events" sh -c "$CTL echo veh.event -n 1 --timeout 10 | grep -Eq 'kind: (STATE_CHANGED|ARRIVED)'"
check "topics lists veh.state with its type" sh -c "$CTL topics --window 1 | grep -q '^veh.state *fleetsim.v1.VehicleStateBatch'"
check "hz measures veh.state" sh -c "$CTL hz veh.state --window 1 --timeout 2.5 | grep -q 'msg/s wall'"
check "stop is acknowledged" sh -c "$CTL stop | grep -q 'stopping after tick'"
wait "$RUN"; rc=$?
check "the run ends after stop (exit $rc)" test "$rc" -eq 0
check "summary records the stop" sh -c "python3 -c \"import json; j=json.load(open('$WORK/out/summary.json')); assert not j['completed'] and j['end_reason'].startswith('stopped by fleetctl')\""
check "fleetctl without a simulation fails clearly" sh -c "! $CTL pause 2>&1 | grep -q 'no simulation answers'; $CTL pause 2>&1 | grep -q 'no simulation answers'"
# a broker without a run: the bus answers, no conductor does
BARE=$(new_bus bare)
start_broker "$BARE"
"$SVC/fleetctl" --bus="$BARE" status >/dev/null 2>"$WORK/bare.log"; rc=$?
check "status on a bus without a run fails (exit $rc)" test "$rc" -eq 1
check "... saying the bus answers but no run is in progress" grep -q "answers, but no conductor reports status" "$WORK/bare.log"
kill "$BROKER_PID"
check "fleetctl --help" sh -c "$SVC/fleetctl --help | grep -q 'Usage: fleetctl'"
check "unknown command is an error" sh -c "! $CTL frobnicate 2>/dev/null"
finish
