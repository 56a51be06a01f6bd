#!/bin/sh
# Every program on small inputs under valgrind (memcheck, full leak check): good runs and a few
# bad inputs, which must end with their usual status and no invalid access, uninitialised value or
# definite/possible leak (valgrind's error status 9 otherwise). Skipped without valgrind and under
# SAN=1 (sanitized programs do not run under valgrind).
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

if ! command -v valgrind > /dev/null 2>&1 || [ "${SAN:-}" = 1 ]; then
	echo "ok 1 # skip valgrind is not installed, or SAN=1"
	exit 0
fi
export OPENBLAS_NUM_THREADS=1
# vg STATUS WHAT CMD...: CMD under valgrind exits STATUS with no error found
vg() {
	want=$1 what=$2; shift 2
	valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,possible \
		--log-file=vg.log "$@" > out 2> err
	rc=$?
	if [ $rc -eq $want ]; then t_ok "valgrind: $what"
	elif [ $rc -eq 9 ]; then t_notok "valgrind: $what" "valgrind found errors:" "$(head -n 12 vg.log)"
	else t_notok "valgrind: $what" "exit $rc, wanted $want: $*"; fi
}

gen -t bf16 --llama hidden=16,layers=1,vocab=256,ff=32,heads=2 -o m.safetensors
gen --seed 2 -t bf16 --llama hidden=16,layers=1,vocab=256,ff=32,heads=2 -o m2.safetensors
head -c 3000 m.safetensors > cut.safetensors
printf '{"text":"hello world"}\n{"text":"merge"}\n' > t.dev.jsonl
printf '{"prompt":"a","target":"b"}\n{"text":"mixed"}\n' > bad.jsonl
printf '{"prompt_ids":[1,5,9,200],"choices_ids":[[3],[4,5],[6,7,8]],"answer":1}\n{"prompt_ids":[2],"choices_ids":[[30,31],[40]],"answer":0}\n' > mc.jsonl

vg 0 "ckpt-cat --check of a file" ckpt-cat --check m.safetensors
mkfifo pipe
cat m.safetensors > pipe &
vg 0 "ckpt-cat -t f32 -o from a pipe" ckpt-cat -q -t f32 -o c.safetensors - < pipe
vg 1 "ckpt-cat of a truncated file (exit 1)" ckpt-cat --check cut.safetensors
cat m2.safetensors > pipe &
vg 0 "wmerge -o from a file and a pipe" wmerge -q -w 0.3,0.7 -o w.safetensors m.safetensors - < pipe
vg 0 "wmerge -m ties -o a directory" wmerge -q -m ties -b m.safetensors -d 0.5 -w 0.5,0.5 -o wd m.safetensors m2.safetensors
vg 0 "evalrun of a text task" evalrun -q -t t.dev.jsonl m.safetensors
vg 0 "evalrun on 2 threads (the pool's workers joined at exit)" evalrun -q -j 2 -t t.dev.jsonl m.safetensors
vg 0 "evalrun of a Qwen3 (q/k norms, bf16 mapped), multiple choice" evalrun -q -j 2 -t mc.jsonl "$TOP/tests/conformance/qwen3"
vg 1 "evalrun of a task mixing kinds (exit 1)" evalrun -q -t bad.jsonl m.safetensors
vg 0 "cmaes-step init" cmaes-step init --names a,b --popsize 4 --seed 2
cp out state.json
vg 0 "cmaes-step ask" cmaes-step ask state.json
awk '{ sub(/}$/, ",\"fitness\":" NR "}"); print }' out > scored.ndjson
vg 0 "cmaes-step tell" cmaes-step tell state.json scored.ndjson
printf '{"id":"p","scores":{"a":1,"b":2}}\n{"id":"q","scores":{"a":2,"b":1}}\n{"id":"r","scores":{"a":0,"b":0}}\n' > sc.ndjson
vg 0 "pareto --hv --svg" pareto --hv --svg front.svg sc.ndjson
vg 0 "task-gen -o" task-gen -o tasks --train 3 --dev 3 --test 3 add
vg 0 "ckpt-train, one step" ckpt-train -q -t t.dev.jsonl --config hidden=8,layers=1,heads=2,kv-heads=1,ff=8,vocab=256 -n 1 -o tr.safetensors
t_done
