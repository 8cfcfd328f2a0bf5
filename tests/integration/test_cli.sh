#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The CLI as a new user meets it: `fleetsim run` makes the folders it is
# given, fleetctl's hz and echo report what is on the bus, and the programs'
# help and error messages name the command the user typed.
source "$(dirname "$0")/lib.sh"

NET=(--network=grid:6x6:200 --vehicles=10 --phase=data-collection)

# --out and an ipc bus in folders that do not exist yet
"$SVC/fleetsim" run --quiet "${NET[@]}" --duration=30 --out="$WORK/new/out/rec" \
  --bus="ipc://$WORK/newbus/a/bus" 2>"$WORK/mkdirs.log"; rc=$?
check "--out and --bus in missing folders: the run completes (exit $rc)" test "$rc" -eq 0
check "... results written into the new --out folder" test -s "$WORK/new/out/rec/summary.json"
check "... the bus's new parent folders are private (0700)" \
  test "$(stat -c %a "$WORK/newbus" "$WORK/newbus/a" | tr '\n' ' ')" = "700 700 "
# a missing folder is made only inside one no other user could swap it out of
mkdir -m 0777 "$WORK/open"
"$SVC/fleetsim" run --quiet "${NET[@]}" --duration=30 --bus="ipc://$WORK/open/x/bus" 2>"$WORK/open.log"; rc=$?
check "a bus folder to create in a world-writable, non-sticky folder is refused (exit $rc)" test "$rc" -ne 0
check "... saying why" grep -q "writable by other users and not sticky" "$WORK/open.log"
check "... and nothing is created there" test ! -e "$WORK/open/x"
# ---- help and error messages name the command the user typed --------------------
"$SVC/fleetctl" record --help >"$WORK/h.out" 2>&1
check "fleetctl record --help is fleetctl record's" grep -q "^Usage: fleetctl record FILE" "$WORK/h.out"
"$SVC/fleetsim" replay --help >"$WORK/h.out" 2>&1
check "fleetsim replay --help is fleetsim replay's" grep -q "^Usage: fleetsim replay FILE --verify" "$WORK/h.out"
"$SVC/fleetctl" info "$WORK/missing.mcap" >/dev/null 2>"$WORK/h.out"
check "fleetctl info on a missing file: fleetctl info says so, not fs-rec" \
  sh -c "grep -q '^fleetctl info: error: .*missing.mcap' '$WORK/h.out' && ! grep -q fs-rec '$WORK/h.out'"
"$SVC/fleetsim" rollout --help >"$WORK/h.out" 2>&1
check "rollout usage: --from/--to optional (they have defaults), daily cadence listed" \
  sh -c "grep -q '^Usage: fleetsim rollout \[--from YYYY-MM\] \[--to YYYY-MM\]' '$WORK/h.out' && grep -q 'daily' '$WORK/h.out'"
# an unknown option: one line naming it and where help is, exit 2, for every program
bad_option() { # command words...
  "$@" --frobnicate >/dev/null 2>"$WORK/bad.err"; local rc=$?
  local name="$*"; name=${name#"$SVC/"}
  [ "$rc" -eq 2 ] && [ "$(wc -l <"$WORK/bad.err")" -eq 2 ] && grep -q -- "--frobnicate" "$WORK/bad.err" &&
    grep -q "^Try '$name --help' for more information.$" "$WORK/bad.err" ||
    { sed 's/^/# /' "$WORK/bad.err"; return 1; }
}
for cmd in "fleetsim run" "fleetsim rollout" "fleetsim replay" "fleetctl" "fleetctl echo" "fleetctl hz" \
  "fleetctl topics" "fleetctl status" "fleetctl pause" "fleetctl inject" "fleetctl keygen" "fleetctl record" \
  "fleetctl info" "fleetctl play" "fleetctl export" fs-broker fs-conductor fs-vehicle fs-dispatch fs-production; do
  check "$cmd --frobnicate: one line and a hint (exit 2)" bad_option $SVC/$cmd
done

# ---- progress ------------------------------------------------------------------
# On a terminal (script(1) gives the run one): an ETA, the children's lines above the progress
# line (never glued onto it), and a last line that says how the run ended.
script -qfec "'$SVC/fleetsim' run ${NET[*]} --vehicles=20 --duration=6h --speed=2000 --bus='ipc://$WORK/tty/bus' \
  --out='$WORK/tty/out'" "$WORK/tty.typescript" >/dev/null 2>&1
check "progress on a terminal:" python3 - "$WORK/tty.typescript" <<'PY'
import re, sys
raw = open(sys.argv[1], errors="replace").read()
segs = [s.replace("\x1b[K", "") for s in re.split(r"[\r\n]", raw) if s.strip()]
progress = [s for s in segs if "real time (target" in s]
assert progress, "no progress line"
assert any(re.search(r"ETA \d+:\d\d", s) for s in progress), "no ETA"
glued = [s for s in segs if "real time (target" in s and re.search(r"(fs-conductor|dispatch|production|fleetsim):", s)]
assert not glued, glued
final = [s for s in segs if " tick " in s][-1]
assert re.search(r"tick 21600/21600  ended after \d+:\d\d of wall time", final), final
assert any(s.startswith("fs-conductor: run complete") for s in segs), "the children's lines are shown"
PY

# rollout: k/N and an ETA; Ctrl-C keeps what was done; --resume runs the rest
ROLL=("$SVC/fleetsim" rollout --from 2028-01 --to 2028-08 --window 10m --seed 5 --jobs 1 --out "$WORK/roll")
"${ROLL[@]}" 2>"$WORK/roll1.log" &
RPID=$!
for _ in $(seq 1200); do grep -q '^fleetsim rollout: \[3/8\]' "$WORK/roll1.log" && break; sleep 0.1; done
kill -INT "$RPID"; wait "$RPID"; rc=$?
sed 's/^/# /' "$WORK/roll1.log"
check "rollout progress: [k/N] and an ETA per run" grep -q '^fleetsim rollout: \[2/8\] 2028-02-01T12:00:00Z: .*; ETA [0-9]*:[0-9][0-9]$' "$WORK/roll1.log"
check "rollout Ctrl-C: exit 130 ($rc)" test "$rc" -eq 130
check "... rollout.csv and rollout.png written with the runs done" python3 - "$WORK/roll" <<'PY'
import csv, os, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/rollout.csv")))
done = [r["date"] for r in rows if r["run_digest"]]
assert len(rows) == 8 and 3 <= len(done) < 8 and done == [r["date"] for r in rows][:len(done)], done
assert os.path.getsize(sys.argv[1] + "/rollout.png") > 10000
print("# done before Ctrl-C:", len(done))
PY
DONE=$(python3 -c "import csv,sys; print(sum(1 for r in csv.DictReader(open('$WORK/roll/rollout.csv')) if r['run_digest']))")
"${ROLL[@]}" --resume 2>"$WORK/roll2.log"; rc=$?
sed 's/^/# /' "$WORK/roll2.log"
check "rollout --resume: completes (exit $rc), running only the $((8 - DONE)) left" \
  sh -c "test $rc -eq 0 && grep -q '^fleetsim rollout: \[$((8 - DONE))/$((8 - DONE))\]' '$WORK/roll2.log' && ! grep -q '2028-01-01T12:00:00Z: ' '$WORK/roll2.log'"
check "... every sample has its run" python3 -c "
import csv; rows = list(csv.DictReader(open('$WORK/roll/rollout.csv')))
assert len(rows) == 8 and all(r['run_digest'] for r in rows)"

# ---- fleetctl against a paced run ----------------------------------------------
BUS=$(new_bus live)
CTL="$SVC/fleetctl --bus=$BUS"
"$SVC/fleetsim" run --quiet --bus="$BUS" --out="$WORK/live" --network=grid:8x8:200 --vehicles=12 \
  --duration=10h --speed=20 2>"$WORK/live.log" &
RUN=$!
PIDS+=($RUN)
for _ in $(seq 1200); do $CTL status 2>/dev/null | grep -q "^state *running" && break; sleep 0.1; done

# hz: the spread of the intervals it measured (ros2 topic hz's std); ticks come at a steady pace
$CTL hz ctl.tick --window 1 --timeout 6.5 >"$WORK/hz.out" 2>&1
sed 's/^/# /' "$WORK/hz.out"
check "hz: the interval std is positive when min and max differ, and within their range" python3 - "$WORK/hz.out" <<'PY'
import re, sys
rows = [tuple(map(float, m.groups())) for m in
        re.finditer(r"min ([0-9.]+)s max ([0-9.]+)s std ([0-9.]+)s", open(sys.argv[1]).read())]
assert len(rows) >= 2, rows
for lo, hi, sd in rows:
    assert hi - lo <= 0.002 or sd > 0, (lo, hi, sd)
    assert sd <= hi - lo + 1e-4, (lo, hi, sd)
PY

# echo: exact topics, zeros, times, width, fields, a vehicle, CSV and JSON
$CTL echo kpi -n 4 --timeout 120 >"$WORK/kpi.out"
check "echo kpi: the topic kpi only, not kpi/broker" test "$(awk '/^--- /{print $2}' "$WORK/kpi.out" | sort -u)" = kpi
$CTL echo 'kpi*' -n 6 --timeout 120 >"$WORK/kpistar.out"
check "echo 'kpi*': kpi/broker too" grep -q "^--- kpi/broker " "$WORK/kpistar.out"
$CTL echo kpi/broker -n 1 --timeout 120 >"$WORK/broker.out"
check "echo kpi/broker: a counter at zero shows its value" \
  sh -c "grep -A1 'name: \"dropped_malformed\"' '$WORK/broker.out' | grep -q 'value: 0$'"
check "... and no 1970 date: the broker's counters have no simulated time" \
  sh -c "grep -q '^--- kpi/broker .*no simulated time' '$WORK/broker.out' && ! grep -q 1970 '$WORK/broker.out'"
COLUMNS=100 $CTL echo veh.state -n 1 --timeout 120 >"$WORK/wide.out"
check "echo veh.state fits a 100-column terminal" test "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$WORK/wide.out")" -le 100
check "... naming the columns left out" grep -q "more columns: .*--field picks them" "$WORK/wide.out"
# keyframes (veh.snapshot) hold every vehicle; veh.state only those that changed
$CTL echo veh.snapshot -n 2 --timeout 120 --csv --field vehicle_id,soc >"$WORK/fields.csv"
check "--csv --field: a header and one row per vehicle with the chosen columns" python3 - "$WORK/fields.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
assert rows[0] == ["topic", "sender", "tick", "sim_time_utc", "vehicle_id", "soc"], rows[0]
assert len(rows) == 1 + 2 * 12, len(rows)
assert sorted({int(r[4]) for r in rows[1:]}) == list(range(12))
assert all(r[3].endswith("Z") and 0 <= float(r[5]) <= 1 for r in rows[1:])
PY
$CTL echo veh.snapshot -n 3 --timeout 120 --vehicle 7 --csv >"$WORK/v7.csv"
check "--vehicle 7: only vehicle 7's records" python3 - "$WORK/v7.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 3 and all(r["vehicle_id"] == "7" for r in rows), rows
PY
$CTL echo veh.snapshot -n 2 --timeout 120 --vehicle 7 --json >"$WORK/v7.json"
check "--json: one object per message, every field, the vehicle's record only" python3 - "$WORK/v7.json" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 2
for j in lines:
    assert j["topic"] == "veh.snapshot" and j["sim_time_utc"].endswith("Z") and j["tick"] > 0
    p = j["payload"]
    # a keyframe's full records; its moves (move_*) are empty
    assert p["vehicle_id"] == [7] and all(len(v) == (0 if k.startswith("move_") else 1)
                                          for k, v in p.items() if isinstance(v, list)), p
    assert "shard" in p  # a zero is a value, not a missing field
PY
$CTL echo veh.state --field nope -n 1 >/dev/null 2>"$WORK/nope.err"; rc=$?
check "--field with a field the topic lacks is a usage error naming the fields (exit $rc)" \
  sh -c "test $rc -eq 2 && grep -q \"has no field 'nope' (fields: \" '$WORK/nope.err'"

# play: the log line says where, from when and how fast
timeout -s INT 3 "$SVC/fleetctl" --bus="$BUS" record "$WORK/short.mcap" 2>/dev/null
"$SVC/fleetctl" --bus="ipc://$WORK/playbus/bus" play "$WORK/short.mcap" --speed max >/dev/null 2>"$WORK/play.err"
sed 's/^/# /' "$WORK/play.err"
check "fleetctl play logs 'playing FILE onto BUS from TIME, as fast as possible'" \
  grep -q "^fleetctl play: playing .*short.mcap onto ipc://.*/playbus/bus from 20[0-9-]*T[0-9:.]*Z, as fast as possible$" "$WORK/play.err"

$CTL stop >/dev/null
wait "$RUN"
# ---- exports --------------------------------------------------------------------
# Atlanta (a network with a place on Earth): positions as WGS84 too, counts as integers
"$SVC/fleetsim" run --quiet --duration=1h --out="$WORK/atl" --bus="ipc://$WORK/atl/bus" \
  --record="$WORK/atl.mcap" 2>"$WORK/atl.log"
check "trips.csv: latitude/longitude of origin, destination, pickup and drop-off, in Atlanta" python3 - "$WORK/atl" <<'PY'
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/trips.csv")))
assert len(rows) >= 5, len(rows)
for r in rows:
    for p in ("origin", "dest"):
        lat, lon = float(r[p + "_lat"]), float(r[p + "_lon"])
        assert 33.4 < lat < 34.2 and -84.8 < lon < -84.0, (p, lat, lon)
    if r["pickup_x_m"]:
        # the pickup's metres and degrees agree with the origin's (the same projection)
        dx = float(r["pickup_x_m"]) - float(r["origin_x_m"])
        dlat = (float(r["pickup_lat"]) - float(r["origin_lat"])) * 111195
        dlon = (float(r["pickup_lon"]) - float(r["origin_lon"])) * 111195 * math.cos(math.radians(33.75))
        dy = float(r["pickup_y_m"]) - float(r["origin_y_m"])
        assert abs(dlon - dx) < 2 and abs(dlat - dy) < 2, (dx, dlon, dy, dlat)
PY
check "zone CSVs: lat/lon columns; the downtown zone is in downtown Atlanta" python3 - "$WORK/atl" <<'PY'
import csv, sys
cells = list(csv.DictReader(open(sys.argv[1] + "/dispatch_by_zone.csv")))
assert cells and all(33.4 < float(c["lat"]) < 34.2 and -84.8 < float(c["lon"]) < -84.0 for c in cells)
zones = {z["zone"]: z for z in csv.DictReader(open(sys.argv[1] + "/dispatch_by_scenario_zone.csv"))}
d = zones["downtown"]  # Five Points, downtown Atlanta: 33.754 N, 84.391 W
assert abs(float(d["lat"]) - 33.754) < 0.01 and abs(float(d["lon"]) + 84.391) < 0.01, d
PY
# times on the city's clock, with its zone: checked against Python's own tz database reader (zoneinfo)
check "trips.csv: request/pickup/dropoff_local are the run's instants on Atlanta's clock (-04:00 in June)" \
  python3 - "$WORK/atl" <<'PY'
import csv, datetime, json, sys
from zoneinfo import ZoneInfo
start = datetime.datetime.fromisoformat(json.load(open(sys.argv[1] + "/summary.json"))["start"].replace("Z", "+00:00"))
rows = list(csv.DictReader(open(sys.argv[1] + "/trips.csv")))
assert rows
for r in rows:
    for t, local in (("t_request_s", "request_local"), ("t_pickup_s", "pickup_local"), ("t_dropoff_s", "dropoff_local")):
        if not r[t]:
            assert r[local] == "", (t, r[local])
            continue
        want = (start + datetime.timedelta(seconds=float(r[t]))).astimezone(ZoneInfo("America/New_York"))
        got = datetime.datetime.fromisoformat(r[local])
        assert got.utcoffset() == want.utcoffset() and abs((got - want).total_seconds()) < 1, (r[local], want)
        assert r[local].endswith("-04:00"), r[local]
PY
check "dispatch_by_hour.csv: the hours are Atlanta's (08 local for a run from 12:00 UTC), and it says so" \
  python3 - "$WORK/atl/dispatch_by_hour.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 24 and all(r["timezone"] == "America/New_York" for r in rows), rows[0]
busy = [r["local_hour"] for r in rows if int(r["requests"])]
assert busy == ["08"], busy
PY
"$SVC/fleetctl" export "$WORK/atl.mcap" --timeline "$WORK/atl-tl.csv" --report "$WORK/atl-report.png" >/dev/null 2>&1
check "export: the timeline's start_local/end_local are on the run's city's clock" python3 - "$WORK/atl-tl.csv" <<'PY'
import csv, datetime, sys
from zoneinfo import ZoneInfo
rows = list(csv.DictReader(open(sys.argv[1])))
assert rows
for r in rows:
    for utc, local in (("start_utc", "start_local"), ("end_utc", "end_local")):
        if r[utc]:
            want = datetime.datetime.fromisoformat(r[utc].replace("Z", "+00:00")).astimezone(ZoneInfo("America/New_York"))
            assert datetime.datetime.fromisoformat(r[local]) == want and want.utcoffset().total_seconds() == -4 * 3600
PY
"$SVC/fleetctl" export "$WORK/atl.mcap" --timeline "$WORK/atl-tl-in.csv" --timezone Asia/Kolkata >/dev/null 2>&1
check "export --timezone Asia/Kolkata: local times at +05:30" python3 - "$WORK/atl-tl-in.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert rows and all(r["start_local"].endswith("+05:30") for r in rows)
PY
"$SVC/fleetctl" export "$WORK/atl.mcap" --report "$WORK/x.png" --timezone Nowhere/Foo >/dev/null 2>"$WORK/badtz.err"
rc=$?
sed 's/^/# /' "$WORK/badtz.err"
check "export --timezone Nowhere/Foo: refused (exit $rc), naming the option, no report written" \
  test "$rc" -ne 0 -a ! -e "$WORK/x.png" -a -n "$(grep -- "--timezone" "$WORK/badtz.err")"

check "summary.json: counts are integers (\"requests\": 12, not 12.0)" python3 - "$WORK/atl/summary.json" <<'PY'
import json, re, sys
raw = open(sys.argv[1]).read()
d = json.loads(raw)["results"]["dispatch"]
assert all(isinstance(d[k], int) for k in ("requests", "served", "cancelled", "rejected", "open")), d
assert not re.search(r'"(requests|served|cancelled|rejected|open|faults_injected)": -?\d+\.0\b', raw)
PY
check "a grid has no place on Earth: its lat/lon columns are empty, not near 0,0" python3 - "$WORK/live" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/trips.csv")))
assert rows and all(r["origin_lat"] == "" and r["origin_lon"] == "" for r in rows)
PY

finish
