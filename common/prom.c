/*
 * prom.c: the Prometheus text exposition format (prom.h).
 */
#include <stdio.h>
#include <string.h>

#include "prom.h"
#include "text.h"
#include "util.h"

#define PROM_LABELS_MAX 8 /* label pairs of a sample, limit="..." included */
#define PROM_NAME_MAX   96

void
prom_label(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, len, bad;

	while (i < n) {
		if ((len = text_char_len(p + i, n - i, &bad)) == 0) {
			buf_puts(b, "?");
			i += bad;
			continue;
		}
		if (p[i] == '\\')
			buf_puts(b, "\\\\");
		else if (p[i] == '"')
			buf_puts(b, "\\\"");
		else
			buf_append(b, p + i, len);
		i += len;
	}
}

void
prom_head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* NAME{K="V",...} with the space before the value. */
static void
prom_start(struct buf *b, const char *name, const char *const *labels)
{
	size_t i;

	buf_puts(b, name);
	if (labels != NULL && labels[0] != NULL) {
		buf_puts(b, "{");
		for (i = 0; labels[i] != NULL && labels[i + 1] != NULL; i += 2) {
			buf_printf(b, "%s%s=\"", i > 0 ? "," : "", labels[i]);
			prom_label(b, labels[i + 1]);
			buf_puts(b, "\"");
		}
		buf_puts(b, "}");
	}
	buf_puts(b, " ");
}

void
prom_sample_u64(struct buf *b, const char *name, const char *const *labels, uint64_t v)
{
	prom_start(b, name, labels);
	buf_printf(b, "%llu\n", (unsigned long long)v);
}

void
prom_sample_f64(struct buf *b, const char *name, const char *const *labels, double v)
{
	prom_start(b, name, labels);
	buf_printf(b, "%.15g\n", v);
}

static const struct {
	const char *name, *help;
} prom_usage_families[PROM_LIMIT_COUNT] = {
    [PROM_LIMIT_VALUE] = {"limit_value",
                          "Value of each countable IPC limit the host reported (kernel units)."},
    [PROM_LIMIT_USED] =
        {"limit_used", "Amount of a countable IPC limit in use in the host's pool (kernel units)."},
    [PROM_LIMIT_RATIO] = {"limit_ratio",
                          "Used divided by the limit, 0 to 1 (1 when the limit is 0: nothing "
                          "more fits; absent when unknown)."},
    [PROM_LIMIT_UNKNOWN] = {"limit_unknown",
                            "1 for each countable limit whose use or value the agent could not "
                            "read (its used and ratio series are then absent, never 0)."},
};

const char *
prom_usage_name(enum prom_usage_family f)
{
	return (unsigned)f < PROM_LIMIT_COUNT ? prom_usage_families[f].name : "?";
}

const char *
prom_usage_help(enum prom_usage_family f)
{
	return (unsigned)f < PROM_LIMIT_COUNT ? prom_usage_families[f].help : "?";
}

void
prom_usage(struct buf fam[PROM_LIMIT_COUNT], const char *prefix, const char *const *labels,
           const struct usage *u)
{
	const char *l[2 * PROM_LABELS_MAX + 1];
	char name[PROM_LIMIT_COUNT][PROM_NAME_MAX];
	size_t i, k, n = 0;
	int f;

	for (f = 0; f < PROM_LIMIT_COUNT; f++)
		snprintf(name[f], sizeof(name[f]), "%s%s", prefix, prom_usage_families[f].name);
	/* the caller's labels, then limit="NAME" */
	for (k = 0; labels != NULL && labels[k] != NULL && labels[k + 1] != NULL &&
	            n + 2 < 2 * PROM_LABELS_MAX;
	     k += 2) {
		l[n++] = labels[k];
		l[n++] = labels[k + 1];
	}
	l[n] = "limit";
	l[n + 2] = NULL;
	for (i = 0; i < u->n; i++) {
		const struct usage_item *it = &u->v[i];

		l[n + 1] = it->name;
		if (it->has_limit)
			prom_sample_u64(&fam[PROM_LIMIT_VALUE], name[PROM_LIMIT_VALUE], l,
			                it->limit);
		/* unknown is never zero: no series at all, and a flag that says so */
		if (it->why[0] != '\0')
			prom_sample_u64(&fam[PROM_LIMIT_UNKNOWN], name[PROM_LIMIT_UNKNOWN], l, 1);
		if (it->unknown_used)
			continue;
		prom_sample_u64(&fam[PROM_LIMIT_USED], name[PROM_LIMIT_USED], l, it->used);
		if (!it->has_limit)
			continue;
		/* a limit of 0: nothing more can be made, 1 (as usage_pct's 100 %) */
		prom_sample_f64(&fam[PROM_LIMIT_RATIO], name[PROM_LIMIT_RATIO], l,
		                it->limit == 0 ? 1.0 : (double)it->used / (double)it->limit);
	}
}
