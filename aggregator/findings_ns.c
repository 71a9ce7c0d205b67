/*
 * findings_ns.c: the rule about Linux IPC namespaces' own limits
 * (findings.h): limits_below_host.
 *
 * A new IPC namespace starts from the kernel's compiled-in defaults, not
 * from the host's tuned values: a service that runs on the host fails in a
 * container.  When a namespace's limit is below the host's and its use of
 * that limit is at the warn level, the finding says so with both numbers
 * and the fix for the runtime that made the namespace, read from the
 * scope's name (agent/linux/collect_ns_label.c): docker, podman, a Kubernetes
 * pod, LXC, or nsenter into a process of it for anything else.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "util.h"

/* The four fields of kernel.sem, in the file's order. */
static const char *const ns_sem[4] = {"semmsl", "semmns", "semopm", "semmni"};

/*
 * The sysctl that sets limit to value in scope sc: "kernel.sem=\"A B C D\""
 * (the other three fields as the namespace has them) or "kernel.NAME=V".
 */
static void
ns_sysctl(const struct ipc_scope *sc, const char *limit, uint64_t value, char *out, size_t len)
{
	uint64_t v[4];
	size_t i;

	for (i = 0; i < 4 && strcmp(limit, ns_sem[i]) != 0; i++)
		;
	if (i == 4) {
		snprintf(out, len, "kernel.%s=%" PRIu64, limit, value);
		return;
	}
	for (i = 0; i < 4; i++)
		if (strcmp(limit, ns_sem[i]) == 0 ||
		    limits_get(&sc->limits, ns_sem[i], &v[i]) == -1)
			v[i] = strcmp(limit, ns_sem[i]) == 0 ? value : 0;
	snprintf(out, len, "kernel.sem=\"%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\"", v[0],
	         v[1], v[2], v[3]);
}

/* "pid 26750 python3": 26750; else 0. */
static int64_t
ns_name_pid(const char *name)
{
	const char *errstr;
	char num[24];
	uint64_t pid;
	size_t n;

	if (strncmp(name, "pid ", 4) != 0)
		return 0;
	n = strspn(name + 4, "0123456789");
	if (n == 0 || n >= sizeof(num))
		return 0;
	memcpy(num, name + 4, n);
	num[n] = '\0';
	return parse_u64(num, 1, INT32_MAX, &pid, &errstr) == 0 ? (int64_t)pid : 0;
}

/* The fix for the scope's runtime: message tail, and a command when one applies. */
static void
ns_fix(const struct ipc_scope *sc, const char *set, char *msg, size_t mlen, char *cmd, size_t clen)
{
	const char *n = sc->name;
	int64_t pid;

	cmd[0] = '\0';
	if (strncmp(n, "docker:", 7) == 0 || strncmp(n, "podman:", 7) == 0) {
		snprintf(msg, mlen, "recreate it with %.6s run --sysctl %s", n, set);
		snprintf(cmd, clen, "%.6s run --sysctl %s ...", n, set);
	} else if (strncmp(n, "k8s:", 4) == 0) {
		snprintf(
		    msg, mlen,
		    "kubelet --allowed-unsafe-sysctls and the pod's securityContext.sysctls: %s",
		    set);
	} else if (strncmp(n, "lxc:", 4) == 0) {
		snprintf(msg, mlen, "add lxc.sysctl.%s to the container's config", set);
	} else if ((pid = ns_name_pid(n)) > 0) {
		snprintf(msg, mlen, "nsenter -t %" PRId64 " -i sysctl -w %s", pid, set);
		snprintf(cmd, clen, "nsenter -t %" PRId64 " -i sysctl -w %s", pid, set);
	} else if (strlen(n) > 8 && strcmp(n + strlen(n) - 8, ".service") == 0) {
		snprintf(msg, mlen,
		         "nsenter -t $(systemctl show -p MainPID --value %s) -i sysctl -w %s", n,
		         set);
		snprintf(cmd, clen,
		         "nsenter -t $(systemctl show -p MainPID --value %s) -i sysctl -w %s", n,
		         set);
	} else {
		snprintf(msg, mlen, "nsenter -t PID -i sysctl -w %s, PID a process of %s", set,
		         sc->id);
	}
}

int
eval_limits_below_host(const struct eval_input *in, const struct snapshot *s, size_t i,
                       struct finding_list *out)
{
	const struct ipc_scope *sc = &s->scopes[i];
	struct usage u;
	size_t k;

	if (!sc->own_limits || sc->kind != SCOPE_IPCNS)
		return 0;
	model_usage(s, (int)i, &u);
	for (k = 0; k < u.n; k++) {
		const struct usage_item *it = &u.v[k];
		char set[96], fix[MODEL_TEXT_MAX], cmd[MODEL_TEXT_MAX], msg[2 * MODEL_TEXT_MAX];
		double warn, crit, pct;
		uint64_t host;
		struct finding *f;

		if (!USAGE_KNOWN(it) || limits_get(&s->limits, it->name, &host) == -1 ||
		    it->limit >= host)
			continue;
		in->levels(in->levels_arg, it->name, &warn, &crit);
		pct = usage_pct(it->used, it->limit);
		if (pct < warn)
			continue;
		if ((f = finding_list_add(out)) == NULL)
			return -1;
		f->kind = FK_LIMITS_BELOW_HOST;
		f->severity = SEV_WARN;
		ifl_strlcpy(f->limit, it->name, sizeof(f->limit));
		ifl_strlcpy(f->scope, sc->id, sizeof(f->scope));
		ns_sysctl(sc, it->name, host, set, sizeof(set));
		ns_fix(sc, set, fix, sizeof(fix), cmd, sizeof(cmd));
		ifl_strlcpy(f->command, cmd, sizeof(f->command));
		/* what does not fit the message is in command, ready to paste */
		snprintf(msg, sizeof(msg),
		         "%s in %s: %" PRIu64 " of its own %" PRIu64 " (%.1f%%), below the "
		         "host's %" PRIu64 ": %s",
		         it->name, sc->name, it->used, it->limit, pct, host, fix);
		ifl_strlcpy(f->message, msg, sizeof(f->message));
	}
	return 0;
}
