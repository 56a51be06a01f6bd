#!/bin/sh
# wmerge benchmark (issues 3 and 15): 8 checkpoints of ~260 MB with Llama shapes, in BF16 and in
# F32, warm page cache. Rows: at the default thread count (the cores), the linear merge of all 8
# to /dev/null against `cat` of the same files, and to a file against `cp` of the same files; the
# same with -j 1 (one core: what the merge costs beside the read); N = 2, 4, 16 inputs (16 = the 8
# files twice); a TIES merge for its memory. Goals: ≤ 1.2 × the baseline's wall time, peak RSS
# < 128 MiB.
#
# The machine may be shared, so each row runs its baseline and its command in turn, RUNS times
# each (default 7), and shows the least wall time and, apart, the least CPU time (user + sys,
# which other jobs disturb less). The page cache is warmed again just before each row (a machine
# may page out what it has not touched for a minute).
set -e
d=${BENCH_DIR:?}/wmerge
mkdir -p "$d"
cd "$d"
trap 'rm -rf "$d"/out.safetensors "$d"/rs.txt "$d"/cp' EXIT
avail=$(df -Pk . | awk 'NR==2 {print $4}')
[ "$avail" -gt 7000000 ] || { echo "wmerge bench: needs 7 GB free in $d (df: ${avail} KiB)"; exit 1; }
RUNS=${RUNS:-7}
# the same bytes in both dtypes: BF16 at hidden 1024, F32 at hidden 512 with twice the layers
for s in 1 2 3 4 5 6 7 8; do
	[ -f b$s.safetensors ] || st-gen --seed $s -t bf16 --llama hidden=1024,layers=5,vocab=32000,ff=2816 -o b$s.safetensors
	[ -f f$s.safetensors ] || st-gen --seed $s -t f32 --llama hidden=512,layers=10,vocab=32000,ff=1408 -o f$s.safetensors
done
M1=$(stat -L -c %s b1.safetensors)
files() { # $1: b or f; the first $2 of its 8 files, the list repeated past 8
	i=0; while [ $i -lt "$2" ]; do printf '%s%d.safetensors ' "$1" $((i % 8 + 1)); i=$((i + 1)); done
}
ones() { i=1; printf 1; while [ $i -lt "$1" ]; do printf ',1'; i=$((i + 1)); done; }

# pair BASELINE CMD WARM: WARM (a cat of the inputs), then BASELINE and CMD in turn, RUNS times
# each (in turn, so that a change in the machine's load hits both alike); prints "least_wall
# least_cpu largest_rss_kib" of BASELINE, then of CMD (cpu "–" without GNU time, which runstat
# stands in for)
pair() {
	sh -c "$3" > /dev/null
	bw="" bc="" br=0 cw="" cc="" cr=0 i=0
	while [ $i -lt "$RUNS" ]; do
		set -- "$1" "$2" "$3" $(measure "$1")
		bw=$(least "$4" "$bw") bc=$(least "$5" "$bc") br=$(most "$6" "$br")
		set -- "$1" "$2" "$3" $(measure "$2")
		cw=$(least "$4" "$cw") cc=$(least "$5" "$cc") cr=$(most "$6" "$cr")
		set -- "$1" "$2" "$3"
		i=$((i + 1))
	done
	echo "$bw $bc $br $cw $cc $cr"
}
# measure CMD: "wall cpu rss_kib" of one run
measure() {
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f "%e %U %S %M %x" -o rs.txt sh -c "$1"
		set -- "$1" $(awk '{ printf "%s %.2f %s %s\n", $1, $2 + $3, $4, $5 }' rs.txt)
	else
		runstat "$1" 2> rs.txt
		set -- "$1" $(awk '{ print $1, "–", $2, $3 }' rs.txt)
	fi
	[ "$5" = 0 ] || { echo "failed ($5): $1" >&2; exit 1; }
	echo "$2 $3 $4"
}
least() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a == "–" || a + 0 < b + 0) ? a : b }'; }
most() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
gbs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.2f", b / s / 1e9 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "–" || b == "–") print "–"; else printf "%.2f×", a / b }'; }
meets() { awk -v a="$1" -v b="$2" -v g="$3" 'BEGIN { print (a / b <= g) ? "yes" : "no" }'; }

echo "### wmerge — N checkpoints of $(awk -v b="$M1" 'BEGIN{printf "%.0f", b/1e6}') MB (Llama shapes; BF16: hidden 1024, 5 layers; F32: hidden 512, 10 layers), warm cache, least of $RUNS runs"
echo
echo "| what | dtype | N | -j | wall s | CPU s | input GB/s | baseline | its wall s | its CPU s | wall vs baseline | CPU vs baseline | peak RSS MiB | goal | wall goal met |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"
# row WHAT DTYPE N J BASELINE_NAME BASELINE CMD WARM GOAL_RATIO GOAL_TEXT
row() {
	set -- "$1" "$2" "$3" "$4" "$5" "${10}" "$9" $(pair "$6" "$7" "$8")
	# $6 goal text, $7 goal ratio, $8-$10 baseline wall cpu rss, $11-$13 the command's
	met="–"
	[ "$7" = "–" ] || met=$(meets "${11}" "$8" "$7")
	echo "| $1 | $2 | $3 | $4 | ${11} | ${12} | $(gbs $(( $3 * M1 )) "${11}") | $5 | $8 | $9 | $(ratio "${11}" "$8") | $(ratio "${12}" "$9") | $(mib "${13}") | $6 | $met |"
}
cores=$(nproc)
for t in b f; do
	dt=$([ $t = b ] && echo bf16 || echo f32)
	F8=$(files $t 8)
	row "linear → /dev/null, default -j" $dt 8 "$cores" cat "cat $F8 > /dev/null" \
		"wmerge -q -w $(ones 8) $F8 > /dev/null" "cat $F8" 1.2 "≤ 1.2× cat, < 128 MiB"
	row "linear → file, default -j" $dt 8 "$cores" cp "rm -rf cp && mkdir cp && cp $F8 cp/" \
		"rm -f out.safetensors && wmerge -q -w $(ones 8) $F8 -o out.safetensors" "cat $F8" 1.2 "≤ 1.2× cp, < 128 MiB"
	rm -rf cp out.safetensors
	row "linear → /dev/null" $dt 8 1 cat "cat $F8 > /dev/null" \
		"wmerge -q -j 1 -w $(ones 8) $F8 > /dev/null" "cat $F8" – "one core: the merge beside the read"
done
for n in 2 4 16; do
	Fn=$(files b $n)
	row "linear → /dev/null, default -j" bf16 $n "$cores" cat "cat $Fn > /dev/null" \
		"wmerge -q -w $(ones $n) $Fn > /dev/null" "cat $Fn" 1.2 "≤ 1.2× cat, < 128 MiB"
done
F5="$(files b 4) b8.safetensors"
row "ties -d 0.5 → /dev/null (whole tensors)" bf16 5 "$cores" cat "cat $F5 > /dev/null" \
	"wmerge -q -m ties -d 0.5 --base b8.safetensors -w $(ones 4) $(files b 4) > /dev/null" "cat $F5" \
	– "memory: (N+1) × largest tensor"
echo
echo "Default -j = the cores wmerge may run on ($cores here). cp copies the 8 inputs into a directory"
echo "(reads and writes 8 × the size); the merge reads the 8 and writes one. N = 16 reads the 8 files"
echo "twice each. The ties row counts the base among its N inputs. Each row runs its baseline and"
echo "its command in turn, $RUNS times each; wall and CPU (user + sys) are each the least of the"
echo "$RUNS (not necessarily of the same run), peak RSS the largest."
