# pipelines/lib.sh — what the pipeline scripts share: messages, atomic writes, the work-directory
# lock, the run's settings (WORKDIR/run.json, read with jq: records are never parsed with regular
# expressions), the model a candidate stands for, and the one runner every evaluation goes
# through (local processes, a sub-make, or a Slurm job array).

PROG=${PROG:-$(basename "$0")}
export VERSION=0.1.0

die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
usage_die() { printf '%s: %s\nTry '\''%s --help'\'' for more information.\n' "$PROG" "$*" "$PROG" >&2; exit 2; }
say() { [ -n "${QUIET:-}" ] || printf '%s: %s\n' "$PROG" "$*" >&2; }

# The recycle programs: from PATH, else from bin/ beside pipelines/ in a checkout, or from
# PREFIX/bin when installed (PREFIX/libexec/recycle/ holds the pipelines).
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
if ! command -v wmerge > /dev/null 2>&1; then
	for _b in "$here/../bin" "$here/../../bin"; do
		[ -x "$_b/wmerge" ] && { PATH="$(cd "$_b" && pwd):$PATH"; break; }
	done
fi
export PATH
command -v jq > /dev/null 2>&1 || die "jq is needed to read records (Debian package jq)"

# atomic_write FILE: standard input into FILE, through a temporary sibling renamed at the end.
atomic_write() {
	_t="$1.tmp.$$"
	if cat > "$_t"; then mv -f "$_t" "$1"; else rm -f "$_t"; return 1; fi
}

# lock_workdir DIR: hold DIR/lock (fd 9) for the life of this process and of every process it
# starts, which inherit the descriptor: a second run fails while anything of this one still runs,
# even when this one was killed alone (kill -9 PID) and its children went on.
lock_workdir() {
	exec 9> "$1/lock" || die "$1/lock: cannot open"
	command -v flock > /dev/null || die "flock (util-linux) is needed for the work-directory lock"
	flock -n 9 && return 0
	# Who holds it, on this host: the processes whose descriptor 9 is the lock.
	_l=$(cd "$1" && pwd -P)/lock
	_h=$(for _p in /proc/[0-9]*; do
		[ "${_p#/proc/}" != $$ ] && [ "$(readlink "$_p/fd/9" 2> /dev/null)" = "$_l" ] && printf ' %s' "${_p#/proc/}"; done)
	die "$1: another run holds this work directory (lock: $1/lock${_h:+; the processes holding it here:$_h})"
}

# run_child CMD...: CMD (a command or a function) as this script's one child, waited for, so that
# a TERM, INT or HUP sent to the script alone (kill PID, timeout, a batch system) stops CMD and
# everything CMD started (with TERM) before the script dies of the same signal, as when the whole
# process group is signalled. (A shell runs a trap only once its foreground child has ended: so
# the child runs in the background, with the script's standard input, and the shell waits for it;
# a background child ignores INT, hence TERM for the tree.)
# ON_SIGNAL, when set, is run (eval) first: to cancel what the tree cannot reach (a Slurm job).
_child=
run_child() {
	if [ -z "${_traps:-}" ]; then
		_traps=1
		{ command exec 8<&0; } 2> /dev/null || exec 8< /dev/null
		trap 'on_signal TERM' TERM
		trap 'on_signal INT' INT
		trap 'on_signal HUP' HUP
	fi
	"$@" 0<&8 8<&- &
	_child=$!
	wait "$_child"
	_crc=$?
	_child=
	return $_crc
}
on_signal() {
	trap - "$1"
	[ -z "${ON_SIGNAL:-}" ] || eval "$ON_SIGNAL"
	[ -z "$_child" ] || kill_tree TERM "$_child"
	kill -"$1" $$
}
# kill_tree SIG PID: PID and every process under it, each stopped while its children are listed
# (a stopped process starts no other), the deepest first.
kill_tree() {
	kill -STOP "$2" 2> /dev/null || return 0
	for _p in $(ps -o pid= --ppid "$2" 2> /dev/null); do kill_tree "$1" "$_p"; done
	kill -"$1" "$2" 2> /dev/null
	kill -CONT "$2" 2> /dev/null
}

# shquote WORD: WORD as one shell word, single-quoted (for eval and generated scripts).
shquote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# dur SECONDS: 1h02m, 3m05s or 42s.
dur() {
	if [ "$1" -ge 3600 ]; then printf '%dh%02dm' $(($1 / 3600)) $(($1 % 3600 / 60))
	elif [ "$1" -ge 60 ]; then printf '%dm%02ds' $(($1 / 60)) $(($1 % 60))
	else printf '%ds' "$1"; fi
}

# setting WORK JQ-FILTER: a setting of the run (WORK/run.json), as jq -r prints it.
setting() { jq -r "$2" "$1/run.json"; }

# ckpt_args WORK: the checkpoints' paths in argument order, as shell words for eval.
ckpt_args() { jq -r '[.ckpts[].path] | @sh' "$1/run.json"; }

# The jq definition of a record's dev macro-average: the mean of its scores, null when a score
# is missing, null or the record has none (failed). Records rank by it everywhere.
export JQ_MEAN='def mean: if (.scores | type) == "object" and (.scores | length) > 0 and
	([.scores[] | select(type != "number")] | length) == 0
	then ([.scores[]] | add / length) else null end;'

# cand_weights WORK CAND: the candidate's weights as {"weights":[...]} in argument order, for
# wmerge -w @FILE (names never reach wmerge's command line, so any name works).
cand_weights() {
	jq -c --slurpfile r "$1/run.json" '{weights: [(.weights // {}) as $w | $r[0].ckpts[].name | ($w[.] // 0)]}' "$2"
}

# cand_single WORK CAND: the path of the checkpoint a "single" candidate is, else nothing.
cand_single() {
	jq -r --slurpfile r "$1/run.json" 'if .single != null then $r[0].ckpts[.single].path else empty end' "$2"
}

# run_dir WORK: the directory optimize was started in, where the run's commands run (a relative
# path in --harness, --eval-opts or --merge-opts is relative to it); WORK for a run that has none.
run_dir() { jq -r --arg w "$1" '.cwd // $w' "$1/run.json"; }

# model_write WORK CAND DIR: the model the candidate stands for, as a Hugging Face directory:
# a single checkpoint as it is (ckpt-cat), anything else merged with the run's wmerge options
# (in run_dir). The same model score-one scores. WORK, CAND and DIR are absolute.
model_write() {
	_single=$(cand_single "$1" "$2") || return 1
	if [ -n "$_single" ]; then
		ckpt-cat -q -o "$3" "$_single"
	else
		cand_weights "$1" "$2" > "$3.w.json" || return 1
		(cd "$(run_dir "$1")" && eval "wmerge -q $(setting "$1" '.merge_opts') -w @\"\$3.w.json\" -o \"\$3\" $(ckpt_args "$1")")
		_rc=$?
		rm -f "$3.w.json"
		return $_rc
	fi
}

# failed_rec FILE: true when FILE is a record of a failed evaluation (score-one's "failed": true).
failed_rec() { [ -s "$1" ] && grep -q '"failed":true' "$1" && jq -e '.failed == true' "$1" > /dev/null 2>&1; }

# run_jobs WORK LIST [part]: the one runner of every evaluation. LIST holds jobs, one a line: the
# scored record to make, relative to WORK (DIR/ID.json on dev, DIR/ID.test.json on test, from
# DIR/ID.cand.json). RUNNER (local, make, slurm), JOBS, SLURM_OPTS and LOCAL_RETRY come from
# the environment. Jobs whose record exists are skipped by score-one, but for records of failed
# evaluations: a rerun scores those again. Returns non-zero, with a message naming each job, when
# a job left no record, or when every job of LIST failed (a cause common to all, such as a
# broken harness or a full disk, is not the candidates' fault: nothing goes to the search, and a
# rerun retries them). A failed evaluation in a batch where others succeed leaves a record with
# "failed": true and goes on: the search ranks it worst. With "part", LIST is a part of a larger
# batch (a step of a surrogate's generation) whose caller applies the every-failed rule to the
# whole (all_failed), and a part whose every job failed returns 0.
run_jobs() {
	[ -s "$2" ] || return 0
	_part=${3:-}
	# The jobs run in WORK (and on other hosts under Slurm): its absolute path, whatever the caller's.
	set -- "$(cd "$1" && pwd)" "$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
	retry_failed "$1" "$2" "$(basename "$2")"
	case ${RUNNER:-local} in
	local) run_child run_local "$1" "$2" ;;
	make) run_child ${MAKE:-make} -s -C "$1" -f "$here/optimize.mk" score JOBLIST="$2" SCORE_ONE="$here/score-one" ;;
	slurm) run_slurm "$1" "$2" || return 1 ;;
	esac
	_left=$(cd "$1" && while IFS= read -r _j; do [ -s "$_j" ] || printf '%s ' "$_j"; done < "$2")
	[ -z "$_left" ] || { printf '%s: not scored: %s\n' "$PROG" "$_left" >&2; return 1; }
	[ "$_part" != part ] || return 0
	all_failed "$1" "$2" "$2"
}

# retry_failed WORK LIST NAME: removes the records of failed evaluations among LIST's jobs
# (relative to WORK), so that they are scored again, and says how many of NAME's there were.
retry_failed() {
	_re=$(cd "$1" && while IFS= read -r _j; do
		if failed_rec "$_j"; then rm -f "$_j"; printf x; fi; done < "$2")
	[ -z "$_re" ] || say "retrying ${#_re} evaluation(s) of $3 that failed in an earlier run"
}

# all_failed WORK LIST NAME: 0 when a job of LIST (records relative to WORK) succeeded; else 1,
# with the message that the batch NAME failed as a whole (a cause common to all, not the
# candidates' fault).
all_failed() {
	_ok=$(cd "$1" && while IFS= read -r _j; do failed_rec "$_j" || { printf '%s' "$_j"; break; }; done < "$2")
	[ -z "$_ok" ] || return 0
	printf '%s: every evaluation of %s failed (%s), the first: %s; nothing of this batch is used: remove the cause and run again to retry them\n' \
		"$PROG" "$3" "$(wc -l < "$2" | tr -d ' ')" "$(jq -r '.error' "$1/$(head -n 1 "$2")")" >&2
	return 1
}

# run_slurm WORK LIST: one job array over LIST (sbatch --wait), at most JOBS tasks at once.
# A failure of sbatch or of a task is an error that quotes sbatch and the task's output, unless
# LOCAL_RETRY is set: then what the array left unscored is scored here.
run_slurm() {
	_n=$(wc -l < "$2")
	_d=$(dirname "$2")
	_tag=$(basename "$2" .list)
	cat > "$_d/$_tag.sbatch" <<ARRAY
#!/bin/sh
job=\$(sed -n "\$((SLURM_ARRAY_TASK_ID + 1))p" $(shquote "$2"))
cd $(shquote "$1") || exit 1
$(shquote "$here/score-one") $(shquote "$1") "\$job"
rc=\$?
if [ \$rc -gt 128 ]; then echo "score-one (\$job) was killed by signal \$((rc - 128)) on \$(hostname)" >&2
elif [ \$rc -ne 0 ]; then echo "score-one (\$job) exited \$rc on \$(hostname)" >&2; fi
exit \$rc
ARRAY
	# A signal to this script cancels the array: sbatch --wait, killed, leaves it running.
	ON_SIGNAL="slurm_cancel $(shquote "$_d/$_tag.sbatch.out")"
	# shellcheck disable=SC2086
	run_child sbatch --wait --job-name="recycle-$_tag" --array=0-$((_n - 1))%"${JOBS:-1}" \
		--output="$_d/$_tag.slurm-%a.out" ${SLURM_OPTS:-} "$_d/$_tag.sbatch" > "$_d/$_tag.sbatch.out" 2>&1
	_rc=$?
	ON_SIGNAL=
	_bad=$(_i=0; while IFS= read -r _j; do
		[ -s "$1/$_j" ] || printf '%s\n' "$_i:$_j"; _i=$((_i + 1)); done < "$2")
	[ $_rc -eq 0 ] && [ -z "$_bad" ] && return 0
	_id=$(slurm_job "$_d/$_tag.sbatch.out")
	{
		printf '%s: Slurm job array %s%s (%s) failed: sbatch exited %s: %s\n' "$PROG" "recycle-$_tag" "${_id:+ (job $_id)}" "$2" "$_rc" \
			"$(grep -v '^Submitted batch job' "$_d/$_tag.sbatch.out" | tail -n 3 | tr '\n' ' ')"
		printf '%s\n' "$_bad" | while IFS=: read -r _i _j; do
			[ -n "$_j" ] || continue
			printf '%s:   task %s%s (%s) left no record: %s\n' "$PROG" "$_i" "${_id:+ (job ${_id}_$_i)}" "$_j" \
				"$(tail -n 3 "$_d/$_tag.slurm-$_i.out" 2> /dev/null | tr '\n' ' ')"
		done
	} >&2
	[ -n "${LOCAL_RETRY:-}" ] || return 1
	say "--local-retry: scoring what the array left here"
	run_local "$1" "$2"
}

# slurm_job OUT: the job id in sbatch's output OUT ("Submitted batch job N"); none when sbatch
# refused the job or was stopped before it was submitted.
slurm_job() { sed -n 's/^Submitted batch job \([0-9][0-9]*\).*/\1/p' "$1" 2> /dev/null | head -n 1; }

# slurm_cancel OUT: scancel the job sbatch submitted, if it did.
slurm_cancel() {
	_id=$(slurm_job "$1")
	[ -z "$_id" ] || scancel "$_id" 2> /dev/null || :
}

# run_local WORK LIST: the jobs of LIST here, JOBS at once.
run_local() { (cd "$1" && xargs -d '\n' -P "${JOBS:-1}" -n 1 "$here/score-one" "$1") < "$2"; }
