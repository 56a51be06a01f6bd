# tests/lib.sh — sourced by every CLI test script. Runs the real binaries ($BIN) in a scratch
# directory and prints one TAP-style line a check, in the manner of git's t/test-lib.sh.
#
#   ok_run  "what"  CMD ARGS...          passes when CMD exits 0
#   fail_run STATUS 'REGEX' "what" CMD…  passes when CMD exits STATUS and stderr matches REGEX
#   check   "what"  SHELL-CONDITION       passes when the condition (eval'd) is true
#   cmp_files "what" EXPECTED ACTUAL     passes when the files are byte-identical
# Every command's stdout goes to ./out, its stderr to ./err. End the script with t_done.
set -u
: "${BIN:?}"
PATH="$BIN:${HELPERS:+$HELPERS:}$PATH"
TOP=${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/recycle-test.XXXXXX")
trap 'cd /; rm -rf "$T_DIR"' EXIT
cd "$T_DIR" || exit 1
T_FAIL=0
T_N=0

t_ok() { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
t_notok() {
	T_N=$((T_N + 1)); T_FAIL=$((T_FAIL + 1)); echo "not ok $T_N - $1"
	shift; for l in "$@"; do echo "#   $l"; done
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

t_done() { [ "$T_FAIL" -eq 0 ]; exit $?; }
