#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Vehicle-node process benchmark: the real processes (`fleetsim run`) on the
# Atlanta network, every vehicle driving all the time (data-collection phase:
# mapping drives back to back, the busiest a vehicle node gets), one simulated
# hour at full speed. Reports wall time per simulated hour and memory per vehicle.
# Usage: bench/bench_vehicle_node.sh [BUILD_DIR] [FLEET_SIZES...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-bench}
shift || true
sizes=${*:-10000 100000}
out=$(mktemp -d /tmp/fsbench.XXXXXX)
trap 'rm -rf "$out"' EXIT
printf '%-9s %6s %12s %14s %16s %14s %12s\n' vehicles shards "wall s/sim h" "x real time" "fleet B/vehicle" "RSS B/vehicle" "lockstep p50"
for n in $sizes; do
  for shards in 1 2; do
    "$build/services/fleetsim" run --quiet --bus="ipc://$out/bus" --out="$out/$n-$shards" --vehicles="$n" \
      --shards="$shards" --duration=1h --phase=data-collection --seed=1 2>/dev/null
    python3 - "$out/$n-$shards/summary.json" "$n" "$shards" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); n = int(sys.argv[2]); shards = int(sys.argv[3])
r = [v for k, v in j["results"].items() if k.startswith("vehicle-")]
fleet = sum(x["memory_bytes_per_vehicle"] * x["vehicles"] for x in r) / n
rss = sum(x["peak_rss_bytes"] for x in r) / n
wall = j["wall_seconds"]; sim_h = j["simulated_seconds"] / 3600
print(f"{n:<9} {shards:>6} {wall / sim_h:>12.1f} {3600 * sim_h / wall:>14.1f} {fleet:>16.0f} {rss:>14.0f} {j['lockstep']['tick_wall_p50_us']:>10} us")
PY
  done
done
