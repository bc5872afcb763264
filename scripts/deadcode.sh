#!/usr/bin/env bash
# make deadcode: lists dead functions and fails when there is any. Two passes
# of golang.org/x/tools/cmd/deadcode (pinned in tools/go.mod):
#  1. production code no binary reaches. A caller in a test does not count:
#     a function only tests call is code the binaries carry for nothing. The
#     test-support packages are left out of this pass, since only tests
#     import them by design (internal/archtest keeps them out of the binaries);
#  2. with the tests as roots too: test support, or anything else, that not
#     even a test reaches.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

deadcode() { go tool -modfile=tools/go.mod deadcode "$@"; }
test_support='^(adapters/httpapi/contracttest|internal/contractdoc|internal/testenv|test/harness)/'

found="$(
	deadcode ./... | { grep -Ev "$test_support" || true; }
	deadcode -test ./...
)"
if [ -n "$found" ]; then
	printf '%s\n' "$found" | sort -u
	echo "deadcode: the functions above have no caller; delete them or call them" >&2
	exit 1
fi
