#!/bin/sh
# Hostile headers: safetensors headers that claim huge header lengths, shapes, offsets and models
# (through the "config" metadata) in a file of a few hundred bytes, given to ckpt-cat, wmerge and
# evalrun as files, as pipes and inside a Hugging Face directory. Each program must exit 1 with a
# message naming the input and what is wrong, and must not allocate for the claim: its peak
# resident memory (/usr/bin/time %M) stays under what it needs to start (measured here) + the
# input's size + 64 MiB, and under `ulimit -v` with the same bound it still fails for the input's
# fault, not with "out of memory". Under SAN=1 (ASan's shadow memory) only the exit status and the
# message are checked.
# shellcheck disable=SC3045,SC2154  # ulimit -v (dash and bash have it); vm_*, rss_* set by eval
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

BOUND=65536                          # KiB: the fixed allowance above the input's size
export OPENBLAS_NUM_THREADS=1        # OpenBLAS's threads reserve address space: keep it one
memcheck=1
[ "${SAN:-}" = 1 ] && memcheck=
[ -x /usr/bin/time ] || memcheck=

# FILE CONFIG: one 4-byte tensor and a "config" metadata entry claiming the model CONFIG
mkcfg() { mkst "$1" "{\"__metadata__\":{\"format\":\"pt\",\"config\":\"$(printf %s "$2" | sed 's/"/\\"/g')\"},\"model.embed_tokens.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}" 'abcd'; }

# The address space (KiB, in 16 MiB steps) and resident memory each program needs to start.
for p in ckpt-cat wmerge evalrun; do
	v=0 rss=0
	if [ -n "$memcheck" ]; then
		v=16384
		while [ $v -le 1048576 ] && ! (ulimit -v $v && exec $p --version > /dev/null 2>&1); do v=$((v + 16384)); done
		rss=$(/usr/bin/time -f %M $p --version 2>&1 > /dev/null | tail -n 1)
	fi
	eval "vm_$(echo $p | tr - _)=$v rss_$(echo $p | tr - _)=$rss"
done
[ -n "$memcheck" ] && check "each program starts in less than 1 GiB of address space (evalrun: $vm_evalrun KiB)" \
	'[ $vm_ckpt_cat -le 1048576 ] && [ $vm_wmerge -le 1048576 ] && [ $vm_evalrun -le 1048576 ]'

# hostile WHAT FILE REGEX PROG ARGS: PROG on FILE ({} in ARGS), as a file (ARGS with {} = FILE) and
# through a pipe ({} = -), exits 1 with "PROG: NAME: …" matching REGEX, within the memory bound.
# REGEX may hold FILE|PIPE alternatives as "file-regex//pipe-regex".
hostile() {
	h_what=$1 h_f=$2 h_re=$3 prog=$4; shift 4
	args=$*
	kb=1
	[ -f "$h_f" ] && kb=$(( $(wc -c < "$h_f") / 1024 + 1 ))
	var=$(echo "$prog" | tr - _)
	eval "vm=\$vm_$var rss0=\$rss_$var"
	for mode in file pipe; do
		case $mode in
		file) a=$(echo "$args" | sed "s|{}|$h_f|g; s|{2}|$h_f|g"); name="${h_f}[^:]*"; r=${h_re%%//*} ;;
		pipe) a=$(echo "$args" | sed "s|{}|-|g; s|{2}|fifo2|g"); name='(<stdin>|fifo2)'; r=${h_re#*//} ;;
		esac
		[ -d "$h_f" ] && [ $mode = pipe ] && continue
		wpid=
		if [ $mode = pipe ] && [ "$a" != "${a%fifo2*}" ]; then
			rm -f fifo2; mkfifo fifo2; cat "$h_f" > fifo2 2> /dev/null & wpid=$!
		fi
		rm -f rss
		if [ -n "$memcheck" ]; then
			# shellcheck disable=SC2086
			( ulimit -v $((vm + BOUND + kb)); if [ $mode = file ]; then exec timeout 30 /usr/bin/time -f %M -o rss $prog $a
			  else cat "$h_f" | timeout 30 /usr/bin/time -f %M -o rss $prog $a; fi ) > out 2> err
		else
			# shellcheck disable=SC2086
			( if [ $mode = file ]; then exec timeout 30 $prog $a; else cat "$h_f" | timeout 30 $prog $a; fi ) > out 2> err
		fi
		rc=$?
		# a second stream the program gave up on before opening it: release its writer
		[ -n "$wpid" ] && { kill $wpid 2> /dev/null; wait $wpid 2> /dev/null; }
		if [ $rc -ne 1 ]; then t_notok "$prog, $h_what ($mode): exit 1" "exit $rc: $prog $a"
		elif grep -q "out of memory" err; then t_notok "$prog, $h_what ($mode): fails for the input, not out of memory" "$prog $a"
		elif ! head -n 1 err | grep -Eq "^$prog: $name: .*($r)"; then t_notok "$prog, $h_what ($mode): message" "stderr does not start with /^$prog: $name: .*($r)/"
		else t_ok "$prog, $h_what ($mode): exit 1, message"; fi
		if [ -n "$memcheck" ]; then
			peak=$(tail -n 1 rss 2> /dev/null)
			check "$prog, $h_what ($mode): peak memory ${peak:-?} KiB <= $rss0 + $kb + $BOUND" \
				'[ -n "$peak" ] && [ "$peak" -le $((rss0 + kb + BOUND)) ]'
		fi
	done
}

printf '{"text_ids":[1,2,3]}\n' > t.jsonl
gen --tensor a:F32:4 -o ok.safetensors

# Claims about the header itself.
{ le64 99999999; printf '{}'; } > hdrlen.st
hostile "header length 99 999 999, 2 bytes follow" hdrlen.st "header length 99999999 runs past the end of the (file|input)" ckpt-cat --check {}
hostile "header length 99 999 999, 2 bytes follow" hdrlen.st "header length 99999999 runs past the end" wmerge -q -w 0.5,0.5 {} '{2}'
hostile "header length 99 999 999, 2 bytes follow" hdrlen.st "header length 99999999 runs past the end" evalrun -q -t t.jsonl {}
printf '\377\377\377\377\377\377\377\377{}' > hdrmax.st
for p in "ckpt-cat --check" "wmerge -q -w 0.5,0.5" "evalrun -q -t t.jsonl"; do
	hostile "header length 2^64-1" hdrmax.st "exceeds the 100000000-byte limit" $p '{}' $( [ "${p%% *}" = wmerge ] && echo '{2}')
done

# Claims about tensors: a 4 TB tensor, a shape whose size overflows, data 2^62 bytes in, a
# 10 GB tensor; 4 bytes of data each.
mkst huge.st '{"a":{"dtype":"F32","shape":[1000000000000],"data_offsets":[0,4000000000000]}}' 'abcd'
mkst ovf.st '{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}}' 'abcd'
mkst far.st '{"a":{"dtype":"F32","shape":[1],"data_offsets":[4611686018427387904,4611686018427387908]}}' 'abcd'
mkst ten.st '{"a":{"dtype":"F32","shape":[2684354560],"data_offsets":[0,10737418240]}}' 'abcd'
for p in "ckpt-cat" "ckpt-cat --check" "wmerge -q -w 0.5,0.5 {2}" "wmerge -q -m slerp -w 0.5,0.5 {2}"; do
	hostile "a 4 TB tensor" huge.st "data_offsets end 4000000000000 past the data section//truncated in tensor a" $p {}
	hostile "a shape of 2^68 elements" ovf.st "tensor a: shape's byte count overflows" $p {}
	hostile "data 2^62 bytes in" far.st "data_offsets end 4611686018427387908 past the data section//gap of 4611686018427387904 bytes before its data" $p {}
	hostile "a 10 GB tensor" ten.st "data_offsets end 10737418240 past the data section//truncated in tensor a" $p {}
done
# evalrun reads the config before the data: a stream without one stops there.
E="evalrun -q -t t.jsonl"
hostile "a 4 TB tensor" huge.st "data_offsets end 4000000000000 past the data section//no config.json" $E {}
hostile "a shape of 2^68 elements" ovf.st "tensor a: shape's byte count overflows" $E {}
hostile "data 2^62 bytes in" far.st "data_offsets end 4611686018427387908 past the data section//gap of 4611686018427387904 bytes before its data" $E {}
hostile "a 10 GB tensor" ten.st "data_offsets end 10737418240 past the data section//no config.json" $E {}

# A 10 GB tensor on two pipes at once: wmerge reads both streams (slerp holds whole tensors).
mkfifo fifo
for m in linear slerp; do
	cat ten.st > fifo &
	if [ -n "$memcheck" ]; then
		( ulimit -v $((vm_wmerge + BOUND + 1)); cat ten.st | timeout 30 /usr/bin/time -f %M -o rss wmerge -q -m $m -w 0.5,0.5 - fifo ) > out 2> err
	else
		( cat ten.st | timeout 30 wmerge -q -m $m -w 0.5,0.5 - fifo ) > out 2> err
	fi
	rc=$?
	wait
	check "wmerge -m $m, a 10 GB tensor on two pipes: exit 1, truncated, not out of memory" \
		'[ $rc -eq 1 ] && grep -q "^wmerge: <stdin>: truncated in tensor a" err && ! grep -q "out of memory" err'
	[ -n "$memcheck" ] && check "wmerge -m $m, two pipes: peak memory $(tail -n 1 rss) KiB <= $rss_wmerge + 1 + $BOUND" \
		'[ "$(tail -n 1 rss)" -le $((rss_wmerge + 1 + BOUND)) ]'
done

# A Hugging Face directory whose index names a shard claiming a 4 TB tensor, and an index claiming
# a huge total size and a shard that is not there.
mkdir hfdir hfmiss
cp huge.st hfdir/model-00001-of-00001.safetensors
printf '{"metadata":{"total_size":4000000000000},"weight_map":{"a":"model-00001-of-00001.safetensors"}}\n' > hfdir/model.safetensors.index.json
printf '{"metadata":{"total_size":1e300},"weight_map":{"a":"model-00001-of-99999.safetensors"}}\n' > hfmiss/model.safetensors.index.json
hostile "a directory whose shard claims 4 TB" hfdir "tensor a: data_offsets end 4000000000000 past the data section" ckpt-cat --check {}
hostile "a directory whose shard claims 4 TB" hfdir "tensor a: data_offsets end 4000000000000 past the data section" evalrun -q -t t.jsonl {}
hostile "an index naming a shard that is not there" hfmiss "No such file or directory" ckpt-cat --check {}

# Models claimed by the "config" metadata, with one 4-byte tensor: evalrun must refuse the
# checkpoint without building the claimed model first.
mkcfg m7b.st '{"vocab_size":32000,"hidden_size":4096,"num_hidden_layers":32,"num_attention_heads":32,"intermediate_size":11008}'
mkcfg m2g.st '{"vocab_size":32000,"hidden_size":2048,"num_hidden_layers":8,"num_attention_heads":16,"intermediate_size":5632}'
mkcfg layers1m.st '{"vocab_size":8,"hidden_size":4,"num_hidden_layers":1000000,"num_attention_heads":2,"intermediate_size":4}'
mkcfg layers300m.st '{"vocab_size":8,"hidden_size":4,"num_hidden_layers":300000000,"num_attention_heads":2,"intermediate_size":4}'
hostile "config of a 7B model, one tiny tensor" m7b.st "tensor|config|layers" evalrun -q -t t.jsonl {}
hostile "config of a 2 GB model, one tiny tensor" m2g.st "tensor|config|layers" evalrun -q -t t.jsonl {}
hostile "config of 1 000 000 layers, one tiny tensor" layers1m.st "tensor|config|layers" evalrun -q -t t.jsonl {}
hostile "config of 300 000 000 layers, one tiny tensor" layers300m.st "tensor|config|layers" evalrun -q -t t.jsonl {}

# The bound is not too tight: valid inputs go through under the same limits.
if [ -n "$memcheck" ]; then
	( ulimit -v $((vm_ckpt_cat + BOUND + 1)); exec ckpt-cat --check ok.safetensors ) > out 2> err
	check "control: ckpt-cat --check of a valid file under the limit" '[ $? -eq 0 ]'
	( ulimit -v $((vm_wmerge + BOUND + 1)); cat ok.safetensors | wmerge -q -w 0.5,0.5 - ok.safetensors ) > out 2> err
	check "control: wmerge of a valid pipe under the limit" '[ $? -eq 0 ] && [ -s out ]'
else
	T_N=$((T_N + 1)); echo "ok $T_N # skip memory bounds (SAN=1 or no /usr/bin/time)"
fi
t_done
