/*
 * platform_linux.c: platform.h on Linux.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
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

/*
 * platform_release_code (issue 17, memory that counts).  The kernel maps a
 * file's pages around each one faulted in (fault-around), so the start's
 * one-time code left about 4 MB of libcrypto in the agent's resident set,
 * which proportional set size counts as the agent's share.  From
 * /proc/self/smaps: each read-only mapping of a file (code, constants)
 * whose pages are all the file's (Anonymous, Private_Dirty and Swap 0 kB:
 * no page copied on write, as relocations copy theirs) gets MADV_DONTNEED,
 * which for such a mapping only removes the page table entries.
 */
#define SMAPS_MAX (4u << 20)

struct code_map {
	uintptr_t lo, hi;
	int file;  /* r-xp or r--p, of a file */
	int owned; /* a page of its own: Anonymous, Private_Dirty or Swap above 0 */
};

static void
code_map_release(const struct code_map *m)
{
	if (m->file && !m->owned && m->hi > m->lo)
		(void)madvise((void *)m->lo, m->hi - m->lo, MADV_DONTNEED);
}

void
platform_release_code(void)
{
	struct code_map m = {0, 0, 0, 0};
	char *text = NULL, *line, *next;
	size_t len;

	if (read_file_bounded("/proc/self/smaps", SMAPS_MAX, &text, &len) == -1)
		return;
	for (line = text; line != NULL && *line != '\0'; line = next) {
		unsigned long long lo, hi, kb;
		char perms[8], path[2];
		int n;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		/* "LO-HI PERMS OFFSET DEV INODE PATH": a mapping's first line */
		if ((n = sscanf(line, "%llx-%llx %7s %*s %*s %*s %1s", &lo, &hi, perms, path)) >=
		    3) {
			code_map_release(&m);
			m.lo = (uintptr_t)lo;
			m.hi = (uintptr_t)hi;
			m.file = n == 4 &&
			         (strcmp(perms, "r-xp") == 0 || strcmp(perms, "r--p") == 0) &&
			         path[0] == '/';
			m.owned = 0;
		} else if ((sscanf(line, "Anonymous: %llu kB", &kb) == 1 ||
		            sscanf(line, "Private_Dirty: %llu kB", &kb) == 1 ||
		            sscanf(line, "Swap: %llu kB", &kb) == 1) &&
		           kb != 0) {
			m.owned = 1;
		}
	}
	code_map_release(&m); /* the last one */
	free(text);
}
