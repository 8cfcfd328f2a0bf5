#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `fleetsim run` with the real processes: same seed same digest, shard count
# does not change results, a killed child stops the run within 10 s naming it
# and leaving no process behind, Ctrl-C ends the run cleanly.
source "$(dirname "$0")/lib.sh"

FLEETSIM=$SVC/fleetsim
NET=grid:12x12:200   # small and fast; the Atlanta default is exercised in test_default_run

digest() { json "$1/summary.json" "j['run_digest']"; }

sim() { # tag args... (runs to completion)
  local tag=$1; shift
  local bus; bus=$(new_bus "$tag")
  "$FLEETSIM" run --quiet --bus="$bus" --out="$WORK/$tag" "$@" 2>"$WORK/$tag.log"
}

check "seed 3 runs" sim s3a --network=$NET --seed=3 --duration=20m --vehicles=60 --phase=data-collection
check "seed 3 again" sim s3b --network=$NET --seed=3 --duration=20m --vehicles=60 --phase=data-collection
check "seed 4 runs" sim s4 --network=$NET --seed=4 --duration=20m --vehicles=60 --phase=data-collection
check "same seed, same run digest" test "$(digest "$WORK/s3a")" = "$(digest "$WORK/s3b")"
check "different seed, different run digest" test "$(digest "$WORK/s3a")" != "$(digest "$WORK/s4")"
check "vehicles drove" python3 -c "import json,sys; j=json.load(open('$WORK/s3a/summary.json')); sys.exit(0 if sum(r.get('km_driven',0) for r in j['results'].values()) > 100 else 1)"
check "2 shards run" sim sh2 --network=$NET --seed=3 --duration=20m --vehicles=60 --phase=data-collection --shards=2
check "4 shards run" sim sh4 --network=$NET --seed=3 --duration=20m --vehicles=60 --phase=data-collection --shards=4
check "--shards 1, 2 and 4 give the same run digest" \
  test "$(digest "$WORK/s3a")" = "$(digest "$WORK/sh2")" -a "$(digest "$WORK/s3a")" = "$(digest "$WORK/sh4")"
check "4 shards, lockstep through the broker" sim sh4bus --network=$NET --seed=3 --duration=20m --vehicles=60 \
  --phase=data-collection --shards=4 --control=bus
check "control socket and bus give the same run digest (real services)" \
  test "$(digest "$WORK/sh4")" = "$(digest "$WORK/sh4bus")"
check "the default run's lockstep was on the control socket, --control=bus's was not" \
  test "$(json "$WORK/sh4/summary.json" "j['lockstep']['on_control_socket'] == len(j['participants']) - 1 >= 5"):$(json "$WORK/sh4bus/summary.json" "j['lockstep']['on_control_socket']")" = "True:0"

# A long run to interrupt: paced so it is still going when we act.
start_long() { # tag
  LONG_BUS=$(new_bus "$1")
  "$FLEETSIM" run --quiet --bus="$LONG_BUS" --out="$WORK/$1" --network=$NET --vehicles=60 --shards=2 \
    --duration=10h --speed=200 2>"$WORK/$1.log" &
  LAUNCHER=$!
  PIDS+=($LAUNCHER)
  for _ in $(seq 1200); do
    # running, and past tick 0 in the status the launcher reads (a kill at tick 0 has no tick to name)
    "$SVC/fleetctl" --bus="$LONG_BUS" status 2>/dev/null | grep -q '^tick *[1-9]' && return 0
    sleep 0.05
  done
  return 1
}

# The processes of a run are recognised by their bus address on the command line.
none_left() { # bus
  sleep 0.1
  [ -z "$(pgrep -f -- "--bus=$1" || true)" ]
}

kill_child() { # tag pattern expected-name
  local tag=$1 pattern=$2 name=$3
  start_long "$tag" || { not_ok "$tag: run did not start"; return; }
  local pid; pid=$(pgrep -af -- "--bus=$LONG_BUS" | grep -E -- "$pattern" | awk '{print $1}' | head -1)
  if [ -z "$pid" ]; then not_ok "$tag: no $name process found"; return; fi
  local t0; t0=$(date +%s%N)
  kill -9 "$pid"
  wait "$LAUNCHER"; local rc=$?
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  diag "$name killed: launcher exited $rc after $ms ms"
  check "$tag: launcher exits non-zero" test "$rc" -ne 0
  # the documented bound (4 s for the conductor, 2 s for exits, 3 s grace), not a speed: a busy machine is slow
  check "$tag: within the bound of 10 s ($ms ms)" test "$ms" -lt 10000
  check "$tag: the message names $name and the signal" grep -q "$name (pid $pid) was killed by signal 9" "$WORK/$tag.log"
  check "$tag: no fleetsim process left" none_left "$LONG_BUS"
  if [ "$name" != conductor ]; then
    check "$tag: what ran is kept: summary.json marked aborted" \
      test "$(json "$WORK/$tag/summary.json" "j['completed'], j['end_reason'], j['ticks'] > 0")" = "False aborted: a process of the run died True"
    check "$tag: ... with the results of the others" \
      test "$(json "$WORK/$tag/summary.json" "'dispatch' in j['results'] and 'vehicle-0' in j['results']")" = True
  else
    check "$tag: nobody else could: the launcher writes summary.json, marked aborted, naming why" \
      test "$(json "$WORK/$tag/summary.json" "j['completed'], j['end_reason'], j['ticks'] > 0")" = "False aborted: the conductor was killed by signal 9 (Killed) True"
  fi
  check "$tag: dispatch's outputs are written" test -s "$WORK/$tag/trips.csv"
}

kill_child kv "fs-vehicle.*--name=vehicle-1" vehicle-1
kill_child kp "fs-production" production
kill_child kc "fs-conductor" conductor
kill_child kb "fs-broker" broker

start_long ctrlc || not_ok "ctrl-c: run did not start"
kill -INT "$LAUNCHER"
wait "$LAUNCHER"; rc=$?
check "Ctrl-C: exit status 130 ($rc)" test "$rc" -eq 130
check "Ctrl-C: summary written, marked incomplete" test "$(json "$WORK/ctrlc/summary.json" "j['completed'], j['end_reason']")" = "False interrupted"
check "Ctrl-C: every participant said bye" test "$(json "$WORK/ctrlc/summary.json" "all(p.get('said_bye', True) for p in j['participants'].values())")" = True
check "Ctrl-C: no fleetsim process left" none_left "$LONG_BUS"

bus=$(new_bus busy)
"$FLEETSIM" run --quiet --bus="$bus" --network=$NET --vehicles=10 --duration=10h --speed=10 2>/dev/null &
first=$!; PIDS+=($first)
for _ in $(seq 1200); do [ -e "${bus#ipc://}/lock" ] && break; sleep 0.05; done # the first run holds the bus
"$FLEETSIM" run --quiet --bus="$bus" --network=$NET --vehicles=10 --duration=1m 2>"$WORK/busy.log"; rc=$?
check "a second run on a busy bus is refused" test "$rc" -ne 0
check "... saying why" grep -q "already running on $bus" "$WORK/busy.log"
kill -TERM "$first"; wait "$first"

"$FLEETSIM" run --network=/nonexistent.osm.pbf --duration=1m 2>"$WORK/badnet.log"; rc=$?
check "a missing network file is a clear error (exit $rc)" grep -q "nonexistent.osm.pbf" "$WORK/badnet.log"
printf 'id,x,y\n0,0,0\n1,500,0\n2,1000,0\n' >"$WORK/oneway-nodes.csv"
printf 'from,to,length_m,speed_mps,lanes\n0,1,500,10,1\n1,2,500,10,1\n' >"$WORK/oneway-edges.csv"
timeout 60 "$FLEETSIM" run --quiet --bus="$(new_bus oneway)" --network="csv:$WORK/oneway-nodes.csv,$WORK/oneway-edges.csv" \
  --vehicles=3 --duration=1m 2>"$WORK/oneway.log"; rc=$?
check "a network of one-way roads only is refused (exit $rc)" test "$rc" -ne 0
check "... naming the network's files and why" \
  grep -q "oneway-edges.csv: no road leads from any node and back to it" "$WORK/oneway.log"
"$FLEETSIM" run --duration=soon 2>"$WORK/baddur.log"; rc=$?
check "a bad --duration is a usage error (exit $rc)" test "$rc" -eq 2
# Dispatch keeps its mirror from the vehicles' news: keyframes are for observers only.
check "a run without keyframes" sim nokf --network=$NET --seed=3 --duration=20m --vehicles=60 --keyframe-every=0
check "a run with a keyframe every second" sim kf1s --network=$NET --seed=3 --duration=20m --vehicles=60 \
  --keyframe-every=1s
check "without keyframes dispatch still serves riders" \
  test "$(json "$WORK/nokf/summary.json" "j['results']['dispatch']['served'] > 0")" = True
check "keyframes do not change the run: same digest with none and one every second" \
  test "$(digest "$WORK/nokf")" = "$(digest "$WORK/kf1s")"
# command-line values are range-checked like the file's, before anything starts
timeout 20 "$FLEETSIM" run --duration=1e30 --bus="$(new_bus huge)" 2>"$WORK/hugedur.log"; rc=$?
check "--duration 1e30 is refused up front (exit $rc)" test "$rc" -eq 2
check "... naming the limit" grep -q "1 ms to 100 years" "$WORK/hugedur.log"
timeout 20 "$FLEETSIM" run --shards=1000 --bus="$(new_bus manyshards)" 2>"$WORK/manyshards.log"; rc=$?
check "--shards 1000 is refused up front (exit $rc)" sh -c "test $rc -eq 2 && grep -q '1..256' '$WORK/manyshards.log'"
timeout 20 "$FLEETSIM" run --shards=8 --vehicles=5 --bus="$(new_bus fewcars)" 2>"$WORK/fewcars.log"; rc=$?
check "--shards beyond the fleet is refused up front (exit $rc)" \
  sh -c "test $rc -eq 2 && grep -q 'more vehicle processes than vehicles (5)' '$WORK/fewcars.log'"
# scenario files that cost more than they are worth: refused where they pass a documented limit
python3 -c "d = 200000; open('$WORK/nested.yaml', 'w').write('seed: 1\nevents: ' + '[' * d + ']' * d + '\n')"
timeout 20 "$FLEETSIM" run --scenario="$WORK/nested.yaml" --bus="$(new_bus nested)" 2>"$WORK/nested.log"; rc=$?
check "a 400 KB file of nested lists is refused at once (exit $rc)" test "$rc" -eq 2
check "... at file:line:column, naming the nesting limit" grep -q "nested.yaml:2:40: nested more than 32 deep" "$WORK/nested.log"
python3 -c "open('$WORK/alias.yaml', 'w').write('events:\n  - &e {type: weather, at: 1s, zone: all, severity: light}\n' + '  - *e\n' * 99999)"
timeout 20 "$FLEETSIM" run --scenario="$WORK/alias.yaml" --bus="$(new_bus alias)" 2>"$WORK/alias.log"; rc=$?
check "100,000 events sharing one alias are refused at once (exit $rc)" test "$rc" -eq 2
check "... at the first event over the limit" grep -q "alias.yaml:10002:5: more than 10000 values in one list" "$WORK/alias.log"
# A tcp bus: CURVE with keys the launcher makes for the run; operators by --allow.
"$SVC/fleetctl" keygen "$WORK/keys" --name ops >/dev/null 2>&1
PORT=$((20000 + $$ % 20000))
"$FLEETSIM" run --quiet --bus="tcp://127.0.0.1:$PORT" --allow="$WORK/keys/ops.pub" --out="$WORK/tcp" \
  --network=$NET --vehicles=10 --duration=10h --speed=20 2>"$WORK/tcp.log" &
TCP_RUN=$!
PIDS+=($TCP_RUN)
# the launcher names its key directory once everything is started
for _ in $(seq 1200); do grep -q 'FLEETSIM_CURVE_SERVER=/tmp/fleetsim-keys-' "$WORK/tcp.log" && break; sleep 0.05; done
"$SVC/fleetctl" --bus="tcp://127.0.0.1:$PORT" pause >/dev/null 2>&1; rc=$?
check "tcp: a client without a listed key cannot pause the run" test "$rc" -ne 0
KEYDIR=$(grep -o '/tmp/fleetsim-keys-[A-Za-z0-9]*' "$WORK/tcp.log" | head -1)
check "tcp: the launcher says where the broker's key is" test -n "$KEYDIR"
FLEETSIM_CURVE_SERVER="$KEYDIR/broker.pub" FLEETSIM_CURVE_SECRET="$WORK/keys/ops.secret" \
  "$SVC/fleetctl" --bus="tcp://127.0.0.1:$PORT" stop >/dev/null 2>&1; rc=$?
check "tcp: a listed operator key can stop it" test "$rc" -eq 0
wait "$TCP_RUN"; rc=$?
check "tcp: the run ends cleanly, stopped by the operator" test "$rc:$(json "$WORK/tcp/summary.json" "j['end_reason'][:10]")" = "0:stopped by"
check "tcp: the refusal is counted" test "$(json "$WORK/tcp/summary.json" "j['broker'].get('auth_handshake_failed', 0) + j['broker'].get('auth_denied', 0) > 0")" = True
check "tcp: the run's keys are removed" test ! -e "$KEYDIR"

check "the default scenario file runs, flags override it" sim scn --scenario="$SRC/examples/default.yaml" --duration=3m --vehicles=30
check "... with the file's seed and start, the flag's duration" test "$(json "$WORK/scn/summary.json" "j['seed'], j['start'], j['ticks']")" = "1 2028-06-01T12:00:00Z 180"
printf 'seed: 5\nfleet:\n  size: lots\n' >"$WORK/bad.yaml"
"$FLEETSIM" run --scenario="$WORK/bad.yaml" 2>"$WORK/badscn.log"; rc=$?
check "a broken scenario stops before anything starts (exit $rc)" test "$rc" -eq 2
check "... naming file:line:column" grep -q "bad.yaml:3:" "$WORK/badscn.log"
finish
