#!/usr/bin/env bash
# The Ansible roles, for real: deploy/ansible/ci-check.sh (syntax check,
# ansible-lint, both roles against this machine into a scratch prefix, a
# second run with changed=0, then the installed agent, aggregator and CLI
# together), once building from source and once installing the Debian
# packages (ipcfleet_install_method: package; skipped, exit 77, where
# ipcfleet is installed on this machine already).  It installs packages
# and takes minutes, so it runs only as
# root and only when asked: IPCFLEET_ANSIBLE=1, or CI=true.  It runs once,
# in the plain build (the ASan build's run of the suite skips it: it builds
# its own tree and would only repeat itself).
set -eu
: "${SRC:?SRC must point at the source tree}"
: "${BIN:?BIN must point at build/bin}"
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (apt, chown, a system user)"
[ "${IPCFLEET_ANSIBLE:-0}" = 1 ] || [ "${CI:-}" = true ] ||
	skip "set IPCFLEET_ANSIBLE=1 (or CI=true) to run it; it takes minutes"
if grep -q '^IPCFLEET_SANITIZE:BOOL=ON' "$BIN/../CMakeCache.txt" 2>/dev/null; then
	skip "runs in the build without sanitizers only"
fi
command -v apt-get >/dev/null 2>&1 || skip "needs Debian (apt-get)"
start=$(date +%s)
rc=0
bash "$SRC/deploy/ansible/ci-check.sh" source || rc=$?
echo "t_ansible: source: $(($(date +%s) - start))s"
rc2=0
bash "$SRC/deploy/ansible/ci-check.sh" package || rc2=$?
echo "t_ansible: source and package: $(($(date +%s) - start))s"
[ "$rc" = 0 ] || exit "$rc"
# a skip of the package run (ipcfleet installed here) does not hide the source run's pass
[ "$rc2" = 0 ] || [ "$rc2" = 77 ] || exit "$rc2"
exit 0
