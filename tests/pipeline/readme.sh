#!/bin/sh
# The README's recipe for real checkpoints and an external harness, run verbatim but for its
# scale (--budget 150 → 12, -j 8 → 2): Hugging Face Trainer checkpoint directories
# (runA/checkpoint-500, ...), lm_eval a stand-in on PATH (tests/pipeline/lm_eval) that scores
# the model it is given, with mmlu a group of two subtasks.
. "${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
mkdir bin
cp "$TOP/tests/pipeline/lm_eval" bin/lm_eval && chmod +x bin/lm_eval
ln -s "$TOP/pipelines" pipelines
PATH=$T_DIR/bin:$PATH
i=0
for d in runA/checkpoint-500 runB/checkpoint-500 runC/checkpoint-1000; do
	i=$((i + 1))
	mkdir -p "$(dirname "$d")"
	st-gen --seed $i --scale 0.5 -t bf16 --llama hidden=16,layers=1,vocab=256,ff=32,heads=2,kv=1 -o "$d"
done
# The block of indented lines after the section's heading that runs pipelines/optimize.
awk '/^## Real checkpoints and an external harness/ { on = 1; next } /^## / { on = 0 }
	on && /^    / { print substr($0, 5); got = 1; next } on && got && !/^    / { exit }' "$TOP/README.md" |
	sed -e 's/--budget [0-9]*/--budget 12/' -e 's/-j [0-9]*/-j 2/' > recipe.sh
check "the README has the recipe" 'grep -q "^pipelines/optimize " recipe.sh && grep -q -- "--harness" recipe.sh'
ok_run "the README's harness recipe runs" sh -e recipe.sh
check "...names the Trainer checkpoints from their paths (parents only where needed)" \
	'[ "$(jq -c "[.ckpts[].name]" work/run.json)" = "[\"runA-checkpoint-500\",\"runB-checkpoint-500\",\"checkpoint-1000\"]" ]'
check "...counts mmlu once, as its group, and gsm8k by its strict metric" \
	'[ "$(jq -c ".scores | keys" work/answer.json)" = "[\"gsm8k\",\"mmlu\"]" ] &&
	 [ "$(jq -r ".eval.metric.gsm8k" work/baselines/single-0.json)" = "exact_match,strict-match" ]'
check "...delivers the model of its report" 'ckpt-cat --check work/answer && grep -q "^- answer model: " work/report.md'
check "...and leaves no merged checkpoint in the scratch directory" '[ -z "$(ls work/scratch)" ]'
t_done
