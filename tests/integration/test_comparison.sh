#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Comparison mode: a network, the demand and the fleet all given as files, as
# another simulator would use them. The fleet starts exactly at the given nodes,
# exactly the given requests are served, and every request has one outcome.
source "$(dirname "$0")/lib.sh"

# A 4 x 4 two-way grid, 200 m blocks, 10 m/s, ids 100..115.
python3 - "$WORK" <<'PY'
import sys
w = sys.argv[1]
with open(f"{w}/nodes.csv", "w") as f:
    f.write("id,x,y\n")
    for r in range(4):
        for c in range(4):
            f.write(f"{100 + r * 4 + c},{c * 200},{r * 200}\n")
with open(f"{w}/edges.csv", "w") as f:
    f.write("from,to,length_m,speed_mps,lanes\n")
    for r in range(4):
        for c in range(4):
            a = 100 + r * 4 + c
            for (dr, dc) in ((0, 1), (1, 0)):
                rr, cc = r + dr, c + dc
                if rr < 4 and cc < 4:
                    b = 100 + rr * 4 + cc
                    f.write(f"{a},{b},200,10,1\n{b},{a},200,10,1\n")
with open(f"{w}/fleet.csv", "w") as f:
    f.write("vehicle_id,node,soc\n0,100,0.9\n1,103,0.8\n2,112,0.7\n3,115,0.95\n")
with open(f"{w}/demand.csv", "w") as f:
    f.write("t_request_s,origin_x,origin_y,dest_x,dest_y\n")
    for k in range(12):
        t = 30 + k * 90
        f.write(f"{t},{(k % 4) * 200},{(k // 4 % 4) * 200},{((k + 2) % 4) * 200},{((k // 4 + 1) % 4) * 200}\n")
PY

BUS=$(new_bus cmp)
RUN=(--network="csv:$WORK/nodes.csv,$WORK/edges.csv" --vehicles=4 --fleet-csv="$WORK/fleet.csv"
     --demand-csv="$WORK/demand.csv" --duration=40m --seed=5)
"$SVC/fleetsim" run --quiet --bus="$BUS" --out="$WORK/out" "${RUN[@]}" --paused 2>"$WORK/run.log" &
RUN_PID=$!
PIDS+=($RUN_PID)
for _ in $(seq 200); do "$SVC/fleetctl" --bus="$BUS" status 2>/dev/null | grep -q '^state *paused' && break; sleep 0.05; done
# Listen first: the batch of tick 0 is published once, when the step runs it.
"$SVC/fleetctl" --bus="$BUS" echo veh.state -n 1 --rows 0 --timeout 15 >"$WORK/first.txt" &
ECHO=$!
sleep 1
check "step the first tick" sh -c "\"$SVC/fleetctl\" --bus=\"$BUS\" step 1 >/dev/null"
wait $ECHO
python3 - "$WORK/first.txt" >"$WORK/pos.txt" <<'PY'
import sys
# the table of full records (tick 0 sends every vehicle), read by its column names
lines = [l.split() for l in open(sys.argv[1]) if l.strip()]
head = next(l for l in lines if l[:2] == ["vehicle_id", "state"])
rows = [dict(zip(head, l)) for l in lines if l[0].isdigit()]
for r in rows:
    print(r["vehicle_id"], round(float(r["x_m"])), round(float(r["y_m"])), r["soc"][:4])
PY
diag "first positions: $(tr '\n' ';' <"$WORK/pos.txt")"
check "vehicles start at the given nodes with the given charge" test "$(tr '\n' ';' <"$WORK/pos.txt")" = "0 0 0 0.9;1 600 0 0.8;2 0 600 0.7;3 600 600 0.95;"
"$SVC/fleetctl" --bus="$BUS" resume >/dev/null
wait "$RUN_PID"; rc=$?
check "the run completes (exit $rc)" test "$rc" -eq 0
S=$WORK/out/summary.json
check "exactly the file's 12 requests" test "$(json "$S" "int(j['results']['dispatch']['requests'])")" = 12
check "every request has one outcome" test "$(json "$S" "int(sum(j['results']['dispatch'].get(k, 0) for k in ('served', 'cancelled', 'rejected', 'open')) - j['results']['dispatch']['requests'])")" = 0
check "riders were served" test "$(json "$S" "int(j['results']['dispatch']['served']) > 0")" = True
check "trips.csv has a row per request" test "$(($(wc -l <"$WORK/out/trips.csv") - 1))" = 12
"$SVC/fleetsim" run --quiet --bus="$(new_bus cmp2)" --out="$WORK/out2" "${RUN[@]}" 2>/dev/null
check "the same inputs give the same run digest" test "$(json "$S" "j['run_digest']")" = "$(json "$WORK/out2/summary.json" "j['run_digest']")"
printf 'vehicle_id,node\n0,100\n1,999\n' >"$WORK/badfleet.csv"
"$SVC/fleetsim" run --quiet --bus="$(new_bus cmp3)" --network="csv:$WORK/nodes.csv,$WORK/edges.csv" --vehicles=2 \
  --fleet-csv="$WORK/badfleet.csv" --duration=1m 2>"$WORK/bad.log"; rc=$?
check "a fleet file naming an unknown node fails (exit $rc)" test "$rc" -ne 0
check "... saying where" grep -q "badfleet.csv:3" "$WORK/bad.log"
finish
