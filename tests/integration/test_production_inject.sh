#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Production events live: fs-production applies the supplier_shortage /
# recall / calibration_spike events the conductor schedules on scn.cmd/apply,
# at their tick. A shortage injected with `fleetctl inject` gives the same run
# digest as the same event in the scenario file, and cuts production.
source "$(dirname "$0")/lib.sh"

RUN=(--duration=10d --tick-ms=600000 --start=2028-06-01T06:00:00Z --seed=3)

start_run() { # tag [conductor and production args...] -> BUS, CPID, PPID_
  local tag=$1; shift
  BUS=$(new_bus "$tag")
  start_broker "$BUS" || return 1
  BPID=$BROKER_PID
  "$SVC/fs-conductor" --bus="$BUS" --participants=production:production "${RUN[@]}" --out="$WORK/$tag" "$@" \
    2>"$WORK/$tag.conductor.log" &
  CPID=$!
  PIDS+=($CPID)
  "$SVC/fs-production" --bus="$BUS" --name=production --seed=3 --first-vehicle-id=300 \
    ${SCN_PROD:+"$SCN_PROD"} 2>"$WORK/$tag.production.log" &
  PPID_=$!
  PIDS+=($PPID_)
}

end_run() { end_run_of "$BPID" "$CPID" "$PPID_"; }
result() { json "$WORK/$1/summary.json" "int(j['results']['production']['$2'])"; }

# Tick 290 is 2028-06-03 12:20 (10-minute ticks from 06:00 on June 1st): June 3rd
# was simulated at tick 252, so the shortage starts with June 4th and lasts
# three days. Lucid's Casa Grande plant builds ~370 a month by then (its 24-month
# ramp to 400 a month from October 2026), ~12 a day.

# A: paused, stepped, the shortage injected live for tick 290.
start_run live --paused
# events, not a clock: the conductor answers (paused) before the step, which then runs its ticks
for _ in $(seq 1200); do "$SVC/fleetctl" --bus="$BUS" status 2>/dev/null | grep -q '^state *paused' && break; sleep 0.05; done
check "step to tick 100" ctl step 100
for _ in $(seq 1200); do "$SVC/fleetctl" --bus="$BUS" status 2>/dev/null | grep -q "^tick *100 " && break; sleep 0.1; done
check "supplier_shortage accepted for tick 290" \
  ctl inject --event supplier_shortage --tick 290 programme=lucid-gravity plant=casa-grande factor=0 for=3d
ctl inject --event supplier_shortage --tick 300 programme=lucid-gravity plant=nowhere factor=0.5 for=1d \
  >"$WORK/plant.out" 2>&1
check "an unknown plant is refused (exit 1)" test $? -eq 1
check "... naming the plant" grep -q "programme 'lucid-gravity' has no plant 'nowhere'" "$WORK/plant.out"
check "resume" ctl resume
check "run A completes" end_run
check "the production service applied one event" test "$(result live scenario_events_applied)" = 1
check "... as one disruption of the model" test "$(result live disruptions)" = 1

# B: the same event in the scenario file at the same tick.
cat > "$WORK/shortage.yaml" <<'YAML'
start: 2028-06-01T06:00:00Z
tick: 10m
duration: 10d
events:
  - {type: supplier_shortage, tick: 290, for: 3d, programme: lucid-gravity, plant: casa-grande, factor: 0}
YAML
SCN_PROD=--scenario="$WORK/shortage.yaml" start_run file --scenario="$WORK/shortage.yaml"
check "run B (the event in the file) completes" end_run
check "B applied it once (the file's events come from the conductor only)" \
  test "$(result file scenario_events_applied)" = 1
check "injected live == in the file: same run digest" test "$(digest live)" = "$(digest file)"

# C: no event.
start_run none
check "run C (no event) completes" end_run
check "without the event the digest differs" test "$(digest live)" != "$(digest none)"
built_live=$(result live built); built_none=$(result none built)
diag "built in 10 days: $built_none without the shortage, $built_live with it"
check "the shortage cut production (three days of Casa Grande, ~12 a day)" \
  test $((built_none - built_live)) -ge 30 -a $((built_none - built_live)) -le 42

# D: the same shortage one day later gives another digest (the tick matters).
sed 's/tick: 290/tick: 434/' "$WORK/shortage.yaml" > "$WORK/later.yaml"
SCN_PROD=--scenario="$WORK/later.yaml" start_run later --scenario="$WORK/later.yaml"
check "run D completes" end_run
check "a day later, another digest" test "$(digest later)" != "$(digest file)"

# E: the city simulated in detail is the scenario's. Atlanta (run C, the defaults) gets the
# plan's deliveries; Columbus has no launch in the plan, so its run's fleet gets none, while
# the plan itself runs as before.
cat > "$WORK/columbus.yaml" <<'YAML'
start: 2028-06-01T06:00:00Z
tick: 10m
duration: 10d
city:
  name: columbus
YAML
SCN_PROD=--scenario="$WORK/columbus.yaml" start_run columbus --scenario="$WORK/columbus.yaml"
check "run E (Columbus) completes" end_run
diag "deliveries published: $(result none deliveries_published) in Atlanta, $(result columbus deliveries_published) in Columbus"
check "Atlanta's run fleet gets the plan's deliveries" test "$(result none deliveries_published)" -gt 0
check "Columbus, outside the plan, gets none, and production says why" \
  test "$(result columbus deliveries_published)" = 0 -a -n "$(grep 'columbus is not a city of the rollout plan' "$WORK/columbus.production.log")"
check "... while the plan builds as much as with Atlanta" test "$(result columbus built)" = "$built_none"
finish
