/*
 * platform_freebsd.c: platform.h on FreeBSD.
 *
 * The running system is read by the same parsers as a capture
 * (collect_freebsd.c), from the output of sysctl, ipcs, jls, ps and jexec;
 * only what the kernel says directly is asked here.
 */
#include <sys/types.h>
#include <sys/sysctl.h>
#include <sys/time.h>

#include <stdio.h>
#include <string.h>

#include "collect_freebsd.h"
#include "platform.h"

const char platform_os[] = "FreeBSD";

int
platform_collect(enum source_kind kind, struct snapshot *s, struct proc_table *pt,
                 struct collect_warnings *w, char *err, size_t errlen)
{
	struct source live;

	if (kind != SRC_AUTO && kind != SRC_FREEBSD) {
		snprintf(err, errlen,
		         "--source linux reads a running Linux kernel and this is FreeBSD; "
		         "use --source linux-root:DIR for a copied Linux tree");
		return -1;
	}
	memset(&live, 0, sizeof(live));
	live.kind = SRC_FREEBSD;
	return collect_freebsd(&live, s, pt, w, err, errlen);
}

int64_t
platform_boot_time(void)
{
	struct timeval tv;
	size_t len = sizeof(tv);

	/* kern.boottime: when the system booted, as a struct timeval */
	if (sysctlbyname("kern.boottime", &tv, &len, NULL, 0) == -1 || len != sizeof(tv))
		return 0;
	return (int64_t)tv.tv_sec;
}

void
platform_drop_privileges(void)
{
	/*
	 * FreeBSD has no capability sets to shrink, and Capsicum's capability
	 * mode forbids the exec of ipcs, jls and jexec the collector needs.
	 */
}

void
platform_release_code(void)
{
	/* jemalloc and the VM system: nothing of the kind measured there (issue 17) */
}
