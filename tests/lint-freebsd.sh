#!/bin/sh
# lint.freebsd: the agent, the aggregator and the CLI compile for FreeBSD 12
# amd64 against FreeBSD's own headers, with the real build's flags.
#
# usage: lint-freebsd.sh SRCDIR CFLAGS...
#
# It runs ../shared/tools/freebsd-compile-check (beside the project, not in
# it: a headers-only FreeBSD 12.1 sysroot and clang) on SRCDIR, which
# compiles every .c file of agent/, common/, proto/, aggregator/ and
# aggregator/cli/, then compiles the FreeBSD-only sources of agent/freebsd/
# (which that tool does not visit) the same way.  Syntax and types only:
# nothing is linked, no FreeBSD machine runs anything (docs/FREEBSD.md).
# Exits 77 (skip) when the tool or clang is not there.
set -u
src=${1:?usage: lint-freebsd.sh SRCDIR CFLAGS...}
shift
cflags="$*"
tool=$src/../shared/tools/freebsd-compile-check
if [ ! -x "$tool" ]; then
	echo "SKIP: no $tool (the FreeBSD headers check ships beside the project, not in it)"
	exit 77
fi
if ! command -v clang >/dev/null 2>&1; then
	echo "SKIP: clang not found (the FreeBSD headers check compiles with clang)"
	exit 77
fi
sysroot=$(cd "$(dirname "$tool")/../freebsd-sysroot" && pwd) || exit 1
bad=0

FREEBSD_CHECK_STD=gnu11 FREEBSD_CHECK_CFLAGS="$cflags" "$tool" "$src" || bad=1

version=$(sed -n 's/^project([A-Za-z0-9_-]* VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt" | head -1)
n=0
for f in "$src"/agent/freebsd/*.c; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	# shellcheck disable=SC2086
	if out=$(clang --target=x86_64-unknown-freebsd12 "--sysroot=$sysroot" -fsyntax-only \
		-std=gnu11 $cflags -isystem "$sysroot/usr/local/include" \
		-I "$src/agent" -I "$src/agent/freebsd" -I "$src/common" -I "$src/proto" \
		-D_GNU_SOURCE "-DIPCFLEET_VERSION=\"$version\"" \
		"-DIPCFLEET_SYSCONFDIR=\"/usr/local/etc\"" "$f" 2>&1); then
		echo "OK    ${f#"$src"/}"
	else
		echo "FAIL  ${f#"$src"/}"
		printf '%s\n' "$out" | sed 's/^/      /' | head -20
		bad=1
	fi
done
echo "agent/freebsd: $n files compiled"
[ "$n" -gt 0 ] || { echo "FAIL  agent/freebsd/ has no sources"; bad=1; }
exit $bad
