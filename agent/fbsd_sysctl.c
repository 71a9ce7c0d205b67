/*
 * fbsd_sysctl.c: what a FreeBSD host says of itself: `sysctl kern.ipc` (the
 * limits), `pagesize`, and a capture's date.txt (collect_freebsd.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fbsd_local.h"
#include "util.h"

int
fbsd_parse_sysctl(const char *text, size_t len, const char *name, struct ipc_limits *l, int *whole,
                  struct collect_warnings *w)
{
	static const char prefix[] = "kern.ipc.";
	struct fbsd_lines it;
	char buf[FBSD_LINE_MAX + 1];
	size_t warned = w != NULL ? w->total : 0;
	int nset = 0, marker = 0;

	fbsd_lines_init(&it, text, len);
	while (fbsd_lines_take(&it, buf, sizeof(buf), name, w)) {
		char *nm, *val, *colon, q[FBSD_QUOTE_MAX + 4];
		uint64_t v;
		const char *errstr;

		if (strncmp(buf, prefix, sizeof(prefix) - 1) != 0 ||
		    (colon = strchr(buf, ':')) == NULL) {
			fbsd_quote(buf, q, sizeof(q));
			collect_warn(w,
			             "%s line %zu: \"%s\" is not \"kern.ipc.NAME: VALUE\", skipped",
			             name, it.no, q);
			continue;
		}
		*colon = '\0';
		nm = buf + sizeof(prefix) - 1;
		for (val = colon + 1; *val == ' ' || *val == '\t'; val++)
			;
		/*
		 * Only the SysV IPC limits; kern.ipc also holds the socket layer's,
		 * whose presence shows the listing was not filtered (collect_freebsd.h).
		 */
		if (strncmp(nm, "shm", 3) != 0 && strncmp(nm, "sem", 3) != 0 &&
		    strncmp(nm, "msg", 3) != 0) {
			if (strcmp(nm, "maxsockbuf") == 0 || strcmp(nm, "soacceptqueue") == 0 ||
			    strcmp(nm, "somaxconn") == 0)
				marker = 1;
			continue;
		}
		if (!limit_name_valid(nm)) {
			fbsd_quote(nm, q, sizeof(q));
			collect_warn(w, "%s line %zu: bad limit name \"%s\", skipped", name, it.no,
			             q);
			continue;
		}
		if (parse_u64(val, 0, UINT64_MAX, &v, &errstr) == -1) {
			fbsd_quote(val, q, sizeof(q));
			collect_warn(w, "%s line %zu: kern.ipc.%s: \"%s\" %s, skipped", name, it.no,
			             nm, q, errstr);
			continue;
		}
		if (limits_set(l, nm, v) == -1) {
			collect_warn(w, "%s line %zu: more than %d limits, kern.ipc.%s skipped",
			             name, it.no, MODEL_MAX_LIMITS, nm);
			continue;
		}
		nset++;
	}
	/* a line skipped (every skip is a warning), or the last one cut: damaged */
	if (whole != NULL)
		*whole = (w != NULL && w->total != warned) || (len > 0 && text[len - 1] != '\n')
		             ? -1
		             : marker;
	return nset;
}

int
fbsd_has_limits(const struct ipc_limits *l, enum ipc_type t)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strncmp(l->v[i].name, ipc_type_name(t), 3) == 0)
			return 1;
	return 0;
}

int
fbsd_parse_pagesize(const char *text, size_t len, uint32_t *page_size, char *err, size_t errlen)
{
	char buf[FBSD_SMALL_MAX], q[FBSD_QUOTE_MAX + 4];

	if (fbsd_small(text, len, buf, sizeof(buf)) == -1) {
		snprintf(err, errlen, "not one number");
		return -1;
	}
	if (collect_parse_page_size(buf, page_size) == -1) {
		fbsd_quote(buf, q, sizeof(q));
		snprintf(err, errlen, "\"%s\" is not " COLLECT_PAGE_SIZES, q);
		return -1;
	}
	return 0;
}

int
fbsd_parse_date(const char *text, size_t len, int64_t *t, int32_t *utc_offset, char *err,
                size_t errlen)
{
	char buf[FBSD_SMALL_MAX], *f[3], q[FBSD_QUOTE_MAX + 4];
	const char *errstr;
	size_t nf;

	if (fbsd_small(text, len, buf, sizeof(buf)) == -1) {
		snprintf(err, errlen, "not \"EPOCH [+HHMM]\"");
		return -1;
	}
	nf = split_fields(buf, f, NELEM(f));
	if (nf < 1 || nf > 2) {
		snprintf(err, errlen, "not \"EPOCH [+HHMM]\"");
		return -1;
	}
	if (parse_i64(f[0], 1, FBSD_TIME_MAX, t, &errstr) == -1) {
		fbsd_quote(f[0], q, sizeof(q));
		snprintf(err, errlen, "time \"%s\" %s", q, errstr);
		return -1;
	}
	*utc_offset = 0;
	if (nf == 2) {
		const char *o = f[1];
		int hh, mm;

		if (strlen(o) != 5 || (o[0] != '+' && o[0] != '-') || !fbsd_all_digits(o + 1)) {
			fbsd_quote(o, q, sizeof(q));
			snprintf(err, errlen, "offset \"%s\" is not +HHMM or -HHMM", q);
			return -1;
		}
		hh = (o[1] - '0') * 10 + (o[2] - '0');
		mm = (o[3] - '0') * 10 + (o[4] - '0');
		if (hh > 23 || mm > 59) {
			snprintf(err, errlen, "offset \"%s\" is out of range", o);
			return -1;
		}
		*utc_offset = (int32_t)((hh * 3600 + mm * 60) * (o[0] == '-' ? -1 : 1));
	}
	return 0;
}
