# Shared setup for the bats suites: the programs under test come first on
# PATH, each test runs in its own temporary directory, and bats-assert is loaded.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	: "${VB_BIN:?VB_BIN must name the directory of the built programs}"
	PATH="$VB_BIN:$PATH"
	cd "$BATS_TEST_TMPDIR" || return 1
}

# No file or leftover temporary next to path.
assert_no_output_file() {
	local path=$1
	[ ! -e "$path" ] || fail "output $path exists"
	local left
	left=$(ls "$path".tmp.* 2>/dev/null || true)
	[ -z "$left" ] || fail "temporary files left: $left"
}

# Value at a jq path in JSON on stdin, e.g. json_get .phases.CAM.fraction
json_get() {
	jq -r "$1"
}
