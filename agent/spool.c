/*
 * spool.c: the agent's on-disk spool (agent.h).
 *
 * Layout of the spool directory (mode 0700, owned by the agent's user):
 *   id                     the spool's identity: 32 hex digits, made with it
 *   seq                    last sequence number handed out (decimal)
 *   dropped                snapshots dropped so far (decimal)
 *   NNNNNNNNNNNNNNNNNNNN.snap   one snapshot per file (entry format below)
 *   *.bad                  entries set aside as corrupt or refused
 * Every file is written to a temporary name (.NAME.tmp, created O_EXCL and
 * never through a link), fsync'd and renamed, and the directory is fsync'd,
 * so a crash leaves either the old or the new file; temporaries a crash left
 * are removed by spool_open().
 *
 * Trust.  The agent usually runs as root, so the spool must be a directory
 * nobody else controls: spool_open() refuses a symbolic link, a directory
 * owned by another user or writable by group or others, and one whose parent
 * another user could rename it in (docs/SECURITY.md).  Everything after that
 * goes through the directory's descriptor (openat, renameat, unlinkat), so
 * renaming the path afterwards changes nothing the agent writes.
 *
 * Identity.  Sequence numbers count within one spool.  A spool that is lost
 * (reinstall, new disk) starts again at 1 under the same certificate, so the
 * aggregator recognises duplicates by (host, spool id, sequence): the id is
 * 16 random bytes made with the spool and sent in hello.  A spool made by an
 * earlier version (entries but no id) keeps the legacy, empty id until it is
 * empty (spool_adopt_id), so the entries it holds are not sent twice under
 * two names.
 *
 * Entry format (version 1 of the entry; the previous agent wrote the bare
 * frame, which is still read):
 *   0   4  magic "IFSE" (a bare frame starts with 0x00 or 0x01)
 *   4   4  entry format version, big-endian (1)
 *   8   8  sequence number, big-endian: must match the file name
 *  16  16  the spool id (zero for the legacy id): must match the spool's
 *  32  32  SHA-256 of bytes 0..31 and the frame
 *  64   .  the frame (4-byte big-endian length, msgpack payload)
 * An entry is checked when read; one that fails is set aside as *.bad and
 * counted as dropped, and delivery goes on with the next.
 *
 * A sequence number is written to `seq` before its entry exists, so a crash
 * between the two skips a number but never reuses one that left the host.
 * The directory fsync that makes the rename of `seq` durable is the one
 * that follows the entry's rename (both are in the same directory): it comes
 * before the entry can be sent, so a number is durable before any frame
 * carrying it leaves.  A crash before that fsync can lose the new `seq`;
 * nothing with that number was sent then (sending waits for the fsync), so
 * handing it out again after the restart (replacing an entry of that number
 * that may have survived, never sent) reuses no number the aggregator has
 * seen.
 *
 * Drops are counted in memory first and written to `dropped` when possible,
 * so a full or read-only filesystem still counts them: the count travels in
 * the next snapshot that is spooled.  An acknowledged entry that cannot be
 * removed (read-only filesystem) is remembered and never sent again; its
 * removal is retried at a listing every 10 s (SKIP_RETRY_MS).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agent.h"
#include "log.h"
#include "proto.h"
#include "safedir.h"
#include "util.h"

#define ENTRY_FMT "%020llu.snap"
#define ENTRY_LEN 25 /* 20 digits + ".snap" */

#define ENTRY_MAGIC   "IFSE"
#define ENTRY_VERSION 1
#define ENTRY_HDR     64
#define ENTRY_SUMMED  32 /* header bytes covered by the checksum, before it */

/* How long a removal (or rename) that failed waits before it is tried again. */
#define SKIP_RETRY_MS 10000

/* Consecutive read errors of one entry before it is set aside. */
#define SPOOL_READ_TRIES 5

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* SHA-256 of a then b: 0, or -1 when OpenSSL fails. */
static int
entry_digest(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[SPOOL_DIGEST_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	if (c == NULL)
		return -1;
	ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(c, a, alen) == 1 &&
	     EVP_DigestUpdate(c, b, blen) == 1 && EVP_DigestFinal_ex(c, out, &n) == 1 &&
	     n == SPOOL_DIGEST_LEN;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}

/*
 * Writes NAME through .NAME.tmp: hdr then p, fsync, rename, then fsync the
 * directory unless sync_dir is 0 (the caller's next write does it, see
 * spool_next_seq).  0; -1 with errno (NAME is as it was); -2 with errno
 * when NAME is in place but the directory's fsync failed (its rename may
 * not survive a crash).
 */
static int
write_file_atomic(struct spool *sp, const char *name, const void *hdr, size_t hlen, const void *p,
                  size_t n, int sync_dir)
{
	char tmp[64];
	int fd, saved;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	if ((fd = safedir_open_temporary(sp->dirfd, tmp, 0600)) == -1)
		return -1;
	if (safedir_write_all(fd, hdr, hlen) == -1 || safedir_write_all(fd, p, n) == -1 ||
	    fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(sp->dirfd, tmp, sp->dirfd, name) == -1)
		goto fail;
	if (!sync_dir) {
		sp->dir_unsynced = 1;
		return 0;
	}
	if (fsync(sp->dirfd) == -1)
		return -2;
	sp->dir_unsynced = 0;
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlinkat(sp->dirfd, tmp, 0);
	errno = saved;
	return -1;
}

/*
 * Opens NAME in the spool for reading: never through a link, and only a
 * regular file (a FIFO would block the agent).
 */
static int
open_entry(struct spool *sp, const char *name)
{
	struct stat st;
	int fd = openat(sp->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* Reads a small file of the spool: 0, or -1 with errno (ENOENT: missing). */
static int
read_small(struct spool *sp, const char *name, char *text, size_t size)
{
	ssize_t r;
	int fd;

	if ((fd = open_entry(sp, name)) == -1)
		return -1;
	r = read(fd, text, size - 1);
	close(fd);
	if (r <= 0) {
		errno = EINVAL;
		return -1;
	}
	text[r] = '\0';
	text[strcspn(text, "\n")] = '\0';
	return 0;
}

int
spool_state_put(struct spool *sp, const char *name, const struct buf *b)
{
	/* advisory state: the file is made whole, its directory entry need not be durable */
	return write_file_atomic(sp, name, NULL, 0, b->data, b->len, 0);
}

int
spool_state_get(struct spool *sp, const char *name, size_t max, char **text)
{
	struct stat st;
	size_t len = 0;
	int fd;

	*text = NULL;
	if ((fd = open_entry(sp, name)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || st.st_size < 0 || (uint64_t)st.st_size > max ||
	    (*text = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	/* what fstat said, at most: a file growing meanwhile is cut there; an
	 * error ends it as the end of the file would */
	(void)read_fd_full(fd, *text, (size_t)st.st_size, &len);
	close(fd);
	(*text)[len] = '\0';
	return 0;
}

/* Reads a small decimal counter file; a missing file is 0. */
static int
read_counter(struct spool *sp, const char *name, uint64_t *v)
{
	char text[32];
	const char *why;

	*v = 0;
	if (read_small(sp, name, text, sizeof(text)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (parse_u64(text, 0, UINT64_MAX - 1, v, &why) == -1) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int
write_counter(struct spool *sp, const char *name, uint64_t v, int sync_dir)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)v);

	return write_file_atomic(sp, name, "", 0, text, (size_t)n, sync_dir);
}

/* Writes the drop count when it changed since it was last written. */
static void
save_dropped(struct spool *sp)
{
	if (sp->dropped == sp->dropped_saved)
		return;
	if (write_counter(sp, "dropped", sp->dropped, 1) == 0)
		sp->dropped_saved = sp->dropped;
	/* else: kept in memory, written with a later entry */
}

void
spool_count_drop(struct spool *sp, uint64_t n)
{
	sp->dropped = u64_add_sat(sp->dropped, n);
	save_dropped(sp);
}

uint64_t
spool_dropped(struct spool *sp)
{
	return sp->dropped;
}

/* ---- the identity ---- */

static const char hexdig[] = "0123456789abcdef";

static void
id_to_hex(const uint8_t raw[SPOOL_ID_LEN], char hex[SPOOL_ID_HEX + 1])
{
	size_t i;

	for (i = 0; i < SPOOL_ID_LEN; i++) {
		hex[2 * i] = hexdig[raw[i] >> 4];
		hex[2 * i + 1] = hexdig[raw[i] & 15];
	}
	hex[SPOOL_ID_HEX] = '\0';
}

/* 0 when hex is SPOOL_ID_HEX lowercase hex digits, not all zero. */
static int
id_from_hex(const char *hex, uint8_t raw[SPOOL_ID_LEN])
{
	uint8_t any = 0;
	size_t i;

	if (strlen(hex) != SPOOL_ID_HEX)
		return -1;
	for (i = 0; i < SPOOL_ID_HEX; i++) {
		const char *d = strchr(hexdig, hex[i]);

		if (hex[i] == '\0' || d == NULL)
			return -1;
		if (i % 2 == 0)
			raw[i / 2] = (uint8_t)((d - hexdig) << 4);
		else
			raw[i / 2] |= (uint8_t)(d - hexdig);
	}
	for (i = 0; i < SPOOL_ID_LEN; i++)
		any |= raw[i];
	return any ? 0 : -1;
}

static void
save_id(struct spool *sp)
{
	char text[SPOOL_ID_HEX + 2];

	if (!sp->id_unsaved)
		return;
	snprintf(text, sizeof(text), "%s\n", sp->id);
	if (write_file_atomic(sp, "id", "", 0, text, strlen(text), 1) == 0)
		sp->id_unsaved = 0;
	else
		log_warn("spool %s: cannot write its id yet", sp->dir);
}

/* A new random identity (kept in memory until it can be written). */
static void
make_id(struct spool *sp)
{
	static const uint8_t zero[SPOOL_ID_LEN];

	do /* all zero is the legacy id's header value */
		arc4random_buf(sp->idraw, sizeof(sp->idraw));
	while (memcmp(sp->idraw, zero, sizeof(zero)) == 0);
	id_to_hex(sp->idraw, sp->id);
	sp->id_unsaved = 1;
	save_id(sp);
}

int
spool_adopt_id(struct spool *sp)
{
	struct spool_entry *v;
	char err[256];
	size_t n;

	if (sp->id[0] != '\0')
		return 0;
	if (spool_list(sp, &v, &n, err, sizeof(err)) == -1)
		return 0;
	free(v);
	if (n > 0)
		return 0;
	make_id(sp);
	log_info("spool %s: empty now; it takes the identity %s", sp->dir, sp->id);
	return 1;
}

/* Reads the header of entry seq into hdr: 0, or -1 (missing, short, bare frame). */
static int
read_entry_header(struct spool *sp, uint64_t seq, uint8_t hdr[ENTRY_HDR])
{
	char name[32];
	ssize_t r;
	int fd;

	snprintf(name, sizeof(name), ENTRY_FMT, (unsigned long long)seq);
	if ((fd = open_entry(sp, name)) == -1)
		return -1;
	r = pread(fd, hdr, ENTRY_HDR, 0);
	close(fd);
	if (r != ENTRY_HDR || memcmp(hdr, ENTRY_MAGIC, 4) != 0)
		return -1;
	return 0;
}

/*
 * Finds the spool's identity (spool_open): the id file; without one (lost,
 * or a spool of an earlier version) the id of the newest entry that carries
 * one; a spool with entries but no id anywhere keeps the legacy id; an empty
 * one gets a new id.
 */
static void
spool_identity(struct spool *sp)
{
	struct spool_entry *v;
	char text[64], err[256];
	size_t n, i;
	int missing;

	if (read_small(sp, "id", text, sizeof(text)) == 0 && id_from_hex(text, sp->idraw) == 0) {
		id_to_hex(sp->idraw, sp->id);
		return;
	}
	missing = errno == ENOENT;
	if (!missing)
		log_warnx("spool %s: its id file is unreadable or malformed", sp->dir);
	if (spool_list(sp, &v, &n, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		n = 0;
		v = NULL;
	}
	for (i = n; i-- > 0;) {
		uint8_t hdr[ENTRY_HDR];

		if (read_entry_header(sp, v[i].seq, hdr) == 0 &&
		    memcmp(hdr + 16, (const uint8_t[SPOOL_ID_LEN]){0}, SPOOL_ID_LEN) != 0) {
			memcpy(sp->idraw, hdr + 16, SPOOL_ID_LEN);
			id_to_hex(sp->idraw, sp->id);
			sp->id_unsaved = 1;
			log_warnx("spool %s: id file %s; recovered the id %s from entry %llu",
			          sp->dir, missing ? "missing" : "bad", sp->id,
			          (unsigned long long)v[i].seq);
			save_id(sp);
			free(v);
			return;
		}
	}
	free(v);
	if (n > 0) {
		log_info("spool %s: made by an earlier version (no id): it keeps the legacy "
		         "identity until its %zu entr%s are delivered",
		         sp->dir, n, n == 1 ? "y" : "ies");
		return;
	}
	make_id(sp);
	if (!missing)
		log_warnx("spool %s: empty; it takes the new identity %s", sp->dir, sp->id);
}

/* ---- opening: only a directory nobody else controls ---- */

/*
 * Removes ".NAME.tmp" files a crash left behind in the middle of
 * write_file_atomic(): their rename never happened, so nothing refers to
 * them (the entry they were to become was never counted as spooled).
 * unlinkat removes a name, never what a link points to.
 */
static void
spool_remove_temporaries(struct spool *sp)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(sp->dirfd)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] != '.' || len < 5 || strcmp(de->d_name + len - 4, ".tmp") != 0)
			continue;
		if (unlinkat(sp->dirfd, de->d_name, 0) == 0)
			log_warnx("spool %s: removed %s, left by an interrupted write", sp->dir,
			          de->d_name);
	}
	closedir(d);
}

/*
 * The parent may be written by root and by the agent's user only; group or
 * other write is fine on a sticky directory (such as /tmp): there others
 * can neither rename nor remove what they do not own.
 */
static int
check_parent(const char *dir, const char *parent, const struct stat *st, char *err, size_t errlen)
{
	uid_t me = geteuid();

	if (st->st_uid != 0 && st->st_uid != me) {
		snprintf(err, errlen,
		         "spool %s: its parent %s belongs to uid %lu, who could replace the spool; "
		         "use a directory that only root%s can write (default "
		         "/var/db/ipcfleet-agent/spool)",
		         dir, parent, (unsigned long)st->st_uid, me != 0 ? " or this user" : "");
		return -1;
	}
	if ((st->st_mode & 022) != 0 && (st->st_mode & S_ISVTX) == 0) {
		snprintf(err, errlen,
		         "spool %s: its parent %s is writable by group or others (mode %04o), "
		         "who could replace the spool; chmod go-w %s",
		         dir, parent, (unsigned)(st->st_mode & 07777), parent);
		return -1;
	}
	return 0;
}

/* The spool itself: the agent's user owns it, nobody else may write it. */
static int
check_spool(struct spool *sp, const struct stat *st, char *err, size_t errlen)
{
	if (st->st_uid != geteuid()) {
		snprintf(err, errlen,
		         "spool %s belongs to uid %lu, not to this agent (uid %lu): refused; "
		         "remove it or give it to uid %lu",
		         sp->dir, (unsigned long)st->st_uid, (unsigned long)geteuid(),
		         (unsigned long)geteuid());
		return -1;
	}
	if ((st->st_mode & 022) != 0) {
		snprintf(err, errlen,
		         "spool %s is writable by group or others (mode %04o): refused, others may "
		         "have planted files in it; check it, then chmod 700 %s",
		         sp->dir, (unsigned)(st->st_mode & 07777), sp->dir);
		return -1;
	}
	/* readable by others only (a umask): made private */
	if ((st->st_mode & 077) != 0 && fchmod(sp->dirfd, 0700) == -1) {
		snprintf(err, errlen, "spool %s: cannot make it private (0700): %s", sp->dir,
		         strerror(errno));
		return -1;
	}
	return 0;
}

int
spool_open(struct spool *sp, const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
	char parent[CFG_PATH_MAX], base[CFG_PATH_MAX];
	struct stat st;
	int pfd;

	memset(sp, 0, sizeof(*sp));
	sp->dirfd = -1;
	sp->max_bytes = max_bytes;
	if (ifl_strlcpy(sp->dir, dir, sizeof(sp->dir)) >= sizeof(sp->dir)) {
		snprintf(err, errlen, "spool %s: path too long", dir);
		return -1;
	}
	if (safedir_split(dir, parent, sizeof(parent), base, sizeof(base)) == -1) {
		snprintf(err, errlen, "spool %s: not a directory name", dir);
		return -1;
	}
	/* links above the spool are followed: the parent is checked as it is found */
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd == -1 || fstat(pfd, &st) == -1) {
		int saved = errno;

		snprintf(err, errlen, "spool %s: parent %s: %s%s%s%s", dir, parent, strerror(saved),
		         saved == ENOENT ? " (create it: install -d -m 0700 " : "",
		         saved == ENOENT ? parent : "", saved == ENOENT ? ")" : "");
		if (pfd != -1)
			close(pfd);
		return -1;
	}
	if (check_parent(dir, parent, &st, err, errlen) == -1) {
		close(pfd);
		return -1;
	}
	if (mkdirat(pfd, base, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "spool %s: cannot create: %s", dir, strerror(errno));
		close(pfd);
		return -1;
	}
	sp->dirfd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sp->dirfd == -1) {
		int saved = errno;
		struct stat lst;

		if (fstatat(pfd, base, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode))
			snprintf(err, errlen, "spool %s is a symbolic link: refused", dir);
		else
			snprintf(err, errlen, "spool %s: %s", dir, strerror(saved));
		close(pfd);
		return -1;
	}
	close(pfd);
	if (fstat(sp->dirfd, &st) == -1) {
		snprintf(err, errlen, "spool %s: %s", dir, strerror(errno));
		spool_close(sp);
		return -1;
	}
	if (check_spool(sp, &st, err, errlen) == -1) {
		spool_close(sp);
		return -1;
	}
	spool_remove_temporaries(sp);
	if (read_counter(sp, "dropped", &sp->dropped) == -1) {
		log_warnx("spool %s: the dropped file is unreadable; counting from 0", sp->dir);
		sp->dropped = 0;
	}
	sp->dropped_saved = sp->dropped;
	spool_identity(sp);
	return 0;
}

int
spool_recheck(struct spool *sp, char *err, size_t errlen)
{
	struct spool_entry *v;
	struct stat st, now;
	struct spool fresh;
	char lerr[256];
	size_t n;
	int same;

	/* a directory removed has no link left; one renamed away or replaced
	 * is not what the path names */
	if (sp->dirfd != -1 && fstat(sp->dirfd, &st) == 0 && st.st_nlink > 0 &&
	    lstat(sp->dir, &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino)
		return 0;
	if (sp->dirfd != -1) {
		/* renamed away, it is listed as it is; removed, as last listed */
		if (st.st_nlink > 0 && spool_list(sp, &v, &n, lerr, sizeof(lerr)) == 0)
			free(v);
		sp->orphaned = sp->listed_count;
		spool_close(sp); /* nothing is spooled until the path is one again */
	}
	if (spool_open(&fresh, sp->dir, sp->max_bytes, err, errlen) == -1)
		return -1;
	same = strcmp(fresh.id, sp->id) == 0;
	if (same) {
		/* a copy of this spool: its numbers go on from the last handed out
		 * (the aggregator knows them), and what it holds is still sent */
		fresh.seq_floor = sp->seq_last > sp->seq_floor ? sp->seq_last : sp->seq_floor;
		if (spool_list(&fresh, &v, &n, lerr, sizeof(lerr)) == 0)
			free(v);
		sp->orphaned =
		    sp->orphaned > fresh.listed_count ? sp->orphaned - fresh.listed_count : 0;
	}
	/* the drops counted so far go on (a copy's count is part of them) */
	if (sp->dropped > fresh.dropped)
		fresh.dropped = sp->dropped;
	if (sp->orphaned > 0) {
		log_warnx("spool %s: %zu snapshot(s) of the directory that was there cannot be "
		          "sent: counted as dropped",
		          sp->dir, sp->orphaned);
		fresh.dropped = u64_add_sat(fresh.dropped, sp->orphaned);
	}
	*sp = fresh;
	return same ? 2 : 1;
}

void
spool_close(struct spool *sp)
{
	spool_forget(sp);
	if (sp->dirfd != -1) {
		/* a seq written for a snapshot that was never spooled */
		if (sp->dir_unsynced && fsync(sp->dirfd) == -1)
			log_warn("spool %s: fsync", sp->dir);
		close(sp->dirfd);
	}
	free(sp->skip);
	sp->skip = NULL;
	sp->nskip = sp->skipcap = 0;
	sp->dirfd = -1;
	sp->dir_unsynced = 0;
}

void
spool_keep(struct spool *sp, uint64_t seq, struct buf *frame)
{
	spool_forget(sp);
	sp->kept = *frame;
	sp->kept_seq = seq;
	buf_init(frame, frame->max);
}

void
spool_forget(struct spool *sp)
{
	buf_free(&sp->kept);
	sp->kept_seq = 0;
}

/* ---- entries to skip: acknowledged or bad, but still on disk ---- */

/*
 * The list is kept sorted by seq (acks come in order: an add is almost
 * always an append), so each entry of a listing finds its own in log time:
 * a large backlog acknowledged on a read-only filesystem does not make
 * every listing quadratic.
 */
static size_t
skip_lower(const struct spool *sp, uint64_t seq)
{
	size_t lo = 0, hi = sp->nskip;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp->skip[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct spool_skip *
skip_find(struct spool *sp, uint64_t seq)
{
	size_t i = skip_lower(sp, seq);

	return i < sp->nskip && sp->skip[i].seq == seq ? &sp->skip[i] : NULL;
}

/*
 * Remembers an entry that must not be sent again although its file is
 * still there: 0, or -1 when the list is full (SPOOL_MAX_SKIP) or memory ran
 * out; the entry is then sent again and the aggregator takes it for the
 * duplicate it is.
 */
static int
skip_add(struct spool *sp, uint64_t seq, int bad)
{
	size_t at;

	if (skip_find(sp, seq) != NULL)
		return 0;
	if (grow_array(&sp->skip, &sp->skipcap, sp->nskip + 1, 16, SPOOL_MAX_SKIP,
	               sizeof(*sp->skip)) == -1)
		return -1;
	at = skip_lower(sp, seq);
	memmove(&sp->skip[at + 1], &sp->skip[at], (sp->nskip - at) * sizeof(*sp->skip));
	sp->skip[at].seq = seq;
	sp->skip[at].bad = bad;
	sp->skip[at].seen = 0;
	sp->nskip++;
	return 0;
}

/* Retries what a skipped entry waits for: 1 when its file is gone now. */
static int
skip_resolve(struct spool *sp, const struct spool_skip *k, const char *name)
{
	char bad[NAME_MAX + 8]; /* name is an entry's (under 32 bytes), read from the directory */

	if (k->bad) {
		snprintf(bad, sizeof(bad), "%s.bad", name);
		return renameat(sp->dirfd, name, sp->dirfd, bad) == 0;
	}
	return unlinkat(sp->dirfd, name, 0) == 0 || errno == ENOENT;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Whether name is an entry set aside (NNN.snap.bad); *seq its number. */
static int
bad_name(const char *name, uint64_t *seq)
{
	char digits[21];
	const char *why;
	uint64_t v;

	if (strlen(name) != ENTRY_LEN + 4 || strcmp(name + 20, ".snap.bad") != 0)
		return 0;
	memcpy(digits, name, 20);
	digits[20] = '\0';
	if (parse_u64(digits, 1, UINT64_MAX, &v, &why) == -1)
		return 0;
	if (seq != NULL)
		*seq = v;
	return 1;
}

/*
 * Removes entries set aside (*.bad), oldest first, until want bytes are
 * freed or none is left: they were counted as dropped when set aside, and
 * are kept for a person to look at only while there is room.  The bytes
 * freed.
 */
static uint64_t
spool_trim_bad(struct spool *sp, uint64_t want)
{
	struct spool_entry *v = NULL;
	size_t cnt = 0, cap = 0, i, gone = 0;
	uint64_t freed = 0;
	struct dirent *de;
	char name[40];
	int fd;
	DIR *d;

	if ((fd = dup(sp->dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return 0;
	}
	rewinddir(d); /* the descriptor's offset is shared with the last listing's */
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		uint64_t seq;

		if (!bad_name(de->d_name, &seq) ||
		    fstatat(sp->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (grow_array(&v, &cap, cnt + 1, 64, SPOOL_MAX_ENTRIES, sizeof(*v)) == -1)
			break;
		v[cnt].seq = seq;
		v[cnt].size = (uint64_t)st.st_size;
		cnt++;
	}
	closedir(d);
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), entry_cmp);
	for (i = 0; i < cnt && freed < want; i++) {
		snprintf(name, sizeof(name), ENTRY_FMT ".bad", (unsigned long long)v[i].seq);
		if (unlinkat(sp->dirfd, name, 0) == 0) {
			freed += v[i].size;
			gone++;
		}
	}
	free(v);
	if (gone > 0)
		log_warnx("spool %s full (spool_max %llu bytes): removed %zu entr%s set aside "
		          "(*.bad, counted as dropped then) to make room",
		          sp->dir, (unsigned long long)sp->max_bytes, gone,
		          gone == 1 ? "y" : "ies");
	return freed;
}

/* Restores the max-heap (by seq) of v[0..n) below i. */
static void
entry_sift(struct spool_entry *v, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct spool_entry t;

		if (l < n && v[l].seq > v[m].seq)
			m = l;
		if (r < n && v[r].seq > v[m].seq)
			m = r;
		if (m == i)
			return;
		t = v[i];
		v[i] = v[m];
		v[m] = t;
		i = m;
	}
}

int
spool_list(struct spool *sp, struct spool_entry **out, size_t *n, char *err, size_t errlen)
{
	struct spool_entry *v = NULL;
	size_t cnt = 0, cap = 0, i, j;
	struct dirent *de;
	int fd, retry, failed = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	sp->listed_count = sp->listed_bad = 0;
	sp->listed_bytes = sp->listed_newest = sp->listed_bad_bytes = 0;
	if ((fd = dup(sp->dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		snprintf(err, errlen, "spool %s: %s", sp->dir, strerror(errno));
		return -1;
	}
	/* a removal that failed is retried every 10 s, not at every listing */
	retry = now_mono_ms() >= sp->skip_retry_at;
	for (i = 0; i < sp->nskip; i++)
		sp->skip[i].seen = 0;
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		struct spool_skip *k;
		char digits[21];
		const char *why;
		struct stat st;
		uint64_t seq;

		if (bad_name(de->d_name, NULL)) {
			if (fstatat(sp->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode)) {
				sp->listed_bad++;
				sp->listed_bad_bytes =
				    u64_add_sat(sp->listed_bad_bytes, (uint64_t)st.st_size);
			}
			continue;
		}
		if (strlen(de->d_name) != ENTRY_LEN || strcmp(de->d_name + 20, ".snap") != 0)
			continue;
		memcpy(digits, de->d_name, 20);
		digits[20] = '\0';
		if (parse_u64(digits, 1, UINT64_MAX, &seq, &why) == -1)
			continue;
		if ((k = skip_find(sp, seq)) != NULL) {
			if (!retry || !skip_resolve(sp, k, de->d_name)) {
				k->seen = 1;
				failed |= retry;
			}
			continue; /* never listed again */
		}
		if (fstatat(sp->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		/* every entry counts towards spool_max; the oldest are listed */
		sp->listed_count++;
		sp->listed_bytes = u64_add_sat(sp->listed_bytes, (uint64_t)st.st_size);
		if (seq > sp->listed_newest)
			sp->listed_newest = seq;
		if (cnt == SPOOL_MAX_ENTRIES) {
			/* a max-heap of the oldest so far: a newer one waits its turn */
			if (cnt > 0 && seq < v[0].seq) {
				v[0].seq = seq;
				v[0].size = (uint64_t)st.st_size;
				entry_sift(v, cnt, 0);
			}
			continue;
		}
		if (grow_array(&v, &cap, cnt + 1, 64, SPOOL_MAX_ENTRIES, sizeof(*v)) == -1) {
			free(v);
			closedir(d);
			snprintf(err, errlen, "spool %s: out of memory", sp->dir);
			return -1;
		}
		v[cnt].seq = seq;
		v[cnt].size = (uint64_t)st.st_size;
		if (++cnt == SPOOL_MAX_ENTRIES)
			for (i = cnt / 2; i-- > 0;)
				entry_sift(v, cnt, i);
	}
	closedir(d);
	if (failed)
		sp->skip_retry_at = now_mono_ms() + SKIP_RETRY_MS;
	/* forget skipped entries whose file is gone */
	for (i = j = 0; i < sp->nskip; i++)
		if (sp->skip[i].seen)
			sp->skip[j++] = sp->skip[i];
	sp->nskip = j;
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), entry_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

int
spool_remove(struct spool *sp, uint64_t seq)
{
	char name[32];
	int saved;

	if (seq == sp->kept_seq)
		spool_forget(sp);
	snprintf(name, sizeof(name), ENTRY_FMT, (unsigned long long)seq);
	if (unlinkat(sp->dirfd, name, 0) == 0 || errno == ENOENT) {
		if (sp->listed_count > 0)
			sp->listed_count--;
		return 0;
	}
	saved = errno;
	if (skip_add(sp, seq, 0) == -1)
		log_warnx("spool %s: too many entries waiting for removal; %s may be sent again",
		          sp->dir, name);
	errno = saved;
	return -1;
}

/* ---- sequence numbers ---- */

/*
 * The last sequence number when the seq file cannot be trusted: never below
 * a spooled entry, and from the clock (milliseconds since the epoch, far
 * above anything handed out at one per second or slower) so that numbers
 * already delivered and removed from the spool are not handed out again:
 * the aggregator would take the new snapshots for duplicates.
 */
static uint64_t
spool_recover_seq(struct spool *sp)
{
	struct spool_entry *v;
	uint64_t last = (uint64_t)now_unix() * 1000;
	char err[256];
	size_t n;

	if (spool_list(sp, &v, &n, err, sizeof(err)) == 0) {
		if (n > 0 && sp->listed_newest > last)
			last = sp->listed_newest;
		free(v);
	}
	return last;
}

/* 1 when the spool holds entries or a drop count: it is not a new spool. */
static int
spool_in_use(struct spool *sp)
{
	struct spool_entry *v;
	struct stat st;
	char err[256];
	size_t n = 0;

	if (fstatat(sp->dirfd, "dropped", &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	if (spool_list(sp, &v, &n, err, sizeof(err)) == -1)
		return 1;
	free(v);
	return n > 0;
}

int
spool_next_seq(struct spool *sp, uint64_t *seq, char *err, size_t errlen)
{
	struct stat st;
	uint64_t last;

	if (sp->dirfd == -1) { /* spool_recheck could not open it again */
		snprintf(err, errlen, "spool %s cannot be used", sp->dir);
		return -1;
	}
	if (read_counter(sp, "seq", &last) == -1) {
		log_warnx("spool %s: seq file unreadable; continuing from the clock", sp->dir);
		last = spool_recover_seq(sp);
	} else if (last == 0 && fstatat(sp->dirfd, "seq", &st, AT_SYMLINK_NOFOLLOW) == -1 &&
	           spool_in_use(sp)) {
		log_warnx(
		    "spool %s: seq file missing from a spool in use; continuing from the clock",
		    sp->dir);
		last = spool_recover_seq(sp);
	}
	if (last < sp->seq_floor)
		last = sp->seq_floor;
	if (last == UINT64_MAX - 1) {
		snprintf(err, errlen, "spool %s: sequence numbers exhausted", sp->dir);
		return -1;
	}
	*seq = last + 1;
	/* the entry's write syncs the directory (see the top of this file) */
	if (write_counter(sp, "seq", *seq, 0) == -1) {
		snprintf(err, errlen, "spool %s: cannot write seq: %s", sp->dir, strerror(errno));
		return -1;
	}
	sp->seq_last = *seq;
	return 0;
}

/* ---- entries ---- */

int
spool_put(struct spool *sp, uint64_t seq, const struct buf *frame, char *err, size_t errlen)
{
	struct spool_entry *v;
	uint64_t total = 0, dropped = 0, need = ENTRY_HDR + (uint64_t)frame->len;
	uint8_t hdr[ENTRY_HDR];
	size_t n, i;
	char name[32];
	int rc, stuck = 0;

	if (need > sp->max_bytes) {
		snprintf(err, errlen, "spool %s: a snapshot of %zu bytes exceeds spool_max",
		         sp->dir, frame->len);
		return -1;
	}
	save_id(sp);
	if (spool_list(sp, &v, &n, err, errlen) == -1)
		return -1;
	/* every entry, listed or not, and those set aside, which go first */
	total = u64_add_sat(sp->listed_bytes, sp->listed_bad_bytes);
	if (total + need > sp->max_bytes && sp->listed_bad > 0) {
		uint64_t freed = spool_trim_bad(sp, total + need - sp->max_bytes);

		total = freed < total ? total - freed : 0;
	}
	/*
	 * make room: the oldest go first, and are counted.  One that cannot be
	 * removed (an I/O error, a read-only or immutable file) was never
	 * acknowledged: it stays and will be sent, and this snapshot is the one
	 * that does not fit (spool_remove would take it for acknowledged).
	 */
	for (i = 0; i < n && total + need > sp->max_bytes; i++) {
		char old[32];

		snprintf(old, sizeof(old), ENTRY_FMT, (unsigned long long)v[i].seq);
		if (v[i].seq == sp->kept_seq)
			spool_forget(sp);
		if (unlinkat(sp->dirfd, old, 0) == -1 && errno != ENOENT) {
			snprintf(err, errlen,
			         "spool %s full (spool_max %llu bytes), and its oldest snapshot %s "
			         "cannot be removed to make room: %s",
			         sp->dir, (unsigned long long)sp->max_bytes, old, strerror(errno));
			stuck = 1;
			break;
		}
		total -= v[i].size;
		dropped++;
		if (sp->listed_count > 0)
			sp->listed_count--;
	}
	free(v);
	if (dropped > 0) {
		spool_count_drop(sp, dropped);
		log_warnx("spool %s full (spool_max %llu bytes): dropped the %llu oldest "
		          "snapshot(s), %llu in all",
		          sp->dir, (unsigned long long)sp->max_bytes, (unsigned long long)dropped,
		          (unsigned long long)sp->dropped);
	}
	if (total + need > sp->max_bytes) {
		/* an oldest entry that could not go said why; else room ran out */
		if (!stuck)
			snprintf(
			    err, errlen,
			    "spool %s full (spool_max %llu bytes): no room made for a snapshot "
			    "of %llu bytes (%zu entries, %llu bytes, beyond what one listing holds "
			    "or set aside)",
			    sp->dir, (unsigned long long)sp->max_bytes, (unsigned long long)need,
			    sp->listed_count, (unsigned long long)total);
		return -1;
	}
	save_dropped(sp); /* drops counted while nothing could be written */
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, ENTRY_MAGIC, 4);
	put_be32(hdr + 4, ENTRY_VERSION);
	put_be64(hdr + 8, seq);
	if (sp->id[0] != '\0')
		memcpy(hdr + 16, sp->idraw, SPOOL_ID_LEN);
	if (entry_digest(hdr, ENTRY_SUMMED, frame->data, frame->len, hdr + ENTRY_SUMMED) == -1) {
		snprintf(err, errlen, "spool %s: cannot compute a checksum", sp->dir);
		return -1;
	}
	snprintf(name, sizeof(name), ENTRY_FMT, (unsigned long long)seq);
	if ((rc = write_file_atomic(sp, name, hdr, sizeof(hdr), frame->data, frame->len, 1)) < 0) {
		int saved = errno;

		/*
		 * Not durable is not spooled (guarantee 1): an entry whose rename
		 * the directory's fsync did not confirm goes, or it would be sent
		 * while counted as dropped.
		 */
		if (rc == -2)
			unlinkat(sp->dirfd, name, 0);
		snprintf(err, errlen, "spool %s: cannot write %s: %s", sp->dir, name,
		         strerror(saved));
		return -1;
	}
	sp->listed_count++;
	return 0;
}

void
spool_set_aside(struct spool *sp, uint64_t seq, const char *why)
{
	char name[32], bad[40];

	if (seq == sp->kept_seq)
		spool_forget(sp);
	snprintf(name, sizeof(name), ENTRY_FMT, (unsigned long long)seq);
	snprintf(bad, sizeof(bad), "%s.bad", name);
	spool_count_drop(sp, 1);
	if (sp->listed_count > 0)
		sp->listed_count--;
	log_warnx("spool %s: %s is corrupt (%s); set aside as %s and counted as dropped "
	          "(%llu in all)",
	          sp->dir, name, why, bad, (unsigned long long)sp->dropped);
	if (renameat(sp->dirfd, name, sp->dirfd, bad) == 0 || errno == ENOENT)
		return;
	log_warn("spool %s: cannot rename %s", sp->dir, name);
	if (skip_add(sp, seq, 1) == -1)
		unlinkat(sp->dirfd, name, 0);
}

/* The payload's own "seq" (bare frames of the previous version carry no other). */
static int
payload_seq(const uint8_t *p, size_t n, uint64_t *seq)
{
	struct proto_doc d;
	char why[128];
	int rc;

	if (proto_doc_unpack(p, n, &d, why, sizeof(why)) == -1)
		return -1;
	rc = mpr_get_u64(&d.root, "seq", seq) == 0 ? 0 : -1;
	proto_doc_free(&d);
	return rc;
}

/*
 * Checks an entry read from the file of seq; returns NULL with the frame's
 * offset in *off, or why it is bad.
 */
static const char *
entry_check(const struct spool *sp, uint64_t seq, const uint8_t *data, size_t len, size_t *off)
{
	uint8_t sum[SPOOL_DIGEST_LEN];
	const char *why = NULL;
	uint32_t plen;
	int bare;

	bare = len < 4 || memcmp(data, ENTRY_MAGIC, 4) != 0;
	*off = bare ? 0 : ENTRY_HDR;
	if (!bare) {
		if (len < ENTRY_HDR)
			return "truncated header";
		if (get_be32(data + 4) != ENTRY_VERSION)
			return "unknown entry format";
		if (get_be64(data + 8) != seq)
			return "its sequence number is not its name's (a copied file?)";
		if (entry_digest(data, ENTRY_SUMMED, data + ENTRY_HDR, len - ENTRY_HDR, sum) == -1)
			return "cannot compute a checksum";
		if (memcmp(sum, data + ENTRY_SUMMED, sizeof(sum)) != 0)
			return "checksum mismatch";
		if (memcmp(data + 16, sp->id[0] != '\0' ? sp->idraw : (const uint8_t[16]){0},
		           SPOOL_ID_LEN) != 0)
			return "written by another spool";
	}
	data += *off;
	len -= *off;
	if (len < PROTO_HDR_LEN)
		return "truncated";
	if (frame_header(data, PROTO_MAX_FRAME, &plen, &why) == -1)
		return why;
	if ((size_t)plen != len - PROTO_HDR_LEN)
		return "length does not match";
	if (bare) {
		uint64_t inner;

		/* no checksum: at least the number must be the name's */
		if (payload_seq(data + PROTO_HDR_LEN, plen, &inner) == -1)
			return "not a snapshot";
		if (inner != seq)
			return "its sequence number is not its name's (a copied file?)";
	} else if (frame_validate(data + PROTO_HDR_LEN, plen, &why) == -1)
		return why;
	return NULL;
}

int
spool_get(struct spool *sp, uint64_t seq, struct buf *frame, char *err, size_t errlen)
{
	char name[32];
	const char *why;
	char *data;
	size_t len, off;
	int fd, saved;

	/* the frame just spooled: the same bytes, already validated by the encoder */
	if (seq != 0 && seq == sp->kept_seq) {
		buf_free(frame);
		*frame = sp->kept;
		buf_init(&sp->kept, 0);
		sp->kept_seq = 0;
		return 0;
	}
	snprintf(name, sizeof(name), ENTRY_FMT, (unsigned long long)seq);
	fd = open_entry(sp, name);
	if (fd == -1 || read_fd_bounded(fd, 64u * 1024, ENTRY_HDR + PROTO_HDR_LEN + PROTO_MAX_FRAME,
	                                &data, &len) == -1) {
		saved = errno;
		if (fd != -1)
			close(fd);
		snprintf(err, errlen, "spool %s: %s: %s", sp->dir, name, strerror(saved));
		if (saved == ENOENT)
			return -2; /* removed meanwhile: nothing to send */
		if (saved == EFBIG || saved == EINVAL || saved == ELOOP) {
			spool_set_aside(
			    sp, seq, saved == EFBIG ? "larger than a frame" : "not a regular file");
			return -2;
		}
		/* an I/O error: retried a few times (the order is kept), then set aside */
		if (sp->unread_seq != seq) {
			sp->unread_seq = seq;
			sp->unread_tries = 0;
		}
		if (++sp->unread_tries >= SPOOL_READ_TRIES) {
			spool_set_aside(sp, seq, "unreadable");
			sp->unread_seq = 0;
			return -2;
		}
		return -1;
	}
	close(fd);
	if (sp->unread_seq == seq)
		sp->unread_seq = 0;
	why = entry_check(sp, seq, (const uint8_t *)data, len, &off);
	if (why != NULL) {
		spool_set_aside(sp, seq, why);
		free(data);
		snprintf(err, errlen, "spool %s: %s was corrupt", sp->dir, name);
		return -2;
	}
	buf_reset(frame);
	buf_append(frame, data + off, len - off);
	free(data);
	if (buf_failed(frame)) {
		snprintf(err, errlen, "spool %s: out of memory", sp->dir);
		return -1;
	}
	return 0;
}
