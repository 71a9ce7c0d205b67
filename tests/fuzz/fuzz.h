/*
 * fuzz.h: what every fuzz target in tests/fuzz provides and may use.
 *
 * A target is one LLVMFuzzerTestOneInput().  It is linked either with
 * libFuzzer (-fsanitize=fuzzer, clang only, IPCFLEET_FUZZ=ON) or with
 * replay.c, whose main() feeds it each file of a corpus directory, so that
 * the corpus replays as an ordinary test in every build.
 */
#ifndef IPCFLEET_FUZZ_H
#define IPCFLEET_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A property of the code under test does not hold: prints what and where,
 * then abort()s, which libFuzzer and the replay driver both report as a
 * crash with the input that caused it.
 */
void fuzz_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
#define FUZZ_FAIL(...) fuzz_fail(__FILE__, __LINE__, __VA_ARGS__)
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			FUZZ_FAIL("property violated: %s", #cond);                                 \
	} while (0)

/*
 * A NUL-terminated copy of the input (the text parsers take C strings);
 * the caller frees it.  Aborts when out of memory: inputs are small.
 */
char *fuzz_strndup(const uint8_t *data, size_t size);

/*
 * 1 when FUZZ_VERBOSE is set in the environment: targets then print why
 * the code under test refused an input (for triage; off while fuzzing).
 */
int fuzz_verbose(void);
/* Prints "what: msg" to stderr when fuzz_verbose(). */
void fuzz_note(const char *what, const char *msg);

#endif
