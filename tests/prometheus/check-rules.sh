#!/bin/sh
# deploy/prometheus/ipcfleet.rules.yml: valid (promtool check rules) and
# right (promtool test rules on ipcfleet.rules.test.yml beside this script).
set -eu
SRC=${1:?usage: check-rules.sh SRC}
command -v promtool >/dev/null 2>&1 || { echo "SKIP: needs promtool (Debian: prometheus)"; exit 77; }
promtool check rules "$SRC/deploy/prometheus/ipcfleet.rules.yml"
# promtool resolves rule_files against the test file's directory
cd "$SRC/tests/prometheus"
promtool test rules ipcfleet.rules.test.yml
