#!/bin/sh
# ckpt-cat: byte-for-byte round trips through every CKPT form (file, directory, pipe, redirect,
# zstd) and every output form (stdout, file, .zst, sharded directory), conversion, selection,
# --list and --stats against values computed here, several inputs, sizes, usage errors.
# Bad input, signals, full disks and closed pipes are in ckpt-cat-bad.sh.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

field() { sed -n -E "s/.*\"$1\":(\"[^\"]*\"|[^,}]*).*/\1/p"; }  # one field of NDJSON lines
names() { field name | tr -d '"'; }

ok_run "--help" ckpt-cat --help
for o in --list --stats --meta --select --exclude --dtype --output --shard-size --zstd --threads --check --quiet --version; do
	grep -q -- "$o" out || t_notok "--help mentions $o"
done
ok_run "--version" ckpt-cat --version
check "--version names the program" 'grep -q "^ckpt-cat (recycle) " out'

# Fixtures: one Llama checkpoint as a file, a sharded directory and a single-file directory.
gen --llama hidden=64,layers=2 -o x.safetensors
gen --llama hidden=64,layers=2 --shard-size 100K -o d
gen --llama hidden=64,layers=2 -o d1
check "fixture: d has 3 shards, d1 one file" '[ -f d/model-00003-of-00003.safetensors ] && [ -f d1/model.safetensors ]'

# ---- round trips to standard output ----
ok_run "file to stdout" ckpt-cat x.safetensors
cmp_files "file to stdout: same bytes" x.safetensors out
ok_run "sharded directory to stdout" ckpt-cat d
cmp_files "sharded directory: the shards concatenated into one stream" x.safetensors out
ok_run "single-file directory to stdout" ckpt-cat d1/
cmp_files "single-file directory: same bytes" x.safetensors out
ok_run "stdin from a pipe" sh -c 'cat x.safetensors | ckpt-cat -'
cmp_files "stdin pipe: same bytes" x.safetensors out
ok_run "stdin redirected from a file" sh -c 'ckpt-cat - < x.safetensors'
cmp_files "stdin redirect: same bytes" x.safetensors out
{ printf JUNK; cat x.safetensors; } > jx
ok_run "stdin redirected from a file read partly already" sh -c '{ dd bs=4 count=1 of=/dev/null 2>/dev/null; ckpt-cat -; } < jx'
cmp_files "stdin from offset 4 of a file: the rest" x.safetensors out
zstd -q -c x.safetensors > x.safetensors.zst
cp x.safetensors.zst zstd-without-suffix.bin
ok_run ".safetensors.zst input" ckpt-cat x.safetensors.zst
cmp_files ".safetensors.zst: same bytes" x.safetensors out
ok_run "zstd input not named .zst (magic number)" ckpt-cat zstd-without-suffix.bin
cmp_files "zstd by magic: same bytes" x.safetensors out
ok_run "zstd through a pipe" sh -c 'zstd -q -c x.safetensors | ckpt-cat -'
cmp_files "zstd pipe: same bytes" x.safetensors out
# Two frames, as `cat a.zst b.zst` makes: one stream.
head -c 1000 x.safetensors > part1; tail -c +1001 x.safetensors > part2
zstd -q -c part1 > twoframes.zst; zstd -q -c part2 >> twoframes.zst
ok_run "zstd input of two frames" ckpt-cat twoframes.zst
cmp_files "two zstd frames: same bytes" x.safetensors out
ok_run "-z compresses stdout" sh -c 'ckpt-cat -z x.safetensors | zstd -q -d -c'
cmp_files "-z output decompresses to the same bytes" x.safetensors out
ok_run "-z19 --threads 2" sh -c 'ckpt-cat -z19 --threads 2 x.safetensors | zstd -q -d -c'
cmp_files "-z19 --threads 2: same bytes" x.safetensors out

# ---- -o ----
ok_run "-o file" ckpt-cat x.safetensors -o o.safetensors
cmp_files "-o file: same bytes" x.safetensors o.safetensors
ok_run "-o file from a sharded directory" ckpt-cat -o o2.safetensors d
cmp_files "-o file from a directory: same bytes" x.safetensors o2.safetensors
ok_run "-o .safetensors.zst" ckpt-cat x.safetensors -o oz.safetensors.zst
check "-o .zst is zstd" '[ "$(od -An -tx1 -N4 oz.safetensors.zst | tr -d " ")" = 28b52ffd ]'
ok_run "-o .zst decompresses" zstd -q -d -c oz.safetensors.zst
cmp_files "-o .zst: same bytes" x.safetensors out
ok_run "-o .zst reads back" ckpt-cat oz.safetensors.zst
cmp_files "-o .zst read back: same bytes" x.safetensors out
ok_run "-o replaces an existing file" ckpt-cat -o o.safetensors d1
cmp_files "-o replaced file: same bytes" x.safetensors o.safetensors
check "-o file: no temporaries left" '[ -z "$(ls -A | grep "\.tmp\.")" ]'

# Directory output: the shard layout a greedy split by --shard-size gives, computed here from the
# tensor sizes that --list reports.
ckpt-cat -l x.safetensors > x.list
ok_run "-o directory with --shard-size" ckpt-cat x.safetensors -o od --shard-size 100K
# SIZE → the expected "name shard-file" lines
layout() {
	names < x.list > l.names; field bytes < x.list > l.bytes
	paste -d' ' l.names l.bytes | awk -v max="$1" '
		{ if (used > 0 && used + $2 > max) { s++; used = 0 } used += $2; name[NR] = $1; sh[NR] = s }
		END { n = s + 1; for (i = 1; i <= NR; i++)
			if (n == 1) print name[i], "model.safetensors"
			else printf "%s model-%05d-of-%05d.safetensors\n", name[i], sh[i] + 1, n }' | sort
}
# the index's weight_map as "name shard-file" lines
wmap() { sed -n 's/^ *"\([^"]*\)": *"\([^"]*\)",\{0,1\}$/\1 \2/p' "$1" | sort; }
layout 100000 > want.map
nsh=$(cut -d' ' -f2 want.map | sort -u | wc -l)
check "100K: 3 shards expected (fixture sanity)" '[ "$nsh" -eq 3 ]'
check "-o dir: shard names model-0000i-of-00003" '[ "$(ls od | grep safetensors$ | tr "\n" " ")" = "model-00001-of-00003.safetensors model-00002-of-00003.safetensors model-00003-of-00003.safetensors " ]'
check "-o dir: nothing else than shards, index, config" '[ "$(ls od | wc -l)" -eq 5 ] && [ -f od/model.safetensors.index.json ] && [ -f od/config.json ]'
wmap od/model.safetensors.index.json > got.map
cmp_files "-o dir: weight_map is the greedy split by size" want.map got.map
total=$(field bytes < x.list | awk '{ s += $1 } END { print s }')
check "-o dir: index total_size is the sum of tensor bytes" 'grep -q "\"total_size\": *$total\$" od/model.safetensors.index.json'
ckpt-cat -l od > od.list
check "-o dir: every tensor is in the shard the index names" 'names < od.list > a1 && field file < od.list | tr -d "\"" | sed "s|^od/||" > a2 &&
	paste -d" " a1 a2 | sort | cmp -s - want.map'
for f in d/*; do cmp -s "$f" "od/${f#d/}" || t_notok "-o dir: $f differs from the one st-gen wrote"; done
ok_run "-o dir reads back" ckpt-cat od
cmp_files "-o dir read back: same bytes" x.safetensors out
check "-o dir: no temporary left beside it" '[ -z "$(ls -A | grep "^\.od\.tmp")" ]'

ok_run "--shard-size 100KiB (powers of 1024)" ckpt-cat x.safetensors -o od3 --shard-size 100KiB
layout 102400 > want3.map; wmap od3/model.safetensors.index.json > got3.map
cmp_files "100KiB: weight_map is the split at 102400 bytes" want3.map got3.map
# Two tensors of 60000 and 41000 bytes: two shards at 100K, one at 100KiB.
gen --tensor t1:U8:60000 --tensor t2:U8:41000 -o two.safetensors
ok_run "--shard-size 100K splits 101000 bytes" ckpt-cat two.safetensors -o s100k --shard-size 100K
check "100K: two shards" '[ -f s100k/model-00001-of-00002.safetensors ] && [ -f s100k/model-00002-of-00002.safetensors ]'
ok_run "--shard-size 100KiB keeps 101000 bytes in one" ckpt-cat two.safetensors -o s100kib --shard-size 100KiB
check "100KiB: a single model.safetensors, no index" '[ "$(ls s100kib)" = model.safetensors ]'
ok_run "--shard-size 5GB" ckpt-cat x.safetensors -o s5gb --shard-size 5GB
ok_run "--shard-size 500MiB" ckpt-cat x.safetensors -o s500mib --shard-size 500MiB
check "5GB and 500MiB: one model.safetensors + config.json" '[ "$(ls s5gb | tr "\n" " ")" = "config.json model.safetensors " ] && [ "$(ls s500mib | tr "\n" " ")" = "config.json model.safetensors " ]'
cmp_files "single shard: same bytes as the file" x.safetensors s5gb/model.safetensors
ok_run "--shard-size 1 (one tensor a shard)" ckpt-cat x.safetensors -o s1 --shard-size 1
check "--shard-size 1: one shard per tensor" '[ $(ls s1 | grep -c "^model-.*-of-00021\.safetensors$") -eq 21 ]'
ok_run "default shard size" ckpt-cat x.safetensors -o sdef
cmp_files "default: single shard" x.safetensors sdef/model.safetensors
for s in 5XB abc "" -1 0 5GiBB 1e30 "5 GB"; do
	fail_run 2 "^ckpt-cat: --shard-size: bad size" "--shard-size '$s' is a usage error" ckpt-cat --shard-size "$s" -o bad x.safetensors
done
check "bad --shard-size: no output" 'nothing_left bad'

# Config and donor files: config.json's dtype follows -t; tokenizer files come from the donor.
printf '{"model":"tok"}\n' > d/tokenizer.json
printf '{"bos_token_id":1}\n' > d/generation_config.json
printf '{"tokenizer_class":"x"}\n' > d/tokenizer_config.json
ok_run "-t f32 -o dir from a directory" ckpt-cat -t f32 d -o df --shard-size 200K
check "-t f32: config.json torch_dtype float32" 'grep -q "\"torch_dtype\": *\"float32\"" df/config.json && ! grep -q bfloat16 df/config.json'
check "config.json keeps the other fields" 'grep -q "\"hidden_size\": *64" df/config.json && grep -q "\"num_hidden_layers\": *2" df/config.json'
cmp_files "tokenizer.json copied from the donor" d/tokenizer.json df/tokenizer.json
cmp_files "generation_config.json copied from the donor" d/generation_config.json df/generation_config.json
cmp_files "tokenizer_config.json copied from the donor" d/tokenizer_config.json df/tokenizer_config.json
check "-t f32 -o dir: 3 shards of at most 200K" '[ "$(ls df | grep -c "^model-0000[1-3]-of-00003\.safetensors$")" -eq 3 ]'
ckpt-cat -l df > df.list
check "-t f32: every tensor F32, twice the bytes" '[ "$(field dtype < df.list | sort -u)" = "\"F32\"" ] &&
	[ "$(field bytes < df.list | awk "{ s += \$1 } END { print s }")" -eq $((2 * total)) ]'
ok_run "-t bf16 back to a directory" ckpt-cat -t bf16 df -o db --shard-size 100K
same=1; for f in d/model-*.safetensors; do cmp -s "$f" "db/${f#d/}" || same=0; done
check "f32 then bf16: the original shards" '[ $same -eq 1 ] && [ "$(ls db/model-* | wc -l)" -eq 3 ]'
cmp_files "f32 then bf16: the original config.json" d/config.json db/config.json
# The config a header carries says the dtype its tensors have, as config.json does.
ckpt-cat -t f32 x.safetensors > xf
check "-t f32: the header's \"config\" says float32" 'head -c 600 xf | grep -aq "torch_dtype.....float32" && ! head -c 600 xf | grep -aq bfloat16'
check "-t f32 -o dir: the shards' \"config\" says float32" '! grep -aq bfloat16 df/model-00001-of-00003.safetensors'
ok_run "-t f32 to a file, then -t bf16 to stdout" sh -c 'ckpt-cat -t f32 -o f.safetensors x.safetensors && ckpt-cat -t bf16 f.safetensors'
cmp_files "-t f32 then -t bf16: the original bytes" x.safetensors out
ok_run "-t f32 through pipes" sh -c 'ckpt-cat -t f32 x.safetensors | ckpt-cat -t bf16 -'
cmp_files "-t f32 | -t bf16: the original bytes" x.safetensors out
ok_run "-t float32 (a user spelling)" ckpt-cat -t float32 x.safetensors -o f2.safetensors
cmp_files "-t float32 = -t f32" f.safetensors f2.safetensors
ok_run "in-place conversion (-o names the input)" sh -c 'cp f.safetensors g.safetensors && ckpt-cat -t bf16 g.safetensors -o g.safetensors'
cmp_files "in-place conversion: converted" x.safetensors g.safetensors
ok_run "replace an existing checkpoint directory" ckpt-cat -o od d1
check "replaced directory: the old shards are gone" '[ "$(ls od | tr "\n" " ")" = "config.json model.safetensors " ]'
mkdir home; echo precious > home/notes.txt
fail_run 1 "^ckpt-cat: home: directory exists and holds files other than a checkpoint" \
	"-o refuses to replace a directory holding other files" ckpt-cat -o home x.safetensors
check "refused: the directory is untouched, no temporary" '[ "$(ls -A home)" = notes.txt ] && [ -z "$(ls -A | grep "^\.home\.tmp")" ]'
fail_run 1 "^ckpt-cat: zd: .*cannot be zstd-compressed" "-z with a directory output" ckpt-cat -z -o zd x.safetensors
check "-z directory: nothing left" 'nothing_left zd'

# Conversion of known values: ties to even, overflow to Inf, NaN kept, integers untouched.
# F32 1, 1+2^-11, 1+3*2^-11, 1+3*2^-8, 131072, NaN; I32 -1.
mkst known.safetensors '{"v":{"dtype":"F32","shape":[6],"data_offsets":[0,24]},"i":{"dtype":"I32","shape":[1],"data_offsets":[24,28]}}' \
	'\000\000\200\077\000\020\200\077\000\060\200\077\000\200\201\077\000\000\000\110\000\000\300\177\377\377\377\377'
ok_run "-t f16 of known values" ckpt-cat -t f16 known.safetensors
check "-t f16: ties to even, overflow to Inf, NaN, the I32 untouched" '[ "$(data out | od -An -tx2 -v | tr -s " \n" "  ")" = " 3c00 3c00 3c02 3c0c 7c00 7e00 ffff ffff " ]'
check "-t f16: header says F16 and I32" 'ckpt-cat -l out > kl && [ "$(field dtype < kl | tr "\n" " ")" = "\"F16\" \"I32\" " ]'
ok_run "-t bf16 of known values" ckpt-cat -t bf16 known.safetensors
check "-t bf16: ties to even, NaN, the I32 untouched" '[ "$(data out | od -An -tx2 -v | tr -s " \n" "  ")" = " 3f80 3f80 3f80 3f82 4800 7fc0 ffff ffff " ]'

# ---- --select / --exclude ----
names < x.list > all.names
check "fixture: 21 tensors" '[ $(wc -l < all.names) -eq 21 ]'
ok_run "-l -s GLOB -x GLOB" ckpt-cat -l -s 'model.layers.1.*' -x '*_proj*' x.safetensors
grep '^model\.layers\.1\.' all.names | grep -v '_proj' > want.names
check "select then exclude: the layer-1 norms" 'names < out | cmp -s - want.names && [ $(wc -l < want.names) -eq 2 ]'
ok_run "-s twice is a union" ckpt-cat -l -s lm_head.weight --select 'model.norm.*' x.safetensors
check "-s twice: both, in file order" '[ "$(names < out | tr "\n" " ")" = "model.norm.weight lm_head.weight " ]'
ok_run "-x alone" ckpt-cat -l -x '*mlp*' -x 'model.embed_tokens.weight' x.safetensors
grep -v mlp all.names | grep -v embed_tokens > want.names
check "-x twice: every other tensor" 'names < out | cmp -s - want.names'
ok_run "-s with a stream output" ckpt-cat -s lm_head.weight -s 'model.layers.0.mlp.*' x.safetensors
cp out sel.safetensors
check "selected stream: the selected tensors" '[ "$(ckpt-cat -l sel.safetensors | names | tr "\n" " ")" = "model.layers.0.mlp.gate_proj.weight model.layers.0.mlp.up_proj.weight model.layers.0.mlp.down_proj.weight lm_head.weight " ]'
# st-gen's values depend only on the seed and the tensor's name: the same tensors on their own.
gen --tensor model.layers.0.mlp.gate_proj.weight:bf16:128x64 --tensor model.layers.0.mlp.up_proj.weight:bf16:128x64 \
	--tensor model.layers.0.mlp.down_proj.weight:bf16:64x128 --tensor lm_head.weight:bf16:256x64 -o ref.safetensors
data ref.safetensors > ref.data; data sel.safetensors > sel.data
cmp_files "selected tensors: the same data bytes" ref.data sel.data
ok_run "-s from a stream skips tensors" sh -c 'cat x.safetensors | ckpt-cat -s lm_head.weight -s "model.layers.0.mlp.*" -'
cmp_files "-s from a stream: same bytes as from the file" sel.safetensors out
ok_run "-s from a sharded directory" ckpt-cat -s lm_head.weight -s 'model.layers.0.mlp.*' d
cmp_files "-s from a directory: same bytes" sel.safetensors out

# ---- --list ----
check "-l: one record per tensor, fields in order" '[ $(grep -c "^{\"name\":\"[^\"]*\",\"dtype\":\"BF16\",\"shape\":\[[0-9,]*\],\"bytes\":[0-9]*,\"file\":\"x.safetensors\"}$" x.list) -eq 21 ]'
check "-l: names are the header's, in offset order" 'head -c $(($(hlen x.safetensors) + 8)) x.safetensors | grep -ao "\"[^\"]*\":{\"dtype\"" | cut -d\" -f2 | cmp -s - all.names'
check "-l: bytes = numel x 2 for BF16" '[ -z "$(sed "s/.*\"shape\":\[\([0-9,]*\)\],\"bytes\":\([0-9]*\).*/\1 \2/" x.list | awk "{ n = split(\$1, d, \",\"); p = 2; for (i = 1; i <= n; i++) p *= d[i]; if (p != \$2) print }")" ]'
check "-l: Llama shapes" 'grep -q "\"name\":\"model.embed_tokens.weight\",\"dtype\":\"BF16\",\"shape\":\[256,64\]" x.list &&
	grep -q "\"name\":\"model.layers.1.mlp.down_proj.weight\",\"dtype\":\"BF16\",\"shape\":\[64,128\]" x.list &&
	grep -q "\"name\":\"model.norm.weight\",\"dtype\":\"BF16\",\"shape\":\[64\]" x.list'
ok_run "-l of a directory" ckpt-cat --list d
check "-l of a directory: the same records but file" '[ "$(sed "s/,\"file\":.*//" out)" = "$(sed "s/,\"file\":.*//" x.list)" ]'
names < out > a1; field file < out | tr -d '"' | sed 's|^d/||' > a2
paste -d' ' a1 a2 | sort > got.map
wmap d/model.safetensors.index.json > want.map
cmp_files "-l of a directory: file is the shard the index names" want.map got.map
ok_run "-l of a stream" sh -c 'cat x.safetensors | ckpt-cat -l -'
check "-l of a stream: file <stdin>" '[ "$(sed "s/,\"file\":.*//" out)" = "$(sed "s/,\"file\":.*//" x.list)" ] && [ "$(field file < out | sort -u)" = "\"<stdin>\"" ]'
ok_run "-l of several inputs" ckpt-cat -l x.safetensors.zst two.safetensors
check "-l of several: 23 records, each input's file" '[ $(wc -l < out) -eq 23 ] && [ $(grep -c "\"file\":\"two.safetensors\"" out) -eq 2 ]'

# ---- --stats ----
# F32 [1 2 3 4 -2.5 NaN Inf -Inf], I32 [7 -1], BF16 [0.5 -0.25], F16 [NaN], F64 [0.1 0.2]
mkst st.safetensors '{"v":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]},"i":{"dtype":"I32","shape":[2],"data_offsets":[32,40]},"h":{"dtype":"BF16","shape":[2],"data_offsets":[40,44]},"n":{"dtype":"F16","shape":[1],"data_offsets":[44,46]},"w":{"dtype":"F64","shape":[2],"data_offsets":[46,62]}}' \
	'\000\000\200\077\000\000\000\100\000\000\100\100\000\000\200\100\000\000\040\300\000\000\300\177\000\000\200\177\000\000\200\377\007\000\000\000\377\377\377\377\000\077\200\276\000\176\232\231\231\231\231\231\271\077\232\231\231\231\231\231\311\077'
ok_run "--stats of known values" ckpt-cat --stats st.safetensors
cp out st.list
# VALUES... → min max mean std absmax, the population std, computed by awk
expect() { echo "$@" | awk '{ for (i = 1; i <= NF; i++) { s += $i; if (i == 1 || $i < mn) mn = $i; if (i == 1 || $i > mx) mx = $i }
	m = s / NF; for (i = 1; i <= NF; i++) v += ($i - m) ^ 2
	printf "%.17g %.17g %.17g %.17g %.17g\n", mn, mx, m, sqrt(v / NF), (-mn > mx ? -mn : mx) }'; }
stats_of() { grep "\"name\":\"$1\"" "$2" > one; for k in min max mean std absmax; do field $k < one; done | tr '\n' ' '; }
close() { echo "$1 $2" | awk -v tol="$3" '{ for (i = 1; i <= 5; i++) { a = $i; b = $(i + 5); d = a - b; if (d < 0) d = -d
	s = b < 0 ? -b : b; if (s < 1) s = 1; if (d > tol * s) bad = 1 } if (NF != 10) bad = 1; exit bad }'; }
check "--stats F32: finite values only, population std" 'close "$(stats_of v st.list)" "$(expect 1 2 3 4 -2.5)" 1e-15'
check "--stats F32: nan 1, inf 2" 'grep "\"name\":\"v\"" st.list | grep -q "\"nan\":1,\"inf\":2}$"'
check "--stats BF16" 'close "$(stats_of h st.list)" "$(expect 0.5 -0.25)" 1e-15'
check "--stats F64 (accumulated in f64)" 'close "$(stats_of w st.list)" "$(expect 0.1 0.2)" 1e-15'
check "--stats of an integer tensor: no statistics" 'grep "\"name\":\"i\"" st.list | grep -q "\"file\":\"st.safetensors\"}$"'
check "--stats of all-NaN: null, never bare NaN" 'grep "\"name\":\"n\"" st.list | grep -q "\"min\":null,\"max\":null,\"mean\":null,\"std\":null,\"absmax\":null,\"nan\":1,\"inf\":0}$" && ! grep -qi "nan[,}]" st.list'
check "--stats: the --list fields first" '[ "$(sed "s/,\"min\".*/}/" st.list | sed -n 1p)" = "{\"name\":\"v\",\"dtype\":\"F32\",\"shape\":[2,4],\"bytes\":32,\"file\":\"st.safetensors\"}" ]'
# An st-gen tensor: its values through -t f32 and od, summed here.
ckpt-cat -t f32 -s model.embed_tokens.weight x.safetensors > emb.f32
vals=$(data emb.f32 | od -An -v -tf4 | tr -s ' \n' '  ')
check "fixture: 16384 values read with od" '[ $(echo $vals | wc -w) -eq 16384 ]'
ok_run "--stats of a Llama tensor" ckpt-cat --stats -s model.embed_tokens.weight x.safetensors
check "--stats of a BF16 tensor agree with awk over its values" 'close "$(stats_of model.embed_tokens.weight out)" "$(expect $vals)" 1e-7'
check "--stats: no NaN/Inf in random values" 'grep -q "\"nan\":0,\"inf\":0}$" out'
ok_run "--stats of a stream" sh -c 'cat st.safetensors | ckpt-cat --stats -'
check "--stats of a stream: same numbers" '[ "$(sed "s/,\"file\":\"[^\"]*\"//" out)" = "$(sed "s/,\"file\":\"[^\"]*\"//" st.list)" ]'
ok_run "--stats of a sharded directory, selected" ckpt-cat --stats -s 'lm_head.weight' -s 'model.norm.weight' d
check "--stats of a directory: same as of the file" '[ "$(sed "s/,\"file\":\"[^\"]*\"//" out)" = "$(ckpt-cat --stats -s lm_head.weight -s model.norm.weight x.safetensors | sed "s/,\"file\":\"[^\"]*\"//")" ]'

# ---- several inputs ----
gen --tensor a:f32:3x4 -o A.safetensors
gen --tensor b:bf16:5 --tensor c:I32:2 -o B.safetensors
gen --tensor a:f32:3x4 --tensor b:bf16:5 --tensor c:I32:2 -o AB.safetensors
gen --tensor b:bf16:5 --tensor c:I32:2 --tensor a:f32:3x4 -o BA.safetensors
ok_run "two inputs" ckpt-cat A.safetensors B.safetensors
cmp_files "two inputs: one stream of both, in argument order" AB.safetensors out
ok_run "two inputs, other order" ckpt-cat B.safetensors A.safetensors
cmp_files "two inputs, other order: the other stream" BA.safetensors out
ok_run "a file and stdin" sh -c 'cat B.safetensors | ckpt-cat A.safetensors -'
cmp_files "a file and stdin: same stream" AB.safetensors out
ok_run "stdin and a file, -o dir" sh -c 'ckpt-cat -o ab - B.safetensors < A.safetensors'
cmp_files "stdin and a file to a directory: same tensors" AB.safetensors ab/model.safetensors
ok_run "a Llama directory and another file" ckpt-cat -o big.safetensors d two.safetensors
check "directory + file: 23 tensors, config carried" '[ $(ckpt-cat -l big.safetensors | wc -l) -eq 23 ] && head -c 300 big.safetensors | grep -q "\"config\":\"{"'
fail_run 1 "^ckpt-cat: tensor a is in both A\.safetensors and AB\.safetensors" \
	"a name in two inputs" ckpt-cat A.safetensors AB.safetensors
fail_run 1 "^ckpt-cat: tensor a is in both A\.safetensors and AB\.safetensors" \
	"a name in two inputs, -o" ckpt-cat -o dup.safetensors A.safetensors AB.safetensors
check "a name in two inputs: nothing left" 'nothing_left dup.safetensors'
fail_run 1 "^ckpt-cat: tensor b is in both <stdin> and AB\.safetensors" \
	"a name in stdin and a file, -o dir" sh -c 'ckpt-cat -o dupd - AB.safetensors < B.safetensors'
check "a name in two inputs, -o dir: nothing left" 'nothing_left dupd'
ok_run "a name in two inputs but excluded" ckpt-cat -x a A.safetensors AB.safetensors
check "excluded duplicate: b and c only" '[ "$(ckpt-cat -l - < out | names | tr "\n" " ")" = "b c " ]'

# ---- --meta: the __metadata__ as one JSON object a line, JSON-valued entries as JSON ----
H='{"__metadata__":{"format":"pt","note":"a {brace\" and a \"quote","recycle.merge":"{\"method\":\"linear\",\"inputs\":[\"a,b\",\"c\"],\"weights\":[0.10000000000000001,0.9]}","bad":"{not json"},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
mkst meta.safetensors "$H" '\0\0\200\077'
ok_run "--meta" ckpt-cat --meta meta.safetensors
check "one line, provenance as JSON, weights at full precision, other values strings" '[ "$(wc -l < out)" = 1 ] &&
	grep -qF "\"weights\":[0.10000000000000001,0.9]" out && [ "$(jq -r ".\"recycle.merge\".method" out)" = linear ] &&
	[ "$(jq -r ".\"recycle.merge\".inputs[0]" out)" = "a,b" ] &&
	[ "$(jq -r .note out)" = "a {brace\" and a \"quote" ] && [ "$(jq -r .bad out)" = "{not json" ] && [ "$(jq -r .format out)" = pt ]'
mkst nometa.safetensors '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}' '\0\0\200\077'
ok_run "--meta of a stream, and of a file without metadata" sh -c 'ckpt-cat --meta - nometa.safetensors < meta.safetensors'
check "a line per checkpoint in order; {} without metadata" '[ "$(wc -l < out)" = 2 ] && [ "$(sed -n 2p out)" = "{}" ] && [ "$(jq -r .format out | head -1)" = pt ]'
fail_run 2 "^ckpt-cat: --meta prints the metadata only" "--meta with --list" ckpt-cat --meta -l x.safetensors
fail_run 2 "^ckpt-cat: --meta prints the metadata only" "--meta with -o" ckpt-cat --meta -o q.safetensors x.safetensors

# ---- option spellings (recycle(7)): the new ones and the old ones kept for scripts agree ----
ckpt-cat -D f16 x.safetensors > sp1; ckpt-cat -t f16 x.safetensors > sp2; ckpt-cat --dtype f16 x.safetensors > sp3
check "-D, --dtype and the old -t: same bytes" 'cmp -s sp1 sp2 && cmp -s sp1 sp3 && ! cmp -s sp1 x.safetensors'
ckpt-cat --select a x.safetensors > sp4; ckpt-cat -s a x.safetensors > sp5
check "--select and the old -s: same bytes" 'cmp -s sp4 sp5 && [ -s sp4 ]'
ok_run "-c is --check" ckpt-cat -c x.safetensors
ok_run "-j is --threads" sh -c 'ckpt-cat -z -j 2 x.safetensors > sp6.zst && ckpt-cat sp6.zst | cmp -s - x.safetensors'
fail_run 1 "trunc" "-c finds a truncated file" sh -c 'head -c 100 x.safetensors > trunc.safetensors; ckpt-cat -c trunc.safetensors'

# ---- determinism ----
ok_run "same command twice, directory and zstd file" sh -c 'ckpt-cat -t f16 -o r1 --shard-size 50K d && ckpt-cat -t f16 -o r2 --shard-size 50K d &&
	ckpt-cat -o r1.safetensors.zst d && ckpt-cat -o r2.safetensors.zst d'
same=1; for f in r1/*; do cmp -s "$f" "r2/${f#r1/}" || same=0; done
check "same inputs, same bytes" '[ $same -eq 1 ] && cmp -s r1.safetensors.zst r2.safetensors.zst'

# ---- usage errors: exit 2 before any input is read ----
fail_run 2 "unrecognized option|unknown option" "unknown option" ckpt-cat --bogus x.safetensors
fail_run 2 "^ckpt-cat: no checkpoint given" "no CKPT" ckpt-cat
fail_run 2 "^ckpt-cat: no checkpoint given" "no CKPT, options only" ckpt-cat -t f32 -o q.safetensors
for t in int8 f8 i32 f64 "" x; do
	fail_run 2 "^ckpt-cat: --dtype: unknown dtype '$t'" "-t '$t' is a usage error" ckpt-cat -t "$t" x.safetensors
done
for z in 0 23 -1 abc 3x; do
	fail_run 2 "^ckpt-cat: -z: level must be 1\.\.22, not '$z'" "-z$z is a usage error" ckpt-cat "-z$z" x.safetensors
done
fail_run 2 "^ckpt-cat: --threads: bad count" "--threads 0" ckpt-cat -z --threads 0 x.safetensors
fail_run 2 "^ckpt-cat: --list and -o do not go together" "--list with -o" ckpt-cat -l -o q.safetensors x.safetensors
fail_run 2 "^ckpt-cat: --list and -o do not go together" "--stats with -o" ckpt-cat --stats -o q.safetensors x.safetensors
fail_run 2 "^ckpt-cat: --check .* does not go with" "--check with --list" ckpt-cat --check -l x.safetensors
fail_run 2 "^ckpt-cat: --check .* does not go with" "--check with -o" ckpt-cat --check -o q.safetensors x.safetensors
check "usage errors: nothing written" 'nothing_left q.safetensors'
fail_run 2 "^ckpt-cat: standard input \(-\) given twice" "stdin twice" sh -c 'ckpt-cat - - < x.safetensors'
# A usage error is found before anything is read: the (empty) input is not what is reported.
fail_run 2 "^ckpt-cat: standard input \(-\) given twice" "stdin twice, empty stdin: usage, not bad input" sh -c 'ckpt-cat - x.safetensors - < /dev/null'
fail_run 2 "Try 'ckpt-cat --help'" "usage errors point at --help" ckpt-cat -t bogus x.safetensors

t_done
