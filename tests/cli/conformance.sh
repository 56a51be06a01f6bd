#!/bin/sh
# evalrun on tests/conformance/ (tiny random bf16 checkpoints of each supported architecture with
# reference mean log-likelihoods from an independent port of the transformers modeling code; see
# its README.md): each sequence's "text_ids" score must be the reference's within 1e-4, read from
# the directory (mapped, bf16 in place) and from a ckpt-cat stream (bf16 copied), at -j1 and -j2;
# the same weights converted to f16 stay within 1e-4, and converted to f32 score the same within
# 1e-6.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

C=$TOP/tests/conformance
check "fixtures unchanged (SHA256SUMS)" '(cd "$C" && sha256sum -c --quiet SHA256SUMS)'

obj() { sed -n "s/.*\"$1\":{\([^}]*\)}.*/\1/p" "$2"; }
score() { obj scores "$2" | tr ',' '\n' | sed -n "s/^\"$1\"://p"; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= t) }'; }
# The reference's mean_loglik[i] from ref.json (one number a line inside the array).
ref_ll() { awk -v i="$2" '/"mean_loglik":/ { on = 1; n = 0; next } on && /\]/ { on = 0 }
	on { gsub(/[ ,]/, ""); if (n++ == i) print }' "$1"; }

for v in llama-default llama-tied llama3-rope llama-linear-rope mistral-sliding qwen2 qwen3; do
	st-ids "$C/$v/ref.safetensors" input_ids > ids.jsonl || t_notok "$v: ids"
	for i in 0 1 2; do sed -n "$((i + 1))p" ids.jsonl > s$i.jsonl; done
	ok_run "$v: evalrun text_ids" evalrun -t s0.jsonl -t s1.jsonl -t s2.jsonl "$C/$v"
	cp out rec
	for i in 0 1 2; do
		want=$(ref_ll "$C/$v/ref.json" $i)
		check "$v: sequence $i: mean log-likelihood $(score s$i rec) within 1e-4 of $want" \
			'near "$(score s$i rec)" "$want" 1e-4'
	done
	ok_run "$v: from a stream, -j2" sh -c "ckpt-cat -q '$C/$v' | evalrun -j2 -t s0.jsonl -t s1.jsonl -t s2.jsonl -"
	check "$v: stream scores equal the directory's" \
		'[ "$(obj scores out)" = "$(obj scores rec)" ]'
	# In f16 (resident as f16, converted per tile): still within 1e-4 of the reference.
	ok_run "$v: as f16" sh -c "ckpt-cat -q -t f16 -o f16.safetensors '$C/$v' && evalrun -t s0.jsonl -t s1.jsonl -t s2.jsonl f16.safetensors"
	for i in 0 1 2; do
		check "$v: sequence $i: f16 weights $(score s$i out) within 1e-4 of $(ref_ll "$C/$v/ref.json" $i)" \
			'near "$(score s$i out)" "$(ref_ll "$C/$v/ref.json" $i)" 1e-4'
	done
	# The same values in f32 (bf16 widens exactly): the f32 path, within float rounding.
	ok_run "$v: as f32" sh -c "ckpt-cat -q -t f32 -o f32.safetensors '$C/$v' && evalrun -t s0.jsonl -t s1.jsonl -t s2.jsonl f32.safetensors"
	for i in 0 1 2; do
		check "$v: sequence $i: f32 $(score s$i out) vs bf16 resident $(score s$i rec) within 1e-6" \
			'near "$(score s$i out)" "$(score s$i rec)" 1e-6'
	done
done
t_done
