#!/bin/sh
# Fault injection for every program: a full disk (a small tmpfs when root can mount one, and
# /dev/full), a closed pipe (SIGPIPE ignored, so the write fails with EPIPE), read errors (standard
# input that is a directory), an input file truncated while it is mapped and read, a stream whose
# writer dies, SIGTERM and SIGKILL during a write. Each must end with a non-zero status and a
# message, leave no partial output (SIGKILL may leave a .NAME.tmp.PID, never a half-written NAME),
# and pipelines/optimize, killed while scoring, must resume without losing or failing a candidate.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"
OPT=$TOP/pipelines/optimize

# closed CMD...: CMD, with SIGPIPE ignored, writes to a pipe whose reader has gone; status in rc,
# stderr in err. The writer opens the pipe while this shell holds the read end, which is closed
# before CMD starts.
closed() {
	rm -f cp.fifo cp.ready cp.gate; mkfifo cp.fifo cp.ready cp.gate
	exec 4<> cp.fifo
	sh -c 'echo > cp.ready; read -r x < cp.gate; trap "" PIPE; exec "$@"' sh "$@" > cp.fifo 4<&- 2> err &
	cpid=$!
	read -r x < cp.ready
	exec 4<&-
	echo > cp.gate
	wait $cpid
	rc=$?
}
# stalled OUT CMD...: CMD (its standard input: the first 60 000 bytes of big.safetensors, then
# nothing until released) in the background as $cpid, once OUT's temporary or OUT itself exists
# (or 10 s passed; OUT "-": after 0.3 s). release lets the rest through.
stalled() {
	so=$1; shift
	rm -f st.in st.gate; mkfifo st.in st.gate
	{ head -c 60000 big.safetensors; read -r x < st.gate; tail -c +60001 big.safetensors; } > st.in 2> /dev/null &
	wpid=$!
	"$@" < st.in > out 2> err &
	cpid=$!
	i=0
	[ "$so" = - ] && sleep 0.3 && return
	while [ $i -lt 100 ] && [ ! -e "$so" ] && no_tmp "$so"; do
		sleep 0.1; i=$((i + 1))
	done
}
release() { echo > st.gate 2> /dev/null; wait $wpid 2> /dev/null; }

gen -t f32 --llama hidden=64,layers=2,vocab=256,ff=128,heads=2 -o x.safetensors
gen -t f32 --llama hidden=256,layers=2,vocab=256,ff=512,heads=4 -o big.safetensors
gen --seed 2 -t f32 --llama hidden=256,layers=2,vocab=256,ff=512,heads=4 -o big2.safetensors
printf '{"text":"hello world"}\n{"text":"merge me"}\n' > t.jsonl
cmaes-step init --names a,b --seed 3 --popsize 4 > state.json
cmaes-step ask state.json > cand.ndjson
awk '{ sub(/}$/, ",\"fitness\":" NR "}"); print }' cand.ndjson > scored.ndjson
printf '{"id":"p","scores":{"a":1,"b":2}}\n{"id":"q","scores":{"a":2,"b":1}}\n' > sc.ndjson
TRAIN="ckpt-train -q -t t.jsonl --config hidden=8,layers=1,heads=2,kv-heads=1,ff=8,vocab=256 -n 2 -d f32"

# ---- a full disk: standard output on /dev/full ----
for c in "wmerge -q -w 0.5,0.5 x.safetensors x.safetensors" "evalrun -q -t t.jsonl x.safetensors" \
         "cmaes-step init --dim 2" "cmaes-step ask state.json" "pareto sc.ndjson" "pareto --svg - sc.ndjson" \
         "task-gen --list" "ckpt-cat -l x.safetensors" "$TRAIN -o -"; do
	fail_run 1 "^${c%% *}: .*No space left on device" "$c > /dev/full: exit 1, message" sh -c "exec $c > /dev/full"
done
cp state.json state.orig
fail_run 1 "^cmaes-step: .*No space left on device" "cmaes-step tell > /dev/full: exit 1, message" sh -c 'exec cmaes-step tell state.json < scored.ndjson > /dev/full'
cmp_files "cmaes-step tell > /dev/full: the state is unchanged" state.orig state.json

# ---- a full disk: a small tmpfs ----
mkdir mnt
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=256k tmpfs mnt 2> /dev/null; then
	fail_run 1 "^ckpt-cat: mnt/o\.safetensors: .*No space left on device" "ckpt-cat -o on a full tmpfs" ckpt-cat -o mnt/o.safetensors big.safetensors
	check "ckpt-cat -o on a full tmpfs: nothing left" '[ -z "$(ls -A mnt)" ]'
	fail_run 1 "^wmerge: mnt/w\.safetensors: .*No space left on device" "wmerge -o file on a full tmpfs" wmerge -q -w 0.5,0.5 -o mnt/w.safetensors big.safetensors big2.safetensors
	check "wmerge -o file on a full tmpfs: nothing left" '[ -z "$(ls -A mnt)" ]'
	fail_run 1 "^wmerge: mnt/wd.*No space left on device" "wmerge -o directory on a full tmpfs" wmerge -q -w 0.5,0.5 --shard-size 100K -o mnt/wd big.safetensors big2.safetensors
	check "wmerge -o directory on a full tmpfs: nothing left" '[ -z "$(ls -A mnt)" ]'
	cp state.json mnt/state.json
	cat /dev/zero > mnt/fill 2> /dev/null
	fail_run 1 "^ckpt-train: mnt/m\.safetensors: .*No space left on device" "ckpt-train -o on a full tmpfs" $TRAIN -o mnt/m.safetensors
	check "ckpt-train -o on a full tmpfs: nothing left" 'nothing_left mnt/m.safetensors'
	fail_run 1 "^cmaes-step: .*No space left on device" "cmaes-step tell, its state on a full tmpfs" cmaes-step tell mnt/state.json scored.ndjson
	cmp_files "cmaes-step tell on a full tmpfs: the state is unchanged" state.json mnt/state.json
	check "cmaes-step tell on a full tmpfs: no temporary left" '[ "$(ls -A mnt | tr "\n" " ")" = "fill state.json " ]'
	fail_run 1 "^pareto: .*No space left on device" "pareto --svg on a full tmpfs" pareto --svg mnt/f.svg sc.ndjson
	check "pareto --svg on a full tmpfs: nothing left" 'nothing_left mnt/f.svg'
	fail_run 1 "^task-gen: .*No space left on device" "task-gen -o on a full tmpfs" task-gen -o mnt/tasks --train 5 --dev 5 --test 5 add
	check "task-gen -o on a full tmpfs: no task file left" '[ -z "$(ls -A mnt/tasks 2> /dev/null)" ]'
	fail_run 1 "^evalrun: .*No space left on device" "evalrun > a full tmpfs" sh -c 'exec evalrun -q -t t.jsonl x.safetensors > mnt/e.json'
	umount mnt
else
	T_N=$((T_N + 1)); echo "ok $T_N # skip cannot mount a small tmpfs (not root?): -o on a full disk"
fi

# ---- a closed pipe (EPIPE) ----
for c in "wmerge -q -w 0.5,0.5 x.safetensors x.safetensors" "evalrun -q -t t.jsonl x.safetensors" \
         "cmaes-step init --dim 2" "cmaes-step ask state.json" "pareto sc.ndjson" "task-gen --list" \
         "ckpt-cat -l x.safetensors" "ckpt-cat x.safetensors" "$TRAIN -o -"; do
	closed $c
	check "$c into a closed pipe: exit 1 with a message" '[ $rc -eq 1 ] && grep -q "^${c%% *}: .*Broken pipe" err'
done
cp state.json state.orig
closed cmaes-step tell state.json scored.ndjson
check "cmaes-step tell into a closed pipe: exit 1 with a message" '[ $rc -eq 1 ] && grep -q "^cmaes-step: .*Broken pipe" err'
cmp_files "cmaes-step tell into a closed pipe: the state is unchanged" state.orig state.json

# ---- read errors: standard input is a directory ----
mkdir dir
for c in "ckpt-cat -" "wmerge -q -w 0.5,0.5 - x.safetensors" "evalrun -q -t t.jsonl -" "evalrun -q -r - -t t.jsonl x.safetensors" \
         "cmaes-step tell state.json" "pareto" "task-gen --check -" "ckpt-train -q -t - --config hidden=8,layers=1,heads=2,kv-heads=1,ff=8,vocab=256 -n 1 -o r.safetensors"; do
	fail_run 1 "^${c%% *}: .*(Is a directory|is a directory)" "$c < a directory: exit 1, message" sh -c "exec $c < dir"
done
cmp_files "cmaes-step tell with a read error: the state is unchanged" state.orig state.json

# ---- a stream whose writer dies ----
fail_run 1 "^wmerge: <stdin>: truncated in tensor" "wmerge -o from a stream whose writer is killed" \
	sh -c 'sh -c "head -c 300000 big.safetensors; kill -9 \$\$" | wmerge -q -w 0.5,0.5 -o w.safetensors - big2.safetensors'
check "...no output left" 'nothing_left w.safetensors'
fail_run 1 "^evalrun: <stdin>: truncated in tensor" "evalrun from a stream whose writer is killed" \
	sh -c 'sh -c "head -c 300000 big.safetensors; kill -9 \$\$" | evalrun -q -t t.jsonl -'
check "...no record printed" '[ ! -s out ]'

# ---- an input file truncated while it is mapped and read ----
# ckpt-cat copies a mapped file to a pipe read 100 KB at a time; the file loses its second half.
cp big.safetensors cut.safetensors
rm -f pace; mkfifo pace
ckpt-cat cut.safetensors > pace 2> err &
cpid=$!
{ head -c 100000 > /dev/null; truncate -s $(($(wc -c < big.safetensors) / 2)) cut.safetensors; cat > /dev/null; } < pace
wait $cpid; rc=$?
check "ckpt-cat: its input file truncated while read: exit 1 (not a signal, status $rc)" '[ $rc -eq 1 ]'
check "ckpt-cat: its input file truncated while read: a message naming it" 'grep -q "^ckpt-cat: cut\.safetensors: " err'
{ wait $cpid; } 2> /dev/null
# wmerge -o: a stream that stalls paces it; meanwhile its mapped input loses its second half.
cp big2.safetensors cut.safetensors
stalled w.safetensors wmerge -q -w 0.5,0.5 -o w.safetensors - cut.safetensors
truncate -s $(($(wc -c < big2.safetensors) / 2)) cut.safetensors
release; wait $cpid; rc=$?
check "wmerge -o: a mapped input truncated while read: exit 1 (not a signal, status $rc)" '[ $rc -eq 1 ]'
check "wmerge -o: a mapped input truncated while read: a message naming it" 'grep -q "^wmerge: cut\.safetensors: " err'
check "wmerge -o: a mapped input truncated while read: no output left" 'nothing_left w.safetensors'
rm -f w.safetensors .w.safetensors.tmp.*

# ---- SIGTERM and SIGKILL during a write ----
for sig in TERM KILL; do
	st=143; [ $sig = KILL ] && st=137
	for o in w.safetensors wdir; do
		stalled $o wmerge -q -w 0.5,0.5 --shard-size 1M -o $o - big2.safetensors
		check "wmerge -o $o: writing when SIG$sig comes" '[ -n "$(ls -A | grep "^\.$o\.tmp\.")" ]'
		kill -$sig $cpid; { wait $cpid; } 2> /dev/null; rc=$?
		release
		check "wmerge -o $o, SIG$sig: status $st" '[ $rc -eq $st ]'
		if [ $sig = TERM ]; then check "wmerge -o $o, SIGTERM: nothing left" 'nothing_left $o'
		else check "wmerge -o $o, SIGKILL: no $o, only its temporary" '[ ! -e $o ]'; fi
		rm -rf .$o.tmp.*
	done
	cp state.json state.orig
	rm -f tell.in; mkfifo tell.in
	{ head -n 2 scored.ndjson; sleep 30; } > tell.in &
	wpid=$!
	cmaes-step tell state.json < tell.in > out 2> err &
	cpid=$!
	sleep 0.3; kill -$sig $cpid; { wait $cpid; } 2> /dev/null; rc=$?
	kill $wpid 2> /dev/null; { wait $wpid; } 2> /dev/null
	check "cmaes-step tell, SIG$sig while reading: status $st, the state unchanged" '[ $rc -eq $st ] && cmp -s state.orig state.json'
	check "cmaes-step tell, SIG$sig: no temporary left" '[ $sig = KILL ] || no_tmp state.json'
	ckpt-train -q -t t.jsonl --config hidden=64,layers=2,heads=2,kv-heads=1,ff=64,vocab=256 -n 100000 -o m.safetensors 2> err &
	cpid=$!
	sleep 0.5; kill -$sig $cpid; { wait $cpid; } 2> /dev/null; rc=$?
	check "ckpt-train -o, SIG$sig while training: status $st, no m.safetensors" '[ $rc -eq $st ] && [ ! -e m.safetensors ]'
	stalled - evalrun -q -t t.jsonl -
	kill -$sig $cpid; { wait $cpid; } 2> /dev/null; rc=$?
	release
	check "evalrun from a stalled stream, SIG$sig: status $st, no record printed" '[ $rc -eq $st ] && [ ! -s out ]'
done
# SIGKILL at moments spread over a paced write: the final name, when there, is the whole output.
wmerge -q -w 0.5,0.5 -o ref.safetensors - big2.safetensors < big.safetensors
half=0 mid=0 whole=0
for d in 0.05 0.15 0.3 0.45 0.6 0.8; do
	rm -f w.safetensors .w.safetensors.tmp.*
	{ head -c 2000000 big.safetensors; sleep 0.4; tail -c +2000001 big.safetensors; } |
		wmerge -q -w 0.5,0.5 -o w.safetensors - big2.safetensors 2> err &
	cpid=$!
	sleep $d; kill -9 $cpid 2> /dev/null; { wait $cpid; } 2> /dev/null
	[ -e w.safetensors ] && ! cmp -s ref.safetensors w.safetensors && half=$((half + 1))
	[ -e w.safetensors ] && cmp -s ref.safetensors w.safetensors && whole=$((whole + 1))
	[ ! -e w.safetensors ] && ! no_tmp w.safetensors && mid=$((mid + 1))
done
check "SIGKILL at 6 moments of wmerge -o ($mid while writing, $whole after): never a half-written w.safetensors" \
	'[ $half -eq 0 ] && [ $mid -ge 1 ]'
rm -f .w.safetensors.tmp.*

# ---- pipelines/optimize killed while scoring: resumes, nothing lost ----
mkdir tasks ck wrap
printf '{"text":"abc abc"}\n{"text":"hello hello"}\n' > tasks/words.dev.jsonl
printf '{"text":"1+7=8"}\n{"text":"2+14=16"}\n' > tasks/sums.dev.jsonl
for s in 1 2 3; do gen --seed $s --scale 0.5 -t f32 --llama hidden=16,layers=1,vocab=256,ff=32,heads=2,kv=1 -o ck/m$s; done
DEV='tasks/words.dev.jsonl tasks/sums.dev.jsonl'
ARGS="--budget 8 --popsize 4 --seed 5 --no-random --holdout 0 --surrogate none"
# evalrun that, once, right after scoring candidate g0001-01, signals the whole run
cat > wrap/evalrun <<WRAP
#!/bin/sh
"$BIN/evalrun" "\$@"; rc=\$?
for a; do case \$a in *g0001-01.cand.json)
	[ -e "$T_DIR/\$FAULT.done" ] || { : > "$T_DIR/\$FAULT.done"; kill -\$FAULT -\$(ps -o pgid= -p \$\$ | tr -d ' '); sleep 5; } ;;
esac; done
exit \$rc
WRAP
chmod +x wrap/evalrun
# A record's "eval" timing differs from run to run: compare the rest.
ok_run "optimize: uninterrupted reference run" sh "$OPT" -q -d wref -t "$DEV" $ARGS ck/m1 ck/m2 ck/m3
for sig in TERM KILL; do
	FAULT=$sig PATH="$T_DIR/wrap:$PATH" setsid sh "$OPT" -q -d w$sig -t "$DEV" $ARGS ck/m1 ck/m2 ck/m3 > /dev/null 2>&1 &
	pid=$!
	{ wait $pid; } 2> /dev/null; rc=$?
	check "optimize: SIG$sig came while g0001-01 was scored (status $rc)" '[ -e $sig.done ] && [ $rc -ne 0 ] && [ ! -s w$sig/report.md ]'
	scored=0
	for f in w"$sig"/cmaes/g000[01]/*.json; do case $f in *cand*) ;; *) [ -e "$f" ] && scored=$((scored + 1)) ;; esac; done
	cp -r w$sig w$sig.before
	ok_run "optimize after SIG$sig: resumes to the end" sh "$OPT" -q -d w$sig -t "$DEV" $ARGS ck/m1 ck/m2 ck/m3
	untimed wref/scores.ndjson > s.ref; untimed w$sig/scores.ndjson > s.$sig
	cmp_files "optimize after SIG$sig: same scores as the uninterrupted run" s.ref s.$sig
	cmp_files "optimize after SIG$sig: same final state" wref/cmaes/state.json w$sig/cmaes/state.json
	check "optimize after SIG$sig: no candidate recorded as failed" '! grep -q "\"failed\":true" w$sig/scores.ndjson'
	kept=0
	for f in w"$sig".before/cmaes/g000*/*.json; do
		f=${f#w"$sig".before/}
		case $f in *cand*) ;; *) cmp -s w$sig.before/$f w$sig/$f && kept=$((kept + 1)) ;; esac
	done
	check "optimize after SIG$sig: the $scored records scored before it are kept as they were" '[ $scored -ge 4 ] && [ $kept -eq $scored ]'
	check "optimize after SIG$sig: no temporary left" '[ -z "$(find w$sig -name "*.tmp*" -o -name "*.err.*" -o -name "*.st.*")" ]'
done

# ---- optimize signalled alone (kill PID, not its process group) ----
# evalrun that, once, while candidate $HOLD_AT is scored, says so and waits for $T_DIR/$HOLD.go.
cat > wrap/evalrun <<WRAP
#!/bin/sh
for a; do case \$a in *\$HOLD_AT.cand.json)
	[ -e "$T_DIR/\$HOLD.held" ] || { : > "$T_DIR/\$HOLD.held"; i=0; while [ ! -e "$T_DIR/\$HOLD.go" ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done; } ;;
esac; done
exec "$BIN/evalrun" "\$@"
WRAP
# run_held NAME [CAND]: optimize in wNAME, in the background ($pid, a session of its own, SIGINT
# not ignored as an asynchronous command's is), until it waits in candidate CAND's evaluation
# (default g0001-01); $RUNOPTS: more options.
RUNOPTS=
run_held() {
	# shellcheck disable=SC2086 # $ARGS, $RUNOPTS: options, one word each
	HOLD=$1 HOLD_AT=${2:-g0001-01} PATH="$T_DIR/wrap:$PATH" setsid perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV or die "$ARGV[0]: $!\n"' \
		sh "$OPT" -q -d w$1 -t "$DEV" $ARGS $RUNOPTS ck/m1 ck/m2 ck/m3 > /dev/null 2> $1.err &
	pid=$!
	i=0; while [ ! -e $1.held ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
}
# left DIR: the processes still running whose command line names DIR.
left() { pgrep -a -f -- "$T_DIR/$1"; }
# (TERM again with the make runner: the sub-make's tree.)
for sig in TERM INT HUP TERM-make; do
	name=alone$sig RUNOPTS='' how=''
	[ "$sig" != TERM-make ] || { sig=TERM RUNOPTS='--runner make -j 2' how=' (--runner make)'; }
	run_held $name
	kill -$sig $pid; { wait $pid; } 2> /dev/null; rc=$?
	sleep 0.5
	check "optimize sent SIG$sig alone$how: it dies of it (status $rc)" '[ -e $name.held ] && [ $rc -gt 128 ] && [ "$(kill -l $((rc - 128)))" = $sig ]'
	check "optimize sent SIG$sig alone$how: nothing it started still runs" '[ -z "$(left w$name)" ]'
	ok_run "optimize after SIG$sig alone$how: a rerun resumes to the end" sh "$OPT" -q -d w$name -t "$DEV" $ARGS $RUNOPTS ck/m1 ck/m2 ck/m3
	untimed w$name/scores.ndjson > s.alone
	cmp_files "optimize after SIG$sig alone$how: same scores as the uninterrupted run" s.ref s.alone
done
RUNOPTS=
# SIGKILL cannot be passed on: the run's children go on, and hold the lock, until the search sees
# at the next generation that optimize is gone.
run_held aloneKILL g0000-01
kill -KILL $pid; { wait $pid; } 2> /dev/null
fail_run 1 "another run holds this work directory \(lock: .*; the processes holding it here: [0-9]" "optimize killed alone (-9) while its children run: a rerun is refused, naming them" \
	sh "$OPT" -q -d waloneKILL -t "$DEV" $ARGS ck/m1 ck/m2 ck/m3
check "... and it did not touch the run" '[ -n "$(left waloneKILL)" ] && [ ! -e waloneKILL/report.md ]'
: > aloneKILL.go
flock -w 120 waloneKILL/lock true
check "...the search stopped at the next generation" '[ "$(jq .evals waloneKILL/cmaes/state.json)" -eq 4 ] &&
	grep -q "search: the run that started it (process [0-9]*) is gone: stopping before generation 1" aloneKILL.err'
ok_run "optimize killed alone (-9): once its children ended, a rerun resumes to the end" sh "$OPT" -q -d waloneKILL -t "$DEV" $ARGS ck/m1 ck/m2 ck/m3
untimed waloneKILL/scores.ndjson > s.alone
cmp_files "optimize killed alone (-9): same scores as the uninterrupted run" s.ref s.alone
cmp_files "optimize killed alone (-9): same final state" wref/cmaes/state.json waloneKILL/cmaes/state.json
t_done
