/*
 * test_unknown.c: unknown is never zero (issue 12), on captured output that
 * no collector wrote: the exact host document (JSON) the agent makes of
 * each fixture in tests/fixtures/unknown/, compared with NAME.json beside it.
 *
 * Each case is a capture or a copied tree as a user would hand it over: a
 * jail's plain `ipcs` (no -a), linprocfs's -1 in rss and swap, an `ipcs -as`
 * cut off mid-row, a capture without sysctl-kern.ipc.txt, a tree without
 * proc/sysvipc/msg, an empty `ipcs -t` listing, and macOS's ipcs (refused).
 *
 * IPCFLEET_REGEN=1 rewrites the .json files from what the code does now:
 * review every difference before committing one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "collect.h"
#include "model.h"
#include "proto.h"
#include "util.h"
#include "view.h"

#define DIR      FIXTURES "/unknown"
#define TAKEN    1764171408 /* date.txt of the FreeBSD cases */
#define JSON_MAX (4u * 1024 * 1024)

/* The host document of spec (run from DIR, so that paths in reasons are relative). */
static int
host_json(const char *spec, struct buf *json, char *err, size_t errlen)
{
	struct snapshot s;
	struct collect_warnings w;
	struct source src;
	struct view_extra x;
	struct buf doc;
	msgpack_packer pk;
	msgpack_zone zone;
	msgpack_object root;
	size_t off = 0;
	int rc = -1;

	memset(&w, 0, sizeof(w));
	memset(&x, 0, sizeof(x));
	x.host = "fixture";
	assert_int_equal(source_parse(spec, &src, err, errlen), 0);
	assert_int_equal(snapshot_init(&s), 0);
	if (collect(&src, &s, NULL, &w, err, errlen) == -1) {
		snapshot_free(&s);
		return -1;
	}
	assert_int_equal(snapshot_incomplete_finding(&s), 0);
	s.taken = TAKEN;
	buf_init(&doc, JSON_MAX);
	proto_packer_init(&pk, &doc);
	view_pack_host(&pk, &s, &x);
	msgpack_zone_init(&zone, 4096);
	assert_false(buf_failed(&doc));
	assert_int_equal(msgpack_unpack(doc.data, doc.len, &off, &zone, &root),
	                 MSGPACK_UNPACK_SUCCESS);
	if (mp_to_json(&root, json, 1) == 0 && buf_puts(json, "\n") == 0)
		rc = 0;
	msgpack_zone_destroy(&zone);
	buf_free(&doc);
	snapshot_free(&s);
	return rc;
}

/* Compares spec's document with NAME.json (or writes it with IPCFLEET_REGEN=1). */
static void
check_case(const char *name, const char *spec)
{
	char path[512], err[512] = "";
	const char *regen = getenv("IPCFLEET_REGEN");
	struct buf got;
	char *want = NULL;
	size_t wlen = 0;
	FILE *fp;

	buf_init(&got, JSON_MAX);
	if (host_json(spec, &got, err, sizeof(err)) == -1)
		fail_msg("%s: collect failed: %s", name, err);
	snprintf(path, sizeof(path), "%s.json", name);
	if (regen != NULL && strcmp(regen, "1") == 0) {
		assert_non_null(fp = fopen(path, "w"));
		assert_int_equal(fwrite(got.data, 1, got.len, fp), got.len);
		assert_int_equal(fclose(fp), 0);
	}
	if (read_file_bounded(path, JSON_MAX, &want, &wlen) == -1)
		fail_msg("%s: %s", path, strerror(errno));
	if (wlen != got.len || memcmp(want, got.data, wlen) != 0) {
		fprintf(stderr, "---- got for %s:\n%.*s\n", name, (int)got.len, got.data);
		fail_msg("%s: the host document differs from %s", name, path);
	}
	free(want);
	buf_free(&got);
}

/*
 * A jail's plain `ipcs` (no -a): 17 sets and 13 segments are counted
 * (semmni, shmmni); their sizes are not listed, so semmns and shmall are
 * unknown, and each object's nsems or size is null.  Never 0 of 340.
 */
static void
test_plain_ipcs(void **state)
{
	(void)state;
	check_case("freebsd-plain-ipcs", "freebsd-capture:freebsd-plain-ipcs");
}

/*
 * `ipcs -as` cut in the middle of its 10th set: the nine whole rows are
 * objects, but the count of sets is unknown (not 9), and so is semmns.
 */
static void
test_truncated(void **state)
{
	(void)state;
	check_case("freebsd-truncated", "freebsd-capture:freebsd-truncated");
}

/*
 * No sysctl-kern.ipc.txt: the objects are counted (266 semaphores, 293906
 * pages), every limit they are measured against is unknown, and the
 * message queues, with no section and no limits to tell, are unknown too.
 */
static void
test_no_sysctl(void **state)
{
	(void)state;
	check_case("freebsd-no-sysctl", "freebsd-capture:freebsd-no-sysctl");
}

/* An `ipcs -t` listing with no objects: every count is a known 0, no warning. */
static void
test_empty_t(void **state)
{
	(void)state;
	check_case("freebsd-empty-t", "freebsd-capture:freebsd-empty-t");
}

/* linprocfs prints -1 for rss and swap: the segments stay, rss and swap are null. */
static void
test_linprocfs(void **state)
{
	(void)state;
	check_case("linprocfs", "linux-root:linprocfs");
}

/* A copied tree without proc/sysvipc/msg: msgmni is unknown, not 0. */
static void
test_linux_no_msg(void **state)
{
	(void)state;
	check_case("linux-no-msg", "linux-root:linux-no-msg");
}

/* macOS's ipcs output is refused in one line (its columns would be misread). */
static void
test_macos(void **state)
{
	struct buf got;
	char err[512] = "";

	(void)state;
	buf_init(&got, JSON_MAX);
	assert_int_equal(host_json("freebsd-capture:macos-ipcs", &got, err, sizeof(err)), -1);
	assert_string_equal(err,
	                    "ipcs-a.txt: this is macOS ipcs output (\"IPC status from ...\"), not "
	                    "FreeBSD's");
	buf_free(&got);
}

static int
setup(void **state)
{
	(void)state;
	return chdir(DIR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_ipcs), cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_no_sysctl),  cmocka_unit_test(test_empty_t),
	    cmocka_unit_test(test_linprocfs),  cmocka_unit_test(test_linux_no_msg),
	    cmocka_unit_test(test_macos),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
