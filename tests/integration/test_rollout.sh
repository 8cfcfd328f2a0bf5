#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The production service in a real lockstep run, and `fleetsim rollout`
# (fs-rollout) end to end: a short rollout with real sampled runs, the CSV's
# invariants (fleet = cumulative deliveries - retirements, per city and per
# OEM sums), same seed same series, and a chart that is a real picture; the
# plan the mission describes (Stellantis, Foxconn, the 100,000), per-programme
# vehicles and the data flywheel through the real processes.
source "$(dirname "$0")/lib.sh"

ROLLOUT=$SVC/fs-rollout

csv_check() { # python over the CSV rows (list of dicts `rows`); exit status is the check
  python3 - "$CSV" "$1" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ok = eval(sys.argv[2], {"rows": rows, "int": int, "float": float, "all": all, "any": any, "len": len, "sum": sum})
if not ok:
    print("# check failed:", sys.argv[2], file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
}

# ---- fs-production as a lockstep participant ---------------------------------
prod_run() { # tag seed -> $WORK/tag/summary.json
  local tag=$1 seed=$2 bus
  bus=$(new_bus "$tag")
  start_broker "$bus" || return 1
  local bpid=$BROKER_PID
  "$SVC/fs-conductor" --bus="$bus" --participants=production:production --duration=10d --tick-ms=600000 \
    --start=2028-06-01T06:00:00Z --seed="$seed" --out="$WORK/$tag" 2>"$WORK/$tag/conductor.log" &
  local cpid=$!
  "$SVC/fs-production" --bus="$bus" --name=production --seed="$seed" --first-vehicle-id=300 \
    2>"$WORK/$tag/production.log" &
  PIDS+=($!)
  end_run_of "$bpid" "$cpid"
}

check "fs-production runs 10 days in lockstep" prod_run p1 4
S=$WORK/p1/summary.json
r() { json "$1" "j['results']['production']['$2']"; }
check "it said bye with results" test "$(json "$S" "j['participants']['production']['said_bye']")" = True
check "10 simulated days advanced the model" test "$(r "$S" days_simulated_in_run)" = 10
check "fleet = delivered - retired" \
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']['production']; sys.exit(0 if r['fleet']==r['delivered']-r['retired'] else 1)" "$S"
check "fleet per city sums to the fleet" \
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']['production']; sys.exit(0 if sum(v for k,v in r.items() if k.startswith('fleet_city_'))==r['fleet'] else 1)" "$S"
check "atlanta has vehicles in mid-2028" python3 -c "import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))['results']['production']['detailed_city_fleet'] > 0 else 1)" "$S"
check "same seed again" prod_run p2 4
check "same seed, same digest" test "$(json "$S" "j['run_digest']")" = "$(json "$WORK/p2/summary.json" "j['run_digest']")"
# A default run: its 32 vehicles (fleet.size) drive in Atlanta, whatever the plan has there on that day.
check "a default run of 20 simulated seconds" \
  "$SVC/fleetsim" run --duration 20s --bus "$(new_bus d1)" --out "$WORK/d1" --quiet
check "production reports the detailed city's fleet as the vehicle nodes drive it" \
  python3 -c "
import json, sys
j = json.load(open(sys.argv[1])); r = j['results']
drive = sum(v['vehicles'] - v['vehicles_retired'] for k, v in r.items() if k.startswith('vehicle'))
p = r['production']
sys.exit(0 if drive == 32 and p['detailed_city_fleet'] == drive == 32 + p['deliveries_published'] - p['retirements_published'] else 1)" "$WORK/d1/summary.json"
# Per-programme vehicles through the real processes: "tiny" (15 kWh, 0.30 kWh/km, 50 kW) starts
# production late May 2028, so its first vehicles reach Atlanta at the run's midnight; the run's
# initial 40 vehicles stand for the plan's "roomy" ones (100 kWh, 0.22 kWh/km, 250 kW).
cat >"$WORK/programmes.yaml" <<'EOF'
description: per-programme vehicles - a small-battery programme delivers during the run
seed: 7
start: 2028-06-06T22:00:00Z
duration: 8h
tick: 5s
fleet: {size: 40}
demand: {trips_per_day: 880}    # 22 trips a car a day, set outright (the default is the city's)
vehicle: {commissioning_h: 0.25}
production:
  start: 2027-01-01
  programmes:
    - {name: roomy, oem: A, target: 100000, battery_kwh: 100, kwh_per_km: 0.22, max_charge_kw: 250, seats: 4,
       plants: [{name: a1, start_of_production: 2027-01-01, ramp_months: 0, rate_per_month: 60}]}
    - {name: tiny, oem: B, target: 100000, battery_kwh: 15, kwh_per_km: 0.30, max_charge_kw: 50, seats: 2,
       plants: [{name: b1, start_of_production: 2028-05-25, ramp_months: 0, rate_per_month: 300}]}
rollout:
  cities:
    - {name: atlanta, region: north-america, launch: 2027-01-01}
EOF
check "a run whose deliveries come from two programmes (8 h over midnight)" \
  "$SVC/fleetsim" run --scenario "$WORK/programmes.yaml" --bus "$(new_bus pv)" --out "$WORK/pv" --quiet
programme_vehicles() {
  python3 - "$WORK/pv/summary.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))['results']
v, p = r['vehicle-0'], r['production']
g = lambda prog, k: v['programme_%s_%s' % (prog, k)]
print('# tiny: %d delivered, %.0f km, %.3f kWh/km, %d charges at %.1f kW; roomy: %d, %.3f kWh/km, %.1f kW' % (
    g('tiny', 'vehicles'), g('tiny', 'km'), g('tiny', 'traction_kwh') / g('tiny', 'km'), g('tiny', 'charges'),
    g('tiny', 'charged_kwh') / g('tiny', 'charging_hours'), g('roomy', 'vehicles'),
    g('roomy', 'traction_kwh') / g('roomy', 'km'), g('roomy', 'charged_kwh') / max(g('roomy', 'charging_hours'), 1e-9)))
# the run's 40 vehicles are the plan's roomy ones; tiny ones only come by delivery, and they drove
assert g('roomy', 'vehicles') >= 40 and g('tiny', 'vehicles') > 0
assert g('roomy', 'vehicles') + g('tiny', 'vehicles') == 40 + p['deliveries_published'] == v['vehicles']
assert g('tiny', 'battery_kwh') == 15 and g('tiny', 'seats') == 2 and g('tiny', 'km') > 100
# each drives with its own consumption ...
assert abs(g('tiny', 'traction_kwh') / g('tiny', 'km') - 0.30) < 1e-3
assert abs(g('roomy', 'traction_kwh') / g('roomy', 'km') - 0.22) < 1e-3
# ... and its small battery sends it to charge, at its own 50 kW (x 0.92, less the AV stack), not the plug's 150
assert g('tiny', 'charges') > 0 and 44 < g('tiny', 'charged_kwh') / g('tiny', 'charging_hours') < 46.1
assert g('tiny', 'charge_requests') / g('tiny', 'vehicles') > 5 * g('roomy', 'charge_requests') / g('roomy', 'vehicles')
EOF
}
check "a delivered vehicle of a programme drives and charges with that programme's battery and consumption" programme_vehicles
# The data flywheel: release 1.2 (motorways) goes out in July 2028 and reaches Atlanta's fleet over
# the air; the sampled runs' vehicles run what the plan says, and a run over midnight gets the day's share.
check "weekly samples through the rollout of release 1.2 (10-minute windows)" \
  "$ROLLOUT" --from 2028-06-20 --to 2028-08-10 --cadence 7d --window 10m --seed 5 --jobs 2 --out "$WORK/r13" --quiet
CSV=$WORK/r13/rollout.csv
check "the fleet's data grow and release 1.2 goes out: more miles per disengagement, motorways" \
  csv_check "rows[0]['sw_latest'] == '1.1' and rows[-1]['sw_latest'] == '1.2' and float(rows[-1]['data_pb']) > float(rows[0]['data_pb']) and float(rows[0]['fleet_miles_per_disengagement']) < float(rows[-1]['fleet_miles_per_disengagement']) and rows[0]['fleet_motorway_share'] == '0.0000' and rows[-1]['fleet_motorway_share'] == '1.0000' and any(0 < float(r['sw_latest_share']) < 1 for r in rows)"
check "Atlanta's sampled runs run the release as far as it reached them (within 0.1)" \
  csv_check "all(r['run_digest'] and abs(float(r['run_sw_latest_share']) - float(r['sw_latest_share'])) < 0.1 and abs(float(r['run_no_motorway_share']) - (1 - float(r['fleet_motorway_share']))) < 0.1 for r in rows)"
check "a run over midnight during the rollout" \
  "$SVC/fleetsim" run --start 2028-07-12T23:30:00Z --duration 1h --tick-ms 5000 --bus "$(new_bus ota)" --out "$WORK/ota" --quiet
check "... installs the day's share of the release over the air" python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))['results']
v = r['vehicle-0']; p = r['production']
print('# %d updates published, %d installed; %d of %d vehicles on 1.2' % (p['ota_updates_published'], v['ota_updates_applied'], v['vehicles_sw_120'], v['vehicles']))
sys.exit(0 if 0 < p['ota_updates_published'] and 0 < v['ota_updates_applied'] <= p['ota_updates_published'] and 0 < v['vehicles_sw_120'] < v['vehicles'] else 1)" "$WORK/ota/summary.json"
check "bad --city is refused" bash -c "! '$SVC/fs-production' --city=atlantis --bus=ipc://$WORK/none 2>/dev/null"

# ---- fleetsim rollout ----------------------------------------------------------
# Atlanta launches in 2027-04 by default: 6 monthly samples, 2-3 with vehicles.
check "rollout 2027-01..2027-06 with 10-minute sampled runs" \
  "$ROLLOUT" --from 2027-01 --to 2027-06 --window 10m --seed 5 --jobs 2 --out "$WORK/r1" --quiet
CSV=$WORK/r1/rollout.csv
check "rollout.csv exists" test -s "$CSV"

check "one row a month" csv_check "len(rows) == 6 and rows[0]['date'] == '2027-01-01' and rows[-1]['date'] == '2027-06-01'"
check "fleet == cumulative deliveries - retirements" \
  csv_check "all(int(r['fleet_total']) == int(r['delivered_cum']) - int(r['retired_cum']) for r in rows)"
check "deliveries and retirements per row add up to the cumulative counts" \
  csv_check "all(int(rows[i]['delivered_cum']) - (int(rows[i-1]['delivered_cum']) if i else 0) == int(rows[i]['deliveries']) and int(rows[i]['retired_cum']) - (int(rows[i-1]['retired_cum']) if i else 0) == int(rows[i]['retirements']) for i in range(len(rows)))"
check "fleet per city sums to the fleet" \
  csv_check "all(sum(int(v) for k, v in r.items() if k.startswith('fleet_city_')) == int(r['fleet_total']) for r in rows)"
check "fleet per OEM sums to the fleet" \
  csv_check "all(sum(int(v) for k, v in r.items() if k.startswith('fleet_oem_')) == int(r['fleet_total']) for r in rows)"
check "the fleet grows" csv_check "int(rows[-1]['fleet_total']) > int(rows[0]['fleet_total']) > 0"
check "atlanta has no vehicles before its launch, then some" \
  csv_check "rows[2]['vehicles'] == '0' and rows[2]['city_phase'] == 'none' and int(rows[-1]['vehicles']) > 0"
check "every sample with vehicles ran (digest, wall time), the others did not" \
  csv_check "all((r['run_digest'] != '' and float(r['run_wall_s']) > 0) == (int(r['vehicles']) > 0) for r in rows)"
RUNS=$(ls "$WORK"/r1/runs/*/summary.json 2>/dev/null | wc -l)
check "each sampled run wrote its summary" csv_check "sum(int(r['vehicles']) > 0 for r in rows) == $RUNS > 0"
check "KPIs not reported by the runs are left empty, not invented" \
  csv_check "all(r['wait_p50_s'] == '' for r in rows) or all(r['wait_p50_s'] != '' for r in rows if r['run_digest'])"

png_check() { # a real PNG of 1400x940 with many colours
  python3 - "$1" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, w = 8, b'', 0
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h = struct.unpack('>II', body[:8])
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
assert (w, h) == (1400, 940), (w, h)
assert len(set(raw[::7])) > 100, 'too few distinct byte values: a blank picture'
EOF
}
check "rollout.png is a real chart" png_check "$WORK/r1/rollout.png"
# The chart's text is drawn from string literals: none may cite the project's internal brief.
check "the chart cites no internal brief" bash -c "! grep -aq DOMAIN '$ROLLOUT'"

# Riders from the supervised phase on: Atlanta is driverless by mid-2028.
check "rollout 2028-06..2028-07 with riders (30-minute windows: the city's demand)" \
  "$ROLLOUT" --from 2028-06 --to 2028-07 --window 30m --seed 5 --jobs 2 --out "$WORK/r8" --quiet
CSV=$WORK/r8/rollout.csv
check "requests still open when a window ends are counted apart" \
  csv_check "all(r['run_digest'] != '' and int(r['requests']) > 0 and int(r['open_at_end']) > 0 for r in rows)"
check "the served share is of the requests closed in the window: served / (requests - open at the end)" \
  csv_check "all(abs(float(r['served_share']) - int(r['trips_window']) / (int(r['requests']) - int(r['open_at_end']))) < 1e-3 and float(r['served_share']) <= 1 for r in rows)"

# --scenario: the file's plan shapes the fleet, and its settings hold in every sampled run.
cat >"$WORK/plan.yaml" <<'EOF'
description: rollout test - the whole fleet on release 1.2, a supplier shortage in the plan
seed: 5
start: 2028-01-01T00:00:00Z
duration: 366d
tick: 1h
fleet:
  software:
    - {version: "1.0", miles_per_disengagement: 13000, ra_per_1000km: 10, odd: [no_motorway], share: 0}
    - {version: "1.1", miles_per_disengagement: 20000, ra_per_1000km: 6, odd: [no_motorway], share: 0}
    - {version: "1.2", miles_per_disengagement: 30000, ra_per_1000km: 4, odd: [], share: 1}
events:
  - {type: supplier_shortage, from: 2028-03-01, until: 2028-09-01, programme: stellantis-k0, plant: k0-us, factor: 0.3}
EOF
check "rollout --scenario FILE with sampled runs" \
  "$ROLLOUT" --from 2028-06 --to 2028-07 --window 10m --seed 5 --jobs 2 --scenario "$WORK/plan.yaml" \
  --out "$WORK/r10" --quiet
scenario_runs() {
  python3 - "$WORK/r10" "$WORK/plan.yaml" <<'EOF'
import csv, json, sys
rows = [r for r in csv.DictReader(open(sys.argv[1] + '/rollout.csv')) if r['run_digest']]
assert len(rows) == 2, rows
for r in rows:
    j = json.load(open('%s/runs/%s/summary.json' % (sys.argv[1], r['date'])))
    res = j['results']
    assert j['scenario']['file'] == sys.argv[2], j['scenario']
    # the file's fleet settings: every vehicle on 1.2, which drives motorways
    assert sum(v['vehicles_no_motorway'] for k, v in res.items() if k.startswith('vehicle')) == 0
    # the run's production plan is the rollout's: its shortage, its fleet in Atlanta
    assert res['production']['disruptions'] == 1
    assert res['production']['detailed_city_plan_in_service'] == int(r['vehicles']), (r['vehicles'], res['production'])
EOF
}
check "the sampled runs run the file's settings and its plan (not its timed events)" scenario_runs
CSV=$WORK/r1/rollout.csv

check "same seed again" "$ROLLOUT" --from 2027-01 --to 2027-06 --window 10m --seed 5 --jobs 2 --out "$WORK/r2" --quiet
strip_wall() { python3 -c "import csv,sys; [print(','.join(v for k, v in r.items() if k != 'run_wall_s')) for r in csv.DictReader(open(sys.argv[1]))]" "$1"; }
check "same seed, same time series (run digests included)" test "$(strip_wall "$CSV")" = "$(strip_wall "$WORK/r2/rollout.csv")"
check "another seed, another series" "$ROLLOUT" --from 2027-01 --to 2027-06 --no-detail --seed 6 --out "$WORK/r3" --quiet
check "the production series depends on the seed" test "$(strip_wall "$CSV" | cut -d, -f1-48)" != "$(strip_wall "$WORK/r3/rollout.csv" | cut -d, -f1-48)"

check "the default plan 2027-01..2034-12 without runs" \
  "$ROLLOUT" --from 2027-01 --to 2034-12 --no-detail --out "$WORK/r4" --quiet
CSV=$WORK/r4/rollout.csv
check "96 months; fleet == deliveries - retirements over eight years" \
  csv_check "len(rows) == 96 and all(int(r['fleet_total']) == int(r['delivered_cum']) - int(r['retired_cum']) for r in rows)"
check "per-OEM deliveries add up to the deliveries" \
  csv_check "all(sum(int(v) for k, v in r.items() if k.startswith('delivered_oem_')) == int(r['delivered_cum']) for r in rows)"
check "Stellantis: nothing before 2028, its first 5,000 delivered by the start of 2029" \
  csv_check "all(int(r['delivered_oem_stellantis']) == 0 for r in rows if r['date'] <= '2028-01-01') and int([r for r in rows if r['date'] == '2029-01-01'][0]['delivered_oem_stellantis']) >= 5000"
check "the fleet in service reaches 100,000 by the end of 2034 and holds it" \
  csv_check "int(rows[-1]['fleet_total']) >= 99000 and any(int(r['fleet_total']) >= 100000 for r in rows)"
check "Foxconn is a stage of its own: capacity, queue, vehicles started" \
  csv_check "int(rows[-1]['foxconn_capacity_per_day']) > 0 and int(rows[-1]['foxconn_started']) > 5000"
# examples/foxconn-half-capacity.yaml: half of every Foxconn line
check "the plan with Foxconn at half capacity" \
  "$ROLLOUT" --from 2027-01 --to 2034-12 --no-detail --scenario "$SRC/examples/foxconn-half-capacity.yaml" \
  --out "$WORK/r11" --quiet
half_foxconn() {
  python3 - "$WORK/r4/rollout.csv" "$WORK/r11/rollout.csv" <<'EOF'
import csv, sys
ba = {r['date']: r for r in csv.DictReader(open(sys.argv[1]))}
ha = {r['date']: r for r in csv.DictReader(open(sys.argv[2]))}
first = lambda rows: min((d for d, r in rows.items() if int(r['fleet_total']) >= 100000), default='never')
print('# Stellantis by 2029-01-01: %s (default %s); 100,000 reached %s (default %s)' % (
    ha['2029-01-01']['delivered_oem_stellantis'], ba['2029-01-01']['delivered_oem_stellantis'], first(ha), first(ba)))
ok = int(ha['2029-01-01']['delivered_oem_stellantis']) < 5000 <= int(ba['2029-01-01']['delivered_oem_stellantis'])
ok &= any(int(r['foxconn_queued']) > 300 for r in ha.values())
ok &= first(ha) > first(ba)
ok &= int(ha['2033-01-01']['delivered_oem_further-hyperion-oems']) < int(ba['2033-01-01']['delivered_oem_further-hyperion-oems'])
# Lucid and Mercedes integrate on their own lines: the same fleets within 1 %
for d in ba:
    for k in ('fleet_oem_lucid', 'fleet_oem_mercedes-benz'):
        ok &= abs(int(ha[d][k]) - int(ba[d][k])) <= 0.01 * max(100, int(ba[d][k]))
sys.exit(0 if ok else 1)
EOF
}
check "half of Foxconn delays Stellantis and the unnamed Hyperion programmes, not Lucid or Mercedes" half_foxconn
# examples/stellantis-production-from-2028.yaml: the press reading, production *starting* in 2028
check "the press reading of Stellantis' plan" \
  "$ROLLOUT" --from 2027-01 --to 2030-12 --no-detail --scenario "$SRC/examples/stellantis-production-from-2028.yaml" \
  --out "$WORK/r12" --quiet
CSV=$WORK/r12/rollout.csv
check "... delivers hundreds within 2028 and its 5,000 by the end of 2030" \
  csv_check "0 < int([r for r in rows if r['date'] == '2029-01-01'][0]['delivered_oem_stellantis']) < 1000 and int(rows[-1]['delivered_oem_stellantis']) == 5000"
check "a daily rollout 2027-2028" "$ROLLOUT" --from 2027-01 --to 2028-12 --cadence daily --no-detail --out "$WORK/r6" --quiet
check "a monthly one" "$ROLLOUT" --from 2027-01 --to 2028-12 --no-detail --out "$WORK/r7" --quiet
same_dates() {
  python3 - "$WORK/r6/rollout.csv" "$WORK/r7/rollout.csv" <<'EOF'
import csv, sys
d = {r['date']: r for r in csv.DictReader(open(sys.argv[1]))}
m = {r['date']: r for r in csv.DictReader(open(sys.argv[2]))}
per_row = {'deliveries', 'retirements', 'run_wall_s'}
assert len(d) == 731 and len(m) == 24
bad = [(k, c) for k in m for c in m[k] if c not in per_row and m[k][c] != d[k][c]]
sys.exit(1 if bad else 0)
EOF
}
check "step size does not matter: daily and monthly agree on every shared date" same_dates
check "bad --from is refused" bash -c "! '$ROLLOUT' --from 2027-13 --no-detail --out '$WORK/r5' 2>/dev/null"
check "--to before --from is refused" bash -c "! '$ROLLOUT' --from 2028-01 --to 2027-01 --no-detail --out '$WORK/r5' 2>/dev/null"
check "no process left behind" test -z "$(leftovers "$WORK/r")"
finish
