#!/bin/sh
# task-gen: the files it writes (every skill's answers recomputed here), disjoint splits,
# determinism, difficulty options, --check, and every bad option or input.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

skills="add rev sort copy count cmp seq"

ok_run "--help" task-gen --help
for o in --output --seed --train --dev --test --digits --len --letters --terms --list --check --vocab --limit --version; do
	grep -q -- "$o" out || t_notok "--help mentions $o"
done
ok_run "--version" task-gen --version
check "--version names the program" 'grep -q "^task-gen (recycle) " out'
ok_run "--list" task-gen --list
check "--list shows every skill" '[ "$(cut -d" " -f1 out | tr "\n" " ")" = "$skills " ]'

ok_run "generate all skills" task-gen -s 5 --train 300 --dev 50 --test 40 -o d all
n=0
for s in $skills; do for sp in train dev test; do [ -f d/$s.$sp.jsonl ] && n=$((n + 1)); done; done
check "21 files" '[ $n -eq 21 ] && [ $(ls d | wc -l) -eq 21 ]'
check "no temporaries left" '[ -z "$(ls -A d | grep tmp)" ]'
check "split sizes" '[ $(wc -l < d/add.train.jsonl) -eq 300 ] && [ $(wc -l < d/rev.dev.jsonl) -eq 50 ] && [ $(wc -l < d/seq.test.jsonl) -eq 40 ]'

# The loader evalrun and ckpt-train use accepts every file, with the right kind.
ok_run "--check accepts every file" task-gen --check d/*.jsonl
check "kinds" 'grep -q "^d/cmp.dev.jsonl: cmp: 50 multiple-choice examples" out &&
	grep -q "^d/seq.train.jsonl: seq: 300 text examples" out &&
	[ $(grep -c " generation examples" out) -eq 15 ]'

# The key of an example: its prompt, or its text.
key() { sed -n -e 's/^{"prompt":"\([^"]*\)".*/\1/p' -e 's/^{"text":"\([^"]*\)"}$/\1/p' "$@"; }
for s in $skills; do
	key d/$s.train.jsonl d/$s.dev.jsonl d/$s.test.jsonl > keys
	check "$s: every line has a key" '[ $(wc -l < keys) -eq 390 ]'
	check "$s: no prompt in two splits (nor twice in one)" '[ -z "$(sort keys | uniq -d)" ]'
done

# Recompute every answer. A generation target ends in the terminator \n (written "\n" in JSON).
gen_pairs() { sed -n 's/^{"prompt":"\([^"]*\)","target":"\([^"]*\)\\n"}$/\1 \2/p' "$@"; }
for s in add rev sort copy count; do
	gen_pairs d/$s.*.jsonl > pairs
	check "$s: every line is {prompt, target ending in a newline}" '[ $(wc -l < pairs) -eq 390 ]'
done
bad=$(gen_pairs d/add.*.jsonl | awk '{ split($1, a, /[+=]/); if (a[1] + a[2] != $2 || $1 !~ /^[0-9]+\+[0-9]+=$/) print }' | wc -l)
check "add: sums" '[ $bad -eq 0 ]'
bad=$(gen_pairs d/rev.*.jsonl | awk '{ p = $1; sub(/^rev:/, "", p); sub(/=$/, "", p); r = "";
	for (i = length(p); i > 0; i--) r = r substr(p, i, 1); if (r != $2) print }' | wc -l)
check "rev: reversals" '[ $bad -eq 0 ]'
bad=$(gen_pairs d/sort.*.jsonl | awk '{ p = $1; sub(/^sort:/, "", p); sub(/=$/, "", p); r = "";
	for (c = 97; c <= 122; c++) { ch = sprintf("%c", c); for (i = 1; i <= length(p); i++) if (substr(p, i, 1) == ch) r = r ch }
	if (r != $2 || length(p) < 2 || length(p) > 6) print }' | wc -l)
check "sort: sorted letters, default lengths 2-6" '[ $bad -eq 0 ]'
bad=$(gen_pairs d/copy.*.jsonl | awk '{ p = $1; sub(/^copy:/, "", p); sub(/=$/, "", p); if (p != $2) print }' | wc -l)
check "copy: copies" '[ $bad -eq 0 ]'
bad=$(gen_pairs d/count.*.jsonl | awk '{ split($1, a, ":"); s = a[3]; sub(/=$/, "", s); n = gsub(a[2], "", s);
	if (n != $2) print }' | wc -l)
check "count: counts" '[ $bad -eq 0 ]'
check "count: answers are not all 0" '[ $(gen_pairs d/count.*.jsonl | grep -c " [1-9]") -gt 100 ]'
bad=$(sed -n 's/^{"prompt":"cmp:\([0-9]*\),\([0-9]*\)=","choices":\["<\\n","=\\n",">\\n"\],"answer":\([012]\)}$/\1 \2 \3/p' d/cmp.*.jsonl |
	awk '{ w = $1 < $2 ? 0 : $1 == $2 ? 1 : 2; if (w != $3) print } END { if (NR != 390) print "count", NR }' | wc -l)
check "cmp: answers" '[ $bad -eq 0 ]'
check "cmp: every answer occurs" 'for a in 0 1 2; do grep -q "\"answer\":$a}" d/cmp.train.jsonl || exit 1; done'
bad=$(sed -n 's/^{"text":"seq:\([0-9,]*\)\\n"}$/\1/p' d/seq.*.jsonl | awk -F, '{ d = $2 - $1;
	if (NF < 3 || NF > 5 || d < 1 || d > 9) print; for (i = 3; i <= NF; i++) if ($i - $(i-1) != d) print } END { if (NR != 390) print "count", NR }' | wc -l)
check "seq: arithmetic sequences of 3-5 terms" '[ $bad -eq 0 ]'

# Determinism and stable splits.
ok_run "same seed again" task-gen -s 5 --train 300 --dev 50 --test 40 -o d2 all
same=1; for f in d/*; do cmp -s "$f" "d2/${f#d/}" || same=0; done
check "same seed, same bytes" '[ $same -eq 1 ]'
ok_run "another seed" task-gen -s 6 --train 300 --dev 50 --test 40 -o d3 add
check "another seed, other examples" '! cmp -s d/add.dev.jsonl d3/add.dev.jsonl'
ok_run "more training data, one skill" task-gen -s 5 --train 900 --dev 50 --test 40 -o d4 rev
cmp_files "dev does not depend on --train or on the other skills" d/rev.dev.jsonl d4/rev.dev.jsonl
cmp_files "test does not depend on --train" d/rev.test.jsonl d4/rev.test.jsonl
check "the larger train split starts like the smaller" '[ "$(head -300 d4/rev.train.jsonl | cksum)" = "$(cksum < d/rev.train.jsonl)" ]'
ok_run "no train split" task-gen --train 0 -o d5 sort
check "--train 0 writes no train file" '[ ! -e d5/sort.train.jsonl ] && [ -s d5/sort.dev.jsonl ]'

# Difficulty options.
ok_run "--digits 5" task-gen --digits 5 --train 100 -o h add cmp
check "add operands have 5 digits" '[ $(gen_pairs h/add.*.jsonl | grep -Ec "^[1-9][0-9]{4}\+[1-9][0-9]{4}= ") -eq 500 ]'
check "cmp operands have 5 digits" '[ $(grep -Ec "cmp:[1-9][0-9]{4},[1-9][0-9]{4}=" h/cmp.train.jsonl) -eq 100 ]'
ok_run "--len 7 --letters 3" task-gen --len 7 --letters 3 --train 100 -o h rev count
check "strings of 7 letters from a-c" '[ $(gen_pairs h/rev.*.jsonl | grep -Ec "^rev:[abc]{7}= [abc]{7}$") -eq 500 ]'
check "count letters from a-c" '[ $(gen_pairs h/count.*.jsonl | grep -Ec "^count:[abc]:[abc]{7}= [0-7]$") -eq 500 ]'
ok_run "--terms 6 --digits 2-4" task-gen --terms 6 --digits 2-4 --train 100 -o h seq
check "seq texts of 6 terms starting with 2-4 digits" '[ $(grep -Ec "^\{\"text\":\"seq:[1-9][0-9]{1,3}(,[0-9]+){5}\\\\n\"\}$" h/seq.train.jsonl) -eq 100 ]'
ok_run "--digits 18 stays exact" task-gen --digits 18 --train 50 --dev 0 --test 0 -o big add
bad=0
gen_pairs big/add.train.jsonl | tr '+=' '  ' > sums
while read -r a b c; do [ ${#a} -eq 18 ] && [ ${#b} -eq 18 ] && [ $((a + b)) = "$c" ] || bad=$((bad + 1)); done < sums
check "18-digit sums are exact (shell 64-bit arithmetic)" '[ $bad -eq 0 ] && [ $(wc -l < sums) -eq 50 ]'

# Bad input: too few distinct examples; nothing is written then, not even for the other skills.
fail_run 1 '^task-gen: add: found only 100 distinct examples for the test split after 100000 repeats in a row: ask for fewer examples or widen --digits$' "--digits 1 has only 100 sums" \
	task-gen --digits 1 -o small rev add
check "nothing written after a failure" '[ -z "$(ls -A small)" ]'
: > afile
fail_run 1 '^task-gen: afile: not a directory' "output is a file" task-gen -o afile add
fail_run 1 '^task-gen: no/such: No such file' "output parent missing" task-gen -o no/such add

# Bad options.
fail_run 2 "unknown skill 'mul'" "unknown skill" task-gen -o x add mul
fail_run 2 'no output directory' "no -o" task-gen add
fail_run 2 'no skills' "no skills" task-gen -o x
fail_run 2 "--digits '0': want an integer from 1 to 18" "--digits 0" task-gen --digits 0 -o x add
fail_run 2 "--digits '19'" "--digits 19" task-gen --digits 19 -o x add
fail_run 2 "--digits '5-3': LO is larger than HI" "--digits 5-3" task-gen --digits 5-3 -o x add
fail_run 2 "--len 'abc'" "--len abc" task-gen --len abc -o x rev
fail_run 2 "--len '2-'" "--len 2-" task-gen --len 2- -o x rev
fail_run 2 "--letters '27'" "--letters 27" task-gen --letters 27 -o x rev
fail_run 2 "--terms '1'" "--terms 1" task-gen --terms 1 -o x seq
fail_run 2 "--train '-1'" "--train -1" task-gen --train -1 -o x add
fail_run 2 "--seed 'x'" "--seed x" task-gen --seed x -o x add
fail_run 2 "--seed '-3'" "--seed -3" task-gen --seed -3 -o x add
fail_run 2 'unrecognized option' "unknown option" task-gen --bogus -o x add
fail_run 2 '--check: no task files' "--check without files" task-gen --check
check "nothing written after usage errors" '[ ! -e x ]'

# --check on bad files: the loader's message with the line, and every file reported.
printf '{"prompt":"1+1=","target":"2\\n"}\n{"prompt":"1+2="}\n' > bad.dev.jsonl
fail_run 1 '^task-gen: bad.dev.jsonl:2: unknown kind of example' "--check: bad line" task-gen --check bad.dev.jsonl d/add.dev.jsonl
check "--check still reports the good file" 'grep -q "^d/add.dev.jsonl: add: 50 generation" out'
fail_run 1 'vocabulary has 1000 entries, not 256: use "prompt_ids"' "--check -V 1000 on byte tokens" \
	task-gen --check -V 1000 d/add.dev.jsonl
fail_run 1 'nothing.jsonl: No such file' "--check: missing file" task-gen --check nothing.jsonl
fail_run 2 "--vocab '0'" "--vocab 0" task-gen --check -V 0 d/add.dev.jsonl
ok_run "--check --limit stops before a bad line" task-gen --check --limit 1 bad.dev.jsonl
check "--limit 1 counts one example" 'grep -q "bad: 1 generation examples" out'
ok_run "-n is --limit" task-gen -c -n 1 bad.dev.jsonl
check "-n 1 counts one example" 'grep -q "bad: 1 generation examples" out'
printf '{"prompt_ids":[1,999],"target_ids":[5]}\n' > ids.jsonl
ok_run "--check -V 1000 on ids" task-gen --check -V 1000 ids.jsonl
fail_run 1 'ids.jsonl:1: "prompt_ids"\[1\] = 999 is outside the vocabulary \[0, 256\)' "--check: id outside the vocabulary" \
	task-gen --check ids.jsonl

t_done
