#!/bin/sh
# tokenize benchmark (issue 13): encoding tokens per second of recycle's tokenizer beside the
# reference port of transformers.js (@lenml/tokenizers in build/npm, from `make deps`), on the
# Llama 3, Qwen3 and SentencePiece-style (Mistral vocabulary) tokenizers and a generated corpus
# of 60,000 strings. recycle: wall seconds of `tokenize` on the corpus minus those of loading the
# tokenizer alone (best of 3 each); reference: its own timer around the encode calls only (the
# load is not counted), best of 2. Peak RSS is recycle's, load included.
set -u
top=${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
NPM=$top/build/npm
H=$top/tests/helpers
M=$NPM/node_modules/@lenml
if ! command -v node > /dev/null || ! [ -e "$M/tokenizers/package.json" ]; then
	echo "tokenize: the npm references are not installed (make deps)"; exit 1
fi
W=$(mktemp -d "${BENCH_DIR:-/tmp}/tokenize.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
tok-corpus 60000 3 > corpus
: > empty

# best of 3 wall seconds and peak RSS (KiB) of a command
run() {
	best="" rss=""
	for i in 1 2 3; do
		/usr/bin/time -f "%e %M %x" -o rs.txt sh -c "$1" || { echo "failed: $1" >&2; exit 1; }
		set -- "$1" $(cat rs.txt)
		if [ -z "$best" ] || [ "$(awk "BEGIN { print ($2 < $best) }")" = 1 ]; then best=$2 rss=$3; fi
		set -- "$1"
	done
	echo "$best $rss"
}

echo "### tokenize — encoding speed, $(wc -l < corpus) strings, $(wc -c < corpus) bytes of NDJSON"
echo
echo "| tokenizer | tokens | recycle load s | recycle encode s | recycle tokens/s | recycle peak RSS MiB | reference encode s | reference tokens/s | speedup |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for t in llama3 qwen3 llama2; do
	d=$M/tokenizer-$t/models
	tokenize "$d" corpus > ids
	ntok=$(sed 's/.*"ids":\[\([^]]*\)\]}$/\1/' ids | tr ',' '\n' | grep -c .)
	set -- $(run "tokenize '$d' empty > /dev/null")
	load=$1
	set -- $(run "tokenize '$d' corpus > /dev/null")
	all=$1 rss=$2
	rbest=""
	for i in 1 2; do
		r=$(node "$H/tok-ref.cjs" "$NPM" "$d" bench < corpus | sed 's/.*"seconds":\([0-9.e-]*\).*/\1/')
		if [ -z "$rbest" ] || [ "$(awk "BEGIN { print ($r < $rbest) }")" = 1 ]; then rbest=$r; fi
	done
	awk -v t=$t -v n=$ntok -v l=$load -v a=$all -v r=$rbest -v rss=$rss 'BEGIN {
		e = a - l; if (e < 0.01) e = 0.01
		printf "| %s | %d | %.2f | %.2f | %.0f | %.1f | %.2f | %.0f | %.1fx |\n", t, n, l, e, n / e, rss / 1024, r, n / r, (n / e) / (n / r) }'
done
echo
echo "recycle's encode seconds include reading and writing the NDJSON records."
