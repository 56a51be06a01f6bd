#!/bin/sh
# pareto benchmark (issue 5): 100 000 points with 2 and 3 objectives. (1) The library alone, CPU
# seconds of pf_front, pf_rank and pf_hv through build/rel/tests/test_pareto's bench mode, on
# uniform random points (small fronts, many ranks) and on points scaled onto the plane Σ = 1 (all
# non-dominated); a 4-objective row shows the general case. (2) The program end to end on score
# records and on matrices: wall and CPU seconds and peak RSS, best of 3 (GNU time, or runstat).
set -u
top=${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$top/build/rel/tests/test_pareto
[ -x "$T" ] || { echo "pareto: $T is not built (make)"; exit 1; }
[ -x /usr/bin/time ] || command -v runstat > /dev/null || { echo "pareto: neither GNU time nor runstat (tests/helpers)"; exit 1; }
W=$(mktemp -d "${BENCH_DIR:-/tmp}/pareto.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
N=100000

# Score records {"id","gen","x","scores":{…}} and the same points as a matrix.
for m in 2 3; do
	awk -v n=$N -v m=$m 'BEGIN { srand(m)
		for (i = 0; i < n; i++) {
			s = ""; t = ""
			for (j = 1; j <= m; j++) { v = rand(); s = s (j > 1 ? "," : "") "\"task" j "\":" v; t = t (j > 1 ? " " : "") v }
			printf "{\"id\":\"g%04d-%02d\",\"gen\":%d,\"x\":[0.1,0.2,0.3],\"scores\":{%s}}\n", i / 16, i % 16, i / 16, s
			print t > "m" m ".txt"
		} }' > r$m.ndjson
done

# best of 3 by wall time: "seconds rss_kib cpu_seconds". GNU time gives all three (CPU = user +
# sys says more than the wall time on a shared machine); without it, runstat gives the first two.
run() {
	best="" rss="" cpu="–"
	for i in 1 2 3; do
		if [ -x /usr/bin/time ]; then
			/usr/bin/time -f "%e %M %U %S %x" -o rs.txt sh -c "$1"
			set -- "$1" $(awk '{ print $1, $2, $5, $3 + $4 }' rs.txt)
		else
			runstat "$1" 2> rs.txt
			set -- "$1" $(cat rs.txt) –
		fi
		[ "$4" = 0 ] || { echo "failed ($4): $1" >&2; exit 1; }
		if [ -z "$best" ] || [ "$(awk "BEGIN { print ($2 < $best) }")" = 1 ]; then best=$2 rss=$3 cpu=$5; fi
		set -- "$1"
	done
	echo "$best $rss $cpu"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo "### pareto — $N points, 2 and 3 objectives"
echo
echo "Library, CPU seconds (test_pareto bench: pf_front, pf_rank, pf_hv):"
echo
echo "| points | n | m | front size | ranks | front s | rank s | hv s | goal |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
lib() {
	set -- $("$T" bench "$1" "$2" "$3") "$@"
	echo "| $8 | $6 | $7 | $4 | $5 | $1 | $2 | $3 | $9 |"
}
lib $N 2 random "well under 1 s"
lib $N 2 plane "well under 1 s"
lib $N 3 random "reasonable (< 2 s)"
lib $N 3 plane "reasonable (< 2 s)"
lib 10000 4 random "general m: O(m n²) at worst"
lib 2000 4 plane "WFG hypervolume, 4 objectives"

echo
echo "The program, best of 3: wall seconds, CPU seconds (user + sys), peak RSS (load average now: $(cut -d' ' -f1 /proc/loadavg)):"
echo
echo "| command | m | wall s | CPU s | peak RSS MiB | goal |"
echo "| --- | ---: | ---: | ---: | ---: | --- |"
cli() {
	set -- $(run "$1") "$@"
	echo "| \`$4\` | $5 | $1 | $3 | $(mib $2) | $6 |"
}
cli "pareto r2.ndjson > /dev/null" 2 "well under 1 s"
cli "pareto --rank r2.ndjson > /dev/null" 2 "well under 1 s"
cli "pareto --hv r2.ndjson > /dev/null" 2 "well under 1 s"
cli "pareto m2.txt > /dev/null" 2 "well under 1 s"
cli "pareto --svg f2.svg r2.ndjson" 2 "–"
cli "pareto r3.ndjson > /dev/null" 3 "reasonable (< 2 s)"
cli "pareto --rank r3.ndjson > /dev/null" 3 "reasonable (< 2 s)"
cli "pareto --hv r3.ndjson > /dev/null" 3 "reasonable (< 2 s)"
cli "pareto m3.txt > /dev/null" 3 "reasonable (< 2 s)"
echo
echo "SVG of all $N points with 2 objectives: $(awk -v b=$(wc -c < f2.svg) 'BEGIN { printf "%.1f", b / 1048576 }') MiB."
