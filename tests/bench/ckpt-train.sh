#!/bin/sh
# ckpt-train benchmark (issue 7): training tokens/s with -j 1 and -j 2 on the demo family's model
# (hidden 64, 3 layers) and on a larger one (hidden 256, 4 layers), best of 3; then the wall time
# of the whole demo family (pipelines/zoo -j 2, goal: at most 4 minutes on 2 cores). BENCH_ZOO=0
# skips the family. The load average is printed: other work on the machine slows every row.
set -e
d=${BENCH_DIR:?}/ckpt-train
mkdir -p "$d"
cd "$d"
top=${RECYCLE_TOP:?}
[ -f tasks/rev.train.jsonl ] || task-gen -s 1 --len 3-7 --train 3000 -o tasks rev sort > /dev/null
[ -f tasks/cmp.train.jsonl ] || task-gen -s 1 --digits 1-4 --train 3000 -o tasks cmp > /dev/null
T="-t tasks/rev.train.jsonl -t tasks/sort.train.jsonl -t tasks/cmp.train.jsonl"
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# tps CONFIG STEPS BATCH SEQ J: the best tokens/s of 3 runs (from the summary line).
tps() {
	best=0
	for i in 1 2 3; do
		ckpt-train $T --config "$1" --steps "$2" --batch "$3" --seq "$4" -j "$5" --log-every 1000000 -o m 2> log
		v=$(sed -n 's/.* (\([0-9]*\) tokens\/s).*/\1/p' log)
		[ -n "$v" ] || { cat log >&2; exit 1; }
		[ "$v" -gt "$best" ] && best=$v
	done
	echo "$best"
}
DEMO=hidden=64,layers=3,heads=4,kv-heads=2,ff=128,vocab=256
BIG=hidden=256,layers=4,heads=8,kv-heads=4,ff=688,vocab=256
d1=$(tps $DEMO 150 16 64 1); d2=$(tps $DEMO 150 16 64 2)
b1=$(tps $BIG 8 16 128 1); b2=$(tps $BIG 8 16 128 2)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }

echo "### ckpt-train — training tokens/s (real tokens, packed rows), best of 3; load average at start $load0"
echo
echo "| model | batch × seq | -j | tokens/s | vs -j 1 | goal |"
echo "| --- | --- | ---: | ---: | ---: | --- |"
echo "| demo: hidden 64, 3 layers, ff 128 (0.14 M parameters) | 16 × 64 | 1 | $d1 | 1.00× | – |"
echo "| demo | 16 × 64 | 2 | $d2 | $(ratio $d2 $d1) | > 1.5× on 2 idle cores |"
echo "| hidden 256, 4 layers, ff 688 (3.0 M parameters) | 16 × 128 | 1 | $b1 | 1.00× | – |"
echo "| hidden 256, 4 layers | 16 × 128 | 2 | $b2 | $(ratio $b2 $b1) | > 1.5× on 2 idle cores |"

[ "${BENCH_ZOO:-1}" = 0 ] && exit 0
load1=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s.%N)
out=$(sh "$top/pipelines/zoo" -q -o zoo -j 2 2>&1) || { echo "$out"; exit 1; }
t1=$(date +%s.%N)
load2=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "| the demo family (pipelines/zoo -j 2: tasks, base, 14 runs) | wall seconds | load average before → after | goal |"
echo "| --- | ---: | --- | --- |"
echo "| build from nothing | $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') | $load1 → $load2 | ≤ 240 s on 2 cores |"
