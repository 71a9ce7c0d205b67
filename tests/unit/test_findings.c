/*
 * test_findings.c: the analysis rules against the real sorthat capture and
 * against synthetic series with known answers.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collect.h"
#include "findings.h"
#include "store_blocks.h"
#include "util.h"

static void
levels_80_90(void *arg, const char *limit, double *warn, double *crit)
{
	(void)arg;
	(void)limit;
	*warn = 80;
	*crit = 90;
}

static void
eval_init(struct eval_input *in, const struct snapshot *s)
{
	memset(in, 0, sizeof(*in));
	in->host = "h";
	in->s = s;
	in->now = 1764165600;
	in->levels = levels_80_90;
	in->hysteresis = 5;
	in->horizon = 14 * 86400;
	in->max_skew = 300;
}

static void
load_sorthat(struct snapshot *s)
{
	struct source src;
	struct proc_table pt = {0};
	struct collect_warnings w;
	char err[256];

	memset(&w, 0, sizeof(w));
	assert_int_equal(
	    source_parse("freebsd-capture:" FIXTURES "/freebsd-11-sorthat", &src, err, sizeof(err)),
	    0);
	assert_int_equal(snapshot_init(s), 0);
	if (collect(&src, s, &pt, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	proc_table_free(&pt);
}

/* The seed's incident: uid 770 holds 238 semaphores, only 74 are free. */
static void
test_sorthat_restart_headroom(void **state)
{
	struct snapshot s;
	struct eval_input in;
	struct finding_list out = {0};
	size_t i, headroom = 0, threshold = 0;

	(void)state;
	load_sorthat(&s);
	eval_init(&in, &s);
	assert_int_equal(findings_eval(&in, &out), 0);
	for (i = 0; i < out.n; i++) {
		const struct finding *f = &out.v[i];

		if (f->kind == FK_THRESHOLD)
			threshold++;
		if (f->kind != FK_RESTART_HEADROOM)
			continue;
		headroom++;
		assert_string_equal(f->limit, "semmns");
		assert_int_equal(f->uid, 770);
		assert_int_equal(f->held, 238);
		assert_int_equal(f->free, 74);
		assert_int_equal(f->safe_limit, 504);
		assert_int_equal(f->severity, SEV_WARN);
		assert_non_null(strstr(f->message, "uid 770"));
		assert_non_null(strstr(f->message, "238 of semmns"));
		assert_non_null(strstr(f->message, "only 74 free"));
		assert_non_null(strstr(f->message, "semmns >= 504"));
	}
	assert_int_equal(headroom, 1);  /* uid 122 holds 28: it fits */
	assert_int_equal(threshold, 0); /* semmns is at 78.2%, below 80 */
	finding_list_free(&out);
	snapshot_free(&s);
}

/*
 * The sorthat capture read without the sizes (the plain ipcs of a jail):
 * semmns is unknown, so it raises no threshold, no restart headroom, no
 * recommendation and no forecast, whatever its 0; the aggregator derives
 * one incomplete finding from the snapshot itself, and ignores a claim the
 * agent makes about it.
 */
static void
test_unknown_no_findings(void **state)
{
	struct snapshot s;
	struct eval_input in;
	struct finding_list out = {0};
	struct recommendation recs[16];
	struct series sr;
	struct sample v[8];
	struct finding *claim;
	size_t i, n, incomplete = 0;

	(void)state;
	load_sorthat(&s);
	for (i = 0; i < s.nobjects; i++)
		if (s.objects[i].type == IPC_SEM)
			s.objects[i].unknown |= OF_NSEMS;
	assert_int_equal(snapshot_unknown(&s, UNK_USED, "semmns", "ipcs has no NSEMS column"), 0);
	/* an agent-made incomplete finding is not taken over */
	assert_non_null(claim = snapshot_add_finding(&s));
	claim->kind = FK_INCOMPLETE;
	claim->severity = SEV_CRIT;
	ifl_strlcpy(claim->message, "trust me", sizeof(claim->message));
	/* a steep semmns series: it would forecast exhaustion if semmns were known */
	memset(&sr, 0, sizeof(sr));
	sr.limit = "semmns";
	for (i = 0; i < 8; i++) {
		v[i].t = 1764165600 - (int64_t)(8 - i) * 3600;
		v[i].used = 200 + i * 5;
		v[i].limit = 340;
	}
	sr.v = v;
	sr.n = 8;
	eval_init(&in, &s);
	in.series = &sr;
	in.nseries = 1;
	assert_int_equal(findings_eval(&in, &out), 0);
	for (i = 0; i < out.n; i++) {
		const struct finding *f = &out.v[i];

		if (f->kind == FK_INCOMPLETE) {
			incomplete++;
			assert_int_equal(f->severity, SEV_WARN);
			/* sorthat's capture has no message queue lines (test_freebsd) */
			assert_string_equal(
			    f->message,
			    "msgmni, msgtql limit unknown: no kern.ipc.msg* line in "
			    "sysctl-kern.ipc.txt (a partial listing); msgmni, msgtql "
			    "unknown: no \"Message Queues:\" section in the ipcs files; "
			    "semmns unknown: ipcs has no NSEMS column");
			continue;
		}
		if (strcmp(f->limit, "semmns") == 0)
			fail_msg("a %s finding on the unknown semmns: %s",
			         finding_kind_name(f->kind), f->message);
	}
	assert_int_equal(incomplete, 1);
	n = recommend_host(&s, NULL, recs, 16);
	for (i = 0; i < n; i++)
		assert_string_not_equal(recs[i].limit, "semmns");
	finding_list_free(&out);

	/* the control: the same snapshot with its sizes known does raise them */
	s.unknown.n = 0;
	for (i = 0; i < s.nobjects; i++)
		s.objects[i].unknown = 0;
	memset(&out, 0, sizeof(out));
	assert_int_equal(findings_eval(&in, &out), 0);
	n = 0;
	for (i = 0; i < out.n; i++) {
		assert_int_not_equal(out.v[i].kind, FK_INCOMPLETE);
		if (strcmp(out.v[i].limit, "semmns") == 0 &&
		    (out.v[i].kind == FK_FORECAST || out.v[i].kind == FK_RESTART_HEADROOM))
			n++;
	}
	assert_int_equal(n, 2);
	finding_list_free(&out);
	snapshot_free(&s);
}

static void
test_sorthat_recommendations(void **state)
{
	struct snapshot s;
	struct recommendation r[RECOMMEND_MAX];
	size_t n, i, seen = 0;

	(void)state;
	load_sorthat(&s);
	n = recommend_host(&s, NULL, r, RECOMMEND_MAX);
	for (i = 0; i < n; i++) {
		if (strcmp(r[i].limit, "semmns") == 0) {
			/* max(2 x 266, 266 + 238) = 532, rounded up to 540 */
			assert_int_equal(r[i].peak, 266);
			assert_int_equal(r[i].largest, 238);
			assert_int_equal(r[i].recommended, 540);
			assert_true(r[i].needs_change);
			assert_true(r[i].reboot);
			assert_string_equal(r[i].file, "/boot/loader.conf");
			assert_string_equal(r[i].line, "kern.ipc.semmns=540");
			seen++;
		}
		if (strcmp(r[i].limit, "shmall") == 0) {
			assert_false(r[i].reboot); /* shmall is runtime-writable */
			assert_string_equal(r[i].file, "/etc/sysctl.conf");
			seen++;
		}
	}
	assert_int_equal(seen, 2);
	snapshot_free(&s);
}

static struct snapshot
linux_host(uint64_t semmns_used)
{
	struct snapshot s;
	struct ipc_object *o;

	assert_int_equal(snapshot_init(&s), 0);
	ifl_strlcpy(s.os, "Linux", sizeof(s.os));
	s.page_size = 4096;
	limits_set(&s.limits, "semmsl", 250);
	limits_set(&s.limits, "semmns", 1000);
	limits_set(&s.limits, "semopm", 32);
	limits_set(&s.limits, "semmni", 128);
	o = snapshot_add_object(&s);
	o->type = IPC_SEM;
	o->nsems = semmns_used;
	o->uid = 26;
	return s;
}

/* An IPC namespace scope with its own limits (sem fields, shmmni) and n sets. */
static struct ipc_scope *
ns_scope(struct snapshot *s, const char *id, const char *name, uint64_t semmni, uint64_t shmmni,
         size_t nsets)
{
	struct ipc_scope *sc = snapshot_add_scope(s, id, name, SCOPE_IPCNS);
	uint32_t idx = (uint32_t)(s->nscopes - 1);
	size_t i;

	assert_non_null(sc);
	sc->own_limits = 1;
	limits_set(&sc->limits, "semmsl", 250);
	limits_set(&sc->limits, "semmns", 32000);
	limits_set(&sc->limits, "semopm", 32);
	limits_set(&sc->limits, "semmni", semmni);
	limits_set(&sc->limits, "shmmni", shmmni);
	for (i = 0; i < nsets; i++) {
		struct ipc_object *o = snapshot_add_object(s);

		o->type = IPC_SEM;
		o->nsems = 1;
		o->scope = idx;
	}
	return sc;
}

/*
 * A container's namespace starts from the kernel's defaults: 7 sets of its
 * own 8 (87.5%) while the host allows 32000 is limits_below_host, with the
 * fix for its runtime; the same use under the host's own value is not.
 */
static void
test_limits_below_host(void **state)
{
	struct snapshot s = linux_host(10);
	struct eval_input in;
	struct finding_list out = {0};
	size_t i, n = 0;

	(void)state;
	limits_set(&s.limits, "semmni", 32000);
	limits_set(&s.limits, "shmmni", 4096);
	ns_scope(&s, "ipcns:4026532200", "docker:0123456789ab", 8, 4096, 7);
	ns_scope(&s, "ipcns:4026532201", "pid 4242 python3", 8, 4096, 7);
	ns_scope(&s, "ipcns:4026532202", "k8s:1b2c3d4e-5f6", 8, 4096, 6); /* 75%: under */
	ns_scope(&s, "ipcns:4026532203", "lxc:web", 32000, 4096, 7);      /* as the host */
	eval_init(&in, &s);
	assert_int_equal(findings_eval(&in, &out), 0);
	for (i = 0; i < out.n; i++) {
		const struct finding *f = &out.v[i];

		if (f->kind != FK_LIMITS_BELOW_HOST)
			continue;
		n++;
		assert_int_equal(f->severity, SEV_WARN);
		assert_string_equal(f->limit, "semmni");
		if (strcmp(f->scope, "ipcns:4026532200") == 0) {
			assert_string_equal(
			    f->message, "semmni in docker:0123456789ab: 7 of its own 8 (87.5%), "
			                "below the host's 32000: recreate it with docker run "
			                "--sysctl kernel.sem=\"250 32000 32 32000\"");
			assert_string_equal(
			    f->command,
			    "docker run --sysctl kernel.sem=\"250 32000 32 32000\" ...");
		} else {
			assert_string_equal(f->scope, "ipcns:4026532201");
			assert_string_equal(
			    f->command, "nsenter -t 4242 -i sysctl -w kernel.sem=\"250 32000 32 "
			                "32000\"");
		}
	}
	assert_int_equal(n, 2);
	finding_list_free(&out);
	snapshot_free(&s);
}

static void
test_linux_kernel_sem_line(void **state)
{
	struct snapshot s = linux_host(900);
	struct recommendation r[RECOMMEND_MAX];
	size_t n, i;
	int seen = 0;

	(void)state;
	n = recommend_host(&s, NULL, r, RECOMMEND_MAX);
	for (i = 0; i < n; i++) {
		if (strcmp(r[i].limit, "semmns") != 0)
			continue;
		/* max(1800, 900 + 900) = 1800: the four fields in kernel order */
		assert_int_equal(r[i].recommended, 1800);
		assert_string_equal(r[i].file, "/etc/sysctl.d/90-ipcfleet.conf");
		assert_string_equal(r[i].line, "kernel.sem = 250 1800 32 128");
		assert_false(r[i].reboot);
		seen = 1;
	}
	assert_true(seen);
	snapshot_free(&s);
}

static void
test_round_up_nice(void **state)
{
	(void)state;
	assert_int_equal(round_up_nice(0), 0);
	assert_int_equal(round_up_nice(28), 28);
	assert_int_equal(round_up_nice(99), 99);
	assert_int_equal(round_up_nice(100), 100);
	assert_int_equal(round_up_nice(101), 110);
	assert_int_equal(round_up_nice(532), 540);
	assert_int_equal(round_up_nice(1234), 1300);
	assert_int_equal(round_up_nice(UINT64_MAX), UINT64_MAX);
}

/* A linear climb: the estimate must be within 5% (it is exact here). */
static void
test_forecast_linear(void **state)
{
	struct sample v[361];
	int64_t t0 = 1764000000, at, now;
	double per_day;
	size_t i;

	(void)state;
	for (i = 0; i < 361; i++) { /* six hours, one sample a minute, +2 a minute */
		v[i].t = t0 + (int64_t)i * 60;
		v[i].used = 1000 + 2 * i;
		v[i].limit = 10000;
	}
	now = v[360].t;
	assert_int_equal(forecast_fit(v, 361, 10000, now, &at, &per_day), 1);
	/* at now: 1720 used; 8280 to go at 2/min = 4140 min */
	{
		double want = 4140.0 * 60, got = (double)(at - now);

		assert_true(fabs(got - want) <= want * 0.05);
		assert_true(fabs(got - want) <= 60);
	}
	assert_true(fabs(per_day - 2880.0) < 1.0);
	/* a limit no clock reaches (a peer may say 2^64 - 1): the end of int64,
	 * not a wrapped time (the sanitizer build aborts on the overflow) */
	assert_int_equal(forecast_fit(v, 361, UINT64_MAX, now, &at, &per_day), 1);
	assert_true(at == INT64_MAX);
}

static void
test_forecast_flat_and_short(void **state)
{
	struct sample v[100];
	int64_t at;
	double per_day;
	size_t i;

	(void)state;
	for (i = 0; i < 100; i++) {
		v[i].t = 1764000000 + (int64_t)i * 60;
		v[i].used = 266;
	}
	assert_int_equal(forecast_fit(v, 100, 340, v[99].t, &at, &per_day), 0);
	for (i = 0; i < 100; i++)
		v[i].used = 300 - i; /* falling */
	assert_int_equal(forecast_fit(v, 100, 340, v[99].t, &at, &per_day), 0);
	for (i = 0; i < 3; i++)
		v[i].used = 10 * i;
	assert_int_equal(forecast_fit(v, 3, 340, v[2].t, &at, &per_day), 0); /* too few */
}

/* A forecast finding appears only when exhaustion is inside the horizon. */
static void
test_forecast_finding(void **state)
{
	struct snapshot s = linux_host(500);
	struct sample v[100];
	struct series sr = {.limit = "semmns", .v = v, .n = 100};
	struct eval_input in;
	struct finding_list out = {0};
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < 100; i++) {
		v[i].t = 1764165600 - (int64_t)(99 - i) * 3600; /* hourly, up to now */
		v[i].used = 401 + i;                            /* +24 a day */
	}
	eval_init(&in, &s);
	in.series = &sr;
	in.nseries = 1;
	assert_int_equal(findings_eval(&in, &out), 0);
	for (i = 0; i < out.n; i++) {
		if (out.v[i].kind != FK_FORECAST)
			continue;
		n++;
		/* 500 at now, 1000 at +500 h = 20.8 days: outside 14 days */
	}
	assert_int_equal(n, 0);
	finding_list_free(&out);
	in.horizon = 30 * 86400;
	assert_int_equal(findings_eval(&in, &out), 0);
	for (i = 0; i < out.n; i++) {
		if (out.v[i].kind != FK_FORECAST)
			continue;
		n++;
		assert_true(llabs(out.v[i].exhaust_at - (1764165600 + 500 * 3600)) <= 3600 / 20);
		assert_int_equal(out.v[i].severity, SEV_WARN);
	}
	assert_int_equal(n, 1);
	finding_list_free(&out);
	snapshot_free(&s);
}

/*
 * Hysteresis: a series hovering around the warn level opens one finding.
 * The store's open set is simulated: what findings_eval returns becomes prev.
 */
static void
test_hysteresis(void **state)
{
	static const uint64_t used[] = {790, 810, 790, 805, 780, 801, 799, 760, 740, 810};
	struct finding prev[4];
	size_t nprev = 0, i, k, opened = 0, closed = 0;

	(void)state;
	for (i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
		struct snapshot s = linux_host(used[i]);
		struct eval_input in;
		struct finding_list out = {0};
		int open_now = 0;

		eval_init(&in, &s);
		in.prev = prev;
		in.nprev = nprev;
		assert_int_equal(findings_eval(&in, &out), 0);
		for (k = 0; k < out.n; k++)
			if (out.v[k].kind == FK_THRESHOLD && strcmp(out.v[k].limit, "semmns") == 0)
				open_now = 1;
		if (open_now && nprev == 0)
			opened++;
		if (!open_now && nprev == 1)
			closed++;
		nprev = 0;
		for (k = 0; k < out.n; k++)
			if (out.v[k].kind == FK_THRESHOLD && strcmp(out.v[k].limit, "semmns") == 0)
				prev[nprev++] = out.v[k];
		finding_list_free(&out);
		snapshot_free(&s);
	}
	/* opens at 81.0%, holds down to 75%, closes at 74.0%, opens again at 81.0% */
	assert_int_equal(opened, 2);
	assert_int_equal(closed, 1);
}

/* A limit of 0 (kernel.shmmni=0 with segments alive): nothing more can be made, crit. */
static void
test_limit_zero(void **state)
{
	struct snapshot s = linux_host(10);
	struct eval_input in;
	struct finding_list out = {0};
	struct ipc_object *o;
	size_t k, n = 0;

	(void)state;
	limits_set(&s.limits, "shmmni", 0);
	o = snapshot_add_object(&s);
	o->type = IPC_SHM;
	o->size = 4096;
	eval_init(&in, &s);
	assert_int_equal(findings_eval(&in, &out), 0);
	for (k = 0; k < out.n; k++) {
		if (out.v[k].kind != FK_THRESHOLD || strcmp(out.v[k].limit, "shmmni") != 0)
			continue;
		n++;
		assert_int_equal(out.v[k].severity, SEV_CRIT);
		assert_non_null(strstr(out.v[k].message, "100.0%"));
	}
	assert_int_equal(n, 1);
	finding_list_free(&out);
	snapshot_free(&s);
}

static void
test_clock_and_agent_findings(void **state)
{
	struct snapshot s = linux_host(10);
	struct eval_input in;
	struct finding_list out = {0};
	struct finding *orphan = snapshot_add_finding(&s);
	size_t i, clock = 0, orphans = 0;

	(void)state;
	orphan->kind = FK_ORPHAN;
	orphan->severity = SEV_INFO;
	orphan->has_object = 1;
	orphan->otype = IPC_SEM;
	orphan->oid = 65538;
	ifl_strlcpy(orphan->command, "ipcrm -s 65538", sizeof(orphan->command));
	eval_init(&in, &s);
	in.has_skew = 1;
	in.skew = 432;
	assert_int_equal(findings_eval(&in, &out), 0);
	for (i = 0; i < out.n; i++) {
		if (out.v[i].kind == FK_CLOCK) {
			clock++;
			assert_non_null(strstr(out.v[i].message, "7m12s ahead"));
		}
		if (out.v[i].kind == FK_ORPHAN) {
			orphans++;
			assert_string_equal(out.v[i].command, "ipcrm -s 65538");
		}
	}
	assert_int_equal(clock, 1);
	assert_int_equal(orphans, 1);
	finding_list_free(&out);
	in.skew = -299; /* within bounds */
	assert_int_equal(findings_eval(&in, &out), 0);
	for (i = 0; i < out.n; i++)
		assert_int_not_equal(out.v[i].kind, FK_CLOCK);
	finding_list_free(&out);
	snapshot_free(&s);
}

/* A compromised host must not get an arbitrary command pasted by an operator. */
static void
test_orphan_command_checked(void **state)
{
	static const struct {
		const char *sent, *kept;
	} cases[] = {
	    {"ipcrm -s 65538", "ipcrm -s 65538"},
	    {"jexec pg1 ipcrm -s 65538", "jexec pg1 ipcrm -s 65538"},
	    {"nsenter -t 4242 -i ipcrm -s 65538", "nsenter -t 4242 -i ipcrm -s 65538"},
	    {"ipcrm -s 65538; rm -rf /", "ipcrm -s 65538"},
	    {"ipcrm -m 65538", "ipcrm -s 65538"},
	    {"ipcrm -s 1", "ipcrm -s 65538"},
	    {"jexec $(id) ipcrm -s 65538", "ipcrm -s 65538"},
	    {"nsenter -t 1 -i -m ipcrm -s 65538", "ipcrm -s 65538"},
	};
	size_t c, i;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct snapshot s = linux_host(10);
		struct finding *o = snapshot_add_finding(&s);
		struct eval_input in;
		struct finding_list out = {0};

		o->kind = FK_ORPHAN;
		o->has_object = 1;
		o->otype = IPC_SEM;
		o->oid = 65538;
		ifl_strlcpy(o->message, "orphan", sizeof(o->message));
		ifl_strlcpy(o->command, cases[c].sent, sizeof(o->command));
		eval_init(&in, &s);
		assert_int_equal(findings_eval(&in, &out), 0);
		for (i = 0; i < out.n; i++) {
			if (out.v[i].kind != FK_ORPHAN)
				continue;
			assert_string_equal(out.v[i].command, cases[c].kept);
			assert_int_equal(strstr(out.v[i].message, "not in the expected form") !=
			                     NULL,
			                 strcmp(cases[c].sent, cases[c].kept) != 0);
		}
		finding_list_free(&out);
		snapshot_free(&s);
	}
}

/* The steps that bring stored open findings to the current ones: what both stores execute. */
static void
plan_finding(struct finding *f, enum finding_kind kind, enum severity sev, const char *limit,
             const char *message, int64_t opened)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->severity = sev;
	ifl_strlcpy(f->limit, limit, sizeof(f->limit));
	ifl_strlcpy(f->message, message, sizeof(f->message));
	f->opened = f->updated = opened;
}

static void
test_findings_plan(void **state)
{
	struct finding open[4], cur[4];
	struct finding_step *st = NULL;
	struct finding_change *ch = NULL;
	size_t nst = 0, nch = 0;

	(void)state;
	plan_finding(&open[0], FK_THRESHOLD, SEV_WARN, "semmns", "semmns at 85%", 100);
	plan_finding(&open[1], FK_FORECAST, SEV_WARN, "shmall", "in 9 days", 100);
	plan_finding(&open[2], FK_THRESHOLD, SEV_WARN, "semmni", "semmni at 81%", 100);
	plan_finding(&open[3], FK_STALE, SEV_WARN, "", "no snapshot", 100);
	plan_finding(&cur[0], FK_THRESHOLD, SEV_CRIT, "semmns", "semmns at 95%", 0); /* worse */
	plan_finding(&cur[1], FK_FORECAST, SEV_WARN, "shmall", "in 8 days", 0);      /* message */
	plan_finding(&cur[2], FK_THRESHOLD, SEV_WARN, "semmni", "semmni at 81%", 0); /* same */
	plan_finding(&cur[3], FK_THRESHOLD, SEV_WARN, "msgmni", "msgmni at 80%", 0); /* new */
	assert_int_equal(findings_plan(cur, 4, open, 4, 500, &st, &nst), 0);
	/* semmns updated (reported), shmall updated (not), msgmni opened, stale closed */
	assert_int_equal(nst, 4);
	assert_int_equal(st[0].c.what, FC_CHANGED);
	assert_int_equal(st[0].report, 1);
	assert_int_equal(st[0].c.previous, SEV_WARN);
	assert_int_equal(st[0].c.f.severity, SEV_CRIT);
	assert_int_equal(st[0].c.f.opened, 100);
	assert_int_equal(st[0].c.f.updated, 500);
	assert_string_equal(st[0].key, "threshold|semmns||");
	assert_int_equal(st[1].c.what, FC_CHANGED);
	assert_int_equal(st[1].report, 0);
	assert_string_equal(st[1].c.f.message, "in 8 days");
	assert_int_equal(st[2].c.what, FC_OPENED);
	assert_int_equal(st[2].report, 1);
	assert_int_equal(st[2].c.f.opened, 500);
	assert_int_equal(st[3].c.what, FC_CLOSED);
	assert_int_equal(st[3].c.f.kind, FK_STALE);
	assert_int_equal(st[3].c.f.opened, 100);
	assert_int_equal(st[3].c.f.updated, 500);
	assert_int_equal(findings_plan_changes(st, nst, &ch, &nch), 0);
	assert_int_equal(nch, 3);
	assert_int_equal(ch[0].what, FC_CHANGED);
	assert_int_equal(ch[1].what, FC_OPENED);
	assert_int_equal(ch[2].what, FC_CLOSED);
	free(ch);
	free(st);
	/* nothing moved: no step, no change */
	assert_int_equal(findings_plan(&open[2], 1, &open[2], 1, 600, &st, &nst), 0);
	assert_int_equal(nst, 0);
	assert_null(st);
	assert_int_equal(findings_plan_changes(st, nst, &ch, &nch), 0);
	assert_int_equal(nch, 0);
	assert_null(ch);
}

/* An orphan finding of sem set id, severity sev. */
static void
add_orphan(struct snapshot *s, int64_t id, enum severity sev)
{
	struct finding *f = snapshot_add_finding(s);

	assert_non_null(f);
	f->kind = FK_ORPHAN;
	f->severity = sev;
	f->has_object = 1;
	f->otype = IPC_SEM;
	f->oid = id;
	snprintf(f->message, sizeof(f->message), "orphan %lld", (long long)id);
	snprintf(f->command, sizeof(f->command), "ipcrm -s %lld", (long long)id);
}

/* Identities are looked up, not compared pairwise; duplicates are taken in order. */
static void
test_finding_index(void **state)
{
	struct finding v[5];
	struct finding_index ix;
	char key[FINDING_KEY_MAX];
	size_t i;

	(void)state;
	memset(v, 0, sizeof(v));
	for (i = 0; i < 5; i++) {
		v[i].kind = FK_ORPHAN;
		v[i].has_object = 1;
		v[i].otype = IPC_SHM;
		v[i].oid = (int64_t)(i % 3); /* 0 1 2 0 1 */
	}
	assert_int_equal(finding_index_build(&ix, v, 5), 0);
	finding_identity(&v[3], key, sizeof(key));
	assert_string_equal(key, "orphan|||shm:0");
	assert_string_equal(finding_index_key(&ix, 3), key);
	assert_int_equal(finding_index_first(&ix, key), 0);
	assert_int_equal(finding_index_take(&ix, key), 0);
	assert_int_equal(finding_index_take(&ix, key), 3);
	assert_int_equal(finding_index_take(&ix, key), SIZE_MAX);
	assert_int_equal(finding_index_first(&ix, key), 0); /* taken or not */
	assert_int_equal(finding_index_take(&ix, "orphan|||shm:1"), 1);
	assert_int_equal(finding_index_take(&ix, "orphan|||shm:9"), SIZE_MAX);
	finding_index_free(&ix);
	assert_int_equal(finding_index_build(&ix, v, 0), 0);
	assert_int_equal(finding_index_take(&ix, key), SIZE_MAX);
	finding_index_free(&ix);
}

/*
 * The matching of issue 18: 10,000 open findings against 10,000 others with
 * new ids, in reversed order.  Pairwise it took half a minute; now linear
 * (well under a second even under the sanitizers).  Every one opens, every
 * old one closes, each closing points at its row in open[].
 */
static void
test_findings_plan_large(void **state)
{
	struct finding *open = calloc(MODEL_MAX_FINDINGS, sizeof(*open));
	struct finding *cur = calloc(MODEL_MAX_FINDINGS, sizeof(*cur));
	struct finding_step *st = NULL;
	size_t nst = 0, i, opened = 0, closed = 0;
	uint64_t t0;

	(void)state;
	assert_non_null(open);
	assert_non_null(cur);
	for (i = 0; i < MODEL_MAX_FINDINGS; i++) {
		plan_finding(&open[i], FK_ORPHAN, SEV_INFO, "", "old", 100);
		open[i].has_object = 1;
		open[i].oid = (int64_t)i;
		plan_finding(&cur[i], FK_ORPHAN, SEV_INFO, "", "new", 0);
		cur[i].has_object = 1;
		cur[i].oid = (int64_t)(2 * MODEL_MAX_FINDINGS - i); /* new ids, reversed */
	}
	cur[MODEL_MAX_FINDINGS - 1].oid = 5; /* one survives, with a new message */
	t0 = now_mono_ms();
	assert_int_equal(
	    findings_plan(cur, MODEL_MAX_FINDINGS, open, MODEL_MAX_FINDINGS, 500, &st, &nst), 0);
	assert_true(now_mono_ms() - t0 < 2000);
	for (i = 0; i < nst; i++) {
		if (st[i].c.what == FC_OPENED) {
			opened++;
			assert_int_equal(st[i].open_at, SIZE_MAX);
		} else if (st[i].c.what == FC_CLOSED) {
			closed++;
			assert_int_equal(open[st[i].open_at].oid, st[i].c.f.oid);
			assert_int_not_equal(st[i].c.f.oid, 5);
		} else {
			assert_int_equal(st[i].c.what, FC_CHANGED);
			assert_int_equal(st[i].c.f.oid, 5);
			assert_int_equal(st[i].open_at, 5);
			assert_int_equal(st[i].c.f.opened, 100);
			assert_int_equal(st[i].report, 0); /* a message alone is not news */
		}
	}
	assert_int_equal(opened, MODEL_MAX_FINDINGS - 1);
	assert_int_equal(closed, MODEL_MAX_FINDINGS - 1);
	assert_int_equal(nst, 2 * MODEL_MAX_FINDINGS - 1);
	free(st);
	free(open);
	free(cur);
}

/*
 * At most FINDINGS_AGENT_MAX of the agent's findings are kept: the worst
 * first, in the agent's order among equals; the rest are counted.
 */
static void
test_agent_findings_bounded(void **state)
{
	struct snapshot s = linux_host(10);
	struct eval_input in;
	struct finding_list out = {0};
	size_t i, kept = 0, warn = 0, summaries = 0;
	int64_t last = -1;

	(void)state;
	for (i = 0; i < MODEL_MAX_FINDINGS - 10; i++)
		add_orphan(&s, (int64_t)i, i % 1000 == 999 ? SEV_WARN : SEV_INFO);
	/* another kind the agent reports, last and crit: kept; an incomplete: derived, not kept */
	{
		struct finding *r = snapshot_add_finding(&s), *inc = snapshot_add_finding(&s);

		r->kind = FK_REMOVEIPC_RISK;
		r->severity = SEV_CRIT;
		r->uid = 1000;
		ifl_strlcpy(r->message, "RemoveIPC=yes and uid 1000 owns objects",
		            sizeof(r->message));
		inc->kind = FK_INCOMPLETE;
		inc->severity = SEV_WARN;
	}
	eval_init(&in, &s);
	assert_int_equal(findings_eval(&in, &out), 0);
	for (i = 0, kept = 0; i < out.n; i++) {
		assert_int_not_equal(out.v[i].kind, FK_INCOMPLETE);
		kept += out.v[i].kind == FK_REMOVEIPC_RISK;
	}
	assert_int_equal(kept, 1);
	kept = 0;
	for (i = 0; i < out.n; i++) {
		const struct finding *f = &out.v[i];

		if (f->kind != FK_ORPHAN)
			continue;
		if (!f->has_object) {
			summaries++;
			assert_int_equal(f->severity, SEV_INFO);
			assert_non_null(
			    strstr(f->message, "8991 more orphan findings were not kept"));
			continue;
		}
		kept++;
		warn += f->severity == SEV_WARN;
		assert_true(f->oid > last); /* the agent's order */
		last = f->oid;
		/* every warn one (ids 999, 1999, ...) and the first 990 info ones */
		assert_true(f->severity == SEV_WARN || f->oid < 1000);
	}
	assert_int_equal(kept, FINDINGS_AGENT_MAX - 1); /* and the removeipc_risk one */
	assert_int_equal(warn, 9);
	assert_int_equal(summaries, 1);
	finding_list_free(&out);
	snapshot_free(&s);

	/* exactly at the bound: all kept, no summary */
	s = linux_host(10);
	for (i = 0; i < FINDINGS_AGENT_MAX; i++)
		add_orphan(&s, (int64_t)i, SEV_INFO);
	eval_init(&in, &s);
	assert_int_equal(findings_eval(&in, &out), 0);
	for (i = 0, kept = 0; i < out.n; i++) {
		assert_true(out.v[i].kind != FK_ORPHAN || out.v[i].has_object);
		kept += out.v[i].kind == FK_ORPHAN;
	}
	assert_int_equal(kept, FINDINGS_AGENT_MAX);
	finding_list_free(&out);
	snapshot_free(&s);
}

/*
 * IPC namespaces with limits of their own: the FINDINGS_SCOPES_MAX fullest
 * are analysed (each on its own objects), the others counted.
 */
static void
test_scopes_bounded(void **state)
{
	struct snapshot s = linux_host(10);
	struct eval_input in;
	struct finding_list out = {0};
	size_t i, nscopes = MODEL_MAX_SCOPES - 1, thresholds = 0, headroom = 0, summaries = 0;

	(void)state;
	for (i = 0; i < nscopes; i++) {
		char id[32];
		struct ipc_scope *sc;
		struct ipc_object *o;

		snprintf(id, sizeof(id), "ipcns:%zu", 4026532000u + i);
		assert_non_null(sc = snapshot_add_scope(&s, id, id, SCOPE_IPCNS));
		sc->own_limits = 1;
		limits_set(&sc->limits, "semmns", 100);
		limits_set(&sc->limits, "semmni", 32);
		assert_non_null(o = snapshot_add_object(&s));
		o->type = IPC_SEM;
		o->scope = (uint32_t)s.nscopes - 1;
		o->uid = 70;
		/* scopes 1000..1299: 95 of 100 (crit); the others 81 (warn) */
		o->nsems = i >= 1000 && i < 1300 ? 95 : 81;
	}
	eval_init(&in, &s);
	assert_int_equal(findings_eval(&in, &out), 0);
	for (i = 0; i < out.n; i++) {
		const struct finding *f = &out.v[i];

		if (f->kind == FK_THRESHOLD && f->scope[0] != '\0') {
			thresholds++;
			/* the fullest: the crit ones, from scope 1001 (index 1000 + 1) */
			assert_int_equal(f->severity, SEV_CRIT);
		} else if (f->kind == FK_THRESHOLD) {
			summaries++;
			assert_int_equal(f->severity, SEV_CRIT); /* 44 crit ones were left out */
			assert_non_null(strstr(f->message, "3839 more IPC namespaces"));
			assert_non_null(strstr(f->message, "semmns at 95.0%"));
		} else if (f->kind == FK_RESTART_HEADROOM) {
			headroom++;
		}
	}
	assert_int_equal(thresholds, FINDINGS_SCOPES_MAX);
	assert_int_equal(headroom, FINDINGS_SCOPES_MAX);
	assert_int_equal(summaries, 1);
	finding_list_free(&out);
	snapshot_free(&s);
}

/*
 * An exhausted limit makes every consumer a restart_headroom finding: the
 * FINDINGS_HEADROOM_MAX largest shares are kept, in the pool's order.
 */
static void
test_headroom_bounded(void **state)
{
	struct snapshot s;
	struct eval_input in;
	struct finding_list out = {0};
	struct consumer *cv;
	size_t nc, i, n = 0, summaries = 0;
	uint32_t last = 0;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	ifl_strlcpy(s.os, "Linux", sizeof(s.os));
	s.page_size = 4096;
	limits_set(&s.limits, "semmns", 100000);
	limits_set(&s.limits, "semmni", 1000); /* 1,000 sets: exhausted */
	for (i = 0; i < 1000; i++) {
		struct ipc_object *o = snapshot_add_object(&s);

		o->type = IPC_SEM;
		o->uid = (uint32_t)(1000 + i); /* 1,000 consumers */
		o->nsems = i == 500 ? 3 : 1;
	}
	assert_int_equal(consumers_of(&s, -1, &cv, &nc), 0);
	assert_int_equal(nc, 1000);
	assert_int_equal(cv[0].uid, 1000); /* in the order of their first object */
	assert_int_equal(cv[999].uid, 1999);
	free(cv);
	eval_init(&in, &s);
	assert_int_equal(findings_eval(&in, &out), 0);
	for (i = 0; i < out.n; i++) {
		const struct finding *f = &out.v[i];

		if (f->kind != FK_RESTART_HEADROOM)
			continue;
		if (!f->has_headroom) {
			summaries++;
			assert_non_null(strstr(f->message, "984 more holdings in the host's pool"));
			continue;
		}
		assert_string_equal(f->limit, "semmni");
		assert_true(f->uid > last);
		last = f->uid;
		n++;
	}
	assert_int_equal(n, FINDINGS_HEADROOM_MAX);
	assert_int_equal(summaries, 1);
	finding_list_free(&out);
	snapshot_free(&s);
}

/* ---- capacity rules (issue 14) ---- */

#define T0 1764000000 /* a snapshot time for the series below */

/* A Linux host: semmni 128, semmns 32000; uid 33's n sets of 1 (keys from key0). */
static struct snapshot
web_host(size_t n, int64_t key0, int64_t taken)
{
	struct snapshot s;
	size_t i;

	assert_int_equal(snapshot_init(&s), 0);
	ifl_strlcpy(s.os, "Linux", sizeof(s.os));
	s.page_size = 4096;
	s.taken = taken;
	limits_set(&s.limits, "semmsl", 250);
	limits_set(&s.limits, "semmns", 32000);
	limits_set(&s.limits, "semopm", 100);
	limits_set(&s.limits, "semmni", 128);
	for (i = 0; i < n; i++) {
		struct ipc_object *o = snapshot_add_object(&s);

		o->type = IPC_SEM;
		o->id = 32768 + (int64_t)i;
		o->key = key0 + (int64_t)i;
		o->nsems = 1;
		o->uid = o->cuid = 33;
		o->mode = 0600;
		ifl_strlcpy(o->owner, "www-data", sizeof(o->owner));
	}
	return s;
}

/*
 * The analysis of a series of snapshots as the aggregator runs it: the
 * counts recorded and read back (the store's merge), the open findings
 * carried from one to the next.  Returns the findings of the last one.
 */
struct series_run {
	struct count_run *runs;
	size_t nruns;
	struct finding prev[64];
	size_t nprev;
};

static void
series_step(struct series_run *sr, const struct snapshot *s, struct finding_list *out)
{
	struct count_run *cur = NULL;
	struct eval_input in;
	size_t ncur = 0, i;

	assert_int_equal(counts_of(s, &cur, &ncur), 0);
	assert_int_equal(sb_counts_merge(&sr->runs, &sr->nruns, cur, ncur, s->taken, 0), 0);
	free(cur);
	eval_init(&in, s);
	in.now = s->taken;
	in.prev = sr->prev;
	in.nprev = sr->nprev;
	in.runs = sr->runs;
	in.nruns = sr->nruns;
	in.leak_window = 6 * 3600;
	in.leak_min_snapshots = 6;
	memset(out, 0, sizeof(*out));
	assert_int_equal(findings_eval(&in, out), 0);
	sr->nprev = 0;
	for (i = 0; i < out->n && sr->nprev < 64; i++) {
		sr->prev[sr->nprev] = out->v[i];
		sr->prev[sr->nprev].opened = sr->prev[sr->nprev].updated = s->taken;
		sr->nprev++;
	}
}

static const struct finding *
find_kind(const struct finding_list *l, enum finding_kind k)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].kind == k)
			return &l->v[i];
	return NULL;
}

/*
 * One new set an hour: the leak shows once six hours of snapshots rose
 * twice or more, the last time in the second half, at 24 a day; semmni (128, 24 used) runs out
 * first: 104 more sets at 24 a day is 4.33 days, within the 14 days of the horizon: crit.
 */
static void
test_leak_hourly(void **state)
{
	struct series_run sr;
	struct finding_list out;
	const struct finding *f;
	size_t i, first_leak = 0;

	(void)state;
	memset(&sr, 0, sizeof(sr));
	for (i = 0; i < 24; i++) {
		struct snapshot s = web_host(i + 1, 0x1234, T0 + (int64_t)i * 3600);

		series_step(&sr, &s, &out);
		if (find_kind(&out, FK_LEAK) != NULL && first_leak == 0)
			first_leak = i + 1;
		if (i == 23) {
			assert_non_null(f = find_kind(&out, FK_LEAK));
			assert_int_equal(f->severity, SEV_CRIT);
			assert_int_equal(f->uid, 33);
			assert_string_equal(f->owner, "www-data");
			assert_string_equal(f->scope, "host");
			assert_string_equal(f->limit, "semmni");
			assert_int_equal(f->exhaust_at, T0 + 23 * 3600 + 374400);
			assert_string_equal(
			    f->message,
			    "uid 33 (www-data) in host leaks semaphore sets: 18 to 24 in 6h00m, "
			    "never "
			    "falling, 24.0 a day; semmni runs out around 2025-11-29T23:00:00Z (in "
			    "4.3 "
			    "days); sets of 1 of a web server's user are usually mutexes left by "
			    "killed children (Apache AH00023)");
		}
		finding_list_free(&out);
		snapshot_free(&s);
	}
	/* seven snapshots span the six hours */
	assert_int_equal(first_leak, 7);
	free(sr.runs);
}

/* No leak: a count that fell once, a start-up burst, a series too short. */
static void
test_leak_not(void **state)
{
	static const size_t fell[] = {1, 2, 3, 2, 4, 5, 6, 7, 8};
	static const size_t burst[] = {1, 14, 14, 14, 14, 14, 14, 14, 14, 14};
	struct series_run sr;
	struct finding_list out;
	size_t i;

	(void)state;
	memset(&sr, 0, sizeof(sr));
	for (i = 0; i < NELEM(fell); i++) {
		struct snapshot s = web_host(fell[i], 0x1234, T0 + (int64_t)i * 3600);

		series_step(&sr, &s, &out);
		/* the window back from the last snapshot reaches the fall until the ninth */
		if (i < 8)
			assert_null(find_kind(&out, FK_LEAK));
		finding_list_free(&out);
		snapshot_free(&s);
	}
	free(sr.runs);
	memset(&sr, 0, sizeof(sr));
	for (i = 0; i < NELEM(burst); i++) {
		struct snapshot s = web_host(burst[i], 0x1234, T0 + (int64_t)i * 3600);

		series_step(&sr, &s, &out);
		assert_null(find_kind(&out, FK_LEAK));
		finding_list_free(&out);
		snapshot_free(&s);
	}
	free(sr.runs);
}

/*
 * Snapshots unevenly apart (a slow first one, as under a busy machine): six
 * of them, one new set before each, the first 20 s before the others, with a
 * window of 3 s: still a leak (a rule by the window's halves would miss it).
 */
static void
test_leak_uneven(void **state)
{
	static const int64_t at[] = {0, 20, 21, 22, 23, 24};
	struct series_run sr;
	struct finding_list out;
	struct eval_input in;
	struct count_run *cur = NULL;
	const struct finding *f;
	size_t i, ncur;

	(void)state;
	memset(&sr, 0, sizeof(sr));
	for (i = 0; i < NELEM(at); i++) {
		struct snapshot s = web_host(i + 1, 0x1234, T0 + at[i]);

		assert_int_equal(counts_of(&s, &cur, &ncur), 0);
		assert_int_equal(sb_counts_merge(&sr.runs, &sr.nruns, cur, ncur, s.taken, 0), 0);
		free(cur);
		eval_init(&in, &s);
		in.now = s.taken;
		in.runs = sr.runs;
		in.nruns = sr.nruns;
		in.leak_window = 3;
		in.leak_min_snapshots = 6;
		memset(&out, 0, sizeof(out));
		assert_int_equal(findings_eval(&in, &out), 0);
		f = find_kind(&out, FK_LEAK);
		if (i < 5)
			assert_null(f); /* fewer than six snapshots */
		else {
			assert_non_null(f);
			assert_non_null(
			    strstr(f->message, ": 1 to 6 in 24s, never falling, 18000.0 a day"));
		}
		finding_list_free(&out);
		snapshot_free(&s);
	}
	free(sr.runs);
}

/* devicemapper's udev cookies: sets of 1 keyed 0x0d4dXXXX, owned by root. */
static void
test_leak_udev(void **state)
{
	struct series_run sr;
	struct finding_list out;
	const struct finding *f = NULL;
	size_t i;

	(void)state;
	memset(&sr, 0, sizeof(sr));
	for (i = 0; i < 8; i++) {
		struct snapshot s = web_host(3 + i * 2, 0x0d4d1000, T0 + (int64_t)i * 3600);

		series_step(&sr, &s, &out);
		if (i == 7) {
			assert_non_null(f = find_kind(&out, FK_LEAK));
			assert_non_null(strstr(f->message, "48.0 a day"));
			assert_non_null(strstr(f->message, "dmsetup udevcookies"));
		}
		finding_list_free(&out);
		snapshot_free(&s);
	}
	free(sr.runs);
}

/* A queue of capacity 1000 for queue_fill: cbytes at each step, no reader. */
static struct snapshot
queue_host(uint64_t cbytes, uint64_t qnum, int64_t taken)
{
	struct snapshot s = web_host(0, 0, taken);
	struct ipc_object *o = snapshot_add_object(&s);

	limits_set(&s.limits, "msgmnb", 16384);
	limits_set(&s.limits, "msgmni", 32000);
	o->type = IPC_MSG;
	o->id = 98304;
	o->uid = o->cuid = 1000;
	ifl_strlcpy(o->owner, "nagios", sizeof(o->owner));
	o->mode = 0600;
	o->qbytes = 1000;
	o->cbytes = cbytes;
	o->qnum = qnum;
	o->stime = taken - 10;
	o->rtime = 0;
	o->ctime = T0 - 86400;
	return s;
}

/* 85% warn, 95% crit, 87% still crit (hysteresis 5), 60% closed. */
static void
test_queue_fill(void **state)
{
	static const uint64_t fill[] = {850, 950, 870, 600};
	static const int want[] = {SEV_WARN, SEV_CRIT, SEV_CRIT, -1};
	struct series_run sr;
	struct finding_list out;
	const struct finding *f;
	size_t i;

	(void)state;
	memset(&sr, 0, sizeof(sr));
	for (i = 0; i < NELEM(fill); i++) {
		struct snapshot s = queue_host(fill[i], 10 + 20 * i, T0 + (int64_t)i * 600);

		series_step(&sr, &s, &out);
		f = find_kind(&out, FK_QUEUE_FILL);
		if (want[i] < 0) {
			assert_null(f);
		} else {
			assert_non_null(f);
			assert_int_equal(f->severity, want[i]);
			assert_string_equal(f->limit, "msgmnb");
			assert_true(f->has_object);
			assert_int_equal(f->otype, IPC_MSG);
			assert_int_equal(f->oid, 98304);
		}
		if (i == 0)
			assert_string_equal(
			    f->message,
			    "queue 98304 of uid 1000 (nagios) in host holds 850 of 1000 "
			    "bytes (85.0%, warn at 80%) in 10 messages; no reader: "
			    "nothing was ever received from it");
		if (i == 2) /* the messages grew since the first snapshot, never falling */
			assert_string_equal(
			    f->message,
			    "queue 98304 of uid 1000 (nagios) in host holds 870 of 1000 "
			    "bytes (87.0%, crit at 90%) in 50 messages, +40 messages in "
			    "20m00s; no reader: nothing was ever received from it");
		finding_list_free(&out);
		snapshot_free(&s);
	}
	free(sr.runs);
}

/* A 0666 segment: info; warn where jails inherit the host's namespace. */
static void
test_permissions(void **state)
{
	struct snapshot s = web_host(0, 0, T0);
	struct ipc_object *o = snapshot_add_object(&s);
	struct finding_list out = {0};
	struct eval_input in;
	const struct finding *f;
	struct ipc_scope *jail;

	(void)state;
	o->type = IPC_SHM;
	o->id = 65538;
	o->uid = o->cuid = 1000;
	o->gid = 1000;
	ifl_strlcpy(o->owner, "alice", sizeof(o->owner));
	o->mode = 0666;
	o->size = 4096;
	o->cpid = 4242;
	o->nattch = 1;
	/* and one that only its owner may use: nothing */
	o = snapshot_add_object(&s);
	o->type = IPC_SHM;
	o->id = 65539;
	o->mode = 0640;
	o->size = 4096;
	eval_init(&in, &s);
	assert_int_equal(findings_eval(&in, &out), 0);
	assert_non_null(f = find_kind(&out, FK_PERMISSIONS));
	assert_int_equal(f->severity, SEV_INFO);
	assert_int_equal(f->oid, 65538);
	assert_int_equal(f->uid, 1000);
	assert_string_equal(
	    f->message, "segment 65538 of uid 1000 (alice) in host is mode 0666: every user may "
	                "read and write it; members of group 1000 may read and write it; "
	                "created with that mode by uid 1000 (pid 4242)");
	assert_int_equal(out.n, 1);
	finding_list_free(&out);
	/* a FreeBSD jail inherits the host's shm namespace: root there can remove it */
	jail = snapshot_add_scope(&s, "jail:www", "www", SCOPE_JAIL);
	jail->iso[IPC_SHM] = ISO_INHERIT;
	assert_int_equal(findings_eval(&in, &out), 0);
	assert_non_null(f = find_kind(&out, FK_PERMISSIONS));
	assert_int_equal(f->severity, SEV_WARN);
	assert_string_equal(
	    f->message, "segment 65538 of uid 1000 (alice) in host is mode 0666: every user may "
	                "read and write it; members of group 1000 may read and write it; "
	                "created with that mode by uid 1000 (pid 4242); root in 1 other jail(s) "
	                "that inherit the host's (www first) can remove it");
	finding_list_free(&out);
	/*
	 * sysv_shm.c: an inherit jail's root prison is the host's, which sees by
	 * id what every jail below it made: a "new" jail's 0666 segment is in
	 * www's reach too; an inherit jail's own, with no other inherit jail,
	 * is in no other jail's
	 */
	jail = snapshot_add_scope(&s, "jail:pg", "pg", SCOPE_JAIL);
	jail->iso[IPC_SHM] = ISO_NEW;
	s.objects[0].scope = 2;
	assert_int_equal(findings_eval(&in, &out), 0);
	assert_non_null(f = find_kind(&out, FK_PERMISSIONS));
	assert_int_equal(f->severity, SEV_WARN);
	assert_string_equal(f->scope, "jail:pg");
	assert_non_null(
	    strstr(f->message, "; root in 1 other jail(s) that inherit the host's (www "));
	finding_list_free(&out);
	s.objects[0].scope = 1; /* www's own */
	assert_int_equal(findings_eval(&in, &out), 0);
	assert_non_null(f = find_kind(&out, FK_PERMISSIONS));
	assert_int_equal(f->severity, SEV_INFO);
	finding_list_free(&out);
	jail->iso[IPC_SHM] = ISO_INHERIT; /* pg inherits too: www's is in pg's reach */
	assert_int_equal(findings_eval(&in, &out), 0);
	assert_non_null(f = find_kind(&out, FK_PERMISSIONS));
	assert_int_equal(f->severity, SEV_WARN);
	assert_non_null(
	    strstr(f->message, "; root in 1 other jail(s) that inherit the host's (pg "));
	finding_list_free(&out);
	s.objects[0].scope = 0;
	/* an agent's own permissions claim is not taken: the aggregator derives them */
	{
		struct finding *claim = snapshot_add_finding(&s);

		claim->kind = FK_PERMISSIONS;
		claim->severity = SEV_CRIT;
		ifl_strlcpy(claim->message, "trust me", sizeof(claim->message));
		assert_int_equal(findings_eval(&in, &out), 0);
		for (size_t i = 0; i < out.n; i++)
			assert_string_not_equal(out.v[i].message, "trust me");
		finding_list_free(&out);
	}
	snapshot_free(&s);
}

/* A jail's rctl rule is a limit: thresholds apply, the rule is named. */
static void
test_rctl_threshold(void **state)
{
	struct snapshot s = web_host(0, 0, T0);
	struct ipc_scope *jail = snapshot_add_scope(&s, "jail:pg", "pg", SCOPE_JAIL);
	struct finding_list out = {0};
	struct eval_input in;
	const struct finding *f;

	(void)state;
	jail->rctl.has_limit = 1u << RCTL_NSEM | 1u << RCTL_NSEMOP | 1u << RCTL_NSHM;
	jail->rctl.has_used = 1u << RCTL_NSEM | 1u << RCTL_NSEMOP;
	jail->rctl.limit[RCTL_NSEM] = 300;
	jail->rctl.used[RCTL_NSEM] = 255;
	jail->rctl.limit[RCTL_NSEMOP] = 10;
	jail->rctl.used[RCTL_NSEMOP] = 10; /* a per-call cap: no threshold */
	jail->rctl.limit[RCTL_NSHM] = 10;  /* no usage: unknown, no threshold */
	eval_init(&in, &s);
	assert_int_equal(findings_eval(&in, &out), 0);
	assert_non_null(f = find_kind(&out, FK_THRESHOLD));
	assert_int_equal(f->severity, SEV_WARN);
	assert_string_equal(f->limit, "nsem");
	assert_string_equal(f->scope, "jail:pg");
	assert_string_equal(f->message, "nsem at 85.0% in jail:pg: 255 of 300 used, 45 free (rctl "
	                                "rule jail:pg:nsem:deny=300; warn at 80%)");
	assert_int_equal(out.n, 1);
	finding_list_free(&out);
	snapshot_free(&s);
}

/*
 * An orphan whose object is gone stays open as a record of what was removed
 * (info, no command) for orphan_keep, then closes; one whose object is
 * still there closes at once.
 */
static void
test_orphan_removed(void **state)
{
	struct snapshot s = web_host(1, 0x1234, T0);
	struct finding prev, *p = &prev;
	struct finding_list out = {0};
	struct eval_input in;
	const struct finding *f;

	(void)state;
	memset(p, 0, sizeof(*p));
	p->kind = FK_ORPHAN;
	p->severity = SEV_WARN;
	ifl_strlcpy(p->scope, "host", sizeof(p->scope));
	p->has_object = 1;
	p->otype = IPC_SEM;
	p->oid = 65538; /* not in s */
	ifl_strlcpy(p->message, "semaphore set 65538 looks abandoned", sizeof(p->message));
	ifl_strlcpy(p->command, "ipcrm -s 65538", sizeof(p->command));
	p->opened = p->updated = T0 - 600;
	eval_init(&in, &s);
	in.now = T0;
	in.prev = p;
	in.nprev = 1;
	in.orphan_keep = 86400;
	assert_int_equal(findings_eval(&in, &out), 0);
	assert_non_null(f = find_kind(&out, FK_ORPHAN));
	assert_int_equal(f->severity, SEV_INFO);
	assert_string_equal(f->command, "");
	assert_string_equal(f->message, "removed by 2025-11-24T16:00:00Z: semaphore set 65538 "
	                                "looks abandoned");
	prev = *f;
	prev.updated = T0; /* as the store changed it */
	finding_list_free(&out);
	/* kept, unchanged, until orphan_keep after */
	in.now = T0 + 86399;
	assert_int_equal(findings_eval(&in, &out), 0);
	assert_non_null(f = find_kind(&out, FK_ORPHAN));
	assert_string_equal(f->message, prev.message);
	finding_list_free(&out);
	in.now = T0 + 86400;
	assert_int_equal(findings_eval(&in, &out), 0);
	assert_null(find_kind(&out, FK_ORPHAN));
	finding_list_free(&out);
	/* an orphan whose object is still there (used again) just closes */
	prev.oid = 32768;
	ifl_strlcpy(prev.message, "semaphore set 32768 looks abandoned", sizeof(prev.message));
	in.now = T0;
	assert_int_equal(findings_eval(&in, &out), 0);
	assert_null(find_kind(&out, FK_ORPHAN));
	finding_list_free(&out);
	snapshot_free(&s);
}

/* Forecasts name the limit that runs out first. */
static void
test_forecast_binding(void **state)
{
	struct snapshot s = linux_host(500);
	struct sample a[100], b[100];
	struct series sr[2] = {{.limit = "semmns", .v = a, .n = 100},
	                       {.limit = "semmni", .v = b, .n = 100}};
	struct eval_input in;
	struct finding_list out = {0};
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < 100; i++) {
		a[i].t = b[i].t = 1764165600 - (int64_t)(99 - i) * 3600;
		a[i].used = 401 + i;   /* semmns 500 of 1000 now, +24 a day: 20.8 days */
		b[i].used = 1 + i / 4; /* semmni 25 of 128 now, +6 a day: 17.2 days */
	}
	eval_init(&in, &s);
	in.series = sr;
	in.nseries = 2;
	in.horizon = 30 * 86400;
	assert_int_equal(findings_eval(&in, &out), 0);
	for (i = 0; i < out.n; i++) {
		if (out.v[i].kind != FK_FORECAST)
			continue;
		n++;
		if (strcmp(out.v[i].limit, "semmni") == 0)
			assert_non_null(strstr(out.v[i].message, "; it binds first"));
		else
			assert_non_null(strstr(out.v[i].message, "; semmni binds first (around "));
	}
	assert_int_equal(n, 2);
	finding_list_free(&out);
	snapshot_free(&s);
}

/*
 * Bounds: 20,000 segments others may write and 20,000 full queues (more
 * than the 10,000 findings a list takes) and 4,000 jails over their rctl
 * rule: each rule keeps its 256 worst and counts the rest in one finding;
 * the analysis does not fail.
 */
static void
test_capacity_bounded(void **state)
{
	struct snapshot s = web_host(0, 0, T0);
	struct finding_list out = {0};
	struct eval_input in;
	size_t i, perms = 0, queues = 0, rctl = 0, summaries = 0;
	char name[32];

	(void)state;
	for (i = 0; i < 40000; i++) {
		struct ipc_object *o = snapshot_add_object(&s);

		o->id = (int64_t)i;
		o->uid = 1000;
		o->mode = i < 20000 ? 0666 : 0600;
		if (i < 20000) {
			o->type = IPC_SHM;
			o->size = 4096;
		} else {
			o->type = IPC_MSG;
			o->qbytes = 1000;
			o->cbytes = i == 39999 ? 1000 : 950; /* the fullest is kept first */
		}
	}
	for (i = 0; i < 4000; i++) {
		struct ipc_scope *sc;

		snprintf(name, sizeof(name), "jail:j%zu", i);
		assert_non_null(sc = snapshot_add_scope(&s, name, name + 5, SCOPE_JAIL));
		sc->rctl.has_limit = sc->rctl.has_used = 1u << RCTL_NSEM;
		sc->rctl.limit[RCTL_NSEM] = 100;
		sc->rctl.used[RCTL_NSEM] = i == 3999 ? 95 : 85;
	}
	eval_init(&in, &s);
	assert_int_equal(findings_eval(&in, &out), 0);
	for (i = 0; i < out.n; i++) {
		const struct finding *f = &out.v[i];

		if (f->kind == FK_PERMISSIONS && f->has_object)
			perms++;
		else if (f->kind == FK_QUEUE_FILL && f->has_object)
			queues++;
		else if (f->kind == FK_THRESHOLD && strncmp(f->scope, "jail:", 5) == 0)
			rctl++;
		else if (strstr(f->message, " more ") != NULL &&
		         strstr(f->message, "were not listed") != NULL) {
			summaries++;
			if (f->kind == FK_PERMISSIONS)
				assert_string_equal(
				    f->message,
				    "19744 more objects others may read or write were not "
				    "listed (the 256 worst are): ipcfleet host shows every "
				    "object");
			if (f->kind == FK_QUEUE_FILL) {
				assert_int_equal(f->severity, SEV_CRIT);
				assert_non_null(
				    strstr(f->message, "19744 more queues at warn or crit"));
			}
			if (f->kind == FK_THRESHOLD) {
				assert_int_equal(f->severity, SEV_WARN);
				assert_non_null(strstr(f->message, "3744 more jails' rctl rules"));
			}
		}
	}
	assert_int_equal(perms, FINDINGS_PERMS_MAX);
	assert_int_equal(queues, FINDINGS_QUEUES_MAX);
	assert_int_equal(rctl, FINDINGS_RCTL_MAX);
	assert_int_equal(summaries, 3);
	/* the worst are the ones kept: the fullest queue, the jail at 95% (crit) */
	for (i = 0; i < out.n; i++) {
		if (out.v[i].kind == FK_QUEUE_FILL && out.v[i].has_object && out.v[i].oid == 39999)
			queues = 0;
		if (out.v[i].kind == FK_THRESHOLD && strcmp(out.v[i].scope, "jail:j3999") == 0) {
			assert_int_equal(out.v[i].severity, SEV_CRIT);
			rctl = 0;
		}
	}
	assert_int_equal(queues, 0);
	assert_int_equal(rctl, 0);
	finding_list_free(&out);
	snapshot_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sorthat_restart_headroom),
	    cmocka_unit_test(test_sorthat_recommendations),
	    cmocka_unit_test(test_unknown_no_findings),
	    cmocka_unit_test(test_linux_kernel_sem_line),
	    cmocka_unit_test(test_limits_below_host),
	    cmocka_unit_test(test_round_up_nice),
	    cmocka_unit_test(test_forecast_linear),
	    cmocka_unit_test(test_forecast_flat_and_short),
	    cmocka_unit_test(test_forecast_finding),
	    cmocka_unit_test(test_hysteresis),
	    cmocka_unit_test(test_limit_zero),
	    cmocka_unit_test(test_clock_and_agent_findings),
	    cmocka_unit_test(test_orphan_command_checked),
	    cmocka_unit_test(test_findings_plan),
	    cmocka_unit_test(test_finding_index),
	    cmocka_unit_test(test_findings_plan_large),
	    cmocka_unit_test(test_agent_findings_bounded),
	    cmocka_unit_test(test_scopes_bounded),
	    cmocka_unit_test(test_headroom_bounded),
	    cmocka_unit_test(test_leak_hourly),
	    cmocka_unit_test(test_leak_not),
	    cmocka_unit_test(test_leak_udev),
	    cmocka_unit_test(test_leak_uneven),
	    cmocka_unit_test(test_queue_fill),
	    cmocka_unit_test(test_permissions),
	    cmocka_unit_test(test_rctl_threshold),
	    cmocka_unit_test(test_orphan_removed),
	    cmocka_unit_test(test_forecast_binding),
	    cmocka_unit_test(test_capacity_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
