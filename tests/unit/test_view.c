/*
 * test_view.c: the host documents (view.c), as JSON (mp2json.c) and as text
 * (view_text.c), from a snapshot built in C.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "buf.h"
#include "model.h"
#include "util.h"
#include "view.h"

#define T_SEEN  1795701600 /* 2026-11-26T14:00:00Z */
#define T_TAKEN 1795701540 /* 2026-11-26T13:59:00Z */
#define T_CTIME 1795600000 /* 2026-11-25T09:46:40Z */
#define T_OTIME 1795701000 /* 2026-11-26T13:50:00Z */

/* The snapshot of the brief: 5 sets of 17, 2 segments of 1 MiB + 1 byte. */
static void
build(struct snapshot *s)
{
	struct ipc_object *o;
	int i;

	assert_int_equal(snapshot_init(s), 0);
	s->taken = T_TAKEN;
	s->page_size = 4096;
	ifl_strlcpy(s->os, "FreeBSD", sizeof(s->os));
	ifl_strlcpy(s->os_release, "11.2-RELEASE", sizeof(s->os_release));
	assert_int_equal(limits_set(&s->limits, "semmns", 340), 0);
	assert_int_equal(limits_set(&s->limits, "semmni", 50), 0);
	assert_int_equal(limits_set(&s->limits, "semmsl", 340), 0);
	assert_int_equal(limits_set(&s->limits, "semopm", 100), 0);
	assert_int_equal(limits_set(&s->limits, "shmall", 18446744073692774399ULL), 0);
	assert_int_equal(limits_set(&s->limits, "shmmni", 4096), 0);
	assert_int_equal(limits_set(&s->limits, "msgmni", 32000), 0);
	for (i = 0; i < 5; i++) {
		assert_non_null(o = snapshot_add_object(s));
		o->type = IPC_SEM;
		o->id = 65536 + i;
		o->key = 5432001 + i;
		o->mode = 0600;
		o->uid = o->gid = o->cuid = o->cgid = 70;
		o->nsems = 17;
		o->otime = i == 0 ? T_OTIME : 0;
		o->ctime = T_CTIME;
	}
	for (i = 0; i < 2; i++) {
		assert_non_null(o = snapshot_add_object(s));
		o->type = IPC_SHM;
		o->id = 10 + i;
		o->key = i == 0 ? 5432001 : 0;
		o->mode = i == 0 ? 0600 : 01600;
		o->uid = o->cuid = 70;
		o->gid = o->cgid = 0;
		o->size = 1048577;
		o->nattch = (uint64_t)(3 - i * 3);
		o->cpid = 1234;
		o->lpid = 1240;
		o->atime = T_OTIME;
		o->ctime = T_CTIME;
	}
}

/* A packed document, unpacked again: what the CLI receives. */
struct doc {
	msgpack_sbuffer sb;
	msgpack_zone zone;
	msgpack_object obj;
};

enum what { HOST, ROW };

static void
doc_make(struct doc *d, const struct snapshot *s, const struct view_extra *x, enum what w)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(&d->sb);
	msgpack_packer_init(&pk, &d->sb, msgpack_sbuffer_write);
	if (w == HOST) {
		view_pack_host(&pk, s, x);
	} else {
		/* `hosts`: an array of rows */
		msgpack_pack_array(&pk, 1);
		view_pack_host_row(&pk, s, x);
	}
	msgpack_zone_init(&d->zone, 4096);
	assert_int_equal(msgpack_unpack(d->sb.data, d->sb.size, NULL, &d->zone, &d->obj),
	                 MSGPACK_UNPACK_SUCCESS);
}

static void
doc_free(struct doc *d)
{
	msgpack_zone_destroy(&d->zone);
	msgpack_sbuffer_destroy(&d->sb);
}

/* JSON text of o, malloc'd. */
static char *
to_json(const msgpack_object *o, int pretty)
{
	struct buf b;
	char *r;

	buf_init(&b, 1 << 20);
	assert_int_equal(mp_to_json(o, &b, pretty), 0);
	r = strdup(buf_cstr(&b));
	assert_non_null(r);
	buf_free(&b);
	return r;
}

/* Text rendering of o, malloc'd; rc is the renderer's return value. */
static char *
to_text(const msgpack_object *o, enum what w, int *rc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	assert_non_null(fp = open_memstream(&text, &len));
	*rc = w == HOST ? view_text_host(o, fp) : view_text_hosts(o, fp);
	assert_int_equal(fclose(fp), 0);
	return text;
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL) {
		/* cmocka cuts long messages: print in full first */
		fprintf(stderr, "missing:\n%s\nin:\n%s\n", needle, hay);
		fail();
	}
}

#define USAGE_BASE                                                                                 \
	"\"usage\":{\"semmns\":{\"used\":85,\"limit\":340,\"pct\":25.0},"                          \
	"\"semmni\":{\"used\":5,\"limit\":50,\"pct\":10.0},"                                       \
	"\"shmall\":{\"used\":514,\"limit\":18446744073692774399,\"pct\":0.0},"                    \
	"\"shmmni\":{\"used\":2,\"limit\":4096,\"pct\":0.0},"                                      \
	"\"msgmni\":{\"used\":0,\"limit\":32000,\"pct\":0.0}}"

static void
test_host_json(void **state)
{
	struct snapshot s;
	struct view_extra x = {.host = "sorthat", .status = "warn", .last_seen = T_SEEN};
	struct doc d;
	char *j;

	(void)state;
	build(&s);
	doc_make(&d, &s, &x, HOST);
	j = to_json(&d.obj, 0);
	assert_contains(j, "\"semmns\":{\"used\":85,\"limit\":340,\"pct\":25.0}");
	assert_contains(j, "\"shmall\":{\"used\":514,\"limit\":18446744073692774399,\"pct\":0.0}");
	assert_contains(j, "\"semmni\":{\"used\":5,\"limit\":50,\"pct\":10.0}");
	assert_contains(j, "\"shmmni\":{\"used\":2,\"limit\":4096,\"pct\":0.0}");
	/* the head of the document, in order, with only what was given */
	assert_contains(j,
	                "{\"host\":\"sorthat\",\"os\":\"FreeBSD\",\"os_release\":\"11.2-RELEASE\","
	                "\"status\":\"warn\",\"last_seen\":\"2026-11-26T14:00:00Z\","
	                "\"page_size\":4096,\"taken\":\"2026-11-26T13:59:00Z\"," USAGE_BASE ","
	                "\"limits\":{\"semmns\":340,\"semmni\":50,\"semmsl\":340,\"semopm\":100,"
	                "\"shmall\":18446744073692774399,\"shmmni\":4096,\"msgmni\":32000},");
	assert_contains(j,
	                "\"scopes\":[{\"id\":\"host\",\"kind\":\"host\",\"name\":\"host\","
	                "\"isolation\":null,\"own_limits\":false," USAGE_BASE ",\"objects\":7}],");
	/* one object of each shape: no dtime set is null, mode has 4 digits */
	assert_contains(j, "{\"type\":\"sem\",\"id\":65536,\"key\":5432001,\"mode\":\"0600\","
	                   "\"uid\":70,\"gid\":70,\"cuid\":70,\"cgid\":70,\"scope\":\"host\","
	                   "\"nsems\":17,\"otime\":\"2026-11-26T13:50:00Z\","
	                   "\"ctime\":\"2026-11-25T09:46:40Z\"}");
	assert_contains(j, "{\"type\":\"sem\",\"id\":65537,\"key\":5432002,\"mode\":\"0600\","
	                   "\"uid\":70,\"gid\":70,\"cuid\":70,\"cgid\":70,\"scope\":\"host\","
	                   "\"nsems\":17,\"otime\":null,\"ctime\":\"2026-11-25T09:46:40Z\"}");
	assert_contains(j, "{\"type\":\"shm\",\"id\":11,\"key\":0,\"mode\":\"1600\","
	                   "\"uid\":70,\"gid\":0,\"cuid\":70,\"cgid\":0,\"scope\":\"host\","
	                   "\"size\":1048577,\"nattch\":0,\"cpid\":1234,\"lpid\":1240,"
	                   "\"atime\":\"2026-11-26T13:50:00Z\",\"dtime\":null,"
	                   "\"ctime\":\"2026-11-25T09:46:40Z\"}],\"headroom\":[");
	/*
	 * headroom by shape (capacity.h): uid 70 holds 5 sets of 17 (85 of 340
	 * semmns, 5 of 50 semmni): 255 / 17 = 15 more sets, 255 / 85 = 3 more
	 * copies of its holding; its 2 segments need 2 x 257 pages and 2 of
	 * shmmni, so semmns binds the instances there too
	 */
	assert_contains(j, "\"headroom\":[{\"scope\":\"host\",\"owner\":\"\",\"uid\":70,"
	                   "\"type\":\"sem\",\"objects\":5,\"nsems\":17,\"more_objects\":15,"
	                   "\"more_instances\":3,\"binding\":\"semmns\","
	                   "\"instances_binding\":\"semmns\"},{\"scope\":\"host\","
	                   "\"owner\":\"\",\"uid\":70,\"type\":\"shm\",\"objects\":2,"
	                   "\"size\":1048577,\"more_objects\":4094,\"more_instances\":3,"
	                   "\"binding\":\"shmmni\",\"instances_binding\":\"semmns\"}],"
	                   "\"findings\":[]}");
	free(j);

	/* pretty output starts the same way */
	j = to_json(&d.obj, 1);
	assert_contains(j, "{\n  \"host\": \"sorthat\",\n  \"os\": \"FreeBSD\",\n");
	assert_contains(j, "  \"usage\": {\n    \"semmns\": {\n      \"used\": 85,\n"
	                   "      \"limit\": 340,\n      \"pct\": 25.0\n    },\n");
	assert_contains(j, "  \"findings\": []\n}");
	free(j);
	doc_free(&d);
	snapshot_free(&s);
}

/* What the agent's --print packs: no host, status, last_seen. */
static void
test_host_json_local(void **state)
{
	struct snapshot s;
	struct ipc_object *o;
	struct doc d;
	char *j;

	(void)state;
	build(&s);
	s.taken = 0;
	assert_non_null(o = snapshot_add_object(&s));
	o->type = IPC_MSG;
	o->id = 3;
	o->key = -1;
	o->mode = 0666;
	o->cbytes = 10;
	o->qnum = 2;
	o->qbytes = 2048;
	o->lspid = 77;
	o->stime = T_OTIME;
	o->ctime = T_CTIME;
	s.objects[5].rss = 4096;
	doc_make(&d, &s, NULL, HOST);
	j = to_json(&d.obj, 0);
	assert_contains(j, "{\"os\":\"FreeBSD\",\"os_release\":\"11.2-RELEASE\","
	                   "\"page_size\":4096,\"usage\":{");
	assert_null(strstr(j, "\"host\":\"")); /* only the scope id "host" */
	assert_null(strstr(j, "\"status\""));
	assert_null(strstr(j, "\"taken\""));
	assert_null(strstr(j, "\"last_seen\""));
	assert_contains(j, "\"msgmni\":{\"used\":1,\"limit\":32000,\"pct\":0.0}");
	assert_contains(j, "{\"type\":\"msg\",\"id\":3,\"key\":-1,\"mode\":\"0666\","
	                   "\"uid\":0,\"gid\":0,\"cuid\":0,\"cgid\":0,\"scope\":\"host\","
	                   "\"cbytes\":10,\"qnum\":2,\"qbytes\":2048,\"lspid\":77,\"lrpid\":0,"
	                   "\"stime\":\"2026-11-26T13:50:00Z\",\"rtime\":null,"
	                   "\"ctime\":\"2026-11-25T09:46:40Z\"}");
	/* rss only when the kernel said */
	assert_contains(j, "\"dtime\":null,\"rss\":4096,\"ctime\"");
	free(j);
	doc_free(&d);
	snapshot_free(&s);
}

static void
test_row_json(void **state)
{
	struct snapshot s;
	struct view_extra x = {.host = "sorthat", .status = "ok", .last_seen = T_SEEN};
	struct doc d;
	char *j;

	(void)state;
	build(&s);
	doc_make(&d, &s, &x, ROW);
	j = to_json(&d.obj, 0);
	assert_string_equal(j, "[{\"host\":\"sorthat\",\"os\":\"FreeBSD\",\"status\":\"ok\","
	                       "\"last_seen\":\"2026-11-26T14:00:00Z\"," USAGE_BASE "}]");
	free(j);
	doc_free(&d);

	/* without what only the aggregator knows: nulls, no host */
	doc_make(&d, &s, NULL, ROW);
	j = to_json(&d.obj, 0);
	assert_string_equal(j, "[{\"os\":\"FreeBSD\",\"status\":null,\"last_seen\":null," USAGE_BASE
	                       "}]");
	free(j);
	doc_free(&d);
	snapshot_free(&s);
}

/* An IPC namespace with its own limits, and a jail on the host's pool. */
static void
build_scopes(struct snapshot *s)
{
	struct ipc_scope *sc;
	struct ipc_object *o;
	int i;

	build(s);
	assert_non_null(sc = snapshot_add_scope(s, "ipcns:4026532200", "ct1", SCOPE_IPCNS));
	sc->own_limits = 1;
	sc->iso[IPC_SHM] = sc->iso[IPC_SEM] = sc->iso[IPC_MSG] = ISO_NEW;
	assert_int_equal(limits_set(&sc->limits, "semmns", 340), 0);
	assert_int_equal(limits_set(&sc->limits, "semmni", 2), 0);
	assert_non_null(sc = snapshot_add_scope(s, "jail:www", "www", SCOPE_JAIL));
	sc->iso[IPC_SHM] = ISO_NEW;
	sc->iso[IPC_SEM] = ISO_INHERIT;
	sc->iso[IPC_MSG] = ISO_DISABLE;
	for (i = 0; i < 3; i++) {
		assert_non_null(o = snapshot_add_object(s));
		o->type = IPC_SEM;
		o->id = 100 + i;
		o->key = 900 + i;
		o->mode = 0600;
		o->nsems = 17;
		o->scope = i < 2 ? 1 : 2;
	}
}

static void
test_scopes_json(void **state)
{
	struct snapshot s;
	struct doc d;
	char *j;

	(void)state;
	build_scopes(&s);
	doc_make(&d, &s, NULL, HOST);
	j = to_json(&d.obj, 0);
	/* the host's pool: its own objects and the jail's, not the namespace's */
	assert_contains(j, ",\"page_size\":4096,\"taken\":\"2026-11-26T13:59:00Z\","
	                   "\"usage\":{\"semmns\":{\"used\":102,\"limit\":340,\"pct\":30.0},"
	                   "\"semmni\":{\"used\":6,\"limit\":50,\"pct\":12.0},");
	assert_contains(j, "{\"id\":\"ipcns:4026532200\",\"kind\":\"ipcns\",\"name\":\"ct1\","
	                   "\"isolation\":{\"shm\":\"new\",\"sem\":\"new\",\"msg\":\"new\"},"
	                   "\"own_limits\":true,\"limits\":{\"semmns\":340,\"semmni\":2},"
	                   "\"usage\":{\"semmns\":{\"used\":34,\"limit\":340,\"pct\":10.0},"
	                   "\"semmni\":{\"used\":2,\"limit\":2,\"pct\":100.0},"
	                   "\"shmall\":{\"used\":0,\"limit\":null,\"pct\":null},"
	                   "\"shmmni\":{\"used\":0,\"limit\":null,\"pct\":null},"
	                   "\"msgmni\":{\"used\":0,\"limit\":null,\"pct\":null}},\"objects\":2}");
	assert_contains(j,
	                "{\"id\":\"jail:www\",\"kind\":\"jail\",\"name\":\"www\","
	                "\"isolation\":{\"shm\":\"new\",\"sem\":\"inherit\",\"msg\":\"disable\"},"
	                "\"own_limits\":false,"
	                "\"usage\":{\"semmns\":{\"used\":17,\"limit\":340,\"pct\":5.0},"
	                "\"semmni\":{\"used\":1,\"limit\":50,\"pct\":2.0},"
	                "\"shmall\":{\"used\":0,\"limit\":18446744073692774399,\"pct\":0.0},"
	                "\"shmmni\":{\"used\":0,\"limit\":4096,\"pct\":0.0},"
	                "\"msgmni\":{\"used\":0,\"limit\":32000,\"pct\":0.0}},\"objects\":1}");
	assert_contains(j, "\"own_limits\":false," USAGE_BASE ",\"objects\":7}");
	assert_contains(j, "\"id\":100,\"key\":900,\"mode\":\"0600\",\"uid\":0,\"gid\":0,"
	                   "\"cuid\":0,\"cgid\":0,\"scope\":\"ipcns:4026532200\"");
	free(j);
	doc_free(&d);

	/*
	 * A jail's rctl (racct): each resource with a rule or a usage, what is
	 * not known nil; and its share in text, against its rule.
	 */
	{
		struct scope_rctl *r = &s.scopes[2].rctl;
		char *t;
		int rc;

		r->has_limit = 1u << RCTL_NSEM | 1u << RCTL_NSHM;
		r->has_used = 1u << RCTL_NSEM | 1u << RCTL_SHMSIZE;
		r->limit[RCTL_NSEM] = 20;
		r->used[RCTL_NSEM] = 17;
		r->limit[RCTL_NSHM] = 10;
		r->used[RCTL_SHMSIZE] = 4096;
		doc_make(&d, &s, NULL, HOST);
		j = to_json(&d.obj, 0);
		assert_contains(j,
		                "\"objects\":1,\"rctl\":{\"nsem\":{\"used\":17,\"limit\":20,"
		                "\"pct\":85.0},\"nshm\":{\"used\":null,\"limit\":10,\"pct\":null},"
		                "\"shmsize\":{\"used\":4096,\"limit\":null,\"pct\":null}}}");
		t = to_text(&d.obj, HOST, &rc);
		assert_int_equal(rc, 0);
		assert_contains(t, "SHARES OF THE HOST'S POOLS\n"
		                   "  jail www holds 17 of 340 semmns, 5.0%\n"
		                   "  jail www holds 1 of 50 semmni, 2.0%\n"
		                   "  jail www holds 17 of 20 nsem (rctl), 85.0%\n"
		                   "  jail www holds ? of 10 nshm (rctl)\n");
		free(t);
		free(j);
		doc_free(&d);
	}
	snapshot_free(&s);
}

static void
test_status(void **state)
{
	struct usage u;

	(void)state;
	memset(&u, 0, sizeof(u));
	assert_string_equal(view_status(&u, 80, 90), "ok");
	u.n = 3;
	u.v[0] = (struct usage_item){
	    .name = "semmns", .used = 271, .limit = 340, .has_limit = 1}; /* 79.7% */
	u.v[1] = (struct usage_item){
	    .name = "shmall", .used = 5, .limit = 0, .has_limit = 0}; /* no limit: ignored */
	u.v[2] = (struct usage_item){.name = "msgmni", .used = 9, .limit = 32000, .has_limit = 1};
	assert_string_equal(view_status(&u, 80, 90), "ok");
	/* a limit of 0: nothing more can be made, crit (not 0 %) */
	u.v[2].limit = 0;
	assert_string_equal(view_status(&u, 80, 90), "crit");
	u.v[2].limit = 32000;
	u.v[0].used = 272; /* 80.0% */
	assert_string_equal(view_status(&u, 80, 90), "warn");
	u.v[0].used = 305; /* 89.7% */
	assert_string_equal(view_status(&u, 80, 90), "warn");
	u.v[0].used = 306; /* 90.0% */
	assert_string_equal(view_status(&u, 80, 90), "crit");
	u.v[0].used = 400; /* over the limit */
	assert_string_equal(view_status(&u, 80, 90), "crit");
	/* the worst item wins whatever its position */
	u.v[0].used = 10;
	u.v[1] = (struct usage_item){
	    .name = "semmni", .used = 45, .limit = 50, .has_limit = 1}; /* 90% */
	assert_string_equal(view_status(&u, 80, 90), "crit");
	u.v[1].used = 41; /* 82% */
	assert_string_equal(view_status(&u, 80, 90), "warn");
	assert_string_equal(view_status(&u, 70, 82), "crit");
	assert_string_equal(view_status(&u, 83, 95), "ok");
}

static void
test_host_text(void **state)
{
	struct snapshot s;
	struct view_extra x = {.host = "sorthat", .status = "ok", .last_seen = T_SEEN};
	struct doc d;
	char *t;
	int rc;

	(void)state;
	build(&s);
	doc_make(&d, &s, &x, HOST);
	t = to_text(&d.obj, HOST, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(
	    t, "sorthat  FreeBSD 11.2-RELEASE  status ok  last seen 2026-11-26T14:00:00Z\n"
	       "\n"
	       "no findings\n"
	       "\n"
	       "LIMIT   USED                 LIMIT   USE%                  FREE\n"
	       "semmns    85                   340  25.0%                   255\n"
	       "semmni     5                    50  10.0%                    45\n"
	       "shmall   514  18446744073692774399   0.0%  18446744073692773885\n"
	       "shmmni     2                  4096   0.0%                  4094\n"
	       "msgmni     0                 32000   0.0%                 32000\n"
	       "semmsl     -                   340      -                     -\n"
	       "semopm     -                   100      -                     -\n"
	       "\n"
	       "HEADROOM (how many more fit now, and which limit binds first)\n"
	       "  uid 70: 5 sets of 17; room for 15 more sets, 3 more instances; semmns binds "
	       "first\n"
	       "  uid 70: 2 segments of 1048577 bytes; room for 4094 more segments, 3 more "
	       "instances; shmmni binds first (for instances semmns)\n"
	       "\n"
	       "T       ID      KEY  MODE  OWNER  SCOPE  SIZE/NSEMS/QBYTES  NATTCH  CPID  LPID  "
	       "CTIME\n"
	       "sem  65536  5432001  0600  70     host                  17       -     -     -  "
	       "2026-11-25T09:46:40Z\n"
	       "sem  65537  5432002  0600  70     host                  17       -     -     -  "
	       "2026-11-25T09:46:40Z\n"
	       "sem  65538  5432003  0600  70     host                  17       -     -     -  "
	       "2026-11-25T09:46:40Z\n"
	       "sem  65539  5432004  0600  70     host                  17       -     -     -  "
	       "2026-11-25T09:46:40Z\n"
	       "sem  65540  5432005  0600  70     host                  17       -     -     -  "
	       "2026-11-25T09:46:40Z\n"
	       "shm     10  5432001  0600  70     host             1048577       3  1234  1240  "
	       "2026-11-25T09:46:40Z\n"
	       "shm     11        0  1600  70     host             1048577       0  1234  1240  "
	       "2026-11-25T09:46:40Z\n");
	free(t);
	doc_free(&d);

	/* no objects, no extra: "taken" stands in for "last seen" */
	s.nobjects = 0;
	doc_make(&d, &s, NULL, HOST);
	t = to_text(&d.obj, HOST, &rc);
	assert_int_equal(rc, 0);
	assert_contains(
	    t, "FreeBSD 11.2-RELEASE  taken 2026-11-26T13:59:00Z\n\nno findings\n\nLIMIT ");
	assert_contains(t, "semmns     0                   340  0.0%                   340\n");
	assert_contains(t, "\n\nno IPC objects\n");
	assert_null(strstr(t, "no IPC objects\n\n")); /* it is the end */
	free(t);
	doc_free(&d);
	snapshot_free(&s);
}

static void
test_alarms_text(void **state)
{
	struct snapshot s;
	struct view_extra x = {.host = "sorthat", .status = "crit", .last_seen = T_SEEN};
	struct doc d;
	char *t;
	int rc;

	(void)state;
	build_scopes(&s);
	assert_int_equal(limits_set(&s.limits, "semmns", 120), 0); /* 102 used: 85% */
	assert_int_equal(limits_set(&s.limits, "semmni", 6), 0);   /* 6 used: 100% */
	doc_make(&d, &s, &x, HOST);
	t = to_text(&d.obj, HOST, &rc);
	assert_int_equal(rc, 0);
	assert_contains(t, "sorthat  FreeBSD 11.2-RELEASE  status crit  last seen "
	                   "2026-11-26T14:00:00Z\n"
	                   "  ! semmns at 85.0%: 102 of 120 used, 18 free\n"
	                   "  !! semmni at 100.0%: 6 of 6 used, 0 free\n"
	                   "  !! semmni at 100.0% in ipcns:4026532200: 2 of 2 used, 0 free\n"
	                   "\nno findings\n\nLIMIT ");
	/* the scopes table, since there is more than the host */
	assert_contains(t,
	                "\n\n"
	                "ID                KIND   NAME  ISOLATION                        OBJECTS  "
	                "SEMMNS  SHMALL\n"
	                "host              host   host  -                                      7  "
	                "    85     514\n"
	                "ipcns:4026532200  ipcns  ct1   shm=new sem=new msg=new                2  "
	                "    34       0\n"
	                "jail:www          jail   www   shm=new sem=inherit msg=disable        1  "
	                "    17       0\n"
	                "\n");
	assert_contains(t, "sem    102      902  0600  0      jail:www                         17  "
	                   "     -     -     -  -\n");
	/* the namespace's usage against its own limits */
	assert_contains(t, "\n\nLIMITS IN ipcns:4026532200 (ct1)\n"
	                   "LIMIT   USED  LIMIT    USE%  FREE\n"
	                   "semmns    34    340   10.0%   306\n"
	                   "semmni     2      2  100.0%     0\n"
	                   "shmall     0      -       -     -\n"
	                   "shmmni     0      -       -     -\n"
	                   "msgmni     0      -       -     -\n"
	                   "\nHEADROOM");
	/* semmni is exhausted in both pools: nothing more fits, and it binds */
	assert_contains(t,
	                "\nHEADROOM (how many more fit now, and which limit binds first)\n"
	                "  uid 70: 5 sets of 17; room for 0 more sets, 0 more instances; semmni "
	                "binds first\n"
	                "  uid 0 in ipcns:4026532200: 2 sets of 17; room for 0 more sets, 0 more "
	                "instances; semmni binds first\n"
	                "  uid 0 in jail:www: 1 set of 17; room for 0 more sets, 0 more "
	                "instances; semmni binds first\n"
	                "  uid 70: 2 segments of 1048577 bytes; room for 4094 more segments, 0 "
	                "more instances; shmmni binds first (for instances semmni)\n"
	                "\nT ");
	free(t);
	doc_free(&d);
	snapshot_free(&s);
}

/* Rows that share a "?" reason say it once, under the rows. */
static void
test_headroom_unknown_once(void **state)
{
	struct snapshot s;
	struct view_extra x = {.host = "sorthat", .status = "ok", .last_seen = T_SEEN};
	struct doc d;
	char *t;
	int rc;

	(void)state;
	build(&s);
	snapshot_unknown_type(&s, 0, IPC_MSG, "no \"Message Queues:\" section in ipcs.txt");
	doc_make(&d, &s, &x, HOST);
	t = to_text(&d.obj, HOST, &rc);
	assert_int_equal(rc, 0);
	assert_contains(
	    t, "\nHEADROOM (how many more fit now, and which limit binds first)\n"
	       "  uid 70: 5 sets of 17; room for 15 more sets, ? more instances; semmns "
	       "binds first\n"
	       "  uid 70: 2 segments of 1048577 bytes; room for 4094 more segments, ? more "
	       "instances; shmmni binds first\n"
	       "  ? msgmni unknown: no \"Message Queues:\" section in ipcs.txt\n"
	       "\nT ");
	free(t);
	doc_free(&d);
	snapshot_free(&s);
}

static void
test_hosts_text(void **state)
{
	struct snapshot s, l;
	struct view_extra x = {.host = "sorthat", .status = "ok", .last_seen = T_SEEN};
	struct view_extra y = {.host = "linux1", .status = "stale", .last_seen = 0};
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone zone;
	msgpack_object obj;
	char *t;
	int rc;

	(void)state;
	build(&s);
	build(&l);
	ifl_strlcpy(l.os, "Linux", sizeof(l.os));
	assert_int_equal(limits_set(&l.limits, "msgtql", 40), 0);
	assert_int_equal(limits_set(&l.limits, "semmns", 85), 0);

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	view_pack_host_row(&pk, &s, &x);
	view_pack_host_row(&pk, &l, &y);
	msgpack_pack_int(&pk, 3); /* not a row: shown as dashes */
	msgpack_zone_init(&zone, 4096);
	assert_int_equal(msgpack_unpack(sb.data, sb.size, NULL, &zone, &obj),
	                 MSGPACK_UNPACK_SUCCESS);
	t = to_text(&obj, ROW, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(t, "HOST     OS       STATUS  SEMMNS  SEMMNI  SHMALL  SHMMNI  MSGMNI  "
	                       "MSGTQL  LAST SEEN\n"
	                       "sorthat  FreeBSD  ok       25.0%   10.0%    0.0%    0.0%    0.0%  "
	                       "     -  2026-11-26T14:00:00Z\n"
	                       "linux1   Linux    stale   100.0%   10.0%    0.0%    0.0%    0.0%  "
	                       "  0.0%  -\n"
	                       "-        -        -            -       -       -       -       -  "
	                       "     -  -\n");
	free(t);
	msgpack_zone_destroy(&zone);
	msgpack_sbuffer_destroy(&sb);

	/* an empty fleet, and a root that is not an array */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 0);
	msgpack_zone_init(&zone, 4096);
	assert_int_equal(msgpack_unpack(sb.data, sb.size, NULL, &zone, &obj),
	                 MSGPACK_UNPACK_SUCCESS);
	t = to_text(&obj, ROW, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(t, "no hosts\n");
	free(t);
	t = to_text(&obj, HOST, &rc); /* an array is not a host document */
	assert_int_equal(rc, -1);
	assert_string_equal(t, "");
	free(t);
	msgpack_zone_destroy(&zone);
	msgpack_sbuffer_destroy(&sb);

	/* a host document is not a hosts array */
	{
		struct doc d;

		doc_make(&d, &s, &x, HOST);
		t = to_text(&d.obj, ROW, &rc);
		assert_int_equal(rc, -1);
		free(t);
		doc_free(&d);
	}
	snapshot_free(&s);
	snapshot_free(&l);
}

/* Names from a remote host reach the terminal only cleaned. */
static void
test_control_chars(void **state)
{
	struct snapshot s;
	struct view_extra x = {
	    .host = "sort\nhat\x1b]0;pwned\x07", .status = "ok", .last_seen = T_SEEN};
	struct doc d;
	char *t;
	int rc;
	struct ipc_scope *sc;
	static const char evil[] = "evil\x1b[2J\x7f\xc2\x9b\xff\xe2\x80\xaeok";
	/* U+FEFF and U+200B, which the host view once passed and report did not */
	static const char zw[] = "\xef\xbb\xbfz\xe2\x80\x8bw";

	(void)state;
	build(&s);
	/* the model's door cleans a name by the one rule ... */
	assert_non_null(sc = snapshot_add_scope(&s, "jail:evil", evil, SCOPE_JAIL));
	assert_string_equal(sc->name, "evil?[2J????ok");
	/* ... and the renderers do not rely on it: write past the door */
	memcpy(sc->name, evil, sizeof(evil));
	assert_non_null(sc = snapshot_add_scope(&s, "jail:zw", zw, SCOPE_JAIL));
	assert_string_equal(sc->name, "?z?w");
	memcpy(sc->name, zw, sizeof(zw));
	doc_make(&d, &s, &x, HOST);
	t = to_text(&d.obj, HOST, &rc);
	assert_int_equal(rc, 0);
	assert_contains(t, "sort?hat?]0;pwned?  FreeBSD");
	assert_contains(t,
	                "\njail:evil  jail  evil?[2J????ok  -                0       0       0\n");
	assert_null(strchr(t, '\x1b'));
	assert_null(strchr(t, '\x7f'));
	assert_null(strchr(t, '\x07'));
	assert_null(strstr(t, "\xc2\x9b"));
	assert_null(strstr(t, "\xe2\x80\xae"));
	assert_null(strstr(t, "\xef\xbb\xbf"));
	assert_null(strstr(t, "\xe2\x80\x8b"));
	assert_contains(t, "\njail:zw    jail  ?z?w");
	free(t);
	t = to_json(&d.obj, 0);
	/* JSON keeps the text, escaped by the one rule (common/text.h) */
	assert_contains(t, "\"name\":\"evil\\u001b[2J\\u007f\\u009b\\ufffd\\u202eok\"");
	assert_contains(t, "\"host\":\"sort\\nhat\\u001b]0;pwned\\u0007\"");
	free(t);
	doc_free(&d);

	doc_make(&d, &s, &x, ROW);
	t = to_text(&d.obj, ROW, &rc);
	assert_int_equal(rc, 0);
	assert_contains(t, "\nsort?hat?]0;pwned?  FreeBSD  ok ");
	free(t);
	doc_free(&d);
	snapshot_free(&s);
}

static void
pack_cstr(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

/* A document with fields of the wrong type, and odd findings. */
static void
test_misshapen(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone zone;
	msgpack_object obj;
	char *t;
	int rc;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 8);
	pack_cstr(&pk, "os");
	msgpack_pack_int(&pk, 7);
	pack_cstr(&pk, "usage");
	msgpack_pack_map(&pk, 3);
	pack_cstr(&pk, "semmns");
	pack_cstr(&pk, "lots");   /* not a map */
	msgpack_pack_int(&pk, 5); /* not a string key */
	msgpack_pack_map(&pk, 0);
	pack_cstr(&pk, "shmall");
	msgpack_pack_map(&pk, 3);
	pack_cstr(&pk, "used");
	msgpack_pack_double(&pk, 1.5);
	pack_cstr(&pk, "limit");
	pack_cstr(&pk, "x");
	pack_cstr(&pk, "pct");
	msgpack_pack_int(&pk, 95); /* an integer pct still counts */
	pack_cstr(&pk, "limits");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_int(&pk, 1);
	pack_cstr(&pk, "scopes");
	msgpack_pack_map(&pk, 0);
	pack_cstr(&pk, "objects");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_nil(&pk);
	msgpack_pack_map(&pk, 2);
	pack_cstr(&pk, "type");
	pack_cstr(&pk, "shm");
	pack_cstr(&pk, "size");
	msgpack_pack_int64(&pk, -5);
	pack_cstr(&pk, "findings");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_map(&pk, 3);
	pack_cstr(&pk, "severity");
	pack_cstr(&pk, "warn");
	pack_cstr(&pk, "kind");
	pack_cstr(&pk, "threshold");
	pack_cstr(&pk, "message");
	pack_cstr(&pk, "semmns is at 82.4% of 340");
	msgpack_pack_true(&pk);
	pack_cstr(&pk, "status");
	msgpack_pack_array(&pk, 0);
	pack_cstr(&pk, "last_seen");
	msgpack_pack_nil(&pk);
	msgpack_zone_init(&zone, 4096);
	assert_int_equal(msgpack_unpack(sb.data, sb.size, NULL, &zone, &obj),
	                 MSGPACK_UNPACK_SUCCESS);
	t = to_text(&obj, HOST, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(
	    t, "-  status -  last seen -\n"
	       "  !! shmall at 95.0%: 1.5 of x used, - free\n"
	       "\n"
	       "FINDINGS\n"
	       "warn  threshold  semmns is at 82.4% of 340\n"
	       "-     -          -\n"
	       "\n"
	       "LIMIT   USED  LIMIT   USE%  FREE\n"
	       "semmns     -      -      -     -\n"
	       "-          -      -      -     -\n"
	       "shmall   1.5      x  95.0%     -\n"
	       "\n"
	       "T    ID  KEY  MODE  OWNER  SCOPE  SIZE/NSEMS/QBYTES  NATTCH  CPID  LPID  CTIME\n"
	       "-     -    -  -     -      -                      -       -     -     -  -\n"
	       "shm   -    -  -     -      -                     -5       -     -     -  -\n");
	free(t);
	msgpack_zone_destroy(&zone);
	msgpack_sbuffer_destroy(&sb);
}

/* Findings of every shape, in an order that is not the severity order. */
static void
add_findings(struct snapshot *s)
{
	struct finding *f;

	assert_non_null(f = snapshot_add_finding(s));
	f->kind = FK_ORPHAN;
	f->severity = SEV_INFO;
	ifl_strlcpy(f->scope, "host", sizeof(f->scope));
	ifl_strlcpy(f->message,
	            "shared memory segment 11 (1048577 bytes, uid 70 pgsql) looks abandoned",
	            sizeof(f->message));
	f->has_object = 1;
	f->otype = IPC_SHM;
	f->oid = 11;
	f->age = 7200;
	f->uid = 70;
	ifl_strlcpy(f->command, "ipcrm -m 11", sizeof(f->command));

	assert_non_null(f = snapshot_add_finding(s));
	f->kind = FK_ISOLATION;
	f->severity = SEV_WARN;
	ifl_strlcpy(f->message, "jail www shares the host's SysV namespace", sizeof(f->message));

	assert_non_null(f = snapshot_add_finding(s));
	f->kind = FK_ORPHAN;
	f->severity = SEV_WARN;
	ifl_strlcpy(f->scope, "host", sizeof(f->scope));
	ifl_strlcpy(f->limit, "semmns", sizeof(f->limit));
	ifl_strlcpy(f->message, "semaphore set 65538 (17 semaphores, uid 70 pgsql) looks abandoned",
	            sizeof(f->message));
	f->has_object = 1;
	f->otype = IPC_SEM;
	f->oid = 65538;
	f->age = 10800;
	f->uid = 70;
	ifl_strlcpy(f->command, "ipcrm -s 65538", sizeof(f->command));

	assert_non_null(f = snapshot_add_finding(s));
	f->kind = FK_THRESHOLD; /* the aggregator's kinds go through the same code */
	f->severity = SEV_CRIT;
	ifl_strlcpy(f->limit, "semmns", sizeof(f->limit));
	ifl_strlcpy(f->message, "semmns at 92.0%", sizeof(f->message));
}

static void
test_findings_json(void **state)
{
	struct snapshot s;
	struct doc d;
	char *j;

	(void)state;
	build(&s);
	add_findings(&s);
	ifl_strlcpy(s.objects[0].owner, "pgsql", sizeof(s.objects[0].owner));
	doc_make(&d, &s, NULL, HOST);
	j = to_json(&d.obj, 0);
	assert_contains(
	    j, "\"findings\":["
	       "{\"kind\":\"orphan\",\"severity\":\"info\",\"scope\":\"host\","
	       "\"message\":\"shared memory segment 11 (1048577 bytes, uid 70 pgsql) looks "
	       "abandoned\",\"type\":\"shm\",\"id\":11,\"age\":7200,\"uid\":70,"
	       "\"command\":\"ipcrm -m 11\"},"
	       "{\"kind\":\"isolation\",\"severity\":\"warn\","
	       "\"message\":\"jail www shares the host's SysV namespace\"},"
	       "{\"kind\":\"orphan\",\"severity\":\"warn\",\"limit\":\"semmns\",\"scope\":\"host\","
	       "\"message\":\"semaphore set 65538 (17 semaphores, uid 70 pgsql) looks abandoned\","
	       "\"type\":\"sem\",\"id\":65538,\"age\":10800,\"uid\":70,"
	       "\"command\":\"ipcrm -s 65538\"},"
	       "{\"kind\":\"threshold\",\"severity\":\"crit\",\"limit\":\"semmns\","
	       "\"message\":\"semmns at 92.0%\"}]}");
	/* owner only where known */
	assert_contains(j, "\"nsems\":17,\"otime\":\"2026-11-26T13:50:00Z\","
	                   "\"ctime\":\"2026-11-25T09:46:40Z\",\"owner\":\"pgsql\"}");
	assert_contains(j, "\"nsems\":17,\"otime\":null,\"ctime\":\"2026-11-25T09:46:40Z\"}");
	free(j);
	doc_free(&d);
	snapshot_free(&s);
}

static void
test_findings_text(void **state)
{
	struct snapshot s;
	struct view_extra x = {.host = "sorthat", .status = "crit", .last_seen = T_SEEN};
	struct doc d;
	char *t;
	int rc;

	(void)state;
	build(&s);
	add_findings(&s);
	ifl_strlcpy(s.objects[2].owner, "pgsql", sizeof(s.objects[2].owner));
	doc_make(&d, &s, &x, HOST);
	t = to_text(&d.obj, HOST, &rc);
	assert_int_equal(rc, 0);
	/* right under the summary, most severe first, commands indented below */
	assert_contains(t,
	                "sorthat  FreeBSD 11.2-RELEASE  status crit  last seen "
	                "2026-11-26T14:00:00Z\n"
	                "\n"
	                "FINDINGS\n"
	                "crit  threshold  semmns at 92.0%\n"
	                "warn  isolation  jail www shares the host's SysV namespace\n"
	                "warn  orphan     semaphore set 65538 (17 semaphores, uid 70 pgsql) looks "
	                "abandoned\n"
	                "    ipcrm -s 65538\n"
	                "info  orphan     shared memory segment 11 (1048577 bytes, uid 70 pgsql) "
	                "looks abandoned\n"
	                "    ipcrm -m 11\n"
	                "\n"
	                "LIMIT ");
	/* OWNER: the name where known, else the uid */
	assert_contains(t, "T       ID      KEY  MODE  OWNER  SCOPE  SIZE/NSEMS/QBYTES");
	assert_contains(t, "\nsem  65537  5432002  0600  70     host ");
	assert_contains(t, "\nsem  65538  5432003  0600  pgsql  host ");
	assert_null(strstr(t, "no findings"));
	free(t);
	doc_free(&d);

	/* a remote document's findings reach the terminal cleaned */
	ifl_strlcpy(s.findings[0].message, "seg\x1b[2J gone", sizeof(s.findings[0].message));
	ifl_strlcpy(s.findings[0].command, "ipcrm -m 11\x1b]0;x\x07",
	            sizeof(s.findings[0].command));
	ifl_strlcpy(s.objects[2].owner, "pg\x1bsql", sizeof(s.objects[2].owner));
	doc_make(&d, &s, &x, HOST);
	t = to_text(&d.obj, HOST, &rc);
	assert_int_equal(rc, 0);
	assert_contains(t, "info  orphan     seg?[2J gone\n    ipcrm -m 11?]0;x?\n");
	assert_contains(t, "\nsem  65538  5432003  0600  pg?sql  host ");
	assert_null(strchr(t, '\x1b'));
	assert_null(strchr(t, '\x07'));
	free(t);
	doc_free(&d);
	snapshot_free(&s);
}

/* What the aggregator adds: its findings instead of the snapshot's, recommendations. */
static void
test_aggregator_extra(void **state)
{
	struct snapshot s;
	struct finding f[2];
	struct recommendation r;
	struct view_extra x = {.host = "sorthat", .status = "crit", .last_seen = T_SEEN};
	struct doc d;
	char *j;

	(void)state;
	build(&s);
	add_findings(&s); /* the agent's: replaced by the aggregator's below */
	s.dropped = 3;
	memset(f, 0, sizeof(f));
	f[0].kind = FK_RESTART_HEADROOM;
	f[0].severity = SEV_CRIT;
	ifl_strlcpy(f[0].limit, "semmns", sizeof(f[0].limit));
	ifl_strlcpy(f[0].scope, "host", sizeof(f[0].scope));
	ifl_strlcpy(f[0].message, "pgsql holds 85", sizeof(f[0].message));
	f[0].opened = T_CTIME;
	f[0].updated = T_SEEN;
	f[0].has_headroom = 1;
	f[0].uid = 70;
	ifl_strlcpy(f[0].owner, "pgsql", sizeof(f[0].owner));
	f[0].held = 85;
	f[0].free = 20;
	f[0].safe_limit = 425;
	f[1].kind = FK_FORECAST;
	f[1].severity = SEV_WARN;
	ifl_strlcpy(f[1].message, "full soon", sizeof(f[1].message));
	f[1].exhaust_at = T_SEEN;
	memset(&r, 0, sizeof(r));
	ifl_strlcpy(r.limit, "semmns", sizeof(r.limit));
	r.current = 340;
	r.peak = 300;
	r.largest = 85;
	r.recommended = 512;
	r.needs_change = 1;
	r.reboot = 1;
	ifl_strlcpy(r.file, "/boot/loader.conf", sizeof(r.file));
	ifl_strlcpy(r.line, "kern.ipc.semmns=512", sizeof(r.line));
	x.findings = f;
	x.nfindings = 2;
	x.recs = &r;
	x.nrecs = 1;

	doc_make(&d, &s, &x, HOST); /* asserts the document unpacks with nothing left over */
	j = to_json(&d.obj, 0);
	assert_contains(j, "\"taken\":\"2026-11-26T13:59:00Z\",\"dropped\":3,\"usage\":{");
	assert_contains(j,
	                "\"findings\":[{\"host\":\"sorthat\",\"kind\":\"restart_headroom\","
	                "\"severity\":\"crit\",\"limit\":\"semmns\",\"scope\":\"host\","
	                "\"message\":\"pgsql holds 85\",\"opened\":\"2026-11-25T09:46:40Z\","
	                "\"updated\":\"2026-11-26T14:00:00Z\",\"uid\":70,\"owner\":\"pgsql\","
	                "\"held\":85,\"free\":20,\"safe_limit\":425},"
	                "{\"host\":\"sorthat\",\"kind\":\"forecast\",\"severity\":\"warn\","
	                "\"message\":\"full soon\",\"exhaust_at\":\"2026-11-26T14:00:00Z\"}],"
	                "\"recommendations\":[{\"limit\":\"semmns\",\"current\":340,\"peak\":300,"
	                "\"largest_consumer\":85,\"recommended\":512,\"needs_change\":true,"
	                "\"reboot\":true,\"file\":\"/boot/loader.conf\","
	                "\"line\":\"kern.ipc.semmns=512\"}]}");
	free(j);
	doc_free(&d);

	/* a report row: the same findings and recommendations after the usage */
	x.row_details = 1;
	x.recs = NULL;
	x.nrecs = 0;
	x.nfindings = 1;
	doc_make(&d, &s, &x, ROW);
	j = to_json(&d.obj, 0);
	assert_contains(j, "\"msgmni\":{\"used\":0,\"limit\":32000,\"pct\":0.0}},\"findings\":[{"
	                   "\"host\":\"sorthat\",\"kind\":\"restart_headroom\",");
	assert_contains(j, "\"safe_limit\":425}],\"recommendations\":[]}]");
	free(j);
	doc_free(&d);

	/* no aggregator findings given: the snapshot's own, with the host */
	x.findings = NULL;
	x.nfindings = 0;
	doc_make(&d, &s, &x, ROW);
	j = to_json(&d.obj, 0);
	assert_contains(j, "\"findings\":[{\"host\":\"sorthat\",\"kind\":\"orphan\",\"severity\":"
	                   "\"info\",\"scope\":\"host\",");
	free(j);
	doc_free(&d);
	snapshot_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_json),
	    cmocka_unit_test(test_host_json_local),
	    cmocka_unit_test(test_row_json),
	    cmocka_unit_test(test_scopes_json),
	    cmocka_unit_test(test_status),
	    cmocka_unit_test(test_host_text),
	    cmocka_unit_test(test_alarms_text),
	    cmocka_unit_test(test_hosts_text),
	    cmocka_unit_test(test_headroom_unknown_once),
	    cmocka_unit_test(test_control_chars),
	    cmocka_unit_test(test_misshapen),
	    cmocka_unit_test(test_findings_json),
	    cmocka_unit_test(test_findings_text),
	    cmocka_unit_test(test_aggregator_extra),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
