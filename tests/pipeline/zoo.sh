#!/bin/sh
# pipelines/zoo on the reduced family (--small: the same recipes at toy sizes): every file, the
# same bytes again and with other -j, caching (an up-to-date zoo does nothing; a removed run, a
# touched base or a changed recipe retrains exactly what depends on it), --scores with evalrun,
# dry runs, and bad invocations.
. "${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
ZOO=$TOP/pipelines/zoo
# The family depends on the programs' time stamps: use copies, so a rebuild of bin/ while the test
# runs does not make the zoo out of date.
mkdir pb && cp "$BIN/ckpt-train" "$BIN/task-gen" "$BIN/evalrun" "$BIN/wmerge" "$BIN/ckpt-cat" pb/ || exit 1
PATH=$T_DIR/pb:$PATH
BIN=$T_DIR/pb
RUNS="rev sort cmp count revsort cmpcount revcount sortcmp rev-hot sort-short count-long rev-count sort-cmp cmpcount-rev"

ok_run "--help" sh "$ZOO" --help
for o in --output --jobs --small --scores --dry-run --quiet; do
	grep -q -- "$o" out || t_notok "--help mentions $o"
done

ok_run "build the small family, 2 jobs" sh "$ZOO" --small -o z -j 2
check "ckpt-train ran 15 times" '[ $(grep -c "ckpt-train -q" out) -eq 15 ]'
n=0
for s in rev sort cmp count; do for sp in train dev test; do [ -s z/tasks/$s.$sp.jsonl ] && n=$((n + 1)); done; done
check "12 task files" '[ $n -eq 12 ]'
check "a base" '[ -f z/base/config.json ] && [ -f z/base/model.safetensors ]'
n=0
for r in $RUNS; do [ -f z/runs/$r/model.safetensors ] && [ -f z/runs/$r/config.json ] && n=$((n + 1)); done
check "14 runs, nothing else in runs/" '[ $n -eq 14 ] && [ $(ls z/runs | wc -l) -eq 14 ]'
check "runs.txt: one line a run, in order" '[ "$(cut -f1 z/runs.txt | tr "\n" " ")" = "$RUNS " ] && ! grep -q "	$" z/runs.txt'
check "no temporaries left" '[ -z "$(find z -name "*tmp*")" ]'
ok_run "every run loads" sh -c 'for r in z/runs/*; do ckpt-cat --check "$r" || exit 1; done'
ok_run "the second stages start from their first stages" sh -c '
	head -c 8192 z/runs/rev-count/model.safetensors | grep -aq "\"init\\\\\":\\\\\"z/runs/rev\\\\\"" &&
	head -c 8192 z/runs/cmpcount-rev/model.safetensors | grep -aq "\"init\\\\\":\\\\\"z/runs/cmpcount\\\\\""'
ok_run "the runs differ from each other" sh -c 'for r in z/runs/*; do tail -c 4096 "$r/model.safetensors" | cksum; done | sort | uniq -d | grep -q . && exit 1; exit 0'

# Up to date: nothing runs, nothing changes.
ls -l --time-style=+%s.%N z/base z/runs/* > before
ok_run "again: up to date" sh "$ZOO" --small -o z -j 2
check "nothing was run" '! grep -q "ckpt-train\|task-gen" out'
ls -l --time-style=+%s.%N z/base z/runs/* > after
cmp_files "no file was touched" before after
ok_run "dry run when up to date" sh "$ZOO" --small -o z -n
check "it has nothing to print" '! grep -q "ckpt-train\|task-gen" out'

# Deterministic, whatever -j.
ok_run "the same family again, 1 job" sh "$ZOO" --small -q -o z1 -j 1
same=1
for f in base/model.safetensors $(for r in $RUNS; do echo runs/$r/model.safetensors; done) tasks/count.test.jsonl; do
	# The metadata names the directory it was made in: compare the tensors.
	case $f in *.safetensors)
		for d in z z1; do tail -c +$(( $(od -An -tu8 -N8 $d/$f) + 9 )) $d/$f > $d.data; done
		cmp -s z.data z1.data || same=0 ;;
	*) cmp -s z/$f z1/$f || same=0 ;;
	esac
done
check "-j 1 and -j 2 give the same family" '[ $same -eq 1 ]'

# Caching follows the dependencies.
rm -r z/runs/rev
ok_run "a removed run is rebuilt" sh "$ZOO" --small -o z -j 2
check "with the run started from it, and nothing else" '[ $(grep -c "ckpt-train -q" out) -eq 2 ] &&
	grep -q -- "-o z/runs/rev$" out && grep -q -- "-o z/runs/rev-count$" out'
sleep 1; touch z/base/model.safetensors
ok_run "a newer base" sh "$ZOO" --small -o z -n
check "retrains every run (dry run)" '[ $(grep -c "ckpt-train -q" out) -eq 14 ] && ! grep -q -- "-o z/base$" out'
ok_run "the dry run ran nothing" sh "$ZOO" --small -o z -n
check "still 14 to do" '[ $(grep -c "ckpt-train -q" out) -eq 14 ]'
ok_run "rebuild" sh "$ZOO" --small -q -o z -j 2
check "quiet: no commands printed" '! grep -q "ckpt-train" out'
# A changed recipe: another base seed retrains the base and everything after it, not the tasks.
ok_run "another base seed (make variable)" make --no-print-directory -f "$TOP/pipelines/zoo.mk" -n ZOO=z BIN="$BIN" SMALL=1 BASE_SEED=2
check "retrains the base and the runs, no task-gen" '[ $(grep -c "ckpt-train -q" out) -eq 15 ] && ! grep -q task-gen out'

# Scores on the test splits, with evalrun.
ok_run "--scores" sh "$ZOO" --small -q -o z -j 2 --scores
check "one record a checkpoint" '[ $(wc -l < z/scores.ndjson) -eq 15 ] && [ $(grep -c "\"scores\":{\"rev\":[0-9.e-]*,\"sort\":[0-9.e-]*,\"cmp\":[0-9.e-]*,\"count\":[0-9.e-]*}" z/scores.ndjson) -eq 15 ]'
check "the table: a header, 15 rows and the best single run" '[ "$(head -n 1 out | tr -s " ")" = "checkpoint rev sort cmp count macro" ] &&
	[ $(wc -l < out) -eq 17 ] && grep -q "^count-long " out && grep -q "^best single run: [a-z-]*, macro-average [0-9.]*" out'
# The macro-average of the table row is the mean of the record's scores.
want=$(jq -r 'select(.ckpt == "z/runs/sort") | [.scores[]] | add * 100 / length' z/scores.ndjson | xargs printf '%.1f')
check "sort's macro-average ($want)" '[ "$(awk "/^sort / { print \$NF }" out)" = "$want" ]'
ok_run "--scores again: nothing to score" sh "$ZOO" --small -o z --scores
check "no evalrun ran" '! grep -q "evalrun -q" out'

# Bad invocations.
fail_run 2 "--jobs '0': want a positive integer" "-j 0" sh "$ZOO" --small -o z -j 0
fail_run 2 "--jobs 'x': want a positive integer" "-j x" sh "$ZOO" --small -o z -j x
fail_run 2 "unknown option '--frob'" "unknown option" sh "$ZOO" --frob
fail_run 2 "unexpected argument 'extra'" "stray argument" sh "$ZOO" extra
fail_run 2 "-o: missing DIR" "-o without a directory" sh "$ZOO" -o
touch afile
fail_run 1 "^zoo: building the family in afile/z failed" "an output that cannot be made" sh "$ZOO" --small -q -o afile/z
mkdir p && cp "$ZOO" "$TOP/pipelines/zoo.mk" "$TOP/pipelines/lib.sh" p/
fail_run 1 "^zoo: task-gen: not found" "no programs on PATH nor beside it" env PATH=/usr/bin:/bin sh p/zoo --small -o z3

t_done
