#!/bin/sh
# pipelines/optimize end to end on a tiny family of random Llama checkpoints scored by the real
# evalrun on text tasks (mean log-likelihood differs from model to model): the answer against the
# baselines, the report, resuming after kill -9 at random moments, a failing candidate, the lock,
# and bad invocations.
. "${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
OPT=$TOP/pipelines/optimize

mkdir tasks ck
i=0
for w in abc abcd hello world recycle merge tensor weights zebra quiet; do
	i=$((i + 1))
	printf '{"text":"%s %s %s"}\n' "$w" "$w" "$w" >> tasks/words.dev.jsonl
	printf '{"text":"%s-%s"}\n' "$w" "$i" >> tasks/words.test.jsonl
	printf '{"text":"%d+%d=%d"}\n' "$i" "$((i * 7))" "$((i * 8))" >> tasks/sums.dev.jsonl
	printf '{"text":"%d*%d"}\n' "$((i * 3))" "$i" >> tasks/sums.test.jsonl
done
for s in 1 2 3 4; do
	st-gen --seed $s --scale 0.5 -t f32 --llama hidden=16,layers=1,vocab=256,ff=32,heads=2,kv=1 -o ck/m$s
done
DEV='tasks/words.dev.jsonl tasks/sums.dev.jsonl'
TEST='tasks/words.test.jsonl tasks/sums.test.jsonl'
ARGS="--budget 12 --popsize 4 --seed 5"

ok_run "optimize runs to the end" sh "$OPT" -q -d w1 -t "$DEV" --test "$TEST" $ARGS -j 2 ck/m1 ck/m2 ck/m3 ck/m4
check "answer, report, model and plots are written" \
	'[ -s w1/answer.json ] && [ -s w1/report.md ] && [ -s w1/front.svg ] && [ -s w1/trace.svg ] && ckpt-cat --check w1/answer'
check "baselines.ndjson has best-single, uniform, greedy, random" \
	'[ "$(grep -c "\"label\":\"\(best-single:m[1-4]\|uniform\|greedy\|random\)\"" w1/baselines.ndjson)" = 4 ]'
mean() { sed -n "s/.*\"$1\":{\([^}]*\)}.*/\1/p" | awk -F, '{ s = 0; for (i = 1; i <= NF; i++) { split($i, kv, ":"); s += kv[2] } printf "%.17g\n", s / NF }'; }
a=$(mean scores < w1/answer.json)
worse=$(mean scores < w1/baselines.ndjson | awk -v a="$a" '$1 > a' | wc -l)
check "the answer is at least as good on dev as every baseline ($a)" '[ "$worse" = 0 ]'
check "the answer carries test scores" 'grep -q "\"test_scores\":{[^}]*\"sums\":" w1/answer.json'
check "scores.ndjson holds every search evaluation (12 CMA-ES + 12 random)" '[ "$(wc -l < w1/scores.ndjson)" = 24 ]'
check "the report's table has a row per method" \
	'grep -q "^| \*\*answer\*\*" w1/report.md && grep -q "^| uniform |" w1/report.md && grep -q "^| greedy |" w1/report.md'
ok_run "a finished run started again does nothing new" sh "$OPT" -q -d w1 -t "$DEV" --test "$TEST" $ARGS -j 2 ck/m1 ck/m2 ck/m3 ck/m4
check "...and leaves the same answer" '[ "$(mean scores < w1/answer.json)" = "$a" ]'

# Resume: kill -9 the whole run at random moments until it finishes; the end state must equal an
# uninterrupted run's (w2: no --test, for speed).
ok_run "uninterrupted reference run" sh "$OPT" -q -d w2 -t "$DEV" $ARGS ck/m1 ck/m2 ck/m3 ck/m4
kills=0
for delay in 0.1 0.3 0.2 0.4 0.2 0.5 0.3 0.6 0.4 0.8 0.5 1.0 0.7 1.5 1.0 2.0 3.0 5.0 8.0; do
	[ -s w3/report.md ] && break
	setsid sh "$OPT" -q -d w3 -t "$DEV" $ARGS ck/m1 ck/m2 ck/m3 ck/m4 > /dev/null 2>&1 &
	pid=$!
	sleep $delay
	if kill -0 $pid 2>/dev/null; then kill -9 -$pid 2>/dev/null; kills=$((kills + 1)); fi
	wait $pid 2>/dev/null
done
[ -s w3/report.md ] || sh "$OPT" -q -d w3 -t "$DEV" $ARGS ck/m1 ck/m2 ck/m3 ck/m4 > /dev/null 2>&1
check "killed $kills times, the run finished" '[ $kills -ge 2 ] && [ -s w3/report.md ]'
cmp_files "same CMA-ES state as the uninterrupted run" w2/cmaes/state.json w3/cmaes/state.json
cmp_files "same random-search state" w2/random/state.json w3/random/state.json
# Records carry their evaluation's timing ("eval"), which no two runs share: compare the rest.
untimed() { sed 's/,"eval":{[^}]*}//' "$1"; }
untimed w2/scores.ndjson > s2; untimed w3/scores.ndjson > s3
cmp_files "same scores.ndjson" s2 s3
untimed w2/answer.json > a2; untimed w3/answer.json > a3
cmp_files "same answer" a2 a3
check "no temporary file left behind" '[ -z "$(find w3 -name "*.tmp*" -o -name ".*.tmp.*")" ]'

# A candidate whose merge fails is recorded as failed and the loop goes on.
mkdir wrap
cat > wrap/wmerge <<WRAP
#!/bin/sh
for a in "\$@"; do case \$a in @*) grep -q '"g0001-01"' "\${a#@}" && { echo "wmerge: injected failure" >&2; exit 1; } ;; esac; done
exec "$BIN/wmerge" "\$@"
WRAP
chmod +x wrap/wmerge
PATH="$T_DIR/wrap:$PATH" ok_run "a failing candidate does not stop the run" sh "$OPT" -q -d w4 -t "$DEV" $ARGS --no-random ck/m1 ck/m2 ck/m3 ck/m4
check "it is recorded as failed, with the error" \
	'grep "\"id\":\"g0001-01\"" w4/scores.ndjson | grep -q "\"failed\":true,\"error\":\"[^\"]*injected failure"'
check "the others of its generation were scored" '[ "$(grep "\"gen\":1," w4/scores.ndjson | grep -c "\"scores\"")" = 3 ]'

# The lock: a second run in the same directory is refused while the first holds it.
cat > wrap/evalrun <<WRAP
#!/bin/sh
sleep 1
exec "$BIN/evalrun" "\$@"
WRAP
chmod +x wrap/evalrun
PATH="$T_DIR/wrap:$PATH" setsid sh "$OPT" -q -d w5 -t "$DEV" $ARGS ck/m1 ck/m2 > /dev/null 2>&1 &
pid=$!
sleep 0.5
fail_run 1 "another run holds this work directory" "a second run in the same work directory is refused" \
	sh "$OPT" -q -d w5 -t "$DEV" $ARGS ck/m1 ck/m2
kill -9 -$pid 2>/dev/null; wait $pid 2>/dev/null

fail_run 1 "was started with other settings" "resuming with other settings is refused" \
	sh "$OPT" -q -d w2 -t "$DEV" --budget 13 --popsize 4 --seed 5 ck/m1 ck/m2 ck/m3 ck/m4
fail_run 2 "WORKDIR is required" "no -d" sh "$OPT" -t "$DEV" ck/m1 ck/m2
fail_run 2 "unknown option --frobnicate" "an unknown option" sh "$OPT" --frobnicate -d x -t "$DEV" ck/m1 ck/m2
fail_run 2 "at least two checkpoints" "one checkpoint" sh "$OPT" -d x -t "$DEV" ck/m1
fail_run 2 "budget" "a bad budget" sh "$OPT" -d x -t "$DEV" --budget ten ck/m1 ck/m2
fail_run 1 "nope: no such checkpoint" "a missing checkpoint" sh "$OPT" -d x -t "$DEV" ck/m1 nope
fail_run 1 "two checkpoints are named 'm1'" "two checkpoints with one name" sh "$OPT" -d x -t "$DEV" ck/m1 ck/../ck/m1
fail_run 1 "no-such.jsonl: no such task file" "a missing task file" sh "$OPT" -d x -t no-such.jsonl ck/m1 ck/m2
t_done
