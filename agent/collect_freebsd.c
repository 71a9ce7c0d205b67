/*
 * collect_freebsd.c: the FreeBSD collection (collect_freebsd.h), which drives
 * the parsers of fbsd_*.c over the inputs of fbsd_input.c (fbsd_local.h).
 *
 * One pipeline (fbsd_collect) reads every input from either the running
 * system or a capture directory (fbsd_fetch) and hands it to the parsers:
 *
 *   input        live command                 capture file            needed
 *   limits       sysctl kern.ipc              sysctl-kern.ipc.txt     yes
 *   page size    pagesize (else sysconf)      pagesize.txt            yes
 *   release      uname -r                     uname.txt               no
 *   host names   getpwnam(3), getgrnam(3)     passwd, group           no
 *   objects      ipcs -a (else -ma, -as, -aq) ipcs-a.txt (else split) yes
 *   time         the clock after ipcs         date.txt, else mtime    -
 *   jails        jls -n -q                    jls.txt                 no
 *   processes    ps -axo pid,jid,uid,comm     ps.txt                  no
 *   jail view    jexec JID ipcs -a            jail-NAME/ipcs-a.txt    no
 *   jail names   ROOT/etc/passwd, group       jail-NAME/passwd, group no
 *   racct        sysctl -n kern.racct.enable  (rctl.txt is there)     no
 *   rctl rules   rctl                         rctl.txt                no
 *   rctl usage   rctl -u jail:NAME            rctl-u-NAME.txt         no
 *
 * The host's view is the inventory: every object it lists is kept, on the
 * host's scope, with the key the host sees (0 for objects created in a
 * jail).  Attribution then moves objects to jails: first by each jail's own
 * view (a jail sees the real key of the objects created in it and 0 for all
 * others), then, for shared memory, by the jail of the creator pid.  What
 * neither places stays on the host (a semaphore set made in a jail with
 * IPC_PRIVATE, say).  The processes of ps also go to the caller's
 * proc_table, for orphan detection.
 *
 * Bounds: files and command outputs are capped (COLLECT_FILE_MAX,
 * FBSD_EXEC_OUT_MAX, FBSD_EXEC_TIMEOUT_MS per command), lines (FBSD_LINE_MAX)
 * and fields per line (FBSD_FIELDS_MAX), jails (MODEL_MAX_SCOPES), objects
 * (MODEL_MAX_OBJECTS), names (FBSD_IDMAP_MAX) and processes (FBSD_PROCS_MAX).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fbsd_local.h"
#include "util.h"

static int32_t
fbsd_local_offset(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return (int32_t)tm.tm_gmtoff;
}

/* One jail's view: parse it with the jail's own names, then attribute. */
static int
fbsd_jail_view(struct fbsd_fetch *f, const struct fbsd_jail *j, struct snapshot *s,
               const struct fbsd_index *ix, const struct fbsd_ipcs_ctx *hostctx,
               const uint32_t *pidscope, unsigned char *named, struct collect_warnings *w)
{
	struct fbsd_idmap users, groups;
	struct fbsd_ipcs_ctx ctx;
	struct snapshot view;
	char *buf = NULL, what[COLLECT_PATH_MAX + 64], ferr[FBSD_ERR_MAX];
	size_t len;
	int r, g, rc = -1;

	r = fbsd_fetch(f, FI_JAIL_IPCS, j, &buf, &len, what, sizeof(what), ferr, sizeof(ferr));
	if (r == 0) {
		collect_warn(w, "jail %s: no %s: its objects are attributed by creator pid only",
		             j->name, what);
		return 0;
	}
	if (r == -1) {
		collect_warn(w, "jail %s: %s: its objects are attributed by creator pid only",
		             j->name, ferr);
		return 0;
	}
	fbsd_idmap_init(&users, 0, 0);
	fbsd_idmap_init(&groups, 1, 0);
	if (snapshot_init(&view) == -1) {
		free(buf);
		return -1;
	}
	for (g = 0; g < 2; g++) {
		char *ib = NULL, iwhat[COLLECT_PATH_MAX + 64];
		size_t ilen;

		r = fbsd_fetch(f, g ? FI_JAIL_GROUP : FI_JAIL_PASSWD, j, &ib, &ilen, iwhat,
		               sizeof(iwhat), ferr, sizeof(ferr));
		if (r == -1)
			collect_warn(w, "jail %s: %s", j->name, ferr);
		if (r == 1 && fbsd_parse_idfile(ib, ilen, iwhat, g ? &groups : &users, w) == -1) {
			free(ib);
			goto out;
		}
		free(ib);
	}
	/* the jail's times are printed in the jail's zone: the host's are kept */
	ctx = *hostctx;
	ctx.users = &users;
	ctx.groups = &groups;
	r = fbsd_parse_ipcs(buf, len, what, &ctx, &view, 0, w, NULL);
	if (r == -1)
		goto out;
	if (r == 0)
		collect_warn(w,
		             "jail %s: %s is not ipcs -a output: its objects are attributed by "
		             "creator pid only",
		             j->name, what);
	else
		(void)fbsd_attribute_view_ex(s, ix, &view, j->scope, j->name, pidscope, named, w);
	/* what the jail's own view could not read is missing from its share */
	if (view.unknown.n > 0 && s->scopes[j->scope].unknown[0] == '\0') {
		char why[2 * MODEL_TEXT_MAX];

		snprintf(why, sizeof(why), "jail %s: %s", j->name, view.unknown.v[0].why);
		ifl_strlcpy(s->scopes[j->scope].unknown, why, sizeof(s->scopes[j->scope].unknown));
	}
	rc = 0;
out:
	snapshot_free(&view);
	fbsd_idmap_free(&users);
	fbsd_idmap_free(&groups);
	free(buf);
	return rc;
}

/* The facilities in the order their unknown limits are named: sem first. */
static const enum ipc_type fbsd_limit_order[] = {IPC_SEM, IPC_SHM, IPC_MSG};

/* Without kern.ipc, every limit that usage is measured against is unknown. */
static void
fbsd_limits_unknown(struct snapshot *s, const char *why)
{
	size_t k;

	for (k = 0; k < NELEM(fbsd_limit_order); k++)
		snapshot_unknown_limits(s, fbsd_limit_order[k], "%s", why);
}

/*
 * A kern.ipc listing that is not whole (fbsd_parse_sysctl: filtered, 0, or
 * damaged, -1) proves nothing by what it lacks: a facility with no limit in
 * it has unknown limits, not none, and so has a counted limit missing from
 * a facility that has others (semmns cut off after semmni, say).
 */
static void
fbsd_limits_partial(struct snapshot *s, struct collect_warnings *w, const char *what, int whole)
{
	const char *kind = whole == -1 ? "a damaged listing" : "a partial listing";
	const char *how = whole == -1 ? "a line skipped or the last one cut"
	                              : "no kern.ipc.maxsockbuf, soacceptqueue or somaxconn line";
	size_t k, i, n;

	for (k = 0; k < NELEM(fbsd_limit_order); k++) {
		enum ipc_type t = fbsd_limit_order[k];
		const char *p = ipc_type_name(t), *names[4];
		uint64_t v;

		if (!fbsd_has_limits(&s->limits, t)) {
			collect_warn(
			    w, "%s: no kern.ipc.%s* line in %s (%s): the %s limits are unknown",
			    what, p, kind, how, p);
			snapshot_unknown_limits(s, t, "no kern.ipc.%s* line in %s (%s)", p, what,
			                        kind);
			continue;
		}
		n = usage_limits_of(t, names, NELEM(names));
		for (i = 0; i < n; i++) {
			if (limits_get(&s->limits, names[i], &v) == 0)
				continue;
			collect_warn(w, "%s: no kern.ipc.%s line in %s (%s): %s is unknown", what,
			             names[i], kind, how, names[i]);
			snapshot_unknown(s, UNK_LIMIT, names[i], "no kern.ipc.%s line in %s (%s)",
			                 names[i], what, kind);
		}
	}
}

/*
 * A whole listing without a facility's limits says the kernel lacks it; an
 * ipcs section of that facility says it has it.  Believe neither: its
 * limits are unknown.
 */
static void
fbsd_limits_contradicted(struct snapshot *s, struct collect_warnings *w, const char *what,
                         unsigned types)
{
	size_t k;

	for (k = 0; k < NELEM(fbsd_limit_order); k++) {
		enum ipc_type t = fbsd_limit_order[k];
		const char *p = ipc_type_name(t);

		if (!(types & TB(t)) || fbsd_has_limits(&s->limits, t))
			continue;
		collect_warn(w,
		             "%s: no kern.ipc.%s* line, yet ipcs shows the facility: the %s "
		             "limits are unknown",
		             what, p, p);
		snapshot_unknown_limits(
		    s, t, "no kern.ipc.%s* line in %s, yet ipcs shows the facility", p, what);
	}
}

/*
 * One collection: what the steps below read and build.  Every step takes
 * it, returns 0 or -1 with err (only what the snapshot cannot do without
 * is an error; the rest are warnings and unknowns), and fbsd_run_free()
 * releases whatever was made, however far the steps got.
 */
struct fbsd_run {
	struct fbsd_fetch *f;
	struct snapshot *s;
	struct proc_table *pt; /* NULL: processes not wanted */
	struct collect_warnings *w;
	char *err;
	size_t errlen;
	struct fbsd_idmap users, groups;
	struct fbsd_jails jails;
	struct fbsd_procs procs;
	struct fbsd_ipcs_ctx ctx;
	int have_sysctl, ps_complete;
	int sysctl_whole; /* the whole kern.ipc listing (collect_freebsd.h) */
	char sysctl_what[COLLECT_PATH_MAX + 64]; /* where it came from, for reasons */
};

static void
fbsd_run_free(struct fbsd_run *r)
{
	fbsd_jails_free(&r->jails);
	fbsd_procs_free(&r->procs);
	fbsd_idmap_free(&r->users);
	fbsd_idmap_free(&r->groups);
}

/* One input of the host: its text, its name and what went wrong with it. */
struct fc_input {
	char *buf; /* the caller frees it */
	size_t len;
	char what[COLLECT_PATH_MAX + 64];
	char ferr[FBSD_ERR_MAX];
};

/* Fetches the host's input it: 1 with in->buf, 0 when missing, -1 with in->ferr. */
static int
fc_fetch(struct fbsd_run *r, enum fbsd_item it, struct fc_input *in)
{
	return fbsd_fetch(r->f, it, NULL, &in->buf, &in->len, in->what, sizeof(in->what), in->ferr,
	                  sizeof(in->ferr));
}

/*
 * Fetches an input the collection may do without: 1 with in->buf; 0 when it
 * is missing or failed, a failure being a warning that ends with lacking
 * ("": the failure alone).
 */
static int
fc_optional(struct fbsd_run *r, enum fbsd_item it, struct fc_input *in, const char *lacking)
{
	int rc = fc_fetch(r, it, in);

	if (rc == -1)
		collect_warn(r->w, "%s%s", in->ferr, lacking);
	return rc == 1;
}

/* limits: without them the usage is still counted, against unknown limits */
static int
fc_limits(struct fbsd_run *r)
{
	struct fc_input in;
	char why[FBSD_ERR_MAX];
	int rc, whole;

	rc = fc_fetch(r, FI_SYSCTL, &in);
	if (rc != 1) {
		if (rc == 0)
			snprintf(why, sizeof(why), "%s: missing", in.what);
		else
			ifl_strlcpy(why, in.ferr, sizeof(why));
		collect_warn(r->w, "%s: the limits are unknown", why);
		fbsd_limits_unknown(r->s, why);
		return 0;
	}
	if (fbsd_parse_sysctl(in.buf, in.len, in.what, &r->s->limits, &whole, r->w) == 0 &&
	    whole == 1)
		collect_warn(r->w, "%s: no shm, sem or msg limits (SysV IPC not in the kernel?)",
		             in.what);
	if (whole != 1)
		fbsd_limits_partial(r->s, r->w, in.what, whole);
	r->sysctl_whole = whole == 1;
	ifl_strlcpy(r->sysctl_what, in.what, sizeof(r->sysctl_what));
	r->have_sysctl = 1;
	free(in.buf);
	return 0;
}

/* page size: needed, shmall counts pages (live: sysconf when pagesize fails) */
static int
fc_pagesize(struct fbsd_run *r)
{
	struct fc_input in;
	long ps;
	int rc;

	rc = fc_fetch(r, FI_PAGESIZE, &in);
	if (rc == 1) {
		rc =
		    fbsd_parse_pagesize(in.buf, in.len, &r->s->page_size, in.ferr, sizeof(in.ferr));
		free(in.buf);
		if (rc == -1)
			snprintf(r->err, r->errlen, "%s: %s", in.what, in.ferr);
		return rc;
	}
	if (!r->f->live) {
		if (rc == 0)
			snprintf(r->err, r->errlen, "%s/%s: missing%s", r->f->dir, in.what,
			         r->have_sysctl
			             ? ""
			             : ", and no sysctl-kern.ipc.txt: not a FreeBSD capture?");
		else
			snprintf(r->err, r->errlen, "%s", in.ferr);
		return -1;
	}
	ps = sysconf(_SC_PAGESIZE);
	if (ps < 512 || ps > 1024 * 1024 || (ps & (ps - 1)) != 0) {
		snprintf(r->err, r->errlen, "%s; sysconf(_SC_PAGESIZE) gives no page size",
		         in.ferr);
		return -1;
	}
	collect_warn(r->w, "%s; page size %ld from sysconf", in.ferr, ps);
	r->s->page_size = (uint32_t)ps;
	return 0;
}

/* 1 when jail j has any SysV IPC (one of its three types is not disabled). */
static int
fc_has_ipc(const struct fbsd_run *r, const struct fbsd_jail *j)
{
	const struct ipc_scope *sc = &r->s->scopes[j->scope];

	return sc->iso[IPC_SHM] != ISO_DISABLE || sc->iso[IPC_SEM] != ISO_DISABLE ||
	       sc->iso[IPC_MSG] != ISO_DISABLE;
}

/* A parser's -1 (out of memory) on input what as the collection's error: -1. */
static int
fc_oom(struct fbsd_run *r, const char *what)
{
	snprintf(r->err, r->errlen, "%s: out of memory", what);
	return -1;
}

/* release, and the host's user and group names: optional */
static int
fc_release_names(struct fbsd_run *r)
{
	struct fc_input in;
	char line[MODEL_NAME_MAX];
	size_t i;
	int rc;

	if (fc_optional(r, FI_UNAME, &in, "")) {
		if (fbsd_small(in.buf, in.len, line, sizeof(line)) == 0)
			ifl_strlcpy(r->s->os_release, line, sizeof(r->s->os_release));
		else
			collect_warn(r->w, "%s: not one line of at most %zu bytes: release unknown",
			             in.what, sizeof(line) - 1);
		free(in.buf);
	}
	for (i = 0; i < 2; i++) {
		if (!fc_optional(r, i ? FI_GROUP : FI_PASSWD, &in, ""))
			continue;
		rc = fbsd_parse_idfile(in.buf, in.len, in.what, i ? &r->groups : &r->users, r->w);
		free(in.buf);
		if (rc == -1)
			return fc_oom(r, in.what);
	}
	return 0;
}

/* when: the clock right after ipcs, or what the capture says */
static int
fc_when(struct fbsd_run *r)
{
	struct fc_input in;
	int rc;

	memset(&r->ctx, 0, sizeof(r->ctx));
	r->ctx.users = &r->users;
	r->ctx.groups = &r->groups;
	if (r->f->live) {
		r->ctx.capture_time = now_unix();
		r->ctx.utc_offset = fbsd_local_offset(r->ctx.capture_time);
		return 0;
	}
	rc = fc_fetch(r, FI_DATE, &in);
	if (rc == -1) {
		snprintf(r->err, r->errlen, "%s", in.ferr);
		return -1;
	}
	if (rc == 0) {
		/* written right after ipcs ran; its zone is unknown: UTC */
		r->ctx.capture_time = r->f->ipcs_mtime;
		return 0;
	}
	rc = fbsd_parse_date(in.buf, in.len, &r->ctx.capture_time, &r->ctx.utc_offset, in.ferr,
	                     sizeof(in.ferr));
	free(in.buf);
	if (rc == -1)
		snprintf(r->err, r->errlen, "%s: %s", in.what, in.ferr);
	return rc;
}

/* The host's view, the inventory: ipcs -a, else its three parts.  Needed. */
static int
fc_host_view(struct fbsd_run *r)
{
	static const enum fbsd_item split[] = {FI_IPCS_MSG, FI_IPCS_SHM, FI_IPCS_SEM};
	char *texts[4] = {NULL}, names[4][COLLECT_PATH_MAX + 64], ferr[FBSD_ERR_MAX];
	size_t lens[4] = {0}, ntexts = 0, i;
	unsigned types = 0, t1;
	int rc, nsec = 0;

	rc = fbsd_fetch(r->f, FI_IPCS, NULL, &texts[0], &lens[0], names[0], sizeof(names[0]), ferr,
	                sizeof(ferr));
	if (rc == 1) {
		ntexts = 1;
	} else {
		if (rc == -1 && !r->f->live) {
			snprintf(r->err, r->errlen, "%s", ferr);
			return -1;
		}
		if (rc == -1)
			collect_warn(r->w, "%s; trying ipcs -m, -s, -q one by one", ferr);
		for (i = 0; i < NELEM(split); i++) {
			rc = fbsd_fetch(r->f, split[i], NULL, &texts[ntexts], &lens[ntexts],
			                names[ntexts], sizeof(names[ntexts]), ferr, sizeof(ferr));
			if (rc == -1)
				collect_warn(r->w, "%s", ferr);
			if (rc == 1)
				ntexts++;
		}
	}
	rc = -1;
	if (ntexts == 0) {
		if (r->f->live)
			snprintf(r->err, r->errlen, "ipcs failed: %s", ferr);
		else
			snprintf(r->err, r->errlen,
			         "%s: none of ipcs-a.txt, ipcs-ma.txt, ipcs-as.txt, ipcs-aq.txt",
			         r->f->dir);
		goto out;
	}
	if (fc_when(r) == -1)
		goto out;
	for (i = 0; i < ntexts; i++) {
		if (fbsd_ipcs_foreign(texts[i], lens[i], names[i], r->err, r->errlen))
			goto out;
		nsec = fbsd_parse_ipcs(texts[i], lens[i], names[i], &r->ctx, r->s, 0, r->w, &t1);
		if (nsec == -1) {
			fc_oom(r, names[i]);
			goto out;
		}
		if (nsec == 0 && ntexts > 1)
			collect_warn(r->w, "%s: no ipcs section in it", names[i]);
		types |= t1;
	}
	if (types == 0) {
		snprintf(
		    r->err, r->errlen,
		    "%s: no \"Shared Memory:\", \"Semaphores:\" or \"Message Queues:\" section "
		    "with a header: not ipcs -a output",
		    names[0]);
		goto out;
	}
	if (r->sysctl_whole)
		fbsd_limits_contradicted(r->s, r->w, r->sysctl_what, types);
	fbsd_ipcs_absent(r->s, types, r->sysctl_whole, ntexts > 1 ? "the ipcs files" : names[0],
	                 r->w);
	if (fbsd_dedupe(r->s, r->w) == -1) {
		snprintf(r->err, r->errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < NELEM(texts); i++)
		free(texts[i]);
	return rc;
}

/* jails and processes: optional */
static int
fc_jails_procs(struct fbsd_run *r)
{
	struct fc_input in;
	int rc;

	if (fc_optional(r, FI_JLS, &in, ": no jails known")) {
		rc = fbsd_parse_jls(in.buf, in.len, in.what, r->s, &r->jails, r->w);
		free(in.buf);
		if (rc == -1)
			return fc_oom(r, in.what);
	}
	if (r->jails.n == 0 && r->pt == NULL)
		return 0;
	if (!fc_optional(r, FI_PS, &in, ""))
		return 0;
	rc = fbsd_parse_ps_all(in.buf, in.len, in.what, &r->procs, &r->ps_complete, r->w);
	free(in.buf);
	return rc == -1 ? fc_oom(r, in.what) : 0;
}

/*
 * Attribution: each jail's own view, then creator pids.  Where the pids are
 * known first, a jail's view also names the owners of the objects they will
 * give it.  Then the processes go to the caller, for orphans.
 */
static int
fc_attribute(struct fbsd_run *r)
{
	struct fbsd_index ix = {0, NULL};
	uint32_t *pidscope = NULL;
	unsigned char *named = NULL;
	size_t i;
	int rc = -1;

	if (fbsd_index_build(r->s, &ix) == -1 ||
	    (pidscope = fbsd_cpid_scopes(r->s, &r->jails, &r->procs)) == NULL ||
	    (named = calloc(r->s->nobjects ? r->s->nobjects : 1, 1)) == NULL) {
		snprintf(r->err, r->errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < r->jails.n; i++) {
		const struct fbsd_jail *j = &r->jails.v[i];

		if (!fc_has_ipc(r, j))
			continue; /* nothing to see in a jail without SysV IPC */
		if (fbsd_jail_view(r->f, j, r->s, &ix, &r->ctx, pidscope, named, r->w) == -1) {
			snprintf(r->err, r->errlen, "jail %s: out of memory", j->name);
			goto out;
		}
	}
	(void)fbsd_apply_cpid(r->s, pidscope, named);
	if (r->pt != NULL &&
	    fbsd_fill_procs(r->pt, &r->procs, r->ps_complete, &r->jails, r->w) == -1) {
		snprintf(r->err, r->errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(pidscope);
	free(named);
	fbsd_index_free(&ix);
	return rc;
}

/* The finding said once when jails draw on the pools with no racct to limit them. */
static int
fc_racct_off(struct fbsd_run *r)
{
	struct finding *f;

	if ((f = snapshot_add_finding(r->s)) == NULL) {
		snprintf(r->err, r->errlen, "out of memory");
		return -1;
	}
	f->kind = FK_ISOLATION;
	f->severity = SEV_INFO;
	snprintf(f->message, sizeof(f->message),
	         "jails draw on the host's SysV IPC pools with no limits of their own: per-jail "
	         "limits (rctl) need kern.racct.enable=1 in /boot/loader.conf and a reboot");
	return 0;
}

/*
 * racct: the jails' rctl rules and usage, which the aggregator holds as
 * limits of their own; without racct, one info finding says how to get
 * them.  A capture says racct was on by holding rctl.txt, and says nothing
 * without it.  Optional: what fails is a warning.
 */
static int
fc_rctl(struct fbsd_run *r)
{
	char *buf, what[COLLECT_PATH_MAX + 64], ferr[FBSD_ERR_MAX], one[16];
	struct fc_input in;
	size_t len, i, active = 0;
	int rc, racct = -1; /* -1: not known yet */

	for (i = 0; i < r->jails.n; i++)
		active += fc_has_ipc(r, &r->jails.v[i]);
	if (active == 0)
		return 0;
	if (r->f->live) {
		/* a kernel without RACCT has no such sysctl: racct is off there too */
		rc = fbsd_fetch(r->f, FI_RACCT, NULL, &buf, &len, what, sizeof(what), ferr,
		                sizeof(ferr));
		racct = 0;
		if (rc == 1) {
			racct =
			    fbsd_small(buf, len, one, sizeof(one)) == 0 && strcmp(one, "1") == 0;
			free(buf);
		}
		if (!racct)
			return fc_racct_off(r);
	}
	/* a capture without rctl.txt: racct unknown */
	if (!fc_optional(r, FI_RCTL, &in, ": the jails' rctl rules are unknown"))
		return 0;
	(void)fbsd_parse_rctl_rules(in.buf, in.len, in.what, r->s, &r->jails, r->w);
	free(in.buf);
	for (i = 0; i < r->jails.n; i++) {
		const struct fbsd_jail *j = &r->jails.v[i];

		if (!fc_has_ipc(r, j))
			continue;
		/* "jail:a:b" would not name jail a:b to rctl */
		if (strchr(j->name, ':') != NULL) {
			collect_warn(r->w,
			             "jail %s: a \":\" in its name: its rctl usage is unknown",
			             j->name);
			continue;
		}
		rc = fbsd_fetch(r->f, FI_RCTL_USAGE, j, &buf, &len, what, sizeof(what), ferr,
		                sizeof(ferr));
		if (rc == 0)
			collect_warn(r->w, "jail %s: no %s: its rctl usage is unknown", j->name,
			             what);
		if (rc == -1)
			collect_warn(r->w, "jail %s: %s: its rctl usage is unknown", j->name, ferr);
		if (rc != 1)
			continue;
		(void)fbsd_parse_rctl_usage(buf, len, what, &r->s->scopes[j->scope].rctl, r->w);
		free(buf);
	}
	return 0;
}

/* The collection shared by both sources (see the table at the top). */
static int
fbsd_collect(struct fbsd_fetch *f, struct snapshot *s, struct proc_table *pt,
             struct collect_warnings *w, char *err, size_t errlen)
{
	struct fbsd_run r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.f = f;
	r.s = s;
	r.pt = pt;
	r.w = w;
	r.err = err;
	r.errlen = errlen;
	fbsd_idmap_init(&r.users, 0, f->live);
	fbsd_idmap_init(&r.groups, 1, f->live);
	if (pt != NULL) {
		pt->n = 0; /* its memory is kept */
		pt->valid = 0;
	}
	rc = fc_limits(&r) == -1 || fc_pagesize(&r) == -1 || fc_release_names(&r) == -1 ||
	             fc_host_view(&r) == -1 || fc_jails_procs(&r) == -1 || fc_attribute(&r) == -1 ||
	             fc_rctl(&r) == -1
	         ? -1
	         : 0;
	if (rc == 0) {
		ifl_strlcpy(s->os, "FreeBSD", sizeof(s->os));
		/* a capture is a snapshot of its own time: its objects' ages and
		 * its process table are of then, not of when it is read */
		if (!f->live)
			s->taken = r.ctx.capture_time;
		s->times_of_day = 1;
		s->utc_offset = r.ctx.utc_offset;
	} else {
		/* nothing half-read is left behind */
		s->nobjects = 0;
		s->nscopes = s->nscopes > 0 ? 1 : 0;
		memset(&s->limits, 0, sizeof(s->limits));
		memset(&s->unknown, 0, sizeof(s->unknown));
		s->page_size = 0;
		s->os_release[0] = '\0';
		if (pt != NULL) {
			pt->n = 0;
			pt->valid = 0;
		}
	}
	fbsd_run_free(&r);
	return rc;
}

int
collect_freebsd(const struct source *src, struct snapshot *s, struct proc_table *pt,
                struct collect_warnings *w, char *err, size_t errlen)
{
	struct fbsd_fetch f;
	struct stat st;

	memset(&f, 0, sizeof(f));
	switch (src->kind) {
	case SRC_FREEBSD:
		f.live = 1;
		f.dir = "";
		break;
	case SRC_FREEBSD_CAPTURE:
		if (stat(src->dir, &st) == -1) {
			snprintf(err, errlen, "freebsd-capture:%s: %s", src->dir, strerror(errno));
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "freebsd-capture:%s: not a directory", src->dir);
			return -1;
		}
		f.dir = src->dir;
		break;
	default:
		snprintf(err, errlen, "collect_freebsd: not a FreeBSD source (kind %d)",
		         (int)src->kind);
		return -1;
	}
	return fbsd_collect(&f, s, pt, w, err, errlen);
}
