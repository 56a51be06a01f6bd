# pipelines/lib.sh — shell functions the pipeline scripts share: messages, atomic writes, the
# work-directory lock, and reading the few fields the scripts need from recycle's own NDJSON
# records (compact, one object a line, as the tools print them; anything richer goes through the
# tools themselves).

PROG=${PROG:-$(basename "$0")}

die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
usage_die() { printf '%s: %s\nTry '\''%s --help'\'' for more information.\n' "$PROG" "$*" "$PROG" >&2; exit 2; }
say() { [ -n "${QUIET:-}" ] || printf '%s: %s\n' "$PROG" "$*" >&2; }

# The recycle programs: from PATH, else from bin/ beside pipelines/ in a checkout.
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
if ! command -v wmerge > /dev/null 2>&1 && [ -x "$here/../bin/wmerge" ]; then PATH="$here/../bin:$PATH"; fi
export PATH

# atomic_write FILE: standard input into FILE, through a temporary sibling renamed at the end.
atomic_write() {
	_t="$1.tmp.$$"
	if cat > "$_t"; then mv -f "$_t" "$1"; else rm -f "$_t"; return 1; fi
}

# lock_workdir DIR: hold DIR/lock for the life of this process (fd 9); a second run fails.
# Children are started with 9>&- so a killed run leaves no holder behind.
lock_workdir() {
	exec 9> "$1/lock" || die "$1/lock: cannot open"
	command -v flock > /dev/null || die "flock (util-linux) is needed for the work-directory lock"
	flock -n 9 || die "$1: another run holds this work directory (lock: $1/lock)"
}

# ckpt_name ARG: a checkpoint's name as the programs spell it: a directory's basename, a file's
# name without .safetensors[.zst].
ckpt_name() {
	_n=${1%/}
	_n=${_n##*/}
	_n=${_n%.zst}
	printf '%s\n' "${_n%.safetensors}"
}

# json_escape STRING: STRING as the inside of a JSON string (control characters dropped).
json_escape() {
	printf '%s' "$1" | tr -d '\000-\010\013-\037' | awk 'BEGIN { ORS = "" }
		{ gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); if (NR > 1) print "\\n"; print }'
}

# rec_str FIELD < RECORD: a top-level string field.
rec_str() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | head -n 1; }

# rec_add 'JSONFIELDS' < RECORD: the record with fields appended (text like "a":1,"b":"x"),
# taken as they are (no sed replacement escapes).
rec_add() {
	IFS= read -r _line || return 1
	_line=${_line%"${_line##*[!	 ]}"}
	printf '%s,%s}\n' "${_line%\}}" "$1"
}

# The awk functions the report and the baselines use to read flat objects of numbers, e.g.
# obj(line, "scores", arr) fills arr[task] = value and returns the count.
AWK_JSON='
function obj(line, key, arr,    s, n, i, kv, parts, k) {
	split("", arr)
	if (!match(line, "\"" key "\":\\{[^}]*\\}")) return 0
	s = substr(line, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
	n = split(s, parts, ",")
	for (i = 1; i <= n; i++) {
		if (!match(parts[i], /^"[^"]*":/)) continue
		k = substr(parts[i], 2, RLENGTH - 3)
		arr[k] = substr(parts[i], RLENGTH + 1)
	}
	return n
}
function str(line, key) {
	if (!match(line, "\"" key "\":\"[^\"]*\"")) return ""
	return substr(line, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
}
function num(line, key) {
	if (!match(line, "\"" key "\":-?[0-9.eE+-]+")) return "null"
	return substr(line, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
}
function mean(arr,    k, s, n) {
	s = 0; n = 0
	for (k in arr) { if (arr[k] == "null") return "null"; s += arr[k]; n++ }
	return n ? s / n : "null"
}
'

# shquote WORD: WORD as one shell word, single-quoted (for eval and generated scripts).
shquote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
