/*
 * config.h: INI configuration files, read with inih and checked against a
 * schema, so that every program reports an unknown section or key, or a bad
 * value, as "FILE:LINE: what is wrong".  Also the options both daemons
 * take alike (config_opt).
 *
 * A schema is an array of struct cfg_key ending with a zeroed entry.  Each
 * entry stores a parsed value at an offset inside the caller's struct.
 *
 * Rules (config.c):
 * - A line is at most CFG_LINE_MAX characters; a NUL byte is an error.
 * - A scalar key given twice: the last value wins.  An indented line that
 *   continues a scalar's value is an error.
 * - Lists: the file's first mention of the key replaces the caller's default;
 *   after that, indented continuation lines AND repeated "key = ..." lines
 *   append (inih cannot tell them apart reliably, so both append).  Items are
 *   comma separated, trimmed, non-empty, without inner blanks; "key =" alone
 *   gives an empty list.
 * - Numbers: max 0 in the schema means no maximum.
 * - CFG_CUSTOM: fn's user is (char *)out + offset (offset 0: out itself); its
 *   message goes into "KEY: bad value 'VALUE': MESSAGE".
 * - Only the first error is reported, with the line it is on; an unknown
 *   section is reported on its header line even when no key follows it.
 */
#ifndef IPCFLEET_CONFIG_H
#define IPCFLEET_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CFG_PATH_MAX 1024
#define CFG_STR_MAX  256
#define CFG_LIST_MAX 32  /* entries in a comma separated list */
#define CFG_LINE_MAX 199 /* Debian's inih is built with INI_MAX_LINE 200 */
#define CFG_FILE_MAX (1024 * 1024)

enum cfg_type {
	CFG_STRING,        /* char[CFG_STR_MAX] */
	CFG_PATH,          /* char[CFG_PATH_MAX], "~/" expanded */
	CFG_U64,           /* uint64_t, bounded by min/max */
	CFG_DURATION,      /* uint64_t seconds, bounded by min/max */
	CFG_SIZE,          /* uint64_t bytes, bounded by min/max */
	CFG_LIST,          /* struct cfg_list: comma separated words; continuation lines append */
	CFG_HOSTPORT_LIST, /* struct cfg_list of "host:port" entries, each checked */
	CFG_CUSTOM,        /* calls fn(user, key, value, err, errlen) */
};

struct cfg_list {
	size_t n;
	char v[CFG_LIST_MAX][CFG_STR_MAX];
};

typedef int (*cfg_custom_fn)(void *user, const char *key, const char *value, char *err,
                             size_t errlen);

struct cfg_key {
	const char *section;
	const char *key; /* CFG_CUSTOM: "*.warn" matches "semmns.warn"; "*" any key */
	enum cfg_type type;
	size_t offset; /* into the caller's struct */
	uint64_t min, max;
	cfg_custom_fn fn;
	const char *help; /* one line for documentation and -t output */
};

/*
 * Loads path into out according to schema.  Keys not in the file keep the
 * values already in out (the caller sets defaults first).  Returns 0, or -1
 * with "FILE:LINE: message" (or "FILE: message") in err.
 */
int config_load(const char *path, const struct cfg_key *schema, void *out, char *err,
                size_t errlen);
/* The same, from a string (tests, fuzzing); name is used in messages. */
int config_load_string(const char *name, const char *text, const struct cfg_key *schema, void *out,
                       char *err, size_t errlen);

/*
 * Checks that every CFG_PATH/CFG_STRING key named "section.key" in required[]
 * (NULL-terminated) is non-empty, and every list key has an item:
 * "FILE: [section] key is required".
 */
int config_require(const char *path, const struct cfg_key *schema, const void *cfg,
                   const char *const *required, char *err, size_t errlen);

/*
 * The options both daemons take alike, so that they parse and answer them
 * one way: -c/--config FILE, -t/--test, -v/--verbose, -h/--help, --version.
 * CONFIG_LONGOPTS goes into the program's getopt_long table (<getopt.h>),
 * CONFIG_SHORTOPTS is its short option string.
 */
#define CONFIG_SHORTOPTS "c:tvh"
/* clang-format off */
#define CONFIG_LONGOPTS \
	{"config", required_argument, NULL, 'c'}, \
	{"test", no_argument, NULL, 't'}, \
	{"verbose", no_argument, NULL, 'v'}, \
	{"help", no_argument, NULL, 'h'}, \
	{"version", no_argument, NULL, 'V'}
/* clang-format on */
struct option;
struct config_opts {
	const char *prog;        /* "ipcfleet-agent": in messages and --version */
	void (*usage)(FILE *fp); /* prints --help */
	const char *config;      /* -c FILE, else what the caller set */
	int test, verbose;       /* -t, -v */
	int exit;                /* after CONFIG_OPT_EXIT: the exit code */
};
#define CONFIG_OPT_EXIT (-2)
/*
 * getopt_long(argc, argv, CONFIG_SHORTOPTS, longopts) that takes the
 * options above itself: returns the next of the program's own options
 * (optarg set), -1 at the end, or CONFIG_OPT_EXIT when the program is to
 * exit with o->exit: 0 after --help or --version, 2 after a message for an
 * unknown option or an operand.
 */
int config_getopt(struct config_opts *o, int argc, char *const *argv,
                  const struct option *longopts);

#endif
