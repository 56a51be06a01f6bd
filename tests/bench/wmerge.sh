#!/bin/sh
# wmerge benchmark (issues 3 and 15): 8 bf16 checkpoints of ~490 MB with Llama shapes, warm page
# cache. Rows: at the default thread count (the cores), the linear merge of all 8 to /dev/null
# against `cat` of the same files, and to a file against `cp` of the same files; the same with
# -j 1 and -j 2; then N = 2, 4, 16 inputs (16 = the 8 files twice); a TIES merge for its memory.
# Goals: ≤ 1.2 × the baseline's time, peak RSS < 128 MiB.
set -e
d=${BENCH_DIR:?}/wmerge
mkdir -p "$d"
cd "$d"
trap 'rm -rf "$d"/m*.safetensors "$d"/out.safetensors "$d"/rs.txt "$d"/cp' EXIT
avail=$(df -Pk . | awk 'NR==2 {print $4}')
[ "$avail" -gt 10000000 ] || { echo "wmerge bench: needs 10 GB free in $d (df: ${avail} KiB)"; exit 1; }
LL=hidden=1024,layers=14,vocab=32000,ff=2816
for s in 1 2 3 4 5 6 7 8; do
	[ -f m$s.safetensors ] || st-gen --seed $s -t bf16 --llama $LL -o m$s.safetensors
done
M1=$(stat -c %s m1.safetensors)
files() { # first N of the 8 files, the list repeated past 8
	i=0; while [ $i -lt "$1" ]; do printf 'm%d.safetensors ' $((i % 8 + 1)); i=$((i + 1)); done
}
ones() { i=1; printf 1; while [ $i -lt "$1" ]; do printf ',1'; i=$((i + 1)); done; }
cat $(files 8) > /dev/null      # warm the page cache

# best of 2 by wall time: "seconds rss_kib"
run() {
	best=""
	for i in 1 2; do
		runstat "$1" 2> rs.txt
		set -- "$1" $(cat rs.txt)
		[ "$4" = 0 ] || { echo "failed ($4): $1" >&2; exit 1; }
		if [ -z "$best" ] || [ "$(awk -v a="$2" -v b="$best" 'BEGIN { print (a < b) }')" = 1 ]; then
			best=$2; rss=$3
		fi
		set -- "$1"
	done
	echo "$best $rss"
}
gbs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.2f", b / s / 1e9 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }

echo "### wmerge — N bf16 checkpoints of $(awk -v b="$M1" 'BEGIN{printf "%.0f", b/1e6}') MB (Llama: hidden 1024, 14 layers, vocab 32000), warm cache, best of 2"
echo
echo "| what | N | -j | seconds | input GB/s | baseline | baseline seconds | vs baseline | peak RSS MiB | goal |"
echo "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |"
row() { # what n j secs rss baseline basesecs goal
	bytes=$(( $2 * M1 ))
	echo "| $1 | $2 | $3 | $4 | $(gbs $bytes $4) | $6 | $7 | $(ratio $4 $7) | $(mib $5) | $8 |"
}
cores=$(nproc)
set -- $(run "cat $(files 8) > /dev/null"); cat8=$1
set -- $(run "rm -rf cp && mkdir cp && cp $(files 8) cp/"); cp8=$1
rm -rf cp
set -- $(run "wmerge -q -w $(ones 8) $(files 8) > /dev/null")
row "linear → /dev/null, default -j" 8 "$cores" $1 $2 cat $cat8 "≤ 1.2× cat, < 128 MiB"
set -- $(run "rm -f out.safetensors && wmerge -q -w $(ones 8) $(files 8) -o out.safetensors")
row "linear → file, default -j" 8 "$cores" $1 $2 cp $cp8 "≤ 1.2× cp, < 128 MiB"
for j in 1 2; do
	set -- $(run "wmerge -q -j $j -w $(ones 8) $(files 8) > /dev/null")
	row "linear → /dev/null" 8 $j $1 $2 cat $cat8 "≤ 1.2× cat, < 128 MiB"
done
for j in 1 2; do
	set -- $(run "rm -f out.safetensors && wmerge -q -j $j -w $(ones 8) $(files 8) -o out.safetensors")
	row "linear → file" 8 $j $1 $2 cp $cp8 "≤ 1.2× cp, < 128 MiB"
done
rm -f out.safetensors
for n in 2 4 16; do
	set -- $(run "cat $(files $n) > /dev/null"); catn=$1
	for j in 1 2; do
		set -- $(run "wmerge -q -j $j -w $(ones $n) $(files $n) > /dev/null")
		row "linear → /dev/null" $n $j $1 $2 cat $catn "≤ 1.2× cat, < 128 MiB"
	done
done
set -- $(run "wmerge -q -j 2 -m ties -d 0.5 --base m8.safetensors -w $(ones 4) $(files 4) > /dev/null")
row "ties -d 0.5 → /dev/null (whole tensors)" 5 2 $1 $2 cat $(run "cat $(files 4) m8.safetensors > /dev/null" | cut -d' ' -f1) "memory: (N+1) × largest tensor"
echo
echo "Default -j = the cores wmerge may run on ($cores here). cp copies the 8 inputs into a directory"
echo "(reads and writes 8 × the size); the merge reads the 8 and writes one. N = 16 reads the 8 files"
echo "twice each. The ties row counts the base among its N inputs."
