#!/bin/sh
# pareto's plots read back: the layout of front.svg with many labeled points, long names and a
# point on another (no legend entry or label over another, the legend off the plot area, every
# labeled point in the legend, a point on another drawn as a ring around it); --lines on known
# series (what is drawn: polylines, polygons, reference lines and legend entries counted; panels
# side by side; gaps; steps; pixel positions; shared colors); every bad series record with its
# message; the usage errors.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

# layout SVG: one line a problem: two texts of class "legend", "label" or "tick" whose boxes
# overlap, or a legend entry (sample and text) over a panel (class "plot-area"). A text's box: from
# its baseline 0.83 of its font size up and 0.25 down, its width estimated as svg_text_width does
# (DejaVu Sans advance widths by character class); a legend entry's sample is the 30 pixels left
# of its text.
layout() {
	LC_ALL=C awk '
	BEGIN { for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i }
	function width(s, px,   i, c, o, w) {
		gsub(/&lt;|&gt;|&amp;|&quot;/, "x", s)
		w = 0
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1); o = ord[c]
			if (o >= 128) { if (o >= 192) w += 1.0 }
			else if (index("il.,:;\047|!ijI `", c)) w += 0.34
			else if (index("frt()[]{}-\"/\\", c)) w += 0.44
			else if (index("mwMW@%", c)) w += 1.0
			else if (c ~ /[A-Z]/) w += 0.78
			else if (o >= 32) w += 0.66
		}
		return w * px
	}
	function attr(s, a,   r) {
		if (!match(s, " " a "=\"[^\"]*\"")) return ""
		r = substr(s, RSTART + length(a) + 3, RLENGTH - length(a) - 4); return r
	}
	/<rect class="plot-area"/ { na++; ax0[na] = attr($0, "x") + 0; ay0[na] = attr($0, "y") + 0
		ax1[na] = ax0[na] + attr($0, "width"); ay1[na] = ay0[na] + attr($0, "height") }
	/<text class="(legend|label|tick)"/ {
		n++; cls[n] = attr($0, "class"); x = attr($0, "x") + 0; y = attr($0, "y") + 0
		px = attr($0, "font-size"); if (px == "") px = 12
		t = $0; sub(/^.*<text[^>]*>/, "", t); sub(/<\/text>.*$/, "", t); txt[n] = t
		w = width(t, px); an = attr($0, "text-anchor")
		x0 = an == "end" ? x - w : an == "middle" ? x - w / 2 : x
		bx0[n] = cls[n] == "legend" ? x0 - 30 : x0; bx1[n] = x0 + w; by0[n] = y - 0.83 * px; by1[n] = y + 0.25 * px }
	END {
		for (i = 1; i <= n; i++) {
			for (j = i + 1; j <= n; j++)
				if (bx0[i] < bx1[j] && bx0[j] < bx1[i] && by0[i] < by1[j] && by0[j] < by1[i])
					print "overlap: " txt[i] " | " txt[j]
			if (cls[i] == "legend")
				for (a = 1; a <= na; a++)
					if (bx0[i] < ax1[a] && ax0[a] < bx1[i] && by0[i] < ay1[a] && ay0[a] < by1[i])
						print "legend over a plot: " txt[i]
		}
	}' "$1"
}
# count SVG PATTERN: how many lines of SVG match PATTERN (grep -E)
count() { grep -Ec -- "$2" "$1"; }

# ---- front.svg: many labeled points, long names, one point on another ----
{
	# 60 candidates around the front, then the baselines and the answer, as report writes them
	awk 'BEGIN { srand(3); for (i = 0; i < 60; i++) { a = 0.5 + rand() * 0.4; printf "{\"id\":\"c%d\",\"scores\":{\"add\":%.4f,\"rev\":%.4f}}\n", i, a, 1.3 - a - rand() * 0.2 } }'
	for l in best-single:run-01 uniform greedy random cmaes-1 cmaes-2 cmaes-3 cmaes-mean; do
		case $l in
		cmaes-1) s='"add":0.81,"rev":0.52' ;;
		cmaes-2) s='"add":0.8101,"rev":0.5201' ;;   # within a pixel of cmaes-1
		uniform) s='"add":0.7,"rev":0.6' ;;
		greedy) s='"add":0.7002,"rev":0.6003' ;;    # on uniform
		*) s="\"add\":0.$((${#l} + 60)),\"rev\":0.5$((${#l} % 10))" ;;
		esac
		printf '{"id":"%s","label":"%s","scores":{%s}}\n' "$l" "$l" "$s"
	done
	echo '{"id":"loo","label":"leave-one-out without run-07, renormalized (a long name for a legend)","scores":{"add":0.62,"rev":0.41}}'
	echo '{"id":"a","label":"answer (cmaes-1)","scores":{"add":0.81,"rev":0.52}}'
} > front.ndjson
ok_run "front.svg of 60 points and 10 labeled ones" pareto --skip-bad -q --svg front.svg --title "dev scores" front.ndjson
layout front.svg > lay
check "no legend entry or label overlaps another, none is over the plot" '[ ! -s lay ]' || cat lay
check "every labeled point and the 3 point styles are in the legend" '[ $(count front.svg "<text class=\"legend\"") -eq 13 ] &&
	grep -q ">answer (cmaes-1)</text>" front.svg && grep -q ">leave-one-out without run-07, renormalized (a long name for a legend)</text>" front.svg'
# the answer's marker: a ring around the cmaes-1 and cmaes-2 markers (cmaes-2 a ring already)
# (in the legend, a ring is r="5.00")
ring=$(grep '<circle[^>]*fill="none"' front.svg | grep -v 'r="5.00"' | tail -n 1)
check "the answer, on cmaes-1 and cmaes-2, is the widest of two rings around them" '[ $(grep "<circle[^>]*fill=\"none\"" front.svg | grep -vc "r=\"5.00\"") -eq 3 ] &&
	echo "$ring" | grep -q "r=\"13.00\"" && grep -q "<circle[^>]*r=\"9.50\" fill=\"none\"" front.svg'
check "... and the answer's entry in the legend is a ring" 'grep -B1 ">answer (cmaes-1)</text>" front.svg | grep -q "<circle[^>]*r=\"5.00\" fill=\"none\""'
if command -v rsvg-convert > /dev/null; then
	ok_run "rsvg-convert renders it" rsvg-convert -o front.png front.svg
fi
# tick labels: a matrix where every objective is constant but one (ticks at the cells' edges)
printf '{"scores":{"a":0,"b":0,"c":%s}}\n' 1 2 3 > flat.ndjson
ok_run "a matrix of constant objectives" pareto --svg flat.svg flat.ndjson
layout flat.svg > lay
check "no tick label over another" '[ ! -s lay ] && [ $(count flat.svg "<text class=\"tick\"") -ge 12 ]' || cat lay
# the same labels in a scatter-plot matrix
jq -c '.scores.mul = (.scores.add * .scores.rev)' front.ndjson > three.ndjson
ok_run "a matrix of 3 objectives with the labels" pareto --svg three.svg three.ndjson
layout three.svg > lay
check "the matrix: no legend entry over another or over a cell" '[ ! -s lay ] && [ $(count three.svg "<text class=\"legend\"") -eq 12 ]' || cat lay

# ---- --lines: what is drawn, counted ----
cat > s.ndjson <<'EOF'
{"name":"CMA-ES","y":[0.5,0.6,null,0.7,0.72],"step":true,"panel":"dev","id":"passed over","more":{"nested":[1,2]}}
{"name":"random","x":[1,2,3,4,5],"y":[0.4,0.55,0.56,0.6,0.61],"lo":[0.3,0.5,0.5,0.55,0.58],"hi":[0.45,0.6,0.62,0.65,0.7],"panel":"dev"}
{"name":"CMA-ES","x":[1,3,5],"y":[0.45,0.5,0.66],"points":true,"panel":"test"}
{"name":"greedy soup","hline":0.65,"panel":"dev"}
{"name":"greedy soup","hline":0.62,"panel":"test"}
{"name":"uniform","hline":0.6,"panel":"dev"}
{"name":"CMA-ES, test","group":"CMA-ES","dash":true,"step":true,"x":[1,4,5],"y":[0.45,0.52,0.52],"panel":"dev"}
EOF
ok_run "--lines of 5 series and 3 reference lines in 2 panels" pareto --lines --svg l.svg --title "a chart" --xlabel evaluations --ylabel score s.ndjson
check "--lines writes nothing else" '[ ! -s out ] && [ ! -s err ]'
check "an SVG document" 'head -n 1 l.svg | grep -q "^<?xml" && [ "$(tail -n 1 l.svg)" = "</svg>" ]'
check "5 lines (CMA-ES dev in 2 runs around its gap), 1 band, 3 reference lines" \
	'[ $(count l.svg "<polyline class=\"line\"") -eq 5 ] && [ $(count l.svg "<polygon class=\"band\"") -eq 1 ] && [ $(count l.svg "class=\"hline\"") -eq 3 ]'
check "5 legend entries: 3 series names, 2 reference lines with their value in each panel" \
	'[ $(count l.svg "<text class=\"legend\"") -eq 5 ] && grep -q ">greedy soup 0.650, 0.620</text>" l.svg && grep -q ">uniform 0.600, –</text>" l.svg &&
	grep -q ">CMA-ES, test</text>" l.svg'
check "markers at the 3 points of the test curve" '[ $(count l.svg "<circle cx[^>]*r=\"3.50\"") -eq 3 ]'
check "the titles" 'grep -q ">a chart</text>" l.svg && [ $(grep -c ">evaluations</text>" l.svg) -eq 2 ] && [ $(grep -c ">score</text>" l.svg) -eq 1 ] &&
	grep -q ">dev</text>" l.svg && grep -q ">test</text>" l.svg'
# panels: two frames side by side, same top and height
sed -n 's/.*<rect class="plot-area" x="\([^"]*\)" y="\([^"]*\)" width="\([^"]*\)" height="\([^"]*\)".*/\1 \2 \3 \4/p' l.svg > areas
check "two panels side by side, the same height" '[ $(wc -l < areas) -eq 2 ] && awk "NR == 1 { x = \$1; y = \$2; w = \$3; h = \$4 }
	NR == 2 { exit !(\$1 > x + w + 40 && \$2 == y && \$4 == h) }" areas'
# the same name or group: the same color
stroke() { grep "<polyline class=\"line\"" l.svg | sed -n "$1p" | sed 's/.*stroke="\([^"]*\)".*/\1/'; }
check "CMA-ES in both panels and CMA-ES, test share a color; random has another" \
	'[ "$(stroke 1)" = "$(stroke 5)" ] && [ "$(stroke 1)" = "$(stroke 4)" ] && [ "$(stroke 3)" != "$(stroke 1)" ]'
check "CMA-ES, test is dashed" 'grep "<polyline class=\"line\"" l.svg | sed -n 4p | grep -q stroke-dasharray'
layout l.svg > lay
check "--lines: no legend entry over another or over a panel" '[ ! -s lay ]' || cat lay
if command -v rsvg-convert > /dev/null; then
	ok_run "rsvg-convert renders the chart" rsvg-convert -o l.png l.svg
fi

# gaps, steps and positions on one panel: y 0 and 1 at the ends of a line, a reference line at 0.5
cat > g.ndjson <<'EOF'
{"name":"gappy","y":[1,null,2,3,null,null,4]}
{"name":"steps","x":[1,7],"y":[0,1],"step":true}
{"name":"half","hline":0.5}
EOF
ok_run "--lines, one panel, no titles" pareto --lines --svg - g.ndjson
cp out g.svg
pts() { grep "<polyline class=\"line\"" g.svg | sed -n "$1p" | sed 's/.*points="\([^"]*\)".*/\1/'; }
check "a gap splits the line: one polyline of 2 points, the lone points as dots" \
	'[ $(count g.svg "<polyline class=\"line\"") -eq 2 ] && [ $(pts 1 | wc -w) -eq 2 ] && [ $(count g.svg "<circle[^>]*r=\"2.50\"") -eq 2 ]'
pts 2 | tr ' ' '\n' > step   # one "x,y" a corner
check "a step: level to the next x, then up" '[ $(wc -l < step) -eq 3 ] && awk -F, "{ x[NR] = \$1; y[NR] = \$2 }
	END { exit !(y[1] == y[2] && x[2] == x[3] && y[3] != y[2] && x[2] > x[1]) }" step'

hy=$(sed -n 's/.*class="hline" d="M[0-9.]* \([0-9.]*\)H.*/\1/p' g.svg)
check "the reference line at 0.5 lies halfway between the step's 0 and 1 (pixel $hy)" \
	'awk -F, -v h="$hy" "NR == 1 { a = \$2 } NR == 3 { b = \$2 } END { exit !(h - (a + b) / 2 < 0.02 && (a + b) / 2 - h < 0.02) }" step'
check "no panel title, no axis titles, whole-number x ticks" '! grep -q "font-size=\"13\"" g.svg && ! grep -q "font-size=\"14\"" g.svg &&
	! grep -q "text-anchor=\"middle\">[0-9]*[.][0-9]*</text>" g.svg'
echo '{"name":"a","y":[3,1,2]}' > nox.ndjson
echo '{"name":"a","x":[1,2,3],"y":[3,1,2]}' > withx.ndjson
pareto --lines --svg nox.svg nox.ndjson && pareto --lines --svg withx.svg withx.ndjson
check "x defaults to 1, 2, 3" 'cmp -s nox.svg withx.svg'
printf '{"name":"<&\\"x\\">","y":[1,2]}\n{"name":"b","hline":1.5}\n' > esc.ndjson
ok_run "names are escaped" pareto --lines --svg esc.svg esc.ndjson
check "the escaped name" 'grep -q ">&lt;&amp;&quot;x&quot;&gt;</text>" esc.svg && grep -q ">b 1.500</text>" esc.svg'
printf '{"name":"a","y":[1]}\n{"name":"tiny","hline":0.000123}\n{"name":"zero","hline":0}\n{"name":"big","hline":12345678}\n' > values.ndjson
ok_run "reference lines of all sizes" pareto --lines --svg values.svg values.ndjson
check "their values: 3 decimals, 4 digits where 3 decimals would hide them" \
	'grep -q ">tiny 0.000123</text>" values.svg && grep -q ">zero 0.000</text>" values.svg && grep -q ">big 1.235e+07</text>" values.svg'
ok_run "from standard input, over several files" sh -c 'cat g.ndjson | pareto --lines --svg two.svg - esc.ndjson'
check "the series of both" '[ $(count two.svg "<text class=\"legend\"") -eq 5 ]'

# ---- bad series records: FILE:LINE: what: why, exit 1, no plot left ----
bad() {   # bad REGEX RECORD: a good record, then RECORD on line 2
	printf '{"name":"ok","y":[1]}\n%s\n' "$2" > bad.ndjson
	rm -f bad.svg
	fail_run 1 "^pareto: bad.ndjson:2: $1\$" "bad record: $2" pareto --lines --svg bad.svg bad.ndjson
	if [ -e bad.svg ] || ! no_tmp bad.svg; then t_notok "no plot left after: $2"; fi
}
bad 'series record: missing field "name"' '{"y":[1,2]}'
bad 'series record: field "name" is not a string' '{"name":3,"y":[1,2]}'
bad 'series "a": no "y" \(a series\) and no "hline" \(a reference line\)' '{"name":"a","x":[1]}'
bad 'reference line "a": both "y" \(a series\) and "hline" \(a reference line\)' '{"name":"a","y":[1],"hline":2}'
bad 'series "a": field "x" has 2 elements, "y" has 3' '{"name":"a","x":[1,2],"y":[1,2,3]}'
bad 'series "a": field "y": element 2 is not a finite number' '{"name":"a","y":[1,"2",3]}'
bad 'series "a": field "x": element 1 is not a finite number' '{"name":"a","x":[null,2],"y":[1,2]}'
bad 'series "a": field "y" is not an array' '{"name":"a","y":1}'
bad 'series "a": field "lo" without "hi" \(a band needs both\)' '{"name":"a","y":[1,2],"lo":[0,1]}'
bad 'series "a": field "hi" has 1 elements, "y" has 2' '{"name":"a","y":[1,2],"lo":[0,1],"hi":[2]}'
bad 'reference line "a": field "hline" is not a number' '{"name":"a","hline":"0.5"}'
bad 'reference line "a": field "x" in a reference line \("hline"\)' '{"name":"a","hline":0.5,"x":[1]}'
bad 'series "a": field "step" is not a boolean' '{"name":"a","y":[1],"step":1}'
bad 'series "a": field "panel" is not a string' '{"name":"a","y":[1],"panel":2}'
bad 'series "a": field "x": element 3 \(2\) is below the one before \(5\) in a step series' '{"name":"a","x":[1,5,2],"y":[1,2,3],"step":true}'
bad 'series "ok": a second series of this name' '{"name":"ok","y":[2]}'
printf '{"name":"ok","y":[1]}\n{"name":"b","hline":1,"panel":"p"}\n{"name":"b","hline":2,"panel":"p"}\n' > bad.ndjson
fail_run 1 '^pareto: bad.ndjson:3: reference line "b": a second reference line of this name in panel "p"$' "a reference line twice in a panel" \
	pareto --lines --svg bad.svg bad.ndjson
printf '{"name":"ok","y":[1]}\n{"name":\n' > bad.ndjson
fail_run 1 '^pareto: bad.ndjson:2: ' "a line that is not JSON" pareto --lines --svg bad.svg bad.ndjson
fail_run 1 '^pareto: no series in the input$' "no series" sh -c ': | pareto --lines --svg e.svg'
fail_run 1 '^pareto: nodir/l.svg' "--svg into a missing directory" pareto --lines --svg nodir/l.svg s.ndjson
fail_run 1 '^pareto: missing.ndjson' "a missing file" pareto --lines --svg m.svg missing.ndjson
if [ -w /dev/full ]; then
	fail_run 1 '^pareto: standard output: write error' "--svg - on a full disk" sh -c 'pareto --lines --svg - s.ndjson > /dev/full'
	check "said once" '[ $(wc -l < err) -eq 1 ]'
	fail_run 1 '^pareto: standard output: write error' "a front on a full disk" sh -c 'pareto --svg - front.ndjson > /dev/full'
	check "said once" '[ $(wc -l < err) -eq 1 ]'
fi

# ---- usage ----
fail_run 2 '^pareto: --lines needs --svg FILE$' "--lines without --svg" pareto --lines s.ndjson
fail_run 2 '^pareto: --lines draws a chart: --rank is an output of points$' "--lines --rank" pareto --lines --rank --svg x.svg s.ndjson
fail_run 2 '^pareto: --lines reads series, not points: --skip-bad does not apply$' "--lines --skip-bad" pareto --lines --skip-bad --svg x.svg s.ndjson
fail_run 2 '^pareto: --lines reads series, not points: -u does not apply$' "--lines -u" pareto --lines -u --svg x.svg s.ndjson
fail_run 2 '^pareto: --xlabel goes with --lines' "--xlabel without --lines" pareto --xlabel x --svg x.svg front.ndjson
check "no plot from a usage error" '[ ! -e x.svg ]'
ok_run "--help" pareto --help
check "--help describes the line charts" 'grep -q -- "--lines " out && grep -q -- "--xlabel=TEXT" out && grep -q -- "--ylabel=TEXT" out && grep -q "hline" out'
t_done
