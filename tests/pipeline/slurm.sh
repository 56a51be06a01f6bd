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
# sbatch --wait polls every 2 s while that is under MinJobAge/2, else 4 times longer each time
# (up to 32 s): a batch of a few seconds waited 10 to 40 s for it. Records kept 4 s suffice.
MinJobAge=4
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=recycle Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=ALL MaxTime=INFINITE State=UP
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
# (the default search, with the surrogate: every step of a generation an array of its own, the
# generation's last one left as jobs.sbatch)
check "the baselines and every generation ran as job arrays ($(ls -d slurm/cmaes/g*/ | wc -l) generations)" \
	'[ -s slurm/baselines/first.sbatch ] && [ "$(ls slurm/cmaes/g*/jobs.sbatch | wc -l)" = "$(ls slurm/cmaes/g*/told.ndjson | wc -l)" ] &&
	 [ "$(ls slurm/cmaes/g*/told.ndjson | wc -l)" -ge 3 ] && ls slurm/cmaes/g0000/jobs.slurm-0.out > /dev/null'
cmp_files "the same CMA-ES state as the local runner" local/cmaes/state.json slurm/cmaes/state.json
untimed local/scores.ndjson > s1; untimed slurm/scores.ndjson > s2
cmp_files "the same scores" s1 s2
untimed local/answer.json > a1; untimed slurm/answer.json > a2
cmp_files "the same answer" a1 a2

# The lm-eval harness through Slurm, test re-scoring included: the local harness run's answer.
mkdir mc
for w in abc hello recycle merge zebra quiet; do
	printf '{"prompt":"%s","choices":[" %s"," x%s"],"answer":%d}\n' "$w" "$w" "$w" $((${#w} % 2)) >> mc/pick.dev.jsonl
	printf '{"prompt":"%s is","choices":[" x%s"," %s"],"answer":%d}\n' "$w" "$w" "$w" $((${#w} % 2)) >> mc/pick.test.jsonl
done
# (test: the other choice, and one more example, so that its scores are not dev's)
echo '{"prompt":"seven","choices":[" 7"," 8"],"answer":0}' >> mc/pick.test.jsonl
H="$TOP/tests/pipeline/harness {ckpt} {out} {split} $T_DIR/mc"
ok_run "--harness, local" sh "$OPT" -q -d hl --harness "$H" $ARGS -j 2 ck/m1 ck/m2 ck/m3
ok_run "--harness, slurm" sh "$OPT" -q -d hs --harness "$H" $ARGS -j 2 --runner slurm ck/m1 ck/m2 ck/m3
check "test re-scoring ran as a job array" '[ -s hs/final/test.sbatch ]'
untimed hl/answer.json > a1; untimed hs/answer.json > a2
cmp_files "the same answer, test scores included" a1 a2
check "...scored on the test split ({split})" '[ "$(jq ".test_scores.suite" hs/answer.json)" != "$(jq ".scores.suite" hs/answer.json)" ]'
ok_run "the built-in evaluator on the same tasks, local" sh "$OPT" -q -d bl -t mc/pick.dev.jsonl --test mc/pick.test.jsonl --holdout 0 --fitness score \
	$ARGS -j 2 ck/m1 ck/m2 ck/m3
check "...the harness under Slurm gives its answer: weights, dev and test scores" \
	'jq -n -e --slurpfile b bl/answer.json --slurpfile h hs/answer.json "\$b[0].weights == \$h[0].weights and
		\$b[0].scores.pick == \$h[0].scores.suite and \$b[0].test_scores.pick == \$h[0].test_scores.suite" > /dev/null'

# optimize signalled alone (kill PID, as a batch system or timeout does) while a job array runs:
# the array is cancelled (sbatch --wait, killed, would leave it running and writing into the run),
# nothing of the run goes on, and a rerun resumes to the uninterrupted run's state. evalrun holds
# candidate g0000-01's evaluation until the test is done looking (at most 60 s).
mkdir wrap
cat > wrap/evalrun <<WRAP
#!/bin/sh
for a; do case \$a in *g0000-01.cand.json)
	[ -e "$T_DIR/held" ] || { : > "$T_DIR/held"; i=0; while [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done; } ;;
esac; done
exec "$BIN/evalrun" "\$@"
WRAP
chmod +x wrap/evalrun
ok_run "optimize --runner local --surrogate none" sh "$OPT" -q -d localn -t "$DEV" $ARGS -j 2 --surrogate none ck/m1 ck/m2 ck/m3
PATH="$T_DIR/wrap:$PATH" setsid sh "$OPT" -q -d cancel -t "$DEV" $ARGS -j 2 --runner slurm --surrogate none ck/m1 ck/m2 ck/m3 \
	> /dev/null 2> cancel.err &
pid=$!
i=0; while [ ! -e held ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
check "a job array holds candidate g0000-01" '[ -e held ] && [ -n "$(squeue -h -n recycle-jobs)" ]'
kill -TERM $pid; { wait $pid; } 2> /dev/null; rc=$?
i=0; while [ -n "$(squeue -h)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "optimize sent SIGTERM alone: it dies of it (status $rc)" '[ $rc -eq 143 ]'
check "...the job array is cancelled ($(squeue -h | wc -l) jobs left)" '[ -z "$(squeue -h)" ]'
check "...nothing of the run still runs" '! pgrep -f -- "$T_DIR/cancel" > /dev/null'
ok_run "...a rerun resumes to the end" sh "$OPT" -q -d cancel -t "$DEV" $ARGS -j 2 --runner slurm --surrogate none ck/m1 ck/m2 ck/m3
cmp_files "...the same CMA-ES state as the uninterrupted run" localn/cmaes/state.json cancel/cmaes/state.json

# A task that dies without leaving a record (its score-one killed, as by a node failure): an
# error naming the array's job id, the task, its job and its output.
cat > die <<'EOF'
#!/bin/sh
echo "node exploded" >&2
p=$PPID
while [ "$p" -gt 1 ]; do
	case $(ps -o args= -p "$p") in *score-one*) kill -9 "$p"; exit 1 ;; esac
	p=$(ps -o ppid= -p "$p" | tr -d ' ')
done
EOF
chmod +x die
fail_run 1 "Slurm job array recycle-first \(job [0-9]+\) .* failed: sbatch exited [0-9]*" "a task that dies: an error with the array's job id" \
	sh "$OPT" -q -d td --harness "$T_DIR/die {ckpt} {out}" $ARGS --runner slurm ck/m1 ck/m2 ck/m3
check "...each task named with its job and its output" \
	'grep -Eq "task 0 \(job [0-9]+_0\) \(baselines/single-0.json\) left no record: .*killed by signal 9 on " err'

# A Slurm failure is an error carrying sbatch's message; --local-retry scores here instead.
fail_run 1 "Slurm job array recycle-first .* failed: sbatch exited [0-9]*: .*nosuch" "sbatch fails: an error with its message" \
	sh "$OPT" -q -d sf -t "$DEV" $ARGS --runner slurm --slurm-opts "--partition=nosuch" ck/m1 ck/m2 ck/m3
check "...and no baseline was scored behind its back" '[ -z "$(ls sf/baselines/*.json 2> /dev/null | grep -v cand)" ]'
ok_run "--local-retry" sh "$OPT" -q -d sf -t "$DEV" $ARGS --runner slurm --local-retry --slurm-opts "--partition=nosuch" ck/m1 ck/m2 ck/m3
check "...finishes, with the local runner's state" 'cmp -s local/cmaes/state.json sf/cmaes/state.json'
# recycle-optimize(1)'s Slurm example, verbatim but for its scale (--budget, -j, the shared
# directory) and its GPU request (this one-node cluster has a "gpu" partition but no GPUs), with
# the lm_eval stand-in on the jobs' PATH and Trainer checkpoint directories.
mkdir -p sbin && cp "$TOP/tests/pipeline/lm_eval" sbin/lm_eval && chmod +x sbin/lm_eval && ln -s "$TOP/pipelines/optimize" sbin/recycle-optimize
i=0
for d in runA/checkpoint-500 runB/checkpoint-500 runC/checkpoint-1000; do
	i=$((i + 1)); cp -r ck/m$i "$d" 2> /dev/null || { mkdir -p "$(dirname "$d")" && cp -r ck/m$i "$d"; }
done
mkdir mx && man_examples "$TOP/man/recycle-optimize.1" mx
sed -e 's/--budget [0-9]*/--budget 8 --popsize 4/' -e 's/-j 32/-j 2/' -e "s|/shared/work|$T_DIR/shared-work|" -e 's/ --gres=gpu:1//' mx/4 > slurm-example.sh
check "recycle-optimize(1)'s fourth example is the Slurm one" 'grep -q -- "--runner slurm" slurm-example.sh'
PATH="$T_DIR/sbin:$PATH" ok_run "recycle-optimize(1)'s Slurm example runs" sh -e slurm-example.sh
check "...through job arrays, to the report and the model" \
	'ls shared-work/cmaes/g0000/jobs.slurm-0.out > /dev/null && [ -s shared-work/report.md ] && ckpt-cat --check shared-work/answer'
t_done
