#!/usr/bin/env bash
# The hosts listing in pages: 23 hosts (load generator, real mutual TLS)
# listed by the CLI in pages of 1, 5 and 22 hosts, by default (one page of
# 5,000) and all at once (--page 0): the same rows, in the same order, in
# JSON and as text, and the aggregator answered one query per page (its
# debug log); the report likewise (JSON, CSV, HTML).  A bad --page is
# refused before anything is asked.  What a hostile admin can send as
# 'limit' and 'after' is t_sec_hostile.sh's (query-absurd/hosts-*,
# report-*); PostgreSQL's pages are t_postgres.sh's.
. "$(dirname "$0")/lib.sh"
need jq

AGENTS=23

pki_dev it-pages
write_agg_conf "[analysis]" "check_interval = 1s" "stale_grace = 0"
start_agg
write_cli_conf
start_loadgen acks "$PORT" "$AGENTS" 1 2 30 pg
wait "$LG" || true
check_eq "the load generator's $AGENTS agents were acknowledged" "$AGENTS" \
	"$(cut -d' ' -f1 "$T/acks" | sort -u | wc -l)"
# the listings below are compared byte for byte, a few seconds apart: wait
# until no status can change any more (stale: no snapshot for 3 intervals)
all_stale() { [ "$(cli --json hosts --page 0 | jq '[.[] | select(.status == "stale")] | length')" = "$AGENTS" ]; }
check "every host went stale, so no status changes between listings" wait_for 60 all_stale

cli --json hosts --page 0 >"$T/all.json"
check_eq "all at once: $AGENTS hosts" "$AGENTS" "$(jq length "$T/all.json")"
check_eq "... sorted by name" "$(jq -r '.[].host' "$T/all.json" | LC_ALL=C sort)" \
	"$(jq -r '.[].host' "$T/all.json")"

queries() { grep -c ": query ${1:-hosts} (" "$T/aggregator.log" || true; }
# the connections (peer address and port) that asked CMD since log line FROM
conns() {
	tail -n +"$1" "$T/aggregator.log" |
		sed -n "s/.*(\([^()]*\)): query ${2:-hosts} (.*/\1/p" | sort -u | wc -l
}
for page in 1 5 22 23 5000; do
	before=$(queries)
	from=$(($(wc -l <"$T/aggregator.log") + 1))
	cli --json hosts --page "$page" >"$T/p$page.json"
	check "pages of $page: the same JSON as all at once" cmp -s "$T/all.json" "$T/p$page.json"
	# one query per page: the last is the one whose "next" is nil
	want=$(((AGENTS + page - 1) / page))
	check_eq "pages of $page: $want queries" "$want" $(($(queries) - before))
	check_eq "... over one connection" 1 "$(conns "$from")"
done
cli --json hosts >"$T/default.json"
check "by default (pages of 5,000): the same JSON" cmp -s "$T/all.json" "$T/default.json"
cli hosts --page 0 >"$T/all.txt"
cli hosts --page 4 >"$T/p4.txt"
check "as text, pages of 4: the same table" cmp -s "$T/all.txt" "$T/p4.txt"
check_eq "... one line per host and a heading" $((AGENTS + 1)) "$(wc -l <"$T/p4.txt")"

# the report in pages: the same rows (its "generated" is each query's own time)
cli --json report --page 0 | jq 'del(.generated)' >"$T/rall.json"
check_eq "report all at once: $AGENTS hosts" "$AGENTS" "$(jq '.hosts | length' "$T/rall.json")"
for page in 1 7 23; do
	before=$(queries report)
	from=$(($(wc -l <"$T/aggregator.log") + 1))
	cli --json report --page "$page" | jq 'del(.generated)' >"$T/r$page.json"
	check "report in pages of $page: the same JSON as all at once" cmp -s "$T/rall.json" "$T/r$page.json"
	check_eq "report in pages of $page: $(((AGENTS + page - 1) / page)) queries" \
		$(((AGENTS + page - 1) / page)) $(($(queries report) - before))
	check_eq "... over one connection" 1 "$(conns "$from" report)"
done
cli report --format csv --page 0 >"$T/rall.csv"
cli report --format csv --page 4 >"$T/r4.csv"
check "report as CSV in pages of 4: the same" cmp -s "$T/rall.csv" "$T/r4.csv"
check_eq "... a heading and 5 limits a host" $((AGENTS * 5 + 1)) "$(wc -l <"$T/r4.csv")"
cli report --format html --page 3 -o "$T/r3.html"
check_eq "the HTML report in pages of 3 names every host" "$AGENTS" \
	"$(grep -o 'pg-00[0-9][0-9]' "$T/r3.html" | sort -u | wc -l)"

set +e
out=$(cli hosts --page 10001 2>&1)
rc=$?
set -e
check_eq "--page 10001: usage error" 2 "$rc"
check "... that says the range" grep -q "0 to 10000 hosts a request" <<<"$out"
set +e
out=$(cli hosts --page many 2>&1)
rc=$?
set -e
check_eq "--page many: usage error" 2 "$rc"

finish
