/*
 * test_util.c: the strict parsers and small helpers of util.h, at their edges.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

/* Asserts that parse_u64(s, 0, UINT64_MAX) fails with errstr why. */
static void
t_u64_bad(const char *s, const char *why)
{
	const char *errstr = NULL;
	uint64_t v = 12345;

	assert_int_equal(parse_u64(s, 0, UINT64_MAX, &v, &errstr), -1);
	assert_string_equal(errstr, why);
	assert_int_equal(v, 12345); /* untouched */
}

static void
test_parse_u64(void **state)
{
	const char *errstr = NULL;
	uint64_t v;

	(void)state;
	assert_int_equal(parse_u64("0", 0, UINT64_MAX, &v, &errstr), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("007", 0, UINT64_MAX, &v, &errstr), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_u64("18446744073709551615", 0, UINT64_MAX, &v, &errstr), 0);
	assert_true(v == UINT64_MAX);
	t_u64_bad("18446744073709551616", "too large");
	t_u64_bad("99999999999999999999999", "too large");
	t_u64_bad("-0", "not a number");
	t_u64_bad("-1", "not a number");
	t_u64_bad("+1", "not a number");
	t_u64_bad(" 1", "not a number");
	t_u64_bad("1 ", "not a number");
	t_u64_bad("", "empty");
	t_u64_bad("1x", "not a number");
	t_u64_bad("0x10", "not a number");
	/* bounds */
	assert_int_equal(parse_u64("10", 10, 20, &v, &errstr), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_u64("20", 10, 20, &v, &errstr), 0);
	assert_int_equal(v, 20);
	assert_int_equal(parse_u64("9", 10, 20, &v, &errstr), -1);
	assert_string_equal(errstr, "too small");
	assert_int_equal(parse_u64("21", 10, 20, &v, &errstr), -1);
	assert_string_equal(errstr, "too large");
}

/* The published FNV-1a test vectors (draft-eastlake-fnv). */
static void
test_fnv1a(void **state)
{
	(void)state;
	assert_int_equal(fnv1a_str(""), 0x811c9dc5u);
	assert_int_equal(fnv1a_str("a"), 0xe40c292cu);
	assert_int_equal(fnv1a_str("foobar"), 0xbf9cf968u);
	assert_true(fnv1a64_str("") == 0xcbf29ce484222325ull);
	assert_true(fnv1a64_str("a") == 0xaf63dc4c8601ec8cull);
	assert_true(fnv1a64_str("foobar") == 0x85944171f73967e8ull);
}

/* A time plus any number of seconds stays within int64. */
static void
test_time_plus(void **state)
{
	(void)state;
	assert_true(time_plus(1000, 86400.0L) == 87400);
	assert_true(time_plus(1000, -1000.0L) == 0);
	assert_true(time_plus(1764165600, 1e30L) == INT64_MAX);
	assert_true(time_plus(INT64_MAX - 10, 11.0L) == INT64_MAX);
	assert_true(time_plus(INT64_MAX - 10, 9.0L) == INT64_MAX - 1);
	assert_true(time_plus(-5, -1e30L) == INT64_MIN);
	assert_true(time_plus(0, (long double)NAN) == INT64_MAX);
}

static void
test_parse_i64(void **state)
{
	const char *errstr = NULL;
	int64_t v;

	(void)state;
	assert_int_equal(parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v, &errstr), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &v, &errstr), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v, &errstr), -1);
	assert_string_equal(errstr, "too large");
	assert_int_equal(parse_i64("-9223372036854775809", INT64_MIN, INT64_MAX, &v, &errstr), -1);
	assert_string_equal(errstr, "too small");
	assert_int_equal(parse_i64("-0", INT64_MIN, INT64_MAX, &v, &errstr), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_i64("-42", INT64_MIN, INT64_MAX, &v, &errstr), 0);
	assert_int_equal(v, -42);
	assert_int_equal(parse_i64("+1", INT64_MIN, INT64_MAX, &v, &errstr), -1);
	assert_string_equal(errstr, "not a number");
	assert_int_equal(parse_i64(" 1", INT64_MIN, INT64_MAX, &v, &errstr), -1);
	assert_string_equal(errstr, "not a number");
	assert_int_equal(parse_i64("--1", INT64_MIN, INT64_MAX, &v, &errstr), -1);
	assert_string_equal(errstr, "not a number");
	assert_int_equal(parse_i64("-", INT64_MIN, INT64_MAX, &v, &errstr), -1);
	assert_string_equal(errstr, "empty");
	assert_int_equal(parse_i64("", INT64_MIN, INT64_MAX, &v, &errstr), -1);
	assert_string_equal(errstr, "empty");
	assert_int_equal(parse_i64("1x", INT64_MIN, INT64_MAX, &v, &errstr), -1);
	assert_string_equal(errstr, "not a number");
	/* bounds on both sides of zero */
	assert_int_equal(parse_i64("-11", -10, 10, &v, &errstr), -1);
	assert_string_equal(errstr, "too small");
	assert_int_equal(parse_i64("11", -10, 10, &v, &errstr), -1);
	assert_string_equal(errstr, "too large");
	assert_int_equal(parse_i64("-1", -10, -5, &v, &errstr), -1);
	assert_string_equal(errstr, "too large");
	assert_int_equal(parse_i64("-0", -10, -5, &v, &errstr), -1);
	assert_string_equal(errstr, "too large");
	assert_int_equal(parse_i64("3", 5, 10, &v, &errstr), -1);
	assert_string_equal(errstr, "too small");
	assert_int_equal(parse_i64("-5", -10, -5, &v, &errstr), 0);
	assert_int_equal(v, -5);
}

static void
test_parse_octal(void **state)
{
	const char *errstr = NULL;
	uint32_t v;

	(void)state;
	assert_int_equal(parse_octal("0600", &v, &errstr), 0);
	assert_int_equal(v, 0600);
	assert_int_equal(parse_octal("600", &v, &errstr), 0);
	assert_int_equal(v, 0600);
	assert_int_equal(parse_octal("0", &v, &errstr), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_octal("37777777777", &v, &errstr), 0);
	assert_true(v == UINT32_MAX);
	assert_int_equal(parse_octal("40000000000", &v, &errstr), -1);
	assert_string_equal(errstr, "too large");
	assert_int_equal(parse_octal("8", &v, &errstr), -1);
	assert_string_equal(errstr, "not an octal number");
	assert_int_equal(parse_octal("-1", &v, &errstr), -1);
	assert_string_equal(errstr, "not an octal number");
	assert_int_equal(parse_octal("", &v, &errstr), -1);
	assert_string_equal(errstr, "empty");
}

static void
t_duration(const char *s, uint64_t want)
{
	const char *errstr = NULL;
	uint64_t v = 0;

	assert_int_equal(parse_duration(s, &v, &errstr), 0);
	assert_true(v == want);
}

static void
t_duration_bad(const char *s, const char *why)
{
	const char *errstr = NULL;
	uint64_t v = 0;

	assert_int_equal(parse_duration(s, &v, &errstr), -1);
	assert_string_equal(errstr, why);
}

static void
test_parse_duration(void **state)
{
	static const char notdur[] = "not a duration (use a number with s, m, h or d)";

	(void)state;
	t_duration("0", 0);
	t_duration("90", 90);
	t_duration("90s", 90);
	t_duration("15m", 900);
	t_duration("1h", 3600);
	t_duration("14d", 1209600);
	t_duration("213503982334601d", 213503982334601ull * 86400);
	t_duration_bad("213503982334602d", "too large");
	t_duration_bad("18446744073709551616", "too large");
	t_duration_bad("1w", notdur);
	t_duration_bad("h", notdur);
	t_duration_bad("1H", notdur);
	t_duration_bad("1hs", notdur);
	t_duration_bad("1.5h", notdur);
	t_duration_bad(" 1h", notdur);
	t_duration_bad("-1s", notdur);
	t_duration_bad("", "empty");
	t_duration_bad("000000000000000000000000000000001s", "too long");
}

static void
t_size(const char *s, uint64_t want)
{
	const char *errstr = NULL;
	uint64_t v = 0;

	assert_int_equal(parse_size(s, &v, &errstr), 0);
	assert_true(v == want);
}

static void
t_size_bad(const char *s, const char *why)
{
	const char *errstr = NULL;
	uint64_t v = 0;

	assert_int_equal(parse_size(s, &v, &errstr), -1);
	assert_string_equal(errstr, why);
}

static void
test_parse_size(void **state)
{
	static const char notsize[] = "not a size (use a number with K, M or G)";

	(void)state;
	t_size("0", 0);
	t_size("4096", 4096);
	t_size("64K", 65536);
	t_size("64M", 67108864);
	t_size("1G", 1073741824);
	t_size("17179869183G", 17179869183ull * 1073741824);
	t_size_bad("17179869184G", "too large");
	t_size_bad("1T", notsize);
	t_size_bad("1k", notsize);
	t_size_bad("M", notsize);
	t_size_bad("1MB", notsize);
	t_size_bad("", "empty");
}

static void
test_parse_hostport(void **state)
{
	const char *errstr = NULL;
	char host[64], port[8], small[4];

	(void)state;
	assert_int_equal(
	    parse_hostport("192.0.2.1:7701", host, sizeof(host), port, sizeof(port), &errstr), 0);
	assert_string_equal(host, "192.0.2.1");
	assert_string_equal(port, "7701");
	assert_int_equal(
	    parse_hostport("[2001:db8::1]:443", host, sizeof(host), port, sizeof(port), &errstr),
	    0);
	assert_string_equal(host, "2001:db8::1");
	assert_string_equal(port, "443");
	assert_int_equal(parse_hostport("agg1.example.org:65535", host, sizeof(host), port,
	                                sizeof(port), &errstr),
	                 0);
	assert_string_equal(host, "agg1.example.org");
	assert_string_equal(port, "65535");

	assert_int_equal(
	    parse_hostport("agg1.example.org", host, sizeof(host), port, sizeof(port), &errstr),
	    -1);
	assert_string_equal(errstr, "expected HOST:PORT");
	assert_int_equal(parse_hostport("host:", host, sizeof(host), port, sizeof(port), &errstr),
	                 -1);
	assert_string_equal(errstr, "bad port (0 to 65535)");
	assert_int_equal(
	    parse_hostport("host:65536", host, sizeof(host), port, sizeof(port), &errstr), -1);
	assert_string_equal(errstr, "bad port (0 to 65535)");
	assert_int_equal(
	    parse_hostport("host:http", host, sizeof(host), port, sizeof(port), &errstr), -1);
	assert_string_equal(errstr, "bad port (0 to 65535)");
	assert_int_equal(parse_hostport(":7701", host, sizeof(host), port, sizeof(port), &errstr),
	                 -1);
	assert_string_equal(errstr, "empty host");
	assert_int_equal(parse_hostport("[]:7701", host, sizeof(host), port, sizeof(port), &errstr),
	                 -1);
	assert_string_equal(errstr, "empty host");
	/* an IPv6 address needs brackets */
	assert_int_equal(
	    parse_hostport("::1:7701", host, sizeof(host), port, sizeof(port), &errstr), -1);
	assert_string_equal(errstr, "expected HOST:PORT");
	assert_int_equal(parse_hostport("[::1]", host, sizeof(host), port, sizeof(port), &errstr),
	                 -1);
	assert_string_equal(errstr, "expected [ADDRESS]:PORT");
	assert_int_equal(
	    parse_hostport("[::1]7701", host, sizeof(host), port, sizeof(port), &errstr), -1);
	assert_string_equal(errstr, "expected [ADDRESS]:PORT");
	assert_int_equal(
	    parse_hostport("abcd:1", small, sizeof(small), port, sizeof(port), &errstr), -1);
	assert_string_equal(errstr, "host too long");
	assert_int_equal(parse_hostport("abc:1", small, sizeof(small), port, sizeof(port), &errstr),
	                 0);
	assert_string_equal(small, "abc");
}

/* read_fd_full: a pipe that gives its bytes in small pieces, a short file, a bad fd. */
static void
test_read_fd_full(void **state)
{
	char buf[16];
	size_t len = 99;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "abcdefgh", 8), 8);
	assert_int_equal(read_fd_full(p[0], buf, 5, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "abcde", 5);
	/* the end of the file before n: what there was */
	close(p[1]);
	assert_int_equal(read_fd_full(p[0], buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "fgh", 3);
	assert_int_equal(read_fd_full(p[0], buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 0);
	close(p[0]);
	/* a read that fails: -1 with errno, nothing read */
	len = 99;
	assert_int_equal(read_fd_full(p[0], buf, sizeof(buf), &len), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(len, 0);
}

/* Writes len bytes of 'a' to path. */
static void
t_write(const char *path, size_t len)
{
	FILE *f;
	size_t i;

	assert_non_null(f = fopen(path, "wb"));
	for (i = 0; i < len; i++)
		assert_int_equal(fputc('a', f), 'a');
	assert_int_equal(fclose(f), 0);
}

static void
test_read_file_bounded(void **state)
{
	char dir[] = "/tmp/test_util.XXXXXX", path[128];
	char *buf;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);

	/* exactly max bytes, small and across the 4096-byte first buffer */
	t_write(path, 100);
	assert_int_equal(read_file_bounded(path, 100, &buf, &len), 0);
	assert_int_equal(len, 100);
	assert_int_equal(buf[99], 'a');
	assert_int_equal(buf[100], '\0');
	free(buf);
	errno = 0;
	assert_int_equal(read_file_bounded(path, 99, &buf, &len), -1);
	assert_int_equal(errno, EFBIG);
	assert_null(buf);
	assert_int_equal(len, 0);

	t_write(path, 10000);
	assert_int_equal(read_file_bounded(path, 10000, &buf, &len), 0);
	assert_int_equal(len, 10000);
	assert_int_equal(buf[10000], '\0');
	free(buf);
	assert_int_equal(read_file_bounded(path, 1 << 20, &buf, &len), 0);
	assert_int_equal(len, 10000);
	free(buf);
	errno = 0;
	assert_int_equal(read_file_bounded(path, 9999, &buf, &len), -1);
	assert_int_equal(errno, EFBIG);
	errno = 0;
	assert_int_equal(read_file_bounded(path, 4096, &buf, &len), -1);
	assert_int_equal(errno, EFBIG);

	/* empty: a valid empty string */
	t_write(path, 0);
	assert_int_equal(read_file_bounded(path, 100, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
	assert_int_equal(read_file_bounded(path, 0, &buf, &len), 0);
	assert_int_equal(len, 0);
	free(buf);

	assert_int_equal(unlink(path), 0);
	errno = 0;
	assert_int_equal(read_file_bounded(path, 100, &buf, &len), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(buf);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_rfc3339(void **state)
{
	static const int64_t times[] = {0, 951868799, 1795701600, 4102444800};
	char buf[32];
	int64_t t;
	size_t i;

	(void)state;
	assert_string_equal(fmt_rfc3339(1795701600, buf, 21), "2026-11-26T14:00:00Z");
	assert_string_equal(fmt_rfc3339(951868799, buf, sizeof(buf)), "2000-02-29T23:59:59Z");
	assert_string_equal(fmt_rfc3339(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
	for (i = 0; i < NELEM(times); i++) {
		assert_int_equal(parse_rfc3339(fmt_rfc3339(times[i], buf, sizeof(buf)), &t), 0);
		assert_true(t == times[i]);
	}
	assert_int_equal(parse_rfc3339("2026-11-26T14:00:00Z", &t), 0);
	assert_true(t == 1795701600);
	assert_int_equal(parse_rfc3339("2026-11-26T14:00:00", &t), -1);
	assert_int_equal(parse_rfc3339("2026-11-26T14:00:00+01:00", &t), -1);
	assert_int_equal(parse_rfc3339("2026-11-26T14:00:00Zx", &t), -1);
	assert_int_equal(parse_rfc3339("2026-11-26 14:00:00Z", &t), -1);
	assert_int_equal(parse_rfc3339("", &t), -1);
	assert_int_equal(parse_rfc3339("yesterday", &t), -1);
}

static void
test_strlcpy(void **state)
{
	char b[6];

	(void)state;
	assert_int_equal(ifl_strlcpy(b, "hello world", sizeof(b)), 11);
	assert_string_equal(b, "hello");
	assert_int_equal(ifl_strlcpy(b, "hi", sizeof(b)), 2);
	assert_string_equal(b, "hi");
	assert_int_equal(ifl_strlcpy(b, "12345", sizeof(b)), 5);
	assert_string_equal(b, "12345");
	memcpy(b, "xxxxx", 6);
	assert_int_equal(ifl_strlcpy(b, "abc", 0), 3);
	assert_string_equal(b, "xxxxx");
	assert_int_equal(ifl_strlcpy(b, "abc", 1), 3);
	assert_string_equal(b, "");
	/* strlcat */
	ifl_strlcpy(b, "ab", sizeof(b));
	assert_int_equal(ifl_strlcat(b, "cd", sizeof(b)), 4);
	assert_string_equal(b, "abcd");
	assert_int_equal(ifl_strlcat(b, "efgh", sizeof(b)), 8);
	assert_string_equal(b, "abcde");
}

static void
test_expand_tilde(void **state)
{
	char out[64], small[8];

	(void)state;
	assert_int_equal(setenv("HOME", "/home/ops", 1), 0);
	assert_int_equal(expand_tilde("~/x/y", out, sizeof(out)), 0);
	assert_string_equal(out, "/home/ops/x/y");
	assert_int_equal(expand_tilde("~", out, sizeof(out)), 0);
	assert_string_equal(out, "/home/ops");
	assert_int_equal(expand_tilde("~ops/x", out, sizeof(out)), 0);
	assert_string_equal(out, "~ops/x");
	assert_int_equal(expand_tilde("/etc/~/x", out, sizeof(out)), 0);
	assert_string_equal(out, "/etc/~/x");
	assert_int_equal(expand_tilde("rel", out, sizeof(out)), 0);
	assert_string_equal(out, "rel");
	assert_int_equal(expand_tilde("~/x", small, sizeof(small)), -1);
	assert_int_equal(expand_tilde("/abcdefgh", small, sizeof(small)), -1);
	assert_int_equal(expand_tilde("/abcdef", small, sizeof(small)), 0);
	assert_string_equal(small, "/abcdef");
}

/* Doubling from first, never past max; a refusal leaves the array as it was. */
static void
test_grow_array(void **state)
{
	int *v = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(grow_array(&v, &cap, 0, 4, 10, sizeof(*v)), 0);
	assert_null(v);
	assert_int_equal(grow_array(&v, &cap, 1, 4, 10, sizeof(*v)), 0);
	assert_non_null(v);
	assert_int_equal(cap, 4);
	v[3] = 42;
	assert_int_equal(grow_array(&v, &cap, 4, 4, 10, sizeof(*v)), 0);
	assert_int_equal(cap, 4);
	assert_int_equal(grow_array(&v, &cap, 5, 4, 10, sizeof(*v)), 0);
	assert_int_equal(cap, 8);
	assert_int_equal(v[3], 42);
	assert_int_equal(grow_array(&v, &cap, 9, 4, 10, sizeof(*v)), 0);
	assert_int_equal(cap, 10); /* not 16: the cap */
	assert_int_equal(grow_array(&v, &cap, 11, 4, 10, sizeof(*v)), -1);
	assert_int_equal(cap, 10);
	assert_int_equal(v[3], 42);
	free(v);
	/* an element count whose bytes would overflow size_t is refused, not wrapped */
	v = NULL;
	cap = 0;
	assert_int_equal(grow_array(&v, &cap, 2, 2, SIZE_MAX, SIZE_MAX / 2 + 1), -1);
	assert_null(v);
	assert_int_equal(cap, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_time_plus),         cmocka_unit_test(test_fnv1a),
	    cmocka_unit_test(test_parse_u64),         cmocka_unit_test(test_parse_i64),
	    cmocka_unit_test(test_parse_octal),       cmocka_unit_test(test_parse_duration),
	    cmocka_unit_test(test_parse_size),        cmocka_unit_test(test_parse_hostport),
	    cmocka_unit_test(test_read_file_bounded), cmocka_unit_test(test_read_fd_full),
	    cmocka_unit_test(test_grow_array),        cmocka_unit_test(test_rfc3339),
	    cmocka_unit_test(test_strlcpy),           cmocka_unit_test(test_expand_tilde),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
