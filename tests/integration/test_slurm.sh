#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# examples/cluster/fleetsim.sbatch end to end on a one-node Slurm that this
# test starts itself (slurmctld and slurmd with a slurm.conf of its own, in a
# temporary directory): `sbatch --wait` runs broker, conductor, dispatch and
# production in the batch step and the two vehicle shards with srun; the run
# completes with the same run digest as the same seed on one host with ipc,
# and nothing of it is left running. Skips (saying why) where Slurm is not
# installed (scripts/deps) or its daemons cannot start.
source "$(dirname "$0")/lib.sh"

for prog in slurmctld slurmd sbatch srun sinfo; do
  if ! command -v "$prog" >/dev/null; then
    echo "1..0 # SKIP $prog is not installed (Debian: slurmctld slurmd slurm-client, in scripts/deps)"
    exit 0
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "1..0 # SKIP needs root to run slurmd (run as root, as CI does)"
  exit 0
fi

SL=$WORK/slurm
NODE=$(hostname -s)
SPORT=$(free_ports 2)
mkdir -p "$SL/state" "$SL/spool" "$SL/log"
# Authentication none: one node, one user, a private directory; a real cluster uses munge.
cat >"$SL/slurm.conf" <<EOF
ClusterName=fleetsim-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$SPORT
SlurmdPort=$((SPORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$SL/state
SlurmdSpoolDir=$SL/spool
SlurmctldPidFile=$SL/slurmctld.pid
SlurmdPidFile=$SL/slurmd.pid
SlurmctldLogFile=$SL/log/slurmctld.log
SlurmdLogFile=$SL/log/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE
EOF
export SLURM_CONF=$SL/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" >"$SL/log/slurmctld.out" 2>&1 &
CTLD=$!
PIDS+=($CTLD)
slurmd -D -f "$SLURM_CONF" -N "$NODE" >"$SL/log/slurmd.out" 2>&1 &
SLURMD=$!
PIDS+=($SLURMD)
idle() { sinfo -h -N -o %t 2>/dev/null | grep -qx idle; }
for _ in $(seq 150); do idle && break; sleep 0.2; done
if ! idle; then
  tail -3 "$SL/log/slurmctld.out" "$SL/log/slurmd.out" | sed 's/^/# /'
  echo "1..0 # SKIP the one-node Slurm did not come up here (slurmctld or slurmd could not start; logs above)"
  exit 0
fi
ok "a one-node Slurm is up (slurmctld and slurmd, this test's slurm.conf)"

RUN=(--network=grid:10x10:200 --vehicles=40 --seed=7 --duration=30m)
"$SVC/fleetsim" run --quiet --bus="$(new_bus ref)" --out="$WORK/ref" "${RUN[@]}" --shards=2 2>"$WORK/ref.log"
check "reference run on one host (ipc, 2 shards)" test -s "$WORK/ref/summary.json"

mkdir -p "$WORK/submit"
BUS_PORT=$(free_ports 4)
(cd "$WORK/submit" && FLEETSIM=$SVC/fleetsim FLEETSIM_PORT=$BUS_PORT FLEETSIM_HOST=127.0.0.1 \
  timeout 300 sbatch --wait --ntasks=2 --output="$WORK/job.out" "$SRC/examples/cluster/fleetsim.sbatch" "${RUN[@]}" \
  >"$WORK/sbatch.out" 2>&1)
check "sbatch --wait examples/cluster/fleetsim.sbatch: the job succeeds" test $? -eq 0
sed 's/^/# /' "$WORK/job.out"
JOB=$(grep -o '[0-9]*' "$WORK/sbatch.out" | head -1)
OUT=$WORK/submit/fleetsim-$JOB
check "the shards ran as srun tasks (vehicle-0 and vehicle-1 joined)" \
  test "$(grep -c "joining the run on tcp://127.0.0.1:.* as vehicle-[01]" "$WORK/job.out")" = 2
check "the run completed" test "$(json "$OUT/summary.json" "j['completed']")" = True
check "same run digest as the same seed on one host with ipc" \
  test "$(json "$OUT/summary.json" "j['run_digest']")" = "$(json "$WORK/ref/summary.json" "j['run_digest']")"
check "the run's keys stayed private (0700 directory, 0600 secret)" \
  test "$(stat -c %a "$OUT/keys"):$(stat -c %a "$OUT/keys/run.secret")" = 700:600
check "no job left in the queue" test -z "$(squeue -h 2>/dev/null)"
# its processes only (tests run side by side): the ones on its bus's ports
check "nothing of the run left running" test -z "$(leftovers "$SVC/fs-.*:$BUS_PORT\b")"
kill -TERM "$SLURMD" "$CTLD" # in order: slurmctld stops its script helper
wait "$SLURMD" "$CTLD" 2>/dev/null
finish
