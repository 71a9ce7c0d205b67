/*
 * fuzz_util.c: helpers shared by the fuzz targets (fuzz.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

void
fuzz_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		FUZZ_FAIL("out of memory copying %zu bytes", size);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

int
fuzz_verbose(void)
{
	static int v = -1;

	if (v == -1)
		v = getenv("FUZZ_VERBOSE") != NULL;
	return v;
}

void
fuzz_note(const char *what, const char *msg)
{
	if (fuzz_verbose())
		fprintf(stderr, "  %s: %s\n", what, msg);
}
