#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One run on four "hosts": network namespaces joined by veth pairs, over tcp +
# CURVE. Host a runs `fleetsim run --remote ...` (broker, conductor,
# production); vehicle-0, vehicle-1 and dispatch join from hosts b, c and d
# with `fleetsim join`. Checked: the same run digest as the same seed on one
# host with ipc; participants without the run's key or with a key not allowed
# are refused and counted; killing the remote vehicle-1, and separately
# deleting host c's link, each stop the run within 5 s with an error naming
# vehicle-1 and its address; nothing is left running in any namespace.
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "1..0 # SKIP needs root to make network namespaces (run as root, as CI does)"
  exit 0
fi
NS=fsmh$$
if ! ip netns add "${NS}a" 2>/dev/null; then
  echo "1..0 # SKIP \`ip netns\` is not available here (iproute2, and a kernel with network namespaces)"
  exit 0
fi

FLEETSIM=$SVC/fleetsim
RUN=(--network=grid:10x10:200 --vehicles=40 --shards=2 --seed=7 --phase=driverless)
PORT=7100
declare -A A_OF=([b]=10.201.1.1 [c]=10.201.2.1 [d]=10.201.3.1) HOST_IP=([b]=10.201.1.2 [c]=10.201.2.2 [d]=10.201.3.2)

# pids_on HOST PATTERN: the processes in host HOST's namespace whose command line matches. pgrep
# alone, even run inside the namespace, sees every process of the machine (a network namespace
# does not hide processes): another test's vehicle-1 would match too.
pids_on() { pgrep -f -- "$2" | grep -xFf <(ip netns pids "$NS$1") || true; }

teardown() {
  for h in a b c d; do
    for p in $(ip netns pids "$NS$h" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$NS$h" 2>/dev/null
  done
  cleanup
}
trap teardown EXIT

link() { # host: a veth pair between host a and it, a /24 of its own
  local h=$1
  ip link add "${NS}a$h" netns "${NS}a" type veth peer name "${NS}$h" netns "$NS$h" &&
    ip -n "${NS}a" addr add "${A_OF[$h]}/24" dev "${NS}a$h" &&
    ip -n "$NS$h" addr add "${HOST_IP[$h]}/24" dev "${NS}$h" &&
    ip -n "${NS}a" link set "${NS}a$h" up && ip -n "$NS$h" link set "${NS}$h" up
}
setup() {
  ip -n "${NS}a" link set lo up || return 1
  for h in b c d; do
    ip netns add "$NS$h" && ip -n "$NS$h" link set lo up && link "$h" || return 1
  done
}
check "four namespaces (hosts a-d), host a linked to each by a veth pair" setup
on() { local h=$1; shift; ip netns exec "$NS$h" "$@"; }
left() { for h in a b c d; do ip netns pids "$NS$h"; done | wc -l; }

"$SVC/fleetctl" keygen "$WORK/other" --name intruder >/dev/null 2>&1

# The reference: the same seed on one host, ipc, control socket.
"$FLEETSIM" run --quiet --bus="$(new_bus ref)" --out="$WORK/ref" "${RUN[@]}" --duration=30m 2>"$WORK/ref.log"
check "reference run on one host (ipc)" test -s "$WORK/ref/summary.json"

start_run() { # tag duration [run args...]: host a, waiting for its three remote participants
  local tag=$1 duration=$2; shift 2
  on a "$FLEETSIM" run --quiet --bus="tcp://0.0.0.0:$PORT" --keys="$WORK/keys" --out="$WORK/$tag" "${RUN[@]}" \
    --duration="$duration" --remote=vehicle-0,vehicle-1,dispatch --ready-timeout=60 "$@" 2>"$WORK/$tag.log" &
  RUN_PID=$!
  PIDS+=($RUN_PID)
  for _ in $(seq 500); do [ -s "$WORK/keys/broker.pub" ] && return 0; sleep 0.02; done
  return 1
}
join() { # tag host duration participant-args...: in the background, as a user on that host would
  local tag=$1 h=$2 duration=$3; shift 3
  on "$h" "$FLEETSIM" join --bus="tcp://${A_OF[$h]}:$PORT" --out="$WORK/$tag" "${RUN[@]}" --duration="$duration" \
    "$@" 2>>"$WORK/$tag.$h.log" &
  PIDS+=($!)
}
join_all() { # tag duration [extra join args]
  local tag=$1 duration=$2; shift 2
  join "$tag" b "$duration" --keys="$WORK/keys" --role=vehicle --shard=0/2 "$@"
  join "$tag" c "$duration" --keys="$WORK/keys" --role=vehicle --shard=1/2 "$@"
  JOIN_C=$!
  join "$tag" d "$duration" --keys="$WORK/keys" --role=dispatch "$@"
}

# 1. The run on four hosts, after two refused attempts to join it.
check "host a starts the run and waits" start_run net 30m
on c "$FLEETSIM" join --bus="tcp://${A_OF[c]}:$PORT" --key="$WORK/other/intruder.secret" \
  --broker-key="$WORK/keys/broker.pub" "${RUN[@]}" --duration=30m --role=vehicle --shard=1/2 >"$WORK/intruder.out" 2>&1
check "a participant with a key not allowed is refused (exit 1)" test $? -eq 1
check "... and told so" grep -q "the broker refused our CURVE key (not on the run's allow-list)" "$WORK/intruder.out"
on c env FLEETSIM_CURVE_SERVER= FLEETSIM_CURVE_SECRET= "$SVC/fs-vehicle" --bus="tcp://${A_OF[c]}:$PORT" \
  --name=vehicle-1 --network=grid:10x10:200 --vehicles=40 --shard=1 --shards=2 --seed=7 >"$WORK/nokey.out" 2>&1
check "a participant without the run's key (no CURVE) is refused (exit 1)" test $? -eq 1
check "... and told so" grep -q "the security handshake failed" "$WORK/nokey.out"
join_all net 30m
wait "$RUN_PID"
check "the run on four hosts completes (exit 0)" test $? -eq 0
check "its lockstep ran on tcp through the broker" \
  test "$(json "$WORK/net/summary.json" "j['lockstep']['on_control_socket']")" = 0
check "same run digest as the same seed on one host with ipc" \
  test "$(json "$WORK/net/summary.json" "j['run_digest']")" = "$(json "$WORK/ref/summary.json" "j['run_digest']")"
check "... and the same results (dispatch's, from host d)" \
  test "$(json "$WORK/net/summary.json" "j['results']['dispatch']")" = "$(json "$WORK/ref/summary.json" "j['results']['dispatch']")"
check "the broker counted the refused key" test "$(json "$WORK/net/summary.json" "int(j['broker']['auth_denied'])")" -ge 1
check "... and the client without CURVE" \
  test "$(json "$WORK/net/summary.json" "int(j['broker']['auth_handshake_failed'])")" -ge 1
sleep 0.5
check "nothing left running in any namespace" test "$(left)" = 0

# A run that cannot end by itself before we act: paced, 10 simulated hours.
status_a() { on a env FLEETSIM_CURVE_SECRET="$WORK/keys/run.secret" FLEETSIM_CURVE_SERVER="$WORK/keys/broker.pub" \
  "$SVC/fleetctl" --bus="tcp://127.0.0.1:$PORT" status 2>/dev/null; }
wait_ticking() { # until the conductor reports tick 20 or more
  for _ in $(seq 300); do status_a | grep -qE "^tick +([2-9][0-9]|[0-9]{3,}) " && return 0; sleep 0.1; done
  return 1
}
stopped_within() { # seconds: host a's launcher ended that soon after $T0 (ms)
  local limit=$1
  for _ in $(seq $((limit * 50 + 50))); do
    kill -0 "$RUN_PID" 2>/dev/null || break
    sleep 0.02
  done
  wait "$RUN_PID"
  RUN_RC=$?
  local took=$(($(date +%s%3N) - T0))
  diag "the run stopped ${took} ms after the fault (exit $RUN_RC)"
  [ "$took" -le $((limit * 1000)) ]
}
names_lost() { # tag: the error names vehicle-1 and host c's address, and the summary keeps it
  grep -qE "vehicle-1 at ${HOST_IP[c]//./\\.}:[0-9]+ was lost" "$WORK/$1.log" &&
    json "$WORK/$1/summary.json" "j['completed'] is False and 'vehicle-1 at ${HOST_IP[c]}:' in j['end_reason'] and j['ticks'] > 0 and 'dispatch' in j['results']" |
    grep -qx True
}
none_left() { # after a fault, every process of every namespace must end by itself soon
  for _ in $(seq 250); do [ "$(left)" = 0 ] && return 0; sleep 0.02; done
  diag "still running: $(for h in a b c d; do ip netns pids "$NS$h" | xargs -r ps -o comm= -p; done | tr '\n' ' ')"
  return 1
}

# 2. A remote shard lost before tick 0 (the others not there yet) also stops the run, naming it.
ready_c() { for _ in $(seq 300); do status_a | grep -qE "^vehicle-1 +vehicle +yes " && return 0; sleep 0.1; done; return 1; }
start_run early 10h
join early c 10h --keys="$WORK/keys" --role=vehicle --shard=1/2
check "run 1b waits, vehicle-1 ready on host c" ready_c
kill -9 $(pids_on c "fs-vehicle .*--name=vehicle-1 ")
T0=$(date +%s%3N)
check "killing vehicle-1 before tick 0 stops the run within 5 s" stopped_within 5
check "... exit status 1, summary.json: lost before tick 0, the others never ready" \
  test "$RUN_RC:$(json "$WORK/early/summary.json" "j['not_answered']['vehicle-1'].startswith('lost at ${HOST_IP[c]}:') and j['not_answered']['vehicle-1'].endswith('before tick 0') and j['not_answered']['vehicle-0'] == 'never ready'")" = 1:True

# 3. Killing the remote shard's process.
start_run kill 10h --speed=200
join_all kill 10h
check "run 2 is ticking on four hosts" wait_ticking
VICTIM=$(pids_on c "fs-vehicle .*--name=vehicle-1 ")
diag "vehicle-1 on host c: pid ${VICTIM:-none}"
kill -9 $VICTIM
T0=$(date +%s%3N)
check "killing vehicle-1's process on host c stops the run within 5 s" stopped_within 5
check "... exit status 1" test "$RUN_RC" -eq 1
check "... the error names vehicle-1 and its address; summary.json incomplete, results kept" names_lost kill
check "... nothing left running in any namespace" none_left

# 4. Deleting host c's link: no connection closes, the heartbeats stop.
start_run link 10h --speed=200
join_all link 10h
check "run 3 is ticking on four hosts" wait_ticking
ip -n "${NS}a" link del "${NS}ac"
T0=$(date +%s%3N)
check "deleting host c's link stops the run within 5 s" stopped_within 5
check "... exit status 1" test "$RUN_RC" -eq 1
check "... the error names vehicle-1 and its address; summary.json incomplete, results kept" names_lost link
check "... nothing left running in any namespace" none_left
check "... vehicle-1, cut off on host c, lost the bus and exited by itself" \
  grep -q "vehicle-1: lost the bus tcp://${A_OF[c]}:$PORT" "$WORK/link.c.log"
finish
