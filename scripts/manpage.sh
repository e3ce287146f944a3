#!/bin/sh
# Writes the man page of a voxbat program from its own --help and --version
# text (help2man), so that the page and the program cannot drift apart.
# genstruct's page also holds every subcommand's --help, as a COMMANDS
# section. The one-line description is the first sentence of the --help
# text after its usage line.
# usage: scripts/manpage.sh BIN/PROGRAM OUT.1
set -eu
prog=$1 out=$2
name=$(basename "$prog")
desc=$("$prog" --help | awk 'NR > 1 { d = d (d == "" ? "" : " ") $0; if (d ~ /\.( |$)/) exit }
	END { sub(/\. .*/, "", d); sub(/\.$/, "", d); print d }')
include=$(mktemp)
trap 'rm -f "$include"' EXIT
# roff-safe verbatim text: backslashes doubled, a leading . or ' escaped
verbatim() {
	sed 's/\\/\\\\/g; s/^\([.'"'"']\)/\\\&\1/'
}
if [ "$name" = genstruct ]; then
	{
		echo "[COMMANDS]"
		"$prog" --help | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p' | while read -r cmd; do
			echo ".SS $cmd"
			echo ".nf"
			"$prog" "$cmd" --help | verbatim
			echo ".fi"
		done
	} > "$include"
fi
if [ -s "$include" ]; then set -- --include="$include"; else set --; fi
help2man --no-info --name="$desc" "$@" --output="$out.tmp" "$prog"
mv "$out.tmp" "$out"
