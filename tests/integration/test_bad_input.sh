#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Bad input on a live bus (issue 2, done-when 4). fs-garbage-publisher sprays
# bad framing, random and truncated bytes, mismatched / future-version /
# unauthorised envelopes, oversize messages and raw stream junk while a run is
# in progress, first on a broker + conductor + test participants (+ fleetctl
# as an observer), then on a `fleetsim run` with real fs-vehicle shards.
# Every service must keep running, the run must complete, the drops must be
# counted in summary.json, and the run digest must equal a clean run's: the
# garbage is built so that any of it getting through would change the digest.
source "$(dirname "$0")/lib.sh"

MiB=$((1 << 20))

# wait_bounded PID SECONDS: wait for PID; if it outlives SECONDS, kill it and
# return 124 (a run that a bad message stalled must fail, not hang the suite).
wait_bounded() {
  local pid=$1 limit=$(($2 * 10)) i
  for ((i = 0; i < limit; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 124
  fi
  wait "$pid"
}

# resume_when_garbage_flows BUS READY-FILE GARBAGE-PID: once the garbage publisher's first round
# is out (its ready file), resume the paused run; events, not a clock, however busy the machine.
resume_when_garbage_flows() {
  while [ ! -e "$2" ]; do
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.05
  done
  for _ in $(seq 600); do
    "$SVC/fleetctl" --bus="$1" resume >/dev/null 2>&1 && return 0
    sleep 0.1 # the conductor is still starting
  done
  return 1
}

# direct TAG SEED garbage|clean [socket|bus] -> $WORK/TAG/summary.json
# The garbage run puts the lockstep on the bus, where spoofed Ticks, Ends
# and TickDones reach the participants and the conductor; on the control
# socket (the launched runs below) they never get that far.
direct() {
  local tag=$1 seed=$2 mode=$3 control=${4:-socket} bus speed=max
  bus=$(new_bus "$tag")
  # A broker limit above the clients' 64 MiB, so one oversize message is
  # dropped by the broker and another by the clients.
  start_broker "$bus" --max-message=$((96 * MiB)) || return 1
  local bpid=$BROKER_PID gpid="" epid="" paused=()
  # 300 ticks over ~3 s, paused until the garbage flows, so it lands mid-run however busy the machine
  [ "$mode" = garbage ] && { speed=100; paused=(--paused); }
  "$SVC/fs-conductor" --bus="$bus" --participants=alpha:model,beta:model,gamma:other "${paused[@]}" \
    --duration=300 --speed=$speed --seed="$seed" --control="$control" --out="$WORK/$tag" 2>"$WORK/$tag/conductor.log" &
  local cpid=$!
  PIDS+=($cpid)
  local ppids=()
  for n in alpha:model:4 beta:model:4 gamma:other:2; do
    IFS=: read -r name role publish <<<"$n"
    # mixed: gamma on the bus, the others on the control socket
    "$TESTBIN/fs-test-participant" --bus="$bus" --name="$name" --role="$role" --seed="$seed" \
      --publish="$publish" ${mixed:+$([ "$name" = gamma ] && echo --bus-only)} 2>"$WORK/$tag/$name.log" &
    ppids+=($!)
    PIDS+=($!)
  done
  if [ "$mode" = garbage ]; then
    "$SVC/fleetctl" --bus="$bus" echo veh --rows 0 >"$WORK/$tag/echo.out" 2>"$WORK/$tag/echo.log" &
    epid=$!
    PIDS+=($epid)
    "$TESTBIN/fs-garbage-publisher" --bus="$bus" --seed=3 --spoof=alpha,beta,gamma,conductor \
      --oversize="veh.event:$((70 * MiB)),veh.event:$((100 * MiB))" --raw --max-rounds=3000 \
      --ready-file="$WORK/$tag/garbage.ready" >"$WORK/$tag/garbage.out" 2>"$WORK/$tag/garbage.log" &
    gpid=$!
    PIDS+=($gpid)
    resume_when_garbage_flows "$bus" "$WORK/$tag/garbage.ready" "$gpid" || diag "$tag: could not resume the run"
  fi
  wait_bounded $cpid 300
  local rc=$? failed=0
  [ $rc -eq 0 ] || { diag "$tag: conductor exited $rc: $(tail -n 5 "$WORK/$tag/conductor.log")"; failed=1; }
  for p in "${ppids[@]}"; do
    wait_bounded "$p" 60 || { diag "$tag: a participant exited $?"; failed=1; }
  done
  [ $failed -eq 0 ] || for n in alpha beta gamma; do diag "$n: $(tail -n 3 "$WORK/$tag/$n.log")"; done
  if [ -n "$gpid" ]; then
    wait_bounded "$gpid" 60 || { diag "$tag: garbage publisher exited $?"; failed=1; }
    if kill -0 "$epid" 2>/dev/null; then
      kill -TERM "$epid"
      wait "$epid" || { diag "$tag: fleetctl echo exited $?"; failed=1; }
    else
      wait "$epid"
      diag "$tag: fleetctl echo died ($?)"
      failed=1
    fi
  fi
  if kill -0 "$bpid" 2>/dev/null; then
    kill -TERM "$bpid"
    wait "$bpid" || { diag "$tag: broker exited $?"; failed=1; }
  else
    diag "$tag: broker died"
    failed=1
  fi
  return $failed
}

# launched TAG SEED garbage|clean -> $WORK/TAG/summary.json
launched() {
  local tag=$1 seed=$2 mode=$3 bus speed=max gpid=""
  bus=$(new_bus "$tag")
  local paused=()
  # 10 simulated minutes over ~3 s, paused until the garbage flows (see direct)
  [ "$mode" = garbage ] && { speed=200; paused=(--paused); }
  "$SVC/fleetsim" run --bus="$bus" --out="$WORK/$tag" --seed="$seed" --shards=2 --vehicles=60 "${paused[@]}" \
    --duration=10m --speed=$speed --quiet 2>"$WORK/$tag/fleetsim.log" &
  local fpid=$!
  PIDS+=($fpid)
  if [ "$mode" = garbage ]; then
    # Connects as soon as the broker binds (ZeroMQ retries) and proves the path first.
    "$TESTBIN/fs-garbage-publisher" --bus="$bus" --seed=4 --spoof=vehicle-0,vehicle-1,dispatch,conductor \
      --oversize="ride.job:$((65 * MiB))" --raw --control --max-rounds=3000 \
      --ready-file="$WORK/$tag/garbage.ready" >"$WORK/$tag/garbage.out" 2>"$WORK/$tag/garbage.log" &
    gpid=$!
    PIDS+=($gpid)
    resume_when_garbage_flows "$bus" "$WORK/$tag/garbage.ready" "$gpid" || diag "$tag: could not resume the run"
  fi
  wait_bounded $fpid 300
  local rc=$?
  [ $rc -eq 0 ] || diag "$tag: fleetsim run exited $rc: $(grep -E 'died|killed by|exited with|error' "$WORK/$tag/fleetsim.log" | head -5)"
  if [ -n "$gpid" ]; then
    wait_bounded "$gpid" 60 || { diag "$tag: garbage publisher exited $?"; rc=1; }
  fi
  return $rc
}

# A broker alone, fed junk by hand-written ZMTP peers (huge and many
# subscriptions, frames announcing 2^40 bytes): it survives, its memory stays
# bounded (ZeroMQ keeps subscriptions in a trie of one node per byte), and it
# still forwards afterwards.
junk_peers() {
  local bus before after
  bus=$(new_bus junk)
  start_broker "$bus" || return 1
  local bpid=$BROKER_PID
  before=$(awk '/^VmRSS/ {print $2}' /proc/$bpid/status)
  "$TESTBIN/fs-garbage-publisher" --bus="$bus" --max-rounds=2 --raw >"$WORK/junk/garbage.out" 2>&1 || return 1
  sleep 0.5
  after=$(awk '/^VmHWM/ {print $2}' /proc/$bpid/status)
  diag "broker peak memory grew by $(((after - before) / 1024)) MiB"
  "$TESTBIN/fs-garbage-publisher" --bus="$bus" --max-rounds=1 >/dev/null 2>&1 || { diag "no hello echo after the junk"; return 1; }
  kill -TERM "$bpid" && wait "$bpid" || return 1
  [ $((after - before)) -lt $((64 * 1024)) ] # ~200 MiB when subscriptions are not limited
}

field() { json "$WORK/$1/summary.json" "$2"; }
positive() { [ "$(field "$1" "$2")" -gt 0 ] 2>/dev/null; }
same_digest() { [ "$(field "$1" "j['run_digest']")" = "$(field "$2" "j['run_digest']")" ]; }

check "broker survives junk peers with bounded memory and still forwards" junk_peers

# --- broker + conductor + test participants (+ fleetctl observing) ---
check "clean run completes" direct clean 7 clean
check "run with garbage completes; every process kept running and exited cleanly" direct dirty 7 garbage bus
diag "garbage: $(cat "$WORK/dirty/garbage.out" 2>/dev/null)"
check "garbage was published while ticks ran" \
  test "$(sed -n 's/.*rounds_during_ticks=\([0-9]*\).*/\1/p' "$WORK/dirty/garbage.out")" -gt 10
check "summary says completed, 300 ticks" test "$(field dirty "j['completed'] and j['ticks']")" = 300
check "same digest as the clean run (which ran on the control socket)" same_digest clean dirty
check "clean run dropped nothing" test "$(field clean "j['totals']['dropped']")" = 0
check "totals.dropped > 0" positive dirty "j['totals']['dropped']"
check "broker counted malformed framing" positive dirty "j['broker']['dropped_malformed']"
check "broker counted the message over its limit" test "$(field dirty "j['broker']['dropped_oversize']")" = 1
for p in alpha beta gamma; do
  check "$p counted malformed" positive dirty "j['participants']['$p']['malformed']"
  check "$p counted rejected (schema 2, Tick/End not from the conductor)" \
    positive dirty "j['participants']['$p']['rejected']"
  check "$p counted unknown (veh.eventx, ctl.tickle, payload 99)" \
    positive dirty "j['participants']['$p']['unknown']"
  check "$p counted the message over its limit" test "$(field dirty "j['participants']['$p']['oversize']")" = 1
done
check "conductor counted malformed" positive dirty "j['participants']['conductor']['malformed']"
check "conductor rejected TickDone for wrong ticks / from strangers" \
  positive dirty "j['participants']['conductor']['rejected']"
check "no gaps (garbage never disturbs a sequence)" test "$(field dirty "j['totals']['gaps']")" = 0
check "peers' messages all applied, in order" \
  test "$(field dirty "[int(r['applied']) for r in j['results'].values()] + [sum(int(r['order_errors']) for r in j['results'].values())]")" = "[1800, 1800, 2400, 0]"
# mixed lockstep: the conductor reads ctl.done on the bus (for gamma), where TickDones forged under
# alpha's and beta's names (their lockstep is on the control socket) are counted, not ignored
mixed=1 check "mixed lockstep with garbage completes" direct mixed 7 garbage socket
check "... same digest as the clean run" same_digest clean mixed
check "... every message applied in the tick after it was produced" \
  test "$(field mixed "sum(int(r['order_errors']) for r in j['results'].values())")" = 0
check "... TickDones on the bus under a control-socket participant's name are counted as refused" \
  positive mixed "j['lockstep']['forged_done_refused']"
check "fleetctl echo decoded the real traffic" grep -q "from alpha" "$WORK/dirty/echo.out"
check "fleetctl echo printed nothing from the garbage publisher" bash -c "! grep -q 'from garbage' '$WORK/dirty/echo.out'"
check "fleetctl echo counted what it dropped" grep -q "dropped malformed" "$WORK/dirty/echo.log"
no_escapes() { ! grep -l $'\x1b' "$@"; }
check "no terminal escape from a sender name reached a log" \
  no_escapes "$WORK"/broker.log "$WORK"/dirty/{conductor,alpha,beta,gamma,echo}.log

# --- fleetsim run with real vehicle shards on a private bus ---
check "fleetsim run (clean) completes" launched lclean 11 clean
check "fleetsim run with garbage exits 0" launched ldirty 11 garbage
diag "garbage: $(cat "$WORK/ldirty/garbage.out" 2>/dev/null)"
check "garbage was published while ticks ran" \
  test "$(sed -n 's/.*rounds_during_ticks=\([0-9]*\).*/\1/p' "$WORK/ldirty/garbage.out")" -gt 10
check "fleetsim summary says completed, 600 ticks" test "$(field ldirty "j['completed'] and j['ticks']")" = 600
check "fleetsim run: same digest as the clean run" same_digest lclean ldirty
check "fleetsim run: totals.dropped > 0" positive ldirty "j['totals']['dropped']"
check "fleetsim run: broker counted malformed framing" positive ldirty "j['broker']['dropped_malformed']"
check "fleetsim run: broker dropped the message over its limit" \
  test "$(field ldirty "j['broker']['dropped_oversize']")" = 1
# every participant the launcher started (vehicle shards, and dispatch once built)
for p in $(field ldirty "' '.join(k for k in j['participants'] if k != 'conductor')"); do
  check "$p counted malformed" positive ldirty "j['participants']['$p']['malformed']"
  check "$p counted rejected" positive ldirty "j['participants']['$p']['rejected']"
done
check "garbage reached the control socket" \
  test "$(sed -n 's/.*control_connections=\([0-9]*\).*/\1/p' "$WORK/ldirty/garbage.out")" -gt 10
check "fleetsim run: conductor refused the control-socket garbage (rejected)" \
  positive ldirty "j['participants']['conductor']['rejected']"
check "fleetsim run: conductor counted malformed control datagrams" \
  positive ldirty "j['participants']['conductor']['malformed']"
check "fleetsim run: every participant kept its control connection" \
  test "$(field ldirty "j['lockstep']['on_control_socket'] == len(j['participants']) - 1")" = True
check "fleetsim run: no terminal escape reached the log" no_escapes "$WORK/ldirty/fleetsim.log"
check "no fleetsim process left" test -z "$(leftovers "$WORK/l")"
finish
