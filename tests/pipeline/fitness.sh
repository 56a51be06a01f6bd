#!/bin/sh
# optimize --fitness soft (the default with -t): the search's dev records carry "fitness",
# the mean of evalrun --loglik's "soft", and CMA-ES ranks by it (told.ndjson, the state's
# best), while the finalists and the answer are still chosen by the scores; the test records are
# untouched; --fitness loglik searches the mean of "ll", --fitness score the scores; the setting is
# part of the run (a changed one is refused, a run from before the option is a score run); bad
# values and --harness are refused.
. "${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
OPT=$TOP/pipelines/optimize

mkdir t ck
i=0
for w in abc hello world merge tensor zebra quiet weights; do
	i=$((i + 1))
	for s in dev test; do
		# generation: a random model gets next to none right, so its accuracy ties where its
		# log-likelihood does not; multiple choice; text
		printf '{"prompt":"%s ","target":"%s"}\n' "$w" "$w" >> t/echo.$s.jsonl
		printf '{"prompt":"%d+%d=","choices":["%d","%d"],"answer":%d}\n' "$i" "$i" $((2 * i)) $((2 * i + 1)) $((i % 2)) >> t/add.$s.jsonl
		printf '{"text":"%s %s-%d"}\n' "$w" "$w" "$i" >> t/words.$s.jsonl
	done
done
for s in 1 2 3; do
	gen --seed $s --scale 0.5 -t f32 --llama hidden=16,layers=1,vocab=256,ff=32,heads=2,kv=1 -o ck/m$s
done
DEV='t/echo.dev.jsonl t/add.dev.jsonl t/words.dev.jsonl'
TEST='t/echo.test.jsonl t/add.test.jsonl t/words.test.jsonl'
ARGS="--budget 8 --popsize 4 --seed 3 --holdout 0 --no-random -q --surrogate none"

ok_run "optimize with the default fitness" sh "$OPT" -o w -t "$DEV" --test "$TEST" $ARGS ck/m1 ck/m2 ck/m3
check "run.json says soft, the default with -t" '[ "$(jq -r .fitness w/run.json)" = soft ]'
for f in w/cmaes/g*/*.json; do case $f in *.cand.json) ;; *) echo "$f" ;; esac; done > recs
check "8 search records, each with \"soft\" for its 3 tasks and \"fitness\" their mean" \
	'[ $(wc -l < recs) -eq 8 ] && xargs cat < recs | jq -s -e "length == 8 and all(.[]; (.soft | length) == 3 and
		(([.soft[]] | add / length) - .fitness | fabs) < 1e-12)" > /dev/null'
check "...each soft accuracy in (0, 1], the text task's its score" \
	'xargs cat < recs | jq -s -e "all(.[]; .soft.echo > 0 and .soft.echo <= 1 and .soft.add > 0 and .soft.add <= 1
		and .soft.words == .scores.words)" > /dev/null'
check "...and the fitness is not the scores' mean (else the option would change nothing here)" \
	'xargs cat < recs | jq -s -e "all(.[]; (([.scores[]] | add / length) - .fitness | fabs) > 1e-6)" > /dev/null'
check "CMA-ES was told the fitness: told.ndjson's records as scored" \
	'[ "$(cat w/cmaes/g*/told.ndjson | jq -c "[.id, .fitness]" | sort)" = "$(xargs cat < recs | jq -c "[.id, .fitness]" | sort)" ]'
check "CMA-ES's best is the record of the largest fitness" \
	'[ "$(cmaes-step status w/cmaes/state.json | jq -r .best.fitness)" = "$(xargs cat < recs | jq -s "map(.fitness) | max")" ]'
check "the test records carry no \"ll\" and no fitness" \
	'ls w/final/*.test.json > tests && [ -s tests ] && xargs cat < tests | jq -s -e "all(.[]; .ll == null and .soft == null and .fitness == null)" > /dev/null'
check "the finalists are still CMA-ES's three best by their scores" \
	'[ "$(jq -r .id w/final/cmaes-1.rec)" = "$(xargs cat < recs | jq -s -r "map({id, m: ([.scores[]] | add / length)}) | sort_by(-.m, .id) | .[0].id")" ] ||
	 [ "$(jq -r "[.scores[]] | add / length" w/final/cmaes-1.rec)" = "$(xargs cat < recs | jq -s "map([.scores[]] | add / length) | max")" ]'
check "a report" 'grep -q "^# " w/report.md'

fail_run 1 'fitness: was "soft", now "score"' "a changed fitness is refused, named" \
	sh "$OPT" -o w -t "$DEV" --test "$TEST" --fitness score $ARGS ck/m1 ck/m2 ck/m3
ok_run "the same run with --fitness soft said" sh "$OPT" -o w -t "$DEV" --test "$TEST" --fitness soft $ARGS ck/m1 ck/m2 ck/m3
ok_run "--fitness loglik" sh "$OPT" -o l -t "$DEV" --fitness loglik $ARGS ck/m1 ck/m2 ck/m3
for f in l/cmaes/g*/*.json; do case $f in *.cand.json) ;; *) echo "$f" ;; esac; done > lrecs
check "...its records' \"fitness\" is the mean of their \"ll\"" \
	'[ $(wc -l < lrecs) -eq 8 ] && xargs cat < lrecs | jq -s -e "length == 8 and all(.[]; (.ll | length) == 3 and
		(([.ll[]] | add / length) - .fitness | fabs) < 1e-12)" > /dev/null'
check "...which ranks the candidates unlike soft does (else the two would be one)" \
	'[ "$(xargs cat < lrecs | jq -s -c "sort_by(.fitness) | map(.id)")" != "$(xargs cat < lrecs | jq -s -c "sort_by([.soft[]] | add) | map(.id)")" ]'
ok_run "--fitness score" sh "$OPT" -o s -t "$DEV" --fitness score $ARGS ck/m1 ck/m2 ck/m3
check "...searches the scores: no \"ll\", no \"fitness\" in its records" \
	'cat s/cmaes/g*/g*-[0-9][0-9].json | jq -s -e "length == 8 and all(.[]; .ll == null and .soft == null and .fitness == null)" > /dev/null'
jq 'del(.fitness)' s/run.json > s/run.old && mv s/run.old s/run.json
ok_run "a run from before --fitness resumes with --fitness score" sh "$OPT" -o s -t "$DEV" --fitness score $ARGS ck/m1 ck/m2 ck/m3
fail_run 1 'fitness: was "score", now "soft"' "...and is refused under the default, named" sh "$OPT" -o s -t "$DEV" $ARGS ck/m1 ck/m2 ck/m3
fail_run 2 "fitness: score, loglik or soft, not 'acc'" "an unknown fitness" sh "$OPT" -o x -t "$DEV" --fitness acc ck/m1 ck/m2
fail_run 2 "fitness loglik is for the built-in evaluator" "loglik with a harness" \
	sh "$OPT" -o x --harness 'true {ckpt} {out}' --fitness loglik ck/m1 ck/m2
fail_run 2 "fitness soft is for the built-in evaluator" "soft with a harness" \
	sh "$OPT" -o x --harness 'true {ckpt} {out}' --fitness soft ck/m1 ck/m2
fail_run 2 "needs a value" "--fitness without a value" sh "$OPT" -o x -t "$DEV" --fitness
t_done
