/*
 * fbsd_rctl.c: FreeBSD's per-jail resource limits (RCTL, with
 * kern.racct.enable=1 at boot) as rctl(8) prints them (collect_freebsd.h).
 *
 * rctl(8) prints what the kernel gives it, one item a line:
 *
 *   rctl            every rule, "subject:subject-id:resource:action=amount"
 *                   with "/per" appended when the rule counts per another
 *                   subject than its own (the kernel's rctl_rule_to_sbuf());
 *                   a user's id is printed as a name (without -n)
 *   rctl -u jail:N  the jail's accounting, "resource=amount", every resource
 *
 * `rctl -l` shows the rules that apply to a process only (the kernel refuses
 * any other subject with EOPNOTSUPP), so a jail's rules are read from the
 * whole list.  A jail's rule is a per-jail limit when its action is deny
 * and it counts per jail (no "/per", or "/jail"); the smallest such amount
 * of a resource is the jail's limit.  Only SysV IPC resources are kept.
 * Amounts printed by `rctl -h` (1024K) are not numbers: such a line is
 * reported and skipped, never guessed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fbsd_local.h"
#include "util.h"

#define FBSD_RCTL_LINE_MAX 1024

/* The listed jail named name (length n), or NULL. */
static const struct fbsd_jail *
fbsd_rctl_jail(const struct fbsd_jails *j, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		if (strlen(j->v[i].name) == n && memcmp(j->v[i].name, name, n) == 0)
			return &j->v[i];
	return NULL;
}

int
fbsd_parse_rctl_rules(const char *text, size_t len, const char *name, struct snapshot *s,
                      const struct fbsd_jails *j, struct collect_warnings *w)
{
	char buf[FBSD_RCTL_LINE_MAX];
	struct fbsd_lines it;
	int kept = 0;

	fbsd_lines_init(&it, text, len);
	while (fbsd_lines_take(&it, buf, sizeof(buf), name, w)) {
		char *f[4], *eq, *per, *p, q[FBSD_QUOTE_MAX + 8];
		const struct fbsd_jail *jail;
		struct scope_rctl *r;
		enum rctl_res res;
		const char *why;
		uint64_t amount;
		int k;

		/* subject:subject-id:resource:action=amount[/per] */
		p = buf;
		for (k = 0; k < 3; k++) {
			f[k] = p;
			if ((p = strchr(p, ':')) == NULL)
				break;
			*p++ = '\0';
		}
		if (k < 3 || (eq = strchr(p, '=')) == NULL) {
			while (k-- > 0) /* the line as it was, for the warning */
				f[k][strlen(f[k])] = ':';
			fbsd_quote(buf, q, sizeof(q));
			collect_warn(
			    w,
			    "%s line %zu: \"%s\" is not a rule (subject:id:resource:action=amount)",
			    name, it.no, q);
			continue;
		}
		f[3] = p;
		*eq++ = '\0';
		per = strchr(eq, '/');
		if (per != NULL)
			*per++ = '\0';
		if (strcmp(f[0], "jail") != 0 || rctl_res_parse(f[2], &res) == -1)
			continue; /* users, processes, classes; other resources */
		if (strcmp(f[3], "deny") != 0 || (per != NULL && strcmp(per, "jail") != 0))
			continue; /* log, devctl, signals; a limit per process inside the jail */
		if ((jail = fbsd_rctl_jail(j, f[1], strlen(f[1]))) == NULL)
			continue; /* a rule kept for a jail that is not running */
		if (parse_u64(eq, 0, UINT64_MAX, &amount, &why) == -1) {
			fbsd_quote(eq, q, sizeof(q));
			collect_warn(w, "%s line %zu: amount \"%s\": %s (rctl -h output?), skipped",
			             name, it.no, q, why);
			continue;
		}
		r = &s->scopes[jail->scope].rctl;
		if (!(r->has_limit & (1u << res)) || amount < r->limit[res])
			r->limit[res] = amount;
		r->has_limit |= 1u << res;
		kept++;
	}
	return kept;
}

int
fbsd_parse_rctl_usage(const char *text, size_t len, const char *name, struct scope_rctl *r,
                      struct collect_warnings *w)
{
	char buf[FBSD_RCTL_LINE_MAX];
	struct fbsd_lines it;
	int kept = 0;

	fbsd_lines_init(&it, text, len);
	while (fbsd_lines_take(&it, buf, sizeof(buf), name, w)) {
		char *eq, q[FBSD_QUOTE_MAX + 8];
		enum rctl_res res;
		const char *why;
		uint64_t amount;

		if ((eq = strchr(buf, '=')) == NULL) {
			fbsd_quote(buf, q, sizeof(q));
			collect_warn(w, "%s line %zu: \"%s\" is not resource=amount", name, it.no,
			             q);
			continue;
		}
		*eq++ = '\0';
		if (rctl_res_parse(buf, &res) == -1)
			continue; /* cputime, memoryuse, ...: not SysV IPC */
		/* an amount that is not a number leaves the resource unknown */
		if (parse_u64(eq, 0, UINT64_MAX, &amount, &why) == -1) {
			fbsd_quote(eq, q, sizeof(q));
			collect_warn(w, "%s line %zu: %s \"%s\": %s (rctl -h output?), unknown",
			             name, it.no, buf, q, why);
			continue;
		}
		r->used[res] = amount;
		r->has_used |= 1u << res;
		kept++;
	}
	return kept;
}
