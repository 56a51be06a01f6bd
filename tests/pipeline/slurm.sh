#!/bin/sh
# pipelines/optimize --runner slurm against a real Slurm: munged, slurmctld and slurmd from
# Debian's packages (installed here when missing and we are root), started on localhost with a
# generated configuration in the scratch directory, stopped at the end. The run must reach the
# same final state as the local runner.
. "${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
OPT=$TOP/pipelines/optimize

skip() { echo "ok 1 # skip slurm: $*"; exit 0; }
if ! command -v slurmctld > /dev/null || ! command -v slurmd > /dev/null || ! command -v sbatch > /dev/null ||
   ! command -v munged > /dev/null; then
	[ "$(id -u)" = 0 ] || skip "not installed and not root"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmd slurmctld slurm-client munge; } \
		> apt.log 2>&1 || skip "could not install slurmd slurmctld slurm-client munge: $(tail -n 1 apt.log)"
fi
[ "$(id -u)" = 0 ] || skip "slurmd must run as root"

D=$T_DIR
port=$((20000 + $$ % 20000))
host=$(hostname -s)
mkdir -p state spool munge
chmod 700 munge
dd if=/dev/urandom of=munge/key bs=1024 count=1 2> /dev/null
chmod 400 munge/key
cat > slurm.conf <<CONF
ClusterName=recycle
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$D/munge/sock
CredType=cred/munge
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=recycle Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$D/slurm.conf

stop_all() {
	[ -f "$D/slurmd.pid" ] && kill "$(cat "$D/slurmd.pid")" 2> /dev/null
	[ -f "$D/slurmctld.pid" ] && kill "$(cat "$D/slurmctld.pid")" 2> /dev/null
	munged -S "$D/munge/sock" -s > /dev/null 2>&1
	sleep 1
}
trap 'stop_all; cd /; rm -rf "$T_DIR"' EXIT

munged --force -S "$D/munge/sock" --key-file="$D/munge/key" --log-file="$D/munge/log" \
	--pid-file="$D/munge/pid" --seed-file="$D/munge/seed" || skip "munged did not start"
slurmctld -f "$D/slurm.conf" || skip "slurmctld did not start: $(tail -n 2 slurmctld.log)"
slurmd -f "$D/slurm.conf" || skip "slurmd did not start: $(tail -n 2 slurmd.log)"
up=
for i in $(seq 1 30); do
	sinfo -h -o %t 2> /dev/null | grep -q idle && { up=1; break; }
	sleep 1
done
check "slurmctld and slurmd are up, the node idle" '[ -n "$up" ]'

mkdir tasks ck
for w in abc hello recycle merge zebra quiet; do
	printf '{"text":"%s %s"}\n' "$w" "$w" >> tasks/words.dev.jsonl
	printf '{"text":"%s=%s"}\n' "${#w}" "$w" >> tasks/lens.dev.jsonl
done
for s in 1 2 3; do
	st-gen --seed $s --scale 0.5 -t f32 --llama hidden=16,layers=1,vocab=256,ff=32,heads=2,kv=1 -o ck/m$s
done
DEV='tasks/words.dev.jsonl tasks/lens.dev.jsonl'
ARGS="--budget 8 --popsize 4 --seed 3 --no-random"
ok_run "optimize --runner local" sh "$OPT" -q -d local -t "$DEV" $ARGS -j 2 ck/m1 ck/m2 ck/m3
ok_run "optimize --runner slurm" sh "$OPT" -q -d slurm -t "$DEV" $ARGS -j 2 --runner slurm ck/m1 ck/m2 ck/m3
check "every generation ran as a job array" '[ "$(ls slurm/cmaes/g*/array.sh | wc -l)" = 2 ] && ls slurm/cmaes/g0000/slurm-0.out > /dev/null'
cmp_files "the same CMA-ES state as the local runner" local/cmaes/state.json slurm/cmaes/state.json
# Records carry their evaluation's timing ("eval"), which no two runs share: compare the rest.
untimed() { sed 's/,"eval":{[^}]*}//' "$1"; }
untimed local/scores.ndjson > s1; untimed slurm/scores.ndjson > s2
cmp_files "the same scores" s1 s2
untimed local/answer.json > a1; untimed slurm/answer.json > a2
cmp_files "the same answer" a1 a2
t_done
