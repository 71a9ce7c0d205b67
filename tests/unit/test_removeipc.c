/*
 * test_removeipc.c: systemd's RemoveIPC as a copied Linux tree holds it
 * (agent/removeipc.c): logind.conf and its drop-ins, login.defs, and the
 * removeipc_risk findings of the host's objects (tests/fixtures/linux-modern:
 * uid 1000 owns a segment, a set and a queue; uid 0, 33 and 70 are system
 * users; 4294967294 is no user).
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collect.h"
#include "model.h"
#include "util.h"

static char root[64];

static int
rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
put(const char *rel, const char *text)
{
	char path[512], dir[512], *slash;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir + strlen(root) + 1, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		(void)mkdir(dir, 0755);
		*slash = '/';
	}
	if (text == NULL) { /* a directory */
		(void)mkdir(path, 0755);
		return;
	}
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* A copy of linux-modern's proc under a new root. */
static int
setup(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_removeipc.XXXXXX");
	if (mkdtemp(root) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "cp -r %s/linux-modern/proc %s/", FIXTURES, root);
	return system(cmd) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return nftw(root, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/* The removeipc_risk findings of the tree: uids into out, their count returned. */
static size_t
findings(uint32_t *out, size_t max, char *msg, size_t msglen)
{
	struct snapshot s;
	struct collect_warnings w;
	char err[256];
	size_t i, n = 0;

	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	if (collect_linux_root(root, &s, NULL, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	for (i = 0; i < s.nfindings; i++) {
		if (s.findings[i].kind != FK_REMOVEIPC_RISK)
			continue;
		assert_int_equal(s.findings[i].severity, SEV_WARN);
		if (n < max)
			out[n] = s.findings[i].uid;
		if (n == 0 && msg != NULL)
			ifl_strlcpy(msg, s.findings[i].message, msglen);
		n++;
	}
	snapshot_free(&s);
	return n;
}

static void
test_parsers(void **state)
{
	char a[] = "[Login]\nRemoveIPC = no\n", b[] = "# RemoveIPC=no\n[Login]\n#RemoveIPC=no\n",
	     c[] = "[Other]\nRemoveIPC=no\n[Login]\nKillUserProcesses=yes\n",
	     d[] = "[Login]\nRemoveIPC=maybe\n", e[] = "[Login]\r\nRemoveIPC=Off\r\n",
	     f[] = "SYS_UID_MAX\t1500\n#SYS_UID_MAX 10\n", g[] = "SYS_UID_MAX lots\n";
	int r = 1;
	uint32_t u = 999;

	(void)state;
	assert_int_equal(removeipc_parse_logind(a, &r), 1);
	assert_int_equal(r, 0);
	r = 1;
	assert_int_equal(removeipc_parse_logind(b, &r), 0); /* comments only */
	assert_int_equal(removeipc_parse_logind(c, &r), 0); /* another section's */
	assert_int_equal(removeipc_parse_logind(d, &r), 0); /* not a boolean */
	assert_int_equal(r, 1);
	assert_int_equal(removeipc_parse_logind(e, &r), 1);
	assert_int_equal(r, 0);
	assert_int_equal(removeipc_parse_login_defs(f, &u), 1);
	assert_int_equal(u, 1500);
	assert_int_equal(removeipc_parse_login_defs(g, &u), 0);
	assert_int_equal(u, 1500);
}

static void
test_tree(void **state)
{
	uint32_t uid[8];
	char msg[MODEL_TEXT_MAX];

	(void)state;
	/* no systemd: no finding, whatever the objects */
	assert_int_equal(findings(uid, 8, NULL, 0), 0);

	/* systemd, no setting: its default, yes; only uid 1000 is a login user */
	put("run/systemd/system", NULL);
	assert_int_equal(findings(uid, 8, msg, sizeof(msg)), 1);
	assert_int_equal(uid[0], 1000);
	assert_string_equal(msg, "RemoveIPC is on (systemd's default): uid 1000, above SYS_UID_MAX "
	                         "999, owns 1 segment(s), 1 semaphore set(s), 1 queue(s), which "
	                         "systemd deletes at its last logout, in use or not; set "
	                         "RemoveIPC=no or make it a system user");

	/* RemoveIPC=no in logind.conf */
	put("etc/systemd/logind.conf", "[Login]\nRemoveIPC=no\n");
	assert_int_equal(findings(uid, 8, NULL, 0), 0);
	/* a drop-in turns it back on; a later one (by name) wins */
	put("usr/lib/systemd/logind.conf.d/50-yes.conf", "[Login]\nRemoveIPC=yes\n");
	assert_int_equal(findings(uid, 8, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "(/usr/lib/systemd/logind.conf.d/50-yes.conf)"));
	put("run/systemd/logind.conf.d/60-no.conf", "[Login]\nRemoveIPC=no\n");
	assert_int_equal(findings(uid, 8, NULL, 0), 0);
	/* /etc masks a drop-in of the same name in /usr/lib or /run */
	put("etc/systemd/logind.conf.d/60-no.conf", "[Login]\nRemoveIPC=yes\n");
	assert_int_equal(findings(uid, 8, NULL, 0), 1);

	/* SYS_UID_MAX raised above the user: spared */
	put("etc/login.defs", "UID_MIN 2000\nSYS_UID_MAX 1999\n");
	assert_int_equal(findings(uid, 8, NULL, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parsers),
	    cmocka_unit_test(test_tree),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
