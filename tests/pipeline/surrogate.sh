#!/bin/sh
# optimize --surrogate lq: CMA-ES's generations evaluated in the steps lq-surr decides; told.ndjson
# holds the evaluated records, modeled.ndjson the others (together each generation's candidates);
# the budget counts evaluations; the first generation evaluates 5, later ones fewer than the
# population; a run killed at random moments ends in the uninterrupted run's state; a larger
# budget goes on; the setting is part of the run (a run from before it had none); bad values are
# refused.
. "${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
OPT=$TOP/pipelines/optimize

mkdir t ck
i=0
for w in abc hello world merge tensor zebra quiet weights; do
	i=$((i + 1))
	printf '{"prompt":"%s ","target":"%s"}\n' "$w" "$w" >> t/echo.dev.jsonl
	printf '{"prompt":"%d+%d=","choices":["%d","%d"],"answer":%d}\n' "$i" "$i" $((2 * i)) $((2 * i + 1)) $((i % 2)) >> t/add.dev.jsonl
done
for s in 1 2 3 4; do
	gen --seed $s --scale 0.5 -t f32 --llama hidden=16,layers=1,vocab=256,ff=32,heads=2,kv=1 -o ck/m$s
done
DEV='t/echo.dev.jsonl t/add.dev.jsonl'
ARGS="--budget 20 --popsize 6 --seed 3 --holdout 0 --no-random --no-trace-test"
CK="ck/m1 ck/m2 ck/m3 ck/m4"

ok_run "optimize --surrogate lq" sh "$OPT" -o w -t "$DEV" --surrogate lq $ARGS $CK
check "run.json says lq" '[ "$(jq -r .surrogate w/run.json)" = lq ]'
ev=$(jq .evals w/cmaes/state.json) mo=$(jq .told w/cmaes/state.json)
mo=$((mo - ev))
check "the budget counts evaluations: $ev (20 to 25), and $mo candidates were modeled" \
	'[ "$ev" -ge 20 ] && [ "$ev" -lt 26 ] && [ "$mo" -gt 0 ]'
for f in w/cmaes/g*/*.json; do case $f in *.cand.json) ;; *) echo "$f" ;; esac; done > recs
check "one scored record a counted evaluation ($(wc -l < recs))" '[ "$(wc -l < recs)" -eq "$ev" ]'
check "told.ndjson: the scored records, none modeled" \
	'[ "$(cat w/cmaes/g*/told.ndjson | jq -r .id | sort)" = "$(xargs cat < recs | jq -r .id | sort)" ] &&
	 cat w/cmaes/g*/told.ndjson | jq -s -e "all(.[]; .surrogate != true and (.scores | length) == 2)" > /dev/null'
check "modeled.ndjson: the others, with the model's fitness and no scores" \
	'cat w/cmaes/g*/modeled.ndjson | jq -s -e "length == $mo and all(.[]; .surrogate == true and .scores == null and (.fitness | type) == \"number\")" > /dev/null'
bad=$(for g in w/cmaes/g*/; do
	[ "$(cat "$g"told.ndjson "$g"modeled.ndjson 2> /dev/null | jq -r .id | sort)" = "$(jq -r .id "$g"*.cand.json | sort)" ] || echo "$g"
done)
check "each generation: told + modeled = its candidates${bad:+ (not: $bad)}" '[ -z "$bad" ]'
check "the first generation evaluated 5 of 6" '[ "$(wc -l < w/cmaes/g0000/told.ndjson)" -eq 5 ]'
check "later generations fewer than the population" \
	'[ "$(cat w/cmaes/g000[1-9]/told.ndjson | wc -l)" -lt "$(($(ls -d w/cmaes/g000[1-9] | wc -l) * 6))" ]'
check "no step file left (next, archive, scored, fill)" '[ -z "$(find w -name "*.tmp*")" ]'
check "the report counts the evaluations" 'grep -q "$ev" w/report.md'

# kill -9 at random moments until it finishes: the end state is the uninterrupted run's.
kills=0
for delay in 0.3 0.7 0.5 1.1 0.9 1.6 1.3 2.2 3.0 4.0 6.0; do
	[ -s wk/report.md ] && break
	setsid sh "$OPT" -o wk -t "$DEV" --surrogate lq $ARGS $CK > /dev/null 2>&1 &
	pid=$!
	sleep $delay
	if kill -0 $pid 2>/dev/null; then kill -9 -$pid 2>/dev/null; kills=$((kills + 1)); fi
	wait $pid 2>/dev/null
done
[ -s wk/report.md ] || sh "$OPT" -o wk -t "$DEV" --surrogate lq $ARGS $CK > /dev/null 2>&1
check "killed $kills times, the run finished" '[ $kills -ge 2 ] && [ -s wk/report.md ]'
cmp_files "same CMA-ES state as the uninterrupted run" w/cmaes/state.json wk/cmaes/state.json
untimed w/scores.ndjson > s1; untimed wk/scores.ndjson > s2
cmp_files "same scores.ndjson" s1 s2
cat w/cmaes/g*/modeled.ndjson > m1; cat wk/cmaes/g*/modeled.ndjson > m2
cmp_files "same modeled records" m1 m2

ok_run "a larger budget goes on" sh "$OPT" -o w -t "$DEV" --surrogate lq $ARGS --budget 30 $CK
check "...to 30 evaluations" '[ "$(jq .evals w/cmaes/state.json)" -ge 30 ]'

# Failures: a wmerge that fails on merges of CMA-ES generation G while the file broken holds
# "G MODE": MODE once (the first such merge only) or always.
mkdir wrap
cat > wrap/wmerge <<WRAP
#!/bin/sh
if [ -e "$T_DIR/broken" ]; then
	read -r g mode < "$T_DIR/broken"
	case "\$*" in *"/cmaes/\$g/"*)
		if [ "\$mode" = always ] || [ ! -e "$T_DIR/failed-once" ]; then
			: > "$T_DIR/failed-once"; echo "wmerge: injected failure" >&2; exit 1
		fi ;;
	esac
fi
exec "$BIN/wmerge" "\$@"
WRAP
chmod +x wrap/wmerge
# One failure, in a step of one (generation 1's first): the run goes on, the failed candidate is
# told (it ranks last) and is not modeled.
echo "g0001 once" > broken
PATH="$T_DIR/wrap:$PATH" ok_run "a failed evaluation in a step of one does not stop the run" sh "$OPT" -o f1 -t "$DEV" $ARGS $CK
rm -f broken failed-once
check "...it is recorded as failed and told, and the run went on" \
	'[ "$(jq -s "[.[] | select(.failed)] | length" f1/cmaes/g0001/told.ndjson)" -eq 1 ] && [ -s f1/report.md ] &&
	 [ "$(jq .evals f1/cmaes/state.json)" -ge 20 ]'
# Every merge of generation 2 fails: the generation stops the run with the first error and
# nothing of it is told; once the cause is gone, a rerun retries it and ends where wk ended.
echo "g0002 always" > broken
PATH="$T_DIR/wrap:$PATH" fail_run 1 "every evaluation of cmaes generation 2 failed \([0-9]*\), the first: candidate g0002-[0-9]* \(dev\): .*injected failure" \
	"a generation whose every evaluation fails stops the run" sh "$OPT" -o f2 -t "$DEV" $ARGS $CK
check "...nothing of generation 2 was told" '[ ! -e f2/cmaes/g0002/told.ndjson ] && [ "$(jq .gen f2/cmaes/state.json)" = 2 ]'
rm -f broken failed-once
ok_run "the cause gone, the same run again" sh "$OPT" -o f2 -t "$DEV" $ARGS $CK
check "...retries the failed evaluations" 'grep -q "retrying [0-9]* evaluation(s) of cmaes generation 2 that failed in an earlier run" err'
cmp_files "...and reaches the uninterrupted run's CMA-ES state" wk/cmaes/state.json f2/cmaes/state.json

fail_run 1 'surrogate: was "lq", now "none"' "the setting is part of the run" \
	sh "$OPT" -o w -t "$DEV" --surrogate none $ARGS --budget 30 $CK
check "the report says how the search went" 'grep -q "^- search: CMA-ES from the greedy soup on the soft scores (--fitness soft), with the lq-CMA-ES surrogate (lq-surr): [0-9]* more candidates ranked by its model" w/report.md'
ok_run "the default: lq" sh "$OPT" -o d -t "$DEV" $ARGS $CK
check "...the same run as --surrogate lq's" '[ "$(jq -r .surrogate d/run.json)" = lq ] && cmp -s d/cmaes/state.json wk/cmaes/state.json'
ok_run "--surrogate none" sh "$OPT" -o n -t "$DEV" --surrogate none $ARGS $CK
check "...every candidate evaluated, no modeled file" \
	'[ "$(jq .evals n/cmaes/state.json)" -eq "$(jq .told n/cmaes/state.json)" ] && [ -z "$(ls n/cmaes/g*/modeled.ndjson 2> /dev/null)" ] &&
	 grep -q "^- search: .*, every candidate evaluated$" n/report.md'
jq 'del(.surrogate) | del(.surrogate_batch)' n/run.json > n/run.old && mv n/run.old n/run.json
ok_run "a run from before --surrogate resumes with --surrogate none" sh "$OPT" -o n -t "$DEV" --surrogate none $ARGS $CK
fail_run 1 'surrogate: was "none", now "lq"' "...and is refused under the default, named" sh "$OPT" -o n -t "$DEV" $ARGS $CK

# --surrogate-batch 3: every step evaluates at least 3 (the first generation its 5).
ok_run "--surrogate-batch 3 with the make runner, -j 3" sh "$OPT" -o b3 -t "$DEV" --surrogate-batch 3 --runner make -j 3 $ARGS $CK
bad=$(for g in b3/cmaes/g000[1-9]; do n=$(wc -l < $g/told.ndjson); [ "$n" -ge 3 ] || echo "$g: $n"; done)
check "every generation evaluated at least 3${bad:+ (not: $bad)}" '[ -z "$bad" ] && [ "$(wc -l < b3/cmaes/g0000/told.ndjson)" -eq 5 ]'
check "...and models some" '[ "$(cat b3/cmaes/g*/modeled.ndjson | wc -l)" -gt 0 ]'
fail_run 1 'surrogate_batch: was 3, now 1' "the batch is part of the run" sh "$OPT" -o b3 -t "$DEV" --runner make -j 3 $ARGS $CK
fail_run 2 "surrogate-batch: not a positive integer: 0" "--surrogate-batch 0" sh "$OPT" -o x -t "$DEV" --surrogate-batch 0 $CK
fail_run 2 "surrogate-batch is for --surrogate lq" "--surrogate-batch without the surrogate" \
	sh "$OPT" -o x -t "$DEV" --surrogate none --surrogate-batch 2 $CK
fail_run 2 "surrogate: lq or none, not 'gp'" "an unknown surrogate" sh "$OPT" -o x -t "$DEV" --surrogate gp $CK
fail_run 2 "needs a value" "--surrogate without a value" sh "$OPT" -o x -t "$DEV" --surrogate
t_done
