#!/bin/sh
# pipelines/trace on a work directory made here by hand (told.ndjson of two searches over two
# generations, baselines.ndjson, CMA-ES's best-test.ndjson): the series it draws (the running best
# of each search; its test score as steps to the last evaluation, in a test panel beside the dev
# one; the baselines but the random one, at their dev and test scores), checked by where their
# ends fall against the baselines' lines; without best-test.ndjson (one panel); bad work
# directories.
. "${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
TR=$TOP/pipelines/trace

# rec ID A B: a scored record with tasks a and b
rec() { printf '{"id":"%s","weights":{"m1":0.5,"m2":0.5},"scores":{"a":%s,"b":%s},"fitness":0}\n' "$1" "$2" "$3"; }
mkdir -p w/cmaes/g0000 w/cmaes/g0001 w/random/g0000
# CMA-ES: means 0.5 0.4 0.6 | 0.55 0.7 0.65: the running best 0.5 0.5 0.6 0.6 0.7 0.7
{ rec g0000-00 0.4 0.6; rec g0000-01 0.4 0.4; rec g0000-02 0.6 0.6; } > w/cmaes/g0000/told.ndjson
{ rec g0001-00 0.5 0.6; rec g0001-01 0.8 0.6; rec g0001-02 0.65 0.65; } > w/cmaes/g0001/told.ndjson
# random search: a failed evaluation first (no scores), then means 0.3 0.45
{ echo '{"id":"r0000-00","failed":true}'; rec r0000-01 0.3 0.3; rec r0000-02 0.4 0.5; } > w/random/g0000/told.ndjson
# the running best's test scores, from evaluation 1, 3 and 5 (means 0.4, 0.55, 0.62)
{ echo '{"id":"g0000-00","evals":1,"scores":{"a":0.4,"b":0.4}}'
  echo '{"id":"g0000-02","evals":3,"scores":{"a":0.5,"b":0.6}}'
  echo '{"id":"g0001-01","evals":5,"scores":{"a":0.6,"b":0.64}}'; } > w/cmaes/best-test.ndjson
# baselines: greedy's dev mean is CMA-ES's last dev best (0.7), uniform's test mean its last test
# score (0.62); their dev and test scores differ, so a line drawn at the wrong split is misplaced
{ echo '{"id":"single-1","label":"best-single:m2","scores":{"a":0.4,"b":0.5},"test_scores":{"a":0.3,"b":0.4}}'
  echo '{"id":"uniform","label":"uniform","scores":{"a":0.5,"b":0.5},"test_scores":{"a":0.62,"b":0.62}}'
  echo '{"id":"greedy","label":"greedy","scores":{"a":0.6,"b":0.8},"test_scores":{"a":0.55,"b":0.65}}'
  echo '{"id":"random","label":"random","scores":{"a":0.3,"b":0.36}}'; } > w/baselines.ndjson

ok_run "trace of two searches with a test trace" sh "$TR" w
cp out t.svg
check "an SVG document on standard output" 'head -n 1 t.svg | grep -q "^<?xml" && [ "$(tail -n 1 t.svg)" = "</svg>" ]'
legend() { sed -n 's/.*<text class="legend"[^>]*>\([^<]*\)<.*/\1/p' "$1" | tr '\n' '|'; }
check "the legend: the searches, the baselines with their dev and test values, not the random one ($(legend t.svg))" \
	'[ "$(legend t.svg)" = "CMA-ES|random search|best-single 0.450, 0.350|uniform 0.500, 0.620|greedy 0.700, 0.600|" ]'
check "three lines, three baselines in each of two panels, dev and test" '[ $(grep -c "<polyline class=\"line\"" t.svg) -eq 3 ] &&
	[ $(grep -c "class=\"hline\"" t.svg) -eq 6 ] && [ $(grep -c "class=\"plot-area\"" t.svg) -eq 2 ] &&
	grep -q ">dev (searched on)<" t.svg && grep -q ">test<" t.svg && grep -q ">the best so far on dev, and the same candidates on test<" t.svg'
# pts N: polyline N's points, one "x y" a line
pts() { grep "<polyline class=\"line\"" t.svg | sed -n "$1p" | sed 's/.*points="\([^"]*\)".*/\1/' | tr ' ' '\n' | tr ',' ' '; }
hline() { grep "class=\"hline\"" t.svg | sed -n "$1p" | sed 's/.*d="M[0-9.]* \([0-9.]*\)H.*/\1/'; }
pts 1 > dev; pts 2 > rnd; pts 3 > tst   # panel by panel: dev (CMA-ES, random), test
check "CMA-ES dev: 6 evaluations as steps (11 corners), ending on greedy's dev line" '[ $(wc -l < dev) -eq 11 ] && [ "$(tail -n 1 dev | cut -d" " -f2)" = "$(hline 3)" ]'
check "CMA-ES, test: from evaluations 1, 3 and 5 on to the last, 6 (7 corners), in the test panel, ending on uniform's test line" \
	'[ $(wc -l < tst) -eq 7 ] && [ "$(tail -n 1 tst | cut -d" " -f2)" = "$(hline 5)" ] &&
	awk -v t="$(tail -n 1 tst | cut -d" " -f1)" -v d="$(tail -n 1 dev | cut -d" " -f1)" "BEGIN { exit !(t > d) }"'
check "CMA-ES and its test share a color" '[ "$(grep "<polyline class=\"line\"" t.svg | sed -n 1p | sed "s/.*stroke=\"\([^\"]*\)\".*/\1/")" = \
	"$(grep "<polyline class=\"line\"" t.svg | sed -n 3p | sed "s/.*stroke=\"\([^\"]*\)\".*/\1/")" ]'
check "random search: the failed first evaluation a gap, then 2 evaluations (3 corners) from x = 2" \
	'[ $(wc -l < rnd) -eq 3 ] && [ "$(head -n 1 rnd | cut -d" " -f1)" = "$(sed -n 3p dev | cut -d" " -f1)" ]'

rm w/cmaes/best-test.ndjson
ok_run "trace without a test split" sh "$TR" w
check "no test series, one panel, the baselines at their dev scores alone" '[ $(grep -c "<polyline class=\"line\"" out) -eq 2 ] &&
	[ $(grep -c "class=\"plot-area\"" out) -eq 1 ] && [ "$(legend out)" = "CMA-ES|random search|best-single 0.450|uniform 0.500|greedy 0.700|" ] &&
	grep -q ">dev macro-average of the best so far</text>" out'
rm -r w/random
ok_run "trace of CMA-ES alone" sh "$TR" w
check "one line" '[ $(grep -c "<polyline class=\"line\"" out) -eq 1 ] && ! grep -q "random search" out'

# bad work directories
echo '{"id":"g0000-00","evals":"three","scores":{"a":0.4,"b":0.4}}' > w/cmaes/best-test.ndjson
fail_run 1 '^trace: w/cmaes/best-test.ndjson:1: "evals" is not a number of evaluations$' "a test record without a number of evaluations" sh "$TR" w
rm w/cmaes/best-test.ndjson
echo '{"id":"bad",' >> w/cmaes/g0001/told.ndjson
fail_run 1 '^trace: w: cannot read its records' "a told record that is not JSON" sh "$TR" w
fail_run 1 '^trace: nowhere: not a work directory$' "no work directory" sh "$TR" nowhere
fail_run 2 '^trace: usage: trace WORKDIR' "no argument" sh "$TR"
t_done
