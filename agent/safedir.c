/*
 * safedir.c: files the agent writes in a directory it alone controls
 * (safedir.h).  Shared by the spool (spool.c) and the textfile
 * (textfile.c), which both run as root and both write through the
 * directory's descriptor only.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "safedir.h"
#include "util.h"

int
safedir_split(const char *dir, char *parent, size_t plen, char *base, size_t blen)
{
	char tmp[4096];
	size_t n = ifl_strlcpy(tmp, dir, sizeof(tmp));
	char *slash;

	if (n >= sizeof(tmp))
		return -1;
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	slash = strrchr(tmp, '/');
	if (slash == NULL) {
		if (ifl_strlcpy(parent, ".", plen) >= plen || ifl_strlcpy(base, tmp, blen) >= blen)
			return -1;
	} else {
		if (ifl_strlcpy(base, slash + 1, blen) >= blen)
			return -1;
		if (slash == tmp) {
			if (ifl_strlcpy(parent, "/", plen) >= plen)
				return -1;
		} else {
			*slash = '\0';
			if (ifl_strlcpy(parent, tmp, plen) >= plen)
				return -1;
		}
	}
	if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -1;
	return 0;
}

int
safedir_write_all(int fd, const void *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

int
safedir_open_temporary(int dirfd, const char *tmp, mode_t mode)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dirfd, tmp, flags, mode);

	if (fd == -1 && errno == EEXIST && unlinkat(dirfd, tmp, 0) == 0)
		fd = openat(dirfd, tmp, flags, mode);
	return fd;
}
