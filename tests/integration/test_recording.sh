#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Recording, replay and exports with the real processes:
#  - a 2-shard run with dispatch, stepped, events injected live, recorded from
#    the broker's tap by fs-recorder, is read by the reference MCAP reader
#    (@mcap/core from npm) which lists the channels and decodes vehicle batches
#    with the FileDescriptorSet embedded in the file;
#  - fs-replay --verify re-runs it and finds every state hash identical, and
#    names the right tick and participant when the recording is tampered with;
#  - a recorder killed with SIGKILL mid-run leaves a readable file;
#  - play republishes a recording that `fleetctl echo` sees; exports are valid.
source "$(dirname "$0")/lib.sh"

REC=$SVC/fs-recorder
TOOL=$SVC/fs-rec
REPLAY=$SVC/fs-replay
TAMPER=$TESTBIN/fs-mcap-tamper
# A busy grid city: 4,400 requests a day, set outright (the default is Atlanta's, docs/demand.md).
printf 'demand: {trips_per_day: 4400}\n' >"$WORK/busy.yaml"
RUN_ARGS=(--network=grid:12x12:150 --vehicles=200 --seed=11 --duration=1800 --start=2028-06-01T17:00:00Z --shards=2
  --scenario="$WORK/busy.yaml")

# The reference reader: mcap_node_ready (lib.sh) installs it once per build directory.
# bounded: a reader that never returns fails its check instead of hanging the test
mcap_check() { timeout 300 node "$MCAP_NODE/check.cjs" "$@"; }

wait_file() { for _ in $(seq 3000); do [ -e "$1" ] && return 0; sleep 0.02; done; return 1; }
ctl() { "$SVC/fleetctl" --bus="$BUS" "$@" 2>&1 | sed "s/^/# /"; return "${PIPESTATUS[0]}"; }

# ---- A recorded run with live injection -------------------------------------
BUS=$(new_bus live)
"$SVC/fleetsim" run --bus="$BUS" "${RUN_ARGS[@]}" --paused --quiet --out="$WORK/live" 2>"$WORK/live.log" &
RUN_PID=$!
PIDS+=($RUN_PID)
wait_file "${BUS#ipc://}/tap"
# 256 KiB chunks: the run's ~2 MB make several, for the checks of a damaged middle chunk and a cut file
"$REC" --bus="$BUS" --out="$WORK/live.mcap" --ready-file="$WORK/live.ready" --exit-on-end --chunk-size=262144 -- \
  "${RUN_ARGS[@]}" 2>"$WORK/rec.log" &
REC_PID=$!
PIDS+=($REC_PID)
check "recorder reports ready (tap proven live)" wait_file "$WORK/live.ready"
check "step to tick 30" ctl step 30
for _ in $(seq 1200); do "$SVC/fleetctl" --bus="$BUS" status 2>/dev/null | grep -q "^tick *30 " && break; sleep 0.05; done
check "device fault injected live for tick 40" ctl inject --event device_fault --tick 40 vehicles=1,2,3,8 device=lidar health=failed
check "light rain injected live for the next tick" ctl inject --event weather zone=all severity=light
check "rain ends 2 minutes from now (an offset from now: tick 150)" \
  sh -c '"$1" --bus="$2" inject --event weather zone=all severity=none at=2m | grep -q "apply tick 150)"' _ "$SVC/fleetctl" "$BUS"
check "resume" ctl resume
wait "$RUN_PID"; rc=$?
check "the run completes" test $rc -eq 0
wait "$REC_PID"; rc=$?
check "the recorder exits by itself after the end (exit 0)" test $rc -eq 0
sed 's/^/# /' "$WORK/rec.log"
check "... and reports no lost message" grep -q " 0 lost (sequence gaps)" "$WORK/rec.log"

"$TOOL" info "$WORK/live.mcap" >"$WORK/info.txt" 2>&1
check "fleetctl info reads it" test $? -eq 0
check "... with its summary" grep -q "^index: *summary present" "$WORK/info.txt"
# vehicles publish what changed (veh.state, not every tick) and a keyframe a simulated minute
# (veh.snapshot: 30 per shard in 1800 s, more while the run was paused)
count_of() { sed -n "s/^  ([0-9]*) $1 *\([0-9]*\) msgs.*/\1/p" "$WORK/info.txt"; }
STATE_MSGS=$(count_of veh.state)
check "... veh.state at most a batch per shard per tick ($STATE_MSGS of 3600)" \
  test "${STATE_MSGS:-0}" -gt 0 -a "${STATE_MSGS:-0}" -le 3600
check "... keyframes of 2 shards on veh.snapshot ($(count_of veh.snapshot))" test "$(count_of veh.snapshot)" -ge 60
# 2 vehicle shards, dispatch and production: four TickDones a tick
check "... every participant's TickDones" grep -Eq "^  \([0-9]+\) ctl.done +7200 msgs" "$WORK/info.txt"
check "... the simulated span" grep -q "^duration: *29m59s (simulated)" "$WORK/info.txt"
check "... the run's arguments" grep -q '^run: .*"--shards=2"' "$WORK/info.txt"
check "fleetctl info (through fleetctl)" sh -c '"$1" info "$2" >/dev/null' _ "$SVC/fleetctl" "$WORK/live.mcap"

# ---- The independent reader ---------------------------------------------------
if mcap_node_ready; then
  mcap_check "$WORK/live.mcap" indexed >"$WORK/node.json" 2>"$WORK/node.err"
  check "@mcap/core opens the file with its indexes" test $? -eq 0
  sed 's/^/# /' "$WORK/node.err"
  check "... every message decodes with the embedded schema" \
    test "$(json "$WORK/node.json" "j['decoded'] == j['messages'] == int(j['statistics']['messageCount']) > 5000")" = True
  check "... channels listed with schema fleetsim.v1.Envelope" \
    test "$(json "$WORK/node.json" "j['channels']['veh.state']['schema'] == 'fleetsim.v1.Envelope' and j['channels']['veh.state']['payload'] == 'fleetsim.v1.VehicleStateBatch' and 'ctl.done' in j['channels']")" = True
  check "... vehicle batches decode: tick 0 has every vehicle of its shard, keyframes all 100 of theirs" \
    test "$(json "$WORK/node.json" "j['vehicleBatches'] == $STATE_MSGS and j['firstBatch']['tick'] == 0 and j['firstBatch']['vehicles'] == 100 and j['keyframesFull'] == j['snapshotBatches'] >= 60 and j['keyframeMinVehicles'] == j['keyframeMaxVehicles'] == 100")" = True
  # the bus carries changes: far fewer records than a record per vehicle per tick (360,000), moves among them
  check "... veh.state carries news, not the fleet every tick" \
    test "$(json "$WORK/node.json" "j['moves'] > 0 and j['maxBatchVehicles'] <= 100 and j['fullRecords'] + j['moves'] < 36000")" = True
  check "... log time is simulated time" \
    test "$(json "$WORK/node.json" "int(j['firstBatch']['logTime']) == int(j['firstBatch']['simTimeMs']) * 1000000 and j['logTimeOrdered']")" = True
  check "... the run metadata and the chunk index" \
    test "$(json "$WORK/node.json" "j['metadata'][0]['name'] == 'fleetsim.run' and j['chunkIndexes'] >= 1")" = True
  mcap_check "$WORK/live.mcap" stream >"$WORK/node-stream.json" 2>>"$WORK/node.err"
  check "@mcap/core streaming reader: every CRC valid, file complete" \
    test "$(json "$WORK/node-stream.json" "j['complete'] and j['decoded'] == j['messages']")" = True
else
  not_ok "the reference MCAP reader (npm @mcap/core) could not be installed"
fi

# ---- Replay --------------------------------------------------------------------
"$REPLAY" "$WORK/live.mcap" --verify >"$WORK/replay.out" 2>"$WORK/replay.err"
rc=$?
sed 's/^/# /' "$WORK/replay.out" "$WORK/replay.err"
check "replay --verify: identical (exit 0)" test $rc -eq 0
check "... every hash compared, live commands re-injected" grep -q "^identical: 7200 state hashes of ticks 0..1799 (4 participant(s))" "$WORK/replay.out"
check "... the three live commands re-injected" test "$(grep -c 're-injected command' "$WORK/replay.err")" -eq 3

"$TAMPER" "$WORK/live.mcap" "$WORK/hash.mcap" --done 777 vehicle-1 >/dev/null
"$REPLAY" "$WORK/hash.mcap" --verify >"$WORK/replay2.out" 2>"$WORK/replay2.err"
rc=$?
sed 's/^/# /' "$WORK/replay2.out"
check "a tampered state hash: replay fails (exit 1)" test $rc -eq 1
check "... naming tick 777" grep -q "^DIVERGED at tick 777:" "$WORK/replay2.out"
check "... and participant vehicle-1 only" \
  sh -c "grep -q 'participant vehicle-1:' '$WORK/replay2.out' && ! grep -q 'participant vehicle-0:\|participant dispatch:' '$WORK/replay2.out'"

"$TAMPER" "$WORK/live.mcap" "$WORK/cmd.mcap" --scn-param vehicles=1,2,3,9 >/dev/null
"$REPLAY" "$WORK/cmd.mcap" --verify >"$WORK/replay3.out" 2>"$WORK/replay3.err"
rc=$?
sed 's/^/# /' "$WORK/replay3.out"
check "a tampered injected command (fault on vehicle 9, not 8): replay fails" test $rc -eq 1
check "... at the fault's tick 40" grep -q "^DIVERGED at tick 40:" "$WORK/replay3.out"
check "... in the vehicle shards that host vehicles 8 and 9, not dispatch" \
  sh -c "grep -q 'participant vehicle-' '$WORK/replay3.out' && ! grep -q 'participant dispatch:' '$WORK/replay3.out'"
check "... and points at the applied events" grep -q "scenario events applied at tick 40 differ" "$WORK/replay3.out"

# Bit rot (or an edit that did not redo the CRC) in a chunk in the middle: never "identical".
chunks=$(sed -n 's/^chunks: *//p' "$WORK/info.txt")
middle=$(( (${chunks:-0} + 1) / 2 ))
check "the recording has chunks before and after a middle one ($chunks)" test "${chunks:-0}" -ge 3
"$TAMPER" "$WORK/live.mcap" "$WORK/rot.mcap" --corrupt-chunk "$middle" 2>/dev/null
"$REPLAY" "$WORK/rot.mcap" --verify >"$WORK/replay-rot.out" 2>"$WORK/replay-rot.err"
rc=$?
sed 's/^/# /' "$WORK/replay-rot.out"
check "a corrupted middle chunk: replay --verify fails as damaged (exit 4, was $rc)" test $rc -eq 4
check "... naming the chunk and its CRC" grep -q "^DAMAGED: .*chunk $middle (byte [0-9]*): chunk CRC mismatch" "$WORK/replay-rot.out"
check "... and never reporting it identical" sh -c "! grep -qi identical '$WORK/replay-rot.out'"
# A recording cut at its end (recorder killed): verified as far as it goes, with its own status.
"$TAMPER" "$WORK/live.mcap" "$WORK/cut-end.mcap" --cut $(( $(stat -c %s "$WORK/live.mcap") * 2 / 3 )) >/dev/null
"$REPLAY" "$WORK/cut-end.mcap" --verify >"$WORK/replay-cut.out" 2>"$WORK/replay-cut.err"
rc=$?
sed 's/^/# /' "$WORK/replay-cut.out"
check "a recording cut short at its end: identical as far as recorded (exit 3, was $rc)" test $rc -eq 3
check "... saying where it was cut and that later ticks were not checked" \
  grep -q "^identical as far as it was recorded: .*cut short after byte [0-9]*.*later ticks were not checked" "$WORK/replay-cut.out"

"$REPLAY" "$WORK/live.mcap" >/dev/null 2>&1
check "replay without --verify is a usage error (exit 2)" test $? -eq 2

# ---- A scenario file: embedded, so the replay needs no copy of it ------------
cat >"$WORK/scn.yaml" <<'YAML'
seed: 4
duration: 10m
start: 2028-06-01T17:00:00Z
events:
  - type: weather
    tick: 20
    zone: all
    severity: heavy
YAML
SCN_ARGS=(--scenario="$WORK/scn.yaml" --network=grid:12x12:150 --vehicles=100)
BUS=$(new_bus scn)
"$SVC/fleetsim" run --bus="$BUS" "${SCN_ARGS[@]}" --paused --quiet 2>"$WORK/scn.log" &
RUN_PID=$!
PIDS+=($RUN_PID)
wait_file "${BUS#ipc://}/tap"
# --chunk-size 4096: every keyframe (~4 KB) is over half a chunk and is written without a copy
"$SVC/fleetctl" --bus="$BUS" record "$WORK/scn.mcap" --ready-file="$WORK/scn.ready" --exit-on-end --chunk-size=4096 -- \
  "${SCN_ARGS[@]}" 2>"$WORK/scn-rec.log" &
REC_PID=$!
PIDS+=($REC_PID)
check "fleetctl record reports ready" wait_file "$WORK/scn.ready"
ctl resume >/dev/null
wait "$RUN_PID"
wait "$REC_PID"
check "fleetctl record ends with the run (exit 0)" test $? -eq 0
rm "$WORK/scn.yaml"
check "the scenario file is embedded" grep -q "attachments: 1" <("$TOOL" info "$WORK/scn.mcap")
"$REPLAY" "$WORK/scn.mcap" --verify >"$WORK/replay4.out" 2>&1
check "replay of a scenario run whose file is gone: identical" grep -Eq "^identical: [0-9]+ state hashes" "$WORK/replay4.out"
if mcap_node_ready; then
  mcap_check "$WORK/scn.mcap" indexed >"$WORK/scn-node.json" 2>&1 && mcap_check "$WORK/scn.mcap" stream >"$WORK/scn-stream.json" 2>&1
  check "@mcap/core reads keyframes written as single-message chunks (indexes and CRCs)" \
    test "$(json "$WORK/scn-node.json" "j['snapshotBatches'] >= 10 and j['keyframeMinVehicles'] == j['keyframeMaxVehicles'] == 100 and j['decoded'] == j['messages'] and j['chunkIndexes'] > j['snapshotBatches']")" = True
  check "... streaming, every CRC valid" test "$(json "$WORK/scn-stream.json" "j['complete'] and j['decoded'] == j['messages']")" = True
fi

# ---- Exports -------------------------------------------------------------------
"$SVC/fleetctl" export "$WORK/live.mcap" --timeline "$WORK/timeline.csv" --geojson "$WORK/trips.geojson" \
  --report "$WORK/report.png" >"$WORK/export.out" 2>&1
check "export (timeline, GeoJSON, report)" test $? -eq 0
sed 's/^/# /' "$WORK/export.out"
check "timeline: header, a row per state stretch of all 200 vehicles, events" python3 - "$WORK/timeline.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
states = [r for r in rows if r['kind'] == 'state']
events = [r for r in rows if r['kind'] == 'event']
assert len({r['vehicle_id'] for r in states}) == 200, len({r['vehicle_id'] for r in states})
assert any(r['state'] == 'IN_TRIP' for r in states) and events
# per vehicle, stretches follow each other without gap and sum to the recorded span
by = {}
for r in states:
    by.setdefault(r['vehicle_id'], []).append(r)
for v, rs in by.items():
    for a, b in zip(rs, rs[1:]):
        assert a['end_utc'] == b['start_utc'] and a['state'] != b['state'], (v, a, b)
    assert abs(sum(float(r['duration_s']) for r in rs) - 1799) < 1e-6, v
PY
# distances come from the vehicles' odometers: the stretches add up to what the vehicles drove
# (plus the way along the edges they were on when the recording ended)
check "timeline: distances add up to the vehicles' km driven" python3 - "$WORK/timeline.csv" "$WORK/live/summary.json" <<'PY'
import csv, json, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r['kind'] == 'state']
km = sum(float(r['distance_m']) for r in rows) / 1000
driven = sum(v['km_driven'] for k, v in json.load(open(sys.argv[2]))['results'].items() if k.startswith('vehicle-'))
print(f"# timeline {km:.2f} km, vehicles {driven:.2f} km")
assert driven > 50 and driven * 0.999 <= km <= driven * 1.03, (km, driven)
PY
check "report: a sample of the fleet at every tick" grep -q "report.png: report of 1800 ticks" "$WORK/export.out"
check "GeoJSON: trips as LineStrings of [lon, lat, 0, unix time], time increasing" python3 - "$WORK/trips.geojson" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
f = g['features']
assert g['type'] == 'FeatureCollection' and len(f) >= 50, len(f)
for x in f:
    c = x['geometry']['coordinates']
    assert x['geometry']['type'] == 'LineString' and len(c) >= 2
    assert all(len(p) == 4 and p[2] == 0 for p in c)
    assert all(a[3] < b[3] for a, b in zip(c, c[1:]))
    assert 1843491600 <= c[0][3] <= 1843491600 + 1800
PY
check "report: a 1400x1000 PNG" python3 -c "
import struct,sys; d=open('$WORK/report.png','rb').read(24)
sys.exit(0 if d[:8]==b'\x89PNG\r\n\x1a\n' and struct.unpack('>II', d[16:24])==(1400,1000) else 1)"

# ---- Play ----------------------------------------------------------------------
BUS=$(new_bus play)
start_broker "$BUS"
"$SVC/fleetctl" --bus="$BUS" echo veh.state -n 3 --timeout 120 >"$WORK/echo.out" 2>&1 &
ECHO_PID=$!
# looped until echo has seen enough: however late echo's subscription, batches keep coming
"$SVC/fleetctl" --bus="$BUS" play "$WORK/live.mcap" --speed 600 --from 10m --topics veh.,ctl.tick --loop \
  >"$WORK/play.out" 2>&1 &
PLAY_PID=$!
PIDS+=($PLAY_PID)
wait "$ECHO_PID"
kill -TERM "$PLAY_PID"
wait "$PLAY_PID"
check "play republishes the recording" sh -c "test $? -eq 0 && grep -q '^played [1-9]' '$WORK/play.out'"
check "... and fleetctl echo sees it as if live" grep -q "^--- veh.state  from vehicle-[01] " "$WORK/echo.out"
check "... from 10 minutes in" grep -q "2028-06-01T17:1" "$WORK/echo.out"
kill "$BROKER_PID" 2>/dev/null

# ---- kill -9 of the recorder mid-run ------------------------------------------
BUS=$(new_bus crash)
"$SVC/fleetsim" run --bus="$BUS" --network=grid:12x12:150 --vehicles=500 --seed=3 --duration=6h --speed=600 \
  --quiet 2>"$WORK/crash.log" &
RUN_PID=$!
PIDS+=($RUN_PID)
wait_file "${BUS#ipc://}/tap"
"$REC" --bus="$BUS" --out="$WORK/crash.mcap" --ready-file="$WORK/crash.ready" --flush-ms=200 2>/dev/null &
REC_PID=$!
PIDS+=($REC_PID)
wait_file "$WORK/crash.ready"
# killed once it has written a few hundred messages (not after a fixed time: a busy machine is slow)
for _ in $(seq 1200); do
  m=$("$TOOL" info "$WORK/crash.mcap" 2>/dev/null | sed -n 's/^messages: *//p')
  [ "${m:-0}" -gt 600 ] && break
  sleep 0.1
done
kill -9 "$REC_PID"
wait "$REC_PID" 2>/dev/null
# the run goes on: a recording played onto its bus would mix into it (its senders' names collide)
"$TOOL" play "$WORK/live.mcap" --bus="$BUS" --speed=max >/dev/null 2>"$WORK/play-live.log"; rc=$?
check "play onto a live run's bus is refused (exit $rc)" test $rc -eq 1
check "... saying a run is live there" grep -q "a run is live on $BUS" "$WORK/play-live.log"
check "... and the run goes on" kill -0 "$RUN_PID"
kill "$RUN_PID"; wait "$RUN_PID" 2>/dev/null
"$TOOL" info "$WORK/crash.mcap" >"$WORK/crash-info.txt" 2>&1
check "killed recorder: fleetctl info reads the file (exit 0)" test $? -eq 0
sed 's/^/# /' "$WORK/crash-info.txt" | head -12
check "... says it was cut short, without summary" grep -q "^index: *none: the file was cut short" "$WORK/crash-info.txt"
n=$(sed -n 's/^messages: *//p' "$WORK/crash-info.txt")
check "... and holds the ticks of the seconds it ran ($n messages)" test "${n:-0}" -gt 500
"$TOOL" recover "$WORK/crash.mcap" "$WORK/recovered.mcap" >/dev/null 2>&1
check "recover writes an indexed copy" grep -q "^index: *summary present" <("$TOOL" info "$WORK/recovered.mcap")
check "... with every message" grep -q "^messages: *$n\$" <("$TOOL" info "$WORK/recovered.mcap")
# begun mid-run: the mirror starts from the first keyframe (a simulated minute at most)
"$TOOL" export "$WORK/recovered.mcap" --timeline "$WORK/crash-timeline.csv" >"$WORK/crash-export.out" 2>&1
check "export of a recording begun mid-run: every vehicle of the run, from the keyframes" python3 - "$WORK/crash-timeline.csv" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r['kind'] == 'state']
assert len({r['vehicle_id'] for r in rows}) == 500, len({r['vehicle_id'] for r in rows})
PY
check "... the keyframes agree with the records before them" sh -c "! grep -q 'disagreed' '$WORK/crash-export.out'"
if mcap_node_ready; then
  mcap_check "$WORK/crash.mcap" stream >"$WORK/crash.json" 2>&1
  check "@mcap/core streams the cut file up to its last chunk, CRCs valid" \
    test "$(json "$WORK/crash.json" "j['decoded'] == $n and not j['complete']")" = True
  mcap_check "$WORK/recovered.mcap" indexed >"$WORK/recovered.json" 2>&1
  check "@mcap/core opens the recovered file with its index" \
    test "$(json "$WORK/recovered.json" "j['decoded'] == $n and j['vehicleBatches'] > 0")" = True
fi
"$TAMPER" "$WORK/live.mcap" "$WORK/cut.mcap" --cut 300000 >/dev/null
check "a file cut mid-chunk is read up to the chunk before" sh -c "'$TOOL' info '$WORK/cut.mcap' | grep -q 'cut short after byte'"

finish
