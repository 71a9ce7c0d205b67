#!/bin/sh
# tests/fuzz/run.sh: builds the libFuzzer targets with clang in
# build-fuzz-clang (-DIPCFLEET_FUZZ=ON: ASan, UBSan and libFuzzer) and runs
# each for FUZZ_SECONDS (default 20), up to FUZZ_JOBS (default: the number
# of CPUs) at a time.  Fails when any target finds a crash, a leak, a
# timeout or runs out of memory, and prints the reproducer's path.
#
# A target uses the dictionary tests/fuzz/dict/TARGET.dict when there is one.
# Each target starts from its committed seeds (tests/fuzz/corpus/TARGET,
# read only) plus what earlier runs found (BUILD/fuzz-work/TARGET, kept
# between runs).  Crash inputs land in BUILD/fuzz-artifacts/TARGET/, which
# each run empties first.
#
# Environment: FUZZ_SECONDS, FUZZ_JOBS, FUZZ_TARGETS (space separated),
# FUZZ_BUILD (the build directory).
set -eu
cd "$(dirname "$0")/../.."
SRC=$(pwd)
BUILD=${FUZZ_BUILD:-build-fuzz-clang}
case $BUILD in /*) ;; *) BUILD="$SRC/$BUILD" ;; esac
SECS=${FUZZ_SECONDS:-20}
JOBS=${FUZZ_JOBS:-$(nproc)}
ALL="fuzz_frame fuzz_json fuzz_procfs fuzz_config fuzz_freebsd fuzz_text"
WANT=${FUZZ_TARGETS:-$ALL}

case $SECS in '' | *[!0-9]*) echo "run.sh: FUZZ_SECONDS must be a number" >&2; exit 2 ;; esac
case $JOBS in '' | 0 | *[!0-9]*) JOBS=1 ;; esac

# Longest input per target: a frame or payload of a few dozen objects, a
# /proc/sysvipc or FreeBSD command output of a few hundred lines, a config.
max_len() {
	case $1 in
	fuzz_config) echo 8192 ;;
	fuzz_text) echo 1024 ;;
	*) echo 16384 ;;
	esac
}

targets=
for t in $WANT; do
	if [ -f "tests/fuzz/$t.c" ]; then
		targets="$targets $t"
	else
		echo "run.sh: $t: no tests/fuzz/$t.c, skipped"
	fi
done
[ -n "$targets" ] || { echo "run.sh: no targets" >&2; exit 2; }

echo "== configure and build ($BUILD, clang, -DIPCFLEET_FUZZ=ON)"
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DIPCFLEET_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# shellcheck disable=SC2086
cmake --build "$BUILD" -j"$(nproc)" --target $targets >"$BUILD/fuzz-build.log" 2>&1 || {
	tail -n 40 "$BUILD/fuzz-build.log" >&2
	echo "run.sh: build failed (log: $BUILD/fuzz-build.log)" >&2
	exit 1
}

# run_one TARGET: one libFuzzer run; its status goes to LOG.rc.
run_one() {
	t=$1
	work="$BUILD/fuzz-work/$t"
	art="$BUILD/fuzz-artifacts/$t"
	log="$BUILD/fuzz-logs/$t.log"
	rm -rf "$art"
	mkdir -p "$work" "$art" "$BUILD/fuzz-logs"
	dict=
	[ -f "tests/fuzz/dict/$t.dict" ] && dict="-dict=tests/fuzz/dict/$t.dict"
	rc=0
	# shellcheck disable=SC2086
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$BUILD/tests/fuzz/$t" -max_total_time="$SECS" -max_len="$(max_len "$t")" \
		-rss_limit_mb=2048 -timeout=10 -print_final_stats=1 $dict \
		-artifact_prefix="$art/" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
	echo "$rc" >"$log.rc"
}

echo "== fuzzing:$targets ($SECS s each, $JOBS at a time)"
rm -f "$BUILD"/fuzz-logs/*.rc
# shellcheck disable=SC2086
set -- $targets
while [ $# -gt 0 ]; do
	pids=
	i=0
	while [ $# -gt 0 ] && [ "$i" -lt "$JOBS" ]; do
		run_one "$1" &
		pids="$pids $!"
		shift
		i=$((i + 1))
	done
	for p in $pids; do
		wait "$p" || true
	done
done

failed=0
for t in $targets; do
	log="$BUILD/fuzz-logs/$t.log"
	rc=$(cat "$log.rc" 2>/dev/null || echo 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	corpus=$(find "$BUILD/fuzz-work/$t" -type f | wc -l)
	printf '%-14s rc=%s  %s execs, %s exec/s, %s inputs in the work corpus\n' "$t" "$rc" \
		"${runs:-?}" "${speed:-?}" "$corpus"
	found=$(find "$BUILD/fuzz-artifacts/$t" -type f \( -name 'crash-*' -o -name 'leak-*' \
		-o -name 'timeout-*' -o -name 'oom-*' \) | sort)
	if [ "$rc" != 0 ] || [ -n "$found" ]; then
		failed=1
		echo "---- $t failed (log: $log) ----"
		grep -E '^(==[0-9]+==|SUMMARY|.*runtime error|.*: property violated|.*deadly signal)' \
			"$log" | head -n 20 || true
		for f in $found; do
			echo "reproducer: $f"
			echo "  replay:   $BUILD/tests/fuzz/$t $f"
		done
		[ -n "$found" ] || tail -n 30 "$log"
	fi
done
if [ "$failed" != 0 ]; then
	echo "run.sh: FAILED"
	exit 1
fi
echo "run.sh: no crash, leak or timeout"
