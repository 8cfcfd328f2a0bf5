#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A recording opens in Foxglove onto a map of the fleet (docs/recording.md, "Foxglove"):
#  - `fleetsim run --record` of a Columbus run writes /fleet/geojson (foxglove.GeoJSON) and
#    /fleet/center (foxglove.LocationFix), JSON messages with their JSON Schema;
#  - the reference MCAP reader (@mcap/core from npm, not fleetsim's code) decodes them: every
#    sample has one point per vehicle of the run, inside the city, every 5 simulated seconds;
#  - the derived channels change nothing else: replay --verify passes, play republishes only
#    envelopes; fs-recorder --fleet-every sets the interval or turns them off.
source "$(dirname "$0")/lib.sh"

# the Columbus extract's bounds (data/README.md)
LON0=-83.2453 LON1=-82.7876 LAT0=39.8590 LAT1=40.1118
VEH=60
fox() { timeout 300 node "$MCAP_NODE/foxglove.cjs" "$@"; }

# ---- A recorded run -------------------------------------------------------------
BUS=$(new_bus fox)
"$SVC/fleetsim" run --bus="$BUS" --network=columbus --vehicles=$VEH --seed=3 --duration=300 --speed=max --quiet \
  --record="$WORK/run.mcap" --out="$WORK/out" >"$WORK/run.log" 2>&1
check "fleetsim run --record completes" test $? -eq 0
grep "recorded" "$WORK/run.log" | sed 's/^/# /'
"$SVC/fs-rec" info "$WORK/run.mcap" >"$WORK/info.txt" 2>&1
check "fleetctl info lists /fleet/geojson as json foxglove.GeoJSON" \
  grep -Eq '^  \([0-9]+\) /fleet/geojson +[0-9]+ msgs.*\[json: foxglove.GeoJSON\]' "$WORK/info.txt"
check "... and /fleet/center as json foxglove.LocationFix" \
  grep -Eq '^  \([0-9]+\) /fleet/center +[0-9]+ msgs.*\[json: foxglove.LocationFix\]' "$WORK/info.txt"

# ---- The independent reader -----------------------------------------------------------
if mcap_node_ready; then
  fox "$WORK/run.mcap" >"$WORK/fox.json" 2>"$WORK/fox.err"
  check "@mcap/core opens the recording and decodes the Foxglove channels" test $? -eq 0
  sed 's/^/# /' "$WORK/fox.err"
  check "... /fleet/geojson: schema foxglove.GeoJSON, a JSON Schema of that title, JSON messages" \
    test "$(json "$WORK/fox.json" "j['channels']['/fleet/geojson'] | {'count': 0} == {'schema': 'foxglove.GeoJSON', 'schemaEncoding': 'jsonschema', 'messageEncoding': 'json', 'schemaTitle': 'foxglove.GeoJSON', 'count': 0}")" = True
  check "... /fleet/center: schema foxglove.LocationFix, likewise" \
    test "$(json "$WORK/fox.json" "j['channels']['/fleet/center'] | {'count': 0} == {'schema': 'foxglove.LocationFix', 'schemaEncoding': 'jsonschema', 'messageEncoding': 'json', 'schemaTitle': 'foxglove.LocationFix', 'count': 0}")" = True
  N=$(json "$WORK/fox.json" "len(j['geojson'])")
  check "... a sample every 5 simulated seconds of the 300 ($N)" \
    test "$(json "$WORK/fox.json" "59 <= len(j['geojson']) <= 61 and all(int(b['logTime']) - int(a['logTime']) == 5 * 10**9 for a, b in zip(j['geojson'], j['geojson'][1:-1]))")" = True
  check "... every sample: a FeatureCollection with one point per vehicle of the run ($VEH)" \
    test "$(json "$WORK/fox.json" "j['geojson'] and all(s['type'] == 'FeatureCollection' and s['features'] == s['points'] == $VEH and sorted(s['ids']) == list(range($VEH)) for s in j['geojson'])")" = True
  check "... WGS84 lon/lat inside Columbus ($LON0..$LON1, $LAT0..$LAT1)" \
    test "$(json "$WORK/fox.json" "j['geojson'] and all($LON0 <= s['lon'][0] and s['lon'][1] <= $LON1 and $LAT0 <= s['lat'][0] and s['lat'][1] <= $LAT1 for s in j['geojson'])")" = True
  check "... state, charge 0..1, a tooltip name and a colour on every point" \
    test "$(json "$WORK/fox.json" "j['geojson'] and all(s['socOk'] and s['named'] == $VEH and sum(s['states'].values()) == $VEH for s in j['geojson'])")" = True
  check "... vehicles move on the map (dispatch sends some to riders)" \
    test "$(json "$WORK/fox.json" "any(j['geojson'][0]['where'][k][:2] != v[:2] for k, v in j['geojson'][-1]['where'].items())")" = True
  check "... the fleet's centre: a LocationFix per sample inside the city, its spread as covariance" \
    test "$(json "$WORK/fox.json" "j['fixes'] and len(j['fixes']) == len(j['geojson']) and all($LAT0 < f['latitude'] < $LAT1 and $LON0 < f['longitude'] < $LON1 and f['covarianceType'] == 2 and f['covariance'][0] > 0 and f['sec'] * 10**9 == int(f['logTime']) for f in j['fixes'])")" = True
else
  not_ok "the reference MCAP reader (npm @mcap/core) could not be installed"
fi

# ---- The layout shipped with it -------------------------------------------------------------
LAYOUT=$SRC/tools/foxglove/fleetsim-layout.json
check "the Foxglove layout: a Map panel as the layout, no Foxglove channel of ours disabled" \
  test "$(json "$LAYOUT" "j['layout'].startswith('map!') and j['layout'] in j['configById'] and not {'/fleet/geojson', '/fleet/center'} & set(j['configById'][j['layout']].get('disabledTopics', []))")" = True

# ---- Nothing else changes --------------------------------------------------------------
"$SVC/fs-replay" "$WORK/run.mcap" --verify >"$WORK/replay.out" 2>"$WORK/replay.err"
rc=$?
sed 's/^/# /' "$WORK/replay.out"
check "replay --verify of the recording: identical (exit 0)" test $rc -eq 0
TOTAL=$(sed -n 's/^messages: *\([0-9]*\).*/\1/p' "$WORK/info.txt")
DERIVED=$(sed -n 's/^  ([0-9]*) \/fleet\/[a-z]* *\([0-9]*\) msgs.*/\1/p' "$WORK/info.txt" | paste -sd+ | bc)
DERIVED=${DERIVED:-0}
HELLOS=$(sed -n 's/^  ([0-9]*) ctl\.hello\/[^ ]* *\([0-9]*\) msgs.*/\1/p' "$WORK/info.txt" | paste -sd+ | bc)
# the recorded conductor's status and command dialogue: the playback answers for itself (docs/recording.md)
CONTROL=$(sed -n 's/^  ([0-9]*) ctl\.\(status\|cmd\|ack\) *\([0-9]*\) msgs.*/\2/p' "$WORK/info.txt" | paste -sd+ | bc)
CONTROL=${CONTROL:-0}
PBUS=$(new_bus play)
"$SVC/fs-rec" play "$WORK/run.mcap" --speed=max --bus="$PBUS" >"$WORK/play.out" 2>"$WORK/play.err"
sed 's/^/# /' "$WORK/play.out"
check "play republishes the envelopes only: $TOTAL - $DERIVED derived - $HELLOS hellos - $CONTROL status" \
  grep -q "^played $((TOTAL - DERIVED - HELLOS - CONTROL)) messages" "$WORK/play.out"

# ---- fs-recorder --fleet-every -----------------------------------------------------------
GBUS=$(new_bus grid)
"$SVC/fleetsim" run --bus="$GBUS" --network=grid:8x8:150 --vehicles=20 --seed=1 --duration=120 --paused --quiet \
  >"$WORK/grid.log" 2>&1 &
RUN_PID=$!
PIDS+=($RUN_PID)
for _ in $(seq 3000); do [ -e "${GBUS#ipc://}/tap" ] && break; sleep 0.02; done
"$SVC/fs-recorder" --bus="$GBUS" --out="$WORK/off.mcap" --ready-file="$WORK/off.ready" --exit-on-end --fleet-every=0 \
  -q 2>"$WORK/off.log" &
OFF_PID=$!
PIDS+=($OFF_PID)
"$SVC/fs-recorder" --bus="$GBUS" --out="$WORK/30.mcap" --ready-file="$WORK/30.ready" --exit-on-end --fleet-every=30 \
  -q 2>"$WORK/30.log" &
R30_PID=$!
PIDS+=($R30_PID)
for _ in $(seq 3000); do [ -e "$WORK/off.ready" ] && [ -e "$WORK/30.ready" ] && break; sleep 0.02; done
"$SVC/fleetctl" --bus="$GBUS" resume >/dev/null 2>&1
wait "$RUN_PID"
check "a grid run recorded by two recorders completes" test $? -eq 0
wait "$OFF_PID" "$R30_PID" # they leave by themselves after ctl.end (--exit-on-end)
check "--fleet-every=0: no Foxglove channel" sh -c '! "$1" info "$2" | grep -q /fleet/' _ "$SVC/fs-rec" "$WORK/off.mcap"
check "--fleet-every=30: a sample every 30 simulated seconds of 120 (4 or 5, the last at the end)" \
  sh -c 'n=$("$1" info "$2" | sed -n "s/^  ([0-9]*) \/fleet\/geojson *\([0-9]*\) msgs.*/\1/p"); echo "# $n samples"; [ "${n:-0}" -ge 4 ] && [ "$n" -le 5 ]' \
  _ "$SVC/fs-rec" "$WORK/30.mcap"
check "--fleet-every=x is refused with a clear error" \
  sh -c '"$1" --out=/dev/null --fleet-every=x 2>&1 | grep -q "fleet-every: .x. is not a number"' _ "$SVC/fs-recorder"

finish
