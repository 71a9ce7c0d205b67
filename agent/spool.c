/*
 * spool.c: the agent's on-disk spool (agent.h).
 *
 * Layout of the spool directory (mode 0700):
 *   seq                    last sequence number handed out (decimal)
 *   dropped                snapshots dropped because the spool was full
 *   NNNNNNNNNNNNNNNNNNNN.snap   one whole frame (header + payload) per snapshot
 *   *.bad                  entries set aside as corrupt
 * Every file is written to a temporary name (.NAME.tmp), fsync'd and
 * renamed, and the directory is fsync'd, so a crash leaves either the old or
 * the new file; temporaries a crash left are removed by spool_open().
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
 * seen.  A snapshot that
 * cannot be spooled (too large, write error) is counted in `dropped` like
 * the ones dropped to make room.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define ENTRY_FMT "%020llu.snap"
#define ENTRY_LEN 25 /* 20 digits + ".snap" */

/*
 * Writes NAME through .NAME.tmp: write, fsync, rename, then fsync the
 * directory unless sync_dir is 0 (the caller's next write does it, see
 * spool_next_seq).
 */
static int
write_file_atomic(struct spool *sp, const char *name, const void *p, size_t n, int sync_dir)
{
	char tmp[64];
	int fd, saved;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(sp->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	if (fsync(fd) == -1)
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
		return -1;
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

/* Reads a small decimal counter file; a missing file is 0. */
static int
read_counter(struct spool *sp, const char *name, uint64_t *v)
{
	char text[32];
	const char *why;
	ssize_t r;
	int fd;

	*v = 0;
	fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	r = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (r <= 0) {
		errno = EINVAL;
		return -1;
	}
	text[r] = '\0';
	text[strcspn(text, "\n")] = '\0';
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

	return write_file_atomic(sp, name, text, (size_t)n, sync_dir);
}

/*
 * Removes ".NAME.tmp" files a crash left behind in the middle of
 * write_file_atomic(): their rename never happened, so nothing refers to
 * them (the entry they were to become was never counted as spooled).
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

int
spool_open(struct spool *sp, const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
	struct stat st;

	memset(sp, 0, sizeof(*sp));
	sp->dirfd = -1;
	sp->max_bytes = max_bytes;
	if (ifl_strlcpy(sp->dir, dir, sizeof(sp->dir)) >= sizeof(sp->dir)) {
		snprintf(err, errlen, "spool %s: path too long", dir);
		return -1;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "spool %s: cannot create: %s", dir, strerror(errno));
		return -1;
	}
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd == -1 || fstat(sp->dirfd, &st) == -1) {
		snprintf(err, errlen, "spool %s: %s", dir, strerror(errno));
		spool_close(sp);
		return -1;
	}
	if ((st.st_mode & 077) != 0 && fchmod(sp->dirfd, 0700) == -1) {
		snprintf(err, errlen, "spool %s: cannot make it private (0700): %s", dir,
		         strerror(errno));
		spool_close(sp);
		return -1;
	}
	spool_remove_temporaries(sp);
	return 0;
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
		if (n > 0 && v[n - 1].seq > last)
			last = v[n - 1].seq;
		free(v);
	}
	return last;
}

/* 1 when the spool holds entries or a drop count: it is not a new spool. */
static int
spool_in_use(struct spool *sp)
{
	struct spool_entry *v;
	char err[256];
	size_t n = 0;

	if (faccessat(sp->dirfd, "dropped", F_OK, 0) == 0)
		return 1;
	if (spool_list(sp, &v, &n, err, sizeof(err)) == -1)
		return 1;
	free(v);
	return n > 0;
}

int
spool_next_seq(struct spool *sp, uint64_t *seq, char *err, size_t errlen)
{
	uint64_t last;

	if (read_counter(sp, "seq", &last) == -1) {
		log_warnx("spool %s: seq file unreadable; continuing from the clock", sp->dir);
		last = spool_recover_seq(sp);
	} else if (last == 0 && faccessat(sp->dirfd, "seq", F_OK, 0) == -1 && spool_in_use(sp)) {
		log_warnx(
		    "spool %s: seq file missing from a spool in use; continuing from the clock",
		    sp->dir);
		last = spool_recover_seq(sp);
	}
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
	return 0;
}

uint64_t
spool_dropped(struct spool *sp)
{
	uint64_t v;

	if (read_counter(sp, "dropped", &v) == -1)
		return 0;
	return v;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
spool_list(struct spool *sp, struct spool_entry **out, size_t *n, char *err, size_t errlen)
{
	struct spool_entry *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	*out = NULL;
	*n = 0;
	if ((fd = dup(sp->dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		snprintf(err, errlen, "spool %s: %s", sp->dir, strerror(errno));
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		char digits[21];
		const char *why;
		struct stat st;
		uint64_t seq;

		if (strlen(de->d_name) != ENTRY_LEN || strcmp(de->d_name + 20, ".snap") != 0)
			continue;
		memcpy(digits, de->d_name, 20);
		digits[20] = '\0';
		if (parse_u64(digits, 1, UINT64_MAX, &seq, &why) == -1)
			continue;
		if (fstatat(sp->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (cnt == SPOOL_MAX_ENTRIES)
			break; /* the rest is listed after these are sent */
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct spool_entry *nv = reallocarray(v, ncap, sizeof(*nv));

			if (nv == NULL) {
				free(v);
				closedir(d);
				snprintf(err, errlen, "spool %s: out of memory", sp->dir);
				return -1;
			}
			v = nv;
			cap = ncap;
		}
		v[cnt].seq = seq;
		v[cnt].size = (uint64_t)st.st_size;
		cnt++;
	}
	closedir(d);
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

	if (seq == sp->kept_seq)
		spool_forget(sp);
	snprintf(name, sizeof(name), ENTRY_FMT, (unsigned long long)seq);
	if (unlinkat(sp->dirfd, name, 0) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

int
spool_put(struct spool *sp, uint64_t seq, const struct buf *frame, char *err, size_t errlen)
{
	struct spool_entry *v;
	uint64_t total = 0, dropped = 0;
	size_t n, i;
	char name[32];

	if (frame->len > sp->max_bytes) {
		if (write_counter(sp, "dropped", spool_dropped(sp) + 1, 1) == -1)
			log_warn("spool %s: cannot record the drop count", sp->dir);
		snprintf(err, errlen,
		         "spool %s: a snapshot of %zu bytes exceeds spool_max (dropped)", sp->dir,
		         frame->len);
		return -1;
	}
	if (spool_list(sp, &v, &n, err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++)
		total += v[i].size;
	/* make room: the oldest go first, and are counted */
	for (i = 0; i < n && total + frame->len > sp->max_bytes; i++) {
		if (spool_remove(sp, v[i].seq) == 0) {
			total -= v[i].size;
			dropped++;
		}
	}
	free(v);
	if (dropped > 0) {
		uint64_t sofar = spool_dropped(sp) + dropped;

		log_warnx("spool %s full (spool_max %llu bytes): dropped the %llu oldest "
		          "snapshot(s), %llu in all",
		          sp->dir, (unsigned long long)sp->max_bytes, (unsigned long long)dropped,
		          (unsigned long long)sofar);
		if (write_counter(sp, "dropped", sofar, 1) == -1)
			log_warn("spool %s: cannot record the drop count", sp->dir);
	}
	snprintf(name, sizeof(name), ENTRY_FMT, (unsigned long long)seq);
	if (write_file_atomic(sp, name, frame->data, frame->len, 1) == -1) {
		int saved = errno;

		/* the snapshot is lost: count it, so the aggregator hears of it */
		if (write_counter(sp, "dropped", spool_dropped(sp) + 1, 1) == -1)
			log_warn("spool %s: cannot record the drop count", sp->dir);
		snprintf(err, errlen, "spool %s: cannot write %s (snapshot dropped): %s", sp->dir,
		         name, strerror(saved));
		return -1;
	}
	return 0;
}

static void
set_aside(struct spool *sp, const char *name, const char *why)
{
	char bad[40];

	snprintf(bad, sizeof(bad), "%s.bad", name);
	log_warnx("spool %s: %s is corrupt (%s); set aside as %s", sp->dir, name, why, bad);
	if (renameat(sp->dirfd, name, sp->dirfd, bad) == -1)
		unlinkat(sp->dirfd, name, 0);
}

int
spool_get(struct spool *sp, uint64_t seq, struct buf *frame, char *err, size_t errlen)
{
	char name[32], path[CFG_PATH_MAX + 40];
	const char *why;
	char *data;
	size_t len;
	uint32_t plen;

	/* the frame just spooled: the same bytes, already validated by the encoder */
	if (seq != 0 && seq == sp->kept_seq) {
		buf_free(frame);
		*frame = sp->kept;
		buf_init(&sp->kept, 0);
		sp->kept_seq = 0;
		return 0;
	}
	snprintf(name, sizeof(name), ENTRY_FMT, (unsigned long long)seq);
	snprintf(path, sizeof(path), "%s/%s", sp->dir, name);
	if (read_file_bounded(path, PROTO_HDR_LEN + PROTO_MAX_FRAME, &data, &len) == -1) {
		int saved = errno;

		snprintf(err, errlen, "spool %s: %s: %s", sp->dir, name, strerror(saved));
		if (saved == EFBIG) {
			set_aside(sp, name, "larger than a frame");
			return -2;
		}
		return -1;
	}
	why = NULL;
	if (len < PROTO_HDR_LEN)
		why = "truncated";
	else if (frame_header((const uint8_t *)data, PROTO_MAX_FRAME, &plen, &why) == -1) {
		/* why set */
	} else if ((size_t)plen != len - PROTO_HDR_LEN)
		why = "length does not match";
	else if (frame_validate((const uint8_t *)data + PROTO_HDR_LEN, plen, &why) == -1) {
		/* why set */
	}
	if (why != NULL) {
		set_aside(sp, name, why);
		free(data);
		snprintf(err, errlen, "spool %s: %s was corrupt", sp->dir, name);
		return -2;
	}
	buf_reset(frame);
	buf_append(frame, data, len);
	free(data);
	if (buf_failed(frame)) {
		snprintf(err, errlen, "spool %s: out of memory", sp->dir);
		return -1;
	}
	return 0;
}
