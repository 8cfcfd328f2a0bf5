#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# scripts/compare-sumo on a small grid (docs/comparison.md): SUMO and fleetsim get
# the same junctions, streets, taxis and requests, and the table reads both the same
# way. Skipped where SUMO is not installed (CI does not install it: scripts/deps sumo).
source "$(dirname "$0")/lib.sh"

if ! command -v sumo >/dev/null 2>&1 || ! command -v netgenerate >/dev/null 2>&1; then
  echo "1..0 # SKIP sumo is not installed (scripts/deps sumo)"
  exit 0
fi

OUT=$WORK/cmp
python3 "$SRC/scripts/compare_sumo.py" --quick --fleetsim "$SVC/fleetsim" --out "$OUT" \
  --bus-prefix "ipc://$WORK/bus" --grid 8 --taxis 8 --requests-per-hour 90 --demand-window 1200 \
  --duration 2400 --seed 3 >"$WORK/table.md" 2>"$WORK/compare.log"; rc=$?
check "compare-sumo runs (exit $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { sed 's/^/# /' "$WORK/compare.log"; finish; exit; }
sed 's/^/# /' "$WORK/table.md"
check "the table has a SUMO and a fleetsim row" \
  sh -c "grep -q '^| SUMO 1.15, greedy' \"$WORK/table.md\" && grep -q '^| fleetsim, greedy' \"$WORK/table.md\""

check "fleetsim's nodes are SUMO's junctions, at the same places" python3 - "$OUT" <<'PY'
import csv, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
sumo = sorted((round(float(j.get("x")), 2), round(float(j.get("y")), 2))
              for j in ET.parse(f"{d}/grid-rbl.net.xml").getroot().iter("junction") if j.get("type") != "internal")
fs = sorted((round(float(r["x"]), 2), round(float(r["y"]), 2)) for r in csv.DictReader(open(f"{d}/nodes.csv")))
sys.exit(0 if sumo == fs and len(fs) == 64 else 1)
PY
check "fleetsim's streets are SUMO's, 150 m at 13.89 m/s each way" python3 - "$OUT" <<'PY'
import csv, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
edges = [e for e in ET.parse(f"{d}/grid-rbl.net.xml").getroot().iter("edge") if not e.get("function")]
rows = list(csv.DictReader(open(f"{d}/edges.csv")))
ok = sorted(r["name"] for r in rows) == sorted(e.get("id") for e in edges) and len(rows) == 2 * 2 * 8 * 7
ok = ok and all(float(r["length_m"]) == 150 and float(r["speed_mps"]) == 13.89 for r in rows)
sys.exit(0 if ok else 1)
PY

R=$OUT/results.json
S="j['SUMO 1.15, greedy, right-before-left junctions']"
F="j['fleetsim, greedy, junctions only']"
diag "requests $(json "$R" "$S['requests']") / $(json "$R" "$F['requests']"), ride km $(json "$R" "round($S['ride_km'], 3)") / $(json "$R" "round($F['ride_km'], 3)")"
check "both simulators got the same requests" \
  test "$(json "$R" "$S['requests'] == $F['requests'] == $(($(wc -l <"$OUT/demand.csv") - 1)) > 10")" = True
check "both served every rider" test "$(json "$R" "$S['served'] == $S['requests'] and $F['served'] == $F['requests']")" = True
check "the same rides measure the same length in both (within 20 %: fleetsim may stop on the other side of a two-way street)" \
  test "$(json "$R" "abs($S['ride_km'] / $F['ride_km'] - 1) < 0.20")" = True
check "rides are no faster than the speed limit in either, and not stuck" \
  test "$(json "$R" "all(15 < r['ride_kmh'] <= 50.01 for r in ($S, $F))")" = True
check "both drove empty to pickups (empty-km share between 0 and 1)" \
  test "$(json "$R" "all(0 < r['empty_share'] < 1 for r in ($S, $F))")" = True
finish
