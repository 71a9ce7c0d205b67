#!/bin/bash
# The HTML report of a 2,000-host fleet in a real browser (issue 15).
#
# ipcfleet-bench's report section synthesises the bench's fleet (2,000
# hosts, 30 days of per-minute history, limits set tight, findings), starts
# the real aggregator and renders `ipcfleet report --format html` with the
# real CLI over mutual TLS.  Then headless Chromium (Debian's `chromium`)
# loads the file: it must parse all 2,000 rows (--dump-dom) and take a
# screenshot within a bounded time, and the screenshot must show the report
# (a real PNG of the window's size, far from blank).  Skips (77) only when
# chromium is not installed.
. "$(dirname "$0")/lib.sh"

CHROME=
for c in chromium chromium-browser; do
	if command -v "$c" >/dev/null 2>&1; then CHROME=$c; break; fi
done
[ -n "$CHROME" ] || skip "chromium is not installed (apt-get install chromium): no browser to load the report in"

HOSTS=2000
# Generous: a busy machine with two shared CPUs; the figures themselves are in docs/BENCHMARKS.md.
LOAD_MAX=60
RENDER_MAX=30

"$BIN/ipcfleet-bench" --only report --query-hosts "$HOSTS" --workdir "$T" \
	--report-out "$T/report.html" >"$T/bench.out" 2>"$T/bench.err" || {
	cat "$T/bench.err" >&2
	fail "ipcfleet-bench --only report ran"
}
cat "$T/bench.out"
check "the report was written" test -s "$T/report.html"
mb=$(sed -n 's/^report_html_mb=\([0-9.]*\) MB$/\1/p' "$T/bench.out")
secs=$(sed -n 's/^report_html_s=\([0-9.]*\) s$/\1/p' "$T/bench.out")
bytes=$(stat -c %s "$T/report.html")
check "at most 3 MB for $HOSTS hosts ($bytes bytes)" test "$bytes" -le 3145728
check "ipcfleet report --format html within ${RENDER_MAX} s ($secs s)" \
	awk -v s="${secs:-999}" -v m="$RENDER_MAX" 'BEGIN { exit !(s <= m) }'
echo "report: $mb MB, $secs s"
rows=$(grep -c '^<tr><td><a href=#h' "$T/report.html" || true)
check_eq "the glance table has one row per host" "$HOSTS" "$rows"
# the worst host is past its crit level: it has run out "now", as of the report's time
first=$(grep -m1 '^<tr><td><a href=#h0>' "$T/report.html" || true)
case $first in
*"<b class=s-crit>crit</b>"*"<td>now<td"*"<svg class=sp"*) pass "the worst host first, crit, running out now, with its sparkline" ;;
*) fail "the first glance row: $first" ;;
esac
check "self-contained: no reference outside the document" \
	sh -c "! grep -Eiq '(src|href)=\"?(https?:|//)|<script|<link|@import|url\\(' '$T/report.html'"

chrome() {
	timeout -k 5 "$LOAD_MAX" "$CHROME" --headless --no-sandbox --disable-gpu \
		--user-data-dir="$T/chrome" --no-first-run --disable-extensions \
		--hide-scrollbars "$@" "file://$T/report.html"
}

# The browser parses the whole document: every glance row is in its DOM.
t0=$(date +%s.%N)
if chrome --dump-dom >"$T/dom.html" 2>"$T/chrome.err"; then
	pass "chromium loaded the report"
else
	tail -5 "$T/chrome.err" >&2
	fail "chromium loaded the report within ${LOAD_MAX} s"
fi
t1=$(date +%s.%N)
dom_rows=$(grep -o '<tr><td><a href="#h[0-9]*">' "$T/dom.html" | wc -l)
check_eq "the browser's DOM has all $HOSTS rows" "$HOSTS" "$dom_rows"
check "the heat map made it into the DOM" grep -q 'class="hm"' "$T/dom.html"
echo "chromium --dump-dom: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

# And renders it: a screenshot of the top of the report.
rm -f "$T/shot.png"
t0=$(date +%s.%N)
chrome --screenshot="$T/shot.png" --window-size=1280,1600 2>>"$T/chrome.err" >/dev/null ||
	fail "chromium took the screenshot within ${LOAD_MAX} s"
t1=$(date +%s.%N)
echo "chromium --screenshot: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
check "a screenshot was produced" test -s "$T/shot.png"
# a PNG of the window's size: signature, then IHDR's width and height
sig=$(od -An -tx1 -N8 "$T/shot.png" | tr -d ' \n')
check_eq "the screenshot is a PNG" "89504e470d0a1a0a" "$sig"
dims=$(od -An -tu1 -j16 -N8 "$T/shot.png" | awk '{ printf "%d %d", $3 * 256 + $4, $7 * 256 + $8 }')
check_eq "the screenshot is the window's size" "1280 1600" "$dims"
# far from blank: a white page of that size compresses to a few kB; the
# report's text, table and sparklines take far more
shot=$(stat -c %s "$T/shot.png" 2>/dev/null || echo 0)
check "the screenshot shows the report ($shot bytes)" test "$shot" -gt 60000
if [ -n "${REPORT_SHOT:-}" ]; then cp "$T/shot.png" "$REPORT_SHOT"; fi
finish
