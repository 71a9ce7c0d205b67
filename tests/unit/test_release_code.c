/*
 * test_release_code.c: platform_release_code() (agent/linux/platform_linux.c)
 * lets go of read-only file pages only.  A mapping with a page copied on
 * write (what relocations leave in a library's read-only part) must keep
 * it: releasing it would bring the file's bytes back in its place.  A
 * mapping that is the file's alone leaves the page tables, and reads the
 * same afterwards.  (A mapping of pages not yet written back to the file
 * counts them as Private_Dirty and is kept too: the test writes back first.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform.h"

#define PAGES 4

/* Rss (kB) of the mapping that starts at p, from /proc/self/smaps; -1 when not found. */
static long
rss_kb_at(const void *p)
{
	char line[512];
	unsigned long long lo, hi;
	long kb = -1;
	int in = 0;
	FILE *fp = fopen("/proc/self/smaps", "r");

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "%llx-%llx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)lo == (uintptr_t)p;
		else if (in && sscanf(line, "Rss: %ld kB", &kb) == 1)
			break;
	}
	fclose(fp);
	return kb;
}

static void
test_release(void **state)
{
	char path[] = "/tmp/ipcfleet-release.XXXXXX";
	long page = sysconf(_SC_PAGESIZE);
	size_t len = (size_t)page * PAGES, i;
	char *buf, *cow, *ro, *heap;
	int fd;

	(void)state;
	assert_true(page > 0);
	assert_true((fd = mkstemp(path)) != -1);
	unlink(path);
	assert_non_null(buf = malloc(len));
	for (i = 0; i < PAGES; i++)
		memset(buf + i * (size_t)page, 'A' + (int)i, (size_t)page);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	/* written back: a dirty page of the cache counts as Private_Dirty, which is kept */
	assert_int_equal(fsync(fd), 0);

	/* r--p with one page of its own: written, then made read-only */
	cow = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	assert_true(cow != MAP_FAILED);
	memset(cow + page, 'X', (size_t)page);
	assert_int_equal(mprotect(cow, len, PROT_READ), 0);
	/* r--p that is the file's alone, read through */
	ro = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(ro != MAP_FAILED);
	for (i = 0; i < len; i += (size_t)page)
		assert_int_equal(ro[i], 'A' + (int)(i / (size_t)page));
	assert_true(rss_kb_at(ro) > 0);
	/* the heap is the process's own */
	assert_non_null(heap = strdup("kept"));

	platform_release_code();

	assert_int_equal(rss_kb_at(ro), 0); /* let go */
	assert_true(rss_kb_at(cow) > 0);    /* kept: it has a page of its own */
	assert_int_equal(cow[page], 'X');   /* its copy, not the file's 'B' */
	assert_int_equal(cow[2 * page - 1], 'X');
	assert_int_equal(cow[0], 'A');
	for (i = 0; i < len; i += (size_t)page) /* the same bytes, from the page cache */
		assert_int_equal(ro[i], 'A' + (int)(i / (size_t)page));
	assert_string_equal(heap, "kept");
	/* and the process goes on: its code came back on first use */
	platform_release_code();
	assert_int_equal(cow[page], 'X');

	free(heap);
	munmap(cow, len);
	munmap(ro, len);
	close(fd);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
