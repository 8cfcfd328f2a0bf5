#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fs-dispatch with the real processes: KPIs in summary.json, one trips.csv row per
# request with outcomes that add up (cancellations by kind), the platform's figures agreeing
# with the vehicle nodes', the same results for 1, 2 and 4 vehicle shards with riders who
# cancel and fail to show, both matchers, bad CSV input stopping the run before it starts with
# file:line, a run on a network and demand given as CSV files (the comparison mode), and
# rebalancing and charging switched off by flag or by the scenario.
source "$(dirname "$0")/lib.sh"

FLEETSIM=$SVC/fleetsim
NET=grid:12x12:200

sim() { # tag args... (runs to completion)
  local tag=$1; shift
  local bus; bus=$(new_bus "$tag")
  "$FLEETSIM" run --quiet --bus="$bus" --out="$WORK/$tag" "$@" 2>"$WORK/$tag.log"
}

# outcomes TAG: requests == served + cancelled + rejected + open, in summary.json and trips.csv
outcomes() {
  python3 - "$WORK/$1" <<'EOF'
import csv, json, sys
d = sys.argv[1]
r = json.load(open(d + "/summary.json"))["results"]["dispatch"]
rows = list(csv.DictReader(open(d + "/trips.csv")))
by = {}
for row in rows:
    by[row["status"]] = by.get(row["status"], 0) + 1
final = {"dropped_off": "served", "cancelled": "cancelled", "rejected": "rejected"}
ok = r["requests"] == r["served"] + r["cancelled"] + r["rejected"] + r["open"] and len(rows) == r["requests"]
ok = ok and all(by.get(s, 0) == r[k] for s, k in final.items())
ok = ok and sum(v for s, v in by.items() if s not in final) == r["open"]
ok = ok and all(row["wait_s"] != "" for row in rows if row["status"] == "dropped_off")
# cancellations split by kind, the same in both files
kinds = ("before_assignment", "after_assignment", "no_show", "aborted")
ok = ok and r["cancelled"] == sum(r["cancelled_" + k] for k in kinds)
ok = ok and all(sum(row["reason"] == k for row in rows if row["status"] == "cancelled") == r["cancelled_" + k]
                for k in kinds)
sys.exit(0 if ok and r["requests"] > 0 else 1)
EOF
}

# A busy grid city: 2,640 requests a day, set outright (the default is Atlanta's, docs/demand.md).
printf 'demand: {trips_per_day: 2640}\n' >"$WORK/busy.yaml"
BUSY=--scenario=$WORK/busy.yaml
# Riders in a hurry (3 min median patience) and often absent (10 %): every kind of outcome.
printf 'demand: {trips_per_day: 2640}\nriders: {patience: 3m, no_show: 0.1}\n' >"$WORK/riders.yaml"
check "a run with dispatch completes" sim d1 --network=$NET --seed=2 --duration=40m --vehicles=120 \
  --start=2028-06-01T22:00:00Z --scenario="$WORK/riders.yaml"
check "summary.json has the dispatch KPIs" \
  test "$(json "$WORK/d1/summary.json" "int(all(k in j['results']['dispatch'] for k in ('requests','served','cancelled','rejected','wait_p50_s','wait_p90_s','wait_p95_s','in_vehicle_mean_s','empty_km_share','utilisation','trips_per_vehicle_day')))")" = 1
check "outcomes add up in summary.json and trips.csv" outcomes d1
check "riders were served" test "$(json "$WORK/d1/summary.json" "int(j['results']['dispatch']['served'] > 50)")" = 1
check "... some gave up with a car on its way, some never came" \
  test "$(json "$WORK/d1/summary.json" "int(j['results']['dispatch']['cancelled_after_assignment'] > 0 and j['results']['dispatch']['cancelled_no_show'] > 0)")" = 1
check "every drop-off the platform counts is a job the vehicles completed" \
  test "$(json "$WORK/d1/summary.json" "int(j['results']['dispatch']['served'] == j['results']['vehicle-0']['jobs_completed'])")" = 1
check "the platform's km (1 Hz states) agree with the vehicles' own within 1 %" \
  test "$(json "$WORK/d1/summary.json" "int(abs(j['results']['dispatch']['km_total'] / j['results']['vehicle-0']['km_driven'] - 1) < 0.01)")" = 1
check "per-hour and per-zone KPI files" test -s "$WORK/d1/dispatch_by_hour.csv" -a -s "$WORK/d1/dispatch_by_zone.csv"
# places: riders stand along the 200 m blocks; the car stops where each one stands, not at a junction
check "served riders were picked up and set down where they stood along the street" python3 - "$WORK/d1/trips.csv" <<'EOF'
import csv, math, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["status"] == "dropped_off"]
gap = lambda r, a, b: math.hypot(float(r[a + "_x_m"]) - float(r[b + "_x_m"]), float(r[a + "_y_m"]) - float(r[b + "_y_m"]))
at_rider = sum(gap(r, "pickup", "origin") < 1.0 and gap(r, "dropoff", "dest") < 1.0 for r in rows)
# a grid junction is where x and y are both multiples of 200 m
on_grid = lambda v: abs(v / 200 - round(v / 200)) * 200 < 1.0
at_junction = sum(on_grid(float(r["pickup_x_m"])) and on_grid(float(r["pickup_y_m"])) for r in rows)
print(f"# {len(rows)} served: {at_rider} picked up and set down where they stood, {at_junction} picked up at a junction")
sys.exit(0 if rows and at_rider == len(rows) and at_junction <= 0.1 * len(rows) else 1)
EOF

for shards in 2 4; do
  check "$shards vehicle shards" sim d$shards --network=$NET --seed=2 --duration=40m --vehicles=120 \
    --start=2028-06-01T22:00:00Z --scenario="$WORK/riders.yaml" --shards=$shards
  check "--shards 1 and $shards: same run digest" \
    test "$(json "$WORK/d1/summary.json" "j['run_digest']")" = "$(json "$WORK/d$shards/summary.json" "j['run_digest']")"
  check "--shards 1 and $shards: the same trips.csv" cmp -s "$WORK/d1/trips.csv" "$WORK/d$shards/trips.csv"
done

check "the greedy matcher runs" sim g1 --network=$NET --seed=2 --duration=40m --vehicles=120 --start=2028-06-01T22:00:00Z --matcher=greedy $BUSY
check "... and its outcomes add up" outcomes g1

# Bad input stops fs-dispatch before the run, with file:line.
printf 't_request_s,origin_x,origin_y,dest_x,dest_y\n10,0,0,400,400\n20,abc,0,1,1\n' >"$WORK/bad_demand.csv"
"$SVC/fs-dispatch" --network=$NET --demand-csv="$WORK/bad_demand.csv" --bus="ipc://$WORK/nobus" 2>"$WORK/bad_demand.log"; rc=$?
check "a bad demand CSV: fs-dispatch exits non-zero ($rc)" test "$rc" -ne 0
check "... naming file:line:column" grep -q "bad_demand.csv:3:" "$WORK/bad_demand.log"
printf 'vehicle_id,node\n0,1\n0,2\n' >"$WORK/bad_fleet.csv"
"$SVC/fs-dispatch" --network=$NET --vehicles=2 --fleet-csv="$WORK/bad_fleet.csv" --bus="ipc://$WORK/nobus" \
  2>"$WORK/bad_fleet.log"; rc=$?
check "a bad fleet CSV: fs-dispatch exits non-zero ($rc)" test "$rc" -ne 0
check "... naming file:line" grep -q "bad_fleet.csv:3: vehicle_id 0 appears again" "$WORK/bad_fleet.log"
bus=$(new_bus badrun)
printf 'demand:\n  replay: %s\n' "$WORK/bad_demand.csv" >"$WORK/bad_replay.yaml"
"$FLEETSIM" run --quiet --bus="$bus" --network=$NET --duration=5m --scenario="$WORK/bad_replay.yaml" \
  2>"$WORK/bad_run.log"; rc=$?
check "a run whose replayed demand is bad fails ($rc)" test "$rc" -ne 0
check "... saying where" grep -q "bad_demand.csv:3:" "$WORK/bad_run.log"

# Comparison mode: the network and the demand as CSV files (6 x 6 blocks of 250 m at 10 m/s).
python3 - "$WORK" <<'EOF'
import sys
w = sys.argv[1]
with open(w + "/nodes.csv", "w") as f:
    f.write("id,x,y\n")
    for r in range(6):
        for c in range(6):
            f.write(f"{1000 + r * 6 + c},{c * 250},{r * 250}\n")
with open(w + "/edges.csv", "w") as f:
    f.write("from,to,length_m,speed_mps\n")
    for r in range(6):
        for c in range(6):
            a = 1000 + r * 6 + c
            if c < 5:
                f.write(f"{a},{a + 1},250,10\n{a + 1},{a},250,10\n")
            if r < 5:
                f.write(f"{a},{a + 6},250,10\n{a + 6},{a},250,10\n")
with open(w + "/demand.csv", "w") as f:
    f.write("t_request_s,origin_x,origin_y,dest_x,dest_y\n")
    for i in range(30):
        f.write(f"{30 + 60 * i},{(i * 250) % 1500},{(i * 750) % 1500},{(1250 - i * 250) % 1500},{(250 + i * 500) % 1500}\n")
with open(w + "/compare.yaml", "w") as f:
    # as another simulator would: every rider waits for their car and comes
    f.write(f"demand:\n  replay: {w}/demand.csv\n  patience: 2h\nriders: {{patience: 2h, no_show: 0}}\n")
EOF
check "a run on a CSV network with CSV demand completes" \
  sim cmp --network="csv:$WORK/nodes.csv,$WORK/edges.csv" --scenario="$WORK/compare.yaml" --duration=1h --vehicles=8
check "... every replayed request is in trips.csv" \
  test "$(json "$WORK/cmp/summary.json" "int(j['results']['dispatch']['requests'])")" = 30
check "... and served (a short trip, eight cars)" \
  test "$(json "$WORK/cmp/summary.json" "int(j['results']['dispatch']['served'])")" = 30
check "... outcomes add up" outcomes cmp

# demand.zone_weights: the same number of riders, more of them starting downtown
printf 'seed: 1\nduration: 1h\ndemand:\n  trips_per_day: 2640\n  zone_weights: {downtown: 5}\n' > "$WORK/weights.yaml"
printf 'seed: 1\nduration: 1h\ndemand:\n  trips_per_day: 2640\n' > "$WORK/plain.yaml"
check "a run with zone weights completes" sim zw --scenario="$WORK/weights.yaml"
check "... and one without" sim zw0 --scenario="$WORK/plain.yaml"
zw() { json "$WORK/$1/summary.json" "int(j['results']['dispatch']['$2'])"; }
diag "downtown requests: $(zw zw zone_downtown_requests) of $(zw zw requests) weighted, $(zw zw0 zone_downtown_requests) of $(zw zw0 requests) plain"
check "... the same number of riders" test "$(zw zw requests)" = "$(zw zw0 requests)"
check "... and over 1.5x as many of them start downtown" \
  python3 -c "import sys; sys.exit(0 if $(zw zw zone_downtown_requests) > 1.5 * $(zw zw0 zone_downtown_requests) else 1)"

# Rebalancing and charging switched off (docs/dispatch.md, comparison mode): by flag, by the
# scenario, and a flag overriding the scenario. An evening on a larger grid moves idle cars
# toward demand; at 02:00 in Atlanta's clock (off-peak) idle cars top up their batteries.
# 60 cars with the demand of a busy city (1,320 trips a day, set outright)
printf 'demand: {trips_per_day: 1320}\n' >"$WORK/ops_on.yaml"
printf 'demand: {trips_per_day: 1320}\ndispatch: {rebalance: 0, charging: false}\n' >"$WORK/no_ops.yaml"
eve=(--network=grid:24x24:200 --seed=2 --duration=30m --vehicles=60 --start=2028-06-01T22:00:00Z)
night=(--network=$NET --seed=2 --duration=30m --vehicles=60 --start=2028-06-01T07:00:00Z)
ops() { json "$WORK/$1/summary.json" "int(j['results']['dispatch']['repositions']), int(j['results']['dispatch']['charge_jobs'])"; }
for when in eve night; do
  declare -n args=$when
  check "$when: a run with rebalancing and charging" sim "${when}_on" "${args[@]}" --scenario="$WORK/ops_on.yaml"
  check "$when: --rebalance-s 0 --charging no" sim "${when}_off" "${args[@]}" --scenario="$WORK/ops_on.yaml" \
    --rebalance-s=0 --charging=no
  check "$when: ... no repositioning, no charge job" test "$(ops "${when}_off")" = "0 0"
  check "$when: the same in the scenario file" sim "${when}_file" "${args[@]}" --scenario="$WORK/no_ops.yaml"
  check "$when: ... no repositioning, no charge job" test "$(ops "${when}_file")" = "0 0"
done
read -r moves _ <<<"$(ops eve_on)"
read -r _ charges <<<"$(ops night_on)"
check "the evening moved idle cars ($moves) and the night sent some to charge ($charges)" \
  test "$moves" -gt 0 -a "$charges" -gt 0
check "a flag overrides the file" sim night_flag "${night[@]}" --scenario="$WORK/no_ops.yaml" --charging=yes
read -r moves charges <<<"$(ops night_flag)"
check "... charging on again ($charges jobs), rebalancing still off" test "$moves" -eq 0 -a "$charges" -gt 0
"$FLEETSIM" run --charging=maybe 2>"$WORK/badflag.log"; rc=$?
check "a bad --charging is a usage error (exit $rc)" test "$rc" -eq 2
finish
