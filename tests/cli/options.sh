#!/bin/sh
# Every long option a program accepts (its getopt_long table in tools/NAME.c) is described in
# NAME --help and in man/NAME.1, as the project's charter asks; and the man page's OPTIONS
# describe no option the program does not accept.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

for src in "$TOP"/tools/*.c; do
	p=$(basename "$src" .c)
	# the names of the table: each '{ "name",' from "struct option" to its '{ 0' or '{ NULL' end
	sed -n '/struct option [a-z_]*\[\] = {/,/{ *\(0\|NULL\)/p' "$src" | grep -o '{ *"[^"]*"' | tr -d '{ "' | sort -u > "$p.opts"
	check "$p: its option table was found" '[ -s "$p.opts" ]'
	"$p" --help > "$p.help" 2>&1
	sed 's/\\-/-/g' "$TOP/man/$p.1" > "$p.man" 2> /dev/null
	miss_help='' miss_man=''
	while read -r o; do
		grep -q -- "--$o\([^a-z0-9-]\|$\)" "$p.help" || miss_help="$miss_help --$o"
		grep -q -- "--$o\([^a-z0-9-]\|$\)" "$p.man" || miss_man="$miss_man --$o"
	done < "$p.opts"
	check "$p --help describes every option${miss_help:+ (missing:$miss_help)}" '[ -z "$miss_help" ]'
	check "man/$p.1 describes every option${miss_man:+ (missing:$miss_man)}" '[ -z "$miss_man" ]'
	# options the man page's OPTIONS section describes (the tag line after each .TP) that the
	# program does not have (its text may name other programs' options)
	sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$p.man" | awk 'tp { print; tp = 0 } /^\.TP/ { tp = 1 }' |
		grep -o -- '--[a-z][a-z0-9-]*' | sed 's/^--//' | sort -u > "$p.manopts"
	extra=$(comm -23 "$p.manopts" "$p.opts" | tr '\n' ' ')
	check "man/$p.1 describes no option $p lacks${extra:+ (extra: $extra)}" '[ -z "$extra" ]'
done
t_done
