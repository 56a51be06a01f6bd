#!/bin/sh
# CLI tests of cmaes-step: options, the ask/tell loop, the state file, every bad input (exit
# status, message, state file untouched), exit 3 when stopped, resume after interruptions.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

# evaluate [minimize-free]: adds "fitness" = sum of x_i^2 to each candidate record (an evalrun
# stand-in; the records pass through with their fields, as in the real pipeline).
evaluate() {
	awk '{ t = substr($0, index($0, "\"x\":[") + 5); t = substr(t, 1, index(t, "]") - 1)
	       n = split(t, a, ","); f = 0; for (j = 1; j <= n; j++) f += a[j] * a[j]
	       sub(/}$/, sprintf(",\"fitness\":%.17g}", f)); print }'
}
# loop STATE: the man page's loop with the evaluator; leaves the ask status in ./rc.
loop() {
	while cmaes-step ask -q "$1" > c.ndjson; do
		evaluate < c.ndjson > scored.ndjson
		cmaes-step tell "$1" < scored.ndjson >> all.ndjson || { echo 1 > rc; return; }
	done
	cmaes-step ask -q "$1" > /dev/null; echo $? > rc
}
field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$2" | head -1; }

# --- options -----------------------------------------------------------------------------------
ok_run "--help" cmaes-step --help
missing=
for o in dim names x0 sigma popsize seed maxevals map minimize method ftarget tolfun tolx tolflat \
         restarts quiet help version; do
	grep -q -- "--$o" out || missing="$missing --$o"
done
check "--help mentions every option${missing:+ (missing:$missing)}" '[ -z "$missing" ]'
ok_run "--version" cmaes-step --version
check "version line" 'grep -q "^cmaes-step (recycle) " out'
fail_run 2 'missing command' "no command" cmaes-step
# Option spellings (recycle(7)): the new ones and the old ones kept for scripts agree.
cmaes-step init --dim 3 --sigma 0.2 -m random --seed 4 > sp1.json && cmaes-step init -n 3 -s 0.2 --method random --seed 4 > sp2.json
check "--dim, --sigma, -m and the old -n, -s, --method: same state" 'cmp -s sp1.json sp2.json && grep -q "\"method\":\"random\"" sp1.json && grep -q "\"sigma0\":0.2" sp1.json'
fail_run 2 "unknown command 'run'" "unknown command" cmaes-step run s.json
fail_run 2 'init needs --dim N or --names' "init without dimension" cmaes-step init
fail_run 2 "--dim: '0' is not an integer" "--dim 0" cmaes-step init --dim 0
fail_run 2 "--x0: 2 values for 3 weights" "--x0 count" cmaes-step init --dim 3 --x0 1,2
fail_run 2 "--x0: 'a' is not a number" "--x0 not a number" cmaes-step init --dim 2 --x0 1,a
fail_run 2 "--map: 'cube' is not simplex" "--map unknown" cmaes-step init --dim 2 --map cube
fail_run 2 "--method: 'grid' is not cmaes or random" "--method unknown" cmaes-step init --dim 2 --method grid
fail_run 2 "--popsize: '1' is not an integer in 2" "--popsize 1" cmaes-step init --dim 2 --popsize 1
fail_run 2 "--sigma: '-1' is not a positive number" "--sigma negative" cmaes-step init --dim 2 --sigma -1
fail_run 2 "--sigma: '0' is not a positive number" "--sigma 0" cmaes-step init --dim 2 --sigma 0
fail_run 2 "--tolfun: '-1e-9' is not a non-negative number" "--tolfun negative" cmaes-step init --dim 2 --tolfun -1e-9
fail_run 2 "--ftarget: 'inf' is not a number" "--ftarget inf" cmaes-step init --dim 2 --ftarget inf
fail_run 2 'name "a" given twice' "duplicate names" cmaes-step init --names a,b,a
fail_run 2 'name 2 is empty' "empty name" cmaes-step init --names a,,b
fail_run 2 '--dim 3 but 2 names' "--dim and --names disagree" cmaes-step init --dim 3 --names a,b
fail_run 2 'random samples the simplex' "random with box" cmaes-step init --dim 3 --method random --map box
fail_run 2 'init takes no file' "init with a file" cmaes-step init --dim 2 s.json
fail_run 2 'ask needs a STATE file' "ask without state" cmaes-step ask
fail_run 2 '--sigma is an option of init, not of ask' "init option on ask" cmaes-step ask --sigma 1 s.json
fail_run 2 'too many arguments for tell' "tell with three files" cmaes-step tell a b c
fail_run 2 'unknown option' "unknown option" cmaes-step ask --frobnicate s.json

# --- one generation ----------------------------------------------------------------------------
ok_run "init with names" sh -c 'cmaes-step init --names a,b,c --seed 5 > s.json'
ok_run "ask" sh -c 'cmaes-step ask s.json > c.ndjson'
check "lambda = 4 + floor(3 ln 3) = 7 candidates" '[ "$(wc -l < c.ndjson)" -eq 7 ]'
check "ids of generation 0" '[ "$(sed -n "s/.*\"id\":\"\([^\"]*\)\".*/\1/p" c.ndjson | tr "\n" " ")" = "g0000-00 g0000-01 g0000-02 g0000-03 g0000-04 g0000-05 g0000-06 " ]'
check "weights keyed by name" 'grep -c "\"weights\":{\"a\":[0-9.e-]*,\"b\":[0-9.e-]*,\"c\":[0-9.e-]*}" c.ndjson | grep -qx 7'
check "weights sum to 1" 'sed "s/.*\"weights\":{//; s/}}$//; s/\"[abc]\"://g" c.ndjson |
	awk -F, "{ s = \$1 + \$2 + \$3; if (s < 1 - 1e-12 || s > 1 + 1e-12) bad = 1 } END { exit bad }"'
cp s.json s.asked
ok_run "ask again" sh -c 'cmaes-step ask s.json > c2.ndjson'
cmp_files "asking again prints the same candidates" c.ndjson c2.ndjson
cmp_files "asking again leaves the state alone" s.asked s.json
ok_run "status while pending" cmaes-step status s.json
check "status fields" 'grep -q "^{\"method\":\"cmaes\",\"gen\":0,\"evals\":0,\"modeled\":0,\"lambda\":7,\"restarts\":0,\"sigma\":0.3,\"mean\":{\"x\":\[[^]]*\],\"weights\":{[^}]*}},\"pending\":true,\"best\":null,\"stop\":null}$" out'
check "status: the mean's weights are its x mapped (equal weights at the start)" \
	'jq -e ".mean.weights | [.[]] | (add - 1 | fabs) < 1e-12 and (max - min) < 1e-12" out > /dev/null'

# --- bad scored input: exit 1, a message, the state untouched ------------------------------------
evaluate < c.ndjson > good.ndjson
bad_tell() {  # bad_tell 'REGEX' "what" FILE
	fail_run 1 "$1" "$2" sh -c "cmaes-step tell s.json < $3"
	cmp_files "$2: state untouched" s.asked s.json
}
sed '1s/"gen":0/"gen":4/' good.ndjson > b1; bad_tell '<stdin>:1: record of generation 4, not of the pending generation 0' "record of another generation" b1
sed '2s/g0000-01/g0003-01/' good.ndjson > b2; bad_tell '<stdin>:2: id "g0003-01" is of generation 3' "id of another generation" b2
sed '2s/g0000-01/g0000-77/' good.ndjson > b3; bad_tell '<stdin>:2: unknown id "g0000-77"' "unknown id" b3
sed '2s/g0000-01/g0000-00/' good.ndjson > b4; bad_tell '<stdin>:2: duplicate id "g0000-00"' "duplicate id" b4
sed '3d' good.ndjson > b5; bad_tell 'no record for id "g0000-02"' "missing record" b5
sed '4s/"x":\[/"x":[7,/' good.ndjson > b6; bad_tell '<stdin>:4: "x" has the wrong dimension \(3 expected\)' "wrong dimension" b6
sed '5s/"fitness":/"fitness":"high","f":/' good.ndjson > b7; bad_tell '<stdin>:5: "fitness" is not a number' "fitness not a number" b7
sed '6s/"fitness":[^}]*/"scores":{"t":"x"}/' good.ndjson > b8; bad_tell '<stdin>:6: score "t" is not a number' "score not a number" b8
{ head -2 good.ndjson; echo '{"id":'; } > b9; bad_tell '<stdin>:3: truncated JSON' "truncated record" b9
sed '1s/"id":"g0000-00",//' good.ndjson > b10; bad_tell '<stdin>:1: record has no string "id"' "record without id" b10
: > b11; bad_tell 'no record for id "g0000-00"' "empty input" b11
fail_run 1 'missing.ndjson: No such file' "scored file missing" cmaes-step tell s.json missing.ndjson
cmp_files "missing scored file: state untouched" s.asked s.json

# --- tell ----------------------------------------------------------------------------------------
# Candidate 3 has no score: it ranks worst; candidate 0 gets scores whose mean is its fitness.
sed -e '1s/"fitness":[^}]*/"scores":{"a":0.5,"b":1}/' -e '4s/,"fitness":[^}]*//' good.ndjson > scored.ndjson
ok_run "tell" sh -c 'cmaes-step tell s.json scored.ndjson > told.ndjson'
check "told records pass through, fitness = mean of scores" 'head -1 told.ndjson | grep -q "\"scores\":{\"a\":0.5,\"b\":1},\"fitness\":0.75}$"'
check "no score: fitness null" 'sed -n 4p told.ndjson | grep -q "\"fitness\":null}$"'
check "told records in input order" '[ "$(cut -c1-20 told.ndjson)" = "$(cut -c1-20 scored.ndjson)" ]'
check "no temporary left behind" '[ -z "$(ls -A | grep tmp)" ]'
ok_run "status after tell" cmaes-step status s.json
check "gen 1, 7 evaluations" 'grep -q "\"gen\":1,\"evals\":7," out && grep -q "\"pending\":false" out'
best=$(sed -n 's/.*"best":{"id":"\([^"]*\)".*/\1/p' out)
want=$(awk '{ f = $0; sub(/.*"fitness":/, "", f); sub(/}$/, "", f); if (f != "null" && (b == "" || f + 0 > bf)) { b = $0; bf = f + 0 } }
            END { sub(/.*"id":"/, "", b); sub(/".*/, "", b); print b }' told.ndjson)
check "best is the highest fitness (maximized by default)" '[ -n "$best" ] && [ "$best" = "$want" ]'
cp s.json s.told
fail_run 1 "no generation pending: run 'cmaes-step ask' first" "tell without ask" sh -c 'cmaes-step tell s.json < good.ndjson'
cmp_files "tell without ask: state untouched" s.told s.json

# --- bad state files ---------------------------------------------------------------------------
echo 'hello' > st1; fail_run 1 'st1: invalid JSON' "garbage state" cmaes-step ask st1
head -c 300 s.json > st2; fail_run 1 'st2: invalid JSON: truncated' "truncated state" cmaes-step ask st2
sed 's/"version":1,/"version":2,/' s.json > st3; fail_run 1 'st3: state format version 2 is newer than this cmaes-step reads \(1\)' "newer state version" cmaes-step status st3
echo '{"a":1}' > st4; fail_run 1 'st4: not a cmaes-step state file' "not a state file" cmaes-step ask st4
sed 's/"sigma":[^,]*,/"sigma":"big",/' s.json > st5; fail_run 1 'st5: field "sigma" is not a number' "corrupt field" cmaes-step ask st5
sed 's/"mean":\[[^]]*\]/"mean":[1]/' s.json > st6; fail_run 1 'st6: field "mean" is not an array of 3 numbers' "wrong length" cmaes-step ask st6
fail_run 1 'nofile.json: No such file' "missing state" cmaes-step status nofile.json
cp st2 st2.orig
fail_run 1 'st2: invalid JSON' "tell on a truncated state" sh -c 'cmaes-step tell st2 < good.ndjson'
cmp_files "truncated state untouched by tell" st2.orig st2

# --- the loop, stop, exit 3 ----------------------------------------------------------------------
ok_run "init sphere" sh -c 'cmaes-step init --dim 4 --x0 1,1,1,1 --sigma 0.5 --map none --minimize --ftarget 1e-6 --seed 3 > sp.json'
: > all.ndjson
loop sp.json
check "loop ends with ask exiting 3" '[ "$(cat rc)" = 3 ]'
ok_run "status after the loop" cmaes-step status sp.json
check "stopped on ftarget" 'grep -q "\"stop\":\"ftarget\"}$" out'
check "best fitness <= 1e-6" 'awk "BEGIN { exit !($(sed "s/.*\"fitness\":\([^}]*\)}.*/\1/" out) <= 1e-6) }"'
check "every evaluation was told once" '[ "$(wc -l < all.ndjson)" = "$(field evals out)" ]'
fail_run 3 'sp.json: stopped \(ftarget\) after [0-9]+ evaluations' "ask when stopped" cmaes-step ask sp.json
check "stopped ask prints nothing" '[ ! -s out ]'
cmaes-step ask -q sp.json > out 2> err; rc=$?
check "ask -q when stopped: exit 3, silent" '[ $rc -eq 3 ] && [ ! -s err ] && [ ! -s out ]'
fail_run 1 'the run has stopped \(ftarget\); nothing to tell' "tell when stopped" sh -c 'cmaes-step tell sp.json < scored.ndjson'
ok_run "maxevals run" sh -c 'cmaes-step init --dim 2 --maxevals 10 > mx.json'
: > all.ndjson; loop mx.json
check "maxevals: two generations of 6, then exit 3" '[ "$(cat rc)" = 3 ] && [ "$(wc -l < all.ndjson)" -eq 12 ]'

# --- resume: interruptions do not change the run -------------------------------------------------
ok_run "init A" sh -c 'cmaes-step init --names p,q,r,s,t --map box --seed 11 --maxevals 160 --minimize > a.json'
cp a.json b.json
: > all.ndjson; loop a.json; cp all.ndjson all.a
# B: asked twice, one bad tell, the state copied to another file half way — then on to the end.
: > all.ndjson
for i in 1 2 3 4 5; do
	cmaes-step ask b.json > /dev/null; cmaes-step ask b.json > c.ndjson
	evaluate < c.ndjson > scored.ndjson
	sed 1d scored.ndjson | cmaes-step tell b.json > /dev/null 2>&1
	cmaes-step tell b.json < scored.ndjson >> all.ndjson
done
cp b.json b2.json; loop b2.json
cmp_files "interrupted run: same told records" all.a all.ndjson
cmp_files "interrupted run: same final state" a.json b2.json
ok_run "same seed, same init" sh -c 'cmaes-step init --dim 4 --seed 9 > d1.json && cmaes-step init --dim 4 --seed 9 > d2.json'
cmp_files "init is deterministic" d1.json d2.json
cmaes-step ask d1.json > c1; cmaes-step init --dim 4 --seed 10 > d3.json; cmaes-step ask d3.json > c3
check "another seed, other candidates" '! cmp -s c1 c3'

# --- maps, random search, restarts ---------------------------------------------------------------
cmaes-step init --dim 3 --map none > m.json; cmaes-step ask m.json > c.ndjson
check "map none: weights are x" 'sed "s/.*\"x\":\(\[[^]]*\]\),\"weights\":\(\[[^]]*\]\)}/\1 \2/" c.ndjson | awk "\$1 != \$2 { exit 1 }"'
for m in box softmax; do
	cmaes-step init --dim 3 --map $m > m.json; cmaes-step ask m.json > c.ndjson
	check "map $m: weights in [0,1] summing to 1" 'sed "s/.*\"weights\":\[//; s/\]}$//" c.ndjson |
		awk -F, "{ s = \$1 + \$2 + \$3; if (s < 1 - 1e-12 || s > 1 + 1e-12 || \$1 < 0 || \$1 > 1) bad = 1 } END { exit bad }"'
done
ok_run "random search" sh -c 'cmaes-step init --dim 4 --method random --maxevals 20 --seed 2 > r.json'
cmaes-step ask r.json > c.ndjson
check "random: x on the simplex" 'sed "s/.*\"x\":\[//; s/\].*//" c.ndjson |
	awk -F, "{ s = \$1 + \$2 + \$3 + \$4; if (s < 1 - 1e-12 || s > 1 + 1e-12 || \$1 <= 0) bad = 1 } END { exit bad }"'
evaluate < c.ndjson | cmaes-step tell r.json > /dev/null
: > all.ndjson; loop r.json
check "random: stops at maxevals with exit 3" '[ "$(cat rc)" = 3 ] && cmaes-step status r.json | grep -q "\"stop\":\"maxevals\""'
ok_run "IPOP run" sh -c 'cmaes-step init --dim 3 --tolflat 2 --restarts 1 > ip.json'
# One pipeline per generation: tell reads its records before the state ask is saving.
for i in 1 2 3 4; do
	cmaes-step ask ip.json | sed 's/}$/,"fitness":1}/' | cmaes-step tell ip.json > /dev/null
done
ok_run "status after flat generations" cmaes-step status ip.json
check "flat fitness: one restart with twice the population, then stopped" \
	'grep -q "\"lambda\":14,\"restarts\":1," out && grep -q "\"stop\":\"flatfitness\"}$" out'

# --- names from a file, extend ------------------------------------------------------------------
printf '["lr=1e-3,bs=32","step 500","q\\"uote","é"]\n' > names.json
ok_run "--names @FILE: names with commas, spaces, quotes, non-ASCII" sh -c 'cmaes-step init --names @names.json --popsize 4 --maxevals 8 > nf.json'
cmaes-step ask nf.json > c.ndjson
check "weights keyed by the file's names" \
	'[ "$(head -n 1 c.ndjson | jq -c "[.weights | keys_unsorted[]]")" = "$(jq -c . names.json)" ]'
printf '[1]\n' > bad.json
fail_run 1 'element 1 is not a string' "--names @FILE with a number" cmaes-step init --names @bad.json
fail_run 1 'names.missing' "--names @FILE missing" cmaes-step init --names @names.missing
for i in 1 2; do cmaes-step ask nf.json | sed 's/}$/,"fitness":0.5}/' | cmaes-step tell nf.json > /dev/null; done
fail_run 3 'stopped \(maxevals\) after 8' "budget spent: ask exits 3" cmaes-step ask nf.json
fail_run 1 'budget of 4 evaluations is less than the 8 done' "extend below the evaluations done" cmaes-step extend --maxevals 4 nf.json
fail_run 2 'extend takes --maxevals' "extend without --maxevals" cmaes-step extend nf.json
ok_run "extend to 12" cmaes-step extend --maxevals 12 nf.json
ok_run "...and ask goes on" cmaes-step ask nf.json
check "...with the next generation" '[ "$(jq -r .gen out | sort -u)" = 2 ]'
cmaes-step init --names @names.json --popsize 4 --maxevals 12 > straight.json
for i in 1 2; do cmaes-step ask straight.json | sed 's/}$/,"fitness":0.5}/' | cmaes-step tell straight.json > /dev/null; done
cmaes-step ask straight.json > /dev/null
cmp_files "extended state equals a run started with the larger budget" straight.json nf.json
t_done
