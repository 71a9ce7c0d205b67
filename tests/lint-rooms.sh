#!/bin/sh
# lint-rooms.sh SRCDIR: the rooms of docs/ARCHITECTURE.md ("Rooms and
# doors") hold: each directory includes only the headers its room may see.
#   proto/    proto/ and common/ headers (and the system's)
#   common/   common/ and proto/ headers
#   agent/    its own, common/, proto/; never the aggregator's
#   aggregator/ (the daemon and its store) its own, common/, proto/; never the agent's
#   aggregator/cli/ its own cli.h, common/, proto/: the CLI speaks queries,
#             it does not link the store or the analysis
# A quoted include naming a header outside the room fails with FILE:LINE.
set -eu
src=${1:?usage: lint-rooms.sh SRCDIR}
cd "$src"

headers() { # names of the .h files under the given directories
	for d in "$@"; do find "$d" -name '*.h' -exec basename {} \; ; done | sort -u
}
check() { # room: files..., then allowed header names in $allowed
	room=$1
	shift
	for f in "$@"; do
		grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
			sed 's/^\([0-9]*\):.*"\([^"]*\)".*/\1 \2/' |
			while read -r line h; do
				if ! printf '%s\n' "$allowed" | grep -qx "$(basename "$h")"; then
					echo "$f:$line: $room includes \"$h\", outside its room" >&2
					echo bad
				fi
			done
	done
}

fail=0
base=$(headers proto common)
allowed=$base
out=$(check proto proto/*.c proto/*.h; check common common/*.c common/*.h)
allowed=$(printf '%s\n%s\n' "$base" "$(headers agent)")
out=$out$(check agent $(find agent -name '*.c' -o -name '*.h'))
allowed=$(printf '%s\n%s\n' "$base" "$(find aggregator -maxdepth 1 -name '*.h' -exec basename {} \;)")
out=$out$(check aggregator aggregator/*.c aggregator/*.h)
allowed=$(printf '%s\n%s\n' "$base" "$(headers aggregator/cli)")
out=$out$(check aggregator/cli aggregator/cli/*.c aggregator/cli/*.h)

# the rooms' names must not collide, or the check above proves nothing
dups=$(for d in proto common agent aggregator; do find "$d" -name '*.h' -exec basename {} \; ; done |
	sort | uniq -d)
if [ -n "$dups" ]; then
	echo "lint-rooms: header names used in two rooms: $dups" >&2
	fail=1
fi
if [ -n "$out" ]; then
	fail=1
fi
if [ "$fail" -ne 0 ]; then
	echo "not ok - a room includes a header outside it (docs/ARCHITECTURE.md, Rooms and doors)"
	exit 1
fi
echo "ok - proto and common know no program; agent, aggregator and CLI share only proto and common"
