#!/bin/sh
# CLI tests of lq-surr: options, the next/fill protocol with cmaes-step (what is evaluated, what is
# modeled, what tell counts), the replay of an interrupted generation, every bad input, and the
# point of it all: on a smooth fitness, CMA-ES with the surrogate gets much closer to the optimum
# than without, for the same number of evaluations.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

# evaluate: each record gets "fitness" = -sum_i (i + 1) (w_i - t_i)^2 over its weights (a smooth
# stand-in for evalrun's log-likelihood), and "scores" so that it looks like a scored record.
T='[0.3,0.25,0.2,0.1,0.05,0.04,0.03,0.02,0.01,0]'
evaluate() {
	jq -c --argjson t "$T" '(.weights | if type == "object" then [.[]] else . end) as $w |
		. + {fitness: (-([range(0; 10) as $i | ($w[$i] - $t[$i]) * ($w[$i] - $t[$i]) * ($i + 1)] | add)), scores: {f: 1}}'
}
# search MODE SEED: CMA-ES over 10 weights, budget 150, every candidate evaluated (plain) or as
# lq-surr decides (lq); prints cmaes-step status. Leaves all.ndjson (evaluated records) and
# steps (one line a generation: how many evaluation steps it took).
search() {
	rm -rf "$1-$2"; mkdir "$1-$2"
	(
		cd "$1-$2" || exit 1
		cmaes-step init --dim 10 --seed "$2" --maxevals 150 --sigma 0.3 > s.json
		: > all.ndjson
		while cmaes-step ask -q s.json > c.ndjson; do
			: > scored.ndjson
			if [ "$1" = lq ]; then
				st=0
				while lq-surr next -a all.ndjson c.ndjson scored.ndjson > ids && [ -s ids ]; do
					jq -c --rawfile ids ids 'select(.id as $i | $ids | split("\n") | index($i))' c.ndjson |
						evaluate >> scored.ndjson
					st=$((st + 1))
				done
				echo $st >> steps
				lq-surr fill -q -a all.ndjson c.ndjson scored.ndjson > told.in || exit 1
			else
				evaluate < c.ndjson > told.in
			fi
			cmaes-step tell s.json told.in > told.out || exit 1
			jq -c 'select(.surrogate != true)' told.out >> all.ndjson
		done
		cmaes-step status s.json
	)
}

# --- options -----------------------------------------------------------------------------------
ok_run "--help" lq-surr --help
missing=
for o in archive batch tau minimize quiet help version; do grep -q -- "--$o" out || missing="$missing --$o"; done
check "--help mentions every option${missing:+ (missing:$missing)}" '[ -z "$missing" ]'
ok_run "--version" lq-surr --version
check "version line" 'grep -q "^lq-surr (recycle) " out'
fail_run 2 'missing command' "no command" lq-surr
fail_run 2 "unknown command 'ask'" "unknown command" lq-surr ask c.ndjson
fail_run 2 'next needs a CANDIDATES file' "no candidates" lq-surr next
fail_run 2 "--tau: 'x' is not a number" "--tau not a number" lq-surr next --tau x c.ndjson

# --- the protocol ------------------------------------------------------------------------------
cmaes-step init --names a,b,c,d,e,f,g,h,i,j --seed 3 > s.json
cmaes-step ask s.json > c.ndjson
ok_run "next on an empty archive" lq-surr next c.ndjson
check "the first step: the first 5 candidates (no model yet)" \
	'[ "$(cat out)" = "$(jq -r .id c.ndjson | head -n 5)" ]'
fail_run 1 'not decided: candidate "g0000-00" is to be evaluated first' "fill before the evaluations" lq-surr fill c.ndjson
jq -c 'select(.id == "g0000-00" or .id == "g0000-01")' c.ndjson | evaluate > part.ndjson
ok_run "next replays: after 2 of the 5, the other 3" lq-surr next c.ndjson part.ndjson
check "the same step's other 3" '[ "$(cat out)" = "$(jq -r .id c.ndjson | sed -n 3,5p)" ]'
head -n 5 c.ndjson | evaluate > five.ndjson
ok_run "next after the first step: nothing (5 points interpolate: the model ranks them exactly)" \
	lq-surr next c.ndjson five.ndjson
check "next printed nothing" '[ ! -s out ]'
ok_run "fill" lq-surr fill c.ndjson five.ndjson
check "fill: every candidate once, in order" '[ "$(jq -r .id out)" = "$(jq -r .id c.ndjson)" ]'
check "fill: the 5 evaluated as they were" '[ "$(head -n 5 out)" = "$(cat five.ndjson)" ]'
check "fill: the others modeled, with a fitness" \
	'[ "$(jq -s "[.[5:][] | select(.surrogate == true and (.fitness | type) == \"number\")] | length" out)" -eq "$(($(wc -l < c.ndjson) - 5))" ]'
check "fill: a summary line" 'grep -q "evaluated 5 of $(wc -l < c.ndjson), $(($(wc -l < c.ndjson) - 5)) from the linear model (on 5 points" err'
cp out told.in
cp s.json s0.json
ok_run "tell takes the filled generation" cmaes-step tell s.json told.in
check "tell counts the 5 evaluations, not the modeled ones" \
	'cmaes-step status s.json | jq -e ".evals == 5 and .modeled == $(($(wc -l < c.ndjson) - 5))" > /dev/null'
check "the best is an evaluated candidate" \
	'cmaes-step status s.json | jq -e ".best.id as \$b | [\"g0000-00\",\"g0000-01\",\"g0000-02\",\"g0000-03\",\"g0000-04\"] | index(\$b) != null" > /dev/null'
# --tau above 1: no model is good enough, every candidate is evaluated.
cmaes-step ask s.json > c1.ndjson
head -n 5 told.in > arch.ndjson
ok_run "--tau 2: a step" lq-surr next --tau 2 -a arch.ndjson c1.ndjson
evaluate < c1.ndjson > all1.ndjson
ok_run "--tau 2: after every evaluation, fill" lq-surr fill --tau 2 -q -a arch.ndjson c1.ndjson all1.ndjson
check "--tau 2: nothing modeled" '[ "$(jq -s "[.[] | select(.surrogate)] | length" out)" -eq 0 ] && [ ! -s err ]'
# --minimize: the model's best is the lowest; with an exact model (a linear fitness and a full
# linear model) the one evaluated is the candidate of lowest fitness.
lin() { jq -c '(.weights | [.[]]) as $w | . + {fitness: ($w[0] * 3 - $w[1] + 2 * $w[2])}'; }
cmaes-step init --dim 3 --seed 5 --popsize 12 > m.json
cmaes-step ask m.json > mc.ndjson
head -n 8 mc.ndjson | lin | jq -c '.id |= "old-\(.)"' > marc.ndjson
tail -n +9 mc.ndjson > mc4.ndjson
for dir in max min; do
	flag=; [ $dir = min ] && flag=--minimize
	lq-surr next $flag -a marc.ndjson mc4.ndjson > ids.$dir
	want=$(lin < mc4.ndjson | jq -s -r "sort_by(.fitness) | $([ $dir = min ] && echo first || echo last) | .id")
	check "$dir: the step is the model's best, $want" '[ "$(cat ids.$dir)" = "$want" ]'
done

# --batch 3: the exact model's one evaluation becomes a step of 3, the model's best 3.
lq-surr next -a marc.ndjson mc4.ndjson > ids.b1 2> /dev/null
ok_run "--batch 3" lq-surr next --batch 3 -a marc.ndjson mc4.ndjson
check "--batch 3: 3 ids, the model's best among them" '[ "$(wc -l < out)" -eq 3 ] && grep -qx "$(cat ids.b1)" out'
fail_run 2 "--batch: '0' is not an integer" "--batch 0" lq-surr next --batch 0 c.ndjson

# --- bad input ---------------------------------------------------------------------------------
printf '{"id":"x","weights":[1,2]}\n{"id":"x","weights":[1,2]}\n' > dup.ndjson
fail_run 1 'duplicate candidate id "x"' "duplicate candidates" lq-surr next dup.ndjson
printf '{"id":"x","weights":[0.5,0.5]}\n' > one.ndjson
printf '{"id":"y","fitness":1}\n' > bad1.ndjson
fail_run 1 'id "y" is not one of the candidates' "a record of another candidate" lq-surr next one.ndjson bad1.ndjson
printf '{"id":"x","fitness":1}\n{"id":"x","fitness":2}\n' > twice.ndjson
fail_run 1 'a second record of candidate "x"' "two records of a candidate" lq-surr next one.ndjson twice.ndjson
printf '{"id":"o","fitness":1}\n' > nw.ndjson
fail_run 1 'nw.ndjson:1: record has no "weights"' "an archive record without weights" lq-surr next -a nw.ndjson one.ndjson
printf '{"id":"o","fitness":1,"weights":[1,2,3]}\n' > n3.ndjson
fail_run 1 'n3.ndjson:1: field "weights" is not an array of 2 numbers' "weights of another dimension" lq-surr next -a n3.ndjson one.ndjson
printf '{"id":"o","fitness":"high","weights":[1,0]}\n' > fs.ndjson
fail_run 1 'fs.ndjson:1: "fitness" is not a number' "a fitness that is not a number" lq-surr next -a fs.ndjson one.ndjson
printf '{"id":"x","weights":{"a":0.5,"b":0.5}}\n' > named.ndjson
printf '{"id":"o","fitness":1,"weights":{"a":1,"z":0}}\n' > nz.ndjson
fail_run 1 'names a checkpoint that is not one of the candidates' "an unknown weight name" lq-surr next -a nz.ndjson named.ndjson
printf '{"id":"o","fitness":1,"weights":{"a":1}}\n' > sparse.ndjson
ok_run "a missing name is weight 0" lq-surr next -a sparse.ndjson named.ndjson
printf 'not json\n' > nj.ndjson
fail_run 1 'nj.ndjson:1' "not NDJSON" lq-surr next nj.ndjson
: > empty.ndjson
fail_run 1 'empty.ndjson: no candidate' "no candidate" lq-surr next empty.ndjson
fail_run 2 'standard input \(-\) can be read once' "stdin twice" lq-surr next -a - -
fail_run 1 'no-such.ndjson' "a missing file" lq-surr next no-such.ndjson
# A failed evaluation (no fitness) is evaluated, not modeled, and ranks last in tell.
printf '{"id":"x","weights":[0.5,0.5],"failed":true}\n' > failed.ndjson
ok_run "a failed evaluation counts as evaluated" lq-surr fill -q one.ndjson failed.ndjson
check "it passes through as it was" '[ "$(cat out)" = "$(cat failed.ndjson)" ]'

# --- the point: fewer evaluations to the optimum --------------------------------------------
search plain 1 > plain.status
search lq 1 > lq.status
pb=$(jq '.best.fitness' plain.status) lb=$(jq '.best.fitness' lq.status)
check "plain CMA-ES: 150 evaluations (+ the last generation), nothing modeled" \
	'jq -e ".evals >= 150 and .evals < 160 and .modeled == 0" plain.status > /dev/null'
check "lq: the budget counts evaluations only ($(jq -c '{evals, modeled}' lq.status))" \
	'jq -e ".evals >= 150 and .evals < 160 and .modeled > 300" lq.status > /dev/null && [ "$(wc -l < lq-1/all.ndjson)" -eq "$(jq .evals lq.status)" ]'
check "lq is 100 times closer to the optimum than plain CMA-ES at 150 evaluations ($lb against $pb)" \
	"awk -v l=$lb -v p=$pb 'BEGIN { exit !(l > p / 100) }'"
check "lq: most generations are decided after one step" \
	'[ "$(grep -c "^1$" lq-1/steps)" -gt "$(($(wc -l < lq-1/steps) / 2))" ]'
t_done
