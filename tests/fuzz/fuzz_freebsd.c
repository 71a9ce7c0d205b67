/*
 * fuzz_freebsd.c: the FreeBSD text parsers (agent/collect_freebsd.h).
 *
 * The first byte of the input chooses what the rest is (bits 0-2):
 *   0 `sysctl kern.ipc`        1 `ipcs -a` (bits 3-4: the UTC offset)
 *   2 `jls -n`                 3 `ps -axo pid,jid,uid,comm`
 *   4 a passwd file (bit 3: a group file)
 *   5 the small ones: pagesize, date.txt, an ipcs MODE, an "H:MM:SS" time
 *   6, 7 a whole capture, in the order the collector reads it, sections
 *     separated by form feeds: sysctl, pagesize, date, passwd, group, the
 *     host's ipcs -a, jls -n, ps, then for each jail in jls order its own
 *     ipcs -a, passwd and group.  The collector's pipeline runs on it:
 *     dedupe, index, each jail's view, creator pids; the snapshot must
 *     then be one the aggregator accepts.
 * Every parser gets its text in a buffer of exactly its length (they take
 * (text, len) and must not read past it), so ASan sees any overread.
 */
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "collect_freebsd.h"
#include "fuzz.h"
#include "model.h"
#include "proto.h"
#include "text.h"

#define FB_SEP      '\f'
#define FB_JAILS    4 /* jails whose own view the input may hold */
#define FB_SECTIONS (8 + 3 * FB_JAILS)
#define FB_TIME     1764165600 /* capture time when date.txt gives none */

/* Names used for the single-parser modes, as a small capture holds. */
static const char fb_passwd[] = "root:*:0:0:Charlie &:/root:/bin/csh\n"
                                "postgres:*:770:770:PostgreSQL:/var/db/pgsql:/bin/sh\n"
                                "zabbix:*:122:122:Zabbix:/var/db/zabbix:/usr/sbin/nologin\n";
static const char fb_group[] = "wheel:*:0:root\npostgres:*:770:\nzabbix:*:122:\n";

/* An exact-size copy, so that a read past len is a heap overflow. */
static char *
fb_copy(const uint8_t *p, size_t n)
{
	char *c;

	if ((c = malloc(n > 0 ? n : 1)) == NULL)
		FUZZ_FAIL("out of memory");
	if (n > 0)
		memcpy(c, p, n);
	return c;
}

static void
fb_check_warnings(const struct collect_warnings *w)
{
	size_t i;

	FUZZ_CHECK(w->n <= COLLECT_MAX_WARN && w->n <= w->total);
	for (i = 0; i < w->n; i++) {
		FUZZ_CHECK(strnlen(w->v[i], sizeof(w->v[i])) < sizeof(w->v[i]));
		fuzz_note("warning", w->v[i]);
	}
}

static void
fb_check_limits(const struct ipc_limits *l)
{
	size_t i;

	FUZZ_CHECK(l->n <= MODEL_MAX_LIMITS);
	for (i = 0; i < l->n; i++)
		FUZZ_CHECK(limit_name_valid(l->v[i].name));
}

static void
fb_check_snapshot(const struct snapshot *s)
{
	size_t i;

	FUZZ_CHECK(s->nscopes >= 1 && s->nscopes <= MODEL_MAX_SCOPES);
	FUZZ_CHECK(s->nobjects <= MODEL_MAX_OBJECTS);
	for (i = 0; i < s->nobjects; i++) {
		FUZZ_CHECK(s->objects[i].scope < s->nscopes);
		FUZZ_CHECK(s->objects[i].type == IPC_SHM || s->objects[i].type == IPC_SEM ||
		           s->objects[i].type == IPC_MSG);
		FUZZ_CHECK(strnlen(s->objects[i].owner, MODEL_OWNER_MAX) < MODEL_OWNER_MAX);
	}
	for (i = 1; i < s->nscopes; i++) {
		FUZZ_CHECK(s->scopes[i].kind == SCOPE_JAIL);
		FUZZ_CHECK(strncmp(s->scopes[i].id, "jail:", 5) == 0 && s->scopes[i].id[5] != 0);
	}
	fb_check_limits(&s->limits);
}

static void
fb_idmaps(struct fbsd_idmap *users, struct fbsd_idmap *groups)
{
	fbsd_idmap_init(users, 0, 0);
	fbsd_idmap_init(groups, 1, 0);
	if (fbsd_parse_idfile(fb_passwd, sizeof(fb_passwd) - 1, "passwd", users, NULL) == -1 ||
	    fbsd_parse_idfile(fb_group, sizeof(fb_group) - 1, "group", groups, NULL) == -1)
		FUZZ_FAIL("out of memory");
}

static void
fb_sysctl(const char *t, size_t n)
{
	struct collect_warnings w;
	struct ipc_limits l;
	int rc;

	memset(&w, 0, sizeof(w));
	memset(&l, 0, sizeof(l));
	rc = fbsd_parse_sysctl(t, n, "sysctl-kern.ipc.txt", &l, NULL, &w);
	/* rc counts lines that set a limit: a name given twice counts twice */
	FUZZ_CHECK(rc >= 0 && l.n <= (size_t)rc);
	fb_check_limits(&l);
	fb_check_warnings(&w);
}

static void
fb_ipcs(const char *t, size_t n, uint8_t sel)
{
	static const int32_t offsets[4] = {0, 3600, -5 * 3600, 13 * 3600 + 45 * 60};
	struct collect_warnings w;
	struct fbsd_idmap users, groups;
	struct fbsd_ipcs_ctx ctx;
	struct snapshot s;
	int rc;

	memset(&w, 0, sizeof(w));
	fb_idmaps(&users, &groups);
	memset(&ctx, 0, sizeof(ctx));
	ctx.capture_time = FB_TIME;
	ctx.utc_offset = offsets[sel >> 3 & 3];
	ctx.users = &users;
	ctx.groups = &groups;
	if (snapshot_init(&s) == -1)
		FUZZ_FAIL("out of memory");
	rc = fbsd_parse_ipcs(t, n, "ipcs-a.txt", &ctx, &s, 0, &w, NULL);
	FUZZ_CHECK(rc >= 0);
	fb_check_snapshot(&s);
	FUZZ_CHECK(s.nscopes == 1);
	fb_check_warnings(&w);
	snapshot_free(&s);
	fbsd_idmap_free(&users);
	fbsd_idmap_free(&groups);
}

static void
fb_check_jails(const struct snapshot *s, const struct fbsd_jails *j)
{
	char shown[sizeof(j->v[0].name)];
	size_t i;

	FUZZ_CHECK(j->n <= s->nscopes - 1);
	for (i = 0; i < j->n; i++) {
		const struct fbsd_jail *jl = &j->v[i];

		FUZZ_CHECK(jl->scope >= 1 && jl->scope < s->nscopes);
		FUZZ_CHECK(strnlen(jl->name, sizeof(jl->name)) < sizeof(jl->name));
		FUZZ_CHECK(strnlen(jl->path, sizeof(jl->path)) < sizeof(jl->path));
		/* the scope shows the name cleaned by the one text rule */
		text_clean(shown, sizeof(shown), jl->name, strlen(jl->name));
		FUZZ_CHECK(strcmp(s->scopes[jl->scope].id + 5, shown) == 0);
		FUZZ_CHECK(strcmp(s->scopes[jl->scope].name, shown) == 0);
	}
}

static void
fb_jls(const char *t, size_t n)
{
	struct collect_warnings w;
	struct fbsd_jails j = {0, NULL};
	struct snapshot s;
	int rc;

	memset(&w, 0, sizeof(w));
	if (snapshot_init(&s) == -1)
		FUZZ_FAIL("out of memory");
	rc = fbsd_parse_jls(t, n, "jls.txt", &s, &j, &w);
	FUZZ_CHECK(rc >= 0);
	FUZZ_CHECK(s.nscopes == 1 + (size_t)rc);
	fb_check_snapshot(&s);
	fb_check_jails(&s, &j);
	fb_check_warnings(&w);
	fbsd_jails_free(&j);
	snapshot_free(&s);
}

static void
fb_check_procs(const struct fbsd_procs *p)
{
	size_t i;
	int32_t jid;

	FUZZ_CHECK(p->n <= FBSD_PROCS_MAX);
	for (i = 0; i < p->n; i++) {
		FUZZ_CHECK(p->v[i].pid >= 0 && p->v[i].jid >= 0);
		FUZZ_CHECK(i == 0 || p->v[i - 1].pid <= p->v[i].pid);
		FUZZ_CHECK(fbsd_procs_jid(p, p->v[i].pid, &jid) == 0);
	}
	FUZZ_CHECK(fbsd_procs_jid(p, -1, &jid) == -1);
}

static void
fb_ps(const char *t, size_t n)
{
	struct collect_warnings w;
	struct fbsd_procs p = {0, NULL};
	int rc;

	memset(&w, 0, sizeof(w));
	rc = fbsd_parse_ps(t, n, "ps.txt", &p, &w);
	FUZZ_CHECK(rc >= 0 && (size_t)rc == p.n);
	fb_check_procs(&p);
	fb_check_warnings(&w);
	fbsd_procs_free(&p);
}

/* Every name resolves to the id of its first line; the table is sorted. */
static void
fb_check_idmap(const struct fbsd_idmap *m)
{
	size_t i;
	uint32_t id;

	FUZZ_CHECK(m->n <= FBSD_IDMAP_MAX);
	for (i = 0; i < m->n; i++) {
		const struct fbsd_ident *e = &m->v[i];
		int first = i == 0 || strcmp(m->v[i - 1].name, e->name) != 0;

		FUZZ_CHECK(e->name[0] != '\0' &&
		           strnlen(e->name, FBSD_IDNAME_MAX) < FBSD_IDNAME_MAX);
		FUZZ_CHECK(i == 0 || strcmp(m->v[i - 1].name, e->name) <= 0);
		FUZZ_CHECK(fbsd_idmap_lookup(m, e->name, &id) == 0);
		if (first)
			FUZZ_CHECK(id == e->id);
		else
			FUZZ_CHECK(m->v[i - 1].seq < e->seq);
		FUZZ_CHECK(e->id != FBSD_ID_UNKNOWN);
	}
}

static void
fb_idfile(const char *t, size_t n, int is_group)
{
	struct collect_warnings w;
	struct fbsd_idmap m;

	memset(&w, 0, sizeof(w));
	fbsd_idmap_init(&m, is_group, 0);
	FUZZ_CHECK(fbsd_parse_idfile(t, n, is_group ? "group" : "passwd", &m, &w) == 0);
	fb_check_idmap(&m);
	fb_check_warnings(&w);
	fbsd_idmap_free(&m);
}

/* "H:MM:SS" resolves to a moment in the day up to the capture time. */
static void
fb_time(const char *hms, int64_t capture, int32_t offset)
{
	int64_t t;

	if (fbsd_resolve_time(hms, capture, offset, &t) == -1)
		return;
	FUZZ_CHECK(t <= capture);
	FUZZ_CHECK((uint64_t)capture - (uint64_t)t < 86400);
}

static void
fb_small(const char *t, size_t n)
{
	char err[MODEL_TEXT_MAX], *cs;
	uint32_t ps, mode;
	int64_t when, raw_t = 0;
	int32_t off, raw_off = 0;

	err[0] = '\0';
	if (fbsd_parse_pagesize(t, n, &ps, err, sizeof(err)) == 0)
		FUZZ_CHECK(ps >= 512 && ps <= 1024 * 1024 && (ps & (ps - 1)) == 0);
	else
		FUZZ_CHECK(err[0] != '\0');
	err[0] = '\0';
	if (fbsd_parse_date(t, n, &when, &off, err, sizeof(err)) == -1)
		FUZZ_CHECK(err[0] != '\0');
	else
		FUZZ_CHECK(off > -86400 && off < 86400);

	/* the rest as C strings, like the ipcs parser hands its fields over */
	cs = fuzz_strndup((const uint8_t *)t, n);
	(void)fbsd_parse_mode(cs, &mode);
	fb_time(cs, FB_TIME, 3600);
	if (fbsd_parse_date(t, n, &when, &off, err, sizeof(err)) == 0)
		fb_time(cs, when, off);
	/* extreme clocks: the first 12 bytes, then the time after them */
	if (n >= 12) {
		memcpy(&raw_t, t, sizeof(raw_t));
		memcpy(&raw_off, t + 8, sizeof(raw_off));
		free(cs);
		cs = fuzz_strndup((const uint8_t *)t + 12, n - 12);
		fb_time(cs, raw_t, raw_off);
	}
	free(cs);
}

/* Splits the input at form feeds; every section an exact-size copy. */
struct fb_capture {
	size_t n;
	char *text[FB_SECTIONS];
	size_t len[FB_SECTIONS];
};

static void
fb_split(const uint8_t *p, size_t n, struct fb_capture *c)
{
	size_t start = 0, i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i <= n && c->n < FB_SECTIONS; i++) {
		if (i < n && p[i] != FB_SEP)
			continue;
		c->text[c->n] = fb_copy(p + start, i - start);
		c->len[c->n] = i - start;
		c->n++;
		start = i + 1;
	}
}

static void
fb_capture_free(struct fb_capture *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->text[i]);
}

/* One jail's own view: sections base (ipcs), base+1 (passwd), base+2 (group). */
static void
fb_jail_view(const struct fb_capture *c, size_t base, struct snapshot *s,
             const struct fbsd_index *ix, const struct fbsd_jail *j,
             const struct fbsd_ipcs_ctx *hostctx, struct collect_warnings *w)
{
	struct fbsd_idmap users, groups;
	struct fbsd_ipcs_ctx ctx;
	struct snapshot view;
	size_t before = s->nobjects;
	int rc;

	fbsd_idmap_init(&users, 0, 0);
	fbsd_idmap_init(&groups, 1, 0);
	if (base + 1 < c->n &&
	    fbsd_parse_idfile(c->text[base + 1], c->len[base + 1], "passwd", &users, w) == -1)
		FUZZ_FAIL("out of memory");
	if (base + 2 < c->n &&
	    fbsd_parse_idfile(c->text[base + 2], c->len[base + 2], "group", &groups, w) == -1)
		FUZZ_FAIL("out of memory");
	ctx = *hostctx;
	ctx.users = &users;
	ctx.groups = &groups;
	if (snapshot_init(&view) == -1)
		FUZZ_FAIL("out of memory");
	rc = fbsd_parse_ipcs(c->text[base], c->len[base], "jail/ipcs-a.txt", &ctx, &view, 0, w,
	                     NULL);
	FUZZ_CHECK(rc >= 0);
	if (rc > 0) {
		/* each object moves at most once, however often a view lists it */
		rc = fbsd_attribute_view(s, ix, &view, j->scope, j->name, w);
		if (rc < 0 || (size_t)rc > view.nobjects || (size_t)rc > s->nobjects)
			FUZZ_FAIL("fbsd_attribute_view moved %d objects of a view of %zu", rc,
			          view.nobjects);
	}
	/* attribution moves objects between scopes, never adds or drops one */
	FUZZ_CHECK(s->nobjects == before);
	snapshot_free(&view);
	fbsd_idmap_free(&users);
	fbsd_idmap_free(&groups);
}

/* No two objects of the host's view share (type, id) after fbsd_dedupe. */
static void
fb_check_unique(const struct snapshot *s)
{
	struct fbsd_index ix;
	size_t i;

	if (fbsd_index_build(s, &ix) == -1)
		FUZZ_FAIL("out of memory");
	FUZZ_CHECK(ix.n == s->nobjects);
	for (i = 1; i < ix.n; i++)
		FUZZ_CHECK(ix.v[i - 1].type != ix.v[i].type || ix.v[i - 1].id != ix.v[i].id);
	for (i = 0; i < ix.n; i++)
		FUZZ_CHECK(ix.v[i].idx < s->nobjects);
	fbsd_index_free(&ix);
}

/* What the aggregator makes of the collected snapshot. */
static void
fb_roundtrip(struct snapshot *s)
{
	struct proto_doc doc;
	struct snapshot s2;
	struct usage u;
	struct buf b;
	char err[256] = "";
	size_t i;

	s->seq = 1;
	if (s->page_size == 0)
		s->page_size = 4096;
	model_usage(s, -1, &u);
	for (i = 0; i < s->nscopes; i++)
		model_usage(s, (int)i, &u);
	buf_init(&b, PROTO_HDR_LEN + PROTO_MAX_FRAME);
	if (proto_encode_snapshot(&b, s) == -1)
		FUZZ_FAIL("a collected snapshot (%zu scopes, %zu objects) cannot be encoded",
		          s->nscopes, s->nobjects);
	if (proto_doc_unpack((const uint8_t *)b.data + PROTO_HDR_LEN, b.len - PROTO_HDR_LEN, &doc,
	                     err, sizeof(err)) == -1)
		FUZZ_FAIL("a collected snapshot is refused: %s", err);
	if (snapshot_init(&s2) == -1)
		FUZZ_FAIL("out of memory");
	if (proto_decode_snapshot(&doc, &s2, err, sizeof(err)) == -1)
		FUZZ_FAIL("a collected snapshot does not decode: %s", err);
	FUZZ_CHECK(s2.nscopes == s->nscopes && s2.nobjects == s->nobjects);
	for (i = 0; i < s->nscopes; i++)
		FUZZ_CHECK(strcmp(s2.scopes[i].id, s->scopes[i].id) == 0 &&
		           strcmp(s2.scopes[i].name, s->scopes[i].name) == 0);
	for (i = 0; i < s->nobjects; i++)
		FUZZ_CHECK(s2.objects[i].scope == s->objects[i].scope &&
		           s2.objects[i].id == s->objects[i].id &&
		           s2.objects[i].key == s->objects[i].key);
	snapshot_free(&s2);
	proto_doc_free(&doc);
	buf_free(&b);
}

static void
fb_pipeline(const uint8_t *p, size_t n)
{
	struct collect_warnings w;
	struct fb_capture c;
	struct fbsd_idmap users, groups;
	struct fbsd_jails jails = {0, NULL};
	struct fbsd_procs procs = {0, NULL};
	struct fbsd_index ix;
	struct fbsd_ipcs_ctx ctx;
	struct snapshot s;
	char err[MODEL_TEXT_MAX];
	size_t i, before;
	int rc;

	memset(&w, 0, sizeof(w));
	fb_split(p, n, &c);
	if (snapshot_init(&s) == -1)
		FUZZ_FAIL("out of memory");
	fbsd_idmap_init(&users, 0, 0);
	fbsd_idmap_init(&groups, 1, 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.capture_time = FB_TIME;

	(void)fbsd_parse_sysctl(c.text[0], c.len[0], "sysctl-kern.ipc.txt", &s.limits, NULL, &w);
	if (c.n > 1 &&
	    fbsd_parse_pagesize(c.text[1], c.len[1], &s.page_size, err, sizeof(err)) == -1)
		s.page_size = 4096;
	if (c.n > 2 && fbsd_parse_date(c.text[2], c.len[2], &ctx.capture_time, &ctx.utc_offset, err,
	                               sizeof(err)) == -1) {
		ctx.capture_time = FB_TIME;
		ctx.utc_offset = 0;
	}
	if ((c.n > 3 && fbsd_parse_idfile(c.text[3], c.len[3], "passwd", &users, &w) == -1) ||
	    (c.n > 4 && fbsd_parse_idfile(c.text[4], c.len[4], "group", &groups, &w) == -1))
		FUZZ_FAIL("out of memory");
	ctx.users = &users;
	ctx.groups = &groups;
	if (c.n > 5) {
		rc = fbsd_parse_ipcs(c.text[5], c.len[5], "ipcs-a.txt", &ctx, &s, 0, &w, NULL);
		FUZZ_CHECK(rc >= 0);
	}
	FUZZ_CHECK(fbsd_dedupe(&s, &w) >= 0);
	fb_check_unique(&s);
	if (c.n > 6) {
		FUZZ_CHECK(fbsd_parse_jls(c.text[6], c.len[6], "jls.txt", &s, &jails, &w) >= 0);
		fb_check_jails(&s, &jails);
	}
	if (c.n > 7)
		FUZZ_CHECK(fbsd_parse_ps(c.text[7], c.len[7], "ps.txt", &procs, &w) >= 0);
	if (fbsd_index_build(&s, &ix) == -1)
		FUZZ_FAIL("out of memory");
	for (i = 0; i < jails.n && i < FB_JAILS; i++) {
		const struct fbsd_jail *j = &jails.v[i];
		const struct ipc_scope *sc = &s.scopes[j->scope];

		if (sc->iso[IPC_SHM] == ISO_DISABLE && sc->iso[IPC_SEM] == ISO_DISABLE &&
		    sc->iso[IPC_MSG] == ISO_DISABLE)
			continue;
		if (8 + 3 * i < c.n)
			fb_jail_view(&c, 8 + 3 * i, &s, &ix, j, &ctx, &w);
	}
	before = s.nobjects;
	FUZZ_CHECK(fbsd_attribute_cpid(&s, &jails, &procs) >= 0);
	FUZZ_CHECK(s.nobjects == before);
	fb_check_snapshot(&s);
	fb_check_warnings(&w);
	fb_roundtrip(&s);

	fbsd_index_free(&ix);
	fbsd_jails_free(&jails);
	fbsd_procs_free(&procs);
	fbsd_idmap_free(&users);
	fbsd_idmap_free(&groups);
	snapshot_free(&s);
	fb_capture_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sel;
	char *t;
	size_t n;

	if (size < 1)
		return 0;
	sel = data[0];
	n = size - 1;
	if ((sel & 7) >= 6) {
		fb_pipeline(data + 1, n);
		return 0;
	}
	t = fb_copy(data + 1, n);
	switch (sel & 7) {
	case 0:
		fb_sysctl(t, n);
		break;
	case 1:
		fb_ipcs(t, n, sel);
		break;
	case 2:
		fb_jls(t, n);
		break;
	case 3:
		fb_ps(t, n);
		break;
	case 4:
		fb_idfile(t, n, (sel & 8) != 0);
		break;
	default:
		fb_small(t, n);
		break;
	}
	free(t);
	return 0;
}
