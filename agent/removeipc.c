/*
 * removeipc.c: systemd's RemoveIPC, read where a Linux host keeps it
 * (collect.h).
 *
 * logind removes every SysV object of a user at that user's last logout
 * when RemoveIPC is in effect, which is systemd's default: a database run as
 * an ordinary user loses its semaphores while it runs.  Users at or below
 * SYS_UID_MAX are spared.  So a finding is made for each owner above it
 * that holds objects in the host's namespace (logind's), when systemd runs
 * and RemoveIPC is not turned off.
 *
 * Read, under ROOT ("" for the running system): whether systemd runs
 * (ROOT/run/systemd/system, as sd_booted(3) tells; a copied tree may only
 * have ROOT/etc/systemd), /etc/systemd/logind.conf and then the drop-ins
 * of /usr/lib, /run and /etc systemd/logind.conf.d (the *.conf files) in lexical order
 * of their names (a later setting wins), and /etc/login.defs.  Files are
 * read bounded and regular only; what cannot be read keeps the default.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "collect.h"
#include "util.h"

#define RIPC_FILE_MAX (256u * 1024) /* one configuration file */
#define RIPC_DROPINS  64            /* drop-ins read, in all */
#define RIPC_SYS_UID  999           /* login.defs' default SYS_UID_MAX */
#define RIPC_NOBODY   65534         /* never logs in, so never logs out */
#define RIPC_NAME_MAX 256

/* path = root + rel, or -1 when it does not fit. */
static int
ripc_path(char *path, size_t len, const char *root, const char *rel)
{
	return (size_t)snprintf(path, len, "%s%s", root, rel) < len ? 0 : -1;
}

/* Whether path is a directory (following links: /run/systemd may be one). */
static int
ripc_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A regular file's text, bounded; NULL when it is not one or cannot be read. */
static char *
ripc_read(const char *path)
{
	struct stat st;
	char *text;
	size_t len;

	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > RIPC_FILE_MAX)
		return NULL;
	if (read_regular_bounded(path, RIPC_FILE_MAX, &text, &len) == -1)
		return NULL;
	return text;
}

/* Trims blanks at both ends of [b, e) in place; returns the new start. */
static char *
ripc_trim(char *b, char *e)
{
	while (b < e && (*b == ' ' || *b == '\t' || *b == '\r'))
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	*e = '\0';
	return b;
}

/* systemd's boolean words: 1, 0, or -1 for anything else. */
static int
ripc_bool(const char *v)
{
	static const char *const yes[] = {"1", "yes", "y", "true", "t", "on"};
	static const char *const no[] = {"0", "no", "n", "false", "f", "off"};
	size_t i;

	for (i = 0; i < NELEM(yes); i++)
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
	for (i = 0; i < NELEM(no); i++)
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	return -1;
}

int
removeipc_parse_logind(char *text, int *removeipc)
{
	char *p = text, *nl;
	int in_login = 0, found = 0;

	for (; p != NULL && *p != '\0'; p = nl != NULL ? nl + 1 : NULL) {
		char *line, *eq, *k, *v;
		int b;

		nl = strchr(p, '\n');
		line = ripc_trim(p, nl != NULL ? nl : p + strlen(p));
		if (*line == '#' || *line == ';' || *line == '\0')
			continue;
		if (*line == '[') {
			in_login = strcmp(line, "[Login]") == 0;
			continue;
		}
		if (!in_login || (eq = strchr(line, '=')) == NULL)
			continue;
		k = ripc_trim(line, eq);
		v = ripc_trim(eq + 1, eq + 1 + strlen(eq + 1));
		if (strcmp(k, "RemoveIPC") == 0 && (b = ripc_bool(v)) != -1) {
			*removeipc = b;
			found = 1;
		}
	}
	return found;
}

int
removeipc_parse_login_defs(char *text, uint32_t *sys_uid_max)
{
	char *p = text, *nl;
	int found = 0;

	for (; p != NULL && *p != '\0'; p = nl != NULL ? nl + 1 : NULL) {
		char *f[3], *line;
		uint64_t v;
		const char *errstr;

		nl = strchr(p, '\n');
		if (nl != NULL)
			*nl = '\0';
		line = p;
		if (*line == '#')
			continue;
		if (split_fields(line, f, 3) == 2 && strcmp(f[0], "SYS_UID_MAX") == 0 &&
		    parse_u64(f[1], 0, UINT32_MAX, &v, &errstr) == 0) {
			*sys_uid_max = (uint32_t)v;
			found = 1;
		}
	}
	return found;
}

static int
ripc_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The drop-ins: *.conf of the three directories, each name once (/etc wins
 * over /run over /usr/lib, as systemd masks), applied in lexical order of
 * the name.  *removeipc changes when one sets it; *src names the last.
 */
static void
ripc_dropins(const char *root, int *removeipc, char *src, size_t srclen)
{
	static const char *const dirs[] = {"/etc/systemd/logind.conf.d",
	                                   "/run/systemd/logind.conf.d",
	                                   "/usr/lib/systemd/logind.conf.d"};
	char *names[RIPC_DROPINS], path[COLLECT_PATH_MAX + RIPC_NAME_MAX];
	size_t n = 0, i, k;
	int from[RIPC_DROPINS];

	for (k = 0; k < NELEM(dirs); k++) {
		struct dirent *de;
		DIR *d;

		if (ripc_path(path, sizeof(path), root, dirs[k]) == -1 ||
		    (d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL && n < RIPC_DROPINS) {
			size_t l = strlen(de->d_name);

			if (l < 6 || l >= RIPC_NAME_MAX || strcmp(de->d_name + l - 5, ".conf") != 0)
				continue;
			for (i = 0; i < n && strcmp(names[i], de->d_name) != 0; i++)
				;
			if (i < n || (names[n] = strdup(de->d_name)) == NULL)
				continue; /* masked by an earlier directory */
			from[n++] = (int)k;
		}
		closedir(d);
	}
	/* lexical order of the names; the directory of each goes along */
	for (i = 1; i < n; i++) {
		for (k = i; k > 0 && ripc_name_cmp(&names[k - 1], &names[k]) > 0; k--) {
			char *t = names[k];
			int tf = from[k];

			names[k] = names[k - 1];
			from[k] = from[k - 1];
			names[k - 1] = t;
			from[k - 1] = tf;
		}
	}
	for (i = 0; i < n; i++) {
		char rel[COLLECT_PATH_MAX], *text;

		snprintf(rel, sizeof(rel), "%s/%s", dirs[from[i]], names[i]);
		if (ripc_path(path, sizeof(path), root, rel) == 0 &&
		    (text = ripc_read(path)) != NULL) {
			if (removeipc_parse_logind(text, removeipc))
				ifl_strlcpy(src, rel, srclen);
			free(text);
		}
		free(names[i]);
	}
}

/* One owner's objects in the host scope. */
struct ripc_owner {
	uint32_t uid;
	char name[MODEL_OWNER_MAX];
	size_t n[3]; /* by enum ipc_type */
};

/* The finding of one owner: who, what, and the two fixes. */
static int
ripc_finding(struct snapshot *s, const struct ripc_owner *o, const char *src, uint32_t sys_uid_max)
{
	static const char *const what[3] = {"segment(s)", "semaphore set(s)", "queue(s)"};
	char who[MODEL_OWNER_MAX + 24], objs[96] = "", msg[COLLECT_PATH_MAX + 512];
	struct finding *f;
	size_t t, len = 0;

	if (o->name[0] != '\0')
		snprintf(who, sizeof(who), "uid %" PRIu32 " (%s)", o->uid, o->name);
	else
		snprintf(who, sizeof(who), "uid %" PRIu32, o->uid);
	for (t = 0; t < 3; t++) {
		int k;

		if (o->n[t] == 0)
			continue;
		k = snprintf(objs + len, sizeof(objs) - len, "%s%zu %s", len ? ", " : "", o->n[t],
		             what[t]);
		if (k > 0 && (size_t)k < sizeof(objs) - len)
			len += (size_t)k;
	}
	if ((f = snapshot_add_finding(s)) == NULL)
		return -1;
	f->kind = FK_REMOVEIPC_RISK;
	f->severity = SEV_WARN;
	f->uid = o->uid;
	ifl_strlcpy(f->owner, o->name, sizeof(f->owner));
	/* a long drop-in path may cut the message: built whole, then bounded */
	snprintf(msg, sizeof(msg),
	         "RemoveIPC is on (%s): %s, above SYS_UID_MAX %" PRIu32
	         ", owns %s, which systemd deletes at its last logout, in use or not; set "
	         "RemoveIPC=no or make it a system user",
	         src, who, sys_uid_max, objs);
	ifl_strlcpy(f->message, msg, sizeof(f->message));
	return 0;
}

int
removeipc_findings(const char *root, struct snapshot *s)
{
	char path[COLLECT_PATH_MAX + 64], src[COLLECT_PATH_MAX] = "systemd's default", *text;
	struct ripc_owner *own = NULL;
	uint32_t sys_uid_max = RIPC_SYS_UID;
	size_t nown = 0, cap = 0, i, k;
	int removeipc = 1, rc = 0;

	/* no systemd, no logind, no RemoveIPC */
	if (ripc_path(path, sizeof(path), root, "/run/systemd/system") == -1)
		return 0;
	if (!ripc_is_dir(path)) {
		if (root[0] == '\0' || ripc_path(path, sizeof(path), root, "/etc/systemd") == -1 ||
		    !ripc_is_dir(path))
			return 0;
	}
	if (ripc_path(path, sizeof(path), root, "/etc/systemd/logind.conf") == 0 &&
	    (text = ripc_read(path)) != NULL) {
		if (removeipc_parse_logind(text, &removeipc))
			ifl_strlcpy(src, "/etc/systemd/logind.conf", sizeof(src));
		free(text);
	}
	ripc_dropins(root, &removeipc, src, sizeof(src));
	if (!removeipc)
		return 0;
	if (ripc_path(path, sizeof(path), root, "/etc/login.defs") == 0 &&
	    (text = ripc_read(path)) != NULL) {
		removeipc_parse_login_defs(text, &sys_uid_max);
		free(text);
	}
	/* the owners above SYS_UID_MAX of the host scope's objects */
	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *o = &s->objects[i];

		/* nobody and the ids that mean "no user" (-1, -2) have no sessions */
		if (o->scope != 0 || o->uid <= sys_uid_max || o->uid == RIPC_NOBODY ||
		    o->uid >= UINT32_MAX - 1 || o->type > IPC_MSG)
			continue;
		for (k = 0; k < nown && own[k].uid != o->uid; k++)
			;
		if (k == nown) {
			if (grow_array(&own, &cap, nown + 1, 8, MODEL_MAX_OBJECTS, sizeof(*own)) ==
			    -1) {
				free(own);
				return -1;
			}
			memset(&own[nown], 0, sizeof(own[nown]));
			own[nown].uid = o->uid;
			ifl_strlcpy(own[nown].name, o->owner, sizeof(own[nown].name));
			nown++;
		}
		own[k].n[o->type]++;
	}
	for (k = 0; k < nown && rc == 0; k++)
		rc = ripc_finding(s, &own[k], src, sys_uid_max);
	free(own);
	return rc;
}
