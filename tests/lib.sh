# tests/lib.sh — sourced by every CLI test script. Runs the real binaries ($BIN) in a scratch
# directory and prints one TAP-style line a check, in the manner of git's t/test-lib.sh.
#
#   ok_run  "what"  CMD ARGS...          passes when CMD exits 0
#   fail_run STATUS 'REGEX' "what" CMD…  passes when CMD exits STATUS and stderr matches REGEX
#   check   "what"  SHELL-CONDITION       passes when the condition (eval'd) is true
#   cmp_files "what" EXPECTED ACTUAL     passes when the files are byte-identical
# Every command's stdout goes to ./out, its stderr to ./err. End the script with t_done.
#
# Fixtures (one definition each; a script does not redefine them):
#   gen ST-GEN-ARGS...           a fixture from st-gen; when st-gen fails: "not ok - fixture: …"
#                                with its message, and the script ends (later checks need it)
#   le64 N                       N as the 8 bytes of a little-endian uint64 (a header length)
#   zeros N                      N zero bytes as printf escapes, for mkst's DATA
#   mkst FILE HEADER [DATA]      a safetensors file made byte by byte: le64 of the header's
#                                length, HEADER as given (not checked, not padded), then DATA, a
#                                printf format of escapes ('\000\200\077\077', "$(zeros 12)")
#   hlen FILE                    the header length a safetensors file declares (its first 8 bytes)
#   hdr FILE                     the header text of a safetensors file
#   data FILE                    the data section of a safetensors file (after the header)
#   no_tmp PATH                  true when no temporary sibling .NAME.tmp.* of PATH is left in its
#                                directory (the name every program writes under before renaming)
#   nothing_left PATH            true when neither PATH nor a temporary sibling of it exists
#   untimed FILE                 FILE's records without their "eval" (timings) objects
set -u
: "${BIN:?}"
PATH="$BIN:${HELPERS:+$HELPERS:}$PATH"
TOP=${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/recycle-test.XXXXXX")
trap 'cd /; rm -rf "$T_DIR"' EXIT
cd "$T_DIR" || exit 1
T_FAIL=0
T_N=0

t_ok() { T_N=$((T_N + 1)); printf 'ok %d - %s\n' $T_N "$1"; }
t_notok() {
	T_N=$((T_N + 1)); T_FAIL=$((T_FAIL + 1)); printf 'not ok %d - %s\n' $T_N "$1"
	shift; for l in "$@"; do printf '#   %s\n' "$l"; done
	[ -s err ] && sed 's/^/#   stderr: /' err | head -5
	return 0
}

ok_run() {
	what=$1; shift
	if "$@" > out 2> err; then t_ok "$what"; else t_notok "$what" "exit $? from: $*"; fi
}

fail_run() {
	want=$1 re=$2 what=$3; shift 3
	"$@" > out 2> err; rc=$?
	if [ "$rc" -ne "$want" ]; then t_notok "$what" "exit $rc, wanted $want: $*"
	elif ! grep -Eq -- "$re" err; then t_notok "$what" "stderr does not match /$re/"
	else t_ok "$what"; fi
}

check() {
	what=$1; shift
	if eval "$*"; then t_ok "$what"; else t_notok "$what" "false: $*"; fi
}

cmp_files() {
	if cmp -s "$2" "$3"; then t_ok "$1"; else t_notok "$1" "$2 and $3 differ"; fi
}

gen() {
	_e=$(st-gen "$@" 2>&1 > /dev/null) && return 0
	t_notok "fixture: st-gen $* failed"; printf '%s\n' "$_e" | sed 's/^/#   /' | head -5
	exit 1
}

le64() {
	_n=$1 _s='' _i=0
	while [ $_i -lt 8 ]; do _s="$_s\\0$(printf %03o $((_n % 256)))"; _n=$((_n / 256)); _i=$((_i + 1)); done
	printf '%b' "$_s"
}
zeros() { _i=0; while [ $_i -lt "$1" ]; do printf '\\000'; _i=$((_i + 1)); done; }
mkst() {
	# shellcheck disable=SC2059  # DATA is a printf format of escapes by design
	{ le64 "$(printf %s "$2" | wc -c)"; printf %s "$2"; printf "${3:-}"; } > "$1"
}
hlen() { od -An -tu8 -N8 "$1" | tr -d ' '; }
hdr() { head -c $(($(hlen "$1") + 8)) "$1" | tail -c +9; }
data() { tail -c +$(($(hlen "$1") + 9)) "$1"; }
no_tmp() {
	for _f in "$(dirname "$1")/.$(basename "$1").tmp."*; do [ -e "$_f" ] && return 1; done
	return 0
}
nothing_left() { [ ! -e "$1" ] && no_tmp "$1"; }
# untimed FILE: the records without their "eval" (timings no two runs share)
untimed() { jq -c 'del(.eval)' "$1"; }

# man_examples PAGE DIR: DIR/N for the N-th block of PAGE's EXAMPLES section, roff escapes undone
# (\- \e \\ \(aq \(dq \& and font changes); comment lines (.\") and .RS/.RE dropped.
man_examples() {
	awk -v dir="$2" '
	function unroff(s,   o, c, i) {
		o = ""
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c != "\\") { o = o c; continue }
			c = substr(s, ++i, 1)
			if (c == "-") o = o "-"
			else if (c == "e" || c == "\\") o = o "\\"
			else if (c == "&") ;
			else if (c == "f") i++
			else if (c == "(") { c = substr(s, i + 1, 2); i += 2; o = o (c == "aq" ? "'\''" : c == "dq" ? "\"" : "?") }
			else o = o "\\" c
		}
		return o
	}
	/^\.SH/ { ex = ($0 ~ /^\.SH +"?EXAMPLES"?/); next }
	!ex { next }
	/^\.nf/ { on = 1; n++; printf "" > (dir "/" n); next }
	/^\.fi/ { on = 0; close(dir "/" n); next }
	on && (/^\.(RS|RE)/ || /^\.\\"/) { next }
	on { print unroff($0) > (dir "/" n) }' "$1"
}


t_done() { [ "$T_FAIL" -eq 0 ]; exit $?; }
