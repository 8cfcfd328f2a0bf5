#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A bus on tcp is CURVE-encrypted and only keys on the broker's allow-list may
# publish: an authorised fleetctl steps, pauses and injects; a client holding
# an unlisted key (or none) is refused by the broker's ZAP handler, cannot
# change the run (its digest equals a run without the attempts) and the
# broker counts every refusal in its kpi/broker counters (summary.json).
source "$(dirname "$0")/lib.sh"

VEH=(--network=grid:12x12:150 --vehicles=60 --seed=5)
KEYS=$WORK/keys

if ! "$SVC/fleetctl" keygen "$KEYS" --name run >"$WORK/keygen.out" 2>&1; then
  cat "$WORK/keygen.out" | sed 's/^/# /'
  echo "Bail out! fleetctl keygen failed: this libzmq has no CURVE (zmq_has(\"curve\") is false)"
  exit 1
fi
ok "libzmq has CURVE: fleetctl keygen wrote a key pair"
check "... the secret key file is private (0600)" test "$(stat -c %a "$KEYS/run.secret")" = 600
check "... the public key file holds one 40-character key line" \
  test "$(grep -v '^# ' "$KEYS/run.pub" | tr -d '\n' | wc -c)" = 40
"$SVC/fleetctl" keygen "$KEYS" --name run >/dev/null 2>"$WORK/again.err"
check "keygen never overwrites a key" test $? -eq 1
"$SVC/fleetctl" keygen "$KEYS" --name ops >/dev/null && "$SVC/fleetctl" keygen "$KEYS" --name intruder >/dev/null
cat "$KEYS/run.pub" "$KEYS/ops.pub" > "$WORK/allow.txt" # the run's own processes and the operator

start_run() { # tag [broker args] -> BUS, BPID, CPID, VPID; SCN = scenario args for conductor and vehicle
  local tag=$1; shift
  BUS=tcp://127.0.0.1:$(free_ports 4)
  "$SVC/fs-broker" --bus="$BUS" --allow="$WORK/allow.txt" --curve-dir="$WORK/$tag.broker" "$@" \
    2>"$WORK/$tag.broker.log" &
  BPID=$!
  PIDS+=($BPID)
  for _ in $(seq 3000); do [ -s "$WORK/$tag.broker/broker.pub" ] && break; sleep 0.02; done # up to 60 s on a busy machine
  export FLEETSIM_CURVE_SERVER=$WORK/$tag.broker/broker.pub
  # bounded: a run left paused by a failed command must fail the test, not hang it
  FLEETSIM_CURVE_SECRET=$KEYS/run.secret timeout 600 "$SVC/fs-conductor" --bus="$BUS" --participants=vehicle-0:vehicle \
    --duration=120 --seed=5 --out="$WORK/$tag" --paused ${SCN:+"$SCN"} 2>"$WORK/$tag.conductor.log" &
  CPID=$!
  PIDS+=($CPID)
  FLEETSIM_CURVE_SECRET=$KEYS/run.secret "$SVC/fs-vehicle" --bus="$BUS" --name=vehicle-0 "${VEH[@]}" \
    ${SCN:+"$SCN"} 2>"$WORK/$tag.vehicle.log" &
  VPID=$!
  PIDS+=($VPID)
}

end_run() {
  end_run_of "$BPID" "$CPID" "$VPID"; local rc=$?
  wait "$BPID" 2>/dev/null
  return $rc
}

as() { # key command... : fleetctl with that key (none = no key at all); output as TAP comments
  local key=$1; shift
  raw_as "$key" "$@" > >(sed 's/^/# /')
}
raw_as() {
  local key=$1; shift
  if [ "$key" = none ]; then
    FLEETSIM_CURVE_SECRET= FLEETSIM_CURVE_SERVER= "$SVC/fleetctl" --bus="$BUS" "$@"
  elif [ "$key" = fresh ]; then # the broker's key only: fleetctl makes a throwaway pair
    FLEETSIM_CURVE_SECRET= "$SVC/fleetctl" --bus="$BUS" "$@"
  else
    FLEETSIM_CURVE_SECRET=$KEYS/$key.secret "$SVC/fleetctl" --bus="$BUS" "$@"
  fi
}
wait_tick() { # key tick
  for _ in $(seq 1200); do raw_as "$1" status 2>/dev/null | grep -q "^tick *$2 " && return 0; sleep 0.1; done
  return 1
}
broker_kpi() { json "$WORK/$1/summary.json" "int(j['broker']['$2'])"; }

# A: the operator steps and injects; an intruder tries to.
start_run live
check "run A is up (status over tcp+CURVE)" wait_tick ops 0
check "authorised: step to tick 30" as ops step 30
check "authorised: status shows tick 30" wait_tick ops 30
check "authorised: a device fault accepted for tick 40" \
  as ops inject --event device_fault --tick 40 vehicles=1,2,3,7 device=lidar health=failed
as intruder inject --event device_fault --tick 60 vehicles=4,5,6 device=thor health=failed >"$WORK/i1.out" 2>&1
check "unlisted key: inject refused (exit 1)" test $? -eq 1
check "... told the broker refused its key" grep -q "did not accept this client's CURVE key" "$WORK/i1.out"
as intruder resume >"$WORK/i2.out" 2>&1
check "unlisted key: resume refused (exit 1)" test $? -eq 1
as intruder status >"$WORK/i3.out" 2>&1
check "unlisted key: cannot even watch (no --open-watch)" test $? -eq 1
check "... refused, not silence" grep -q "did not accept this client's CURVE key" "$WORK/i3.out"
as none pause >"$WORK/i4.out" 2>&1
check "no key at all: pause gets nowhere (exit 1)" test $? -eq 1
check "... with a hint about the broker's key" grep -q "a tcp bus is encrypted" "$WORK/i4.out"
as intruder --curve-server "$KEYS/ops.pub" pause >"$WORK/i6.out" 2>&1
check "a wrong broker key: pause gets nowhere (exit 1)" test $? -eq 1
check "... told the handshake failed and asked about the broker's key" \
  grep -q "security handshake with .* failed (is --curve-server or \$FLEETSIM_CURVE_SERVER this broker's public key?)" "$WORK/i6.out"
as intruder --curve-server "$KEYS/ops.pub" status >"$WORK/i7.out" 2>&1
check "a wrong broker key: status says so too, not \"is a simulation running?\"" \
  grep -q "this broker's public key" "$WORK/i7.out"
check "the run is still paused at tick 30" wait_tick ops 30
check "authorised: resume" as ops resume
check "run A completes" end_run
check "the intruder's refusals were counted (kpi/broker in summary.json)" test "$(broker_kpi live auth_denied)" -ge 3
check "... including publish attempts" test "$(broker_kpi live auth_denied_pub)" -ge 2
check "... and the clients without CURVE or with a wrong broker key" \
  test "$(broker_kpi live auth_handshake_failed)" -ge 2
check "... while the run's own clients were admitted" test "$(broker_kpi live auth_accepted)" -ge 4
check "the broker logged who was refused" grep -q "refused a client at 127.0.0.1 on the pub endpoint" "$WORK/live.broker.log"
check "the conductor accepted exactly one scenario command" \
  test "$(json "$WORK/live/summary.json" "(j['scenario']['commands_accepted'], j['scenario']['commands_refused'])")" = "(1, 0)"

# B: the operator's event in the file, no intruder; the watch endpoint open to any key.
cat > "$WORK/same.yaml" <<'YAML'
events:
  - {type: device_fault, tick: 40, vehicles: [1, 2, 3, 7], device: lidar, health: failed}
YAML
SCN=--scenario="$WORK/same.yaml" start_run file --open-watch
check "--open-watch: an unlisted key may watch" wait_tick intruder 0
check "--open-watch: so may a throwaway key (only the broker's public key known)" wait_tick fresh 0
as intruder stop >"$WORK/i5.out" 2>&1
check "--open-watch: ... but still not command (stop refused)" test $? -eq 1
check "authorised: resume run B" as ops resume
check "run B completes" end_run
check "the intruder changed nothing: A's digest == B's (the same event, no attempts)" \
  test "$(digest live)" = "$(digest file)"
check "watching was admitted, stopping refused" test "$(broker_kpi file auth_denied_pub)" -ge 1

# C: without the operator's event the digest differs (the digest does see changes).
SCN= start_run none
check "run C is up (status over tcp+CURVE)" wait_tick ops 0
check "authorised: resume run C" as ops resume
check "run C completes" end_run
check "an injected event changes the digest" test "$(digest none)" != "$(digest live)"

# A broker on tcp without an allow-list does not start.
"$SVC/fs-broker" --bus=tcp://127.0.0.1:$(free_ports 4) --curve-dir="$WORK/nolist" 2>"$WORK/nolist.log"
check "tcp without --allow: exit 2" test $? -eq 2
check "... saying why" grep -q "a tcp bus needs --allow FILE" "$WORK/nolist.log"
finish
