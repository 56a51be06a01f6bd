#!/bin/sh
# The inputs that broke a fuzz target (tests/fuzz/regress/TARGET/), replayed through the programs
# that read them in the normal build — test_fuzz_regress replays them through the targets
# themselves — and the bugs the hardening work found outside the fuzzer. A program may refuse an
# input (exit 1 with "prog: …") but never die by a signal, and a state cmaes-step writes is one
# it reads back.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"
R=$TOP/tests/fuzz/regress

# refuse_or_take WHAT CMD...: CMD exits 0, or 1 with a message naming the program
refuse_or_take() {
	what=$1; shift
	"$@" > out 2> err; rc=$?
	if [ $rc -eq 0 ] || { [ $rc -eq 1 ] && grep -q "^${1##*/}: " err; }; then t_ok "$what"
	else t_notok "$what" "exit $rc: $*"; fi
}

# Safetensors inputs: ckpt-cat reads them as a file and as a stream.
for f in "$R"/st_file/* "$R"/st_stream/*; do
	[ -f "$f" ] || continue
	n=${f#"$R"/}
	cp "$f" in.safetensors
	refuse_or_take "$n: ckpt-cat --check of the file" ckpt-cat --check in.safetensors
	refuse_or_take "$n: ckpt-cat of the stream" sh -c 'exec ckpt-cat - < "$1" > /dev/null' sh "$f"
done

# cmaes-step states: ask and tell three generations; what tell writes, ask reads.
for f in "$R"/cma_state/*; do
	[ -f "$f" ] || continue
	n=${f#"$R"/}
	cp "$f" state.json
	# a state of a few KB is refused or read without allocating for its claims
	if [ "${SAN:-}" != 1 ] && [ -x /usr/bin/time ]; then
		/usr/bin/time -f %M -o rss cmaes-step ask state.json > /dev/null 2>&1
		check "$n: cmaes-step ask peaks at $(tail -n 1 rss) KiB (at most 64 MiB + its size)" \
			'[ "$(tail -n 1 rss)" -le $((65536 + $(wc -c < "$f") / 1024)) ]'
		cp "$f" state.json
	fi
	ok=1 g=0
	while [ $g -lt 3 ] && [ $ok = 1 ]; do
		cmaes-step ask state.json > cand.ndjson 2> err; rc=$?
		if [ $rc -eq 3 ] || { [ $rc -eq 1 ] && [ $g -eq 0 ] && grep -q "^cmaes-step: " err; }; then break; fi
		[ $rc -eq 0 ] || { ok=0; t_notok "$n: cmaes-step ask after $g tells" "exit $rc"; break; }
		awk '{ sub(/}$/, ",\"fitness\":" (NR == 2 ? "null" : -NR) "}"); print }' cand.ndjson > scored.ndjson
		cmaes-step tell state.json scored.ndjson > /dev/null 2> err; rc=$?
		[ $rc -eq 0 ] || { [ $rc -eq 1 ] && grep -q "^cmaes-step: " err; } || { ok=0; t_notok "$n: cmaes-step tell" "exit $rc"; }
		[ $rc -eq 0 ] || break
		g=$((g + 1))
	done
	[ $ok = 1 ] && t_ok "$n: cmaes-step refuses it or steps it, and reads back what it wrote ($g tells)"
done

# Task files and configs, when there are any: task-gen --check and evalrun's config reader.
for f in "$R"/task/*; do
	[ -f "$f" ] || continue
	cp "$f" regress.jsonl
	refuse_or_take "${f#"$R"/}: task-gen --check" task-gen --check regress.jsonl
	refuse_or_take "${f#"$R"/}: task-gen --check -V 300" task-gen --check -V 300 regress.jsonl
done
for f in "$R"/config/*; do
	[ -f "$f" ] || continue
	mkdir -p cfgdir && cp "$f" cfgdir/config.json && st-gen --tensor x:F32:1 -o cfgdir/model.safetensors > /dev/null
	printf '{"text_ids":[1,2]}\n' > t.jsonl
	refuse_or_take "${f#"$R"/}: evalrun's config reader" evalrun -q -t t.jsonl cfgdir
done

# Found while making the seed corpus: states that `cmaes-step init` writes with a population of 2
# or 3 (cmu = 0) or --tolfun 0 / --tolx 0 could not be read back by ask ("out of range": cma.c's
# jnum treated "non-negative" as "positive").
for o in "--popsize 2" "--popsize 3" "--tolfun 0" "--tolx 0"; do
	cmaes-step init --dim 2 $o > s.json
	ok_run "cmaes-step init $o: ask reads the state" cmaes-step ask s.json
done
t_done
