#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The cost of a secure tcp bus: the same lockstep run (2 vehicle shards, 8,000
# vehicles on a 40x40 grid, 1,800 one-second ticks, ~240 MB through the
# broker) over ipc and over tcp://127.0.0.1 with CURVE encryption and the ZAP
# allow-list, alternated three times; prints each wall time, the medians,
# their ratio, and checks both give the same run digest.
# Usage: bench/bench_curve.sh BUILD_DIR (scripts/bench passes it)
set -eu
B=${1:?usage: bench_curve.sh BUILD_DIR}/services
W=$(mktemp -d /tmp/fs-bench-curve.XXXXXX)
trap 'rm -rf "$W"' EXIT
"$B/fleetctl" keygen "$W/keys" --name run >/dev/null
cp "$W/keys/run.pub" "$W/allow"

free_port() {
  python3 -c '
import random, socket
for _ in range(200):
    p = random.randint(20000, 60000); socks = []
    try:
        for i in range(4):
            s = socket.socket(); s.bind(("127.0.0.1", p + i)); socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(p); break'
}

run() { # tag bus [broker args] -> prints "wall digest"
  local tag=$1 bus=$2; shift 2
  "$B/fs-broker" --bus="$bus" "$@" 2>"$W/$tag.broker.log" &
  local bp=$! vp=()
  for _ in $(seq 100); do [ -S "${bus#ipc://}/tap" ] || [ -s "$W/$tag.keys/broker.pub" ] && break; sleep 0.02; done
  local t0 t1
  t0=$(date +%s.%N)
  "$B/fs-conductor" --bus="$bus" --participants=vehicle-0:vehicle,vehicle-1:vehicle --duration=1800 --seed=2 \
    --out="$W/$tag" 2>"$W/$tag.conductor.log" &
  local cp=$!
  for s in 0 1; do
    "$B/fs-vehicle" --bus="$bus" --name="vehicle-$s" --shard=$s --shards=2 --network=grid:40x40:150 \
      --vehicles=8000 --seed=2 2>"$W/$tag.vehicle-$s.log" &
    vp+=($!)
  done
  wait "$cp"
  t1=$(date +%s.%N)
  wait "${vp[@]}"
  kill "$bp" 2>/dev/null || true
  wait "$bp" 2>/dev/null || true
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print('%.3f' % (float(sys.argv[2]) - float(sys.argv[3])), j['run_digest'], int(j['broker']['bytes_forwarded']))" \
    "$W/$tag/summary.json" "$t1" "$t0"
}

ipc_t=() curve_t=() digests=()
for i in 1 2 3; do
  read -r t d bytes < <(run "ipc$i" "ipc://$W/bus$i")
  echo "ipc        run $i: $t s  digest $d  $bytes bytes through the broker"
  ipc_t+=("$t"); digests+=("$d")
  read -r t d bytes < <(FLEETSIM_CURVE_SERVER="$W/curve$i.keys/broker.pub" FLEETSIM_CURVE_SECRET="$W/keys/run.secret" \
    run "curve$i" "tcp://127.0.0.1:$(free_port)" --allow="$W/allow" --curve-dir="$W/curve$i.keys")
  echo "tcp+CURVE  run $i: $t s  digest $d  $bytes bytes through the broker"
  curve_t+=("$t"); digests+=("$d")
done
python3 - "${ipc_t[@]}" "${curve_t[@]}" <<'PY'
import statistics, sys
v = [float(x) for x in sys.argv[1:]]
ipc, curve = statistics.median(v[:3]), statistics.median(v[3:])
print("median wall: ipc %.2f s, tcp+CURVE %.2f s, ratio %.2f" % (ipc, curve, curve / ipc))
PY
if [ "$(printf '%s\n' "${digests[@]}" | sort -u | wc -l)" = 1 ]; then
  echo "same run digest on ipc and tcp+CURVE: yes"
else
  echo "same run digest on ipc and tcp+CURVE: NO"; exit 1
fi
