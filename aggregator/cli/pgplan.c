/*
 * pgplan.c: System V semaphores a PostgreSQL instance needs (pgplan.h).
 *
 * PostgreSQL takes one semaphore per PGPROC slot (ProcGlobalSemas() =
 * MaxBackends + NUM_AUXILIARY_PROCS), in sets of 16, each set with a 17th
 * "magic number" semaphore.  The documented formula (PostgreSQL manual,
 * "Managing Kernel Resources", section "Shared Memory and Semaphores",
 * table "System V IPC Parameters", rows SEMMNI and SEMMNS) is
 *
 *   SEMMNI >= ceil((max_connections + autovacuum_max_workers
 *                   [+ max_wal_senders] + max_worker_processes + K) / 16)
 *   SEMMNS >= that x 17
 *
 * where K counts the autovacuum launcher (1) and the auxiliary processes
 * (NUM_AUXILIARY_PROCS in src/include/storage/proc.h):
 *
 *   9.4 - 13   K = 5: launcher + 4 auxiliary (bgwriter, checkpointer, WAL
 *              writer, startup/WAL receiver).  max_worker_processes counts
 *              from 9.4 on (commit 597f7e3a, "max_worker_processes + 5").
 *   10 - 11    WAL senders still take ordinary connection slots, so
 *              max_wal_senders is not added.
 *   12         max_wal_senders gets slots of its own and is added (the 12
 *              docs; patch "replication_reserved_connections").
 *   14 - 16    K = 6: the archiver became an auxiliary process in 14.
 *   17         K = 7: the WAL summarizer was added in 17.
 *              The docs said "+ 5" for every version from 12 until commit
 *              4ebe51a5 (Nathan Bossart, May 2024, "Fix documentation for
 *              System V semaphores", Backpatch-through: 12, discussion
 *              https://postgr.es/m/20240517164452.GA1914161%40nathanxps13),
 *              which corrected the constant per branch: 6 for the archiver
 *              (14+) and 7 with the WAL summarizer (17).
 *   17.3 and later: K = 8.  The slotsync worker got a reserved PGPROC next
 *              to the autovacuum launcher (NUM_SPECIAL_WORKER_PROCS = 2,
 *              back-patched to 17; https://postgr.es/m/1808397.1735156190%40sss.pgh.pa.us);
 *              the 17 docs still say + 7, so a bare "17" follows the docs
 *              and the output says how to get the exact count.
 *   18 and later: the docs give ceil(num_os_semaphores / 16), the number
 *              `postgres -D DATADIR -C num_os_semaphores` prints (18 adds
 *              autovacuum_worker_slots and I/O workers); it must be given.
 *
 * Ceil first, then multiply by 17: 9.6 with max_connections 200, 3
 * autovacuum workers and 8 worker processes needs ceil(216 / 16) = 14 sets
 * and 238 semaphores (13.5 x 17 = 230 would be wrong).
 *
 * Since 10, Linux and FreeBSD builds use POSIX semaphores by default; the
 * SysV numbers apply to other platforms and to builds that use SysV.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "json.h"
#include "pgplan.h"
#include "proto.h"
#include "util.h"

#define PG_SEMS_PER_SET 16

/* One numeric component: 1 to 3 digits. */
static int
pg_component(const char *s, size_t n, int *v)
{
	size_t i;

	if (n == 0 || n > 3)
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
pgplan_parse_version(const char *s, int *branch, int *minor, const char **why)
{
	int part[3], nparts = 0;
	const char *p = s, *dot;

	*why = "not a PostgreSQL version (e.g. 9.6, 12, 17.4)";
	if (s == NULL || *s == '\0' || strlen(s) > 16)
		return -1;
	for (;;) {
		dot = strchr(p, '.');
		if (nparts == 3 || pg_component(p, dot != NULL ? (size_t)(dot - p) : strlen(p),
		                                &part[nparts]) == -1)
			return -1;
		nparts++;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	*minor = -1;
	if (part[0] < 9 || (part[0] == 9 && nparts >= 2 && part[1] < 4)) {
		*why = "PostgreSQL before 9.4 is not covered";
		return -1;
	}
	if (part[0] == 9) {
		if (nparts < 2 || part[1] > 6)
			return -1; /* "9" alone, or 9.7 which never existed */
		*branch = 900 + part[1];
		if (nparts == 3)
			*minor = part[2];
		return 0;
	}
	if (part[0] > 99 || nparts > 2)
		return -1; /* from 10 on a version is MAJOR.MINOR */
	*branch = part[0] * 100;
	if (nparts == 2)
		*minor = part[1];
	return 0;
}

void
pgplan_branch_name(int branch, char *out, size_t len)
{
	if (branch < 1000)
		snprintf(out, len, "%d.%d", branch / 100, branch % 100);
	else
		snprintf(out, len, "%d", branch / 100);
}

/* "9.6", "17.4": what was asked for, normalised. */
static void
pg_version_name(const struct pgplan_in *in, char *out, size_t len)
{
	char b[16];

	pgplan_branch_name(in->branch, b, sizeof(b));
	if (in->minor >= 0)
		snprintf(out, len, "%s.%d", b, in->minor);
	else
		snprintf(out, len, "%s", b);
}

/* The whole arithmetic from its first part. */
static void
pg_arith(struct pgplan *p)
{
	snprintf(p->arith, sizeof(p->arith), "%s sets; %" PRIu64 " x 17 = %" PRIu64 " semaphores",
	         p->arith_sets, p->sets, p->semaphores);
}

int
pgplan_compute(const struct pgplan_in *in, struct pgplan *p, const char **why)
{
	uint64_t backends, specials = 1;
	char terms[128];
	int aux;

	memset(p, 0, sizeof(*p));
	p->in = *in;
	p->posix_default = in->branch >= 1000;
	if (in->branch < 904) {
		*why = "PostgreSQL before 9.4 is not covered";
		return -1;
	}
	if (in->max_connections < 1 || in->max_connections > PGPLAN_MAX_BACKENDS) {
		*why = "--max-connections must be 1 to 262143";
		return -1;
	}
	if (in->autovacuum_max_workers < 1 || in->autovacuum_max_workers > PGPLAN_MAX_BACKENDS) {
		*why = "--autovacuum-max-workers must be 1 to 262143";
		return -1;
	}
	if (in->max_worker_processes > PGPLAN_MAX_BACKENDS ||
	    in->max_wal_senders > PGPLAN_MAX_BACKENDS) {
		*why = "--max-worker-processes and --max-wal-senders must be 0 to 262143";
		return -1;
	}
	if (in->num_os_semaphores > (uint64_t)PGPLAN_MAX_BACKENDS * 2) {
		*why = "--num-os-semaphores is larger than any PostgreSQL asks for";
		return -1;
	}
	if (in->num_os_semaphores > 0) {
		p->slots = in->num_os_semaphores;
		p->sets = (p->slots + PG_SEMS_PER_SET - 1) / PG_SEMS_PER_SET;
		p->semaphores = p->sets * (PG_SEMS_PER_SET + 1);
		snprintf(p->formula, sizeof(p->formula), "ceil(num_os_semaphores / 16) * 17");
		snprintf(p->arith_sets, sizeof(p->arith_sets), "ceil(%" PRIu64 " / 16) = %" PRIu64,
		         p->slots, p->sets);
		pg_arith(p);
		return 0;
	}
	if (in->branch >= 1800) {
		*why = "PostgreSQL 18 and later: give --num-os-semaphores N (what "
		       "`postgres -D DATADIR -C num_os_semaphores` prints)";
		return -1;
	}
	if (in->branch == 1700 && in->minor >= 3)
		specials = 2; /* autovacuum launcher and slotsync worker */
	aux = in->branch >= 1700 ? 6 : in->branch >= 1400 ? 5 : 4;
	p->wal_senders = in->branch >= 1200;
	/* all terms are at most 262143: no overflow */
	backends = in->max_connections + in->autovacuum_max_workers + specials +
	           in->max_worker_processes + (p->wal_senders ? in->max_wal_senders : 0);
	if (backends > PGPLAN_MAX_BACKENDS) {
		*why = "PostgreSQL refuses to start with more than 262143 backends in all";
		return -1;
	}
	p->constant = (int)specials + aux;
	p->slots = backends + (uint64_t)aux;
	p->sets = (p->slots + PG_SEMS_PER_SET - 1) / PG_SEMS_PER_SET;
	p->semaphores = p->sets * (PG_SEMS_PER_SET + 1);
	snprintf(p->formula, sizeof(p->formula),
	         "ceil((max_connections + autovacuum_max_workers + %smax_worker_processes + %d) / "
	         "16) * 17",
	         p->wal_senders ? "max_wal_senders + " : "", p->constant);
	if (p->wal_senders)
		snprintf(terms, sizeof(terms), "%" PRIu64 " + %" PRIu64 " + %" PRIu64 " + %" PRIu64,
		         in->max_connections, in->autovacuum_max_workers, in->max_wal_senders,
		         in->max_worker_processes);
	else
		snprintf(terms, sizeof(terms), "%" PRIu64 " + %" PRIu64 " + %" PRIu64,
		         in->max_connections, in->autovacuum_max_workers, in->max_worker_processes);
	snprintf(p->arith_sets, sizeof(p->arith_sets),
	         "ceil((%s + %d) / 16) = ceil(%" PRIu64 " / 16) = %" PRIu64, terms, p->constant,
	         p->slots, p->sets);
	pg_arith(p);
	if (in->branch == 1700 && in->minor < 0)
		snprintf(p->note, sizeof(p->note),
		         "17.3 and later also reserve a slot for the slotsync worker (one more "
		         "semaphore, + 8): give the minor version, e.g. --pg-version 17.4, for the "
		         "exact count");
	else if (in->branch >= 1000 && in->branch < 1200)
		snprintf(p->note, sizeof(p->note),
		         "before 12, WAL senders take ordinary connection slots: max_wal_senders "
		         "is part of max_connections");
	return 0;
}

/* used and limit of one usage entry of the host document. */
static int
pg_usage(const msgpack_object *doc, const char *name, uint64_t *used, uint64_t *limit)
{
	const msgpack_object *it = mpr_get(mpr_get(doc, "usage"), name);

	if (it == NULL || mpr_get_u64(it, "used", used) != 0 ||
	    mpr_get_u64(it, "limit", limit) != 0)
		return -1;
	return 0;
}

int
pgplan_fit(const struct pgplan *p, const msgpack_object *doc, struct pgplan_fit *f, char *err,
           size_t errlen)
{
	uint64_t used_mns, used_mni;
	const msgpack_object *status;
	int semmsl_ok;

	memset(f, 0, sizeof(*f));
	if (doc == NULL || doc->type != MSGPACK_OBJECT_MAP ||
	    pg_usage(doc, "semmns", &used_mns, &f->semmns) == -1 ||
	    pg_usage(doc, "semmni", &used_mni, &f->semmni) == -1) {
		snprintf(err, errlen, "the host reported no semmns/semmni usage");
		return -1;
	}
	f->free_semmns = f->semmns > used_mns ? f->semmns - used_mns : 0;
	f->free_semmni = f->semmni > used_mni ? f->semmni - used_mni : 0;
	f->has_semmsl = mpr_get_u64(mpr_get(doc, "limits"), "semmsl", &f->semmsl) == 0;
	semmsl_ok = !f->has_semmsl || f->semmsl >= PG_SEMS_PER_SET + 1;
	/* how many instances fit: the capacity computation of headroom and forecasts */
	{
		struct capacity_term t[3] = {
		    {.limit = CAP_SEMMNI, .free = f->free_semmni, .need = p->sets},
		    {.limit = CAP_SEMMNS, .free = f->free_semmns, .need = p->semaphores},
		    {.limit = CAP_SEMMSL, .free = (uint64_t)semmsl_ok, .need = 0},
		};
		struct capacity_fit fit;

		capacity_min(t, f->has_semmsl ? 3 : 2, &fit);
		f->instances = fit.units;
		f->binding = capacity_limit_name(fit.binding);
	}
	/* a crash-restart needs room for a second instance: the first's sets linger */
	f->fits = f->instances >= 1;
	f->fits_with_restart = f->instances >= 2;
	status = mpr_get(doc, "status");
	f->stale = status != NULL && mpr_streq(status, "stale");
	return 0;
}

/* lead, then text wrapped at 78 columns (continuation lines indented), then end. */
static void
pg_wrap(struct buf *out, const char *lead, const char *text, const char *end)
{
	size_t col = strlen(lead), w, indent = strlen(lead);
	const char *p = text, *sp;

	buf_puts(out, lead);
	while (*p != '\0') {
		sp = strchr(p, ' ');
		w = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (col > indent && col + 1 + w > 78) {
			buf_printf(out, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			buf_puts(out, " ");
			col++;
		}
		buf_append(out, p, w);
		col += w;
		p += w;
		while (*p == ' ')
			p++;
	}
	buf_puts(out, end);
}

/* Host names come from the user's command line: shown as typed, bounded. */
void
pgplan_text(const struct pgplan *p, const char *host, const struct pgplan_fit *f, struct buf *out)
{
	char ver[32], inputs[256];

	pg_version_name(&p->in, ver, sizeof(ver));
	buf_printf(out,
	           "PostgreSQL %s: %" PRIu64 " semaphore sets (SEMMNI), %" PRIu64
	           " semaphores (SEMMNS), SEMMSL >= 17\n",
	           ver, p->sets, p->semaphores);
	if (p->in.num_os_semaphores > 0)
		snprintf(inputs, sizeof(inputs), "num_os_semaphores=%" PRIu64,
		         p->in.num_os_semaphores);
	else {
		snprintf(inputs, sizeof(inputs),
		         "max_connections=%" PRIu64 " autovacuum_max_workers=%" PRIu64
		         " max_worker_processes=%" PRIu64,
		         p->in.max_connections, p->in.autovacuum_max_workers,
		         p->in.max_worker_processes);
		if (p->wal_senders)
			snprintf(inputs + strlen(inputs), sizeof(inputs) - strlen(inputs),
			         " max_wal_senders=%" PRIu64, p->in.max_wal_senders);
	}
	pg_wrap(out, "  inputs:     ", inputs, "\n");
	pg_wrap(out, "  formula:    ", p->formula, "\n");
	pg_wrap(out, "  sets:       ", p->arith_sets, "\n");
	buf_printf(out, "  semaphores: %" PRIu64 " x 17 = %" PRIu64 "\n", p->sets, p->semaphores);
	if (host != NULL && f != NULL) {
		buf_printf(out,
		           "On %.128s: %" PRIu64 " of %" PRIu64 " semaphores free, %" PRIu64
		           " of %" PRIu64 " sets free",
		           host, f->free_semmns, f->semmns, f->free_semmni, f->semmni);
		if (f->has_semmsl)
			buf_printf(out, ", semmsl %" PRIu64, f->semmsl);
		buf_puts(out, f->stale ? " (stale data: the host has stopped reporting)\n" : "\n");
		buf_printf(out,
		           "  fits now:                    %-3s (needs %" PRIu64
		           " semaphores, %" PRIu64 " sets free)\n",
		           f->fits ? "yes" : "NO", p->semaphores, p->sets);
		buf_printf(out,
		           "  fits with restart headroom:  %-3s (needs %" PRIu64
		           " semaphores, %" PRIu64 " sets free)\n",
		           f->fits_with_restart ? "yes" : "NO", 2 * p->semaphores, 2 * p->sets);
		if (!f->fits_with_restart)
			buf_puts(out, "  (headroom: a crashed instance's sets linger while the new "
			              "one starts)\n");
		buf_printf(out, "  instances that fit now:      %" PRIu64 " (%s binds first)\n",
		           f->instances, f->binding);
		if (f->has_semmsl && f->semmsl < PG_SEMS_PER_SET + 1)
			buf_printf(out, "  semmsl is %" PRIu64 ": PostgreSQL needs 17 per set\n",
			           f->semmsl);
	}
	if (p->note[0] != '\0')
		pg_wrap(out, "note: ", p->note, ".\n");
	if (p->posix_default)
		pg_wrap(out, "note: ",
		        "PostgreSQL 10 and later use POSIX semaphores by default on Linux and "
		        "FreeBSD; these numbers apply where System V semaphores are used (other "
		        "platforms, or builds made to use them)",
		        ".\n");
}

void
pgplan_json(const struct pgplan *p, const char *host, const struct pgplan_fit *f, struct buf *out)
{
	struct json j;
	char ver[32];

	pg_version_name(&p->in, ver, sizeof(ver));
	json_init(&j, out, 1);
	json_obj_begin(&j);
	json_key(&j, "sets");
	json_u64(&j, p->sets);
	json_key(&j, "semaphores");
	json_u64(&j, p->semaphores);
	json_key(&j, "formula");
	json_str(&j, p->formula);
	json_key(&j, "arithmetic");
	json_str(&j, p->arith);
	json_key(&j, "pg_version");
	json_str(&j, ver);
	json_key(&j, "inputs");
	json_obj_begin(&j);
	if (p->in.num_os_semaphores > 0) {
		json_key(&j, "num_os_semaphores");
		json_u64(&j, p->in.num_os_semaphores);
	} else {
		json_key(&j, "max_connections");
		json_u64(&j, p->in.max_connections);
		json_key(&j, "autovacuum_max_workers");
		json_u64(&j, p->in.autovacuum_max_workers);
		json_key(&j, "max_worker_processes");
		json_u64(&j, p->in.max_worker_processes);
		json_key(&j, "max_wal_senders");
		json_u64(&j, p->in.max_wal_senders);
	}
	json_obj_end(&j);
	json_key(&j, "max_wal_senders_counted");
	json_bool(&j, p->wal_senders);
	json_key(&j, "semmsl_needed");
	json_u64(&j, PG_SEMS_PER_SET + 1);
	json_key(&j, "posix_semaphores_by_default");
	json_bool(&j, p->posix_default);
	if (p->note[0] != '\0') {
		json_key(&j, "note");
		json_str(&j, p->note);
	}
	if (host != NULL && f != NULL) {
		json_key(&j, "host");
		json_str(&j, host);
		json_key(&j, "fits");
		json_bool(&j, f->fits);
		json_key(&j, "fits_with_restart_headroom");
		json_bool(&j, f->fits_with_restart);
		json_key(&j, "instances");
		json_u64(&j, f->instances);
		json_key(&j, "binding");
		json_str(&j, f->binding);
		json_key(&j, "free");
		json_obj_begin(&j);
		json_key(&j, "semmns");
		json_u64(&j, f->free_semmns);
		json_key(&j, "semmni");
		json_u64(&j, f->free_semmni);
		json_obj_end(&j);
		json_key(&j, "limits");
		json_obj_begin(&j);
		json_key(&j, "semmns");
		json_u64(&j, f->semmns);
		json_key(&j, "semmni");
		json_u64(&j, f->semmni);
		if (f->has_semmsl) {
			json_key(&j, "semmsl");
			json_u64(&j, f->semmsl);
		}
		json_obj_end(&j);
		json_key(&j, "stale");
		json_bool(&j, f->stale);
	}
	json_obj_end(&j);
	buf_puts(out, "\n");
}
