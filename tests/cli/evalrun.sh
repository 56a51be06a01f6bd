#!/bin/sh
# evalrun: every task kind on a model whose answers are known (all weights zero: uniform next
# token), the same scores from every form of checkpoint (directory, file, zstd, ckpt-cat and wmerge
# streams on stdin), batch and thread counts, -r pass-through, an external harness (a fake one
# written here) writing a recycle record or lm-evaluation-harness results, timeouts, and every
# bad input with its status and message.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

# Fields of the one-line record in $1 (scores and n are flat objects).
obj() { sed -n "s/.*\"$1\":{\([^}]*\)}.*/\1/p" "$2"; }
score() { obj scores "$2" | tr ',' '\n' | sed -n "s/^\"$1\"://p"; }
count() { obj n "$2" | tr ',' '\n' | sed -n "s/^\"$1\"://p"; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= t) }'; }

ok_run "--help" evalrun --help
for o in --task --record --limit --batch --max-new --threads --exec --timeout --metric --donor \
         --tmpdir --lm-eval-json --fail-record --quiet --version; do
	grep -q -- "$o" out || t_notok "--help mentions $o"
done
ok_run "--version" evalrun --version
check "--version names the program" 'grep -q "^evalrun (recycle) " out'

LL="hidden=64,layers=2,vocab=256,ff=96,heads=4,kv=2"
ok_run "random model" st-gen --llama $LL --scale 0.3 -o m
ok_run "second model" st-gen --llama $LL --scale 0.3 --seed 2 -o m2
ok_run "zero model" st-gen --llama $LL --scale 0 -o z
ok_run "tasks" task-gen -s 3 --train 0 --dev 30 --test 0 -o t add rev cmp seq
TASKS="-t t/add.dev.jsonl -t t/rev.dev.jsonl -t t/cmp.dev.jsonl -t t/seq.dev.jsonl"

# --- known answers: the zero model's next token is uniform over 256 ---
printf '%s\n' '{"prompt":"q","target_ids":[0,0]}' '{"prompt":"q","target":"0"}' \
	'{"prompt_ids":[7,7],"target_ids":[0]}' '{"prompt":"q","target_ids":[0,0,0,0]}' > zero.jsonl
ok_run "zero model, every kind" evalrun $TASKS -t zero.jsonl z
cp out zrec
check "record names the checkpoint" 'grep -q "^{\"ckpt\":\"z\",\"scores\":{" zrec'
check "text: -log 256 per token" 'near "$(score seq zrec)" -5.545177444479562 1e-6'
a0=$(grep -c '"answer":0' t/cmp.dev.jsonl)
check "multiple choice: ties go to choice 0 (the answer in $a0 of 30)" \
	'near "$(score cmp zrec)" "$(awk -v a=$a0 "BEGIN { printf \"%.17g\", a / 30 }")" 1e-12'
check "generation: printable targets never match token 0" '[ "$(score add zrec)" = 0.0 ] && [ "$(score rev zrec)" = 0.0 ]'
check "generation: targets of token 0 match" '[ "$(score zero zrec)" = 0.75 ]'
check "n of every task" '[ "$(obj n zrec)" = "\"add\":30,\"rev\":30,\"cmp\":30,\"seq\":30,\"zero\":4" ]'
check "eval seconds and tokens" 'grep -Eq "\"eval\":\{\"seconds\":[0-9.e-]+,\"tokens\":[1-9][0-9]*,\"load_seconds\":[0-9.e-]+\}}$" zrec'
ok_run "--max-new 2" evalrun --max-new 2 -t zero.jsonl z
check "--max-new: a longer target misses" '[ "$(score zero out)" = 0.5 ]'
ok_run "--limit 2" evalrun -n 2 -t zero.jsonl -t t/seq.dev.jsonl z
check "--limit: n, the first examples" '[ "$(count zero out)" = 2 ] && [ "$(count seq out)" = 2 ] && [ "$(score zero out)" = 0.5 ]'

# --- the same scores from every form of the checkpoint, batch size and thread count ---
ok_run "random model: directory" evalrun $TASKS m
obj scores out > ref.scores
obj n out > ref.n
check "scores are numbers" 'grep -Eq "^\"add\":[0-9.e-]+,\"rev\":[0-9.e-]+,\"cmp\":[0-9.e-]+,\"seq\":-[0-9.e-]+$" ref.scores'
same() {  # same scores as the reference: accuracies exactly, the text score to 1e-6
	[ "$(obj n out)" = "$(cat ref.n)" ] && for k in add rev cmp; do
		[ "$(score $k out)" = "$(sed 's/,/\n/g' ref.scores | sed -n "s/^\"$k\"://p")" ] || return 1
	done && near "$(score seq out)" "$(sed 's/,/\n/g' ref.scores | sed -n 's/^"seq"://p')" 1e-6
}
ok_run "file" ckpt-cat -o m.safetensors m
ok_run "evalrun file" evalrun $TASKS m.safetensors
check "file: same scores" same
ok_run "zstd file" ckpt-cat -z -o m.safetensors.zst m
ok_run "evalrun zstd" evalrun $TASKS m.safetensors.zst
check "zstd: same scores" same
ckpt-cat m | evalrun $TASKS - > out 2> err
check "ckpt-cat stream on stdin: same scores" 'same && grep -q "\"ckpt\":\"-\"" out'
wmerge -w 0.5,0.5 m m | evalrun $TASKS - > out 2> err
check "wmerge stream (m with itself) on stdin: same scores" same
ok_run "f32 copy" ckpt-cat -t f32 -o m32.safetensors m
ok_run "evalrun f32 weights" evalrun $TASKS m32.safetensors
check "f32 weights (the same values): same scores" same
ok_run "f16 copy" ckpt-cat -t f16 -o m16.safetensors m
ok_run "evalrun f16 weights" evalrun $TASKS m16.safetensors
check "f16 weights: text score within 1e-3" 'near "$(score seq out)" "$(sed "s/,/\n/g" ref.scores | sed -n "s/^\"seq\"://p")" 1e-3'
for b in 1 5 64; do
	ok_run "--batch $b" evalrun -b $b $TASKS m
	check "--batch $b: same scores" same
done
ok_run "-j 1" evalrun -j 1 -b 3 $TASKS m
check "-j 1: same scores" same
ok_run "-j 2" evalrun -j 2 $TASKS m
check "-j 2: same scores" same
ok_run "task from stdin" evalrun -t - m < t/cmp.dev.jsonl
check "stdin task: scored as \"stdin\", the cmp score" '[ "$(score stdin out)" = "$(sed "s/,/\n/g" ref.scores | sed -n "s/^\"cmp\"://p")" ]'
evalrun -t t/seq.dev.jsonl m > a && evalrun -t t/seq.dev.jsonl m > b
check "deterministic" '[ "$(obj scores a)" = "$(obj scores b)" ]'

# --- -r: every field kept, byte for byte ---
printf '%s\n' '{"id":"g0001-03","gen":1,"x":[0.10000000000000001,1e-300],"weights":{"m":0.5,"m2":0.5},"big":12345678901234567890,"s":"é\"x","nested":{"a":[1,{"b":null}]}}' > cand.json
ok_run "-r FILE" evalrun -r cand.json -t t/cmp.dev.jsonl m
check "-r: the record's fields come first, unchanged" \
	'[ "$(cut -c1-$(($(wc -c < cand.json) - 2)) out)" = "$(sed "s/}$//" cand.json)" ]'
check "-r: then scores, n, se, eval" 'grep -q "\"nested\":{\"a\":\[1,{\"b\":null}\]},\"scores\":{\"cmp\":[0-9.]*},\"n\":{\"cmp\":30},\"se\":{\"cmp\":[0-9.e-]*},\"eval\":{" out'
check "se of an accuracy: sqrt(p (1 - p) / (n - 1)), the sample standard error" \
	'jq -e "(.scores.cmp * (1 - .scores.cmp) / (.n.cmp - 1) | sqrt) as \$w | (.se.cmp - \$w) | fabs < 1e-12" out > /dev/null'
ok_run "--per-example" evalrun --per-example -t t/cmp.dev.jsonl -t t/seq.dev.jsonl m
check "...every example's outcome, one a task, in order, their mean the score" \
	'jq -e "(.examples.cmp | length) == .n.cmp and ((.examples.cmp | add / length) - .scores.cmp | fabs) < 1e-12 and
		(.examples.cmp | all(. == 0 or . == 1)) and (.examples.seq | length) == .n.seq" out > /dev/null'
ok_run "--per-example with --limit 5" evalrun --per-example -n 5 -t t/cmp.dev.jsonl m
check "...five outcomes" '[ "$(jq ".examples.cmp | length" out)" = 5 ]'
fail_run 2 "are for the built-in evaluator" "--per-example with --exec" evalrun --per-example --exec true m
evalrun -t t/cmp.dev.jsonl -t t/seq.dev.jsonl m > plain
ok_run "--loglik" evalrun --loglik -t t/cmp.dev.jsonl -t t/seq.dev.jsonl m
check "...\"ll\" for each task, a log-likelihood (negative), the scores as without it" \
	'jq -e "(.ll | keys) == [\"cmp\", \"seq\"] and all(.ll[]; type == \"number\" and . < 0)" out > /dev/null &&
	[ "$(obj scores out)" = "$(obj scores plain)" ] && [ "$(jq -c "del(.ll, .soft, .eval)" out)" = "$(jq -c "del(.eval)" plain)" ]'
check "...and \"soft\": for cmp in (0, 1], for the text task seq its score" \
	'jq -e "(.soft | keys) == [\"cmp\", \"seq\"] and .soft.cmp > 0 and .soft.cmp <= 1 and .soft.seq == .scores.seq" out > /dev/null'
fail_run 2 "are for the built-in evaluator" "--loglik with --exec" evalrun --loglik --exec true m
check "-r: no ckpt field added" '! grep -q "\"ckpt\"" out'
ok_run "-r @- with a directory checkpoint" sh -c 'evalrun -r @- -t t/cmp.dev.jsonl m < cand.json'
check "-r @-: same record" 'grep -q "^{\"id\":\"g0001-03\"" out'
ok_run "-r @FILE" evalrun -r @cand.json -t t/cmp.dev.jsonl m
cp out scored1
ok_run "scores added to a scored record" evalrun -r scored1 -t t/seq.dev.jsonl m
check "earlier scores kept, eval cost summed" \
	'[ "$(count cmp out)" = 30 ] && [ "$(count seq out)" = 30 ] && [ -n "$(score cmp out)" ] &&
	 [ "$(sed -n "s/.*\"tokens\":\([0-9]*\).*/\1/p" out)" -gt "$(sed -n "s/.*\"tokens\":\([0-9]*\).*/\1/p" scored1)" ]'

# --- the man page's loop: cmaes-step ask, wmerge | evalrun, cmaes-step tell ---
ok_run "cmaes-step init" sh -c 'cmaes-step init --names m,m2 --seed 1 -p 4 > state.json'
ok_run "cmaes-step ask" sh -c 'cmaes-step ask state.json > cand.ndjson'
: > scored.ndjson
i=0
while read -r line; do
	i=$((i + 1))
	printf '%s\n' "$line" > c$i.json
	wmerge -q -w @c$i.json m m2 | evalrun -q -r c$i.json -t t/cmp.dev.jsonl -t t/seq.dev.jsonl - >> scored.ndjson || echo fail >> scored.ndjson
done < cand.ndjson
check "one scored record a candidate" '[ $(grep -c "\"scores\":{\"cmp\"" scored.ndjson) -eq 4 ] && ! grep -q fail scored.ndjson'
ok_run "cmaes-step tell takes the scored records" sh -c 'cmaes-step tell state.json scored.ndjson'
check "tell gave every record a fitness" '[ $(grep -c "\"fitness\"" out) -eq 4 ]'

# --- external harness ---
cat > harness.sh <<'EOF'
#!/bin/sh
# harness.sh MODE CKPT OUT: checks the checkpoint directory, keeps a copy, writes OUT.
mode=$1 ck=$2 out=$3
echo "$ck" > ckpt.path
echo "$RECYCLE_CKPT|$RECYCLE_OUT" > env.seen
[ -f "$ck/config.json" ] && ls "$ck"/*.safetensors > /dev/null || { echo "harness: bad checkpoint $ck" >&2; exit 4; }
rm -rf seen && cp -r "$ck" seen
echo "harness: scoring $ck"
case $mode in
record) printf '{"scores":{"h1":0.25,"h2":null},"n":{"h1":8},"eval":{"tokens":99,"gpu":"none"}}\n' > "$out" ;;
lmdir) mkdir -p "$out/model__x" && printf '%s' '{"results":{"arc":{"alias":"arc","acc,none":0.5,"acc_stderr,none":"N/A","acc_norm,none":0.625},"wiki":{"word_perplexity,none":20.5}},"higher_is_better":{"wiki":{"word_perplexity":false}},"n-samples":{"arc":{"original":50,"effective":40}},"total_evaluation_time_seconds":"3.5"}' > "$out/model__x/results_2025.json" ;;
lmfile) printf '%s' '{"results":{"gsm8k":{"exact_match,strict-match":0.125,"exact_match,flexible-extract":0.25}}}' > "$out" ;;
fail) echo "harness: out of memory on the GPU" >&2; exit 3 ;;
sleep) sleep 30 ;;
none) ;;
junk) echo "not json" > "$out" ;;
esac
EOF
H="sh $T_DIR/harness.sh"
ok_run "--exec, record output, directory checkpoint" evalrun -r cand.json --exec "$H record {ckpt} {out}" m
check "directory given as is" '[ "$(cat ckpt.path)" = m ]'
check "placeholders also in the environment" 'grep -q "^m|/.*/out$" env.seen'
check "harness scores in the record" 'grep -q "^{\"id\":\"g0001-03\".*\"scores\":{\"h1\":0.25,\"h2\":null},\"n\":{\"h1\":8},\"eval\":{\"gpu\":\"none\",\"seconds\":[0-9.e-]*,\"tokens\":99}}$" out'
check "harness output copied to stderr" 'grep -q "harness: scoring m" err'
ckpt-cat m | evalrun -q --exec "$H lmdir {ckpt} {out}" - > out 2> err
check "stream: lm-eval output directory read, default metric" \
	'grep -q "^{\"ckpt\":\"-\",\"scores\":{\"arc\":0.5},\"n\":{\"arc\":40},\"eval\":{\"metric\":{\"arc\":\"acc,none\"},\"seconds\":" out'
check "a task without the metric: a warning" 'grep -q "results_2025.json: task wiki (and maybe others) has no such metric: not scored" err'
check "-q: harness output not copied" '! grep -q "harness: scoring" err'
check "stream materialized as a Hugging Face directory with config.json" \
	'[ -f seen/config.json ] && [ -f seen/model.safetensors ] && grep -q "\"hidden_size\": *64" seen/config.json'
ckpt-cat seen > a.st; ckpt-cat m > b.st
check "materialized tensors identical" 'cmp -s a.st b.st'
check "temporary directory removed" '[ -n "$(cat ckpt.path)" ] && [ ! -e "$(cat ckpt.path)" ] && [ ! -e "$(dirname "$(cat ckpt.path)")" ]'
mkdir binmodel && : > binmodel/pytorch_model.bin
ok_run "--exec: a directory goes to the harness as it is (any format)" \
	evalrun --exec 'test -f {ckpt}/pytorch_model.bin && echo "{\"scores\":{\"a\":1}}" > {out}' binmodel
check "any directory: scored" '[ "$(score a out)" = 1.0 ]'
mkdir "tmp dir's"
ok_run "--exec on a file, --tmpdir with a space and a quote, --metric" \
	evalrun --tmpdir "tmp dir's" --metric acc_norm --exec "$H lmdir {ckpt} {out}" m.safetensors
check "quoted {ckpt}, metric chosen" 'grep -q "tmp dir'"'"'s/evalrun\.[A-Za-z0-9]*/model$" ckpt.path && [ "$(score arc out)" = 0.625 ]'
check "--tmpdir left empty" '[ -z "$(ls -A "tmp dir'"'"'s")" ]'
ok_run "--metric TASK=NAME,FILTER, results file" evalrun --metric gsm8k=exact_match,flexible-extract --exec "$H lmfile {ckpt} {out}" m
check "filter chosen" '[ "$(score gsm8k out)" = 0.25 ]'
ok_run "--exec default metric of a filtered task" evalrun --exec "$H lmfile {ckpt} {out}" m
check "first filter" '[ "$(score gsm8k out)" = 0.125 ]'
fail_run 1 "^evalrun: --exec '.*harness.sh fail \{ckpt\} \{out\}': exited with status 3; its output ended with:" \
	"harness failure: status" evalrun --exec "$H fail {ckpt} {out}" m
check "harness failure: its stderr reported" 'grep -q "^harness: out of memory on the GPU$" err'
fail_run 1 "timed out after 0.5 s" "--timeout" evalrun --timeout 0.5 --exec "$H sleep {ckpt} {out}" m.safetensors
check "timeout: temporary removed" '[ ! -e "$(cat ckpt.path)" ]'
fail_run 1 "wrote no output at \{out\}" "harness writes nothing" evalrun --exec "$H none {ckpt} {out}" m
fail_run 1 "/out: .*(invalid|unexpected|JSON)" "harness writes junk" evalrun --exec "$H junk {ckpt} {out}" m
fail_run 1 "status 127" "command not found" evalrun --exec "no-such-harness-xyz {ckpt}" m
fail_run 1 "no task in \"results\" has the metric f1" "--metric absent" evalrun --metric f1 --exec "$H lmfile {ckpt} {out}" m
fail_run 1 "killed by signal" "harness killed" evalrun --exec 'kill -9 $$' m
fail_run 1 "no config.json .* to give the harness" "stream without config" \
	sh -c 'st-gen --tensor a:f32:4 -o - | evalrun --exec "true" -'
ok_run "--fail-record" sh -c "evalrun -r cand.json --fail-record --exec '$H fail {ckpt} {out}' m; test \$? -eq 1"
check "--fail-record: the record with the error" 'grep -q "^{\"id\":\"g0001-03\".*\"error\":\"--exec .*exited with status 3.*\",\"eval\":{\"seconds\":" out'

# --- --lm-eval-json ---
$H lmdir m lm > /dev/null
ok_run "--lm-eval-json directory" evalrun --metric acc --metric wiki=word_perplexity --lm-eval-json lm
check "record with the source and lm-eval's time" \
	'grep -q "^{\"source\":\"lm\",\"scores\":{\"arc\":0.5,\"wiki\":-20.5},\"n\":{\"arc\":40},\"eval\":{\"metric\":{[^}]*},\"lower_is_better\":\[\"wiki\"\],\"seconds\":3.5}}$" out'
ok_run "--lm-eval-json FILE -r" evalrun -r cand.json --lm-eval-json lm/model__x/results_2025.json
check "-r record kept" 'grep -q "^{\"id\":\"g0001-03\".*\"scores\":{\"arc\":0.5" out'
ok_run "--lm-eval-json - " sh -c 'evalrun --lm-eval-json - < lm/model__x/results_2025.json'

# Groups count once, by their aggregate (lm-eval 0.4: "groups", "group_subtasks"); a chosen
# metric per task; lower-is-better metrics negated and named; standard errors kept.
cat > groups.json <<'JSON'
{"results":{"mmlu":{"acc,none":0.6,"acc_stderr,none":0.01,"alias":"mmlu"},"mmlu_humanities":{"acc,none":0.5,"alias":" - humanities"},"mmlu_formal_logic":{"acc,none":0.3,"alias":"  - formal_logic"},"gsm8k":{"exact_match,strict-match":0.4,"exact_match,flexible-extract":0.45,"alias":"gsm8k"},"wikitext":{"word_perplexity,none":12.5,"alias":"wikitext"}},
"groups":{"mmlu":{"acc,none":0.61,"acc_stderr,none":0.011,"alias":"mmlu"},"mmlu_humanities":{"acc,none":0.5}},
"group_subtasks":{"mmlu_humanities":["mmlu_formal_logic"],"mmlu":["mmlu_humanities"],"gsm8k":[],"wikitext":[]},
"n-samples":{"gsm8k":{"original":1319,"effective":100}}}
JSON
ok_run "--lm-eval-json with groups" evalrun --metric gsm8k=exact_match,strict-match --metric wikitext=word_perplexity --lm-eval-json groups.json
check "a group scores once, by its aggregate; its subtasks not again" \
	'[ "$(jq -c .scores out)" = "{\"mmlu\":0.61,\"gsm8k\":0.4,\"wikitext\":-12.5}" ]'
check "word_perplexity (no higher_is_better given) is negated and named lower-is-better" \
	'[ "$(jq -c .eval.lower_is_better out)" = "[\"wikitext\"]" ]'
check "the named metric and filter score gsm8k" '[ "$(jq -r .eval.metric.gsm8k out)" = "exact_match,strict-match" ]'
check "standard errors come along" '[ "$(jq -c .se out)" = "{\"mmlu\":0.011}" ]'
jq -c 'del(.group_subtasks)' groups.json > nogs.json
ok_run "--lm-eval-json without group_subtasks" evalrun --metric wikitext=word_perplexity --lm-eval-json nogs.json
check "...subtasks told apart by their alias" '[ "$(jq -c "[.scores | keys[]]" out)" = "[\"gsm8k\",\"mmlu\",\"wikitext\"]" ]'

# --- bad command lines: status 2 ---
fail_run 2 "nothing to do" "no task" evalrun m
fail_run 2 "no checkpoint given" "no checkpoint" evalrun -t t/cmp.dev.jsonl
fail_run 2 "'m2' is extra" "two checkpoints" evalrun -t t/cmp.dev.jsonl m m2
fail_run 2 "standard input is given twice" "stdin twice (-r, CKPT)" evalrun -r @- -t t/cmp.dev.jsonl -
fail_run 2 "standard input is given twice" "stdin twice (-t, CKPT)" evalrun -t - -
fail_run 2 "both score as \"cmp\"" "two files, one task name" evalrun -t t/cmp.dev.jsonl -t x/cmp.test.jsonl m
fail_run 2 "empty task name" "task file with no name" evalrun -t t/.hidden m
fail_run 2 "--batch: '0' is not an integer in 1..4096" "--batch 0" evalrun -b 0 -t t/cmp.dev.jsonl m
fail_run 2 "--max-new: 'x'" "--max-new x" evalrun --max-new x -t t/cmp.dev.jsonl m
fail_run 2 "--threads: '0'" "-j 0" evalrun -j 0 -t t/cmp.dev.jsonl m
fail_run 2 "--limit: '-1'" "--limit -1" evalrun -n -1 -t t/cmp.dev.jsonl m
fail_run 2 "--timeout: '-1' is not a positive" "--timeout -1" evalrun --timeout -1 --exec true m
fail_run 2 "are for --exec" "--timeout without --exec" evalrun --timeout 5 -t t/cmp.dev.jsonl m
fail_run 2 "do not go together" "-t and --exec" evalrun --exec true -t t/cmp.dev.jsonl m
fail_run 2 "are for the built-in evaluator" "--batch with --exec" evalrun -b 2 --exec true m
fail_run 2 "--metric is for --exec" "--metric with -t" evalrun --metric acc -t t/cmp.dev.jsonl m
fail_run 2 "--metric: 'arc='" "--metric TASK= " evalrun --metric arc= --exec true m
fail_run 2 "takes no checkpoint" "--lm-eval-json with a checkpoint" evalrun --lm-eval-json lm m
fail_run 2 "unknown option" "unknown option" evalrun --frobnicate -t t/cmp.dev.jsonl m

# --- bad inputs: status 1 ---
fail_run 1 "^evalrun: nosuch:" "missing checkpoint" evalrun -t t/cmp.dev.jsonl nosuch
fail_run 1 "^evalrun: t/nosuch.jsonl:" "missing task file" evalrun -t t/nosuch.jsonl m
printf '%s\n' '{"prompt":"a","target":"b"}' '{"prompt":"a"}' > bad1.jsonl
fail_run 1 "^evalrun: bad1.jsonl:2: unknown kind of example" "task line missing fields (line given)" evalrun -t bad1.jsonl m
printf '%s\n' '{"prompt":"a","choices":["x","y"],"answer":0}' '' '{"prompt":"a","choices":["x","y"]}' > bad2.jsonl
fail_run 1 "^evalrun: bad2.jsonl:3: missing \"answer\"" "multiple choice without answer" evalrun -t bad2.jsonl m
printf '%s\n' '{"text_ids":[1,2,256]}' > bad3.jsonl
fail_run 1 "bad3.jsonl:1: \"text_ids\"\[2\] = 256 is outside the vocabulary \[0, 256\)" "token id outside the vocabulary" evalrun -t bad3.jsonl m
printf '%s\n' '{"prompt":"a","target":"b"}' '{"text":"ab"}' > bad4.jsonl
fail_run 1 "bad4.jsonl:2: a text example in a generation task" "mixed kinds" evalrun -t bad4.jsonl m
: > empty.jsonl
fail_run 1 "empty.jsonl: no examples" "empty task file" evalrun -t empty.jsonl m
printf '%s\n' '{"prompt":"a","target":"b"' > bad5.jsonl
fail_run 1 "bad5.jsonl:1:" "task line not JSON" evalrun -t bad5.jsonl m
ok_run "model with a 300-token vocabulary" st-gen --llama hidden=32,layers=1,vocab=300,ff=48,heads=2 -o v300
fail_run 1 "t/cmp.dev.jsonl:1: \"prompt\" is a string \(byte tokens\) but the vocabulary has 300 entries" \
	"strings for a non-byte vocabulary" evalrun -t t/cmp.dev.jsonl v300
printf '%s\n' '{"prompt_ids":[299,1],"choices_ids":[[5],[298]],"answer":1}' > ids.jsonl
ok_run "ids for any vocabulary" evalrun -t ids.jsonl v300
check "ids task scored" '[ "$(count ids out)" = 1 ]'
fail_run 1 "^evalrun: nosuch.json:" "-r missing" evalrun -r nosuch.json -t t/cmp.dev.jsonl m
echo '[1,2]' > arr.json
fail_run 1 "arr.json: the record is not a JSON object" "-r not an object" evalrun -r arr.json -t t/cmp.dev.jsonl m
echo '{"a":' > trunc.json
fail_run 1 "trunc.json" "-r not JSON" evalrun -r trunc.json -t t/cmp.dev.jsonl m

# Checkpoints that are not a runnable Llama.
ckpt-cat -x model.norm.weight -o nonorm.safetensors m
fail_run 1 "^evalrun: nonorm.safetensors: missing tensor model.norm.weight" "missing tensor" evalrun -t t/cmp.dev.jsonl nonorm.safetensors
fail_run 1 "missing tensor model.norm.weight" "missing tensor, stream" sh -c 'ckpt-cat -x model.norm.weight m | evalrun -t t/cmp.dev.jsonl -'
sed 's/"hidden_size": *64/"hidden_size": 32/' m/config.json > small.json
gen --llama $LL --config small.json -o wrongshape
fail_run 1 "wrongshape: .*model.embed_tokens.weight.*shape \[256, 64\], config wants \[256, 32\]" \
	"config and tensors disagree" evalrun -t t/cmp.dev.jsonl wrongshape
gen --llama $LL --tensor model.layers.0.self_attn.q_proj.bias:f32:64 -o bias
fail_run 1 "unknown tensor model.layers.0.self_attn.q_proj.bias" "tensor the architecture lacks" evalrun -t t/cmp.dev.jsonl bias
sed 's/"model_type": *"llama"/"model_type": "gpt2"/' m/config.json > gpt2.json
gen --llama $LL --config gpt2.json -o gpt2
fail_run 1 "gpt2: config: model_type" "another architecture" evalrun -t t/cmp.dev.jsonl gpt2
sed 's/"hidden_act"/"rope_scaling": {"rope_type": "yarn", "factor": 2.0}, "hidden_act"/' m/config.json > rs.json
gen --llama $LL --config rs.json -o ropescale
fail_run 1 'ropescale: config: rope_scaling: rope type "yarn" is not supported' "yarn rope refused by name" \
	evalrun -t t/cmp.dev.jsonl ropescale
sed 's/"hidden_act"/"attention_bias": true, "hidden_act"/' m/config.json > ab.json
gen --llama $LL --config ab.json -o attnbias
fail_run 1 "attnbias: missing tensor model.layers.0.self_attn.q_proj.bias" "attention biases the checkpoint lacks" \
	evalrun -t t/cmp.dev.jsonl attnbias
gen --tensor a:f32:4 -o noconfig.safetensors
fail_run 1 "noconfig.safetensors: no config.json" "no config" evalrun -t t/cmp.dev.jsonl noconfig.safetensors
head -c 20000 m.safetensors > trunc.safetensors
fail_run 1 "trunc.safetensors" "truncated file" evalrun -t t/cmp.dev.jsonl trunc.safetensors
fail_run 1 "<stdin>.*(truncated|end)" "truncated stream" sh -c 'head -c 20000 m.safetensors | evalrun -t t/cmp.dev.jsonl -'
ok_run "--fail-record on a bad checkpoint" sh -c 'evalrun --fail-record -r cand.json -t t/cmp.dev.jsonl nonorm.safetensors; test $? -eq 1'
check "failure record" 'grep -q "\"error\":\"nonorm.safetensors: missing tensor model.norm.weight\"" out'
t_done
