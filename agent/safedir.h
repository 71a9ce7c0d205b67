/*
 * safedir.h: files the agent writes in a directory it alone controls (the
 * spool, the node_exporter textfile), never through a link.
 */
#ifndef IPCFLEET_SAFEDIR_H
#define IPCFLEET_SAFEDIR_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Splits dir into its parent and last component (trailing slashes
 * ignored).  -1 when the last component is empty, "." or "..", or dir does
 * not fit.
 */
int safedir_split(const char *dir, char *parent, size_t plen, char *base, size_t blen);
/* write(2) until all n bytes are written (EINTR retried).  0, or -1 with errno. */
int safedir_write_all(int fd, const void *p, size_t n);
/*
 * Creates tmp in dirfd for writing, with mode (before the umask):
 * O_EXCL and O_NOFOLLOW, so nothing already there (a link planted to make
 * root write elsewhere) is ever opened.  A leftover temporary (a crash, a
 * failed write whose unlink failed too) is removed and the creation tried
 * once more.  The descriptor, or -1 with errno.
 */
int safedir_open_temporary(int dirfd, const char *tmp, mode_t mode);

#endif
