#!/bin/sh
# Lints the man pages with mandoc -Tlint: no message of any level (style
# included), except references to manuals of other packages (ipcs(1),
# daemon(8), ...), which need not be installed where this runs.  References
# between these pages must resolve.  Exit 77 (skip) without mandoc.
set -eu
dir=${1:-$(dirname "$0")}
if ! command -v mandoc >/dev/null 2>&1 || ! command -v makewhatis >/dev/null 2>&1; then
	echo "SKIP: mandoc is not installed (Debian package mandoc)"
	exit 77
fi
ours="ipcfleet ipcfleet.conf ipcfleet-agent ipcfleet-aggregator ipcfleet-pki"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a manual tree of these pages only, so that their cross-references resolve
pages=
for name in $ours; do
	p=$(ls "$dir/$name".[158] 2>/dev/null || true)
	if [ -z "$p" ]; then
		echo "not ok - $name: no page in $dir"
		exit 1
	fi
	sec=${p##*.}
	mkdir -p "$tmp/man$sec"
	cp "$p" "$tmp/man$sec/"
	pages="$pages $p"
done
makewhatis "$tmp"
# shellcheck disable=SC2086
MANPATH=$tmp mandoc -Tlint -W style $pages >"$tmp/lint.out" 2>&1 || true
awk -v ours=" $ours " '
	/referenced manual not found: Xr / {
		for (i = 1; i < NF; i++)
			if ($i == "Xr") { name = $(i + 1); break }
		if (index(ours, " " name " ") == 0)
			next
	}
	{ print }' "$tmp/lint.out" >"$tmp/bad.out"
pass=0
fail=0
for p in $pages; do
	b=$(basename "$p")
	if grep -F "$b:" "$tmp/bad.out"; then
		echo "not ok - mandoc -Tlint $b"
		fail=$((fail + 1))
	else
		echo "ok - mandoc -Tlint $b"
		pass=$((pass + 1))
	fi
done
# messages not tied to one page (there should be none)
if grep -v -F -e "ipcfleet.1:" -e "ipcfleet.conf.5:" -e "ipcfleet-agent.8:" \
	-e "ipcfleet-aggregator.8:" -e "ipcfleet-pki.8:" "$tmp/bad.out"; then
	fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
