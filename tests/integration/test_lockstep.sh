#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Lockstep over the real broker and conductor with real participant processes:
# every message of tick n is applied at tick n+1 in (tick, sender, seq) order,
# nothing is lost, and the run digest depends on the seed and nothing else.
source "$(dirname "$0")/lib.sh"

# run TAG SEED [CONTROL [BATCH [DURATION]]] -> $WORK/TAG/summary.json
# CONTROL: socket (Tick/TickDone on the conductor's control socket), bus, or
# mixed (gamma, like a participant that cannot use the socket, stays on the bus).
# BATCH: events per message; large ones reach peers through the broker well
# after the Tick on the control socket, so the participants must wait for them.
run() {
  local tag=$1 seed=$2 control=${3:-socket} batch=${4:-1} duration=${5:-300} bus gamma_path=() python=""
  [ "$control" = mixed ] && { control=socket; gamma_path=(--bus-only); }
  [ "$control" = python ] && { control=socket; python=1; }
  bus=$(new_bus "$tag")
  start_broker "$bus" || return 1
  local bpid=$BROKER_PID
  # hang guards, not speed limits: an ASan build on a busy machine is many times slower
  timeout 900 "$SVC/fs-conductor" --bus="$bus" --participants=alpha:model,beta:model,gamma:other --ready-timeout=300 \
    --duration="$duration" --seed="$seed" --control="$control" --out="$WORK/$tag" 2>"$WORK/$tag/conductor.log" &
  local cpid=$!
  for n in alpha beta; do
    "$TESTBIN/fs-test-participant" --bus="$bus" --name=$n --role=model --seed="$seed" --publish=4 --batch="$batch" &
    PIDS+=($!)
  done
  if [ -n "$python" ]; then
    /usr/bin/python3 "$SRC/examples/python/lockstep_participant.py" --bus="$bus" --name=gamma --role=other \
      --seed="$seed" --gen="$WORK/gen" 2>"$WORK/$tag/gamma.log" &
  else
    "$TESTBIN/fs-test-participant" --bus="$bus" --name=gamma --role=other --seed="$seed" --publish=2 --batch="$batch" \
      ${gamma_path[@]+"${gamma_path[@]}"} &
  fi
  PIDS+=($!)
  end_run_of "$bpid" "$cpid"
}

check "run completes (seed 7)" run a 7
S=$WORK/a/summary.json
check "summary says completed, 300 ticks" test "$(json "$S" "j['completed'] and j['ticks']")" = 300
check "no gaps, no drops" test "$(json "$S" "j['totals']['gaps'] + j['totals']['dropped']")" = 0
check "every participant said bye" test "$(json "$S" "all(p.get('said_bye', True) for p in j['participants'].values())")" = True
# alpha receives beta's 4 and gamma's 2 per tick for ticks 0..298, applied at 1..299,
# plus what the last tick produced, applied at End: 6 per tick for all 300 ticks.
check "alpha applied every message of its peers" test "$(json "$S" "int(j['results']['alpha']['applied'])")" = 1800
check "gamma applied every message of its peers" test "$(json "$S" "int(j['results']['gamma']['applied'])")" = 2400
check "no message applied out of tick or order" test "$(json "$S" "sum(int(r['order_errors']) for r in j['results'].values())")" = 0
check "lockstep timing recorded" test "$(json "$S" "j['lockstep']['ticks']")" = 300
check "every participant on the control socket" test "$(json "$S" "j['lockstep']['on_control_socket']")" = 3

check "same seed again" run b 7
check "same seed, same digest" test "$(json "$WORK/a/summary.json" "j['run_digest']")" = "$(json "$WORK/b/summary.json" "j['run_digest']")"
check "another seed" run c 8
check "different seed, different digest" test "$(json "$WORK/a/summary.json" "j['run_digest']")" != "$(json "$WORK/c/summary.json" "j['run_digest']")"

# The control socket outruns the broker: with 40,000-event messages (about
# 0.5 MB each, 10 per tick) a Tick arrives long before the data it follows,
# and the watermarks in it must hold every participant back until the data
# is there. Same seed, same digest, whichever path the lockstep takes.
check "heavy publishers, control socket" run hs 7 socket 40000 40
check "heavy publishers over the bus only" run hb 7 bus 40000 40
check "bus-only run used no control socket" test "$(json "$WORK/hb/summary.json" "j['lockstep']['on_control_socket']")" = 0
check "heavy: every message applied, in order (control socket)" \
  test "$(json "$WORK/hs/summary.json" "[int(j['results'][n]['applied']) for n in ('alpha', 'beta', 'gamma')] + [sum(int(r['order_errors']) for r in j['results'].values())]")" = "[240, 240, 320, 0]"
check "heavy: Ticks overtook their data and participants waited for it" \
  test "$(json "$WORK/hs/summary.json" "int(sum(j['participants'][n]['input_waits'] for n in ('alpha', 'beta', 'gamma')) > 0)")" = 1
check "heavy: control socket and bus give the same digest" \
  test "$(json "$WORK/hs/summary.json" "j['run_digest']")" = "$(json "$WORK/hb/summary.json" "j['run_digest']")"
check "heavy publishers, gamma on the bus and the others on the control socket" run hm 7 mixed 40000 40
check "mixed run: two participants on the control socket" \
  test "$(json "$WORK/hm/summary.json" "j['lockstep']['on_control_socket']")" = 2
check "mixed run: same digest as on the control socket alone" \
  test "$(json "$WORK/hs/summary.json" "j['run_digest']")" = "$(json "$WORK/hm/summary.json" "j['run_digest']")"
check "mixed run: the conductor's own TickDone copies on the bus are not taken for forgeries" \
  test "$(json "$WORK/hm/summary.json" "j['lockstep']['forged_done_refused']")" = 0
check "mixed run: every message applied, in order, nothing dropped" \
  test "$(json "$WORK/hm/summary.json" "[int(j['results'][n]['applied']) for n in ('alpha', 'beta', 'gamma')] + [sum(int(r['order_errors']) for r in j['results'].values()), j['totals']['dropped']]")" = "[240, 240, 320, 0, 0]"
# A peer on the control socket runs tick t and its output reaches a participant on the bus
# before the Tick does: on a loaded machine now and then, with fs-fast-peer every tick. Tick 0 is
# the hard one (the scenario events due at tick 0 are stamped 0 too): alpha's output of tick t
# must still be applied at t+1, never at t. 3 ticks of 4 batches from alpha: 12, none early; and
# the conductor's one batch published before Tick 0 (as scenario events are) is applied at tick 0.
fast_peer() {
  local bus
  bus=$(new_bus fast)
  start_broker "$bus" || return 1
  local bpid=$BROKER_PID
  "$TESTBIN/fs-test-participant" --bus="$bus" --name=gamma --role=other --seed=7 --publish=2 --bus-only \
    2>"$WORK/fast/gamma.log" &
  local gpid=$!
  PIDS+=($gpid)
  timeout 900 "$TESTBIN/fs-fast-peer" --bus="$bus" --participant=gamma --ticks=3 --publish=4 >"$WORK/fast/out" \
    2>"$WORK/fast/fast_peer.log"
  local rc=$?
  wait "$gpid" || rc=1
  kill "$bpid" 2>/dev/null
  diag "fast peer: $(cat "$WORK/fast/out") $(tail -2 "$WORK/fast/fast_peer.log")"
  return $rc
}
check "a peer's output that outruns the Tick: the run completes" fast_peer
check "... applied in the tick after it was produced, also at tick 0; the conductor's at tick 0" \
  test "$(cat "$WORK/fast/out")" = "applied=12 order_errors=0 conductor=1@0"

# A participant written in Python from docs/bus.md alone (examples/python/), on
# the bus path next to two C participants on the control socket: it applies
# their vehicle events and publishes a KPI snapshot of its own every tick.
mkdir -p "$WORK/gen"
check "protoc generates the Python classes" protoc --proto_path="$SRC/proto" --python_out="$WORK/gen" "$SRC"/proto/*.proto
check "a Python participant takes part (seed 7)" run py1 7 python 1 100
check "... the run completes, the C participants on the control socket, Python on the bus" \
  test "$(json "$WORK/py1/summary.json" "j['completed'], j['ticks'], j['lockstep']['on_control_socket'], j['participants']['gamma']['said_bye']")" = "True 100 2 True"
check "... every message applied in the tick after it was produced, in order" \
  test "$(json "$WORK/py1/summary.json" "[int(j['results'][n]['applied']) for n in ('alpha', 'beta', 'gamma')] + [int(j['results']['gamma']['events']), sum(int(r['order_errors']) for r in j['results'].values()), j['totals']['dropped']]")" = "[400, 400, 800, 800, 0, 0]"
check "... same seed again" run py2 7 python 1 100
check "... same digest" test "$(json "$WORK/py1/summary.json" "j['run_digest']")" = "$(json "$WORK/py2/summary.json" "j['run_digest']")"
check "... another seed" run py3 8 python 1 100
check "... another digest" test "$(json "$WORK/py1/summary.json" "j['run_digest']")" != "$(json "$WORK/py3/summary.json" "j['run_digest']")"
check "heavy: no gaps, nothing dropped" test "$(json "$WORK/hs/summary.json" "j['totals']['gaps'] + j['totals']['dropped']")" = 0
finish
