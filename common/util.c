/*
 * util.c: strict parsers and small helpers (util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, const char **errstr)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p == '\0') {
		*errstr = "empty";
		return -1;
	}
	for (; *p != '\0'; p++) {
		unsigned d;

		if (*p < '0' || *p > '9') {
			*errstr = "not a number";
			return -1;
		}
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10) {
			*errstr = "too large";
			return -1;
		}
		v = v * 10 + d;
	}
	if (v < min) {
		*errstr = "too small";
		return -1;
	}
	if (v > max) {
		*errstr = "too large";
		return -1;
	}
	*out = v;
	return 0;
}

int
parse_i64(const char *s, int64_t min, int64_t max, int64_t *out, const char **errstr)
{
	uint64_t mag;
	int neg = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (parse_u64(s, 0, (uint64_t)INT64_MAX + (uint64_t)neg, &mag, errstr) == -1) {
		/* below INT64_MIN is too small, not too large */
		if (neg && strcmp(*errstr, "too large") == 0)
			*errstr = "too small";
		return -1;
	}
	if (neg) {
		int64_t v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
		if (v < min) {
			*errstr = "too small";
			return -1;
		}
		if (v > max) {
			*errstr = "too large";
			return -1;
		}
		*out = v;
	} else {
		if ((int64_t)mag > max) {
			*errstr = "too large";
			return -1;
		}
		if ((int64_t)mag < min) {
			*errstr = "too small";
			return -1;
		}
		*out = (int64_t)mag;
	}
	return 0;
}

int
parse_octal(const char *s, uint32_t *out, const char **errstr)
{
	uint32_t v = 0;

	if (*s == '\0') {
		*errstr = "empty";
		return -1;
	}
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '7') {
			*errstr = "not an octal number";
			return -1;
		}
		if (v > (UINT32_MAX >> 3)) {
			*errstr = "too large";
			return -1;
		}
		v = (v << 3) | (uint32_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* A number followed by at most one unit letter from units (multipliers in mult). */
static int
parse_suffixed(const char *s, const char *units, const uint64_t *mult, uint64_t *out,
               const char **errstr)
{
	char num[32];
	size_t n = strlen(s);
	uint64_t v, m = 1;
	const char *u;

	if (n == 0) {
		*errstr = "empty";
		return -1;
	}
	if (n >= sizeof(num)) {
		*errstr = "too long";
		return -1;
	}
	memcpy(num, s, n + 1);
	if ((u = strchr(units, num[n - 1])) != NULL) {
		m = mult[u - units];
		num[--n] = '\0';
		if (n == 0) {
			/* a unit without a number ("h") */
			*errstr = "not a number";
			return -1;
		}
	}
	if (parse_u64(num, 0, UINT64_MAX, &v, errstr) == -1)
		return -1;
	if (m != 0 && v > UINT64_MAX / m) {
		*errstr = "too large";
		return -1;
	}
	*out = v * m;
	return 0;
}

int
parse_duration(const char *s, uint64_t *seconds, const char **errstr)
{
	static const uint64_t mult[] = {1, 60, 3600, 86400};

	if (parse_suffixed(s, "smhd", mult, seconds, errstr) == -1) {
		if (strcmp(*errstr, "not a number") == 0)
			*errstr = "not a duration (use a number with s, m, h or d)";
		return -1;
	}
	return 0;
}

int
parse_size(const char *s, uint64_t *bytes, const char **errstr)
{
	static const uint64_t mult[] = {1024, 1024 * 1024, 1024 * 1024 * 1024};

	if (parse_suffixed(s, "KMG", mult, bytes, errstr) == -1) {
		if (strcmp(*errstr, "not a number") == 0)
			*errstr = "not a size (use a number with K, M or G)";
		return -1;
	}
	return 0;
}

int
parse_hostport(const char *s, char *host, size_t hostlen, char *port, size_t portlen,
               const char **errstr)
{
	const char *colon, *h = s;
	size_t hl;
	uint64_t pn;

	if (*s == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || end[1] != ':') {
			*errstr = "expected [ADDRESS]:PORT";
			return -1;
		}
		h = s + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || strchr(s, ':') != colon) {
			*errstr = "expected HOST:PORT";
			return -1;
		}
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen) {
		*errstr = hl == 0 ? "empty host" : "host too long";
		return -1;
	}
	if (parse_u64(colon + 1, 0, 65535, &pn, errstr) == -1) {
		*errstr = "bad port (0 to 65535)";
		return -1;
	}
	if (strlen(colon + 1) >= portlen) {
		*errstr = "port too long";
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	ifl_strlcpy(port, colon + 1, portlen);
	return 0;
}

int
read_fd_bounded(int fd, size_t first, size_t max, char **bufp, size_t *lenp)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int saved;

	*bufp = NULL;
	*lenp = 0;
	for (;;) {
		ssize_t r;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : first > 0 ? first : 1;
			char *nb;

			if (cap > max) {
				errno = EFBIG;
				goto fail;
			}
			if (ncap > max + 1)
				ncap = max + 1;
			if (ncap <= len) {
				errno = EFBIG;
				goto fail;
			}
			if ((nb = realloc(buf, ncap + 1)) == NULL)
				goto fail;
			buf = nb;
			cap = ncap;
		}
		r = read(fd, buf + len, cap - len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return -1;
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	saved = errno;
	free(buf);
	errno = saved;
	return -1;
}

int
grow_array(void *arrayp, size_t *cap, size_t want, size_t first, size_t max, size_t size)
{
	void *v, *n;
	size_t ncap;

	if (want <= *cap)
		return 0;
	if (want > max)
		return -1;
	ncap = *cap ? *cap : first > 0 ? first : 1;
	while (ncap < want)
		ncap = ncap > max / 2 ? max : ncap * 2;
	if (ncap > max)
		ncap = max;
	if (size > 0 && ncap > SIZE_MAX / size)
		return -1; /* its bytes would not fit a size_t */
	/* arrayp points at a typed pointer: copied, not accessed as void * */
	memcpy(&v, arrayp, sizeof(v));
	if ((n = reallocarray(v, ncap, size)) == NULL)
		return -1;
	memcpy(arrayp, &n, sizeof(n));
	*cap = ncap;
	return 0;
}

uint32_t
fnv1a(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ *c++) * 16777619u;
	return h;
}

uint32_t
fnv1a_str(const char *s)
{
	return fnv1a(s, strlen(s));
}

uint64_t
fnv1a64_str(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

int
read_fd_full(int fd, char *buf, size_t n, size_t *len)
{
	*len = 0;
	while (*len < n) {
		ssize_t r = read(fd, buf + *len, n - *len);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		*len += (size_t)r;
	}
	return 0;
}

char *
trim_space(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		e--;
	*e = '\0';
	return s;
}

int
read_file_bounded(const char *path, size_t max, char **bufp, size_t *lenp)
{
	int fd, rc, saved;

	*bufp = NULL;
	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;
	rc = read_fd_bounded(fd, 4096, max, bufp, lenp);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
read_regular_bounded(const char *path, size_t max, char **bufp, size_t *lenp)
{
	struct stat st;
	int fd, rc = -1, saved;

	*bufp = NULL;
	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1)
		return -1;
	if (fstat(fd, &st) == 0) {
		if (S_ISREG(st.st_mode))
			rc = read_fd_bounded(fd, 4096, max, bufp, lenp);
		else
			errno = EINVAL;
	}
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int64_t
time_plus(int64_t t, long double secs)
{
	if (!(secs < (long double)INT64_MAX - (long double)t))
		return INT64_MAX;
	if (secs <= (long double)INT64_MIN - (long double)t)
		return INT64_MIN;
	return t + (int64_t)secs;
}

char *
fmt_rfc3339(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		ifl_strlcpy(buf, "1970-01-01T00:00:00Z", len);
	return buf;
}

int
parse_rfc3339(const char *s, int64_t *t)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	*t = (int64_t)timegm(&tm);
	return 0;
}

size_t
split_fields(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (n < max)
			fields[n] = p;
		n++;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p == '\0')
			break;
		*p++ = '\0';
	}
	return n;
}

size_t
ifl_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

size_t
ifl_strlcat(char *dst, const char *src, size_t size)
{
	size_t d = strnlen(dst, size);

	if (d == size)
		return size + strlen(src);
	return d + ifl_strlcpy(dst + d, src, size - d);
}

int64_t
now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

uint64_t
now_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
expand_tilde(const char *in, char *out, size_t outlen)
{
	if (in[0] == '~' && (in[1] == '/' || in[1] == '\0')) {
		const char *home = getenv("HOME");

		if (home == NULL || *home == '\0')
			home = "/";
		if ((size_t)snprintf(out, outlen, "%s%s", home, in + 1) >= outlen)
			return -1;
		return 0;
	}
	if (ifl_strlcpy(out, in, outlen) >= outlen)
		return -1;
	return 0;
}
