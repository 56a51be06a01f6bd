#!/bin/sh
# pipelines/bench-search on the toy version of family b (--small): the table's numbers recomputed
# here from the runs' records (the running best at a budget, its median over the seeds) and the
# test score re-scored by hand; random search as its own run on another run's settings; one
# baselines directory a family; --budgets-of and --method; resuming runs nothing; the plot; bad
# invocations.
. "${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
B=$TOP/pipelines/bench-search
mean() { jq -r '[.scores[]] | add / length' "$@"; }

ok_run "--help" sh "$B" --help
for o in --workdir --families --methods --method --seeds --budgets --budgets-of --limit --jobs --small; do
	grep -q -- "$o" out || t_notok "--help mentions $o"
done

# Bad invocations: usage errors, before anything is built.
fail_run 2 "--seeds: not a positive integer: '0'" "--seeds 0" sh "$B" --seeds 0
fail_run 2 "--budgets: not a positive integer: 'x'" "--budgets x" sh "$B" --budgets '30 x'
fail_run 2 "--budgets: empty list" "--budgets ''" sh "$B" --budgets ' '
fail_run 2 "--families: unknown family 'z'" "an unknown family" sh "$B" --families 'demo z'
fail_run 2 "--methods: unknown method 'annealing'" "an unknown method" sh "$B" --methods 'paper annealing'
fail_run 2 "random search alone" "random search alone" sh "$B" --methods random
fail_run 2 "--budgets-of: 'paper' is not in --methods" "--budgets-of an unlisted method" sh "$B" --methods 'random default' --budgets-of paper=10
fail_run 2 "--method: want NAME=OPTIONS" "--method without =" sh "$B" --method 'greedy'
fail_run 2 "unknown argument 'extra'" "a stray argument" sh "$B" extra
check "nothing was made" '[ ! -e build ]'

# The benchmark: random search, the paper's CMA-ES (to a larger budget) and a method defined here
# (popsize 4, so its budget of 8 is two generations).
run() { sh "$B" --small -d w --families b --methods 'random paper p4' --method 'p4=--x0 greedy --sigma 0.1 --popsize 4' \
	--seeds 2 --budgets '4 8' --budgets-of paper='4 8 15' --limit 10 -j 2 "$@"; }
ok_run "a toy benchmark" run
cp out table1; cp err err1
check "the table: a header, 3 baselines, 2 x 2 + 3 rows of methods" '[ $(grep -c "^| b |" out) -eq 10 ] &&
	[ $(grep -c "(baseline)" out) -eq 3 ] && [ $(grep -c "^| b | paper | " out) -eq 3 ] && grep -q "^| b | p4 | 8 | " out'
check "the configuration is said" 'grep -q "^Configuration: families b; methods random paper p4; seeds 1-2; budgets 4 8 (paper: 4 8 15); dev the first 10 examples of each task" out'
check "each run is a work directory" '[ -f w/b-limit10/paper/seed-2/run.json ] && [ -f w/b-limit10/p4/seed-1/cmaes/state.json ] &&
	[ -f w/b-limit10/random/seed-2/random/state.json ] && [ ! -e w/b-limit10/random/seed-1/cmaes ]'
check "the paper's runs went to 15 evaluations, the others to 8" '[ "$(cat w/b-limit10/paper/seed-1/bench.budget)" = 15 ] &&
	[ $(cat w/b-limit10/p4/seed-1/cmaes/g*/told.ndjson | wc -l) -eq 8 ] && [ "$(jq .budget w/b-limit10/random/seed-1/run.json)" = 8 ]'
check "p4 started from the greedy soup with sigma 0.1 and popsize 4" 'jq -e ".x0 == \"greedy\" and (.cmaes_opts | index([\"--sigma\", \"0.1\"]) != null)
	and (.cmaes_opts | index([\"--popsize\", \"4\"]) != null)" w/b-limit10/p4/seed-2/run.json > /dev/null'
check "dev scored on 10 examples a task" '[ "$(jq -c .n w/b-limit10/paper/seed-1/cmaes/g0000/g0000-00.json)" = "{\"add\":10,\"copy\":10,\"seq\":10}" ]'
# The baselines were scored once and copied: the same bytes (timings included) in every run.
same=1
for d in w/b-limit10/paper/seed-2 w/b-limit10/p4/seed-1 w/b-limit10/p4/seed-2 w/b-limit10/random/seed-1; do
	cmp -s w/b-limit10/paper/seed-1/baselines/greedy.json "$d/baselines/greedy.json" || same=0
done
check "one baselines directory a family, copied into each run" '[ $same -eq 1 ]'

# The numbers, recomputed: the running best of random search after 4 evaluations (the best mean of
# the first 4 records of its generation 0), median over 2 seeds = their average; its test score
# re-scored here with wmerge and evalrun.
for s in 1 2; do
	jq -c '{m: ([.scores[]] | add / length), w: .weights}' w/b-limit10/random/seed-$s/random/g0000/told.ndjson | head -n 4 |
		jq -s -c 'max_by(.m)' > best$s
done
want=$(jq -s -r '[.[].m] | add / 2 * 10000 | round / 10000' best1 best2)
got=$(awk -F ' [|] ' '$2 == "random" && $3 == "4" { split($4, a, " "); print a[1] }' table1)
check "random at 4: the dev median ($want) is the table's ($got)" '[ -n "$want" ] && [ "$want" = "$got" ]'
r=w/b-limit10/random/seed-1/run.json
jq -c --slurpfile r "$r" '{weights: [.w as $w | $r[0].ckpts[].name | $w[.] // 0]}' best1 > w1.json
jq -r '.ckpts[].path' "$r" | xargs -d '\n' wmerge -q -w @w1.json |
	evalrun -q -t w/zoo-small-b/tasks/add.test.jsonl -t w/zoo-small-b/tasks/copy.test.jsonl -t w/zoo-small-b/tasks/seq.test.jsonl - > t1.json
want=$(mean t1.json)
got=$(jq -r 'select(.method == "random" and .seed == 1 and .budget == 4) | .test' w/results.ndjson)
check "its test score ($want) is results.ndjson's ($got)" '[ -n "$want" ] && [ "$want" = "$got" ]'
# The fresh dev score: the same model on the dev examples after the last one a search scored: the
# 10th of the four in five that optimize's --holdout 5 leaves it, the 12th example.
for t in add copy seq; do awk 'NF && ++k > 12' w/zoo-small-b/tasks/$t.dev.jsonl > $t.fresh.jsonl; done
check "the searches scored the first 12 examples less the 5th and the 10th" \
	'[ "$(jq -r ".search[0]" w/b-limit10/paper/seed-1/run.json | xargs awk "NF && ++k <= 10")" = "$(awk "NF && ++k <= 12 && k % 5" w/zoo-small-b/tasks/add.dev.jsonl)" ]'
check "the fresh examples are those after the 12th" 'cmp -s add.fresh.jsonl w/b/fresh-after-12/tasks/add.dev.jsonl'
jq -r '.ckpts[].path' "$r" | xargs -d '\n' wmerge -q -w @w1.json |
	evalrun -q -t add.fresh.jsonl -t copy.fresh.jsonl -t seq.fresh.jsonl - > f1.json
want=$(mean f1.json)
got=$(jq -r 'select(.method == "random" and .seed == 1 and .budget == 4) | .fresh' w/results.ndjson)
check "its fresh dev score ($want), on dev's examples after the 12th, is results.ndjson's ($got)" \
	'[ -n "$want" ] && [ "$want" = "$got" ] && [ "$(jq -r .n.add f1.json)" -gt 0 ]'
check "the table has the fresh column" 'grep -q "^| family | method | evaluations | dev median \[min, max\] | test median \[min, max\] | fresh dev median \[min, max\] | seeds |$" table1'
check "the paper at 15 counts 15 evaluations (of 22)" '[ "$(jq -r "select(.method == \"paper\" and .budget == 15 and .seed == 1) | .evals" w/results.ndjson)" = 15 ] &&
	[ $(cat w/b-limit10/paper/seed-1/cmaes/g*/told.ndjson | wc -l) -eq 22 ]'
want=$(jq -r 'select(.baseline == "greedy") | .dev' w/results.ndjson)
check "the greedy soup's dev in the table" '[ "$want" = "$(mean w/b-limit10/paper/seed-1/baselines/greedy.json)" ] &&
	grep -q "^| b | greedy (baseline) | – | $(echo "$want" | jq "(. * 10000 | round / 10000)") |" table1'

check "the plot: two panels, a band and a median each method, three baselines" '[ -s w/b.svg ] && head -n 1 w/b.svg | grep -q "^<?xml " &&
	[ "$(tail -n 1 w/b.svg)" = "</svg>" ] && [ $(grep -c "class=\"plot-area\"" w/b.svg) -eq 2 ] && [ $(grep -c "<polygon class=\"band\"" w/b.svg) -eq 6 ] &&
	[ $(grep -c "class=\"hline\"" w/b.svg) -eq 6 ] && grep -q "<text class=\"legend\"[^>]*>p4</text>" w/b.svg &&
	grep -q -- "<text class=\"legend\"[^>]*>greedy -*[0-9]*[.][0-9]\{3\}, -*[0-9]*[.][0-9]\{3\}</text>" w/b.svg'
check "table.md is the table printed" '[ "$(cat w/table.md)" = "$(grep "^|" table1)" ]'

# Again: nothing to run, the same table.
find w -name '*.json' | sort > files1
ok_run "again" run
check "no run was started" '! grep -q "optimize --budget\|search --method\|to score on" err'
find w -name '*.json' | sort > files2
cmp_files "no file was added" files1 files2
check "the same table" '[ "$(grep "^|" out)" = "$(grep "^|" table1)" ]'

t_done
