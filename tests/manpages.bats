#!/usr/bin/env bats
# --help names --version, and every program has a man page made from its own
# --help text (scripts/manpage.sh, help2man), which `make install` installs:
# every option --help lists is in the page, so the two cannot drift apart.

load test_helper

TOP="$BATS_TEST_DIRNAME/.."

# the long options a --help text names, one a line, sorted
options() {
	grep -o -- '--[a-z][a-z-]*' | sort -u
}

# the text of man page $1 with roff's escaped hyphens as plain ones
page_text() {
	sed 's/\\-/-/g; s/\\(hy/-/g' "$1"
}

@test "every program's --help names --version, which prints the one version" {
	v=
	for p in genstruct assemble solve metrics; do
		run "$p" --help
		assert_success
		assert_output --partial -- "--version"
		run "$p" --version
		assert_success
		[[ "$output" =~ ^$p\ \(voxbat\)\ ([0-9]+\.[0-9]+\.[0-9]+)$ ]] || fail "$p --version: $output"
		[ -z "$v" ] || [ "$v" = "${BASH_REMATCH[1]}" ] || fail "$p is ${BASH_REMATCH[1]}, others $v"
		v=${BASH_REMATCH[1]}
	done
}

@test "each man page holds every option of its program's --help, and its description" {
	for p in genstruct assemble solve metrics; do
		"$TOP/scripts/manpage.sh" "$VB_BIN/$p" "$p.1"
		head -c 200 "$p.1" | grep -q '^\.TH' || fail "$p.1 is not a man page"
		grep -q "^\.TH $(echo "$p" | tr a-z A-Z) \"1\"" "$p.1" || fail "$p.1: no .TH $p 1"
		page_text "$p.1" | options > in_page
		# genstruct's page holds its commands' --help too
		{
			"$p" --help
			if [ "$p" = genstruct ]; then
				for c in homogeneous graded perforate stack reverse refine import export info; do
					genstruct "$c" --help
				done
			fi
		} | options > in_help
		missing=$(comm -23 in_help in_page)
		[ -z "$missing" ] || fail "$p.1 lacks $missing"
		[ "$(wc -l < in_help)" -gt 5 ]
	done
	# the NAME line: the first sentence after the usage line
	run page_text solve.1
	assert_output --partial "solve - Discharges an assembled cell (ASSB or LIB) at constant current until the cut-off voltage"
	run page_text genstruct.1
	assert_output --partial ".SS import"
	assert_output --partial "--map V:PHASE"
}

@test "make install puts the programs and their man pages under DESTDIR/PREFIX" {
	# the build's own PREFIX (another one would rebuild the programs)
	build=$(dirname "$VB_BIN")
	run make --no-print-directory -C "$TOP" install BUILD="$build" DESTDIR="$BATS_TEST_TMPDIR/root"
	assert_success
	for p in genstruct assemble solve metrics; do
		[ -x "root/usr/local/bin/$p" ] || fail "no bin/$p"
		[ -s "root/usr/local/share/man/man1/$p.1" ] || fail "no man1/$p.1"
		cmp "root/usr/local/share/man/man1/$p.1" "$build/man/$p.1"
	done
}
