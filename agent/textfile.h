/*
 * textfile.h: ipcfleet-agent --textfile DIR ([agent] textfile): after each
 * snapshot, DIR/ipcfleet.prom for node_exporter's textfile collector, with
 * the metric names and labels of the aggregator's GET /metrics
 * (docs/man/ipcfleet-agent.8, "TEXTFILE").
 */
#ifndef IPCFLEET_TEXTFILE_H
#define IPCFLEET_TEXTFILE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "model.h"

#define TEXTFILE_NAME "ipcfleet.prom"
#define TEXTFILE_MAX  (64u * 1024 * 1024) /* bytes of text, 4096 scopes included */

/* The bit of finding kind k in a set of kinds (textfile_render's kinds). */
#define TEXTFILE_KIND(k) (1u << (unsigned)(k))

/*
 * The text for snapshot s of host: the host's limits (value, used, ratio,
 * unknown), each scope's, objects by type and findings by kind and
 * severity.  kinds: the finding kinds the agent looked for in this
 * snapshot; their counts are written even when 0, other kinds only when
 * found (a kind not looked for is unknown, never 0).  0, or -1 when out of
 * memory or past TEXTFILE_MAX (out is then failed).
 */
int textfile_render(struct buf *out, const char *host, const struct snapshot *s, uint32_t kinds);
/*
 * Whether dir can take the file: a directory (not a symbolic link) that
 * belongs to this user and that neither group nor others may write.  0, or
 * -1 with a one-line reason in err.
 */
int textfile_check(const char *dir, char *err, size_t errlen);
/*
 * Writes text as dir/ipcfleet.prom atomically: a temporary in dir (created
 * O_EXCL and O_NOFOLLOW, mode 0644 whatever the umask: node_exporter reads
 * it as another user), fsync'd, renamed over the file, and the directory
 * fsync'd.  Readers see the old file or the new one, never a part.  Two
 * agents writing to one dir take turns (an flock on the directory).  0, or
 * -1 with err (the old file, if any, is left as it was).
 */
int textfile_write(const char *dir, const struct buf *text, char *err, size_t errlen);
/*
 * The host label: the CN of the certificate of ctx (the name the
 * aggregator knows the host by), or without one this machine's host name.
 */
void textfile_host(SSL_CTX *ctx, char *host, size_t len);

#endif
