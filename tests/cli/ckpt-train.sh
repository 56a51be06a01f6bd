#!/bin/sh
# ckpt-train: the loss goes down on a learnable task and only the targets count, task weights
# steer what is learned, determinism (the same bytes again and with -j 2), --init continues a run
# (directory, file, stream), the outputs load in evalrun in every form and dtype, --tie, the
# provenance metadata, an interrupted run leaves nothing, and every
# bad option or input with its status and message.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

ok_run "--help" ckpt-train --help
for o in --task --init --config --tie --steps --lr --min-lr --warmup --batch --seq --no-pack \
         --weight-decay --clip --seed --dtype --threads --log-every --output --quiet --version; do
	grep -q -- "$o" out || t_notok "--help mentions $o"
done
ok_run "--version" ckpt-train --version
check "--version names the program" 'grep -q "^ckpt-train (recycle) " out'

CFG=hidden=16,layers=1,heads=2,kv-heads=1,ff=32,vocab=256
ok_run "tasks" task-gen -s 2 --train 300 --dev 30 --test 30 --len 2-4 --letters 5 -o t copy rev
# The summary line: "... loss FIRST -> LAST".
first() { sed -n 's/.* loss \([0-9.]*\) -> \([0-9.]*\)$/\1/p' err; }
last() { sed -n 's/.* loss \([0-9.]*\) -> \([0-9.]*\)$/\2/p' err; }
# A task's score in the evalrun record in ./out.
score() { sed -n 's/.*"scores":{\([^}]*\)}.*/\1/p' out | tr ',' '\n' | sed -n "s/^\"$1\"://p"; }
is() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 == b + 0) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a + 0 < b + 0) }'; }

# --- learning ---
ok_run "train copy from scratch" ckpt-train -t t/copy.train.jsonl --config $CFG --steps 60 --lr 1e-2 \
	--batch 8 --seq 32 --log-every 10 -o a
check "progress lines: step, loss, lr, tokens/s" '[ $(grep -Ec "^ckpt-train: step [0-9]+/60 loss [0-9.]+ lr [0-9.e-]+ grad-norm [0-9.e+-]+ tokens/s [0-9]+$" err) -eq 6 ]'
f1=$(first) l1=$(last)
check "the loss goes down ($f1 -> $l1)" 'lt "$l1" "$(awk -v f="$f1" "BEGIN { print f * 0.7 }")"'
check "a Hugging Face directory" '[ -f a/config.json ] && [ -f a/model.safetensors ] && [ $(ls a | wc -l) -eq 2 ]'
check "config: Llama, untied, bf16" 'grep -q "\"LlamaForCausalLM\"" a/config.json && grep -q "\"tie_word_embeddings\": false" a/config.json &&
	grep -q "\"torch_dtype\": \"bfloat16\"" a/config.json && grep -q "\"hidden_size\": 16" a/config.json'
ok_run "list the tensors" ckpt-cat -l a
check "Hugging Face names, a separate lm_head, BF16" '[ $(wc -l < out) -eq 12 ] && grep -q "\"name\":\"lm_head.weight\"" out &&
	grep -q "\"name\":\"model.layers.0.self_attn.q_proj.weight\"" out && [ $(grep -c "\"dtype\":\"BF16\"" out) -eq 12 ]'
ok_run "the output loads in evalrun" evalrun -t t/copy.test.jsonl -t t/rev.test.jsonl a
check "evalrun scores it" 'grep -Eq "\"scores\":\{\"copy\":[0-9.e-]+,\"rev\":[0-9.e-]+\}" out'
check "no progress with -q" 'ckpt-train -q -t t/copy.train.jsonl --config $CFG --steps 3 -o q 2> err && [ ! -s err ] && [ -d q ]'

# Only target tokens are predicted: prompts of random letters, a constant target. The loss of
# the targets goes to nearly 0; a loss over the prompt letters could not go below ~log 4.
awk 'BEGIN { srand(3); for (i = 0; i < 200; i++) { s = ""; for (j = 0; j < 6; j++) s = s substr("abcd", int(rand() * 4) + 1, 1)
	printf "{\"prompt\":\"%s=\",\"target\":\"z\\n\"}\n", s } }' > const.jsonl
ok_run "train on constant targets" ckpt-train -t const.jsonl --config $CFG --steps 60 --lr 1e-2 --batch 8 --seq 32 -o c
check "the loss counts the targets only (last $(last))" 'lt "$(last)" 0.2'

# Weights steer the mixture: two tasks with the same prompt and other answers; the heavier one wins.
for k in 1 2 3 4 5 6; do printf '%s\n' '{"prompt":"q=","target":"x\n"}'; done > x.jsonl
for k in 1 2 3 4 5 6; do printf '%s\n' '{"prompt":"q=","target":"y\n"}'; done > y.jsonl
ok_run "x:3 y:1" ckpt-train -t x.jsonl:3 -t y.jsonl:1 --config $CFG --steps 40 --lr 1e-2 --batch 8 --seq 16 -o wx
ok_run "x:1 y:3" ckpt-train -t x.jsonl:1 -t y.jsonl:3 --config $CFG --steps 40 --lr 1e-2 --batch 8 --seq 16 -o wy
ok_run "score x:3 y:1" evalrun -t x.jsonl -t y.jsonl wx
check "the heavier task x is answered" 'is "$(score x)" 1 && is "$(score y)" 0'
ok_run "score x:1 y:3" evalrun -t x.jsonl -t y.jsonl wy
check "the heavier task y is answered" 'is "$(score x)" 0 && is "$(score y)" 1'
ok_run "x:1 y:0" ckpt-train -t x.jsonl:1 -t y.jsonl:0 --config $CFG --steps 40 --lr 1e-2 --batch 8 --seq 16 -o w0
ok_run "score x:1 y:0" evalrun -t x.jsonl -t y.jsonl w0
check "weight 0 leaves a task out" 'is "$(score x)" 1 && is "$(score y)" 0'

# --- determinism ---
RUN="-t t/copy.train.jsonl:2 -t t/rev.train.jsonl --config $CFG --steps 12 --batch 6 --seq 24 --seed 5"
ok_run "run 1" ckpt-train -q $RUN -o d1
ok_run "run 2" ckpt-train -q $RUN -o d2
cmp_files "same seed, same bytes" d1/model.safetensors d2/model.safetensors
cmp_files "same config.json" d1/config.json d2/config.json
ok_run "run with -j 2" ckpt-train -q $RUN -j 2 -o d3
cmp_files "-j 2 gives the same bytes" d1/model.safetensors d3/model.safetensors
ok_run "run with -j 3" ckpt-train -q $RUN -j 3 -o d4
cmp_files "-j 3 gives the same bytes" d1/model.safetensors d4/model.safetensors
ok_run "another seed" ckpt-train -q $RUN --seed 6 -o d5
check "another seed, other bytes" '! cmp -s d1/model.safetensors d5/model.safetensors'
ok_run "unpacked rows" ckpt-train -q $RUN --no-pack -o d6
check "--no-pack, other bytes" '! cmp -s d1/model.safetensors d6/model.safetensors'
ok_run "replace an existing output" ckpt-train -q $RUN --seed 6 -o d2
cmp_files "the output was replaced" d5/model.safetensors d2/model.safetensors
check "no temporaries left" '[ -z "$(ls -A . | grep tmp)" ]'

# --- --init continues ---
ok_run "continue a from its directory" ckpt-train -t t/copy.train.jsonl --init a --steps 30 --lr 5e-3 --batch 8 --seq 32 -o a2
check "it starts where a ended ($(first) < $f1)" 'lt "$(first)" "$(awk -v f="$f1" -v l="$l1" "BEGIN { print (f + l) / 2 }")"'
check "and moves on" '! cmp -s a/model.safetensors a2/model.safetensors'
ok_run "a as one f32 file" ckpt-train -q -t t/copy.train.jsonl --config $CFG --steps 60 --lr 1e-2 --batch 8 --seq 32 --dtype f32 -o a.safetensors
ok_run "list it" ckpt-cat -l a.safetensors
check "F32 tensors" '[ $(grep -c "\"dtype\":\"F32\"" out) -eq 12 ]'
ok_run "continue from the file" ckpt-train -q -t t/copy.train.jsonl --init a.safetensors --steps 5 --batch 8 --seq 32 -o af
ok_run "continue from a stream" sh -c 'ckpt-cat a.safetensors | ckpt-train -q -t t/copy.train.jsonl --init - --steps 5 --batch 8 --seq 32 -o as'
# The same tensors; the headers differ in the init the metadata names.
data af/model.safetensors > af.data; data as/model.safetensors > as.data
check "stream and file give the same run" '[ -s af.data ] && cmp -s af.data as.data'
check "the metadata names the stream" 'head -c 8192 as/model.safetensors | grep -aq "\"init\\\\\":\\\\\"-\\\\\""'
ok_run "f16 output to a stream" sh -c 'ckpt-train -q -t t/copy.train.jsonl --init a --steps 2 --dtype f16 -o - > s.safetensors'
ok_run "list the stream" ckpt-cat -l s.safetensors
check "F16 tensors" '[ $(grep -c "\"dtype\":\"F16\"" out) -eq 12 ]'
ok_run "the stream loads in evalrun" sh -c 'evalrun -t t/copy.test.jsonl - < s.safetensors'
check "metadata: what the run was" 'head -c 8192 af/model.safetensors | grep -aq "recycle.train" &&
	head -c 8192 af/model.safetensors | grep -aq "\"init\\\\\":\\\\\"a.safetensors\\\\\"" &&
	head -c 8192 d1/model.safetensors | grep -aq "\"weight\\\\\":2"'

# --- tied embeddings ---
ok_run "--tie" ckpt-train -q -t t/copy.train.jsonl --config $CFG --tie --steps 5 -o tied
check "config says tied" 'grep -q "\"tie_word_embeddings\": true" tied/config.json'
ok_run "list the tied model" ckpt-cat -l tied
check "no lm_head tensor" '[ $(wc -l < out) -eq 11 ] && ! grep -q lm_head out'
ok_run "the tied model loads" evalrun -t t/copy.test.jsonl tied
ok_run "a tied model continues tied" ckpt-train -q -t t/copy.train.jsonl --init tied --steps 2 -o tied2
check "still tied" 'grep -q "\"tie_word_embeddings\": true" tied2/config.json'

# --- other task kinds ---
ok_run "multiple-choice and text tasks" task-gen -s 2 --train 50 --dev 5 --test 5 -o k cmp seq
ok_run "train on them" ckpt-train -q -t k/cmp.train.jsonl -t k/seq.train.jsonl --config $CFG --steps 5 --seq 8 -o kk
ok_run "a task on standard input" sh -c "ckpt-train -q -t - --config $CFG --steps 3 -o ki < k/cmp.train.jsonl"
check "it was trained on" '[ -f ki/model.safetensors ]'
check "examples cut to --seq are reported" 'ckpt-train -t k/seq.train.jsonl --config $CFG --steps 2 --seq 4 -o kc 2>&1 | grep -Eq "^ckpt-train: [0-9]+ examples longer than --seq 4 were cut"'

# --- an interrupted run leaves nothing ---
ckpt-train -q -t t/copy.train.jsonl --config $CFG --steps 1000000 -o killed 2> err &
pid=$!
sleep 1
kill -TERM $pid
wait $pid
check "killed: no output, no temporary" '[ ! -e killed ] && [ -z "$(ls -A . | grep tmp)" ]'

# --- bad command lines (status 2) ---
M="--config $CFG"
fail_run 2 'no task files' "no -t" ckpt-train $M -o x
fail_run 2 'give --init CKPT or --config SPEC' "no model" ckpt-train -t t/copy.train.jsonl -o x
fail_run 2 '--init and --config: give one' "both models" ckpt-train -t t/copy.train.jsonl $M --init a -o x
fail_run 2 'no output' "no -o" ckpt-train -t t/copy.train.jsonl $M
fail_run 2 "unexpected argument 'extra'" "a stray argument" ckpt-train -t t/copy.train.jsonl $M -o x extra
fail_run 2 'unrecognized option' "unknown option" ckpt-train --frobnicate
fail_run 2 "weight 'abc' is not a finite number" "bad weight" ckpt-train -t t/copy.train.jsonl:abc $M -o x
fail_run 2 "weight '-1' is not a finite number" "negative weight" ckpt-train -t t/copy.train.jsonl:-1 $M -o x
fail_run 2 "weight 'inf' is not a finite number" "infinite weight" ckpt-train -t t/copy.train.jsonl:inf $M -o x
fail_run 2 'no task file before the weight' "weight without a file" ckpt-train -t :2 $M -o x
fail_run 2 'the weights sum to 0' "all weights 0" ckpt-train -t t/copy.train.jsonl:0 -t t/rev.train.jsonl:0 $M -o x
fail_run 2 '--config: vocab= is missing' "config without vocab" ckpt-train -t t/copy.train.jsonl --config hidden=16,layers=1,heads=2,ff=32 -o x
fail_run 2 "--config: unknown key 'width'" "config unknown key" ckpt-train -t t/copy.train.jsonl --config width=3 -o x
fail_run 2 "--config: 'hidden': want KEY=VALUE" "config without =" ckpt-train -t t/copy.train.jsonl --config hidden -o x
fail_run 2 '--config: hidden=0: want an integer' "config zero size" ckpt-train -t t/copy.train.jsonl --config hidden=0,layers=1,heads=2,ff=32,vocab=256 -o x
fail_run 2 '--config: layers=two: want an integer' "config not a number" ckpt-train -t t/copy.train.jsonl --config hidden=16,layers=two,heads=2,ff=32,vocab=256 -o x
fail_run 2 '--config: hidden=16 is not a multiple of heads=3' "hidden not a multiple of heads" ckpt-train -t t/copy.train.jsonl --config hidden=16,layers=1,heads=3,ff=32,vocab=256 -o x
fail_run 2 '--config: num_key_value_heads: 3 does not divide' "heads not a multiple of kv-heads" ckpt-train -t t/copy.train.jsonl --config hidden=16,layers=1,heads=4,kv-heads=3,ff=32,vocab=256 -o x
fail_run 2 '--config: rope-theta=-1: want a positive number' "config bad rope-theta" ckpt-train -t t/copy.train.jsonl --config $CFG,rope-theta=-1 -o x
fail_run 2 'standard input \(-\) given twice' "stdin twice" ckpt-train -t - --init - -o x
fail_run 2 'standard input \(-\) given twice' "stdin twice, two tasks" ckpt-train -t - -t - $M -o x
fail_run 2 '--tie: only with --config' "--tie with --init" ckpt-train -t t/copy.train.jsonl --init a --tie -o x
fail_run 2 "--steps: '0' is not an integer in 1\.\." "--steps 0" ckpt-train -t t/copy.train.jsonl $M --steps 0 -o x
fail_run 2 "--steps: '1x' is not an integer" "--steps 1x" ckpt-train -t t/copy.train.jsonl $M --steps 1x -o x
fail_run 2 "--lr: '0' is not a positive number" "--lr 0" ckpt-train -t t/copy.train.jsonl $M --lr 0 -o x
fail_run 2 "--lr: 'nan' is not a positive number" "--lr nan" ckpt-train -t t/copy.train.jsonl $M --lr nan -o x
fail_run 2 '--min-lr 0.1: must be from 0 to --lr' "--min-lr above --lr" ckpt-train -t t/copy.train.jsonl $M --min-lr 0.1 -o x
fail_run 2 "--min-lr: '-1' is not a non-negative number" "--min-lr negative" ckpt-train -t t/copy.train.jsonl $M --min-lr -1 -o x
fail_run 2 '--warmup 20: must be from 0 to --steps \(10\)' "--warmup above --steps" ckpt-train -t t/copy.train.jsonl $M --steps 10 --warmup 20 -o x
fail_run 2 "--batch: '0' is not an integer" "--batch 0" ckpt-train -t t/copy.train.jsonl $M --batch 0 -o x
fail_run 2 "--seq: '1' is not an integer in 2\.\." "--seq 1" ckpt-train -t t/copy.train.jsonl $M --seq 1 -o x
fail_run 2 '--batch × --seq' "too many tokens a step" ckpt-train -t t/copy.train.jsonl $M --batch 100000 --seq 1000 -o x
fail_run 2 "--weight-decay: '-0.1' is not a non-negative number" "negative weight decay" ckpt-train -t t/copy.train.jsonl $M --weight-decay -0.1 -o x
fail_run 2 "--clip: 'x' is not a non-negative number" "bad clip" ckpt-train -t t/copy.train.jsonl $M --clip x -o x
fail_run 2 "--seed '-1': want a non-negative integer" "negative seed" ckpt-train -t t/copy.train.jsonl $M --seed -1 -o x
fail_run 2 "--dtype 'f64': want bf16, f32 or f16" "--dtype f64" ckpt-train -t t/copy.train.jsonl $M --dtype f64 -o x
fail_run 2 "--dtype 'int8': want bf16, f32 or f16" "--dtype int8" ckpt-train -t t/copy.train.jsonl $M --dtype int8 -o x
fail_run 2 "--threads: '0' is not an integer" "--threads 0" ckpt-train -t t/copy.train.jsonl $M -j 0 -o x
fail_run 2 "--log-every: '0' is not an integer" "--log-every 0" ckpt-train -t t/copy.train.jsonl $M --log-every 0 -o x
fail_run 2 'does not compress' "zstd output" ckpt-train -t t/copy.train.jsonl $M -o x.safetensors.zst
check "no output after usage errors" '[ ! -e x ] && [ ! -e x.safetensors.zst ]'

# --- bad inputs (status 1) ---
fail_run 1 '^ckpt-train: nope.jsonl: .*No such file' "missing task file" ckpt-train -t nope.jsonl $M -o x
printf '{"prompt":"a=","target":"b\\n"}\n{"prompt": 3}\n' > bad.jsonl
fail_run 1 '^ckpt-train: bad.jsonl:2: ' "bad task file" ckpt-train -t bad.jsonl $M -o x
fail_run 1 '^ckpt-train: t/copy.train.jsonl:1: .*256' "byte strings and a 16-token vocabulary" \
	ckpt-train -t t/copy.train.jsonl --config hidden=16,layers=1,heads=2,ff=32,vocab=16 -o x
echo '{"prompt_ids":[1,2],"target_ids":[40]}' > ids.jsonl
fail_run 1 '^ckpt-train: ids.jsonl:1: .*40' "token id outside the vocabulary" \
	ckpt-train -t ids.jsonl --config hidden=16,layers=1,heads=2,ff=32,vocab=32 -o x
fail_run 1 '^ckpt-train: nope: ' "missing --init" ckpt-train -t t/copy.train.jsonl --init nope -o x
ok_run "a safetensors file that is not a Llama" st-gen -o notllama.safetensors
fail_run 1 '^ckpt-train: notllama.safetensors: ' "--init not a Llama" ckpt-train -t t/copy.train.jsonl --init notllama.safetensors -o x
printf 'garbage' > junk.safetensors
fail_run 1 '^ckpt-train: junk.safetensors: ' "--init garbage" ckpt-train -t t/copy.train.jsonl --init junk.safetensors -o x
ok_run "-o in directories that do not exist yet" ckpt-train -q -t t/copy.train.jsonl $M --steps 2 -o zoo/deep/base
check "they are made, as mkdir -p would" '[ -f zoo/deep/base/model.safetensors ] && [ -f zoo/deep/base/config.json ]'
# Option spellings (recycle(7)): the new ones and the old ones kept for scripts agree.
ok_run "--config, --steps, -D" ckpt-train -q -t t/copy.train.jsonl --config $CFG --steps 2 -D f32 -o sp1.safetensors
ok_run "the old -c, -n, -d" ckpt-train -q -t t/copy.train.jsonl -c $CFG -n 2 -d f32 -o sp2.safetensors
check "same bytes, F32" 'cmp -s sp1.safetensors sp2.safetensors && ckpt-cat -l sp1.safetensors | grep -q "\"F32\""'
touch afile
fail_run 1 '^ckpt-train: afile/x: afile: not a directory' "output parent is a file" ckpt-train -t t/copy.train.jsonl $M -o afile/x
fail_run 1 '^ckpt-train: afile/sub/x: afile: not a directory' "a file above the output's parent" ckpt-train -t t/copy.train.jsonl $M -o afile/sub/x
check "nothing written on errors" '[ ! -e x ] && [ -z "$(ls -A . | grep tmp)" ]'

t_done
