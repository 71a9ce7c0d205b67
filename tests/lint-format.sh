#!/bin/sh
# Every C source and header is formatted with the repository's .clang-format
# (clang-format 14, Debian 12's).  Prints the files that are not; exit 77
# (skip) without clang-format.
set -u
root=${1:?usage: lint-format.sh SOURCE_DIR}
cd "$root" || exit 1
command -v clang-format >/dev/null 2>&1 || { echo "clang-format not installed: skipped"; exit 77; }
bad=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find agent aggregator common proto tests -name '*.[ch]'); do
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f (run: clang-format -i $f)"
		bad=1
	fi
done
[ $bad = 0 ] && echo "ok - every C file is formatted"
exit $bad
