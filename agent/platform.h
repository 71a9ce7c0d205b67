/*
 * platform.h: what the agent asks of the system it runs on.
 *
 * One implementation per operating system, chosen by agent/CMakeLists.txt:
 * agent/linux/platform_linux.c and agent/freebsd/platform_freebsd.c.  The
 * rest of the agent (parsers of captured output, the spool, delivery) is
 * portable and builds everywhere; only what needs the running kernel's own
 * interfaces sits behind these functions.
 */
#ifndef IPCFLEET_PLATFORM_H
#define IPCFLEET_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "collect.h"
#include "model.h"

/* The system the agent was built for: "Linux" or "FreeBSD". */
extern const char platform_os[];

/*
 * Reads the running system (--source auto, and the source naming this
 * system: linux on Linux, freebsd on FreeBSD).  Like collect(): 0, or -1
 * with err.  A source for another system's live kernel (--source linux on
 * FreeBSD) is refused with a line that names the portable alternative.
 */
int platform_collect(enum source_kind kind, struct snapshot *s, struct proc_table *pt,
                     struct collect_warnings *w, char *err, size_t errlen);

/*
 * Gives up what the agent no longer needs once its configuration, keys and
 * spool are open (docs/SECURITY.md).  Linux: every capability but the three
 * the namespace walk needs.  FreeBSD: nothing to give up that would leave
 * jexec and ipcs working; the rc.d script's defaults apply.
 */
void platform_drop_privileges(void);

/*
 * Lets go of the code pages the agent's start ran once (the configuration,
 * the keys, the first TLS handshake: most of libcrypto's resident pages):
 * they leave its page tables, stay in the page cache, and whatever the
 * agent runs again comes back on its first use.  Only read-only mappings
 * of files that hold no page of the agent's own (no copy-on-write page,
 * nothing dirty or swapped) are let go.  Linux; nothing on FreeBSD.
 */
void platform_release_code(void);

/* When the system booted, Unix seconds; 0 when it cannot be told. */
int64_t platform_boot_time(void);

#endif
