#!/bin/sh
# build-deb.sh OUTDIR: builds the Debian packages of this source tree into
# OUTDIR (created when missing): ipcfleet-agent, ipcfleet-aggregator,
# ipcfleet (the CLI), ipcfleet-common, and their -dbgsym packages.
#
# With debhelper (docs/PACKAGING.md says why): a copy of the tree is made
# in a scratch directory, deploy/debian/debian/ is laid over it as debian/,
# a changelog is written for the version in CMakeLists.txt, and
# dpkg-buildpackage builds the binary packages, unsigned.  Nothing is
# written into the source tree.
#
# Needs dpkg-dev, debhelper and the build dependencies of debian/control
# (deploy/dev/install-deps.sh installs them all); run as any user.
# Environment: JOBS (parallel jobs, default: the CPUs), KEEP=1 keeps the
# scratch directory, LINTIAN=1 runs lintian on the result.
set -eu

usage() { echo "usage: build-deb.sh OUTDIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
case $1 in -*) usage ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)

for t in dpkg-buildpackage dh; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "build-deb.sh: $t is missing (apt-get install dpkg-dev debhelper)" >&2
		exit 1
	}
done
VERSION=$(sed -n 's/^project(ipcfleet VERSION \([0-9][0-9.]*\) .*/\1/p' "$SRC/CMakeLists.txt")
[ -n "$VERSION" ] || { echo "build-deb.sh: no version in $SRC/CMakeLists.txt" >&2; exit 1; }

W=$(mktemp -d /tmp/ipcfleet-deb.XXXXXX)
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi; }
trap cleanup EXIT
B=$W/ipcfleet-$VERSION
mkdir "$B"
# what the build reads, and nothing else (no build trees, no .git)
for f in CMakeLists.txt README.md .clang-format agent aggregator common proto deploy docs; do
	[ -e "$SRC/$f" ] && cp -R "$SRC/$f" "$B/"
done
rm -rf "$B/deploy/debian"
cp -R "$HERE/debian" "$B/debian"

# The changelog: this version, dated by the last commit when there is one
# (the same tree gives the same packages), else now.
when=
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
	when=$(git -C "$SRC" log -1 --format=%ct 2>/dev/null || true)
fi
[ -n "$when" ] || when=$(date +%s)
export SOURCE_DATE_EPOCH=$when
cat >"$B/debian/changelog" <<CL
ipcfleet ($VERSION) unstable; urgency=medium

  * Release $VERSION (see README.md).

 -- ipcfleet developers <ipcfleet@example.org>  $(LC_ALL=C date -u -d "@$when" -R)
CL

jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
cd "$B"
if ! DEB_BUILD_OPTIONS="parallel=$jobs nocheck" dpkg-buildpackage -b -us -uc >"$W/build.log" 2>&1; then
	tail -40 "$W/build.log" >&2
	echo "build-deb.sh: dpkg-buildpackage failed (KEEP=1 keeps $W/build.log)" >&2
	exit 1
fi
cd "$W"
n=0
for d in ./*.deb ./*.ddeb; do
	[ -e "$d" ] || continue
	cp "$d" "$OUT/"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "build-deb.sh: no package was built" >&2; exit 1; }
if [ "${LINTIAN:-0}" = 1 ]; then
	lintian --info --display-info --fail-on error,warning "$W"/*.deb
fi
ls -1 "$OUT"/ipcfleet*_"$VERSION"_*.*deb
