#!/bin/sh
# pipelines/optimize end to end, with assertions that fail when the optimizer is wrong and not
# only when the plumbing is:
# - a family whose best merge is known (a "distance" harness: the score of a merge is minus its
#   squared distance to a target merge with weights 0.4, 0.3, 0.2, 0.1): the best single, the
#   greedy soup's members, CMA-ES's convergence and the answer's choice are each checked;
# - the built-in evaluator on random Llamas: the answer/ model scores exactly what the report
#   says (also for a TIES merge and a best-single answer), a larger --budget goes on;
# - the lm-eval harness (tests/pipeline/harness, a group with subtasks) gives the built-in
#   evaluator's run bit for bit, and survives kill -9 at random moments;
# - checkpoint names of every kind; a failing candidate; the lock; bad invocations.
. "${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
OPT=$TOP/pipelines/optimize
HARNESS=$TOP/tests/pipeline/harness
# The dev macro-average of a record (the mean of its scores), and of a record's test scores.
mean() { jq -r '[.scores[]] | add / length' "$@"; }

mkdir tasks ck mc
i=0
for w in abc abcd hello world recycle merge tensor weights zebra quiet; do
	i=$((i + 1))
	printf '{"text":"%s %s %s"}\n' "$w" "$w" "$w" >> tasks/words.dev.jsonl
	printf '{"text":"%s-%s"}\n' "$w" "$i" >> tasks/words.test.jsonl
	printf '{"text":"%d+%d=%d"}\n' "$i" "$((i * 7))" "$((i * 8))" >> tasks/sums.dev.jsonl
	printf '{"text":"%d*%d"}\n' "$((i * 3))" "$i" >> tasks/sums.test.jsonl
	# test asks other questions than dev (so that {split} matters)
	for s in dev test; do
		o=0; [ $s = dev ] || o=1
		printf '{"prompt":"%s is","choices":[" %s"," %s"," %s"],"answer":%d}\n' "$w" "$w" "x$w" "${w}y" $(((i + o) % 3)) >> mc/pick.$s.jsonl
		printf '{"prompt":"%d+%d=","choices":["%d","%d"],"answer":%d}\n' "$i" "$((i + o))" $((2 * i + o)) $((2 * i + 1)) $(((i + o) % 2)) >> mc/add.$s.jsonl
	done
done
for s in 1 2 3 4; do
	st-gen --seed $s --scale 0.5 -t f32 --llama hidden=16,layers=1,vocab=256,ff=32,heads=2,kv=1 -o ck/m$s
done
DEV='tasks/words.dev.jsonl tasks/sums.dev.jsonl'
TEST='tasks/words.test.jsonl tasks/sums.test.jsonl'
ARGS="--budget 12 --popsize 4 --seed 5 --surrogate none"

# --- a family with a known optimum -----------------------------------------------------------
mkdir ko
for s in 1 2 3 4; do
	st-gen --seed $s --scale 0.5 -t f32 --llama hidden=8,layers=1,vocab=32,ff=16,heads=2,kv=1 -o ko/m$s
done
wmerge -q -w 0.4,0.3,0.2,0.1 -o target.safetensors ko/m1 ko/m2 ko/m3 ko/m4
cat > distance <<'EOF'
#!/bin/sh
# distance CKPT OUT: minus the mean squared difference of every weight of CKPT and target, as
# lm-eval results ("acc,none": the "dist" task).
d=$(wmerge -q --no-normalize --allow-negative -w 1,-1 "$1" "$T_DIR/target.safetensors" | ckpt-cat --stats - |
	jq -s '[.[] | (.shape | reduce .[] as $d (1; . * $d)) as $n | ((.std * .std + .mean * .mean) * $n)] | add') || exit 1
printf '{"results":{"dist":{"acc,none":%s}}}\n' "$(jq -n "-($d)")" > "$2"
EOF
chmod +x distance
export T_DIR
ok_run "the known-optimum family" sh "$OPT" -q -d wd --harness "$T_DIR/distance {ckpt} {out}" --budget 72 \
	--popsize 6 --seed 2 --no-random --leave-one-out -j 2 ko/m1 ko/m2 ko/m3 ko/m4
check "the best single is m1 (target weight 0.4)" '[ "$(jq -r .label wd/baselines/best-single.json)" = best-single:m1 ]'
check "the greedy soup is m1, m2, m3 (m4 makes it worse)" \
	'[ "$(jq -c "[.weights | to_entries[] | select(.value > 0) | .key]" wd/baselines/greedy.json)" = "[\"m1\",\"m2\",\"m3\"]" ]'
check "CMA-ES finds the target weights to within 0.03" \
	'jq -e "[.weights[]] as \$w | [0.4, 0.3, 0.2, 0.1] as \$t | [range(0; 4) | (\$w[.] - \$t[.]) | fabs] | max < 0.03" wd/final/cmaes-1.rec > /dev/null'
# (With CMA-ES's mean update frozen, the best of 72 samples around uniform weights is 0.038 off
# and 0.29 from the target; CMA-ES gets to 0.017 and 0.041.)
check "CMA-ES gets 30 times closer to the target than the greedy soup" \
	'[ "$(jq -n "$(mean wd/final/cmaes-1.rec) > $(mean wd/baselines/greedy.json) / 30")" = true ]'
best=$(cat wd/final/*.final | jq -s '[.[] | select(.scores) | [.scores[]] | add / length] | max')
check "the answer is CMA-ES's, the best dev score of the finalists ($best)" \
	'case $(jq -r .answer wd/answer.json) in cmaes-*) [ "$(mean wd/answer.json)" = "$best" ] ;; *) false ;; esac'

check "leave-one-out: every checkpoint of the optimum is needed (4 rows, each a loss)" \
	'[ "$(grep -c "^| \`m[1-4]\` | 0\.[0-9]* | -[0-9.]* | [0-9.]* | – | – |$" wd/report.md)" = 4 ]'
check "...each scored as the renormalized merge without it" \
	'[ "$(jq -c .weights wd/final/loo-1.cand.json)" = "$(jq -c ".weights | .m1 = 0 | ([.[]] | add) as \$s | map_values(. / \$s)" wd/final/answer.cand.json)" ]'

# --- built-in evaluator: the answer is the model the report describes --------------------------
ok_run "optimize runs to the end" sh "$OPT" -d w1 -t "$DEV" --test "$TEST" $ARGS -j 2 ck/m1 ck/m2 ck/m3 ck/m4
check "one progress line a generation: evaluations of the budget, best, time" \
	'[ "$(grep -c "^optimize: cmaes: generation [0-9]*: [0-9]*/12 evaluations, best dev soft -*[0-9.]*, [0-9]*s elapsed" err)" = 3 ]'
check "answer, report, model and plots are written" \
	'[ -s w1/answer.json ] && [ -s w1/report.md ] && [ -s w1/front.svg ] && [ -s w1/trace.svg ] && ckpt-cat --check w1/answer'
check "baselines.ndjson has best-single, uniform, greedy, random" \
	'[ "$(jq -r .label w1/baselines.ndjson | sed "s/:.*//" | tr "\n" " ")" = "best-single uniform greedy random " ]'
check "scores.ndjson holds every search evaluation (12 CMA-ES + 12 random)" '[ "$(wc -l < w1/scores.ndjson)" = 24 ]'
rescore() { # WORKDIR TASKS...: answer/ scored again, its scores object
	_w=$1; shift; set -- $(for t in "$@"; do printf ' -t %s' "$t"; done)
	evalrun -q "$@" "$_w/answer" | jq -c .scores
}
SEARCH="w1/tasks/search/words.dev.jsonl w1/tasks/search/sums.dev.jsonl"
SELECT="w1/tasks/select/words.dev.jsonl w1/tasks/select/sums.dev.jsonl"
check "every 5th dev example is held out: 8 searched on, 2 held out a task" \
	'[ "$(cat $SEARCH | wc -l)" = 16 ] && [ "$(cat $SELECT | wc -l)" = 4 ] && [ "$(sed -n 5p tasks/words.dev.jsonl)" = "$(sed -n 1p w1/tasks/select/words.dev.jsonl)" ]'
check "answer/ scores on the searched dev examples what answer.json says" '[ "$(rescore w1 $SEARCH)" = "$(jq -c .scores w1/answer.json)" ]'
check "...and on the held-out ones" '[ "$(rescore w1 $SELECT)" = "$(jq -c .select_scores w1/answer.json)" ]'
best=$(cat w1/final/*.final | jq -s '[.[] | [.select_scores[]] | add / length] | max')
check "the answer is the finalist best on the held-out examples ($best)" '[ "$(jq "[.select_scores[]] | add / length" w1/answer.json)" = "$best" ]'
check "the finalists: baselines, random, CMA-ES's three best and its mean" \
	'[ "$(ls w1/final/*.final | sed "s|.*/||" | tr "\n" " ")" = "best-single.final cmaes-1.final cmaes-2.final cmaes-3.final cmaes-mean.final greedy.final random.final uniform.final " ]'
check "CMA-ES's mean is its distribution's" '[ "$(jq -c .weights w1/final/cmaes-mean.rec)" = "$(cmaes-step status w1/cmaes/state.json | jq -c .mean.weights)" ]'
check "the report gives scores with standard errors" 'grep -q "^| \*\*answer\*\*: [^|]* | -[0-9.]* ± [0-9.]* | -[0-9.]* ± [0-9.]* | -[0-9.]* ± [0-9.]* | [0-9]* |$" w1/report.md'
check "...and compares the answer with the best baseline on test" \
	'grep -q "^The answer is the best baseline (.*) itself.$" w1/report.md || grep -q "^Best baseline (by its select score): .*paired bootstrap 95% interval \[-*[0-9.]*, -*[0-9.]*\] .*: .*\(better\|worse\|within the noise\)" w1/report.md'
check "answer/ scores on test what answer.json says" '[ "$(rescore w1 $TEST)" = "$(jq -c .test_scores w1/answer.json)" ]'
check "the report's answer row carries those numbers" \
	'grep -q "^| \*\*answer\*\*: $(jq -r .label w1/answer.json) | $(mean w1/answer.json | jq "(. * 10000 | round) / 10000") ± " w1/report.md'
ok_run "a finished run started again does nothing new" sh "$OPT" -q -d w1 -t "$DEV" --test "$TEST" $ARGS -j 2 ck/m1 ck/m2 ck/m3 ck/m4
check "...and leaves the same answer" '[ "$(jq -c .weights w1/answer.json)" = "$(jq -c .weights w1/answer.json)" ] && [ "$(wc -l < w1/scores.ndjson)" = 24 ]'
check "the default search: CMA-ES from the greedy soup's weights with a step of 0.02" \
	'[ "$(jq -r ".x0, (.cmaes_opts | index(\"--sigma\") as \$i | .[\$i + 1])" w1/run.json | tr "\n" " ")" = "greedy 0.02 " ] &&
	 [ "$(jq -c "[.weights[]]" w1/baselines/greedy.json)" = "$(jq -c .x0 w1/cmaes/state.json)" ] && [ "$(jq .sigma0 w1/cmaes/state.json)" = 0.02 ]'
# The test score of each search's running best, for trace.svg.
check "trace: every candidate that became CMA-ES's best so far, in order, each scored on test" \
	'cat w1/cmaes/g*/told.ndjson | jq -s -c "[foreach .[] as \$r ({b: null, i: 0}; (\$r | [.scores[]] | add / length) as \$m
		| .i += 1 | .isnew = (.b == null or \$m > .b) | if .isnew then .b = \$m else . end; select(.isnew) | {evals: .i, weights: \$r.weights})]" > cm.json &&
	 [ "$(jq -s -c "map({evals, weights})" w1/cmaes/best-test.ndjson)" = "$(cat cm.json)" ] &&
	 [ "$(jq -s "map(select(.scores | length == 2)) | length" w1/cmaes/best-test.ndjson)" = "$(jq length cm.json)" ]'
check "...the last of them is CMA-ES's best, with its finalist's test scores" \
	'[ "$(tail -n 1 w1/cmaes/best-test.ndjson | jq -c "[.weights, .scores]")" = "$(jq -c "[.weights, .test_scores]" w1/final/cmaes-1.final)" ]'
check "...and random search's too" '[ "$(tail -n 1 w1/random/best-test.ndjson | jq -c .weights)" = "$(jq -c .weights w1/final/random.final)" ]'
ok_run "--version" sh "$OPT" --version
check "...prints the version" 'grep -q "^optimize (recycle) [0-9]" out'

# A larger budget goes on from where the run stopped, to the state of a run with that budget.
ok_run "--budget 20 on the finished run" sh "$OPT" -q -d w1 -t "$DEV" --test "$TEST" --budget 20 --surrogate none --popsize 4 --seed 5 -j 2 ck/m1 ck/m2 ck/m3 ck/m4
check "...scored 8 more candidates each" '[ "$(wc -l < w1/scores.ndjson)" = 40 ]'
ok_run "a run with --budget 20 from the start" sh "$OPT" -q -d w20 -t "$DEV" --test "$TEST" --budget 20 --surrogate none --popsize 4 --seed 5 -j 2 ck/m1 ck/m2 ck/m3 ck/m4
cmp_files "the extended CMA-ES state equals it" w20/cmaes/state.json w1/cmaes/state.json
# An interrupted run (killed in CMA-ES) given a larger budget goes on to that budget's state.
setsid sh "$OPT" -q -d wi -t "$DEV" --test "$TEST" $ARGS -j 2 ck/m1 ck/m2 ck/m3 ck/m4 > /dev/null 2>&1 &
pid=$!
i=0; while [ ! -s wi/cmaes/g0000/told.ndjson ] && [ $i -lt 1200 ] && kill -0 $pid 2> /dev/null; do sleep 0.1; i=$((i + 1)); done
kill -9 -$pid 2> /dev/null; wait $pid 2> /dev/null
check "a run killed during CMA-ES" '[ -s wi/cmaes/g0000/told.ndjson ] && [ "$(jq .evals wi/cmaes/state.json)" -lt 12 ] && [ ! -e wi/report.md ]'
ok_run "...given --budget 20" sh "$OPT" -q -d wi -t "$DEV" --test "$TEST" --budget 20 --surrogate none --popsize 4 --seed 5 -j 2 ck/m1 ck/m2 ck/m3 ck/m4
cmp_files "...reaches the state of a run with that budget" w20/cmaes/state.json wi/cmaes/state.json
ok_run "the make runner (optimize.mk)" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -f "$TOP/pipelines/optimize.mk" -j 2 \
	WORK=wmk DEV="$DEV" TEST="$TEST" CKPTS='ck/m1 ck/m2 ck/m3 ck/m4' BUDGET=20 OPTIMIZE_OPTS='--surrogate none --popsize 4 --seed 5 -q'
cmp_files "...reaches the local runner's state" w20/cmaes/state.json wmk/cmaes/state.json
fail_run 1 "budget 8 is less than the run's 20" "a smaller budget is refused" \
	sh "$OPT" -q -d w1 -t "$DEV" --test "$TEST" --budget 8 --surrogate none --popsize 4 --seed 5 ck/m1 ck/m2 ck/m3 ck/m4
fail_run 1 "other settings \(cmaes_opts: was .*--seed.*\"5\".*now .*\"6\"" "another setting is refused, and named" \
	sh "$OPT" -q -d w1 -t "$DEV" --test "$TEST" --budget 20 --surrogate none --popsize 4 --seed 6 ck/m1 ck/m2 ck/m3 ck/m4
fail_run 1 "other settings \(cmaes_opts: was .*0.02.*; x0: was \"greedy\", now \"uniform\"" "...the start too (a run of the old default)" \
	sh "$OPT" -q -d w1 -t "$DEV" --test "$TEST" --budget 20 --surrogate none --popsize 4 --seed 5 --x0 uniform ck/m1 ck/m2 ck/m3 ck/m4
ok_run "--no-trace-test on the finished run (only the report step changes)" \
	sh "$OPT" -q -d w1 -t "$DEV" --test "$TEST" --budget 20 --surrogate none --popsize 4 --seed 5 --no-trace-test -j 2 ck/m1 ck/m2 ck/m3 ck/m4
check "...no running best scored on test, nothing else scored again" \
	'[ ! -e w1/cmaes/best-test.ndjson ] && [ ! -e w1/random/best-test.ndjson ] && [ "$(wc -l < w1/scores.ndjson)" = 40 ]'

# The paired bootstrap of answer − best baseline on test, checked against the normal
# approximation from the same per-example outcomes (a wrong pairing or indexing breaks it).
ok_run "a run whose answer is CMA-ES's (from greedy, no holdout)" sh "$OPT" -q -d wbs -t "$DEV" --test "$TEST" --budget 16 \
	--surrogate none --popsize 4 --seed 2 --x0 greedy --sigma 0.1 --no-random --holdout 0 -j 2 ck/m1 ck/m2 ck/m3 ck/m4
line=$(grep "^Best baseline (by its dev score): greedy. Answer − best baseline on test: " wbs/report.md)
lo=$(printf '%s\n' "$line" | sed -n 's/.*interval \[\([-0-9.]*\), \([-0-9.]*\)\].*/\1/p')
hi=$(printf '%s\n' "$line" | sed -n 's/.*interval \[\([-0-9.]*\), \([-0-9.]*\)\].*/\2/p')
half=$(jq -s '.[0].test_examples as $a | .[1].test_examples as $b | [$a | keys[] as $t |
	[range(0; $a[$t] | length) as $i | $a[$t][$i] - $b[$t][$i]] as $d | ($d | length) as $n | ($d | add / $n) as $m |
	([$d[] | (. - $m) * (. - $m)] | add / $n / $n)] | add | sqrt / 2 * 1.96' wbs/final/cmaes-1.final wbs/final/greedy.final)
d=$(jq -s 'def m: [.test_scores[]] | add / length; (.[0] | m) - (.[1] | m)' wbs/final/cmaes-1.final wbs/final/greedy.final)
check "the bootstrap interval holds the difference ($lo < $d < $hi)" '[ "$(jq -n "$lo < $d and $d < $hi")" = true ]'
check "its half-width is the normal approximation's within 20% ($half)" \
	'[ "$(jq -n "(($hi - $lo) / 2 / $half - 1) | fabs < 0.2")" = true ]'
check "it says whether the gain is within the noise" 'printf "%s" "$line" | grep -q "within the noise\|better than\|worse than"'

# TIES: every merge (soups, search, answer) uses the merge options, and the report says so.
# (The base is a relative path: merges run in the directory optimize was started in.)
ok_run "--merge-opts ties" sh "$OPT" -q -d wt -t "$DEV" --test "$TEST" --budget 8 --surrogate none --popsize 4 --seed 1 \
	--merge-opts "-m ties -b ck/m1 -d 0.5" ck/m1 ck/m2 ck/m3 ck/m4
check "TIES: answer/ scores what answer.json says, dev and test" \
	'[ "$(rescore wt wt/tasks/search/words.dev.jsonl wt/tasks/search/sums.dev.jsonl)" = "$(jq -c .scores wt/answer.json)" ] &&
	 [ "$(rescore wt $TEST)" = "$(jq -c .test_scores wt/answer.json)" ]'
check "TIES: the report names the merge and its options" 'grep -q "^- merge: wmerge -m ties -b ck/m1 -d 0.5;" wt/report.md'
# A best-single answer is that checkpoint, not a merge with one non-zero weight.
mkdir -p bs && cp -r ck/m1 bs/good && st-gen --seed 9 --scale 3 -t f32 --llama hidden=16,layers=1,vocab=256,ff=32,heads=2,kv=1 -o bs/bad1 &&
	st-gen --seed 10 --scale 3 -t f32 --llama hidden=16,layers=1,vocab=256,ff=32,heads=2,kv=1 -o bs/bad2
ok_run "a run whose best is one checkpoint" sh "$OPT" -q -d wb1 -t "$DEV" --budget 4 --popsize 4 --no-random \
	--merge-opts "-m ties -b $T_DIR/bs/bad1 -d 0.5" bs/good bs/bad1 bs/bad2
if [ "$(jq -r .answer wb1/answer.json)" = best-single ]; then
	check "a best-single answer/ holds that checkpoint's tensors" '[ "$(ckpt-cat wb1/answer | cksum)" = "$(ckpt-cat bs/good | cksum)" ]'
	check "...and the report says so" 'grep -q "^- answer model: the checkpoint .good. itself" wb1/report.md'
else
	t_notok "the best single checkpoint was not the answer: $(jq -r .answer wb1/answer.json)"
fi

# --- the harness path: lm-eval JSON with a group, the built-in evaluator's run bit for bit ----------
MC="mc/pick.dev.jsonl mc/add.dev.jsonl"
ok_run "built-in evaluator on multiple choice" sh "$OPT" -q -d wbi -t "$MC" --test "mc/pick.test.jsonl mc/add.test.jsonl" --holdout 0 --fitness score \
	$ARGS -j 2 ck/m1 ck/m2 ck/m3 ck/m4
ok_run "the same through the lm-eval harness" sh "$OPT" -q -d wh --harness "$HARNESS {ckpt} {out} {split} $T_DIR/mc" \
	--scratch "$T_DIR/scr" $ARGS -j 2 ck/m1 ck/m2 ck/m3 ck/m4
check "the group counts once: one score a record" '[ "$(jq -c ".scores | keys" wh/answer.json)" = "[\"suite\"]" ]'
cmp_files "the same CMA-ES state as the built-in evaluator's" wbi/cmaes/state.json wh/cmaes/state.json
check "the same answer, weights and dev and test means" \
	'[ "$(jq -c .weights wbi/answer.json)" = "$(jq -c .weights wh/answer.json)" ] &&
	 [ "$(mean wbi/answer.json)" = "$(mean wh/answer.json)" ] &&
	 [ "$(jq "[.test_scores[]] | add / length" wbi/answer.json)" = "$(jq ".test_scores.suite" wh/answer.json)" ]'
check "scratch directories are removed once scored" '[ -d scr ] && [ -z "$(ls scr)" ]'
check "test was scored on the test split ({split}), not dev again" \
	'[ "$(jq ".test_scores.suite" wh/answer.json)" != "$(jq ".scores.suite" wh/answer.json)" ]'
"$HARNESS" wh/answer hd.json dev "$T_DIR/mc" && "$HARNESS" wh/answer ht.json test "$T_DIR/mc"
check "answer/ scored again by the harness gets the reported dev and test scores" \
	'jq -n -e --slurpfile d hd.json --slurpfile t ht.json --slurpfile a wh/answer.json \
		"\$d[0].results.suite[\"acc,none\"] == \$a[0].scores.suite and \$t[0].results.suite[\"acc,none\"] == \$a[0].test_scores.suite" > /dev/null'
ok_run "--scratch may change on a resumed run" sh "$OPT" -q -d wh --harness "$HARNESS {ckpt} {out} {split} $T_DIR/mc" \
	--scratch "$T_DIR/scr3" $ARGS -j 2 ck/m1 ck/m2 ck/m3 ck/m4

# A relative harness, from another directory, sharing its scratch directory with another run;
# every evaluation of CMA-ES's first generation fails (a cause common to all: not told to the
# search); once the cause is gone, a rerun scores them again and ends where wh ended.
mkdir -p sub scr2/evalrun.other
cat > sub/h <<EOF
#!/bin/sh
n=\$(flock count.lock sh -c 'n=\$((\$(cat count 2> /dev/null || echo 0) + 1)); echo \$n > count; echo \$n')
if [ -e broken ] && [ \$n -gt 8 ]; then echo "h: CUDA out of memory" >&2; exit 3; fi
exec "$HARNESS" "\$1" "\$2" "\$3" ../mc
EOF
chmod +x sub/h && : > sub/broken
cd sub || exit 1
fail_run 1 "every evaluation of .*/cmaes/g0000/jobs.list failed \(4\), the first: candidate g0000-0[0-3] \(dev\): .*h: CUDA out of memory" \
	"a generation whose every evaluation fails stops the run, with the first error" \
	sh "$OPT" -q -d ../wf --harness './h {ckpt} {out} {split}' --scratch ../scr2 $ARGS -j 2 ../ck/m1 ../ck/m2 ../ck/m3 ../ck/m4
cd "$T_DIR" || exit 1
check "...the harness ran in the directory optimize was started in" '[ -s sub/count ]'
check "...nothing was told to the search" '[ ! -e wf/cmaes/g0000/told.ndjson ] && [ "$(jq .evals wf/cmaes/state.json)" = 0 ]'
rm -f sub/broken
cd sub || exit 1
ok_run "the cause gone, the same run again" sh "$OPT" -d ../wf --harness './h {ckpt} {out} {split}' --scratch ../scr2 $ARGS -j 2 \
	../ck/m1 ../ck/m2 ../ck/m3 ../ck/m4
cd "$T_DIR" || exit 1
check "...retries the failed evaluations" 'grep -q "retrying 4 evaluation(s) of jobs.list that failed in an earlier run" sub/err'
cmp_files "...and reaches the uninterrupted run's CMA-ES state" wh/cmaes/state.json wf/cmaes/state.json
untimed wh/answer.json > a2; untimed wf/answer.json > a3
cmp_files "...and answer" a2 a3
check "a shared scratch directory: another run's directory is left alone, this run's removed" \
	'[ "$(ls scr2)" = evalrun.other ]'

# kill -9 on the harness path at random moments until it finishes; the end state must equal the
# uninterrupted run's.
kills=0
for delay in 0.1 0.3 0.2 0.4 0.2 0.5 0.3 0.6 0.4 0.8 0.5 1.0 0.7 1.5 1.0 2.0 3.0 5.0 8.0; do
	[ -s wk/report.md ] && break
	setsid sh "$OPT" -q -d wk --harness "$HARNESS {ckpt} {out} {split} $T_DIR/mc" --scratch "$T_DIR/scr" \
		$ARGS -j 2 ck/m1 ck/m2 ck/m3 ck/m4 > /dev/null 2>&1 &
	pid=$!
	sleep $delay
	if kill -0 $pid 2>/dev/null; then kill -9 -$pid 2>/dev/null; kills=$((kills + 1)); fi
	wait $pid 2>/dev/null
done
[ -s wk/report.md ] || sh "$OPT" -q -d wk --harness "$HARNESS {ckpt} {out} {split} $T_DIR/mc" --scratch "$T_DIR/scr" \
	$ARGS -j 2 ck/m1 ck/m2 ck/m3 ck/m4 > /dev/null 2>&1
check "killed $kills times, the run finished" '[ $kills -ge 2 ] && [ -s wk/report.md ]'
cmp_files "same CMA-ES state as the uninterrupted run" wh/cmaes/state.json wk/cmaes/state.json
cmp_files "same random-search state" wh/random/state.json wk/random/state.json
untimed wh/scores.ndjson > s2; untimed wk/scores.ndjson > s3
cmp_files "same scores.ndjson" s2 s3
untimed wh/answer.json > a2; untimed wk/answer.json > a3
cmp_files "same answer" a2 a3
check "no temporary file left behind" '[ -z "$(find wk -name "*.tmp*" -o -name "*.err.*")" ]'

# --- names: the Trainer layout, and every character a file system allows ------------------------
mkdir -p n/runA n/runB
cp -r ck/m1 n/runA/checkpoint-500; cp -r ck/m2 n/runB/checkpoint-500
cp -r ck/m3 'n/lr=1e-3,bs=32'; cp -r ck/m4 'n/step 500'
cp -r ck/m1 "n/q'uo\"te"; cp -r ck/m2 'n/é-ü'
ok_run "names from paths: Trainer layout, commas, spaces, =, quotes, non-ASCII" \
	sh "$OPT" -q -d 'w n' -t "$DEV" --test "$TEST" --budget 8 --surrogate none --popsize 4 --seed 3 -j 2 \
	n/runA/checkpoint-500 n/runB/checkpoint-500 'n/lr=1e-3,bs=32' 'n/step 500' "n/q'uo\"te" 'n/é-ü'
want='["runA-checkpoint-500","runB-checkpoint-500","lr=1e-3,bs=32","step 500","q'"'"'uo\"te","é-ü"]'
check "the names, unique from the paths" '[ "$(jq -c "[.ckpts[].name]" "w n/run.json")" = "$want" ]'
check "the answer's weights are keyed by them" '[ "$(jq -c "[.weights | keys_unsorted[]]" "w n/answer.json")" = "$want" ]'
check "CMA-ES records are keyed by them" '[ "$(head -n 1 "w n/scores.ndjson" | jq -c "[.weights | keys_unsorted[]]")" = "$want" ]'
check "the report lists them" 'grep -qF "\`lr=1e-3,bs=32\`" "w n/report.md" && grep -qF "\`q'"'"'uo\"te\`" "w n/report.md"'
check "the answer is a model" 'ckpt-cat --check "w n/answer"'
# Through lm_eval (the stand-in parses --model_args as lm_eval does, splitting at commas): a
# single checkpoint whose path has a comma is given as a link to it.
mkdir -p sbin && cp "$TOP/tests/pipeline/lm_eval" sbin/lm_eval && chmod +x sbin/lm_eval
PATH="$T_DIR/sbin:$PATH" ok_run "...and through lm_eval" sh "$OPT" -q -d wnh --budget 4 --popsize 4 --no-random -j 2 \
	--harness 'lm_eval --model hf --model_args pretrained={ckpt} --tasks gsm8k,mmlu --output_path {out}' \
	'n/lr=1e-3,bs=32' 'n/step 500' "n/q'uo\"te" 'n/é-ü'
check "...every checkpoint scored alone, nothing left in the scratch directory" \
	'[ "$(cat wnh/baselines/single-?.json | jq -s "map(select(.scores.gsm8k != null)) | length")" = 4 ] && [ -z "$(ls wnh/scratch)" ]'
ok_run "--name gives the names" sh "$OPT" -q -d wn2 -t "$DEV" --budget 4 --popsize 4 --no-random \
	--name 'a, b' --name 'ä "b"' n/runA/checkpoint-500 n/runB/checkpoint-500
check "...and they are used" '[ "$(jq -c "[.ckpts[].name]" wn2/run.json)" = "[\"a, b\",\"ä \\\"b\\\"\"]" ]'

# --- a candidate whose merge fails is recorded as failed and the loop goes on ------------------
mkdir wrap
cat > wrap/wmerge <<WRAP
#!/bin/sh
# The 5th merge to a stream (4 checkpoints: uniform and 3 greedy steps come first) fails.
case " \$* " in *" -o "*) exec "$BIN/wmerge" "\$@" ;; esac
n=\$((\$(cat "$T_DIR/merges" 2> /dev/null || echo 0) + 1)); echo \$n > "$T_DIR/merges"
[ \$n -ne 5 ] || { echo "wmerge: injected failure" >&2; exit 1; }
exec "$BIN/wmerge" "\$@"
WRAP
chmod +x wrap/wmerge
PATH="$T_DIR/wrap:$PATH" ok_run "a failing candidate does not stop the run" sh "$OPT" -q -d w4 -t "$DEV" $ARGS --no-random \
	--x0 uniform ck/m1 ck/m2 ck/m3 ck/m4
check "it is recorded as failed, with the candidate and the error" \
	'[ "$(jq -r "select(.failed) | .error" w4/scores.ndjson)" = "candidate g0000-00 (dev): wmerge exited 1; evalrun exited 1: wmerge: injected failure $(jq -r "select(.failed) | .error" w4/scores.ndjson | sed "s/.*injected failure //")" ]'
check "the others of its generation were scored" '[ "$(jq -r "select(.gen == 0 and .scores) | .id" w4/scores.ndjson | wc -l)" = 3 ]'

# --- the lock, settings, bad invocations --------------------------------------------------------
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

fail_run 2 "--holdout is for the built-in evaluator" "--holdout with --harness" sh "$OPT" -d x --harness true --holdout 5 ck/m1 ck/m2
fail_run 2 "--holdout: not a non-negative integer" "--holdout x" sh "$OPT" -d x -t "$DEV" --holdout x ck/m1 ck/m2
fail_run 1 "fewer than 20 examples" "--holdout larger than a task" sh "$OPT" -d x -t "$DEV" --holdout 20 ck/m1 ck/m2
fail_run 2 "-o WORKDIR is required" "no -o" sh "$OPT" -t "$DEV" ck/m1 ck/m2
fail_run 2 "-t DEV_TASKS or --harness CMD is required" "no tasks and no harness" sh "$OPT" -d x ck/m1 ck/m2
fail_run 2 "do not go together" "-t and --harness" sh "$OPT" -d x -t "$DEV" --harness true ck/m1 ck/m2
fail_run 2 "--metric is for --harness" "--metric without --harness" sh "$OPT" -d x -t "$DEV" --metric acc ck/m1 ck/m2
fail_run 2 "--name: given 1 times for 2 checkpoints" "--name for some checkpoints only" sh "$OPT" -d x -t "$DEV" --name a ck/m1 ck/m2
fail_run 2 "--local-retry is for --runner slurm" "--local-retry without slurm" sh "$OPT" -d x -t "$DEV" --local-retry ck/m1 ck/m2
fail_run 2 "softmax weights are never 0" "--x0 greedy with --map softmax" sh "$OPT" -d x -t "$DEV" --x0 greedy --map softmax ck/m1 ck/m2
fail_run 2 "unknown option --frobnicate" "an unknown option" sh "$OPT" --frobnicate -d x -t "$DEV" ck/m1 ck/m2
fail_run 2 "at least two checkpoints" "one checkpoint" sh "$OPT" -d x -t "$DEV" ck/m1
fail_run 2 "budget" "a bad budget" sh "$OPT" -d x -t "$DEV" --budget ten ck/m1 ck/m2
fail_run 1 "nope: no such checkpoint" "a missing checkpoint" sh "$OPT" -d x -t "$DEV" ck/m1 nope
fail_run 1 "given twice" "one checkpoint twice" sh "$OPT" -d x -t "$DEV" ck/m1 ck/../ck/m1
fail_run 1 "no-such.jsonl: no such task file" "a missing task file" sh "$OPT" -d x -t no-such.jsonl ck/m1 ck/m2
ok_run "-t twice adds both files (and -o is -d)" sh "$OPT" -q -o wtt -t tasks/words.dev.jsonl -t tasks/sums.dev.jsonl --budget 4 --popsize 4 --no-random ck/m1 ck/m2
check "...both score" '[ "$(jq -c ".scores | keys" wtt/answer.json)" = "[\"sums\",\"words\"]" ]'
t_done
