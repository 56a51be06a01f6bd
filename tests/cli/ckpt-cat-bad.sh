#!/bin/sh
# ckpt-cat and the safetensors reader on bad input: every validation rule, each with a file made
# here byte by byte (exit 1, a message naming the file and the tensor, --check failing the same
# way, nothing left behind by -o); broken directories; truncated and overlong streams; a terminal;
# a closed pipe; a full disk; SIGTERM during a write.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

# bad FILE REGEX WHAT [STREAM-REGEX]: FILE is refused with "ckpt-cat: FILE: REGEX" when read,
# checked, or written to a file or a directory, and leaves no output; read through a pipe it is
# refused as "<stdin>: STREAM-REGEX" (REGEX when not given).
bad() {
	bf=$1 bre=$2 bw=$3 bsre=${4:-$2}
	fail_run 1 "^ckpt-cat: $bf: $bre" "$bw" ckpt-cat "$bf"
	fail_run 1 "^ckpt-cat: $bf: $bre" "$bw (--check)" ckpt-cat --check "$bf"
	# --list reads headers only: a stream's data flaws are not its business
	[ "${NOLIST:-}" ] || fail_run 1 "^ckpt-cat: $bf: $bre" "$bw (-l)" ckpt-cat -l "$bf"
	fail_run 1 "^ckpt-cat: $bf: $bre" "$bw (-o file)" ckpt-cat -o o.safetensors "$bf"
	fail_run 1 "^ckpt-cat: $bf: $bre" "$bw (-o dir)" ckpt-cat -o od "$bf"
	check "$bw: -o leaves nothing" 'nothing_left o.safetensors && nothing_left od'
	fail_run 1 "^ckpt-cat: <stdin>: $bsre" "$bw (pipe)" sh -c 'cat "$1" | ckpt-cat -o o.safetensors -' sh "$bf"
	check "$bw (pipe): -o leaves nothing" 'nothing_left o.safetensors'
	rm -rf o.safetensors od
}

# A valid two-tensor file, to show the hand-made files are right but for their one flaw.
T2='"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}'
mkst good.safetensors "{$T2}" "$(zeros 12)"
ok_run "the hand-made file is valid" ckpt-cat --check good.safetensors
check "the hand-made file lists" '[ "$(ckpt-cat -l good.safetensors | tr -d "\n")" = "{\"name\":\"a\",\"dtype\":\"F32\",\"shape\":[2],\"bytes\":8,\"file\":\"good.safetensors\"}{\"name\":\"b\",\"dtype\":\"F32\",\"shape\":[1],\"bytes\":4,\"file\":\"good.safetensors\"}" ]'
mkst meta.safetensors "{\"__metadata__\":{\"k\":\"v\"},$T2}" "$(zeros 12)"
ok_run "__metadata__ of strings is valid" ckpt-cat --check meta.safetensors
mkst empty-t.safetensors '{"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}' "$(zeros 1)"
ok_run "an empty tensor and a scalar are valid" ckpt-cat --check empty-t.safetensors
mkst none.safetensors '{}'
ok_run "a checkpoint of no tensors is valid" ckpt-cat --check none.safetensors

# ---- the header's length ----
{ le64 100000001; printf '{}'; } > hugehdr.safetensors
bad hugehdr.safetensors "header length 100000001 exceeds the 100000000-byte limit" "header length over 100 MB"
{ printf '\377\377\377\377\377\377\377\377{}'; } > maxhdr.safetensors
bad maxhdr.safetensors "header length 18446744073709551615 exceeds" "header length 2^64-1"
# Exactly 100 MB is allowed: the file is then too short, which is a different message.
{ le64 100000000; printf '{}'; } > limithdr.safetensors
bad limithdr.safetensors "header length 100000000 runs past the end of the (file|input)" "header length of exactly 100 MB, past the end"
{ le64 1000; printf '%s' "{$T2}"; head -c 12 /dev/zero; } > longhdr.safetensors
bad longhdr.safetensors "header length 1000 runs past the end of the (file|input)" "header length past the end of the file"
{ le64 1; printf '{'; } > tinyhdr.safetensors
bad tinyhdr.safetensors "header length 1 is too small" "header length 1"
printf 'abcdefg' > short.safetensors
bad short.safetensors "too short for a safetensors header" "file shorter than 8 bytes"
: > empty.safetensors
bad empty.safetensors "empty (file|input)" "empty file"

# ---- the header's JSON ----
mkst badjson.safetensors '{"a":{"dtype":"F32",'
bad badjson.safetensors "header is not valid JSON" "invalid JSON"
mkst badjson2.safetensors '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},}' "$(zeros 8)"
bad badjson2.safetensors "header is not valid JSON" "invalid JSON (trailing comma)"
mkst array.safetensors '[1,2]'
bad array.safetensors "header is not a JSON object" "JSON array, not an object"
mkst string.safetensors '"a"'
bad string.safetensors "header is not a JSON object" "JSON string, not an object"
mkst trail.safetensors "{$T2}xyz" "$(zeros 12)"
bad trail.safetensors "header has trailing bytes after its JSON object" "garbage after the header's JSON"
mkst trail2.safetensors "{$T2}{}" "$(zeros 12)"
bad trail2.safetensors "header has trailing bytes after its JSON object" "a second JSON object after the header's"
{ le64 4; printf '{}\000 '; } > nul.safetensors
bad nul.safetensors "header contains a NUL byte" "NUL byte in the header"

# ---- tensor entries ----
mkst nodtype.safetensors '{"a":{"shape":[2],"data_offsets":[0,8]}}' "$(zeros 8)"
bad nodtype.safetensors "tensor a: missing dtype" "entry without dtype"
mkst noshape.safetensors '{"a":{"dtype":"F32","data_offsets":[0,8]}}' "$(zeros 8)"
bad noshape.safetensors "tensor a: missing shape" "entry without shape"
mkst nooffs.safetensors '{"a":{"dtype":"F32","shape":[2]}}' "$(zeros 8)"
bad nooffs.safetensors "tensor a: missing data_offsets" "entry without data_offsets"
mkst notobj.safetensors '{"a":[1,2]}'
bad notobj.safetensors "tensor a: entry is not an object" "entry not an object"
mkst dtype.safetensors '{"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}}' "$(zeros 8)"
bad dtype.safetensors "tensor a: unknown dtype \"?F31" "unknown dtype"
mkst dtypelc.safetensors '{"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}' "$(zeros 8)"
bad dtypelc.safetensors "tensor a: unknown dtype" "dtype in lower case (not the safetensors spelling)"
mkst dtypenum.safetensors '{"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}' "$(zeros 8)"
bad dtypenum.safetensors "tensor a: unknown dtype" "dtype not a string"
mkst neg.safetensors '{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}' "$(zeros 8)"
bad neg.safetensors "tensor a: shape\[0\] is not a non-negative integer" "negative shape"
mkst frac.safetensors '{"a":{"dtype":"F32","shape":[1,2.5],"data_offsets":[0,8]}}' "$(zeros 8)"
bad frac.safetensors "tensor a: shape\[1\] is not a non-negative integer" "non-integer shape"
mkst strshape.safetensors '{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}' "$(zeros 8)"
bad strshape.safetensors "tensor a: shape\[0\] is not a non-negative integer" "shape entry a string"
mkst shapeobj.safetensors '{"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}' "$(zeros 8)"
bad shapeobj.safetensors "tensor a: shape is not an array" "shape not an array"
mkst dims.safetensors '{"a":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}}' "$(zeros 1)"
bad dims.safetensors "tensor a: 9 dimensions" "more than 8 dimensions"
mkst count.safetensors "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}" "$(zeros 8)"
bad count.safetensors "tensor a: data_offsets hold 8 bytes but F32\[3\] needs 12" "byte count not numel x dtype size"
mkst count2.safetensors "{\"a\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,16]}}" "$(zeros 16)"
bad count2.safetensors "tensor a: data_offsets hold 16 bytes but BF16\[2,2\] needs 8" "byte count: BF16 counted as 4 bytes"
# 2^32 x 2^32 elements: the product wraps to 0 in 64 bits, which is not an empty tensor.
mkst ovf.safetensors '{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}'
bad ovf.safetensors "tensor a: shape's byte count overflows" "numel overflows 64 bits (wraps to 0)"
mkst ovf1.safetensors '{"a":{"dtype":"U8","shape":[4294967296,4294967297],"data_offsets":[0,8]}}' "$(zeros 8)"
bad ovf1.safetensors "tensor a: shape's byte count overflows" "numel overflows 64 bits"
mkst ovf2.safetensors '{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}' "$(zeros 8)"
bad ovf2.safetensors "tensor a: shape's byte count overflows" "numel x 8 overflows 64 bits"
mkst ovf3.safetensors '{"a":{"dtype":"F32","shape":[65536,65536,65536,65536,0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}' "$(zeros 4)"
ok_run "a zero in a huge shape is an empty tensor, not an overflow" ckpt-cat --check ovf3.safetensors
mkst big.safetensors '{"a":{"dtype":"U8","shape":[1000000000000],"data_offsets":[0,1000000000000]}}' "$(zeros 8)"
bad big.safetensors "tensor a: data_offsets end 1000000000000 past the data section" "a huge tensor in a small file" "truncated in tensor a"
mkst offsbad.safetensors '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}' "$(zeros 8)"
bad offsbad.safetensors "tensor a: data_offsets is not \[begin, end\]" "data_offsets of one number"
mkst offsneg.safetensors '{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}' "$(zeros 8)"
bad offsneg.safetensors "tensor a: data_offsets is not \[begin, end\]" "negative data_offsets"
mkst offsrev.safetensors '{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}' "$(zeros 8)"
bad offsrev.safetensors "tensor a: data_offsets end 0 before begin 8" "data_offsets end before begin"

# ---- offsets against the data ----
mkst past.safetensors "{$T2}" "$(zeros 10)"
bad past.safetensors "tensor b: data_offsets end 12 past the data section" "offsets past the end of the data" "truncated in tensor b"
mkst gap.safetensors '{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}' "$(zeros 12)"
bad gap.safetensors "tensor a: gap of 4 bytes before its data" "gap before the first tensor"
mkst gap2.safetensors '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[10,14]}}' "$(zeros 14)"
bad gap2.safetensors "tensor b: gap of 2 bytes before its data" "gap between tensors"
mkst overlap.safetensors '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' "$(zeros 8)"
bad overlap.safetensors "tensor b: data overlaps tensor a" "overlapping tensors"
mkst same.safetensors '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' "$(zeros 8)"
bad same.safetensors "tensor [ab]: data overlaps tensor [ab]" "two tensors on the same bytes"
mkst trailing.safetensors "{$T2}" "$(zeros 16)"
bad trailing.safetensors "4 trailing bytes after the last tensor's data" "trailing bytes after the last tensor" "trailing bytes after the last tensor's data"
mkst dup.safetensors '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' "$(zeros 8)"
bad dup.safetensors "duplicate tensor name \"a\"" "duplicate tensor name"
mkst dup2.safetensors '{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' "$(zeros 8)"
bad dup2.safetensors "duplicate tensor name \"a\"" "duplicate tensor name, same entry twice"
mkst dupesc.safetensors '{"ab":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a\u0062":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' "$(zeros 8)"
bad dupesc.safetensors "duplicate tensor name" "duplicate tensor name spelled with an escape"
mkst metanum.safetensors "{\"__metadata__\":{\"k\":1},$T2}" "$(zeros 12)"
bad metanum.safetensors "__metadata__ must be an object of strings" "__metadata__ value a number"
mkst metaobj.safetensors "{\"__metadata__\":{\"k\":{\"x\":\"y\"}},$T2}" "$(zeros 12)"
bad metaobj.safetensors "__metadata__ must be an object of strings" "__metadata__ value an object"
mkst metastr.safetensors "{\"__metadata__\":\"x\",$T2}" "$(zeros 12)"
bad metastr.safetensors "__metadata__ must be an object of strings" "__metadata__ a string"

# ---- zstd (a stream: --list does not read the data) ----
NOLIST=1
gen --llama hidden=64,layers=2 -o x.safetensors
zstd -q -c x.safetensors > x.zst
head -c $(($(wc -c < x.zst) - 20)) x.zst > cut.safetensors.zst
bad cut.safetensors.zst "(truncated zstd stream|truncated in tensor lm_head.weight)" "truncated zstd file"
{ head -c 100 x.zst; head -c 100 /dev/zero; } > corrupt.safetensors.zst
bad corrupt.safetensors.zst "(zstd: |truncated)" "corrupt zstd data"
zstd -q -c trailing.safetensors > ztrail.bin
bad ztrail.bin "trailing bytes after the last tensor's data" "zstd of a file with trailing bytes"
zstd -q -c gap.safetensors > zgap.bin
bad zgap.bin "tensor a: gap of 4 bytes before its data" "zstd of a file with a gap"
NOLIST=

# ---- streams: truncated, overlong ----
# Where each tensor starts in the stream, from --list.
ckpt-cat -l x.safetensors > x.list
n=$(hlen x.safetensors)
size=$(wc -c < x.safetensors)
# the tensor that holds data byte $1
tensor_at() { sed 's/.*"name":"\([^"]*\)".*"bytes":\([0-9]*\).*/\1 \2/' x.list | awk -v at="$1" '{ if (at >= s && at < s + $2) print $1; s += $2 }'; }
mid=$(tensor_at 40000)
check "fixture: byte 40000 is inside layer 0" '[ "$mid" = model.layers.0.self_attn.q_proj.weight ]'
for cut in $((8 + n + 40000)) $((size - 1)) $((8 + n + 1)); do
	at=$(tensor_at $((cut - 8 - n)))
	head -c $cut x.safetensors > cut.bin
	fail_run 1 "^ckpt-cat: <stdin>: tensor $at: data_offsets end [0-9]* past the data section" "file cut at $cut on stdin: names $at" sh -c 'ckpt-cat - < cut.bin'
	fail_run 1 "^ckpt-cat: <stdin>: truncated in tensor $at\$" "stream cut at $cut, pipe" sh -c 'cat cut.bin | ckpt-cat - > /dev/null'
	fail_run 1 "^ckpt-cat: <stdin>: truncated in tensor $at\$" "stream cut at $cut, --check" sh -c 'cat cut.bin | ckpt-cat --check -'
	fail_run 1 "^ckpt-cat: <stdin>: truncated in tensor $at\$" "stream cut at $cut, -t f32 -o file" sh -c 'cat cut.bin | ckpt-cat -t f32 -o o.safetensors -'
	check "stream cut at $cut: -o file leaves nothing" 'nothing_left o.safetensors'
	fail_run 1 "^ckpt-cat: <stdin>: truncated in tensor $at\$" "stream cut at $cut, -o dir" sh -c 'cat cut.bin | ckpt-cat --shard-size 50K -o od -'
	check "stream cut at $cut: -o dir leaves nothing" 'nothing_left od'
	fail_run 1 "^ckpt-cat: <stdin>: truncated in tensor $at\$" "stream cut at $cut, -o .zst" sh -c 'cat cut.bin | ckpt-cat -o o.safetensors.zst -'
	check "stream cut at $cut: -o .zst leaves nothing" 'nothing_left o.safetensors.zst'
	fail_run 1 "^ckpt-cat: <stdin>: truncated in tensor $at\$" "stream cut at $cut, --stats" sh -c 'cat cut.bin | ckpt-cat --stats - > /dev/null'
done
# The mapped file cut the same way: found at open, before any output.
head -c $((size - 1)) x.safetensors > cutfile.safetensors
bad cutfile.safetensors "tensor lm_head.weight: data_offsets end [0-9]* past the data section" "file cut in its last tensor" "truncated in tensor lm_head.weight"
head -c $((8 + n - 10)) x.safetensors > cuthdr.bin
fail_run 1 "^ckpt-cat: <stdin>: header length $n runs past the end of the input" "stream cut in its header" sh -c 'cat cuthdr.bin | ckpt-cat -'
{ cat x.safetensors; printf 'junk'; } > long.bin
fail_run 1 "^ckpt-cat: <stdin>: trailing bytes after the last tensor's data" "stream with trailing bytes" sh -c 'cat long.bin | ckpt-cat - > /dev/null'
fail_run 1 "^ckpt-cat: <stdin>: trailing bytes after the last tensor's data" "stream with trailing bytes, --check" sh -c 'cat long.bin | ckpt-cat --check -'
fail_run 1 "^ckpt-cat: <stdin>: trailing bytes after the last tensor's data" "stream with trailing bytes, -o file" sh -c 'cat long.bin | ckpt-cat -o o.safetensors -'
check "stream with trailing bytes: -o file leaves nothing" 'nothing_left o.safetensors'
fail_run 1 "^ckpt-cat: <stdin>: trailing bytes after the last tensor's data" "stream with trailing bytes, -o dir" sh -c 'cat long.bin | ckpt-cat --shard-size 50K -o od -'
check "stream with trailing bytes: -o dir leaves nothing" 'nothing_left od'
fail_run 1 "^ckpt-cat: <stdin>: trailing bytes after the last tensor's data" "stream with trailing bytes before a second input" sh -c 'cat long.bin | ckpt-cat - good.safetensors > /dev/null'
{ cat x.safetensors; printf 'j'; } > long1.bin
fail_run 1 "^ckpt-cat: <stdin>: trailing bytes after the last tensor's data" "stream with one trailing byte" sh -c 'cat long1.bin | ckpt-cat - > /dev/null'
{ cat x.safetensors; cat x.safetensors; } > twice.bin
fail_run 1 "^ckpt-cat: <stdin>: trailing bytes after the last tensor's data" "two checkpoints back to back on stdin" sh -c 'cat twice.bin | ckpt-cat - > /dev/null'
# The header's key order need not be the data's: offsets decide, and a pipe is read in their order.
mkst order.safetensors '{"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' "$(zeros 12)"
ok_run "header order differs from offset order: fine on a pipe" sh -c 'cat order.safetensors | ckpt-cat -l -'
check "listed in offset order" '[ "$(cut -c1-11 out | tr -d "\n")" = "{\"name\":\"a\"{\"name\":\"b\"" ]'

# ---- directories ----
gen --llama hidden=64,layers=2 --shard-size 100K -o d
idx=d/model.safetensors.index.json
s1=model-00001-of-00003.safetensors s3=model-00003-of-00003.safetensors
# baddir NAME REGEX WHAT: the directory NAME (a copy of d, edited) is refused, nothing left
baddir() {
	fail_run 1 "^ckpt-cat: $1/$2" "$3" ckpt-cat "$1"
	fail_run 1 "^ckpt-cat: $1/$2" "$3 (--check)" ckpt-cat --check "$1"
	fail_run 1 "^ckpt-cat: $1/$2" "$3 (-o dir)" ckpt-cat -o od "$1"
	check "$3: -o leaves nothing" 'nothing_left od'
	rm -rf od
}
cp -r d ghost; sed "s|^\(  \"weight_map\": {\)|\1\n    \"ghost.weight\": \"$s1\",|" $idx > ghost/model.safetensors.index.json
check "fixture: ghost.weight added to the index" 'grep -q ghost.weight ghost/model.safetensors.index.json'
baddir ghost "model.safetensors.index.json: tensor ghost.weight is mapped to $s1, which does not hold it" "index maps a tensor to a shard without it"
# lm_head.weight is alone in the last shard: mapped elsewhere, that shard is not opened at all.
cp -r d moved1; sed "s|\"lm_head.weight\": \"$s3\"|\"lm_head.weight\": \"$s1\"|" $idx > moved1/model.safetensors.index.json
check "fixture: lm_head.weight moved in the index" 'grep -q "lm_head.weight\": \"$s1" moved1/model.safetensors.index.json'
baddir moved1 "model.safetensors.index.json: tensor lm_head.weight is mapped to $s1, which does not hold it" "index maps a tensor to another shard (its own unused)"
s2=model-00002-of-00003.safetensors
t2=$(sed -n "s/^ *\"\([^\"]*\)\": \"$s2\",\$/\1/p" $idx | head -1)
cp -r d moved; sed "s|\"$t2\": \"$s2\"|\"$t2\": \"$s1\"|" $idx > moved/model.safetensors.index.json
check "fixture: $t2 moved from shard 2 to shard 1 in the index" '[ -n "$t2" ] && grep -q "\"$t2\": \"$s1\"" moved/model.safetensors.index.json'
baddir moved "model.safetensors.index.json: tensor $t2 is mapped to $s1 but found in $s2" "index maps a tensor to the wrong shard"
cp -r d extra; grep -v '"model.embed_tokens.weight"' $idx > extra/model.safetensors.index.json
baddir extra "$s1: tensor model.embed_tokens.weight is not in the index" "a shard holds a tensor the index does not list"
cp -r d noshard; rm noshard/$s3
baddir noshard "$s3: No such file or directory" "a shard the index names is missing"
cp -r d dotdot; sed "s|\"lm_head.weight\": \"$s3\"|\"lm_head.weight\": \"../$s3\"|" $idx > dotdot/model.safetensors.index.json
cp d/$s3 .
baddir dotdot "model.safetensors.index.json: weight_map: tensor lm_head.weight: shard name \"\.\./$s3\" is not a file in the directory" "a shard name with ../ in the index"
cp -r d abs; sed "s|\"lm_head.weight\": \"$s3\"|\"lm_head.weight\": \"$PWD/d/$s3\"|" $idx > abs/model.safetensors.index.json
baddir abs "model.safetensors.index.json: weight_map: tensor lm_head.weight: shard name \".*\" is not a file in the directory" "an absolute shard path in the index"
cp -r d nummap; sed "s|\"lm_head.weight\": \"$s3\"|\"lm_head.weight\": 3|" $idx > nummap/model.safetensors.index.json
baddir nummap "model.safetensors.index.json: weight_map: tensor lm_head.weight: shard name is not a string" "a shard name not a string"
cp -r d nowm; printf '{"metadata":{}}\n' > nowm/model.safetensors.index.json
baddir nowm "model.safetensors.index.json: no \"weight_map\" object" "an index without weight_map"
cp -r d idxjson; printf '{"weight_map":{' > idxjson/model.safetensors.index.json
baddir idxjson "model.safetensors.index.json" "an index that is not JSON"
cp -r d badshard; cp gap.safetensors badshard/$s1
baddir badshard "$s1: tensor a: gap of 4 bytes before its data" "a bad shard"
cp -r d cfg; printf '{"hidden_size":' > cfg/config.json
baddir cfg "config.json: not a valid JSON object" "a config.json that is not JSON"
# Two shards holding the same tensor, the index naming one of them.
mkdir twice; cp good.safetensors twice/model-00001-of-00002.safetensors; cp good.safetensors twice/model-00002-of-00002.safetensors
printf '{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}\n' > twice/model.safetensors.index.json
fail_run 1 "^ckpt-cat: twice: tensor a is in both twice/model-00001-of-00002.safetensors and twice/model-00002-of-00002.safetensors" \
	"a tensor in two shards" ckpt-cat twice
mkdir emptydir
fail_run 1 "^ckpt-cat: emptydir: no model.safetensors or model.safetensors.index.json" "a directory without a checkpoint" ckpt-cat emptydir
mkdir torch; : > torch/pytorch_model.bin
fail_run 1 "^ckpt-cat: torch: holds a PyTorch pickle checkpoint" "a PyTorch directory" ckpt-cat torch
fail_run 1 "^ckpt-cat: nowhere\.safetensors: No such file or directory" "a missing file" ckpt-cat nowhere.safetensors
fail_run 1 "^ckpt-cat: nowhere\.safetensors: No such file or directory" "a missing file after a good one, -o" ckpt-cat -o o.safetensors good.safetensors nowhere.safetensors
check "a missing input: -o leaves nothing" 'nothing_left o.safetensors'

# ---- a terminal ----
if command -v script > /dev/null 2>&1 && script -qec true /dev/null > /dev/null 2>&1; then
	script -qec "ckpt-cat x.safetensors" /dev/null > tty.out 2>&1; rc=$?
	check "binary output to a terminal: exit 1" '[ $rc -eq 1 ]'
	check "binary output to a terminal: refused with a message" 'grep -q "^ckpt-cat: refusing to write binary data to a terminal" tty.out'
	check "binary output to a terminal: no data written" '[ $(wc -c < tty.out) -lt 200 ]'
	script -qec "ckpt-cat -l -s lm_head.weight x.safetensors" /dev/null > tty.out 2>&1; rc=$?
	check "--list to a terminal is fine" '[ $rc -eq 0 ] && grep -q "\"name\":\"lm_head.weight\"" tty.out'
	script -qec "ckpt-cat -o tty.safetensors x.safetensors" /dev/null > tty.out 2>&1; rc=$?
	check "-o with a terminal on stdout is fine" '[ $rc -eq 0 ] && cmp -s x.safetensors tty.safetensors'
else
	T_N=$((T_N + 1)); echo "ok $T_N # skip no pty tool (script) to test output to a terminal"
fi

# ---- a closed pipe ----
gen --llama hidden=256,layers=2,vocab=2048,ff=512 -o bigger.safetensors
{ timeout 20 ckpt-cat bigger.safetensors 2> pipe.err; echo $? > rc; } | head -c 100 > head.out
rc=$(cat rc)
check "stdout closed early: ckpt-cat ends (no hang), with an error or SIGPIPE" '[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]'
check "stdout closed early: a write error is reported when SIGPIPE is ignored" '[ "$rc" -eq 141 ] || grep -q "^ckpt-cat: <stdout>: write error" pipe.err'
check "stdout closed early: head got its 100 bytes" '[ $(wc -c < head.out) -eq 100 ]'
{ timeout 20 sh -c 'trap "" PIPE; exec ckpt-cat -t f32 bigger.safetensors' 2> pipe.err; echo $? > rc; } | head -c 100 > /dev/null
rc=$(cat rc)
check "stdout closed early, SIGPIPE ignored: exit 1" '[ "$rc" -eq 1 ]'
check "stdout closed early, SIGPIPE ignored: a write error" 'grep -q "^ckpt-cat: <stdout>: write error: Broken pipe" pipe.err'
gen --llama hidden=8,layers=300,vocab=8,ff=8,heads=2 -o many.safetensors
{ timeout 20 sh -c 'trap "" PIPE; exec ckpt-cat -l many.safetensors' 2> pipe.err; echo $? > rc; } | head -c 10 > /dev/null
rc=$(cat rc)
check "--list into a closed pipe, SIGPIPE ignored: exit 1 with a message" '[ "$rc" -eq 1 ] && grep -q "^ckpt-cat: .*Broken pipe" pipe.err' 

# ---- a full disk ----
fail_run 1 "^ckpt-cat: <stdout>: write error: No space left on device" "stdout on a full disk (/dev/full)" sh -c 'ckpt-cat x.safetensors > /dev/full'
fail_run 1 "^ckpt-cat: .*No space left on device" "large stdout on a full disk" sh -c 'ckpt-cat bigger.safetensors > /dev/full'
fail_run 1 "^ckpt-cat: .*No space left on device" "--list on a full disk" sh -c 'ckpt-cat -l x.safetensors > /dev/full'
fail_run 1 "^ckpt-cat: .*No space left on device" "-z on a full disk" sh -c 'ckpt-cat -z x.safetensors > /dev/full'
mkdir mnt
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=200k tmpfs mnt 2> /dev/null; then
	fail_run 1 "^ckpt-cat: mnt/o\.safetensors: write error: No space left on device" "-o file on a full tmpfs" ckpt-cat -o mnt/o.safetensors x.safetensors
	check "-o file on a full disk: nothing left" '[ -z "$(ls -A mnt)" ]'
	fail_run 1 "^ckpt-cat: mnt/od/model-0000[0-9]-of-0000[0-9]\.safetensors: write error: No space left on device" "-o dir on a full tmpfs: the message names the shard" ckpt-cat -o mnt/od --shard-size 60K x.safetensors
	check "-o dir on a full disk: nothing left" '[ -z "$(ls -A mnt)" ]'
	fail_run 1 "^ckpt-cat: mnt/o\.safetensors\.zst: write error: No space left on device" "-o .zst on a full tmpfs" ckpt-cat -o mnt/o.safetensors.zst bigger.safetensors
	check "-o .zst on a full disk: nothing left" '[ -z "$(ls -A mnt)" ]'
	ok_run "-o file that fits the tmpfs" ckpt-cat -o mnt/ok.safetensors -s model.embed_tokens.weight x.safetensors
	umount mnt
else
	T_N=$((T_N + 1)); echo "ok $T_N # skip cannot mount a small tmpfs (not root?) to fill the disk under -o"
fi

# ---- SIGTERM during a slow write ----
# ckpt-cat reads a fifo that gives it the header and part of the data, then stalls; once its
# temporary exists it is killed. The writer is released through a second fifo and ends by SIGPIPE.
sigterm() {  # OUTPUT WHAT
	so=$1 sw=$2
	rm -f p gate; mkfifo p gate
	{ head -c 60000 bigger.safetensors; read -r _ < gate; cat bigger.safetensors; } > p 2> /dev/null &
	wpid=$!
	ckpt-cat -o "$so" --shard-size 300K p 2> sig.err &
	cpid=$!
	i=0; while [ $i -lt 100 ] && no_tmp "$so"; do sleep 0.1; i=$((i + 1)); done
	check "$sw: the temporary exists while writing" '! no_tmp "$so"'
	{ kill -TERM $cpid; wait $cpid; rc=$?; } 2> /dev/null
	: > gate; wait $wpid
	check "$sw: killed by SIGTERM (status 143)" '[ $rc -eq 143 ]'
	check "$sw: no temporary left" 'nothing_left "$so"'
}
sigterm sig.safetensors "SIGTERM during -o file"
sigterm sigdir "SIGTERM during -o dir"
sigterm sig.safetensors.zst "SIGTERM during -o .zst"

t_done
