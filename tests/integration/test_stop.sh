#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every way of stopping a run ends in written results: SIGINT once, SIGINT to
# the launcher's process group, SIGTERM, a second SIGINT and `fleetctl stop`,
# each sent (a) while a participant is stopped with SIGSTOP and (b) during a
# multi-second tick. Each time summary.json is written, marked incomplete
# with the reason and naming who did not answer, with the results of every
# service that answered, dispatch's CSVs are there (written whole: no
# temporary file left), within the documented bound (docs/architecture.md
# "Stopping a run": --stop-wait, then 15 s for outputs, 2 s for exits and a
# 3 s grace), and no process, socket or bus directory is left behind.
# Everything waits on events (a status line, a process exiting), not on time.
source "$(dirname "$0")/lib.sh"

FLEETSIM=$SVC/fleetsim
RUN=(--quiet --network=grid:12x12:200 --vehicles=60 --shards=2 --duration=10h)

status_of() { "$SVC/fleetctl" --bus="$1" status 2>/dev/null; }
tick_of() { status_of "$1" | awk '$1 == "tick" { print $2; exit }'; }
wait_tick() { # bus tick: until the run reached it (or 120 s)
  for _ in $(seq 1200); do
    local t; t=$(tick_of "$1")
    [ -n "$t" ] && [ "$t" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
wait_log() { # file pattern: until a line matches (or 60 s)
  for _ in $(seq 600); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# wait_exit PID S: its exit status, or 124 after S seconds (then it is killed with its group): a run
# that never ends fails the test instead of hanging it
wait_exit() {
  for _ in $(seq $(($2 * 10))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then
    kill -9 -- "-$1" 2>/dev/null; kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null
    return 124
  fi
  wait "$1"
}
none_left() { [ -z "$(pgrep -f -- "--bus=$1" | grep -v "^${SLOW:-none}\$" || true)" ]; }

# start TAG [fleetsim run args...]: a run in its own process group (setsid), as
# from a shell with job control; LAUNCHER and BUS set.
start() {
  local tag=$1; shift
  BUS=$(new_bus "$tag")
  setsid "$FLEETSIM" run "${RUN[@]}" --bus="$BUS" --out="$WORK/$tag" "$@" 2>"$WORK/$tag.log" &
  LAUNCHER=$!
  PIDS+=($LAUNCHER)
}

# act HOW: the stop request
act() {
  case $1 in
    int) kill -INT "$LAUNCHER" ;;
    group) kill -INT -- "-$LAUNCHER" ;;
    term) kill -TERM "$LAUNCHER" ;;
    int2) kill -INT "$LAUNCHER"
          wait_log "$WORK/$TAG.log" "stopping the run" || diag "$TAG: the first SIGINT was not acknowledged"
          kill -INT "$LAUNCHER" ;;
    fleetctl) "$SVC/fleetctl" --bus="$BUS" stop >/dev/null ;;
  esac
}

# results TAG HOW BOUND_S: what every stopped run must leave
results() {
  local tag=$1 how=$2 bound=$3 s=$WORK/$1/summary.json
  check "$tag: summary.json written" test -s "$s"
  [ -s "$s" ] || { sed 's/^/#   /' "$WORK/$tag.log" | tail -20; return; }
  local reason=interrupted
  [ "$how" = fleetctl ] && reason="stopped by fleetctl"
  check "$tag: marked incomplete: $reason" \
    test "$(json "$s" "(not j['completed']) and j['end_reason'].startswith('$reason')")" = True
  for f in trips.csv dispatch_by_hour.csv dispatch_by_zone.csv; do
    check "$tag: dispatch wrote $f" test -s "$WORK/$tag/$f"
  done
  check "$tag: no half-written file left" test -z "$(ls -A "$WORK/$tag" | grep tmp)"
  check "$tag: within the bound ($ELAPSED ms < $bound s)" test "$ELAPSED" -lt $((bound * 1000))
  check "$tag: no process of the run left" none_left "$BUS"
  check "$tag: no bus directory, socket or lock left" test ! -e "${BUS#ipc://}"
}

# ---- (a) a participant stopped with SIGSTOP: the run ends after --stop-wait without it ----
for how in int group term int2 fleetctl; do
  TAG=stopped-$how
  # a second SIGINT must not wait: a long --stop-wait shows it does not
  wait_s=3; [ "$how" = int2 ] && wait_s=60
  start "$TAG" --speed=200 --stop-wait=$wait_s
  if ! wait_tick "$BUS" 20; then not_ok "$TAG: the run did not start"; sed 's/^/#   /' "$WORK/$TAG.log"; continue; fi
  VPID=$(pgrep -f -- "--bus=$BUS.*--name=vehicle-0")
  kill -STOP "$VPID"
  t0=$(date +%s%N)
  act "$how"
  wait_exit "$LAUNCHER" 120; rc=$?
  ELAPSED=$(( ($(date +%s%N) - t0) / 1000000 ))
  diag "$TAG: launcher exited $rc after $ELAPSED ms"
  check "$TAG: the launcher says some participants did not answer (exit $rc)" test "$rc" -eq 1
  # bound: --stop-wait (not for a second SIGINT) + 15 s outputs + 2 s exits + 3 s grace, and slack
  bound=$((wait_s + 25)); [ "$how" = int2 ] && bound=25
  results "$TAG" "$how" "$bound"
  # stopped in a tick it owed, or between ticks (paced): then it owes its Bye
  check "$TAG: summary names vehicle-0, which did not answer" \
    test "$(json "$WORK/$TAG/summary.json" "j['not_answered'].get('vehicle-0', '').startswith(('no TickDone for tick', 'no Bye'))")" = True
  check "$TAG: ... and has the results of everyone who answered" \
    test "$(json "$WORK/$TAG/summary.json" "sorted(j['results'])")" = "['dispatch', 'production', 'vehicle-1']"
done

# ---- (b) during a multi-second tick: the run ends at the tick's end, everyone answers ----
for how in int group term int2 fleetctl; do
  TAG=slow-$how
  start "$TAG" --speed=max --participant=slow:test
  "$TESTBIN/fs-test-participant" --bus="$BUS" --name=slow --role=test --tick-sleep-ms=2500 --sleep-from-tick=3 \
    2>"$WORK/$TAG.slow.log" &
  SLOW=$!
  PIDS+=($SLOW)
  if ! wait_tick "$BUS" 4; then not_ok "$TAG: the run did not reach its slow ticks"; sed 's/^/#   /' "$WORK/$TAG.log"; continue; fi
  t0=$(date +%s%N)
  act "$how"
  wait_exit "$LAUNCHER" 120; rc=$?
  ELAPSED=$(( ($(date +%s%N) - t0) / 1000000 ))
  diag "$TAG: launcher exited $rc after $ELAPSED ms"
  expected=130; [ "$how" = fleetctl ] && expected=0
  if [ "$how" = int2 ]; then
    # the second SIGINT gives the slow tick up: slow may be the one that did not answer
    check "$TAG: the launcher ends the run (exit $rc)" test "$rc" -eq 130 -o "$rc" -eq 1
  else
    check "$TAG: exit $expected ($rc)" test "$rc" -eq "$expected"
    check "$TAG: the run ended at a tick boundary: everyone answered" \
      test "$(json "$WORK/$TAG/summary.json" "j['not_answered'] == {} and all(p['said_bye'] for k, p in j['participants'].items() if k != 'conductor')")" = True
    check "$TAG: ... and the slow participant's results are in" \
      test "$(json "$WORK/$TAG/summary.json" "'applied' in j['results']['slow']")" = True
  fi
  results "$TAG" "$how" 30
  # not ours to kill: it leaves on the End it was sent (read even after the conductor left)
  for _ in $(seq 300); do kill -0 "$SLOW" 2>/dev/null || break; sleep 0.1; done
  check "$TAG: the slow participant left by itself, after its End" bash -c "! kill -0 $SLOW 2>/dev/null"
  kill -9 "$SLOW" 2>/dev/null; wait "$SLOW" 2>/dev/null
done

# ---- before tick 0: a participant that never comes; SIGINT ends the wait with a summary ----
TAG=before-tick0
start "$TAG" --speed=max --participant=absent:test
for _ in $(seq 600); do status_of "$BUS" | grep -q '^state *waiting' && break; sleep 0.1; done
t0=$(date +%s%N)
kill -INT "$LAUNCHER"
wait_exit "$LAUNCHER" 120; rc=$?
ELAPSED=$(( ($(date +%s%N) - t0) / 1000000 ))
diag "$TAG: launcher exited $rc after $ELAPSED ms"
check "$TAG: summary.json written" test -s "$WORK/$TAG/summary.json"
check "$TAG: it says why and who was missing" \
  test "$(json "$WORK/$TAG/summary.json" "j['end_reason'], j['ticks'], j['not_answered'].get('absent')")" = "interrupted before tick 0 0 never ready"
check "$TAG: without waiting for the missing one ($ELAPSED ms < 10 s)" test "$ELAPSED" -lt 10000
check "$TAG: no process of the run left" none_left "$BUS"
check "$TAG: no bus directory left" test ! -e "${BUS#ipc://}"

# ---- --out that cannot take results: refused before the run starts ----
touch "$WORK/a-file"
for out in "$WORK/a-file" /dev/null; do
  "$FLEETSIM" run "${RUN[@]}" --duration=1m --bus="$(new_bus outcheck)" --out="$out" 2>"$WORK/outcheck.log"; rc=$?
  check "--out $out: refused up front (exit $rc)" test "$rc" -eq 2
  check "... saying it is not a directory" grep -q "$out exists and is not a directory" "$WORK/outcheck.log"
  check "... before anything started" bash -c "! grep -q 'participant(s) ready' '$WORK/outcheck.log'"
done
finish
