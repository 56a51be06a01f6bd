#!/bin/sh
# common/llama benchmark (issues 6 and 7): tokens/s of the built-in Llama forward pass for scoring
# (teacher-forced log-probs), greedy generation with the KV cache, and training (loss, gradient,
# clipping, AdamW step), with 1 and 2 threads, on a hidden-128 / 4-layer / vocab-256 model
# (batch 16 × 64 tokens) and a hidden-512 / 8-layer one (batch 8 × 128). Beside them: single
# sgemm on the shape of the model's MLP projection, and the fraction of it the pass reaches
# (FLOPs of projections and causal attention; training counts 3× the forward). Compiles
# tests/bench/llama_bench.c against build/rel/libcommon.a.
set -e
top=${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
d=${BENCH_DIR:-${TMPDIR:-/tmp}}/llama
mkdir -p "$d"
lib=$top/build/rel/libcommon.a
[ -f "$lib" ] || { echo "llama bench: $lib missing (run make first)"; exit 1; }
pkgs="libzstd json-c openblas"
cc -O2 -D_GNU_SOURCE -I"$top/common" $(pkg-config --cflags $pkgs) -o "$d/llama_bench" \
	"$top/tests/bench/llama_bench.c" "$lib" $(pkg-config --libs $pkgs) -lm -lpthread

# row LABEL MODE HIDDEN LAYERS VOCAB BATCH SEQ: tokens/s and GFLOP/s with -j 1 and 2, and the
# fraction of the same-thread sgemm rate (set by the sgemm row before it).
row() {
	label=$1; shift
	set -- $("$d/llama_bench" "$1" 1 "$2" "$3" "$4" "$5" "$6") $("$d/llama_bench" "$1" 2 "$2" "$3" "$4" "$5" "$6")
	if [ -z "${peak1:-}" ]; then peak1=$2 peak2=$4; fi
	awk -v l="$label" -v t1="$1" -v g1="$2" -v t2="$3" -v g2="$4" -v p1="$peak1" -v p2="$peak2" 'BEGIN {
		printf "| %s | %d | %d | %.2f× | %.1f | %.1f | %.0f %% | %.0f %% |\n", l, t1, t2, t2 / t1,
		       g1, g2, 100 * g1 / p1, 100 * g2 / p2 }'
}

echo "### common/llama — f32 forward/backward, tokens/s (best of 3 × 0.5 s; load average $(cut -d' ' -f1 /proc/loadavg))"
echo
echo "| workload | -j 1 tok/s | -j 2 tok/s | speedup | -j 1 GFLOP/s | -j 2 GFLOP/s | of sgemm -j 1 | of sgemm -j 2 |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for m in "128 4 256 16 64" "512 8 256 8 128"; do
	set -- $m
	name="h$1 L$2 V$3, $4×$5"
	peak1=
	row "sgemm ($4·$5 × ff × $1), rows = tokens" sgemm $m
	row "score $name" score $m
	row "generate $name (prompt $(($5 / 2)), +$(($5 / 2)))" gen $m
	row "train $name (+ AdamW)" train $m
done
