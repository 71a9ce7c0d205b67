/*
 * test_spool.c: the spool's listing and bound beyond SPOOL_MAX_ENTRIES
 * entries (agent/spool.c), on a real directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"
#include "buf.h"

#define EXTRA 10 /* entries beyond what one listing holds */

/* fsync(2), wrapped at link time (tests/CMakeLists.txt): fails on fail_fd */
int __real_fsync(int fd);
int __wrap_fsync(int fd);
static int fail_fd = -1;

/* unlinkat(2), wrapped too: counted, and failing with EROFS while ro_fs */
int __real_unlinkat(int dirfd, const char *path, int flags);
int __wrap_unlinkat(int dirfd, const char *path, int flags);
static int ro_fs;
static unsigned unlinks;

int
__wrap_unlinkat(int dirfd, const char *path, int flags)
{
	unlinks++;
	if (ro_fs) {
		errno = EROFS;
		return -1;
	}
	return __real_unlinkat(dirfd, path, flags);
}

int
__wrap_fsync(int fd)
{
	if (fd == fail_fd) {
		errno = EIO;
		return -1;
	}
	return __real_fsync(fd);
}

static void
rm_spool(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * A long outage of small snapshots: more entries than one listing holds.
 * Before, the listing stopped at SPOOL_MAX_ENTRIES in the directory's own
 * order: the bound summed only those (the spool grew past spool_max), and
 * the oldest listed were not the oldest.  Now every entry counts and the
 * oldest are listed, and dropped first.
 */
static void
test_beyond_one_listing(void **state)
{
	char top[] = "/tmp/ipcfleet-spool-XXXXXX", dir[64], path[128], err[512];
	const size_t total = SPOOL_MAX_ENTRIES + EXTRA;
	struct spool_entry *v;
	struct spool sp;
	struct buf frame;
	uint64_t need, k;
	size_t n, i;

	(void)state;
	assert_non_null(mkdtemp(top));
	snprintf(dir, sizeof(dir), "%s/spool", top);
	assert_int_equal(spool_open(&sp, dir, 64 * 1024, err, sizeof(err)), 0);
	/* newest first, one byte each: the directory's order is not theirs */
	for (i = total; i > 0; i--) {
		int fd;

		snprintf(path, sizeof(path), "%s/%020zu.snap", dir, i);
		assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) != -1);
		assert_int_equal(write(fd, "x", 1), 1);
		close(fd);
	}
	assert_int_equal(spool_list(&sp, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, SPOOL_MAX_ENTRIES);
	for (i = 0; i < n; i++)
		if (v[i].seq != i + 1)
			fail_msg("entry %zu of the listing is %llu, not %zu", i,
			         (unsigned long long)v[i].seq, i + 1);
	free(v);
	assert_int_equal(sp.listed_count, total);
	assert_int_equal(sp.listed_bytes, total);
	assert_int_equal(sp.listed_newest, total);

	/* one more snapshot: the oldest k go, so that all fit in 64K */
	buf_init(&frame, 4096);
	assert_int_equal(buf_append(&frame, "\0\0\0\1\x80", 5), 0);
	need = 64 + frame.len;
	k = total + need - 64 * 1024;
	assert_int_equal(spool_put(&sp, total + 1, &frame, err, sizeof(err)), 0);
	assert_int_equal(spool_dropped(&sp), k);
	snprintf(path, sizeof(path), "%s/%020llu.snap", dir, (unsigned long long)k);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/%020llu.snap", dir, (unsigned long long)k + 1);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(spool_list(&sp, &v, &n, err, sizeof(err)), 0);
	free(v);
	assert_true(sp.listed_bytes <= 64 * 1024);
	assert_int_equal(sp.listed_newest, total + 1);
	buf_free(&frame);
	spool_close(&sp);
	rm_spool(top);
}

/*
 * The directory's fsync fails after an entry's rename (an I/O error): the
 * entry is not durable, so it is not spooled: removed, and the caller
 * counts the snapshot as dropped.  Before, it stayed and was sent while
 * counted as dropped.
 */
static void
test_dir_fsync_fails(void **state)
{
	char top[] = "/tmp/ipcfleet-spool-XXXXXX", dir[64], path[128], err[512];
	struct spool sp;
	struct buf frame;

	(void)state;
	assert_non_null(mkdtemp(top));
	snprintf(dir, sizeof(dir), "%s/spool", top);
	assert_int_equal(spool_open(&sp, dir, 64 * 1024, err, sizeof(err)), 0);
	buf_init(&frame, 4096);
	assert_int_equal(buf_append(&frame, "\0\0\0\1\x80", 5), 0);
	fail_fd = sp.dirfd;
	assert_int_equal(spool_put(&sp, 7, &frame, err, sizeof(err)), -1);
	fail_fd = -1;
	assert_non_null(strstr(err, "cannot write 00000000000000000007.snap: Input/output error"));
	snprintf(path, sizeof(path), "%s/%020d.snap", dir, 7);
	assert_int_equal(access(path, F_OK), -1);
	/* and once the disk answers again, it is spooled */
	assert_int_equal(spool_put(&sp, 8, &frame, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/%020d.snap", dir, 8);
	assert_int_equal(access(path, F_OK), 0);
	buf_free(&frame);
	spool_close(&sp);
	rm_spool(top);
}

/* A file of n bytes at dir/name. */
static void
put_bytes(const char *dir, const char *name, size_t n)
{
	char path[160], *b;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(b = calloc(1, n));
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) != -1);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	close(fd);
	free(b);
}

/*
 * Entries set aside (*.bad: corrupt, or refused by the aggregator) count
 * towards spool_max, and go first, oldest first, when room is needed: they
 * were counted as dropped when set aside.  Before, they were never counted
 * nor removed: an aggregator refusing everything filled the disk.
 */
static void
test_set_aside_bounded(void **state)
{
	char top[] = "/tmp/ipcfleet-spool-XXXXXX", dir[64], path[160], err[512];
	struct spool_entry *v;
	struct spool sp;
	struct buf frame;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(top));
	snprintf(dir, sizeof(dir), "%s/spool", top);
	assert_int_equal(spool_open(&sp, dir, 64 * 1024, err, sizeof(err)), 0);
	put_bytes(dir, "00000000000000000001.snap.bad", 20000);
	put_bytes(dir, "00000000000000000002.snap.bad", 20000);
	put_bytes(dir, "00000000000000000003.snap.bad", 20000);
	put_bytes(dir, "00000000000000000004.snap", 20000);
	assert_int_equal(spool_list(&sp, &v, &n, err, sizeof(err)), 0);
	free(v);
	assert_int_equal(n, 1);
	assert_int_equal(sp.listed_bad, 3);
	assert_int_equal(sp.listed_bad_bytes, 60000);
	buf_init(&frame, 4096);
	assert_int_equal(buf_append(&frame, "\0\0\0\1\x80", 5), 0);
	/* 80,000 bytes and 69 more: the oldest set aside goes, and only it */
	assert_int_equal(spool_put(&sp, 5, &frame, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/00000000000000000001.snap.bad", dir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/00000000000000000002.snap.bad", dir);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/00000000000000000004.snap", dir);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(spool_dropped(&sp), 0); /* counted when set aside */
	buf_free(&frame);
	spool_close(&sp);
	rm_spool(top);
}

/*
 * Acknowledged entries that cannot be removed (a read-only filesystem) are
 * remembered and never listed again, looked up in a sorted list, and their
 * removal is retried every 10 s, not at every listing: a large backlog
 * acknowledged on a read-only filesystem made every listing a failing
 * unlinkat per remembered entry, and a scan of the list per entry.
 */
static void
test_unremovable_acked(void **state)
{
	char top[] = "/tmp/ipcfleet-spool-XXXXXX", dir[64], name[40], err[512];
	struct spool_entry *v;
	struct spool sp;
	size_t n, i;

	(void)state;
	assert_non_null(mkdtemp(top));
	snprintf(dir, sizeof(dir), "%s/spool", top);
	assert_int_equal(spool_open(&sp, dir, 64 * 1024 * 1024, err, sizeof(err)), 0);
	for (i = 1; i <= 1000; i++) {
		snprintf(name, sizeof(name), "%020zu.snap", i);
		put_bytes(dir, name, 10);
	}
	ro_fs = 1;
	/* acknowledged in a shuffled order: the list stays sorted */
	for (i = 0; i < 1000; i++)
		assert_int_equal(spool_remove(&sp, (i * 7919) % 1000 + 1), -1);
	unlinks = 0;
	assert_int_equal(spool_list(&sp, &v, &n, err, sizeof(err)), 0);
	free(v);
	assert_int_equal(n, 0);
	assert_int_equal(unlinks, 1000); /* retried once each */
	unlinks = 0;
	assert_int_equal(spool_list(&sp, &v, &n, err, sizeof(err)), 0);
	free(v);
	assert_int_equal(n, 0);
	assert_int_equal(unlinks, 0); /* not again before 10 s */
	/* writable again: at the next retry they go (the retry made due now) */
	ro_fs = 0;
	sp.skip_retry_at = 0;
	assert_int_equal(spool_list(&sp, &v, &n, err, sizeof(err)), 0);
	free(v);
	assert_int_equal(unlinks, 1000);
	assert_int_equal(sp.listed_count, 0);
	assert_int_equal(sp.nskip, 0); /* their files gone, they are forgotten */
	spool_close(&sp);
	rm_spool(top);
}

/*
 * The spool replaced by a copy of itself while the agent runs (a restore):
 * the same identity, so numbers handed out since the copy are not handed
 * out again (the aggregator would take them for duplicates), and the drops
 * counted are not counted twice.
 */
static void
test_copy_put_back(void **state)
{
	char top[] = "/tmp/ipcfleet-spool-XXXXXX", dir[64], copy[80], cmd[256], err[512];
	struct spool sp;
	struct buf frame;
	uint64_t seq;
	int i;

	(void)state;
	assert_non_null(mkdtemp(top));
	snprintf(dir, sizeof(dir), "%s/spool", top);
	snprintf(copy, sizeof(copy), "%s/copy", top);
	assert_int_equal(spool_open(&sp, dir, 64 * 1024 * 1024, err, sizeof(err)), 0);
	buf_init(&frame, 4096);
	assert_int_equal(buf_append(&frame, "\0\0\0\1\x80", 5), 0);
	for (i = 1; i <= 8; i++) {
		assert_int_equal(spool_next_seq(&sp, &seq, err, sizeof(err)), 0);
		assert_int_equal(seq, (uint64_t)i);
		if (i == 1)
			spool_count_drop(&sp, 2);
		assert_int_equal(spool_put(&sp, seq, &frame, err, sizeof(err)), 0);
		if (i == 5) {
			snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", dir, copy);
			assert_int_equal(system(cmd), 0);
		}
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mv '%s' '%s'", dir, copy, dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(spool_recheck(&sp, err, sizeof(err)), 2);
	assert_int_equal(spool_next_seq(&sp, &seq, err, sizeof(err)), 0);
	assert_int_equal(seq, 9);
	/* the 2 counted, and entries 6 to 8: removed with the directory, not in
	 * the copy (1 to 5 are, and are still sent) */
	assert_int_equal(spool_dropped(&sp), 2 + 3);
	buf_free(&frame);
	spool_close(&sp);
	rm_spool(top);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_beyond_one_listing), cmocka_unit_test(test_dir_fsync_fails),
	    cmocka_unit_test(test_set_aside_bounded),  cmocka_unit_test(test_unremovable_acked),
	    cmocka_unit_test(test_copy_put_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
