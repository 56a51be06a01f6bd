#!/bin/sh
# cmaes-step benchmark: (1) evaluations to f <= 1e-8 on the sphere and ellipsoid, median of 11
# seeds, beside pycma's medians; (2) the same runs driven through the real binary (state file
# rewritten every generation) for a few seeds, which must give identical counts; (3) the time of
# one ask + tell at n = 16 and 128; (4) the weight maps on a merge-like objective.
# The library runs go through build/rel/tests/test_cma's bench mode (process start-up, ~15 ms a
# call here, would dominate the ask/tell loop otherwise).
set -u
top=${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$top/build/rel/tests/test_cma
[ -x "$T" ] || { echo "cmaes: $T is not built (make)"; exit 1; }
W=$(mktemp -d "${BENCH_DIR:-/tmp}/cmaes.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
SEEDS="1 2 3 4 5 6 7 8 9 10 11"
CLI_SEEDS=${CMAES_BENCH_CLI_SEEDS:-1 2 3}
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# pycma 4.4.0 (the reference Python CMA-ES), default options (population 4 + floor(3 ln n),
# active covariance update), x0 = 1, sigma0 = 0.5, stopped at f <= 1e-8: the median number of
# evaluations over 11 seeds. A correct CMA-ES with the same defaults lands within about 15%.
ref() {
	case $1-$2 in
	sphere-8) echo 1080 ;; sphere-16) echo 2196 ;; sphere-32) echo 3976 ;;
	ellipsoid-8) echo 2760 ;; ellipsoid-16) echo 8568 ;; ellipsoid-32) echo 30828 ;;
	esac
}

echo "## cmaes-step: evaluations to f ≤ 1e-8 (median of 11 seeds, x0 = (1,…,1), σ0 = 0.5)"
echo
echo "| function | n | λ | recycle | pycma 4.4.0 | difference | goal ±15% | reached |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for f in sphere ellipsoid; do
	for n in 8 16 32; do
		for s in $SEEDS; do "$T" bench conv $f $n:$s; done > runs
		m=$(median < runs)
		r=$(ref $f $n)
		ok=$(grep -cv '^-1$' runs)
		lam=$(awk -v n=$n 'BEGIN { print 4 + int(3 * log(n)) }')
		awk -v f=$f -v n=$n -v l=$lam -v m="$m" -v r=$r -v ok=$ok 'BEGIN {
			d = 100 * (m - r) / r
			printf "| %s | %d | %d | %d | %d | %+.1f%% | %s | %d/11 |\n", f, n, l, m, r, d,
			       (d <= 15 && d >= -15) ? "met" : "MISSED", ok }'
	done
done

# The evaluator of the binary-driven runs: "fitness" = f(x) added to each candidate record.
evaluate() {
	awk -v fn="$1" '{ t = substr($0, index($0, "\"x\":[") + 5); t = substr(t, 1, index(t, "]") - 1)
	       n = split(t, a, ","); f = 0
	       for (j = 1; j <= n; j++) f += (fn == "ellipsoid" && n > 1 ? 10 ^ (6 * (j - 1) / (n - 1)) : 1) * a[j] * a[j]
	       sub(/}$/, sprintf(",\"fitness\":%.17g}", f)); print }'
}
ones() { awk -v n=$1 'BEGIN { for (i = 1; i <= n; i++) printf "%s1", (i > 1 ? "," : "") }'; }

echo
echo "Driven through the binary (\`cmaes-step ask\` | evaluator | \`cmaes-step tell\`, state file"
echo "rewritten every generation), seeds $CLI_SEEDS:"
echo
echo "| function | n | binary: evaluations | library: evaluations | identical |"
echo "| --- | --- | --- | --- | --- |"
for fn in sphere:8 ellipsoid:8; do
	f=${fn%:*} n=${fn#*:}
	cli="" lib=""
	for s in $CLI_SEEDS; do
		cmaes-step init --dim $n --x0 "$(ones $n)" --sigma 0.5 --map none --minimize --ftarget 1e-8 \
			--seed $s > s.json
		while cmaes-step ask -q s.json > c.ndjson; do
			evaluate $f < c.ndjson | cmaes-step tell s.json > /dev/null || break
		done
		cli="$cli $(cmaes-step status s.json | sed 's/.*"evals":\([0-9]*\).*/\1/')"
		lib="$lib $("$T" bench conv $f $n:$s)"
	done
	same=no
	[ "$cli" = "$lib" ] && same=yes
	echo "| $f | $n |$cli |$lib | $same |"
done

echo
echo "Time of one generation's \`cmaes-step ask\` + \`cmaes-step tell\` (process start, state read and"
echo "written, default λ; mean of 5 generations):"
echo
echo "| n | λ | state file | ask + tell |"
echo "| --- | --- | --- | --- |"
now() { date +%s%N; }
for n in 16 128; do
	cmaes-step init --dim $n --seed 1 > t.json
	total=0
	for g in 1 2 3 4 5; do
		t0=$(now); cmaes-step ask t.json > c.ndjson; t1=$(now)
		evaluate sphere < c.ndjson > sc.ndjson
		t2=$(now); cmaes-step tell t.json < sc.ndjson > /dev/null; t3=$(now)
		total=$((total + t1 - t0 + t3 - t2))
	done
	lam=$(awk -v n=$n 'BEGIN { print 4 + int(3 * log(n)) }')
	echo "| $n | $lam | $(wc -c < t.json) bytes | $((total / 5000000)) ms |"
done

# Weight maps: regret (optimum − true fitness of the best found) on a merge-like objective: four
# tasks, each score 1 − (w − c_t)ᵀH_t(w − c_t) over merge weights w, fitness = mean score;
# dense: the c_t inside the simplex, sparse: half their entries 0; coarse: scores rounded to 1/200.
echo
echo "## Weight maps on a merge-like objective (n = 16, median regret over 11 seeds; the uniform"
echo "soup's regret is about 0.3)"
echo
echo "| objective | budget | simplex | softmax | box | random search |"
echo "| --- | --- | --- | --- | --- | --- |"
for row in dense:fine:480 dense:coarse:480 sparse:fine:480 sparse:coarse:480 dense:fine:1500 sparse:fine:1500; do
	obj=${row%%:*} rest=${row#*:}
	q=${rest%:*} budget=${rest#*:}
	line="| $obj, $q | $budget |"
	for m in simplex softmax box random; do
		line="$line $(for s in $SEEDS; do "$T" bench merge $m $obj $q 16 $s $budget; done | median) |"
	done
	echo "$line"
done
echo
echo "Default map: simplex (lowest median regret in every row above; softmax cannot reach a zero"
echo "weight, which shows on the sparse objective; box converges slower at its quadratic zones)."
