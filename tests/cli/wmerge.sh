#!/bin/sh
# wmerge: exact results where the arithmetic is exact (weights (1,0,…), the midpoint, each
# method's identities), determinism, every CKPT form (sharded directory, zstd, stdin), directory
# output, provenance, and every bad option or input (status, message, nothing left behind).
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

same_data() { data "$1" > .d1; data "$2" > .d2; cmp -s .d1 .d2; }
listing() { find . ! -name . -prune ! -name out ! -name err ! -name .d1 ! -name .d2 | sort; }

LL=hidden=32,layers=2,vocab=64,ff=48
for s in 1 2 3 4; do gen --seed $s -t bf16 --llama $LL -o f$s.safetensors; done
gen --seed 9 --tensor ids:I32:16 --tensor mask:BOOL:4x4 -o ints.safetensors
for s in 1 2 3 4; do ckpt-cat -q f$s.safetensors ints.safetensors -o c$s.safetensors || exit 1; done

ok_run "--help" wmerge --help
for o in --weights --method --base --density --seed --no-normalize --allow-negative --dtype --acc \
         --threads --output --donor --shard-size --zstd --quiet --version; do
	grep -q -- "$o" out || t_notok "--help mentions $o"
done
ok_run "--version" wmerge --version
check "--version names the program" 'grep -q "^wmerge (recycle) " out'

# ---- linear ----
ok_run "weights 1,0,0" wmerge -w 1,0,0 c1.safetensors c2.safetensors c3.safetensors -o r100.safetensors
check "weights (1,0,0) reproduce input 1 bit for bit" 'same_data c1.safetensors r100.safetensors'
ok_run "weights 0,0,5" wmerge -w 0,0,5 c1.safetensors c2.safetensors c3.safetensors -o r005.safetensors
check "weights (0,0,5) reproduce input 3 bit for bit" 'same_data c3.safetensors r005.safetensors'
check "integer tensors copied" 'ckpt-cat -q -s ids -s mask r100.safetensors > a && ckpt-cat -q -s ids -s mask ints.safetensors > b && same_data a b'
check "provenance: method, inputs, weights" 'hdr r005.safetensors | grep -q "\"recycle.merge\":\"{\\\\\"method\\\\\":\\\\\"linear\\\\\",\\\\\"inputs\\\\\":\[\\\\\"c1\\\\\",\\\\\"c2\\\\\",\\\\\"c3\\\\\"\],\\\\\"weights\\\\\":\[0.0,0.0,5.0\],\\\\\"normalize\\\\\":true"'
check "config carried from the first input" 'hdr r100.safetensors | grep -q "\"config\":\"{\\\\\"architectures\\\\\""'

# (0.5, 0.5) into f32: the exact midpoint, decoded here from the bits.
ok_run "midpoint to f32" wmerge -w 0.5,0.5 -t f32 f1.safetensors f2.safetensors -o mid.safetensors
data f1.safetensors | od -An -v -tu2 | tr -s ' ' '\n' | grep . > a
data f2.safetensors | od -An -v -tu2 | tr -s ' ' '\n' | grep . > b
data mid.safetensors | od -An -v -tu4 | tr -s ' ' '\n' | grep . > m
paste a b m | awk '
	function bf(u,  e, v) { e = int(u / 128) % 256; v = (e ? 128 + u % 128 : u % 128) * 2 ^ ((e ? e : 1) - 134); return u >= 32768 ? -v : v }
	function f32(u,  e, v) { e = int(u / 8388608) % 256; v = (e ? 8388608 + u % 8388608 : u % 8388608) * 2 ^ ((e ? e : 1) - 150); return u >= 2147483648 ? -v : v }
	{ n++; if (f32($3) != (bf($1) + bf($2)) / 2) bad++ }
	END { print n, bad + 0 }' > res
check "midpoint is exact for every element ($(cat res))" '[ "$(cut -d" " -f2 res)" = 0 ] && [ "$(cut -d" " -f1 res)" -gt 10000 ]'

# st-gen values are scale × u rounded once (default scale 0.02), so --scale 0.04 is exactly twice.
gen --seed 1 -t bf16 --llama $LL --scale 0.04 -o f1x2.safetensors
ok_run "--no-normalize 2,0" wmerge --no-normalize -w 2,0 f1.safetensors f2.safetensors -o twice.safetensors
check "--no-normalize: 2 × input 1" 'same_data f1x2.safetensors twice.safetensors'
ok_run "normalized 2,0" wmerge -w 2,0 f1.safetensors f2.safetensors -o norm.safetensors
check "normalized: input 1" 'same_data f1.safetensors norm.safetensors'
ok_run "--allow-negative" wmerge --allow-negative --no-normalize -w 3,-1 -t f32 f1.safetensors f1x2.safetensors -o neg.safetensors
ok_run "f32 of input 1" ckpt-cat -q -t f32 f1.safetensors -o f1f32.safetensors
check "3 x - 2 x = x" 'same_data f1f32.safetensors neg.safetensors'

# Mixed float dtypes: each input converted on the way in, the output in the first input's dtype
# unless -t says otherwise. BF16 → F32 and F16 → F32 are exact, so a converted input merges to the
# same bytes as the original.
ckpt-cat -q -t f32 c2.safetensors -o c2f32.safetensors
ckpt-cat -q -t f16 c3.safetensors -o c3f16.safetensors
ckpt-cat -q -t f32 c3f16.safetensors -o c3f16f32.safetensors
ckpt-cat -q -t f32 c1.safetensors -o c1f32.safetensors
wmerge -w 0.2,0.3,0.5 c1.safetensors c2.safetensors c3.safetensors > m_same
ok_run "BF16 + F32 + BF16" wmerge -w 0.2,0.3,0.5 c1.safetensors c2f32.safetensors c3.safetensors -o m_mix.safetensors
check "same bytes as all BF16" 'same_data m_same m_mix.safetensors'
check "the first input's dtype (BF16), integers kept" 'ckpt-cat -l m_mix.safetensors | grep embed_tokens | grep -q "\"BF16\"" && ckpt-cat -l m_mix.safetensors | grep "\"ids\"" | grep -q "\"I32\""'
ok_run "F32 first: F32 out" wmerge -w 0.3,0.2,0.5 c2f32.safetensors c1.safetensors c3.safetensors -o m_f32.safetensors
check "the first input's dtype (F32)" 'ckpt-cat -l m_f32.safetensors | grep embed_tokens | grep -q "\"F32\""'
ok_run "-t bf16 overrides it" wmerge -t bf16 -w 0.3,0.2,0.5 c2f32.safetensors c1.safetensors c3.safetensors -o m_tb.safetensors
wmerge -w 0.3,0.2,0.5 c2.safetensors c1.safetensors c3.safetensors > m_tb_ref
check "-t bf16: same bytes as all BF16" 'same_data m_tb_ref m_tb.safetensors'
ok_run "BF16 + F32 + F16, -j 3" wmerge -j 3 -w 0.2,0.3,0.5 c1.safetensors c2f32.safetensors c3f16.safetensors -o m3.safetensors
wmerge -w 0.2,0.3,0.5 c1.safetensors c2.safetensors c3f16f32.safetensors -t bf16 > m3_ref
check "F16 input: same bytes as its exact F32 widening" 'same_data m3_ref m3.safetensors'
ok_run "TIES: F32 input and F32 base" wmerge -m ties -d 0.5 --base c1f32.safetensors -w 0.5,0.5 c4.safetensors c2f32.safetensors -o t_mix.safetensors
wmerge -m ties -d 0.5 --base c1.safetensors -w 0.5,0.5 c4.safetensors c2.safetensors > t_ref
check "TIES mixed: same bytes as all BF16" 'same_data t_ref t_mix.safetensors'
ok_run "SLERP of BF16 and F32" wmerge -m slerp -w 0.3 c1.safetensors c2f32.safetensors -o sl_mix.safetensors
wmerge -m slerp -w 0.3 c1.safetensors c2.safetensors > sl_ref
check "SLERP mixed: same bytes as all BF16" 'same_data sl_ref sl_mix.safetensors'

# Option spellings (recycle(7)): the new ones and the old ones kept for scripts agree.
wmerge -D f32 -w 1,1 c1.safetensors c2.safetensors > sp1; wmerge -t f32 -w 1,1 c1.safetensors c2.safetensors > sp2
check "-D and the old -t: same bytes, F32" 'cmp -s sp1 sp2 && ckpt-cat -l sp1 | grep embed_tokens | grep -q "\"F32\""'
wmerge -m ties -d 0.5 --base c4.safetensors -w 1,1 c1.safetensors c2.safetensors > sp3
wmerge -m ties -d 0.5 -b c4.safetensors -w 1,1 c1.safetensors c2.safetensors > sp4
check "--base and the old -b: same bytes" 'cmp -s sp3 sp4 && [ -s sp3 ]'

# Determinism: same command, same bytes; any -j, any --acc for an exact merge.
wmerge -w 0.2,0.3,0.5 c1.safetensors c2.safetensors c3.safetensors > s1
wmerge -w 0.2,0.3,0.5 -j 3 c1.safetensors c2.safetensors c3.safetensors > s2
check "same bytes twice and with -j 3" 'cmp -s s1 s2 && [ -s s1 ]'
# The default -j is the cores wmerge may run on: taskset gives it 1 and 2 of them.
same_j=1
for j in 1 2 5 8; do wmerge -j $j -w 0.2,0.3,0.5 c1.safetensors c2.safetensors c3.safetensors | cmp -s s1 - || same_j=0; done
check "same bytes with -j 1, 2, 5, 8" '[ $same_j = 1 ]'
wmerge -m ties -d 0.3 --base c4.safetensors -w 0.2,0.3,0.5 -j 1 c1.safetensors c2.safetensors c3.safetensors > tj1
wmerge -m ties -d 0.3 --base c4.safetensors -w 0.2,0.3,0.5 -j 7 c1.safetensors c2.safetensors c3.safetensors > tj7
check "TIES: same bytes with -j 1 and -j 7" 'cmp -s tj1 tj7 && [ -s tj1 ]'
if command -v taskset > /dev/null && taskset -c 0 true 2> /dev/null; then
	taskset -c 0 wmerge -w 0.2,0.3,0.5 c1.safetensors c2.safetensors c3.safetensors > sd1
	check "default -j on one core: same bytes" 'cmp -s s1 sd1'
	if [ "$(nproc --all)" -ge 2 ]; then
		taskset -c 0,1 wmerge -w 0.2,0.3,0.5 c1.safetensors c2.safetensors c3.safetensors > sd2
		check "default -j on two cores: same bytes" 'cmp -s s1 sd2'
	fi
fi
ok_run "-t f16 --acc f64" wmerge -w 1,1 -t f16 --acc f64 c1.safetensors c2.safetensors -o h.safetensors
check "f16 output" 'ckpt-cat -l h.safetensors | grep "embed_tokens" | grep -q "\"F16\"" && ckpt-cat -l h.safetensors | grep "\"ids\"" | grep -q "\"I32\""'

# ---- the other methods: identities that hold exactly ----
B=c4.safetensors
ok_run "task-arithmetic 1,0" wmerge -m task-arithmetic --base $B --acc f64 -w 1,0 c1.safetensors c2.safetensors -o ta.safetensors
check "task-arithmetic (1,0): base + (θ1 - base) = θ1" 'same_data c1.safetensors ta.safetensors'
ok_run "ties -d 1 1,0" wmerge -m ties -d 1 --base $B --acc f64 -w 1,0 c1.safetensors c2.safetensors -o ti.safetensors
check "ties density 1, (1,0): θ1" 'same_data c1.safetensors ti.safetensors'
ok_run "dare-linear -d 1" wmerge -m dare-linear -d 1 --base $B -w 0.3,0.7 c1.safetensors c2.safetensors -o dl1.safetensors
ok_run "task-arithmetic" wmerge -m task-arithmetic --base $B -w 0.3,0.7 c1.safetensors c2.safetensors -o ta2.safetensors
check "dare-linear at density 1 = task-arithmetic" 'same_data dl1.safetensors ta2.safetensors'
ok_run "dare-ties -d 1" wmerge -m dare-ties -d 1 --base $B -w 0.3,0.7 c1.safetensors c2.safetensors -o dt1.safetensors
ok_run "ties -d 1" wmerge -m ties -d 1 --base $B -w 0.3,0.7 c1.safetensors c2.safetensors -o ti1.safetensors
check "dare-ties at density 1 = ties at density 1" 'same_data dt1.safetensors ti1.safetensors'
check "ties differs from task-arithmetic" '! same_data ti1.safetensors ta2.safetensors'
wmerge -m dare-ties -d 0.3 -s 5 --base $B -w 0.3,0.7 c1.safetensors c2.safetensors > d5a
wmerge -m dare-ties -d 0.3 -s 5 -j 2 --base $B -w 0.3,0.7 c1.safetensors c2.safetensors > d5b
wmerge -m dare-ties -d 0.3 -s 6 --base $B -w 0.3,0.7 c1.safetensors c2.safetensors > d6
check "dare: same seed same bytes (any -j), another seed other bytes" 'cmp -s d5a d5b && ! same_data d5a d6'
check "dare provenance" 'hdr d6 | grep -q "density...0\.3,..seed...6,"'
wmerge -m ties -d 0.2 --base $B -w 0.3,0.7 c1.safetensors c2.safetensors > tA
wmerge -m ties -d 0.2 -j 2 --base $B -w 0.3,0.7 c1.safetensors c2.safetensors > tB
check "ties with trimming: same bytes for any -j" 'cmp -s tA tB && [ -s tA ]'
ok_run "slerp t=0" wmerge -m slerp -w 0 c1.safetensors c2.safetensors -o sl0.safetensors
ok_run "slerp t=1" wmerge -m slerp -w 1 c1.safetensors c2.safetensors -o sl1.safetensors
check "slerp t=0 gives input 1, t=1 input 2" 'same_data c1.safetensors sl0.safetensors && same_data c2.safetensors sl1.safetensors'
ok_run "slerp two weights" wmerge -m slerp -w 1,3 c1.safetensors c2.safetensors -o slw.safetensors
ok_run "slerp t" wmerge -m slerp -w 0.75 c1.safetensors c2.safetensors -o slt.safetensors
check "slerp weights (1,3) = t 0.75" 'same_data slw.safetensors slt.safetensors'

# ---- every CKPT form ----
for s in 1 2; do gen --seed $s -t bf16 --llama $LL --shard-size 20KB -o dir$s; done
check "sharded fixture" '[ -f dir1/model.safetensors.index.json ] && [ $(ls dir1 | grep -c "^model-0") -gt 1 ]'
wmerge -w 0.25,0.75 f1.safetensors f2.safetensors > ref
ok_run "sharded directory inputs" wmerge -w 0.25,0.75 dir1 dir2 -o fromdir.safetensors
check "sharded directories = files" 'same_data ref fromdir.safetensors'
zstd -q f1.safetensors -o f1.safetensors.zst && cp f1.safetensors.zst f1z
ok_run "zstd input" wmerge -w 0.25,0.75 f1.safetensors.zst f2.safetensors -o fromz.safetensors
check "zstd input = plain" 'same_data ref fromz.safetensors'
ok_run "zstd detected by magic, not name" wmerge -w 0.25,0.75 f1z f2.safetensors -o fromz2.safetensors
check "zstd by magic = plain" 'same_data ref fromz2.safetensors'
cat f1.safetensors | wmerge -w 0.25,0.75 - f2.safetensors > fromstdin
check "stdin input = file" 'same_data ref fromstdin'
echo '{"id":"g1","weights":{"f2":0.75,"stdin":0.25}}' > w.json
cat f1.safetensors | wmerge -w @w.json - f2.safetensors > fromstdin2
check "weights keyed by name, stdin named stdin" 'same_data ref fromstdin2'
echo '{"weights":{"dir2":3,"dir1":1}}' | wmerge -w @- dir1 dir2 > fromjson
check "@- : an object keyed by directory name" 'same_data ref fromjson'
echo '{"weights":[1,3]}' > wa.json
ok_run "@FILE array" wmerge -w @wa.json f1.safetensors f2.safetensors -o fromarr.safetensors
check "@FILE array = list" 'same_data ref fromarr.safetensors'
ok_run "-z output" wmerge -z -w 0.25,0.75 f1.safetensors f2.safetensors -o z.safetensors.zst
check "-z output decompresses to the same data" 'zstd -dq z.safetensors.zst -o unz.safetensors && same_data ref unz.safetensors'
# Streams in the same (non-file) order as each other, a mapped file in any order.
gen --seed 1 --tensor x:F32:8x8 --tensor y:F32:4 -o xy.safetensors
gen --seed 2 --tensor y:F32:4 --tensor x:F32:8x8 -o yx.safetensors
zstd -q xy.safetensors -o xy.safetensors.zst
cat yx.safetensors | wmerge -w 1,1 xy.safetensors - > o1
check "a stream sets the output order" 'ckpt-cat -l o1 | head -1 | grep -q "\"name\":\"y\""'

# ---- directory output ----
gen --seed 3 -t bf16 --llama $LL -o donor && echo '{"tok":1}' > donor/tokenizer.json && echo '{"g":1}' > donor/generation_config.json
ok_run "-o DIR with shards and --donor" wmerge -w 0.25,0.75 --donor donor --shard-size 30KB f1.safetensors f2.safetensors -o outdir
check "shards, index, config, tokenizer copied" '[ -f outdir/model.safetensors.index.json ] && [ -f outdir/config.json ] && cmp -s donor/tokenizer.json outdir/tokenizer.json && cmp -s donor/generation_config.json outdir/generation_config.json'
ok_run "read the directory back" wmerge -w 1 outdir -o back.safetensors
check "directory output holds the merge" 'same_data ref back.safetensors'
check "directory has no temporaries beside it" '[ -z "$(ls -A | grep -i tmp)" ]'

# ---- usage errors (exit 2) ----
F="f1.safetensors f2.safetensors"
fail_run 2 "no weights given" "no -w" wmerge $F
fail_run 2 "no checkpoint" "no CKPT" wmerge -w 1
fail_run 2 "2 weights for 3 checkpoints" "count differs" wmerge -w 0.5,0.5 $F f3.safetensors
fail_run 2 "more weights than the 2" "too many weights" wmerge -w 1,2,3 $F
fail_run 2 "not a finite number" "NaN weight" wmerge -w nan,1 $F
fail_run 2 "not a finite number" "Inf weight" wmerge -w 1,inf $F
fail_run 2 "not a comma-separated" "bad list" wmerge -w 1,,2 $F
fail_run 2 "weight 2 is negative.*--allow-negative" "negative weight" wmerge -w 1,-1 $F
fail_run 2 "cannot be normalized" "sum 0" wmerge --allow-negative -w 1,-1 $F
fail_run 2 "sum to 1e-13" "sum below 1e-12" wmerge -w 1e-13,0 $F
echo '{"weights":{"f1":1,"f3":1}}' > bad.json
fail_run 2 "no checkpoint named 'f3'" "unknown name" wmerge -w @bad.json $F
echo '{"weights":{"f1":1}}' > bad.json
fail_run 2 "no weight for checkpoint 'f2'" "missing name" wmerge -w @bad.json $F
echo '{"weights":[1,2,3]}' > bad.json
fail_run 2 "bad.json: 3 weights for 2" "array too long" wmerge -w @bad.json $F
echo '{"weights":[1]}' > bad.json
fail_run 2 "1 weight for 2 checkpoints" "array too short" wmerge -w @bad.json $F
echo '{"weights":[1,null]}' > bad.json
fail_run 2 "weight 2 is not a number" "null weight" wmerge -w @bad.json $F
echo '{"weights":' > bad.json
fail_run 2 "bad.json" "bad JSON" wmerge -w @bad.json $F
fail_run 2 "nope.json" "missing weights file" wmerge -w @nope.json $F
fail_run 2 "both named 'f1'" "ambiguous names" sh -c 'mkdir -p x && cp f1.safetensors x/ && echo "{\"weights\":{\"f1\":1}}" | wmerge -w @- f1.safetensors x/f1.safetensors'
fail_run 2 "standard input .* twice" "@- and -" sh -c 'cat f1.safetensors | wmerge -w @- - f2.safetensors'
fail_run 2 "unknown method" "bad method" wmerge -m average -w 1,1 $F
fail_run 2 "exactly two" "slerp of three" wmerge -m slerp -w 0.5 $F f3.safetensors
fail_run 2 "not in \[0, 1\]" "slerp t > 1" wmerge -m slerp -w 1.5 $F
fail_run 2 "needs a base" "ties without base" wmerge -m ties -d 0.5 -w 1,1 $F
fail_run 2 "needs --density" "ties without density" wmerge -m ties --base $B -w 1,1 $F
fail_run 2 "does not use a base" "linear with base" wmerge --base $B -w 1,1 $F
fail_run 2 "--seed: ties does not use it" "seed for ties" wmerge -m ties -d 0.5 -s 3 --base $B -w 1,1 $F
fail_run 2 "--density: '0' is not a number in \\(0, 1\\]" "density 0" wmerge -m dare-linear -d 0 --base $B -w 1,1 $F
fail_run 2 "--density: '1.5' is not" "density 1.5" wmerge -m dare-linear -d 1.5 --base $B -w 1,1 $F
fail_run 2 "unknown dtype" "bad -t" wmerge -t int8 -w 1,1 $F
fail_run 2 "--acc: 'bf16'" "bad --acc" wmerge --acc bf16 -w 1,1 $F
fail_run 2 "--threads: '0'" "bad -j" wmerge -j 0 -w 1,1 $F
fail_run 2 "--shard-size" "bad --shard-size" wmerge --shard-size 12XB -w 1,1 $F -o d
fail_run 2 "unknown option" "unknown option" wmerge --frobnicate -w 1,1 $F

# ---- bad input (exit 1): the message names the checkpoint and tensor; -o leaves nothing ----
gen --seed 5 -t bf16 --llama hidden=32,layers=1,vocab=64,ff=48 -o fewer.safetensors
gen --seed 5 -t f32 --llama $LL -o f32.safetensors
gen --seed 5 -t bf16 --llama hidden=32,layers=2,vocab=65,ff=48 -o wide.safetensors
ckpt-cat -q f1.safetensors xy.safetensors -o extra.safetensors
gen --seed 8 --tensor ids:I32:16 --tensor mask:BOOL:4x4 -o ints8.safetensors
ckpt-cat -q f1.safetensors ints8.safetensors -o cint.safetensors
head -c 30000 f2.safetensors > trunc
printf 'not safetensors at all' > junk.safetensors
bad_o() {   # STATUS REGEX WHAT ARGS... : run with -o, check that nothing new is left
	before=$(listing)
	st=$1 re=$2 what=$3; shift 3
	fail_run "$st" "$re" "$what" "$@"
	check "$what: nothing left behind" '[ "$before" = "$(listing)" ]'
}
bad_o 1 "fewer.safetensors: tensor model.layers.1.input_layernorm.weight: missing" "missing tensor" \
	wmerge -w 1,1 f1.safetensors fewer.safetensors -o res.safetensors
bad_o 1 "f1.safetensors: tensor model.layers.1.input_layernorm.weight: not in fewer" "extra tensor" \
	wmerge -w 1,1 fewer.safetensors f1.safetensors -o res.safetensors
bad_o 1 "extra.safetensors: tensor [xy]: not in f1.safetensors" "extra tensor at the end" \
	wmerge -w 1,1 f1.safetensors extra.safetensors -o res.safetensors
gen --seed 9 --tensor ids:F32:16 --tensor mask:BOOL:4x4 -o fids.safetensors
ckpt-cat -q f1.safetensors fids.safetensors -o cfid.safetensors
bad_o 1 "cfid.safetensors: tensor ids: dtype F32 differs from I32 in c1.safetensors" "a float and an integer tensor" \
	wmerge -w 1,1 c1.safetensors cfid.safetensors -o res.safetensors
bad_o 1 "wide.safetensors: tensor model.embed_tokens.weight: shape \[65,32\] differs from \[64,32\] in f1.safetensors" "shape" \
	wmerge -w 1,1 f1.safetensors wide.safetensors -o res.safetensors
bad_o 1 "cint.safetensors: tensor ids: differs from c1.safetensors.*I32" "integer tensor differs" \
	wmerge -w 1,1 c1.safetensors cint.safetensors -o res.safetensors
bad_o 1 "cint.safetensors: tensor ids: differs" "integer tensor differs in a 0-weight input" \
	wmerge -w 1,0 c1.safetensors cint.safetensors -o res.safetensors
bad_o 1 "tensor y: out of order: a stream must hold the tensors in the order of xy.safetensors.zst" "streams in two orders" \
	sh -c 'cat yx.safetensors | wmerge -w 1,1 xy.safetensors.zst - -o res.safetensors'
bad_o 1 "<stdin>: truncated in tensor model" "stream truncated mid-tensor on stdin" \
	sh -c 'cat trunc | wmerge -w 1,1 f1.safetensors - -o res.safetensors'
bad_o 1 "<stdin>: tensor model.*file truncated" "truncated file on stdin" \
	sh -c 'wmerge -w 1,1 f1.safetensors - -o res.safetensors < trunc'
bad_o 1 "nope.safetensors" "missing file" wmerge -w 1,1 f1.safetensors nope.safetensors -o res.safetensors
bad_o 1 "junk.safetensors" "not safetensors" wmerge -w 1,1 f1.safetensors junk.safetensors -o res.safetensors
bad_o 1 "wide.safetensors: tensor model.embed_tokens.weight: shape" "bad base" \
	wmerge -m task-arithmetic --base wide.safetensors -w 1,1 $F -o res.safetensors
bad_o 1 "fewer.safetensors: tensor .*missing" "directory output, bad input" \
	wmerge -w 1,1 f1.safetensors fewer.safetensors -o resdir
fail_run 1 "fewer.safetensors: tensor .*missing" "stdout, bad input" wmerge -w 1,1 f1.safetensors fewer.safetensors
check "stdout, bad input: nothing written" '[ ! -s out ]'
fail_run 1 "" "full disk" sh -c 'wmerge -w 1,1 f1.safetensors f2.safetensors > /dev/full'
t_done
