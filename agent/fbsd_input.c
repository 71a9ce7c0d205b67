/*
 * fbsd_input.c: every input of a FreeBSD collection, from the running
 * system (the tools, run through exec_capture with a deadline and an
 * output cap) or from a capture directory (regular files of bounded size)
 * (fbsd_local.h).  A jail's /etc files are read without following links
 * below the jail's root, which the jail's root user owns.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec.h"
#include "fbsd_local.h"
#include "util.h"

/* Capture file of each item. */
static const char *const fbsd_files[] = {
    [FI_SYSCTL] = "sysctl-kern.ipc.txt",
    [FI_PAGESIZE] = "pagesize.txt",
    [FI_UNAME] = "uname.txt",
    [FI_PASSWD] = "passwd",
    [FI_GROUP] = "group",
    [FI_IPCS] = "ipcs-a.txt",
    [FI_IPCS_SHM] = "ipcs-ma.txt",
    [FI_IPCS_SEM] = "ipcs-as.txt",
    [FI_IPCS_MSG] = "ipcs-aq.txt",
    [FI_DATE] = "date.txt",
    [FI_JLS] = "jls.txt",
    [FI_PS] = "ps.txt",
    [FI_JAIL_IPCS] = "ipcs-a.txt", /* under jail-NAME/ */
    [FI_JAIL_PASSWD] = "passwd",
    [FI_JAIL_GROUP] = "group",
    [FI_RACCT] = NULL, /* a capture says it by having rctl.txt */
    [FI_RCTL] = "rctl.txt",
    [FI_RCTL_USAGE] = "rctl-u-NAME.txt", /* NAME: the jail's; beside the others */
};

/* Reads one capture file: 1 read, 0 absent, -1 with err. */
static int
fbsd_read_capture(const char *path, char **buf, size_t *len, int64_t *mtime, char *err,
                  size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* a FIFO or a device would block or never end */
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if ((uint64_t)st.st_size > COLLECT_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %u bytes", path, (unsigned)COLLECT_FILE_MAX);
		return -1;
	}
	if (read_regular_bounded(path, COLLECT_FILE_MAX, buf, len) == -1) {
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: larger than %u bytes", path,
			         (unsigned)COLLECT_FILE_MAX);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (mtime != NULL)
		*mtime = (int64_t)st.st_mtime;
	return 1;
}

/*
 * Reads ROOT/etc/FILE of a live jail without following symbolic links below
 * ROOT: the jail's root user owns those and could point them at the host's
 * files (or at a FIFO).  ROOT itself comes from jls, i.e. the host.
 * 1 read, 0 absent, -1 with err.
 */
static int
fbsd_read_jail_etc(const char *root, const char *file, char **bufp, size_t *lenp, char *err,
                   size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, max;
	int dfd, efd = -1, fd = -1, rc = -1;

	*bufp = NULL;
	*lenp = 0;
	if (root[0] == '\0')
		return 0;
	if ((dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", root, strerror(errno));
		return -1;
	}
	if ((efd = openat(dfd, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		rc = errno == ENOENT ? 0 : -1;
		if (rc == -1)
			snprintf(err, errlen, "%s/etc: %s (symbolic links are not followed)", root,
			         strerror(errno));
		goto out;
	}
	fd = openat(efd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		rc = errno == ENOENT ? 0 : -1;
		if (rc == -1)
			snprintf(err, errlen, "%s/etc/%s: %s (symbolic links are not followed)",
			         root, file, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s/etc/%s: not a regular file", root, file);
		goto out;
	}
	if ((uint64_t)st.st_size > COLLECT_FILE_MAX) {
		snprintf(err, errlen, "%s/etc/%s: larger than %u bytes", root, file,
		         (unsigned)COLLECT_FILE_MAX);
		goto out;
	}
	/* what fstat said, plus nothing: a file growing meanwhile is cut there */
	max = (size_t)st.st_size;
	if ((buf = malloc(max + 1)) == NULL) {
		snprintf(err, errlen, "%s/etc/%s: out of memory", root, file);
		goto out;
	}
	if (read_fd_full(fd, buf, max, &len) == -1) {
		snprintf(err, errlen, "%s/etc/%s: %s", root, file, strerror(errno));
		goto out;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	rc = 1;
out:
	free(buf);
	if (fd != -1)
		close(fd);
	if (efd != -1)
		close(efd);
	close(dfd);
	return rc;
}

/* Runs argv with the collector's bounds: 1 with output, -1 with err. */
static int
fbsd_run(char *const argv[], char **buf, size_t *len, char *err, size_t errlen)
{
	if (exec_capture(argv, FBSD_EXEC_TIMEOUT_MS, FBSD_EXEC_OUT_MAX, buf, len, err, errlen) ==
	    -1)
		return -1;
	return 1;
}

/*
 * Gets one input.  Returns 1 with *buf (malloc'd, NUL-terminated; the caller
 * frees it) and *len; 0 when the input is absent (a capture without that
 * file; the live host's passwd, read through getpwnam instead); -1 with err.
 * what receives the name used in warnings (a file or a command line).
 */
int
fbsd_fetch(struct fbsd_fetch *f, enum fbsd_item it, const struct fbsd_jail *j, char **buf,
           size_t *len, char *what, size_t whatlen, char *err, size_t errlen)
{
	char jid[16], rel[FBSD_JAILNAME_MAX + 32], path[COLLECT_PATH_MAX + sizeof(rel) + 1];
	char *av[6] = {NULL};
	int64_t mtime = 0;
	int r;

	*buf = NULL;
	*len = 0;
	if (!f->live) {
		if (fbsd_files[it] == NULL)
			return 0;
		if (it == FI_RCTL_USAGE) {
			/* rctl-u-NAME.txt: a name with "/" would leave the directory */
			if (strchr(j->name, '/') != NULL) {
				snprintf(what, whatlen, "jail %s", j->name);
				snprintf(err, errlen,
				         "jail name \"%s\" holds a \"/\": no rctl file for it",
				         j->name);
				return -1;
			}
			snprintf(rel, sizeof(rel), "rctl-u-%s.txt", j->name);
		} else if (j != NULL) {
			if (strchr(j->name, '/') != NULL) {
				snprintf(what, whatlen, "jail %s", j->name);
				snprintf(err, errlen,
				         "jail name \"%s\" holds a \"/\": no capture "
				         "directory for it",
				         j->name);
				return -1;
			}
			snprintf(rel, sizeof(rel), "jail-%s/%s", j->name, fbsd_files[it]);
		} else {
			ifl_strlcpy(rel, fbsd_files[it], sizeof(rel));
		}
		ifl_strlcpy(what, rel, whatlen);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", f->dir, rel) >= sizeof(path)) {
			snprintf(err, errlen, "%s: path too long", rel);
			return -1;
		}
		r = fbsd_read_capture(path, buf, len, &mtime, err, errlen);
		if (r == 1 &&
		    (it == FI_IPCS || it == FI_IPCS_SHM || it == FI_IPCS_SEM ||
		     it == FI_IPCS_MSG) &&
		    mtime > f->ipcs_mtime)
			f->ipcs_mtime = mtime;
		return r;
	}

	/*
	 * The running system.  A native reader (sysctlbyname(3) for the
	 * kern.ipc limits and the kern.ipc.shmsegs/sema/msqids tables,
	 * jail_getv(3) for the jails) would plug in here on FreeBSD, behind
	 * #ifdef __FreeBSD__, producing the same structures; the commands
	 * keep this file buildable and testable everywhere.
	 */
	switch (it) {
	case FI_SYSCTL:
		av[0] = (char *)"sysctl";
		av[1] = (char *)"kern.ipc";
		break;
	case FI_PAGESIZE:
		av[0] = (char *)"pagesize";
		break;
	case FI_UNAME:
		av[0] = (char *)"uname";
		av[1] = (char *)"-r";
		break;
	case FI_IPCS:
		av[0] = (char *)"ipcs";
		av[1] = (char *)"-a";
		break;
	case FI_IPCS_SHM:
	case FI_IPCS_SEM:
	case FI_IPCS_MSG:
		av[0] = (char *)"ipcs";
		av[1] = (char *)(it == FI_IPCS_SHM ? "-m" : it == FI_IPCS_SEM ? "-s" : "-q");
		av[2] = (char *)"-a";
		break;
	case FI_JLS:
		/* -q quotes values holding blanks, which -n alone prints bare */
		av[0] = (char *)"jls";
		av[1] = (char *)"-n";
		av[2] = (char *)"-q";
		break;
	case FI_PS:
		av[0] = (char *)"ps";
		av[1] = (char *)"-axo";
		av[2] = (char *)"pid,jid,uid,comm";
		break;
	case FI_JAIL_IPCS:
		/* the jail's own ipcs: what it prints is bounded like any output,
		 * and it can only claim objects the host lists with key 0 */
		snprintf(jid, sizeof(jid), "%d", (int)j->jid);
		av[0] = (char *)"jexec";
		av[1] = jid;
		av[2] = (char *)"ipcs";
		av[3] = (char *)"-a";
		break;
	case FI_RACCT:
		/* prints 0 or 1; fails where the kernel has no RACCT */
		av[0] = (char *)"sysctl";
		av[1] = (char *)"-n";
		av[2] = (char *)"kern.racct.enable";
		break;
	case FI_RCTL:
		/* every rule: `rctl -l` takes a process only (EOPNOTSUPP for a jail) */
		av[0] = (char *)"rctl";
		break;
	case FI_RCTL_USAGE:
		/* an argument, not a shell word: the name cannot do more than name */
		snprintf(rel, sizeof(rel), "jail:%s", j->name);
		av[0] = (char *)"rctl";
		av[1] = (char *)"-u";
		av[2] = rel;
		break;
	case FI_JAIL_PASSWD:
	case FI_JAIL_GROUP:
		snprintf(what, whatlen, "%s/etc/%s", j->path,
		         it == FI_JAIL_PASSWD ? "passwd" : "group");
		return fbsd_read_jail_etc(j->path, it == FI_JAIL_PASSWD ? "passwd" : "group", buf,
		                          len, err, errlen);
	case FI_PASSWD:
	case FI_GROUP:
	case FI_DATE:
		/* getpwnam/getgrnam and the clock instead */
		ifl_strlcpy(what, fbsd_files[it], whatlen);
		return 0;
	}
	{
		size_t i;

		what[0] = '\0';
		for (i = 0; av[i] != NULL; i++) {
			if (i > 0)
				ifl_strlcat(what, " ", whatlen);
			ifl_strlcat(what, av[i], whatlen);
		}
	}
	return fbsd_run(av, buf, len, err, errlen);
}
