#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The lockstep barrier's cost per tick across hosts (docs/cluster.md "Lockstep
# over the network"): a run whose two vehicle shards and dispatch join from
# three network namespaces (veth pairs to the run's host) over tcp + CURVE,
# with 0, 0.2 and 2 ms of latency added each way on every link, against the
# same run on one host (ipc with the control socket, and tcp). Added latency is
# `tc qdisc add dev VETH root netem delay D` on both ends of each link when the
# kernel has netem, else bench/delay_relay (a user-space relay on the run's
# host holding every byte D each way; its own cost shows in the "relay 0 ms" row).
# Needs root and `ip netns`. Prints, per setting: tick wall time p50/p99, the
# barrier's overhead p50/p99 (tick wall time minus the slowest participant's
# own work: what lockstep costs), the mean tick (wall time / ticks) and
# simulated seconds per wall second. Times in us.
# Usage: bench/bench_lockstep_net.sh [BUILD_DIR] [DURATION]   (scripts/bench lockstep-net)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-bench}
duration=${2:-30m}
if [ "$(id -u)" -ne 0 ] || ! ip netns add fsbn$$a 2>/dev/null; then
  echo "skipped: needs root and \`ip netns\` (network namespaces) to put the participants on other \"hosts\""
  exit 0
fi
NS=fsbn$$
out=$(mktemp -d /tmp/fsbench.XXXXXX)
PORT=7300
RUN=(--network=grid:10x10:200 --vehicles=40 --shards=2 --seed=1 --duration="$duration" --quiet)
declare -A A_OF=([b]=10.203.1.1 [c]=10.203.2.1 [d]=10.203.3.1) HOST_IP=([b]=10.203.1.2 [c]=10.203.2.2 [d]=10.203.3.2)
RELAY=
teardown() {
  [ -n "$RELAY" ] && kill $RELAY 2>/dev/null
  for h in a b c d; do
    for p in $(ip netns pids "$NS$h" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$NS$h" 2>/dev/null
  done
  rm -rf "$out"
}
trap teardown EXIT
ip -n "${NS}a" link set lo up
for h in b c d; do
  ip netns add "$NS$h" && ip -n "$NS$h" link set lo up &&
    ip link add "${NS}a$h" netns "${NS}a" type veth peer name "${NS}$h" netns "$NS$h" &&
    ip -n "${NS}a" addr add "${A_OF[$h]}/24" dev "${NS}a$h" && ip -n "$NS$h" addr add "${HOST_IP[$h]}/24" dev "${NS}$h" &&
    ip -n "${NS}a" link set "${NS}a$h" up && ip -n "$NS$h" link set "${NS}$h" up || exit 1
done
netem=no
if ip netns exec "${NS}a" tc qdisc add dev "${NS}ab" root netem delay 0ms 2>/dev/null; then
  ip netns exec "${NS}a" tc qdisc del dev "${NS}ab" root
  netem=yes
fi

delay() { # ms: netem on both ends of every link
  for h in b c d; do
    ip netns exec "${NS}a" tc qdisc replace dev "${NS}a$h" root netem delay "${1}ms"
    ip netns exec "$NS$h" tc qdisc replace dev "${NS}$h" root netem delay "${1}ms"
  done
}

report() { # label summary.json
  python3 - "$1" "$2" <<'PY'
import json, sys
j = json.load(open(sys.argv[2])); l = j["lockstep"]
ok = "" if j["completed"] else "  (did not complete)"
mean = j["wall_seconds"] / j["ticks"] * 1e6 if j["ticks"] else 0
print(f"{sys.argv[1]:<34} {l['tick_wall_p50_us']:>8} {l['tick_wall_p99_us']:>8} {mean:>8.0f} {l['overhead_p50_us']:>8} "
      f"{l['overhead_p99_us']:>8} {j['sim_real_ratio']:>9.0f}x  {j['run_digest']}{ok}")
PY
}

# net LABEL DELAY_MS MODE: the run on host a, shards and dispatch joining from b, c, d.
net() {
  local label=$1 ms=$2 mode=$3 bind=0.0.0.0 tag=net$RANDOM
  if [ "$mode" = relay ]; then
    bind=127.0.0.1 # a relay on each link holds every byte $ms each way
    local h
    for h in b c d; do
      ip netns exec "${NS}a" "$build/bench/delay_relay" --listen "${A_OF[$h]}" --to 127.0.0.1 --ports "$PORT,4" \
        --delay-us "$(python3 -c "print(round($ms * 1000))")" &
      RELAY="$RELAY $!"
    done
    sleep 0.2
  elif [ "$mode" = netem ]; then
    delay "$ms"
  fi
  ip netns exec "${NS}a" "$build/services/fleetsim" run --bus="tcp://$bind:$PORT" --keys="$out/keys" \
    --out="$out/$tag" "${RUN[@]}" --remote=vehicle-0,vehicle-1,dispatch 2>"$out/$tag.log" &
  local run=$!
  for _ in $(seq 500); do [ -s "$out/keys/broker.pub" ] && break; sleep 0.02; done
  local h k=0 joins=()
  for h in b c d; do
    local role=(--role=vehicle --shard=$k/2)
    [ $h = d ] && role=(--role=dispatch)
    ip netns exec "$NS$h" "$build/services/fleetsim" join --bus="tcp://${A_OF[$h]}:$PORT" --keys="$out/keys" \
      --out="$out/$tag" "${RUN[@]}" "${role[@]}" 2>>"$out/$tag.$h.log" &
    joins+=($!)
    k=$((k + 1))
  done
  wait $run "${joins[@]}"
  if [ -n "$RELAY" ]; then
    kill $RELAY 2>/dev/null
    wait $RELAY 2>/dev/null
  fi
  RELAY=
  report "$label" "$out/$tag/summary.json"
}

echo "lockstep over the network: $(nproc) core(s), load $(cut -d' ' -f1-3 /proc/loadavg); run: ${RUN[*]}"
echo "added latency is each way on every link (a round trip gets twice); netem in this kernel: $netem"
printf '%-34s %8s %8s %8s %8s %8s %10s  %s\n' setting "tick p50" "p99" "mean" "ovh p50" "p99" "sim/wall" "digest"
"$build/services/fleetsim" run --bus="ipc://$out/ipc-bus" --out="$out/ipc" "${RUN[@]}" 2>/dev/null
report "one host, ipc, control socket" "$out/ipc/summary.json"
"$build/services/fleetsim" run --bus="tcp://127.0.0.1:$((PORT + 10))" --out="$out/tcp" "${RUN[@]}" 2>/dev/null
report "one host, tcp (broker path)" "$out/tcp/summary.json"
net "4 namespaces, veth, +0 ms" 0 direct
if [ $netem = yes ]; then
  for ms in 0.2 2; do net "4 namespaces, netem +$ms ms" $ms netem; done
else
  for ms in 0 0.2 2; do net "4 namespaces, relay +$ms ms" $ms relay; done
fi
