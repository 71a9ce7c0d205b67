/*
 * test_pgplan.c: PostgreSQL semaphore arithmetic (aggregator/cli/pgplan.c):
 * the per-version constants, version and input checking, and whether an
 * instance fits on a host (from a canned host document).
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
#include "pgplan.h"

/* Computes a plan for version v; asserts that it succeeds. */
static void
plan(const char *v, uint64_t mc, uint64_t av, uint64_t mwp, uint64_t mws, struct pgplan *p)
{
	struct pgplan_in in;
	const char *why = NULL;

	memset(&in, 0, sizeof(in));
	assert_int_equal(pgplan_parse_version(v, &in.branch, &in.minor, &why), 0);
	in.max_connections = mc;
	in.autovacuum_max_workers = av;
	in.max_worker_processes = mwp;
	in.max_wal_senders = mws;
	assert_int_equal(pgplan_compute(&in, p, &why), 0);
}

/* The seed's instance: ceil(216 / 16) = 14 sets, 14 x 17 = 238 (not 230). */
static void
test_96(void **state)
{
	struct pgplan p;

	(void)state;
	plan("9.6", 200, 3, 8, 10, &p);
	assert_int_equal(p.sets, 14);
	assert_int_equal(p.semaphores, 238);
	assert_int_equal(p.slots, 216);
	assert_int_equal(p.constant, 5);
	assert_int_equal(p.wal_senders, 0);
	assert_int_equal(p.posix_default, 0);
	assert_string_equal(p.formula, "ceil((max_connections + autovacuum_max_workers + "
	                               "max_worker_processes + 5) / 16) * 17");
	assert_string_equal(p.arith, "ceil((200 + 3 + 8 + 5) / 16) = ceil(216 / 16) = 14 sets; "
	                             "14 x 17 = 238 semaphores");
	/* a patch level changes nothing before 17 */
	plan("9.6.24", 200, 3, 8, 10, &p);
	assert_int_equal(p.sets, 14);
	assert_int_equal(p.semaphores, 238);
	/* exactly 16 slots fill one set: no rounding up */
	plan("9.6", 8, 1, 2, 0, &p);
	assert_int_equal(p.slots, 16);
	assert_int_equal(p.sets, 1);
	assert_int_equal(p.semaphores, 17);
}

/* 12 and later count max_wal_senders; 10 and 11 do not. */
static void
test_wal_senders(void **state)
{
	struct pgplan p;

	(void)state;
	plan("11", 200, 3, 8, 10, &p);
	assert_int_equal(p.sets, 14);
	assert_int_equal(p.semaphores, 238);
	assert_int_equal(p.wal_senders, 0);
	assert_int_equal(p.posix_default, 1);
	assert_string_equal(p.note, "before 12, WAL senders take ordinary connection slots: "
	                            "max_wal_senders is part of max_connections");

	plan("12", 200, 3, 8, 10, &p);
	assert_int_equal(p.slots, 226);
	assert_int_equal(p.sets, 15);
	assert_int_equal(p.semaphores, 255);
	assert_int_equal(p.wal_senders, 1);
	assert_string_equal(p.formula, "ceil((max_connections + autovacuum_max_workers + "
	                               "max_wal_senders + max_worker_processes + 5) / 16) * 17");
	assert_string_equal(p.arith, "ceil((200 + 3 + 10 + 8 + 5) / 16) = ceil(226 / 16) = 15 "
	                             "sets; 15 x 17 = 255 semaphores");
	assert_string_equal(p.note, "");

	/* max_wal_senders = 0 gives the 11 numbers again */
	plan("12", 200, 3, 8, 0, &p);
	assert_int_equal(p.sets, 14);
}

/* The constant per branch: 5 up to 13, 6 for 14-16, 7 for 17, 8 for 17.3+. */
static void
test_constants(void **state)
{
	struct pgplan p;

	(void)state;
	/* 102 + 3 + 10 + 8 = 123: + 5 = 128 (8 sets), + 6 = 129 (9 sets) */
	plan("13", 102, 3, 8, 10, &p);
	assert_int_equal(p.constant, 5);
	assert_int_equal(p.sets, 8);
	assert_int_equal(p.semaphores, 136);
	plan("14", 102, 3, 8, 10, &p);
	assert_int_equal(p.constant, 6);
	assert_int_equal(p.sets, 9);
	assert_int_equal(p.semaphores, 153);

	/* 101 + 3 + 10 + 8 = 122: + 6 = 128, + 7 = 129 */
	plan("16", 101, 3, 8, 10, &p);
	assert_int_equal(p.constant, 6);
	assert_int_equal(p.sets, 8);
	plan("17", 101, 3, 8, 10, &p);
	assert_int_equal(p.constant, 7);
	assert_int_equal(p.sets, 9);
	assert_int_equal(p.semaphores, 153);

	/* 100 + 3 + 10 + 8 = 121: 17 as documented (+ 7) is 128, 17.3+ is 129 */
	plan("17", 100, 3, 8, 10, &p);
	assert_int_equal(p.slots, 128);
	assert_int_equal(p.sets, 8);
	assert_int_equal(p.semaphores, 136);
	assert_string_equal(p.formula, "ceil((max_connections + autovacuum_max_workers + "
	                               "max_wal_senders + max_worker_processes + 7) / 16) * 17");
	assert_non_null(strstr(p.note, "17.3 and later"));
	plan("17.2", 100, 3, 8, 10, &p);
	assert_int_equal(p.constant, 7);
	assert_string_equal(p.note, "");
	plan("17.4", 100, 3, 8, 10, &p);
	assert_int_equal(p.constant, 8);
	assert_int_equal(p.slots, 129);
	assert_int_equal(p.sets, 9);
	assert_int_equal(p.semaphores, 153);
	assert_string_equal(p.note, "");
}

/* 18 and later: only from num_os_semaphores. */
static void
test_18(void **state)
{
	struct pgplan_in in;
	struct pgplan p;
	const char *why = NULL;

	(void)state;
	memset(&in, 0, sizeof(in));
	assert_int_equal(pgplan_parse_version("18", &in.branch, &in.minor, &why), 0);
	assert_int_equal(in.branch, 1800);
	in.max_connections = 100;
	in.autovacuum_max_workers = 3;
	assert_int_equal(pgplan_compute(&in, &p, &why), -1);
	assert_non_null(strstr(why, "--num-os-semaphores"));
	in.num_os_semaphores = 140;
	assert_int_equal(pgplan_compute(&in, &p, &why), 0);
	assert_int_equal(p.sets, 9);
	assert_int_equal(p.semaphores, 153);
	assert_string_equal(p.formula, "ceil(num_os_semaphores / 16) * 17");
	assert_string_equal(p.arith, "ceil(140 / 16) = 9 sets; 9 x 17 = 153 semaphores");
}

static void
test_versions(void **state)
{
	static const struct {
		const char *s;
		int branch, minor;
	} good[] = {
	    {"9.4", 904, -1},    {"9.5.3", 905, 3}, {"9.6", 906, -1},
	    {"9.6.24", 906, 24}, {"10", 1000, -1},  {"10.23", 1000, 23},
	    {"12", 1200, -1},    {"17.4", 1700, 4}, {"18", 1800, -1},
	};
	static const char *const bad[] = {
	    "",      "9",   "9.",     ".6",      "9..6",
	    "9.3",   "9.7", "8.4",    "7",       "abc",
	    "9.6.x", "-1",  "10.1.2", "100",     "1000",
	    "17.",   "17a", " 17",    "9.6.1.2", "12345678901234567",
	};
	const char *why;
	int b, m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		b = m = 0;
		assert_int_equal(pgplan_parse_version(good[i].s, &b, &m, &why), 0);
		assert_int_equal(b, good[i].branch);
		assert_int_equal(m, good[i].minor);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (pgplan_parse_version(bad[i], &b, &m, &why) != -1)
			fail_msg("version '%s' accepted", bad[i]);
		assert_non_null(why);
	}
}

static void
test_inputs(void **state)
{
	struct pgplan_in in;
	struct pgplan p;
	const char *why;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.branch = 1200;
	in.minor = -1;
	in.autovacuum_max_workers = 3;
	in.max_connections = 0;
	assert_int_equal(pgplan_compute(&in, &p, &why), -1);
	in.max_connections = PGPLAN_MAX_BACKENDS + 1;
	assert_int_equal(pgplan_compute(&in, &p, &why), -1);
	in.max_connections = 100;
	in.autovacuum_max_workers = 0;
	assert_int_equal(pgplan_compute(&in, &p, &why), -1);
	in.autovacuum_max_workers = 3;
	in.max_wal_senders = PGPLAN_MAX_BACKENDS + 1;
	assert_int_equal(pgplan_compute(&in, &p, &why), -1);
	/* each term in range, but the backends together too many */
	in.max_wal_senders = 10;
	in.max_connections = PGPLAN_MAX_BACKENDS;
	assert_int_equal(pgplan_compute(&in, &p, &why), -1);
	assert_non_null(strstr(why, "262143"));
	in.max_connections = 100;
	in.branch = 903;
	assert_int_equal(pgplan_compute(&in, &p, &why), -1);
}

/* A host document with just what pgplan_fit reads. */
struct doc {
	msgpack_sbuffer sb;
	msgpack_zone zone;
	msgpack_object obj;
};

static void
pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static void
host_doc(struct doc *d, uint64_t mns_used, uint64_t mns, uint64_t mni_used, uint64_t mni,
         int64_t semmsl, const char *status)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(&d->sb);
	msgpack_packer_init(&pk, &d->sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, semmsl >= 0 ? 4 : 3);
	pk_str(&pk, "host");
	pk_str(&pk, "sorthat");
	pk_str(&pk, "status");
	pk_str(&pk, status);
	pk_str(&pk, "usage");
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "semmns");
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "used");
	msgpack_pack_uint64(&pk, mns_used);
	pk_str(&pk, "limit");
	msgpack_pack_uint64(&pk, mns);
	pk_str(&pk, "semmni");
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "used");
	msgpack_pack_uint64(&pk, mni_used);
	pk_str(&pk, "limit");
	msgpack_pack_uint64(&pk, mni);
	if (semmsl >= 0) {
		pk_str(&pk, "limits");
		msgpack_pack_map(&pk, 1);
		pk_str(&pk, "semmsl");
		msgpack_pack_uint64(&pk, (uint64_t)semmsl);
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

/* sorthat: 266 of 340 semaphores and 16 of 50 sets used. */
static void
test_fit(void **state)
{
	struct pgplan p;
	struct pgplan_fit f;
	struct doc d;
	char err[128];

	(void)state;
	plan("9.6", 200, 3, 8, 10, &p);
	host_doc(&d, 266, 340, 16, 50, 340, "warn");
	assert_int_equal(pgplan_fit(&p, &d.obj, &f, err, sizeof(err)), 0);
	assert_int_equal(f.free_semmns, 74);
	assert_int_equal(f.free_semmni, 34);
	assert_int_equal(f.fits, 0);
	assert_int_equal(f.fits_with_restart, 0);
	assert_int_equal(f.stale, 0);
	doc_free(&d);

	/* enough for one instance (238 <= 300, 14 <= 34), not for a restart (476) */
	host_doc(&d, 40, 340, 16, 50, 340, "ok");
	assert_int_equal(pgplan_fit(&p, &d.obj, &f, err, sizeof(err)), 0);
	assert_int_equal(f.free_semmns, 300);
	assert_int_equal(f.fits, 1);
	assert_int_equal(f.fits_with_restart, 0);
	doc_free(&d);

	/* exactly twice: fits with headroom (>=) */
	host_doc(&d, 0, 476, 0, 28, -1, "stale");
	assert_int_equal(pgplan_fit(&p, &d.obj, &f, err, sizeof(err)), 0);
	assert_int_equal(f.fits, 1);
	assert_int_equal(f.fits_with_restart, 1);
	assert_int_equal(f.has_semmsl, 0);
	assert_int_equal(f.stale, 1);
	doc_free(&d);

	/* sets are short although semaphores are plenty */
	host_doc(&d, 0, 32000, 40, 50, 340, "ok");
	assert_int_equal(pgplan_fit(&p, &d.obj, &f, err, sizeof(err)), 0);
	assert_int_equal(f.fits, 0);
	doc_free(&d);

	/* semmsl below 17: nothing fits */
	host_doc(&d, 0, 32000, 0, 128, 16, "ok");
	assert_int_equal(pgplan_fit(&p, &d.obj, &f, err, sizeof(err)), 0);
	assert_int_equal(f.fits, 0);
	assert_int_equal(f.fits_with_restart, 0);
	doc_free(&d);

	/* used above the limit: free is 0, not a huge number */
	host_doc(&d, 400, 340, 60, 50, 340, "crit");
	assert_int_equal(pgplan_fit(&p, &d.obj, &f, err, sizeof(err)), 0);
	assert_int_equal(f.free_semmns, 0);
	assert_int_equal(f.free_semmni, 0);
	doc_free(&d);
}

static void
test_json(void **state)
{
	struct pgplan p;
	struct pgplan_fit f;
	struct doc d;
	struct buf out;
	char err[128];

	(void)state;
	plan("9.6", 200, 3, 8, 10, &p);
	buf_init(&out, 1 << 20);
	pgplan_json(&p, NULL, NULL, &out);
	assert_non_null(buf_cstr(&out));
	assert_string_equal(
	    out.data,
	    "{\n"
	    "  \"sets\": 14,\n"
	    "  \"semaphores\": 238,\n"
	    "  \"formula\": \"ceil((max_connections + autovacuum_max_workers + "
	    "max_worker_processes + 5) / 16) * 17\",\n"
	    "  \"arithmetic\": \"ceil((200 + 3 + 8 + 5) / 16) = ceil(216 / 16) = 14 sets; 14 x 17 "
	    "= 238 semaphores\",\n"
	    "  \"pg_version\": \"9.6\",\n"
	    "  \"inputs\": {\n"
	    "    \"max_connections\": 200,\n"
	    "    \"autovacuum_max_workers\": 3,\n"
	    "    \"max_worker_processes\": 8,\n"
	    "    \"max_wal_senders\": 10\n"
	    "  },\n"
	    "  \"max_wal_senders_counted\": false,\n"
	    "  \"semmsl_needed\": 17,\n"
	    "  \"posix_semaphores_by_default\": false\n"
	    "}\n");

	host_doc(&d, 266, 340, 16, 50, 340, "warn");
	assert_int_equal(pgplan_fit(&p, &d.obj, &f, err, sizeof(err)), 0);
	buf_reset(&out);
	pgplan_json(&p, "sorthat", &f, &out);
	assert_non_null(buf_cstr(&out));
	assert_non_null(strstr(out.data, "  \"host\": \"sorthat\",\n"
	                                 "  \"fits\": false,\n"
	                                 "  \"fits_with_restart_headroom\": false,\n"
	                                 "  \"instances\": 0,\n"
	                                 "  \"binding\": \"semmns\",\n"
	                                 "  \"free\": {\n"
	                                 "    \"semmns\": 74,\n"
	                                 "    \"semmni\": 34\n"
	                                 "  },\n"));
	buf_reset(&out);
	pgplan_text(&p, "sorthat", &f, &out);
	assert_non_null(buf_cstr(&out));
	assert_string_equal(
	    out.data,
	    "PostgreSQL 9.6: 14 semaphore sets (SEMMNI), 238 semaphores (SEMMNS), SEMMSL >= 17\n"
	    "  inputs:     max_connections=200 autovacuum_max_workers=3\n"
	    "              max_worker_processes=8\n"
	    "  formula:    ceil((max_connections + autovacuum_max_workers +\n"
	    "              max_worker_processes + 5) / 16) * 17\n"
	    "  sets:       ceil((200 + 3 + 8 + 5) / 16) = ceil(216 / 16) = 14\n"
	    "  semaphores: 14 x 17 = 238\n"
	    "On sorthat: 74 of 340 semaphores free, 34 of 50 sets free, semmsl 340\n"
	    "  fits now:                    NO  (needs 238 semaphores, 14 sets free)\n"
	    "  fits with restart headroom:  NO  (needs 476 semaphores, 28 sets free)\n"
	    "  (headroom: a crashed instance's sets linger while the new one starts)\n"
	    "  instances that fit now:      0 (semmns binds first)\n");
	doc_free(&d);
	/*
	 * The Oracle-like case of PostgreSQL: semmni binds before semmns.  64
	 * sets of 50 free, 3400 of 32000 semaphores free: 64 / 14 = 4, 3400 /
	 * 238 = 14: four instances, semmni binds; two fit with a restart.
	 */
	host_doc(&d, 28600, 32000, 64, 128, 250, "ok");
	assert_int_equal(pgplan_fit(&p, &d.obj, &f, err, sizeof(err)), 0);
	assert_int_equal(f.instances, 4);
	assert_string_equal(f.binding, "semmni");
	assert_true(f.fits);
	assert_true(f.fits_with_restart);
	doc_free(&d);
	/* semmsl below 17: no instance at all, semmsl binds */
	host_doc(&d, 0, 32000, 0, 128, 16, "ok");
	assert_int_equal(pgplan_fit(&p, &d.obj, &f, err, sizeof(err)), 0);
	assert_int_equal(f.instances, 0);
	assert_string_equal(f.binding, "semmsl");
	assert_false(f.fits);
	doc_free(&d);
	buf_free(&out);
}

/* A document without semmns usage is an error, not a crash. */
static void
test_fit_bad(void **state)
{
	struct pgplan p;
	struct pgplan_fit f;
	msgpack_object nil;
	char err[128];

	(void)state;
	plan("12", 100, 3, 8, 10, &p);
	memset(&nil, 0, sizeof(nil));
	nil.type = MSGPACK_OBJECT_NIL;
	assert_int_equal(pgplan_fit(&p, &nil, &f, err, sizeof(err)), -1);
	assert_string_equal(err, "the host reported no semmns/semmni usage");
	assert_int_equal(pgplan_fit(&p, NULL, &f, err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_96),        cmocka_unit_test(test_wal_senders),
	    cmocka_unit_test(test_constants), cmocka_unit_test(test_18),
	    cmocka_unit_test(test_versions),  cmocka_unit_test(test_inputs),
	    cmocka_unit_test(test_fit),       cmocka_unit_test(test_json),
	    cmocka_unit_test(test_fit_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
