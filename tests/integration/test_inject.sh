#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Scenario events injected live over the bus: the conductor validates them with
# the scenario's rules, refuses bad or late ones with the reason, and applies an
# accepted one at exactly its tick, so a run with an injected event gives the
# same digest as a run with the same event in its scenario file.
source "$(dirname "$0")/lib.sh"

VEH=(--network=grid:12x12:150 --vehicles=60 --seed=5)

start_run() { # tag [conductor/vehicle args...] -> BUS, CPID, VPID
  local tag=$1; shift
  BUS=$(new_bus "$tag")
  start_broker "$BUS" || return 1
  BPID=$BROKER_PID
  "$SVC/fs-conductor" --bus="$BUS" --participants=vehicle-0:vehicle --duration=120 --seed=5 --vehicles=60 \
    --out="$WORK/$tag" "$@" 2>"$WORK/$tag.conductor.log" &
  CPID=$!
  PIDS+=($CPID)
  "$SVC/fs-vehicle" --bus="$BUS" --name=vehicle-0 "${VEH[@]}" ${SCN_VEH:+"$SCN_VEH"} 2>"$WORK/$tag.vehicle.log" &
  VPID=$!
  PIDS+=($VPID)
}

end_run() { end_run_of "$BPID" "$CPID" "$VPID"; }

# A: paused, stepped to tick 30, events injected live, resumed.
start_run live --paused
for _ in $(seq 600); do "$SVC/fleetctl" --bus="$BUS" status 2>/dev/null | grep -q "^state *paused" && break; sleep 0.1; done
check "step to tick 30" ctl step 30
for _ in $(seq 600); do "$SVC/fleetctl" --bus="$BUS" status 2>/dev/null | grep -q "^tick *30 " && break; sleep 0.1; done
check "device fault accepted for tick 40" ctl inject --event device_fault --tick 40 vehicles=1,2,3,7 device=lidar health=failed
cat > "$WORK/events.yaml" <<'YAML'
events:
  - type: software_update
    tick: 50
    version: "1.2"
    share: 0.5
YAML
check "events of a file accepted" ctl inject "$WORK/events.yaml"
ctl inject --event device_fault --tick 5 vehicles=1 device=lidar >"$WORK/past.out" 2>&1
check "an event in the past is refused (exit 1)" test $? -eq 1
check "... with the reason" grep -q "tick 5 is in the past (the next tick is 30)" "$WORK/past.out"
ctl inject --event weather zone=midtown severity=storm >"$WORK/zone.out" 2>&1
check "an unknown zone is refused (exit 1)" test $? -eq 1
check "... naming the zone" grep -q "unknown zone 'midtown'" "$WORK/zone.out"
ctl inject --event meteor >"$WORK/type.out" 2>&1
check "an unknown event type is refused" test $? -eq 1
ctl inject --event device_fault --tick 45 vehicles=1 device=lidar index=3 >"$WORK/index.out" 2>&1
check "a bad field refuses the event" grep -q "index: '3' is not 'all' or 0..0" "$WORK/index.out"
ctl inject --event weather --tick 500 zone=all severity=light >"$WORK/late.out" 2>&1
check "an event after the run's end is refused" grep -q "after the run's last tick 119" "$WORK/late.out"
ctl inject --event device_fault --tick 45 vehicles=3,60 device=lidar >"$WORK/novehicle.out" 2>&1
check "a fault on a vehicle that does not exist is refused (exit 1)" test $? -eq 1
check "... naming it" grep -q "vehicle 60 does not exist (the fleet has 60 so far" "$WORK/novehicle.out"
# found by tests/fuzz: an empty key once sent the conductor's key lookup round forever
printf 'events:\n  - {type: depot_outage, tick: 60, "": depot-1}\n' >"$WORK/empty-key.yaml"
ctl inject "$WORK/empty-key.yaml" >"$WORK/empty-key.out" 2>&1
check "an event with an empty key is refused (exit 1)" test $? -eq 1
check "... naming the key" grep -q "unknown key '' for a depot_outage event" "$WORK/empty-key.out"
check "resume" ctl resume
check "run A completes" end_run
check "two commands accepted, seven refused, two events applied" \
  test "$(json "$WORK/live/summary.json" "(j['scenario']['commands_accepted'], j['scenario']['commands_refused'], j['scenario']['events_applied'])")" = "(2, 7, 2)"

# B: the same events in the scenario file at the same ticks.
cat > "$WORK/same.yaml" <<'YAML'
events:
  - {type: device_fault, tick: 40, vehicles: [1, 2, 3, 7], device: lidar, health: failed}
  - {type: software_update, tick: 50, version: "1.2", share: 0.5}
YAML
SCN_VEH=--scenario="$WORK/same.yaml" start_run file --scenario="$WORK/same.yaml"
check "run B (events in the file) completes" end_run
check "injected live == in the file: same run digest" test "$(digest live)" = "$(digest file)"

# C: no events: the events did change the run.
start_run none
check "run C (no events) completes" end_run
check "without the events the digest differs" test "$(digest live)" != "$(digest none)"

# D: the software update alone at another tick gives yet another digest (tick matters).
cat > "$WORK/other.yaml" <<'YAML'
events:
  - {type: device_fault, tick: 41, vehicles: [1, 2, 3, 7], device: lidar, health: failed}
  - {type: software_update, tick: 50, version: "1.2", share: 0.5}
YAML
SCN_VEH=--scenario="$WORK/other.yaml" start_run other --scenario="$WORK/other.yaml"
check "run D completes" end_run
check "one tick later, another digest" test "$(digest other)" != "$(digest file)"

# E: a file injected live counts its offsets from now (README: `fleetctl inject
# examples/storm-downtown.yaml` at any point of a run); date-times and ticks stay absolute.
start_run rel --paused --duration=2h --start=2028-06-01T21:00:00Z
for _ in $(seq 600); do "$SVC/fleetctl" --bus="$BUS" status 2>/dev/null | grep -q "^state *paused" && break; sleep 0.1; done
ctl step 30 >/dev/null
for _ in $(seq 600); do "$SVC/fleetctl" --bus="$BUS" status 2>/dev/null | grep -q "^tick *30 " && break; sleep 0.1; done
ctl inject "$SRC/examples/storm-downtown.yaml" >"$WORK/rel.out" 2>&1; rc=$?
check "the README's storm file injected at tick 30 is accepted (exit $rc)" test "$rc" -eq 0
check "... its first event (at: 10m) 10 minutes from now: tick 630" grep -q "from tick 630 .*apply tick 630.*counted from tick 30" "$WORK/rel.out"
printf 'events:\n  - {type: weather, at: 10s, zone: all, severity: light}\n' >"$WORK/start10s.yaml"
ctl inject --from-start "$WORK/start10s.yaml" >"$WORK/fromstart.out" 2>&1; rc=$?
check "--from-start: offsets count from the run's start, so at: 10s is refused at tick 30 (exit $rc)" test "$rc" -eq 1
check "... as in the past" grep -q "tick 10 is in the past (the next tick is 30)" "$WORK/fromstart.out"
printf 'events:\n  - {type: weather, at: "2028-06-01T21:01:00Z", zone: eastside, severity: heavy}\n' >"$WORK/datetime.yaml"
check "a date-time in a file injected live is that moment: tick 60" sh -c "'$SVC/fleetctl' --bus='$BUS' inject '$WORK/datetime.yaml' | grep -q 'apply tick 60)'"
ctl resume >/dev/null
check "run E completes" end_run
cat > "$WORK/rel-file.yaml" <<'YAML'
start: 2028-06-01T21:00:00Z
events:
  - {type: weather, tick: 60, zone: eastside, severity: heavy}
  - {type: weather, tick: 630, zone: all, severity: light}
  - {type: weather, tick: 1230, for: 50m, zone: downtown, severity: storm, speed_factor: 0.6}
YAML
SCN_VEH=--scenario="$WORK/rel-file.yaml" start_run relfile --scenario="$WORK/rel-file.yaml" --duration=2h
check "run F (the same events at those ticks, in its file) completes" end_run
check "injected from now == written at the ticks it got: same run digest" test "$(digest rel)" = "$(digest relfile)"

# A broken scenario file stops the conductor before anything starts.
printf 'events:\n  - {type: weather, at: 1m, zone: uptown, severity: storm}\n' >"$WORK/bad.yaml"
"$SVC/fs-conductor" --participants=x:y --scenario="$WORK/bad.yaml" 2>"$WORK/bad.log"
check "a broken scenario: exit 2" test $? -eq 2
check "... with file:line:column and the reason" grep -q "bad.yaml:2:35: unknown zone 'uptown'" "$WORK/bad.log"
finish
