/*
 * replay.c: a main() for a fuzz target outside libFuzzer.
 *
 *   replay_TARGET PATH...
 *
 * Feeds each file (and each regular file in each directory, in name order,
 * skipping names that start with '.') to LLVMFuzzerTestOneInput() once.
 * Every input gets a buffer of exactly its size, so that AddressSanitizer
 * (when built with it) sees a read past the end as libFuzzer would.  The
 * name of each input is printed before it runs, so the last name printed
 * before a crash is the culprit.  Exits 1 when a path cannot be read or
 * when no input was found at all (an empty corpus is a mistake).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "util.h"

/* Larger than any input a target is fuzzed with (the largest is a frame). */
#define REPLAY_FILE_MAX (17u * 1024 * 1024)

/* Runs one file; 0, or -1 when it cannot be read. */
static int
replay_file(const char *path)
{
	char *text;
	uint8_t *copy;
	size_t len;

	if (read_file_bounded(path, REPLAY_FILE_MAX, &text, &len) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* exactly len bytes: read_file_bounded's buffer has a NUL after them */
	if ((copy = malloc(len > 0 ? len : 1)) == NULL) {
		free(text);
		fprintf(stderr, "replay: %s: out of memory\n", path);
		return -1;
	}
	memcpy(copy, text, len);
	free(text);
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	return 0;
}

static int
replay_filter(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Runs every regular file in dir; adds to *count.  0 or -1. */
static int
replay_dir(const char *dir, size_t *count)
{
	struct dirent **names;
	struct stat st;
	char path[4096];
	int i, n, rc = 0;

	if ((n = scandir(dir, &names, replay_filter, alphasort)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) >=
			    sizeof(path)) {
				fprintf(stderr, "replay: %s/%s: path too long\n", dir,
				        names[i]->d_name);
				rc = -1;
			} else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				if (replay_file(path) == -1)
					rc = -1;
				else
					(*count)++;
			}
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	struct stat st;
	size_t count = 0;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) == -1)
				return 1;
		} else {
			if (replay_file(argv[i]) == -1)
				return 1;
			count++;
		}
	}
	if (count == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	printf("replay: %zu inputs, no crash\n", count);
	return 0;
}
