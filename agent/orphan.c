/*
 * orphan.c: orphaned objects and shared namespaces (orphan.h).
 *
 * The process table answers whether a pid is alive (proc_table_alive) and
 * whether a uid has a process in a scope (proc_table_has_owner); the index
 * here adds each scope's first process, for the shared-namespace findings.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orphan.h"
#include "text.h"
#include "util.h"

/* The process table, indexed. */
struct orphan_index {
	struct proc_table *pt; /* pids alive, and owners: uids read as asked */
	int64_t *member;       /* per scope: its first process in pt, or 0 */
};

static void
orphan_index_free(struct orphan_index *ix)
{
	free(ix->member);
	memset(ix, 0, sizeof(*ix));
}

static int
orphan_index_build(struct orphan_index *ix, const struct snapshot *s, struct proc_table *pt)
{
	size_t i, n = pt->n;

	memset(ix, 0, sizeof(*ix));
	if (s->nscopes == 0)
		return -1;
	if ((ix->member = calloc(s->nscopes, sizeof(*ix->member))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const struct proc_entry *p = &pt->v[i];

		/* PROC_SCOPE_NONE and bad indices own nothing in any listed scope */
		if (p->scope >= s->nscopes)
			continue;
		if (ix->member[p->scope] == 0 && p->pid > 0)
			ix->member[p->scope] = p->pid;
	}
	ix->pt = pt;
	return 0;
}

static int
orphan_alive(const struct orphan_index *ix, int64_t pid)
{
	/* one that cannot be told may run: no evidence of an orphan */
	return proc_table_alive(ix->pt, pid) != 0;
}

static int
orphan_has_owner(const struct orphan_index *ix, uint32_t scope, uint32_t uid)
{
	/* one that cannot be told may run: no evidence of an orphan */
	return proc_table_has_owner(ix->pt, scope, uid) != 0;
}

void
orphan_age_str(int64_t age, char *out, size_t len)
{
	if (age < 0)
		age = 0;
	if (age < 120)
		snprintf(out, len, "%" PRId64 "s", age);
	else if (age < 2 * 3600)
		snprintf(out, len, "%" PRId64 "m", age / 60);
	else if (age < 2 * 86400)
		snprintf(out, len, "%" PRId64 "h", age / 3600);
	else
		snprintf(out, len, "%" PRId64 "d", age / 86400);
}

/* A jail name a shell takes literally: [A-Za-z0-9_.-], not starting with '-'. */
static int
orphan_shell_safe(const char *s)
{
	if (*s == '\0' || *s == '-')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

/* orphan_command with the member pid of the scope already known (0: none). */
static int
orphan_cmd(const struct snapshot *s, uint32_t scope, int64_t member, enum ipc_type t, int64_t id,
           char *out, size_t len)
{
	static const char flag[3] = {'m', 's', 'q'}; /* indexed by enum ipc_type */
	const struct ipc_scope *sc;
	int n = -1;

	if (len > 0)
		out[0] = '\0';
	if (scope >= s->nscopes || (unsigned)t > IPC_MSG)
		return -1;
	sc = &s->scopes[scope];
	switch (sc->kind) {
	case SCOPE_HOST:
		n = snprintf(out, len, "ipcrm -%c %" PRId64, flag[t], id);
		break;
	case SCOPE_IPCNS:
		if (member <= 0)
			return -1;
		n = snprintf(out, len, "nsenter -t %" PRId64 " -i ipcrm -%c %" PRId64, member,
		             flag[t], id);
		break;
	case SCOPE_JAIL:
		if (strncmp(sc->id, "jail:", 5) != 0 || !orphan_shell_safe(sc->id + 5))
			return -1;
		n = snprintf(out, len, "jexec %s ipcrm -%c %" PRId64, sc->id + 5, flag[t], id);
		break;
	}
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

int
orphan_command(const struct snapshot *s, const struct proc_table *pt, uint32_t scope,
               enum ipc_type t, int64_t id, char *out, size_t len)
{
	int64_t member = 0;
	size_t i;

	for (i = 0; pt != NULL && i < pt->n; i++) {
		if (pt->v[i].scope == scope && pt->v[i].pid > 0) {
			member = pt->v[i].pid;
			break;
		}
	}
	return orphan_cmd(s, scope, member, t, id, out, len);
}

/* "host", "jail www", "IPC namespace docker:0123456789ab": where, in a message. */
static void
orphan_where(const struct ipc_scope *sc, char *out, size_t len)
{
	switch (sc->kind) {
	case SCOPE_HOST:
		snprintf(out, len, "host");
		break;
	case SCOPE_JAIL:
		snprintf(out, len, "jail %s", sc->name);
		break;
	case SCOPE_IPCNS:
		snprintf(out, len, "IPC namespace %s", sc->name);
		break;
	default:
		snprintf(out, len, "%s", sc->id);
		break;
	}
}

static void orphan_msg(struct finding *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Sets f->message, cut at a character and cleaned by the one text rule
 * (text.h): names a collector read may hold anything, and one bad finding
 * must not block a snapshot.
 */
static void
orphan_msg(struct finding *f, const char *fmt, ...)
{
	char raw[sizeof(f->message)];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(raw, sizeof(raw), fmt, ap) < 0)
		raw[0] = '\0';
	va_end(ap);
	text_clean(f->message, sizeof(f->message), raw, strlen(raw));
}

/* Seconds since the latest of the object's times; -1 when it has none or
 * one of them is unknown (the latest use could be that one). */
static int64_t
orphan_age(const struct ipc_object *o, int64_t now)
{
	int64_t t = o->ctime;

	if (o->unknown & (OF_CTIME | OF_ATIME | OF_DTIME | OF_OTIME | OF_STIME | OF_RTIME))
		return -1;

	switch (o->type) {
	case IPC_SHM:
		t = o->atime > t ? o->atime : t;
		t = o->dtime > t ? o->dtime : t;
		break;
	case IPC_SEM:
		t = o->otime > t ? o->otime : t;
		break;
	case IPC_MSG:
		t = o->stime > t ? o->stime : t;
		t = o->rtime > t ? o->rtime : t;
		break;
	}
	if (t <= 0)
		return -1;
	return now > t ? now - t : 0; /* a clock behind the kernel's: just used */
}

/*
 * Fills the message of orphan o: what it is, the evidence that it looks
 * abandoned (each fact checked: nattch 0, its creator and last user gone,
 * its owner's processes in its scope), when it was last used and made, and
 * why there is no command when none can be built.  Bounded by
 * MODEL_TEXT_MAX (snprintf cuts).
 */
static void
orphan_message(struct finding *f, const struct orphan_index *ix, const struct snapshot *s,
               const struct ipc_object *o, int64_t age, int age_known, int64_t now)
{
	char who[MODEL_OWNER_MAX + 32], where[MODEL_NAME_MAX + 32], when[64], ago[24];
	char made[40] = "", owner[MODEL_NAME_MAX + 96], users[96], nocmd[MODEL_NAME_MAX + 96] = "";

	if (o->owner[0] != '\0')
		snprintf(who, sizeof(who), "uid %" PRIu32 " %s", o->uid, o->owner);
	else
		snprintf(who, sizeof(who), "uid %" PRIu32, o->uid);
	orphan_where(&s->scopes[o->scope], where, sizeof(where));
	if (age_known) {
		orphan_age_str(age, ago, sizeof(ago));
		snprintf(when, sizeof(when), "last used %s ago", ago);
	} else {
		snprintf(when, sizeof(when), "last use unknown");
	}
	if (!(o->unknown & OF_CTIME) && o->ctime > 0 && o->ctime <= now) {
		orphan_age_str(now - o->ctime, ago, sizeof(ago));
		snprintf(made, sizeof(made), ", made %s ago", ago);
	}
	if (orphan_has_owner(ix, o->scope, o->uid))
		snprintf(owner, sizeof(owner), "uid %" PRIu32 " still runs in %s", o->uid, where);
	else
		snprintf(owner, sizeof(owner), "no process of uid %" PRIu32 " is left in %s",
		         o->uid, where);
	if (f->command[0] == '\0' && s->scopes[o->scope].kind == SCOPE_IPCNS)
		snprintf(nocmd, sizeof(nocmd), "; no command: no process is known to enter %s",
		         where);
	else if (f->command[0] == '\0')
		snprintf(nocmd, sizeof(nocmd), "; no command: %s's name is not safe to paste",
		         where);
	switch (o->type) {
	case IPC_SHM:
		if (o->lpid <= 0)
			snprintf(users, sizeof(users),
			         "never attached, creator pid %" PRId64 " gone", o->cpid);
		else
			snprintf(users, sizeof(users),
			         "creator pid %" PRId64 " and last user pid %" PRId64 " gone",
			         o->cpid, o->lpid);
		orphan_msg(f,
		           "shared memory segment %" PRId64 " (%" PRIu64
		           " bytes, %s) looks abandoned: nattch 0, %s, %s; %s%s%s",
		           o->id, o->size, who, users, owner, when, made, nocmd);
		break;
	case IPC_SEM:
		orphan_msg(f,
		           "semaphore set %" PRId64 " (%" PRIu64
		           " semaphores, %s) looks abandoned: %s; %s%s%s",
		           o->id, o->nsems, who, owner, when, made, nocmd);
		break;
	case IPC_MSG:
		orphan_msg(f,
		           "message queue %" PRId64 " (%" PRIu64 " messages, %" PRIu64
		           " bytes, %s) looks abandoned: %s; %s%s%s",
		           o->id, o->qnum, o->cbytes, who, owner, when, made, nocmd);
		break;
	}
}

/* Whether o looks abandoned by the rules of orphan.h (age aside). */
static int
orphan_abandoned(const struct orphan_index *ix, const struct ipc_object *o)
{
	switch (o->type) {
	case IPC_SHM:
		/* the evidence must be there: an unknown figure proves nothing */
		if (o->unknown & (OF_NATTCH | OF_CPID | OF_LPID))
			return 0;
		/* SHM_DEST (01000): already on its way out once the last user detaches */
		if (o->nattch != 0 || (o->mode & 01000) != 0 || o->cpid <= 0)
			return 0;
		if (orphan_alive(ix, o->cpid))
			return 0;
		return o->lpid <= 0 || !orphan_alive(ix, o->lpid);
	case IPC_SEM:
	case IPC_MSG:
		/* an owner that could not be read is (uid_t)-1, which no process has:
		 * its absence proves nothing (a FreeBSD name not in the passwd given) */
		if (o->uid == UINT32_MAX)
			return 0;
		return !orphan_has_owner(ix, o->scope, o->uid);
	}
	return 0;
}

int
orphan_scan(struct snapshot *s, struct proc_table *pt, uint64_t min_age, int64_t now)
{
	struct orphan_index ix;
	size_t i;

	if (pt == NULL || !pt->valid)
		return 0;
	if (orphan_index_build(&ix, s, pt) == -1)
		return -1;
	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *o = &s->objects[i];
		struct finding *f;
		int64_t age;

		if (o->scope >= s->nscopes || !orphan_abandoned(&ix, o))
			continue;
		age = orphan_age(o, now);
		/* compared as unsigned: min_age may exceed INT64_MAX in theory */
		if (age < 0 ? min_age > 0 : (uint64_t)age < min_age)
			continue;
		if ((f = snapshot_add_finding(s)) == NULL)
			break; /* MODEL_MAX_FINDINGS: the first ones are reported */
		f->kind = FK_ORPHAN;
		f->severity = o->type == IPC_SEM ? SEV_WARN : SEV_INFO;
		ifl_strlcpy(f->scope, s->scopes[o->scope].id, sizeof(f->scope));
		f->has_object = 1;
		f->otype = o->type;
		f->oid = o->id;
		f->age = age < 0 ? 0 : age;
		f->uid = o->uid;
		/* one command for this object only, in its jail or namespace: never a sweep */
		orphan_cmd(s, o->scope, ix.member[o->scope], o->type, o->id, f->command,
		           sizeof(f->command));
		orphan_message(f, &ix, s, o, age, age >= 0, now);
	}
	orphan_index_free(&ix);
	return 0;
}

void
orphan_isolation(struct snapshot *s)
{
	size_t i, k;

	for (i = 0; i < s->nscopes; i++) {
		const struct ipc_scope *sc = &s->scopes[i];
		char types[16] = "";
		struct finding *f;
		int t, dup = 0;

		if (sc->kind != SCOPE_JAIL)
			continue;
		for (t = IPC_SHM; t <= IPC_MSG; t++) {
			if (sc->iso[t] != ISO_INHERIT)
				continue;
			if (types[0] != '\0')
				ifl_strlcat(types, "/", sizeof(types));
			ifl_strlcat(types, ipc_type_name((enum ipc_type)t), sizeof(types));
		}
		if (types[0] == '\0')
			continue;
		for (k = 0; k < s->nfindings && !dup; k++)
			dup = s->findings[k].kind == FK_ISOLATION &&
			      strcmp(s->findings[k].scope, sc->id) == 0;
		if (dup || (f = snapshot_add_finding(s)) == NULL)
			continue;
		f->kind = FK_ISOLATION;
		f->severity = SEV_WARN;
		ifl_strlcpy(f->scope, sc->id, sizeof(f->scope));
		orphan_msg(f,
		           "jail %s shares the host's SysV %s namespace (inherit): root in it can "
		           "read and remove other jails' objects",
		           sc->name, types);
	}
}

int
orphan_findings(struct snapshot *s, struct proc_table *pt, uint64_t min_age, int64_t now)
{
	orphan_isolation(s);
	return orphan_scan(s, pt, min_age, now);
}
