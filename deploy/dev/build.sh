#!/bin/sh
# Builds ipcfleet into build/ (programs in build/bin).  Extra arguments go to cmake.
set -eu
cd "$(dirname "$0")/../.."
deploy/dev/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build -j"$(nproc)"
