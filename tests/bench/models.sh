#!/bin/sh
# Real-size models (issue 13): a ~0.5B Qwen2-shaped checkpoint (Qwen2.5-0.5B's sizes: hidden 896,
# 24 layers, 14 heads / 2 KV heads, ff 4864, vocab 151936, tied, q/k/v biases) and a ~1B
# Llama-3-shaped one (Llama 3.2 1B's: hidden 2048, 16 layers, 32 / 8 heads, ff 8192, vocab
# 128256, tied, rope llama3), random bf16 weights written by st-gen (about 3.4 GB, removed at
# the end with $BENCH_DIR). Measured with evalrun on one prompt-sized pass (2 sequences × 128
# tokens of text_ids): peak RSS beside the checkpoint's bytes, scoring tokens/s, and GFLOP/s
# beside this machine's OpenBLAS sgemm on the model's own projection shapes (the roofline; goal:
# at least half). A shared machine slows everything it runs, sgemm included: the efficiency is
# taken per CPU second (user + system of the process), where the load matters least; wall
# figures are printed too. Then: cblas_sbgemm's availability, the cost of converting bf16 per
# tile (the same 0.5B model in f32), and multiple choice with the prompt run once against the
# plain way (tests/bench/models_bench.c). Last, the activations of long passes: 16 prompts of 512
# tokens (generation, a one-token target) on a model of the 1B's widths cut to 1 layer (the
# activations of a pass do not depend on the depth), peak RSS beside the checkpoint's bytes and
# the pass budget (EVAL_PASS_BYTES, 512 MiB).
set -e
top=${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
d=${BENCH_DIR:?}/models
mkdir -p "$d"
cd "$d"
lib=$top/build/rel/libcommon.a
[ -f "$lib" ] || { echo "models bench: $lib missing (run make first)"; exit 1; }
pkgs="libzstd json-c openblas libpcre2-8 libutf8proc"
cc -O2 -D_GNU_SOURCE -I"$top/common" $(pkg-config --cflags $pkgs) -o mb \
	"$top/tests/bench/models_bench.c" "$lib" $(pkg-config --libs $pkgs) -lm -lpthread
load0=$(cut -d' ' -f1 /proc/loadavg)

# --- the checkpoints ---
Q="hidden=896,layers=24,vocab=151936,ff=4864,heads=14,kv=2,tie=1,qkvbias=1"
L="hidden=2048,layers=16,vocab=128256,ff=8192,heads=32,kv=8,tie=1"
cat > q.json <<'EOF'
{"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","hidden_size":896,"intermediate_size":4864,
 "num_hidden_layers":24,"num_attention_heads":14,"num_key_value_heads":2,"vocab_size":151936,
 "rms_norm_eps":1e-06,"rope_theta":1000000.0,"max_position_embeddings":32768,"sliding_window":32768,
 "use_sliding_window":false,"max_window_layers":21,"tie_word_embeddings":true,"hidden_act":"silu",
 "torch_dtype":"bfloat16"}
EOF
cat > l.json <<'EOF'
{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":2048,"intermediate_size":8192,
 "num_hidden_layers":16,"num_attention_heads":32,"num_key_value_heads":8,"head_dim":64,
 "vocab_size":128256,"rms_norm_eps":1e-05,"rope_theta":500000.0,"rope_scaling":{"factor":32.0,
 "high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,
 "rope_type":"llama3"},"max_position_embeddings":131072,"tie_word_embeddings":true,
 "attention_bias":false,"mlp_bias":false,"hidden_act":"silu","torch_dtype":"bfloat16"}
EOF
[ -d q05 ] || st-gen --seed 1 --scale 0.02 --llama $Q --config q.json -o q05
[ -d l1b ] || st-gen --seed 2 --scale 0.02 --llama $L --config l.json -o l1b
L2="hidden=2048,layers=1,vocab=128256,ff=8192,heads=32,kv=8,tie=1"
sed 's/"num_hidden_layers":16/"num_hidden_layers":1/' l.json > l2.json
[ -d l1b2 ] || st-gen --seed 3 --scale 0.02 --llama $L2 --config l2.json -o l1b2

# One pass: 2 sequences of 128 random token ids (below both vocabularies).
awk 'BEGIN { s = 7; for (r = 0; r < 2; r++) { printf "{\"text_ids\":["
	for (i = 0; i < 128; i++) { s = (s * 1103515245 + 12345) % 2147483648; printf "%s%d", i ? "," : "", s % 100000 }
	print "]}" } }' > text.jsonl

# bytes of a checkpoint directory's tensors
bytes() { cat "$1"/*.safetensors | wc -c; }
# GFLOP of one pass: the projections at 256 rows, lm_head at the 254 rows that predict a token
gflop() {
	echo "$1" | tr ',=' '  ' | awk '{ for (i = 1; i < NF; i += 2) v[$i] = $(i + 1)
		C = v["hidden"]; D = C / v["heads"]; Q = v["heads"] * D; K = v["kv"] * D
		printf "%.2f\n", 2 * (256 * v["layers"] * (C * Q + 2 * C * K + Q * C + 3 * C * v["ff"]) + 254 * C * v["vocab"]) / 1e9 }'
}
# score CKPT J: "scoring_wall_s cpu_s peak_rss_kib tokens" of one evalrun (CPU: user + system of
# the whole process, reading the mapped checkpoint included)
score() {
	runstat "sh -c 'evalrun -q -j $2 -t text.jsonl $1 > rec.json; times > times.txt'" 2> rs.txt
	set -- $(cat rs.txt)
	[ "$3" = 0 ] || { echo "evalrun failed on $1"; exit 1; }
	rss=$2
	cpu=$(tail -n 1 times.txt | sed 's/m/ /g; s/s//g' | awk '{ print 60 * $1 + $2 + 60 * $3 + $4 }')
	sed -n 's/.*"eval":{"seconds":\([0-9.e-]*\),"tokens":\([0-9]*\),"load_seconds":\([0-9.e-]*\)}.*/\1 \2 \3/p' rec.json |
		awk -v c="$cpu" -v r="$rss" '{ printf "%.3f %.3f %d %d\n", $1 - $3, c, r, $2 }'
}

# --- the roofline: sgemm on each model's projection shapes, 256 rows ---
# sg J N K: "wall cpu" GFLOP/s, the better of a measure before the models and one after
sg() { ./mb sgemm "$1" 256 "$2" "$3"; }
lq1=$(sg 1 4864 896) ll1=$(sg 1 8192 2048) lq2=$(sg 2 4864 896)
sb=$(./mb sbgemm 1 256 8192 2048)

# 16 prompts of 512 token ids, each with a one-token target
awk 'BEGIN { s = 11; for (r = 0; r < 16; r++) { printf "{\"prompt_ids\":["
	for (i = 0; i < 512; i++) { s = (s * 1103515245 + 12345) % 2147483648; printf "%s%d", i ? "," : "", s % 100000 }
	s = (s * 1103515245 + 12345) % 2147483648; printf "],\"target_ids\":[%d]}\n", s % 100000 } }' > long.jsonl
runstat "evalrun -q -j 2 -t long.jsonl l1b2 > long.json" 2> rs.txt
set -- $(cat rs.txt)
[ "$3" = 0 ] || { echo "evalrun failed on l1b2"; exit 1; }
rlong=$2 slong=$1

rq1=$(score q05 1)
rq2=$(score q05 2)
rl1=$(score l1b 1)
ckpt-cat -q -t f32 -o q05f32 q05
rf1=$(score q05f32 1)
fq=$(bytes q05f32)
rm -rf q05f32
mcq=$(./mb mc q05 1 2 48 4 6)

better() { echo "$1 $2" | awk '{ printf "%s %s\n", ($1 > $3 ? $1 : $3), ($2 > $4 ? $2 : $4) }'; }
lq1=$(better "$lq1" "$(sg 1 4864 896)")
ll1=$(better "$ll1" "$(sg 1 8192 2048)")
lq2=$(better "$lq2" "$(sg 2 4864 896)")
load1=$(cut -d' ' -f1 /proc/loadavg)
gq=$(gflop $Q) gl=$(gflop $L)
bq=$(bytes q05) bl=$(bytes l1b) bl2=$(bytes l1b2)

echo "### models — real-size checkpoints, bf16 resident, f32 arithmetic (load average $load0 at the start, $load1 at the end, $(nproc) cores)"
echo
echo "Roofline: OpenBLAS cblas_sgemm C(256, N) = A(256, K)·B(N, K)ᵀ, the shape of each model's MLP"
echo "projections at a 256-token pass (better of a measure before the models and one after):"
echo
echo "| shape | -j | GFLOP/s per wall second | GFLOP/s per CPU second |"
echo "| --- | ---: | ---: | ---: |"
set -- $lq1; echo "| Qwen2 0.5B MLP: N 4864, K 896 | 1 | $1 | $2 |"
set -- $lq2; echo "| Qwen2 0.5B MLP: N 4864, K 896 | 2 | $1 | $2 |"
set -- $ll1; echo "| Llama 1B MLP: N 8192, K 2048 | 1 | $1 | $2 |"
echo
echo "Scoring: evalrun on one pass of 2 × 128 tokens (text_ids); GFLOP: projections and lm_head"
echo "(attention left out); roofline: the sgemm row of the same model and -j, per CPU second."
echo
echo "| model | weights | -j | tokens | seconds (wall) | tokens/s (wall) | CPU seconds | GFLOP/s per CPU second | of sgemm | goal |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
# row MODEL WEIGHTS "score's figures" "sgemm's figures" J GFLOP
row() {
	echo "$3 $4" | awk -v m="$1" -v w="$2" -v j="$5" -v g="$6" '{ s = $1; c = $2; t = $4; roof = $6
		printf "| %s | %s | %d | %d | %.2f | %.1f | %.2f | %.1f | %.0f%% | ≥ 50%% |\n", m, w, j, t, s, t / s, c, g / c, 100 * g / c / roof }'
}
row "Qwen2-shaped 0.5B" "bf16, mapped" "$rq1" "$lq1" 1 "$gq"
row "Qwen2-shaped 0.5B" "bf16, mapped" "$rq2" "$lq2" 2 "$gq"
row "Qwen2-shaped 0.5B" "f32 (no conversion)" "$rf1" "$lq1" 1 "$gq"
row "Llama-3-shaped 1B" "bf16, mapped" "$rl1" "$ll1" 1 "$gl"
echo
if [ "$sb" = absent ]; then
	echo "cblas_sbgemm (bf16 × bf16 → f32) is not exported by this OpenBLAS (Debian's 0.3.21 is built"
	echo "without BUILD_BFLOAT16, though cblas.h declares it), so each matrix is converted to f32 tile by"
	echo "tile (64 output features × up to 1024 rows) and multiplied by sgemm. sbgemm would also round"
	echo "the activations to bf16, which the f32 tolerance (1e-4 on the logits) does not allow."
else
	set -- $sb
	echo "cblas_sbgemm (bf16 × bf16 → f32) at N 8192, K 2048, -j 1: $1 GFLOP/s per wall second, $2 per"
	echo "CPU second. It rounds the activations to bf16, which the f32 tolerance (1e-4 on the logits)"
	echo "does not allow: matrices are converted to f32 tile by tile and multiplied by sgemm instead."
fi
echo "The cost of that conversion: the f32 row beside the first bf16 row (the same model)."
echo
echo "Memory: peak RSS of those evalrun processes (-j 1) beside the checkpoint's bytes; before this"
echo "change the evaluator held every weight in f32."
echo
echo "| model | checkpoint bytes | peak RSS | RSS − checkpoint | weights in f32 (before) |"
echo "| --- | ---: | ---: | ---: | ---: |"
mem() { echo "$2 $3" | awk -v m="$1" '{ r = $4 * 1024; printf "| %s | %.0f MB | %.0f MB | %.0f MB | %.0f MB |\n", m, $1 / 1e6, r / 1e6, (r - $1) / 1e6, 2 * $1 / 1e6 }'; }
mem "Qwen2-shaped 0.5B, bf16" "$bq" "$rq1"
mem "Llama-3-shaped 1B, bf16" "$bl" "$rl1"
echo "$fq $rf1" | awk '{ r = $4 * 1024; printf "| Qwen2-shaped 0.5B, f32 | %.0f MB | %.0f MB | %.0f MB | %.0f MB |\n", $1 / 1e6, r / 1e6, (r - $1) / 1e6, $1 / 1e6 }'
echo
echo "Long passes: 16 prompts × 512 tokens (8192 tokens, a one-token target each) on the 1B's widths"
echo "cut to 1 layer, -j 2, $slong s. A pass takes as many tokens as fit in 512 MiB of activations"
echo "(160 kB a token at these widths: 3355 tokens); before, a pass took up to 16384 tokens, so all"
echo "8192 at once (the last column: 8192 × 160 kB, computed)."
echo
echo "| model | checkpoint bytes | peak RSS | RSS − checkpoint | pass budget | one 8192-token pass (before) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
echo "$bl2 $rlong" | awk '{ r = $2 * 1024; printf "| Llama-3 1B widths, 1 layer, bf16 | %.0f MB | %.0f MB | %.0f MB | 537 MB | %.0f MB |\n", $1 / 1e6, r / 1e6, (r - $1) / 1e6, 8192 * 160000 / 1e6 }'
echo
echo "Multiple choice on the 0.5B model (-j 1, --batch 16): 2 examples, a 48-token prompt, 4 choices"
echo "of 6 tokens. Plain: each choice runs prompt + choice (the way before this change); shared: the"
echo "prompt runs once into the KV cache and the choices after it in one batch."
echo
echo "| way | tokens run | seconds (wall) | CPU seconds | gain (CPU) | max abs difference of the log-likelihoods |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
set -- $mcq
echo "| plain (before) | $3 | $1 | $2 | 1.00× | |"
awk -v w="$4" -v c="$5" -v t="$6" -v pc="$2" -v d="$7" 'BEGIN {
	printf "| prompt once, choices batched | %d | %s | %s | %.2f× | %s |\n", t, w, c, pc / c, d }'
