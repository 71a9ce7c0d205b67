/*
 * platform_linux.c: platform.h on Linux.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include "linux.h"
#include "log.h"
#include "platform.h"
#include "util.h"

const char platform_os[] = "Linux";

int
platform_collect(enum source_kind kind, struct snapshot *s, struct proc_table *pt,
                 struct collect_warnings *w, char *err, size_t errlen)
{
	if (kind != SRC_AUTO && kind != SRC_LINUX) {
		snprintf(err, errlen,
		         "this agent reads the running Linux system; it was asked for "
		         "another system's live kernel");
		return -1;
	}
	return collect_linux_live(s, pt, w, err, errlen);
}

int64_t
platform_boot_time(void)
{
	struct timespec bt;

	/* CLOCK_BOOTTIME counts suspended time too, as the wall clock does */
	if (clock_gettime(CLOCK_BOOTTIME, &bt) == -1)
		return 0;
	return now_unix() - (int64_t)bt.tv_sec;
}

/*
 * What root is still needed for once the agent has started (docs/SECURITY.md):
 * entering other IPC namespaces (setns: CAP_SYS_ADMIN), opening
 * /proc/PID/ns/ipc and /proc/PID/root of other users' processes
 * (CAP_SYS_PTRACE) and reading below a container's root (/etc/passwd for
 * owner names: CAP_DAC_READ_SEARCH).  Every other capability is dropped from
 * the permitted, effective, inheritable, ambient and (with CAP_SETPCAP)
 * bounding sets, so neither this process nor anything it runs gets them back.
 * The uid stays 0: the spool and the keys belong to root.  A process without
 * capabilities (not root) has nothing to drop.
 */
#define AGENT_CAPS_KEEP                                                                            \
	(1ull << CAP_SYS_ADMIN | 1ull << CAP_SYS_PTRACE | 1ull << CAP_DAC_READ_SEARCH)

void
platform_drop_privileges(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	uint64_t prm, keep;
	int cap;

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) == -1) {
		log_warn("capget; keeping every capability");
		return;
	}
	prm = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	if (prm == 0)
		return;
	keep = prm & AGENT_CAPS_KEEP;
	/* the bounding set first: dropping from it needs CAP_SETPCAP, dropped below */
	for (cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if ((AGENT_CAPS_KEEP & 1ull << cap) == 0 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1 && errno != EPERM)
			log_warn("capability %d: cannot drop it from the bounding set", cap);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(data, 0, sizeof(data));
	data[0].permitted = data[0].effective = (uint32_t)keep;
	data[1].permitted = data[1].effective = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) == -1) {
		log_warn("capset; keeping every capability");
		return;
	}
	log_debug("capabilities: kept sys_admin, sys_ptrace and dac_read_search (those held)");
}
