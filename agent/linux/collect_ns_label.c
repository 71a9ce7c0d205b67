/*
 * collect_ns_label.c: what an IPC namespace is called (collect_ns.c).  The
 * container or unit its member's /proc/PID/cgroup names, else the host
 * name of its UTS namespace when that differs from ours, else its oldest
 * process; names already made are kept between snapshots.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "collect_ns_local.h"
#include "linux.h"
#include "util.h"

/* ---- cgroup labels ---- */

/* Copies n bytes to out with control characters as '?', cut to fit. */
static void
ns_clean(char *out, size_t outlen, const char *in, size_t n)
{
	size_t i;

	if (outlen == 0)
		return;
	for (i = 0; i < n && i + 1 < outlen; i++)
		out[i] = ((unsigned char)in[i] < 0x20 || in[i] == 0x7f) ? '?' : in[i];
	out[i] = '\0';
}

static int
ns_starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && memcmp(s, prefix, k) == 0;
}

static int
ns_ends(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* n characters of lowercase hex, at least NS_ID12 of them. */
static int
ns_hexid(const char *s, size_t n)
{
	size_t i;

	if (n < NS_ID12)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* "PREFIX" + the first 12 characters of id into out. */
static void
ns_label12(char *out, size_t outlen, const char *prefix, const char *id, size_t n)
{
	char buf[NS_LABEL_MAX];
	size_t k = strlen(prefix), i;

	if (n > NS_ID12)
		n = NS_ID12;
	memcpy(buf, prefix, k);
	for (i = 0; i < n; i++) /* systemd writes pod uids with '_' for '-' */
		buf[k + i] = id[i] == '_' ? '-' : id[i];
	ns_clean(out, outlen, buf, k + n);
}

/*
 * The kubepods part of a path (components c[0..n)): the pod uid (hostIPC is
 * a pod's setting), else the container id of the last component.  Returns 1
 * with out set, or 0: not a container (a conmon process runs outside the
 * pod's namespaces).
 */
static int
ns_k8s(char *const *c, const size_t *len, size_t n, char *out, size_t outlen)
{
	const char *id = c[n - 1], *p;
	size_t il = len[n - 1], i;

	if (memmem(id, il, "conmon", 6) != NULL)
		return 0;
	for (i = 0; i < n; i++) {
		const char *x = c[i], *uid;
		size_t l = len[i], ul;

		/* "pod<uid>" (cgroupfs), "kubepods[-<qos>]-pod<uid>.slice" (systemd) */
		if (ns_starts(x, l, "pod")) {
			uid = x + 3;
			ul = l - 3;
		} else if (ns_starts(x, l, "kubepods-") && ns_ends(x, l, ".slice") &&
		           (p = memmem(x, l - 6, "-pod", 4)) != NULL) {
			uid = p + 4;
			ul = (size_t)(x + l - 6 - uid);
		} else {
			continue;
		}
		if (ul >= NS_ID12) {
			ns_label12(out, outlen, "k8s:", uid, ul);
			return 1;
		}
	}
	/* "cri-containerd-<id>.scope", "crio-<id>.scope", "docker-<id>.scope", "<id>" */
	if (ns_ends(id, il, ".scope"))
		il -= 6;
	if ((p = memrchr(id, '-', il)) != NULL) {
		il -= (size_t)(p + 1 - id);
		id = p + 1;
	}
	if (!ns_hexid(id, il))
		return 0;
	ns_label12(out, outlen, "k8s:", id, il);
	return 1;
}

/*
 * One cgroup path: 1 with a container label, 2 with a service label (the
 * last "*.service" component), 0 for neither.
 */
static int
ns_cgroup_path(char *path, char *out, size_t outlen)
{
	char *c[64];
	size_t len[64], n = 0, i;
	char *p = path;
	int service = 0;

	while (*p != '\0' && n < NELEM(c)) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		c[n] = p;
		while (*p != '\0' && *p != '/')
			p++;
		len[n] = (size_t)(p - c[n]);
		n++;
	}
	for (i = 0; i < n; i++) {
		const char *x = c[i];
		size_t l = len[i];

		if (ns_starts(x, l, "kubepods"))
			return ns_k8s(c + i, len + i, n - i, out, outlen);
		if (ns_starts(x, l, "docker-") && ns_ends(x, l, ".scope") &&
		    ns_hexid(x + 7, l - 13)) {
			ns_label12(out, outlen, "docker:", x + 7, l - 13);
			return 1;
		}
		if (i + 1 < n && l == 6 && memcmp(x, "docker", 6) == 0 &&
		    ns_hexid(c[i + 1], len[i + 1])) {
			ns_label12(out, outlen, "docker:", c[i + 1], len[i + 1]);
			return 1;
		}
		/* containerd without kubernetes (nerdctl, ctr): its own scope */
		if (ns_starts(x, l, "cri-containerd-") && ns_ends(x, l, ".scope") &&
		    ns_hexid(x + 15, l - 21)) {
			ns_label12(out, outlen, "containerd:", x + 15, l - 21);
			return 1;
		}
		if (ns_starts(x, l, "libpod-") && !ns_starts(x, l, "libpod-conmon-") &&
		    ns_ends(x, l, ".scope") && ns_hexid(x + 7, l - 13)) {
			ns_label12(out, outlen, "podman:", x + 7, l - 13);
			return 1;
		}
		if ((i + 1 < n && l == 3 && memcmp(x, "lxc", 3) == 0) ||
		    (ns_starts(x, l, "lxc.payload.") && l > 12)) {
			char buf[NS_LABEL_MAX];
			const char *name = l == 3 ? c[i + 1] : x + 12;
			size_t nl = l == 3 ? len[i + 1] : l - 12;

			if (nl > sizeof(buf) - 5)
				nl = sizeof(buf) - 5;
			memcpy(buf, "lxc:", 4);
			memcpy(buf + 4, name, nl);
			ns_clean(out, outlen, buf, 4 + nl);
			return 1;
		}
		if (ns_ends(x, l, ".service") && l > 8) {
			ns_clean(out, outlen, x, l);
			service = 1;
		}
	}
	return service ? 2 : 0;
}

int
ns_cgroup_label(const char *cgroup, char *out, size_t outlen)
{
	char path[NS_CGPATH_MAX + 1], service[NS_LABEL_MAX] = "", label[NS_LABEL_MAX];
	const char *p = cgroup;

	if (outlen > 0)
		out[0] = '\0';
	/* "ID:CONTROLLERS:PATH" per line; a container on any line wins */
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		const char *c1 = memchr(p, ':', len), *c2;
		int rc;

		if (c1 != NULL && (c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p))) != NULL &&
		    (size_t)(p + len - (c2 + 1)) <= NS_CGPATH_MAX) {
			memcpy(path, c2 + 1, (size_t)(p + len - (c2 + 1)));
			path[p + len - (c2 + 1)] = '\0';
			label[0] = '\0';
			rc = ns_cgroup_path(path, label, sizeof(label));
			if (rc == 1) {
				ns_clean(out, outlen, label, strlen(label));
				return 1;
			}
			if (rc == 2 && service[0] == '\0')
				memcpy(service, label, sizeof(service));
		}
		p = nl != NULL ? nl + 1 : p + len;
	}
	if (service[0] != '\0') {
		ns_clean(out, outlen, service, strlen(service));
		return 2;
	}
	return 0;
}

/* The inode of /proc/PID/ns/NAME; -1 with errno. */
static int
ns_inode(int64_t pid, const char *name, uint64_t *ino)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%lld/ns/%s", (long long)pid, name);
	if (stat(path, &st) == -1)
		return -1;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

/*
 * The cgroup path a process runs in, for the scope's "cgroup": the unified
 * hierarchy's ("0::PATH"), else the first line's.  "" when there is none.
 */
static void
ns_cgroup_of(const char *text, char *out, size_t outlen)
{
	const char *p = text, *first = NULL;
	size_t firstlen = 0;

	out[0] = '\0';
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		const char *c1 = memchr(p, ':', len), *c2;

		if (c1 != NULL && (c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p))) != NULL) {
			size_t pl = (size_t)(p + len - (c2 + 1));

			if (c1 == p + 1 && p[0] == '0' && c2 == c1 + 1) {
				ns_clean(out, outlen, c2 + 1, pl);
				return;
			}
			if (first == NULL) {
				first = c2 + 1;
				firstlen = pl;
			}
		}
		p = nl != NULL ? nl + 1 : p + len;
	}
	if (first != NULL)
		ns_clean(out, outlen, first, firstlen);
}

/* The start time of pid (clock ticks after boot, /proc/PID/stat field 22), or -1. */
static int64_t
ns_start_time(int64_t pid)
{
	char *text, *p;
	unsigned long long st;
	int field;

	if (ns_read_pid_file(pid, "stat", &text) == -1)
		return -1;
	/* "pid (comm) state ...": comm may hold blanks and parentheses */
	p = strrchr(text, ')');
	for (field = 2; p != NULL && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", &st) != 1 || st > INT64_MAX) {
		free(text);
		return -1;
	}
	free(text);
	return (int64_t)st;
}

/*
 * "pid 26750 python3": the oldest process of namespace i (earliest start;
 * the lowest pid when that cannot be read), for a namespace that nothing
 * else names.
 */
static void
ns_oldest(const struct ns_scan *sc, uint32_t i, char *out, size_t outlen)
{
	int64_t best = -1, best_t = -1, t;
	char *comm, buf[NS_LABEL_MAX];
	size_t k, n;

	for (k = 0; k < sc->nprocs; k++) {
		if (sc->procs[k].ns != i)
			continue;
		t = ns_start_time(sc->procs[k].pid);
		if (best == -1 || (t >= 0 && (best_t < 0 || t < best_t)) ||
		    (t < 0 && best_t < 0 && sc->procs[k].pid < best)) {
			best = sc->procs[k].pid;
			best_t = t;
		}
	}
	if (best == -1)
		return;
	if (ns_read_pid_file(best, "comm", &comm) == 0) {
		n = strcspn(comm, "\n");
		comm[n] = '\0';
		snprintf(buf, sizeof(buf), "pid %lld %s", (long long)best, comm);
		free(comm);
	} else {
		snprintf(buf, sizeof(buf), "pid %lld", (long long)best);
	}
	ns_clean(out, outlen, buf, strlen(buf));
}

/*
 * A name for namespace i from member pid: the container or unit of its
 * cgroup, else the host name of its UTS namespace when not ours, else its
 * oldest process ("pid 26750 python3").  cg receives the member's cgroup.
 */
void
ns_label(struct ns_scan *sc, uint32_t i, int64_t pid, char *out, size_t outlen, char *cg,
         size_t cglen)
{
	struct utsname un;
	char *text, path[64];
	uint64_t uts;
	int fd;

	out[0] = '\0';
	cg[0] = '\0';
	if (ns_read_pid_file(pid, "cgroup", &text) == 0) {
		ns_cgroup_label(text, out, outlen);
		ns_cgroup_of(text, cg, cglen);
		free(text);
		if (out[0] != '\0')
			return;
	}
	/* the host name only means something when it is not our own */
	if (sc->own_uts != 0 && ns_inode(pid, "uts", &uts) == 0 && uts != sc->own_uts) {
		snprintf(path, sizeof(path), "/proc/%lld/ns/uts", (long long)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
			/* this thread only: it exits when the namespaces are read */
			if (setns(fd, CLONE_NEWUTS) == 0 && uname(&un) == 0 &&
			    un.nodename[0] != '\0' && strcmp(un.nodename, "(none)") != 0)
				ns_clean(out, outlen, un.nodename,
				         strnlen(un.nodename, sizeof(un.nodename)));
			close(fd);
		}
		if (out[0] != '\0')
			return;
	}
	ns_oldest(sc, i, out, outlen);
}

/*
 * Names of namespaces already seen, kept between snapshots: a namespace's
 * name comes from its lowest member's cgroup, host name or process list,
 * which cost a dozen reads (its oldest process: one stat file per member);
 * while the namespace (its inode) and the member it was named after (its
 * lowest pid) are the same, the name stays.  A namespace lives as long as
 * a member does, and pids are not reused among the living.  Touched by the
 * reader thread only, one snapshot at a time.  NS_NAMES_KEEP entries, the
 * least recently used one replaced.
 */
#define NS_NAMES_KEEP 512

struct ns_name {
	uint64_t ino;
	int64_t pid; /* the member the name was made from */
	uint64_t used;
	char label[NS_LABEL_MAX];
	char cgroup[MODEL_CGROUP_MAX];
};
static struct ns_name ns_names[NS_NAMES_KEEP];
static uint64_t ns_names_clock;

/* The kept name of namespace ino made from member pid: 1 with out and cg, else 0. */
int
ns_name_get(uint64_t ino, int64_t pid, char *out, size_t outlen, char *cg, size_t cglen)
{
	size_t i;

	for (i = 0; i < NS_NAMES_KEEP; i++) {
		struct ns_name *n = &ns_names[i];

		if (n->ino != ino || n->pid != pid)
			continue;
		n->used = ++ns_names_clock;
		ifl_strlcpy(out, n->label, outlen);
		ifl_strlcpy(cg, n->cgroup, cglen);
		return 1;
	}
	return 0;
}

void
ns_name_put(uint64_t ino, int64_t pid, const char *label, const char *cg)
{
	struct ns_name *slot = &ns_names[0];
	size_t i;

	for (i = 0; i < NS_NAMES_KEEP; i++) {
		if (ns_names[i].ino == ino) {
			slot = &ns_names[i];
			break;
		}
		if (ns_names[i].used < slot->used)
			slot = &ns_names[i];
	}
	slot->ino = ino;
	slot->pid = pid;
	slot->used = ++ns_names_clock;
	ifl_strlcpy(slot->label, label, sizeof(slot->label));
	ifl_strlcpy(slot->cgroup, cg, sizeof(slot->cgroup));
}

/* Warnings of one namespace, prefixed with its id. */
