#!/bin/sh
# pareto: the filter, --rank and --hv against brute force computed here in awk on random sets
# with ties; records and matrices agreeing; hand-worked sets for crowding, contributions, knee,
# best and the table; the SVG (its elements, rendering when rsvg-convert is there, no temporary
# left); every bad input with its exit status and message.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

# ---- brute force (minimization of every column of a matrix) ----
# the non-dominated lines, in input order (their numbers with IDX=1)
nd_awk() {
	awk -v idx="${IDX:-}" '{ n++; m = NF; line[n] = $0; for (j = 1; j <= NF; j++) v[n, j] = $j + 0 }
	END { for (i = 1; i <= n; i++) { d = 0
		for (k = 1; k <= n && !d; k++) { if (k == i) continue; le = 1; lt = 0
			for (j = 1; j <= m; j++) { if (v[k, j] > v[i, j]) le = 0; if (v[k, j] < v[i, j]) lt = 1 }
			d = le && lt }
		if (!d) print idx ? i : line[i] } }' "$1"
}
# every line with its rank appended, by peeling fronts off one after the other
rank_awk() {
	awk '{ n++; m = NF; line[n] = $0; for (j = 1; j <= NF; j++) v[n, j] = $j + 0 }
	END { left = n
		for (r = 1; left > 0; r++) {
			for (i = 1; i <= n; i++) if (!rk[i]) { d = 0
				for (k = 1; k <= n && !d; k++) { if (k == i || (rk[k] && rk[k] < r)) continue; le = 1; lt = 0
					for (j = 1; j <= m; j++) { if (v[k, j] > v[i, j]) le = 0; if (v[k, j] < v[i, j]) lt = 1 }
					d = le && lt }
				if (!d) new[i] = 1 }
			for (i in new) { rk[i] = r; left-- }
			delete new }
		for (i = 1; i <= n; i++) print line[i], rk[i] }' "$1"
}
# hypervolume of integer points in [0,G)^m with ref G…G: the unit cells some point dominates
hv_grid() {
	awk -v G="$2" '{ n++; m = NF; for (j = 1; j <= NF; j++) v[n, j] = $j + 0 }
	END { cells = G ^ m; c = 0
		for (x = 0; x < cells; x++) { hit = 0
			for (i = 1; i <= n && !hit; i++) { le = 1; y = x
				for (j = 1; j <= m; j++) { if (v[i, j] > y % G) le = 0; y = int(y / G) }
				hit = le }
			c += hit }
		print c }' "$1"
}
# N random points of M integers in [0, L) (ties and, with a few lines copied, duplicates)
rand_mat() {
	awk -v n="$1" -v m="$2" -v L="$3" -v seed="$4" 'BEGIN { srand(seed)
		for (i = 1; i <= n; i++) {
			if (i > 1 && rand() < 0.1) { keep[i] = keep[int(rand() * (i - 1)) + 1]; print keep[i]; continue }
			s = ""; for (j = 1; j <= m; j++) s = s (j > 1 ? " " : "") int(rand() * L)
			keep[i] = s; print s } }'
}
# the matrix as records {"id":"pN","scores":{"t1":-x,…}}: maximizing the negation = minimizing
to_records() {
	awk '{ s = ""; for (j = 1; j <= NF; j++) s = s (j > 1 ? "," : "") "\"t" j "\":" (-$j)
		printf "{\"id\":\"p%d\",\"scores\":{%s}}\n", NR, s }' "$1"
}

for m in 2 3 4 5; do
	for L in 4 50; do
		rand_mat 300 $m $L $((m * 100 + L)) > r.txt
		nd_awk r.txt > want
		ok_run "m=$m L=$L: non-dominated lines" pareto r.txt
		cmp_files "m=$m L=$L: the filter matches brute force" want out
		rank_awk r.txt > want
		ok_run "m=$m L=$L: --rank" pareto --rank r.txt
		cmp_files "m=$m L=$L: ranks match brute force" want out
		to_records r.txt > r.ndjson
		pareto r.ndjson | sed 's/.*"id":"p\([0-9]*\)".*/\1/' > ids
		IDX=1 nd_awk r.txt > want
		cmp_files "m=$m L=$L: records (maximized negations) give the same front" want ids
	done
done

# hypervolume against the grid count, for 2 to 6 objectives: points of [0,G)^m in the upper
# half (coordinate sum at least (G-1)m/2), so that the front is long and the volume partial
for c in "2 30 200" "3 10 200" "4 6 120" "5 4 80" "6 3 60"; do
	set -- $c
	m=$1 G=$2
	rand_mat $(($3 * 2)) $m $G $((m * 7)) | awk -v h=$(((G - 1) * m)) '{ s = 0; for (j = 1; j <= NF; j++) s += $j } 2 * s >= h' > h.txt
	ref=$(awk -v m=$m -v G=$G 'BEGIN { for (j = 1; j <= m; j++) printf "%s%d", (j > 1 ? "," : ""), G }')
	grid=$(hv_grid h.txt $G)
	ok_run "m=$m: --hv=$ref on $(grep -c . h.txt) points" pareto --hv=$ref h.txt
	check "m=$m: hypervolume equals the grid count $grid" \
		'[ "$(sed "s/^{\"hv\":\([^,]*\),.*/\1/" out | awk "{ print \$1 == $grid }")" = 1 ]'
done

# ---- hand-worked sets ----
cat > s.ndjson <<'EOF'
{"id":"a","scores":{"add":0.5,"mul":0.2},"x":[0.10000000000000001,1e-300]}
{"id":"b","scores":{"add":0.3,"mul":0.6},"label":"uniform soup"}
{"id":"c","scores":{"add":0.2,"mul":0.1}}
{"id":"d","scores":{"add":0.5,"mul":0.2}}

{"id":"e","scores":{"add":0.4,"mul":0.5},"label":"greedy soup"}
EOF
ok_run "records: the filter" pareto s.ndjson
check "the front in input order, records unchanged (duplicates kept)" \
	'[ "$(cat out)" = "$(grep -v "\"c\"" s.ndjson | grep .)" ]'
ok_run "--unique" pareto --unique s.ndjson
check "--unique reduces equal points to the first" '[ "$(grep -c . out)" = 3 ] && ! grep -q "\"d\"" out'
ok_run "--keep-duplicates after -u" pareto -u --keep-duplicates s.ndjson
check "the last of -u / --keep-duplicates wins" '[ "$(grep -c . out)" = 4 ]'
ok_run "stdin and a file, in order" sh -c 'head -2 s.ndjson | pareto - s.ndjson'
check "points from both inputs" '[ "$(grep -c "\"id\":\"a\"" out)" = 2 ] && [ "$(grep -c . out)" = 6 ]'

ok_run "--rank --crowding" pareto --rank --crowding s.ndjson
# front a b d e: by add b .3, e .4, a .5, d .5 (ends b and d); by mul a .2, d .2, e .5, b .6
# (ends a and b); e: (.5 - .3)/.2 + (.6 - .2)/.4 = 2
check "ranks 1 1 2 1 1" '[ "$(sed "s/.*\"rank\":\([0-9]*\).*/\1/" out | tr "\n" " ")" = "1 1 2 1 1 " ]'
check "crowding: ends null, e 2.0, the lone rank 2 null" \
	'[ "$(sed "s/.*\"crowding\":\([^}]*\)}/\1/" out | tr "\n" " ")" = "null null null null 2.0 " ]'
printf '{"id":"r", "rank": 9,  "scores": {"a": 1}}\n{ "id":"q",  "scores": {"a": 0.5} }\n' > rk.ndjson
ok_run "--rank over a record that has a rank" pareto --rank rk.ndjson
check "the old rank is replaced, not repeated" '[ "$(head -1 out)" = "{\"id\":\"r\",\"rank\":1,\"scores\":{\"a\":1}}" ]'
check "a record without one keeps its text and gains the field" '[ "$(tail -1 out)" = "{ \"id\":\"q\",  \"scores\": {\"a\": 0.5},\"rank\":2}" ]'
ok_run "the filter keeps a record's text byte for byte" pareto rk.ndjson
check "spaces and all" '[ "$(cat out)" = "$(head -1 rk.ndjson)" ]'
ok_run "--crowding alone annotates the front" pareto -c s.ndjson
check "four front records with crowding" '[ "$(grep -c "\"crowding\"" out)" = 4 ] && ! grep -q rank out'

# Option spellings (recycle(7)): the new ones and the old ones kept for scripts agree.
same_sp=1
for pair in "--table|-t" "--best=mean|-b mean" "--rank --crowding|-r -c" "--objectives=scores.add|-o scores.add"; do
	# shellcheck disable=SC2086  # the options are word-split on purpose
	pareto ${pair%%|*} s.ndjson > sp1 && pareto ${pair#*|} s.ndjson > sp2 && cmp -s sp1 sp2 && [ -s sp1 ] || same_sp=0
done
check "--table, --best, --rank, --crowding, --objectives and the old -t, -b, -r, -c, -o agree" '[ $same_sp = 1 ]'
ok_run "--hv with the default reference" pareto --hv s.ndjson
# worst add .2, range .3 -> .17; worst mul .1, range .5 -> .05
check "the reference point is printed: worst - 0.1 x range" 'grep -q "\"ref\":\[0.17,0.05\]" out'
check "front and point counts" 'grep -q "\"front\":4,\"points\":5" out && grep -q "\"objectives\":\[\"scores.add\",\"scores.mul\"\]" out'
ok_run "--hv=0,0" pareto --hv=0,0 s.ndjson
# staircase b (.3,.6) e (.4,.5) a (.5,.2): .3*.6 + .1*.5 + .1*.2 = .25
check "hv of the staircase is 0.25" 'grep -q "^{\"hv\":0.25,\"ref\":\[0.0,0.0\]" out'
ok_run "--hv-contrib=0,0" pareto --hv-contrib=0,0 s.ndjson
# b: (.3-0)(.6-.5) = .03; e: (.4-.3)(.5-.2) = .03; a and d equal: 0
check "exclusive contributions" \
	'[ "$(sed "s/.*\"hv_contrib\":\([^}]*\)}/\1/" out | awk "{ printf \"%.12g \", \$1 }")" = "0 0.03 0 0.03 " ]'
ok_run "--min flips an objective" pareto --min add --hv=1,0 s.ndjson
check "minimized add: the reference is printed as given" 'grep -q "\"ref\":\[1.0,0.0\]" out'

printf '0 10\n1 1\n10 0\n2 2\n' > L.txt
ok_run "--knee" pareto --knee L.txt
check "the knee of an L is its corner" '[ "$(cat out)" = "1 1" ]'
ok_run "--best mean" pareto --best mean s.ndjson
check "best mean: e (0.45)" 'grep -q "\"id\":\"e\"" out && [ "$(grep -c . out)" = 1 ]'
ok_run "--best min" pareto -b min s.ndjson
check "best min: e (min 0.4)" 'grep -q "\"id\":\"e\"" out'
ok_run "--best 1,0" pareto -b 1,0 s.ndjson
check "best on add alone: a, the first of a and d" 'grep -q "\"id\":\"a\"" out'
ok_run "--best 0,1 on a matrix (minimized: goodness is the negation)" pareto -b 0,1 L.txt
check "the lowest second column" '[ "$(cat out)" = "10 0" ]'

ok_run "--table" pareto --table s.ndjson
check "table header and rows" '[ "$(head -1 out | tr -s " ")" = "# id label add mul" ] && [ "$(grep -c . out)" = 5 ]'
check "table columns aligned (every line as long)" '[ "$(awk "{ print length(\$0) }" out | sort -u | wc -l)" = 1 ]'
check "table row of e" 'grep -q "^5  e   greedy soup   0.4  0.5$" out'

printf '# comment\n1 2 0.5\n\n2 1 0.5\n3 3 0\n' > m.txt
ok_run "matrix: -o and --max" pareto -o 1,3 --max 3 m.txt
check "matrix lines unchanged" '[ "$(cat out)" = "$(printf "1 2 0.5\n")" ]'
ok_run "matrix --rank adds a column" pareto --rank m.txt
check "rank column" '[ "$(cat out)" = "$(printf "1 2 0.5 1\n2 1 0.5 1\n3 3 0 1\n")" ]'
ok_run "matrix --hv-contrib=4,4,1" pareto --hv-contrib=4,4,1 m.txt
# boxes 3, 3, 1; overlaps 1∩2 = 2, 1∩3 = 2∩3 = 1∩2∩3 = 0.5: exclusive 3 - 2, 3 - 2, 1 - 0.5
check "matrix contributions as a column" '[ "$(awk "{ print \$4 }" out | tr "\n" " ")" = "1 1 0.5 " ]'

# ---- bad records ----
printf '{"scores":{"a":1,"b":2}}\n{"scores":{"a":3}}\n' > miss.ndjson
fail_run 1 '^pareto: miss.ndjson:2: missing objective "scores.b"$' "a missing objective" pareto miss.ndjson
printf '{"scores":{"a":1}}\n\n{"scores":{"a":"high"}}\n' > str.ndjson
fail_run 1 '^pareto: str.ndjson:3: objective "scores.a" is not a number$' "a string" pareto str.ndjson
printf '{"scores":{"a":1}}\n{"scores":{"a":NaN}}\n' > nan.ndjson
fail_run 1 '^pareto: nan.ndjson:2: a non-finite number' "NaN (not JSON)" pareto nan.ndjson
printf '{"scores":{"a":1}}\n{"scores":{"a":-Infinity}}\n' > inf.ndjson
fail_run 1 '^pareto: inf.ndjson:2: a non-finite number' "infinity (not JSON)" pareto inf.ndjson
printf '{"scores":{"a":null}}\n' > null.ndjson
fail_run 1 '^pareto: null.ndjson:1: objective "scores.a" is not a number$' "null" pareto null.ndjson
printf '{"scores":{"a":1}}\n{"scores":{"a":2}\n' > trunc.ndjson
fail_run 1 '^pareto: trunc.ndjson:2: truncated JSON$' "a truncated line" pareto trunc.ndjson
printf '{"scores":{"a":1}}\n[1,2]\n' > arr.ndjson
fail_run 1 '^pareto: arr.ndjson:2: not a JSON object$' "a line that is not an object" pareto arr.ndjson
printf '{"id":"x"}\n' > noscores.ndjson
fail_run 1 '^pareto: noscores.ndjson:1: no "scores" object .*-o' "no scores and no -o" pareto noscores.ndjson
printf '{"fit":1}\n{"fit":true}\n' > bool.ndjson
fail_run 1 '^pareto: bool.ndjson:2: objective "fit" is not a number$' "-o: a boolean" pareto -o fit bool.ndjson
fail_run 1 '^pareto: <stdin>:2: missing objective "scores.b"$' "stdin: the line number" sh -c 'pareto < miss.ndjson'
printf '1 2\n3\n' > cols.txt
fail_run 1 '^pareto: cols.txt:2: 1 columns, expected 2 as on the first line$' "matrix: a short line" pareto cols.txt
printf '1 2\n3 four\n' > word.txt
fail_run 1 '^pareto: word.txt:2: column 2: "four" is not a number$' "matrix: a word" pareto word.txt
printf '1 2\nnan 4\n' > mnan.txt
fail_run 1 '^pareto: mnan.txt:2: column 1 is NaN$' "matrix: nan" pareto mnan.txt
fail_run 1 '^pareto: s.ndjson: NDJSON records, but the input before was a matrix$' "a matrix then records" pareto m.txt s.ndjson
fail_run 1 '^pareto: nosuch.ndjson: No such file' "a missing file" pareto nosuch.ndjson
mkdir adir
fail_run 1 '^pareto: adir: read error: Is a directory$' "a directory" pareto adir

cat miss.ndjson str.ndjson nan.ndjson trunc.ndjson > mixed.ndjson
ok_run "--skip-bad" pareto --skip-bad mixed.ndjson
check "--skip-bad: the good records are kept" '[ "$(grep -c . out)" = 1 ] && grep -q "\"b\":2" out'
check "--skip-bad: the count and the first reason on stderr" \
	'grep -q "^pareto: skipped 7 bad records (the first: mixed.ndjson:2: missing objective \"scores.b\")$" err'
ok_run "--skip-bad -q" pareto --skip-bad -q mixed.ndjson
check "-q: nothing on stderr" '[ ! -s err ]'
ok_run "--skip-bad on a matrix" pareto --skip-bad cols.txt
check "the good matrix line" '[ "$(cat out)" = "1 2" ] && grep -q "skipped 1 bad record " err'

# ---- usage errors (exit 2) ----
fail_run 2 '^pareto: --min: no objective "sub" \(objectives: add, mul\)$' "--min of an unknown objective" pareto --min sub s.ndjson
fail_run 2 '^pareto: --max: no objective "9"' "--max of an unknown column" pareto --max 9 m.txt
fail_run 2 '^pareto: -o: "4" is not a column number of m.txt \(1 to 3' "-o column out of range" pareto -o 4 m.txt
fail_run 2 '^pareto: -o: empty name in "a,,b"$' "-o with an empty name" pareto -o a,,b s.ndjson
fail_run 2 '^pareto: --rank and --hv cannot be combined$' "two outputs" pareto --rank --hv s.ndjson
fail_run 2 '^pareto: --crowding goes with --rank' "--crowding with --knee" pareto --crowding --knee s.ndjson
fail_run 2 '^pareto: --best: "avg": expected mean, min or comma-separated weights$' "--best avg" pareto --best avg s.ndjson
fail_run 2 '^pareto: --best: 3 weights for 2 objectives$' "--best with 3 weights" pareto --best 1,1,1 s.ndjson
fail_run 2 '^pareto: reference point "1": expected 2 comma-separated numbers$' "--hv=1 for 2 objectives" pareto --hv=1 s.ndjson
fail_run 2 '^pareto: reference point "1,x"' "--hv=1,x" pareto --hv=1,x s.ndjson
fail_run 2 '^pareto: reference point "1,2,3"' "--hv-contrib=1,2,3" pareto --hv-contrib=1,2,3 s.ndjson
fail_run 2 '^pareto: --svg - writes the plot to standard output' "--svg - with --table" pareto --svg - --table s.ndjson
fail_run 2 "^Try 'pareto --help'" "an unknown option" pareto --frobnicate s.ndjson
fail_run 1 '^pareto: no points in the input$' "--hv of nothing" sh -c ': | pareto --hv'
ok_run "the filter of nothing is nothing" sh -c ': | pareto'
check "empty output" '[ ! -s out ]'
printf '1 1 1 1 1 1 1\n' > seven.txt
fail_run 1 '^pareto: hypervolume of 7 objectives: supported are 1 to 6$' "--hv of 7 objectives" pareto --hv seven.txt
printf '1\n2\n' > one.txt
fail_run 1 '^pareto: p.svg: a plot needs at least 2 objectives' "--svg of 1 objective" pareto --svg p.svg one.txt
check "no plot and no temporary left" '[ -z "$(ls -A | grep "p\.svg")" ]'

# ---- the plot ----
ok_run "--svg of 2 objectives" pareto --svg front.svg s.ndjson
check "--svg alone writes nothing to stdout" '[ ! -s out ]'
check "an SVG document" 'head -1 front.svg | grep -q "^<?xml" && tail -1 front.svg | grep -q "^</svg>$"'
check "the step line, the points, the labels, the axis names" \
	'grep -q "<polyline" front.svg && [ "$(grep -c "<circle" front.svg)" -ge 3 ] &&
	 grep -q ">uniform soup</text>" front.svg && grep -q ">greedy soup</text>" front.svg &&
	 grep -q ">add (higher is better)</text>" front.svg && grep -q ">mul (higher is better)</text>" front.svg'
check "no temporary left" '[ -z "$(ls -A | grep "\.tmp\.")" ]'
printf '{"scores":{"a":1,"b":2},"label":"<&\\"x\\">"}\n' > esc.ndjson
ok_run "--svg escapes text" pareto --svg esc.svg esc.ndjson
check "the label is escaped" 'grep -q "&lt;&amp;&quot;x&quot;&gt;" esc.svg'
ok_run "--svg with --table" pareto --svg front.svg --table s.ndjson
check "both outputs" 'grep -q "greedy soup" out && [ -s front.svg ]'
ok_run "--svg - to stdout" pareto --svg - s.ndjson
check "the plot on stdout" 'grep -q "^</svg>$" out'
rand_mat 80 4 20 11 > four.txt
ok_run "--svg of 4 objectives" pareto --svg four.svg four.txt
check "a scatter-plot matrix: 4 diagonal names, 12 cells of points" \
	'[ "$(grep -c ">lower is better</text>" four.svg)" = 4 ] && [ "$(grep -c "<circle" four.svg)" -ge 960 ]'
mkdir ro && chmod 555 ro
if [ "$(id -u)" != 0 ]; then
	fail_run 1 '^pareto: ro/p.svg.*Permission denied' "--svg into a read-only directory" pareto --svg ro/p.svg s.ndjson
fi
fail_run 1 '^pareto: nodir/p.svg' "--svg into a missing directory" pareto --svg nodir/p.svg s.ndjson
if command -v rsvg-convert > /dev/null; then
	ok_run "rsvg-convert renders the 2-D plot" rsvg-convert -o front.png front.svg
	ok_run "rsvg-convert renders the matrix" rsvg-convert -o four.png four.svg
fi

# ---- the rest of the interface ----
ok_run "--help" pareto --help
names_all() { for o in "$@"; do grep -q -- "--$o" out || return 1; done; }
check "--help names every option" 'names_all objectives min max keep-duplicates unique skip-bad quiet rank crowding hv hv-contrib knee best table svg title lines xlabel ylabel help version'
ok_run "--version" pareto --version
check "version line" 'grep -q "^pareto (recycle) " out'
if [ -w /dev/full ]; then
	fail_run 1 '^pareto: standard output' "a full disk on stdout" sh -c 'pareto s.ndjson > /dev/full'
fi
t_done
