#!/bin/sh
# ckpt-cat benchmark (issue 2): a ~1 GB bf16 checkpoint with Llama shapes, warm page cache.
# Rows: ckpt-cat to /dev/null and to a file against cat on the same bytes; -t bf16 of an f32
# checkpoint and --stats in GB/s of input; peak RSS of each.
set -e
d=${BENCH_DIR:?}/ckpt-cat
mkdir -p "$d"
cd "$d"
avail=$(df -Pk . | awk 'NR==2 {print $4}')
[ "$avail" -gt 6000000 ] || { echo "ckpt-cat bench: needs 6 GB free in $d"; exit 1; }
[ -f a.safetensors ] || st-gen --seed 1 -t bf16 --llama hidden=2048,layers=8,vocab=32000,ff=5632,heads=16,kv=16 -o a.safetensors
[ -f f.safetensors ] || st-gen --seed 2 -t f32 --llama hidden=2048,layers=4,vocab=32000,ff=5632,heads=16,kv=16 -o f.safetensors
A=$(stat -c %s a.safetensors); F=$(stat -c %s f.safetensors)
cat a.safetensors f.safetensors > /dev/null      # warm the page cache

# best of 3: "seconds rss_kib"
run() {
	best=""
	for i in 1 2 3; do
		runstat "$1" 2> rs.txt
		set -- "$1" $(cat rs.txt)
		[ "$4" = 0 ] || { echo "failed ($4): $1" >&2; exit 1; }
		if [ -z "$best" ] || [ "$(echo "$2 < $best" | bc -l 2>/dev/null || awk "BEGIN{print ($2 < $best)}")" = 1 ]; then best=$2; rss=$3; fi
		set -- "$1"
	done
	echo "$best $rss"
}
gbs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.2f", b / s / 1e9 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

set -- $(run "cat a.safetensors > /dev/null"); cat_null=$1; cat_null_rss=$2
set -- $(run "ckpt-cat a.safetensors > /dev/null"); cc_null=$1; cc_null_rss=$2
set -- $(run "cat a.safetensors | cat > /dev/null"); cat_pipe=$1
set -- $(run "ckpt-cat a.safetensors | cat > /dev/null"); cc_pipe=$1; cc_pipe_rss=$2
set -- $(run "cat a.safetensors > b.safetensors"); cat_file=$1
rm -f b.safetensors
set -- $(run "ckpt-cat a.safetensors -o b.safetensors"); cc_file=$1; cc_file_rss=$2
cmp -s a.safetensors b.safetensors || { echo "ckpt-cat -o changed the bytes"; exit 1; }
rm -f b.safetensors
set -- $(run "ckpt-cat -t bf16 f.safetensors > /dev/null"); conv=$1; conv_rss=$2
set -- $(run "ckpt-cat --stats a.safetensors > /dev/null"); stats=$1; stats_rss=$2
set -- $(run "ckpt-cat a.safetensors | ckpt-cat - > /dev/null"); stream=$1; stream_rss=$2

echo "### ckpt-cat — $(awk -v b="$A" 'BEGIN{printf "%.2f", b/1e9}') GB bf16 (8 Llama layers, hidden 2048), warm cache, best of 3"
echo
echo "| what | seconds | GB/s | vs cat | peak RSS MiB | goal |"
echo "| --- | ---: | ---: | ---: | ---: | --- |"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
echo "| cat A > /dev/null | $cat_null | $(gbs $A $cat_null) | 1.00× | $(mib $cat_null_rss) | baseline |"
echo "| ckpt-cat A > /dev/null | $cc_null | $(gbs $A $cc_null) | $(ratio $cc_null $cat_null) | $(mib $cc_null_rss) | ≤ 1.10× cat |"
echo "| cat A \\| cat > /dev/null | $cat_pipe | $(gbs $A $cat_pipe) | 1.00× | – | baseline |"
echo "| ckpt-cat A \\| cat > /dev/null | $cc_pipe | $(gbs $A $cc_pipe) | $(ratio $cc_pipe $cat_pipe) | $(mib $cc_pipe_rss) | ≤ 1.10× cat |"
echo "| cat A > B | $cat_file | $(gbs $A $cat_file) | 1.00× | – | baseline |"
echo "| ckpt-cat A -o B.safetensors | $cc_file | $(gbs $A $cc_file) | $(ratio $cc_file $cat_file) | $(mib $cc_file_rss) | ≤ 1.10× cat |"
echo "| ckpt-cat A \\| ckpt-cat - (stream in) | $stream | $(gbs $A $stream) | $(ratio $stream $cat_pipe) | $(mib $stream_rss) | RSS < 64 MiB + 1 tensor |"
echo "| ckpt-cat -t bf16 F32 (input GB/s) | $conv | $(gbs $F $conv) | – | $(mib $conv_rss) | ≥ 2 GB/s |"
echo "| ckpt-cat --stats A (input GB/s) | $stats | $(gbs $A $stats) | – | $(mib $stats_rss) | – |"
