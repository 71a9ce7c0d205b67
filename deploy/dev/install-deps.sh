#!/bin/sh
# Installs what ipcfleet needs to build and test, from Debian 12's archive.
# Does nothing when everything is already there; needs root otherwise.
set -eu
PKGS="build-essential cmake pkg-config libevent-dev libmsgpack-dev libssl-dev
libsqlite3-dev libinih-dev libcmocka-dev openssl sqlite3 jq util-linux iproute2
procps clang clang-format libclang-rt-14-dev mandoc prometheus curl libpq-dev postgresql
faketime debhelper lintian chromium"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root, or apt-get install them)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
