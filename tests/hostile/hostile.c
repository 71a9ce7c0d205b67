/*
 * hostile.c: ipcfleet-hostile, a misbehaving peer for the aggregator's
 * defences (tests/integration/t_sec_hostile.sh, docs/SECURITY.md).
 *
 * It connects with the certificate it is given (so it can play an agent, an
 * admin or a stranger), sends one crafted input per case, and prints one line
 * per outcome:
 *
 *   CASE: error CODE NAME [closed|open]: TEXT   the aggregator answered an error
 *   CASE: ack SEQ | reply ID                    it accepted the frame
 *   CASE: closed (REASON)                       it closed without a frame
 *   CASE: no answer                             nothing within --timeout
 *   CASE: closed after S.Ss                     slow peers: when it was cut off
 *
 * The exit status is 0 when every case could be run (whatever the outcome:
 * the test script judges), 1 when one could not even connect, 2 on usage.
 *
 * Frames are built with proto/'s packer where they are well formed and byte
 * by byte where they must not be.  Memory: a case holds at most one frame
 * (HOSTILE_BUF_MAX) and one answer.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "buf.h"
#include "client.h"
#include "model.h"
#include "proto.h"
#include "tls.h"
#include "util.h"

#define HOSTILE_BUF_MAX    (PROTO_HDR_LEN + PROTO_MAX_FRAME)
#define HOSTILE_SMALL      (64u * 1024) /* the aggregator's cap for queries */
#define HOSTILE_HELLO_MAX  (4u * 1024)  /* the aggregator's cap for hello */
#define HOSTILE_CHECK_MS   3000         /* after an error: is the connection closed? */
#define HOSTILE_TRICKLE_MS 500          /* slow peers: one byte this often */
#define HOSTILE_SLOW_MAX_S 120          /* slow peers give up after this */
/* max-frame: elements left for everything but the nils; strings of the pad */
#define MAX_FRAME_SPARE 1000
#define MAX_FRAME_STR   65000

struct hostile {
	SSL_CTX *ctx;
	const char *server;
	const char *victim; /* the host name a hello claims */
	int timeout_ms;
	uint64_t seq; /* next sequence number of a well-formed snapshot */
};

/* Snapshot variants: each breaks one rule (SV_OK and SV_HOST_FIELD none). */
enum snapvar {
	SV_OK,
	SV_HOST_FIELD,    /* an extra "host" key naming the victim: ignored */
	SV_DEPTH,         /* 100 nested arrays */
	SV_MILLION_CLAIM, /* objects: array32 header claiming 1,000,000, one byte follows */
	SV_MILLION_NILS,  /* objects: 1,000,000 real nils (valid msgpack, over the model) */
	SV_OBJECTS_OVER,  /* objects: 100,001 well-formed sem sets */
	SV_ELEMENTS,      /* objects: 2^22 + 1 nils, over the frame's element cap */
	SV_HUGE_STRING,   /* a 70,000-byte scope name, over the string cap */
	SV_LONG_OWNER,    /* a 1,000-byte owner (at most 32) */
	SV_NEG_SIZE,      /* shm size -1 */
	SV_SEQ_ZERO,
	SV_SEQ_NEG,
	SV_SEQ_FLOAT,
	SV_DUP_SEQ,       /* seq twice */
	SV_UID_RANGE,     /* uid 2^32 */
	SV_LIMIT_NEG,     /* semmns -5 */
	SV_LIMIT_NAME,    /* a limit named "../../x" */
	SV_TIME_HUGE,     /* time 2^64 - 1 (not an int64) */
	SV_SCOPES_MANY,   /* 4,097 scopes */
	SV_FINDINGS_OVER, /* 10,001 findings */
	SV_MAX_FRAME,     /* 16 MiB with nearly 2^22 elements: the costliest frame that unpacks */
	SV_CONTROL,       /* a scope name with a terminal escape sequence */
};

static void
usage(FILE *fp)
{
	fprintf(
	    fp,
	    "usage: ipcfleet-hostile --server HOST:PORT --cert F --key F --ca F\n"
	    "                        [--timeout MS] [--victim NAME] [--seq N] [--tls12] CASE...\n"
	    "       ipcfleet-hostile --list\n"
	    "\n"
	    "Sends crafted input to a running ipcfleet-aggregator, one line per outcome.\n"
	    "For tests of the aggregator's defences only.\n");
}

/* ---- output ---- */

static double
elapsed_s(uint64_t start_ms)
{
	return (double)(now_mono_ms() - start_ms) / 1000;
}

/*
 * Reads the aggregator's answer to a case and prints it.  After an error
 * frame it waits up to HOSTILE_CHECK_MS to tell a closed connection from one
 * kept open.  Returns 1 when the connection is still usable, else 0.
 */
static int
report(const char *name, struct client *c)
{
	struct proto_doc d;
	struct msg_error e;
	struct buf in;
	uint64_t v;
	const msgpack_object *body;
	char err[512];
	int open = 0;

	buf_init(&in, HOSTILE_BUF_MAX);
	if (client_read_frame(c, PROTO_MAX_FRAME, &in, err, sizeof(err)) == -1) {
		if (strstr(err, "timed out") != NULL) {
			printf("%s: no answer\n", name);
			open = 1;
		} else
			printf("%s: closed (%s)\n", name, err);
		goto out;
	}
	if (proto_doc_unpack((const uint8_t *)in.data, in.len, &d, err, sizeof(err)) == -1) {
		printf("%s: unreadable answer: %s\n", name, err);
		goto out;
	}
	if (proto_decode_error(&d, &e, err, sizeof(err)) == 0) {
		int saved = c->timeout_ms;
		char err2[512];

		/* a closed connection reads EOF at once; an open one times out */
		c->timeout_ms = HOSTILE_CHECK_MS;
		buf_reset(&in);
		if (client_read_frame(c, PROTO_MAX_FRAME, &in, err2, sizeof(err2)) == -1 &&
		    strstr(err2, "timed out") != NULL)
			open = 1;
		c->timeout_ms = saved;
		printf("%s: error %u %s [%s]: %s\n", name, e.code, proto_err_name(e.code),
		       open ? "open" : "closed", e.text);
	} else if (proto_decode_ack(&d, &v, err, sizeof(err)) == 0) {
		printf("%s: ack %llu\n", name, (unsigned long long)v);
		open = 1;
	} else if (proto_decode_reply(&d, &v, &body, err, sizeof(err)) == 0) {
		printf("%s: reply %llu\n", name, (unsigned long long)v);
		open = 1;
	} else
		printf("%s: unexpected message type %d\n", name, (int)d.type);
	proto_doc_free(&d);
out:
	buf_free(&in);
	fflush(stdout);
	return open;
}

/* ---- frames ---- */

static void
put_be32(struct buf *b, uint32_t v)
{
	uint8_t h[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	buf_append(b, h, sizeof(h));
}

/* Patches the header of the frame that starts at off to the bytes after it. */
static void
frame_close(struct buf *b, size_t off)
{
	uint32_t n = (uint32_t)(b->len - off - PROTO_HDR_LEN);

	b->data[off] = (char)(n >> 24);
	b->data[off + 1] = (char)(n >> 16);
	b->data[off + 2] = (char)(n >> 8);
	b->data[off + 3] = (char)n;
}

static int
make_hello(struct buf *out, enum peer_role role, const char *host, uint32_t major,
           uint32_t page_size)
{
	struct msg_hello h;

	memset(&h, 0, sizeof(h));
	h.major = major;
	h.minor = PROTO_MINOR;
	h.role = role;
	ifl_strlcpy(h.agent, "ipcfleet-hostile " IPCFLEET_VERSION, sizeof(h.agent));
	if (host != NULL)
		ifl_strlcpy(h.host, host, sizeof(h.host));
	ifl_strlcpy(h.os, "Linux", sizeof(h.os));
	ifl_strlcpy(h.os_release, "6.1.0-hostile", sizeof(h.os_release));
	h.page_size = page_size;
	h.boot_time = now_unix() - 3600;
	h.interval = 60;
	return proto_encode_hello(out, &h);
}

static void
pack_sem(msgpack_packer *pk, int64_t id, const char *owner)
{
	msgpack_pack_map(pk, owner != NULL ? 11 : 10);
	mp_pack_kv_str(pk, "type", "sem");
	mp_pack_kv_i64(pk, "id", id);
	mp_pack_kv_i64(pk, "key", 0x1000 + id);
	mp_pack_kv_u64(pk, "mode", 0600);
	mp_pack_kv_u64(pk, "uid", 70);
	mp_pack_kv_u64(pk, "gid", 70);
	mp_pack_kv_u64(pk, "cuid", 70);
	mp_pack_kv_u64(pk, "cgid", 70);
	mp_pack_kv_str(pk, "scope", "host");
	mp_pack_kv_u64(pk, "nsems", 17);
	if (owner != NULL)
		mp_pack_kv_str(pk, "owner", owner);
}

/* A string of n 'A's as one msgpack str. */
static void
pack_long_str(msgpack_packer *pk, size_t n)
{
	char chunk[4096];

	memset(chunk, 'A', sizeof(chunk));
	msgpack_pack_str(pk, n);
	while (n > 0) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);

		msgpack_pack_str_body(pk, chunk, k);
		n -= k;
	}
}

static void
pack_objects(msgpack_packer *pk, struct buf *out, enum snapvar v)
{
	static const uint8_t claim[] = {0xdd, 0x00, 0x0f, 0x42, 0x40}; /* array32 1,000,000 */
	uint32_t i, n;
	char owner[1001];

	mp_pack_str(pk, "objects");
	switch (v) {
	case SV_DEPTH:
		for (i = 0; i < 100; i++)
			msgpack_pack_array(pk, 1);
		msgpack_pack_nil(pk);
		return;
	case SV_MILLION_CLAIM:
		buf_append(out, claim, sizeof(claim));
		msgpack_pack_nil(pk);
		return;
	case SV_MILLION_NILS:
	case SV_ELEMENTS:
	case SV_MAX_FRAME:
		n = v == SV_MILLION_NILS ? 1000000
		    : v == SV_ELEMENTS   ? PROTO_MAX_ELEMENTS + 1
		                         : PROTO_MAX_ELEMENTS - MAX_FRAME_SPARE;
		msgpack_pack_array(pk, n);
		for (i = 0; i < n; i++)
			msgpack_pack_nil(pk);
		return;
	case SV_OBJECTS_OVER:
		msgpack_pack_array(pk, MODEL_MAX_OBJECTS + 1);
		for (i = 0; i <= MODEL_MAX_OBJECTS; i++)
			pack_sem(pk, i, NULL);
		return;
	case SV_LONG_OWNER:
		memset(owner, 'o', sizeof(owner) - 1);
		owner[sizeof(owner) - 1] = '\0';
		msgpack_pack_array(pk, 1);
		pack_sem(pk, 1, owner);
		return;
	case SV_NEG_SIZE:
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 13);
		mp_pack_kv_str(pk, "type", "shm");
		mp_pack_kv_i64(pk, "id", 1);
		mp_pack_kv_i64(pk, "key", 0);
		mp_pack_kv_u64(pk, "mode", 0600);
		mp_pack_kv_u64(pk, "uid", 70);
		mp_pack_kv_u64(pk, "gid", 70);
		mp_pack_kv_u64(pk, "cuid", 70);
		mp_pack_kv_u64(pk, "cgid", 70);
		mp_pack_kv_str(pk, "scope", "host");
		mp_pack_kv_i64(pk, "size", -1);
		mp_pack_kv_u64(pk, "nattch", 0);
		mp_pack_kv_i64(pk, "cpid", 1);
		mp_pack_kv_i64(pk, "lpid", 1);
		return;
	case SV_UID_RANGE:
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 10);
		mp_pack_kv_str(pk, "type", "sem");
		mp_pack_kv_i64(pk, "id", 1);
		mp_pack_kv_i64(pk, "key", 0);
		mp_pack_kv_u64(pk, "mode", 0600);
		mp_pack_kv_u64(pk, "uid", 1ull << 32);
		mp_pack_kv_u64(pk, "gid", 70);
		mp_pack_kv_u64(pk, "cuid", 70);
		mp_pack_kv_u64(pk, "cgid", 70);
		mp_pack_kv_str(pk, "scope", "host");
		mp_pack_kv_u64(pk, "nsems", 1);
		return;
	default:
		msgpack_pack_array(pk, 2);
		pack_sem(pk, 1, NULL);
		pack_sem(pk, 2, "postgres");
		return;
	}
}

/* One snapshot frame of variant v appended to out.  Returns its seq. */
static uint64_t
make_snapshot(struct hostile *h, struct buf *out, enum snapvar v)
{
	msgpack_packer pk;
	size_t off = out->len;
	uint64_t seq = h->seq++;
	uint32_t i, n, nkeys = 6;

	put_be32(out, 0);
	proto_packer_init(&pk, out);
	if (v == SV_HOST_FIELD || v == SV_DUP_SEQ || v == SV_FINDINGS_OVER || v == SV_MAX_FRAME)
		nkeys++;
	msgpack_pack_map(&pk, nkeys);
	mp_pack_kv_str(&pk, "type", "snapshot");
	mp_pack_str(&pk, "seq");
	if (v == SV_SEQ_ZERO)
		msgpack_pack_uint64(&pk, 0);
	else if (v == SV_SEQ_NEG)
		msgpack_pack_int64(&pk, -1);
	else if (v == SV_SEQ_FLOAT)
		msgpack_pack_double(&pk, 1.5);
	else
		msgpack_pack_uint64(&pk, seq);
	if (v == SV_DUP_SEQ)
		mp_pack_kv_u64(&pk, "seq", seq + 1000);
	if (v == SV_HOST_FIELD)
		mp_pack_kv_str(&pk, "host", h->victim);
	mp_pack_str(&pk, "time");
	if (v == SV_TIME_HUGE)
		msgpack_pack_uint64(&pk, UINT64_MAX);
	else
		msgpack_pack_int64(&pk, now_unix());

	mp_pack_str(&pk, "limits");
	msgpack_pack_map(&pk, 5);
	mp_pack_str(&pk, "semmns");
	if (v == SV_LIMIT_NEG)
		msgpack_pack_int64(&pk, -5);
	else
		msgpack_pack_uint64(&pk, 32000);
	mp_pack_kv_u64(&pk, "semmni", 128);
	mp_pack_kv_u64(&pk, "semmsl", 250);
	mp_pack_kv_u64(&pk, v == SV_LIMIT_NAME ? "../../x" : "shmmni", 4096);
	mp_pack_kv_u64(&pk, "msgmni", 32000);

	mp_pack_str(&pk, "scopes");
	if (v == SV_SCOPES_MANY) {
		char id[32];

		msgpack_pack_array(&pk, MODEL_MAX_SCOPES + 1);
		for (i = 0; i <= MODEL_MAX_SCOPES; i++) {
			msgpack_pack_map(&pk, 3);
			if (i == 0) {
				mp_pack_kv_str(&pk, "id", "host");
				mp_pack_kv_str(&pk, "kind", "host");
			} else {
				snprintf(id, sizeof(id), "jail:j%u", i);
				mp_pack_kv_str(&pk, "id", id);
				mp_pack_kv_str(&pk, "kind", "jail");
			}
			mp_pack_kv_str(&pk, "name", "x");
		}
	} else {
		msgpack_pack_array(&pk, 1);
		msgpack_pack_map(&pk, 3);
		mp_pack_kv_str(&pk, "id", "host");
		mp_pack_kv_str(&pk, "kind", "host");
		mp_pack_str(&pk, "name");
		if (v == SV_HUGE_STRING)
			pack_long_str(&pk, 70000);
		else if (v == SV_CONTROL)
			mp_pack_str(&pk, "\x1b]0;owned\x07\x1b[2J");
		else
			mp_pack_str(&pk, "hostile");
	}
	pack_objects(&pk, out, v);
	if (v == SV_MAX_FRAME) {
		/* the bytes left, in strings just under the string cap */
		size_t left = PROTO_MAX_FRAME - (out->len - off - PROTO_HDR_LEN) - 64;

		mp_pack_str(&pk, "pad");
		n = (uint32_t)(left / (MAX_FRAME_STR + 5));
		msgpack_pack_array(&pk, n);
		for (i = 0; i < n; i++)
			pack_long_str(&pk, MAX_FRAME_STR);
	}
	if (v == SV_FINDINGS_OVER) {
		mp_pack_str(&pk, "findings");
		msgpack_pack_array(&pk, MODEL_MAX_FINDINGS + 1);
		for (i = 0; i <= MODEL_MAX_FINDINGS; i++) {
			msgpack_pack_map(&pk, 3);
			mp_pack_kv_str(&pk, "kind", "orphan");
			mp_pack_kv_str(&pk, "severity", "info");
			mp_pack_kv_str(&pk, "message", "m");
		}
	}
	frame_close(out, off);
	return seq;
}

/* A query frame: args given as name/value pairs (n of them). */
static void
make_query(struct buf *out, uint64_t id, const char *cmd, const char *const *args, size_t n)
{
	msgpack_packer pk;
	size_t off = out->len, i;

	put_be32(out, 0);
	proto_packer_init(&pk, out);
	msgpack_pack_map(&pk, n > 0 ? 4 : 3);
	mp_pack_kv_str(&pk, "type", "query");
	mp_pack_kv_u64(&pk, "id", id);
	mp_pack_kv_str(&pk, "cmd", cmd);
	if (n > 0) {
		mp_pack_str(&pk, "args");
		msgpack_pack_map(&pk, n);
		for (i = 0; i < n; i++)
			mp_pack_kv_str(&pk, args[2 * i], args[2 * i + 1]);
	}
	frame_close(out, off);
}

/* ---- connections ---- */

static int
tls_open(struct hostile *h, struct client *c)
{
	char err[512];

	if (client_connect(c, h->ctx, h->server, h->timeout_ms, err, sizeof(err)) == -1) {
		fprintf(stderr, "ipcfleet-hostile: %s\n", err);
		return -1;
	}
	return 0;
}

/* Sends b whole; prints the failure under name.  0 or -1. */
static int
send_buf(const char *name, struct client *c, const struct buf *b)
{
	char err[512];

	if (buf_failed(b)) {
		printf("%s: cannot build the frame\n", name);
		return -1;
	}
	if (client_write(c, b->data, b->len, err, sizeof(err)) == -1) {
		printf("%s: closed while sending (%s)\n", name, err);
		return -1;
	}
	return 0;
}

/* Connects, optionally says hello as role, sends payload, reports. */
static int
run_frames(struct hostile *h, const char *name, int hello, enum peer_role role,
           const struct buf *payload)
{
	struct client c;
	struct buf b;
	int rc = 0;

	if (tls_open(h, &c) == -1)
		return -1;
	buf_init(&b, HOSTILE_BUF_MAX + 4096);
	if (hello)
		make_hello(&b, role, NULL, PROTO_MAJOR, 4096);
	buf_append(&b, payload->data, payload->len);
	if (send_buf(name, &c, &b) == 0)
		report(name, &c);
	buf_free(&b);
	client_close(&c);
	return rc;
}

/* A raw payload (no msgpack packer) framed with its true length. */
static void
raw_frame(struct buf *b, const void *p, size_t n)
{
	put_be32(b, (uint32_t)n);
	buf_append(b, p, n);
}

/* xorshift64*: reproducible garbage. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static int
raw_tcp(const char *server, int timeout_ms)
{
	struct addrinfo hints, *res = NULL;
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	char host[256], port[8];
	const char *why;
	int fd;

	if (parse_hostport(server, host, sizeof(host), port, sizeof(port), &why) == -1)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (fd != -1) {
		/* Linux: SO_SNDTIMEO also bounds connect() */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, res->ai_addr, res->ai_addrlen) == -1) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd == -1)
		fprintf(stderr, "ipcfleet-hostile: %s: cannot connect: %s\n", server,
		        strerror(errno));
	return fd;
}

/*
 * plaintext: a well-formed hello frame over plain TCP.  Prints how many
 * bytes came back and the first of them (0x15 is a TLS alert record, which
 * is not a protocol frame).
 */
static int
case_plaintext(struct hostile *h, const char *name)
{
	struct buf b;
	uint8_t back[512];
	size_t got = 0;
	ssize_t r;
	int fd;

	if ((fd = raw_tcp(h->server, h->timeout_ms)) == -1)
		return -1;
	buf_init(&b, 4096);
	make_hello(&b, ROLE_AGENT, NULL, PROTO_MAJOR, 4096);
	if (write(fd, b.data, b.len) != (ssize_t)b.len) {
		printf("%s: closed while sending (%s)\n", name, strerror(errno));
		goto out;
	}
	while (got < sizeof(back) && (r = read(fd, back + got, sizeof(back) - got)) > 0)
		got += (size_t)r;
	if (got < sizeof(back) && r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		printf("%s: no answer (%zu bytes back)\n", name, got);
	else if (got == 0)
		printf("%s: closed, 0 bytes back\n", name);
	else
		printf("%s: closed, %zu bytes back, first byte 0x%02x%s\n", name, got, back[0],
		       back[0] == 0x15 ? " (TLS alert)" : "");
out:
	fflush(stdout);
	buf_free(&b);
	close(fd);
	return 0;
}

/* slow-tcp: connects and sends nothing; reports when the aggregator hangs up. */
static int
case_slow_tcp(struct hostile *h, const char *name)
{
	uint64_t start = now_mono_ms();
	char c;
	int fd;
	ssize_t r;

	if ((fd = raw_tcp(h->server, HOSTILE_SLOW_MAX_S * 1000)) == -1)
		return -1;
	/* the TLS server waits for our ClientHello; EOF or a reset ends it */
	r = read(fd, &c, 1);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		printf("%s: still open after %.1fs\n", name, elapsed_s(start));
	else
		printf("%s: closed after %.1fs\n", name, elapsed_s(start));
	fflush(stdout);
	close(fd);
	return 0;
}

/*
 * Trickles b one byte every HOSTILE_TRICKLE_MS over an open TLS connection
 * and reports when the aggregator stops it (an error frame or EOF).
 */
static void
trickle(const char *name, struct client *c, const struct buf *b, uint64_t start)
{
	char err[512];
	size_t i;

	for (i = 0; i < b->len; i++) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};

		if (client_write(c, b->data + i, 1, err, sizeof(err)) == -1)
			break;
		if (poll(&pfd, 1, HOSTILE_TRICKLE_MS) > 0) {
			struct buf in;

			/* a frame (the error) or EOF: either way it is over */
			buf_init(&in, HOSTILE_BUF_MAX);
			c->timeout_ms = 1000;
			if (client_read_frame(c, PROTO_MAX_FRAME, &in, err, sizeof(err)) == 0 ||
			    strstr(err, "timed out") == NULL) {
				buf_free(&in);
				break;
			}
			buf_free(&in);
		}
		if (elapsed_s(start) > HOSTILE_SLOW_MAX_S) {
			printf("%s: still open after %.1fs\n", name, elapsed_s(start));
			return;
		}
	}
	if (i == b->len)
		printf("%s: the whole frame went through in %.1fs\n", name, elapsed_s(start));
	else
		printf("%s: closed after %.1fs (%zu of %zu bytes sent)\n", name, elapsed_s(start),
		       i, b->len);
	fflush(stdout);
}

/* slow-hello: the hello, one byte at a time, right after the handshake. */
static int
case_slow_hello(struct hostile *h, const char *name)
{
	uint64_t start = now_mono_ms();
	struct client c;
	struct buf b;

	if (tls_open(h, &c) == -1)
		return -1;
	buf_init(&b, 4096);
	make_hello(&b, ROLE_AGENT, NULL, PROTO_MAJOR, 4096);
	trickle(name, &c, &b, start);
	buf_free(&b);
	client_close(&c);
	return 0;
}

/* slow-frame: a good hello, then a snapshot one byte at a time. */
static int
case_slow_frame(struct hostile *h, const char *name)
{
	struct client c;
	struct buf b;
	char err[512];
	uint64_t start;

	if (tls_open(h, &c) == -1)
		return -1;
	buf_init(&b, HOSTILE_BUF_MAX);
	make_hello(&b, ROLE_AGENT, NULL, PROTO_MAJOR, 4096);
	if (client_write(&c, b.data, b.len, err, sizeof(err)) == -1) {
		printf("%s: closed while sending hello (%s)\n", name, err);
		goto out;
	}
	buf_reset(&b);
	make_snapshot(h, &b, SV_OK);
	start = now_mono_ms();
	trickle(name, &c, &b, start);
out:
	buf_free(&b);
	client_close(&c);
	return 0;
}

/*
 * pipelined-bad: a hello, two good snapshots, one whose seq is 1.5, and a
 * third good one, in one write: the aggregator reads them all at once and
 * decodes them on its decoding thread.  Prints the good ones' sequence
 * numbers ("pipelined-bad/seqs: A B C"), then the answers: acks, perhaps,
 * and the bad frame's error.  Only A and B may be stored (C came after the
 * error, however soon it was decoded).
 */
static int
case_pipelined_bad(struct hostile *h, const char *name)
{
	struct client c;
	struct buf b;
	uint64_t s1, s2, s3;

	if (tls_open(h, &c) == -1)
		return -1;
	buf_init(&b, HOSTILE_BUF_MAX);
	make_hello(&b, ROLE_AGENT, NULL, PROTO_MAJOR, 4096);
	s1 = make_snapshot(h, &b, SV_OK);
	s2 = make_snapshot(h, &b, SV_OK);
	make_snapshot(h, &b, SV_SEQ_FLOAT);
	s3 = make_snapshot(h, &b, SV_OK);
	printf("%s/seqs: %llu %llu %llu\n", name, (unsigned long long)s1, (unsigned long long)s2,
	       (unsigned long long)s3);
	fflush(stdout);
	if (send_buf(name, &c, &b) == 0) {
		int i;

		/* acks of the first two (if acknowledged before the error came), the error */
		for (i = 0; i < 3 && report(name, &c); i++)
			;
	}
	buf_free(&b);
	client_close(&c);
	return 0;
}

/*
 * hold, hold-admin: an agent (admin) hello, then nothing: reports when (if)
 * the aggregator ends the connection within --timeout, and the error frame
 * it sent then.  Used to watch a newer connection with the same certificate
 * replace this one, or a reload cut off a revoked certificate.
 */
static int
case_hold(struct hostile *h, const char *name)
{
	uint64_t start = now_mono_ms();
	struct proto_doc d;
	struct msg_error e;
	struct client c;
	struct buf b;
	char err[512];

	if (tls_open(h, &c) == -1)
		return -1;
	buf_init(&b, 4096);
	make_hello(&b, strcmp(name, "hold-admin") == 0 ? ROLE_ADMIN : ROLE_AGENT, NULL, PROTO_MAJOR,
	           4096);
	if (send_buf(name, &c, &b) == 0) {
		printf("%s: connected\n", name);
		fflush(stdout);
		buf_reset(&b);
		if (client_read_frame(&c, PROTO_MAX_FRAME, &b, err, sizeof(err)) == -1) {
			if (strstr(err, "timed out") != NULL)
				printf("%s: still open after %.1fs\n", name, elapsed_s(start));
			else
				printf("%s: closed after %.1fs\n", name, elapsed_s(start));
		} else if (proto_doc_unpack((const uint8_t *)b.data, b.len, &d, err, sizeof(err)) ==
		           0) {
			if (proto_decode_error(&d, &e, err, sizeof(err)) == 0)
				printf("%s: closed after %.1fs: error %u %s: %s\n", name,
				       elapsed_s(start), e.code, proto_err_name(e.code), e.text);
			else
				printf("%s: unexpected message type %d\n", name, (int)d.type);
			proto_doc_free(&d);
		} else
			printf("%s: unreadable answer: %s\n", name, err);
	}
	fflush(stdout);
	buf_free(&b);
	client_close(&c);
	return 0;
}

/* Admin queries with absurd arguments, on one connection while it lasts. */
static int
case_query_absurd(struct hostile *h, const char *name)
{
	static const char *const since_neg[] = {"name", "x", "limit", "semmns", "since", "-1"};
	static const char *const since_big[] = {"name",   "x",     "limit",
	                                        "semmns", "since", "99999999999999999999999"};
	static const char *const since_word[] = {"name", "x", "limit", "semmns", "since", "abc"};
	static const char *const top_count[] = {"count", "1000000000000000000"};
	static const char *const top_zero[] = {"count", "0"};
	static const char *const top_by[] = {"by", "semmns,nosuch,../etc,%s%n"};
	static const char *const host_fmt[] = {"name", "%s%s%s%n"};
	static const char *const page_zero[] = {"limit", "0"};
	static const char *const page_huge[] = {"limit", "10001"};
	static const char *const page_word[] = {"limit", "-5"};
	static const char *const page_no_limit[] = {"after", "h1"};
	static const char *const page_after_empty[] = {"limit", "2", "after", ""};
	static const char *const report_page_huge[] = {"limit", "2001"};
	static const char *const nine[] = {"a", "1", "b", "2", "c", "3", "d", "4", "e",
	                                   "5", "f", "6", "g", "7", "h", "8", "i", "9"};
	struct {
		const char *tag, *cmd;
		const char *const *args;
		size_t n;
		size_t long_value; /* > 0: one arg "name" of this many bytes */
	} q[] = {
	    {"unknown-cmd", "drop_tables", NULL, 0, 0},
	    {"host-no-name", "host", NULL, 0, 0},
	    {"host-format", "host", host_fmt, 1, 0},
	    {"trend-since-negative", "trend", since_neg, 3, 0},
	    {"trend-since-huge", "trend", since_big, 3, 0},
	    {"trend-since-word", "trend", since_word, 3, 0},
	    {"top-count-huge", "top", top_count, 1, 0},
	    {"top-count-zero", "top", top_zero, 1, 0},
	    {"top-by-junk", "top", top_by, 1, 0},
	    {"hosts-page-zero", "hosts", page_zero, 1, 0},
	    {"hosts-page-huge", "hosts", page_huge, 1, 0},
	    {"hosts-page-negative", "hosts", page_word, 1, 0},
	    {"hosts-after-alone", "hosts", page_no_limit, 1, 0},
	    {"hosts-after-empty", "hosts", page_after_empty, 2, 0},
	    {"report-page-huge", "report", report_page_huge, 1, 0},
	    {"still-serving", "hosts", NULL, 0, 0},
	    {"nine-args", "hosts", nine, 9, 0},
	    {"arg-value-1000", "host", NULL, 0, 1000},
	    {"frame-70k", "host", NULL, 0, 70000},
	};
	struct client c;
	struct buf b;
	size_t i;
	int open = 0;
	char tag[128];

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		snprintf(tag, sizeof(tag), "%s/%s", name, q[i].tag);
		if (!open) {
			if (tls_open(h, &c) == -1)
				return -1;
			buf_init(&b, 4096);
			make_hello(&b, ROLE_ADMIN, NULL, PROTO_MAJOR, 4096);
			if (send_buf(tag, &c, &b) == -1) {
				buf_free(&b);
				client_close(&c);
				continue;
			}
			buf_free(&b);
			open = 1;
		}
		buf_init(&b, 128 * 1024);
		if (q[i].long_value > 0) {
			msgpack_packer pk;
			size_t off = b.len;

			put_be32(&b, 0);
			proto_packer_init(&pk, &b);
			msgpack_pack_map(&pk, 4);
			mp_pack_kv_str(&pk, "type", "query");
			mp_pack_kv_u64(&pk, "id", i + 1);
			mp_pack_kv_str(&pk, "cmd", q[i].cmd);
			mp_pack_str(&pk, "args");
			msgpack_pack_map(&pk, 1);
			mp_pack_str(&pk, "name");
			pack_long_str(&pk, q[i].long_value);
			frame_close(&b, off);
			/*
			 * Over the cap the header alone is refused: send no more,
			 * or the rest, unread, would make the aggregator's close a
			 * reset that can destroy its error frame before we read it.
			 */
			if (b.len > HOSTILE_SMALL)
				b.len = PROTO_HDR_LEN + 64;
		} else
			make_query(&b, i + 1, q[i].cmd, q[i].args, q[i].n);
		if (send_buf(tag, &c, &b) == -1)
			open = 0;
		else
			open = report(tag, &c);
		buf_free(&b);
		if (!open)
			client_close(&c);
	}
	if (open) {
		/* still serving this connection: a sane query gets its reply */
		snprintf(tag, sizeof(tag), "%s/then-hosts", name);
		buf_init(&b, 4096);
		make_query(&b, 99, "hosts", NULL, 0);
		if (send_buf(tag, &c, &b) == 0)
			report(tag, &c);
		buf_free(&b);
		client_close(&c);
	}
	return 0;
}

/* ---- findings floods (issue 18) ---- */

/*
 * findings-flood, findings-flood-scopes, notify-flood, findings-long: an
 * agent whose snapshots carry many findings, with new object ids each
 * round (so every round opens them all and closes the previous ones).
 * One connection; each snapshot waits for its ack, and the line says how
 * long that took.
 */
struct flood {
	const char *name;
	unsigned rounds;
	unsigned findings; /* orphan findings per snapshot */
	int reversed;      /* object ids in decreasing order */
	unsigned scopes;   /* IPC namespaces with limits of their own, one sem set each */
	size_t msglen;     /* bytes of each finding's message */
	int longest;       /* every text field of a finding as long as it may be */
};

static const struct flood floods[] = {
    {"findings-flood", 4, 9990, 0, 0, 200, 0},
    {"findings-flood-scopes", 4, 9990, 1, MODEL_MAX_SCOPES - 1, 200, 0},
    {"notify-flood", 3, 1000, 0, 0, 120, 0},
    {"findings-long", 1, MODEL_MAX_FINDINGS, 0, 0, MODEL_TEXT_MAX - 1, 1},
};

/* s: n - 1 bytes of c, NUL-terminated (n <= size of s). */
static void
fill(char *s, size_t n, char c)
{
	memset(s, c, n - 1);
	s[n - 1] = '\0';
}

/* One flood snapshot (round r) into out. */
static void
make_flood_snapshot(struct hostile *h, struct buf *out, const struct flood *fl, unsigned r)
{
	msgpack_packer pk;
	size_t off = out->len;
	char id[64], msg[MODEL_TEXT_MAX], cmd[MODEL_TEXT_MAX];
	/* longest: a scope id, a limit name and a command as long as they may be */
	char jail[MODEL_NAME_MAX] = "jail:", limit[MODEL_NAME_MAX], jname[MODEL_TEXT_MAX - 32];
	unsigned i;

	fill(jail + 5, sizeof(jail) - 5, 'j');
	fill(limit, sizeof(limit), 'l');
	fill(jname, sizeof(jname), 'n');

	put_be32(out, 0);
	proto_packer_init(&pk, out);
	msgpack_pack_map(&pk, 8);
	mp_pack_kv_str(&pk, "type", "snapshot");
	mp_pack_kv_u64(&pk, "seq", h->seq++);
	mp_pack_kv_i64(&pk, "time", now_unix());
	mp_pack_str(&pk, "limits");
	msgpack_pack_map(&pk, 4);
	mp_pack_kv_u64(&pk, "semmns", 32000);
	mp_pack_kv_u64(&pk, "semmni", 128);
	mp_pack_kv_u64(&pk, "shmmni", 4096);
	mp_pack_kv_u64(&pk, "msgmni", 32000);

	mp_pack_str(&pk, "scopes");
	msgpack_pack_array(&pk, 1 + fl->scopes + (fl->longest != 0));
	msgpack_pack_map(&pk, 3);
	mp_pack_kv_str(&pk, "id", "host");
	mp_pack_kv_str(&pk, "kind", "host");
	mp_pack_kv_str(&pk, "name", "hostile");
	if (fl->longest) {
		msgpack_pack_map(&pk, 3);
		mp_pack_kv_str(&pk, "id", jail);
		mp_pack_kv_str(&pk, "kind", "jail");
		mp_pack_kv_str(&pk, "name", jail + 5);
	}
	for (i = 0; i < fl->scopes; i++) {
		/* each its own pool: 17 of 20 semaphores taken, a warn threshold */
		snprintf(id, sizeof(id), "ipcns:%u", 4026532000u + i);
		msgpack_pack_map(&pk, 4);
		mp_pack_kv_str(&pk, "id", id);
		mp_pack_kv_str(&pk, "kind", "ipcns");
		mp_pack_kv_str(&pk, "name", id);
		mp_pack_str(&pk, "limits");
		msgpack_pack_map(&pk, 3);
		mp_pack_kv_u64(&pk, "semmns", 20);
		mp_pack_kv_u64(&pk, "semmni", 32);
		mp_pack_kv_u64(&pk, "shmmni", 4096);
	}
	mp_pack_str(&pk, "objects");
	msgpack_pack_array(&pk, fl->scopes);
	for (i = 0; i < fl->scopes; i++) {
		snprintf(id, sizeof(id), "ipcns:%u", 4026532000u + i);
		msgpack_pack_map(&pk, 10);
		mp_pack_kv_str(&pk, "type", "sem");
		mp_pack_kv_i64(&pk, "id", i);
		mp_pack_kv_i64(&pk, "key", 0x5000 + i);
		mp_pack_kv_u64(&pk, "mode", 0600);
		mp_pack_kv_u64(&pk, "uid", 70);
		mp_pack_kv_u64(&pk, "gid", 70);
		mp_pack_kv_u64(&pk, "cuid", 70);
		mp_pack_kv_u64(&pk, "cgid", 70);
		mp_pack_kv_str(&pk, "scope", id);
		mp_pack_kv_u64(&pk, "nsems", 17);
	}
	mp_pack_kv_u64(&pk, "dropped", 0);
	mp_pack_str(&pk, "findings");
	msgpack_pack_array(&pk, fl->findings);
	for (i = 0; i < fl->findings; i++) {
		/* new ids every round */
		long long oid = (long long)r * 1000000 +
		                (fl->reversed ? (long long)(fl->findings - i) : (long long)i);
		int n =
		    snprintf(msg, sizeof(msg),
		             "semaphore set %lld of uid 70 (hostile) unused for 1d00h: its "
		             "creator and last user are gone and its owner runs nothing in host",
		             oid);
		size_t len = n < 0 ? 0 : (size_t)n;

		/* padded (or cut) to msglen, which is below sizeof(msg) */
		if (len > fl->msglen)
			len = fl->msglen;
		while (len < fl->msglen)
			msg[len++] = '.';
		msg[len] = '\0';
		/* the form the aggregator accepts: [jexec NAME ]ipcrm -s ID */
		snprintf(cmd, sizeof(cmd), "%s%s%sipcrm -s %lld", fl->longest ? "jexec " : "",
		         fl->longest ? jname : "", fl->longest ? " " : "", oid);
		msgpack_pack_map(&pk, 9 + (fl->longest != 0));
		mp_pack_kv_str(&pk, "kind", "orphan");
		mp_pack_kv_str(&pk, "severity", "info");
		mp_pack_kv_str(&pk, "message", msg);
		mp_pack_kv_str(&pk, "scope", fl->longest ? jail : "host");
		if (fl->longest)
			mp_pack_kv_str(&pk, "limit", limit);
		mp_pack_kv_str(&pk, "type", "sem");
		mp_pack_kv_i64(&pk, "id", oid);
		mp_pack_kv_i64(&pk, "age", 86400);
		mp_pack_kv_u64(&pk, "uid", 70);
		mp_pack_kv_str(&pk, "command", cmd);
	}
	frame_close(out, off);
}

/* Prints the answer to round r; 0 when it is an ack. */
static int
flood_answer(const char *name, unsigned r, const struct buf *b, uint64_t start)
{
	struct proto_doc d;
	struct msg_error e;
	uint64_t v;
	char err[512];
	int rc = -1;

	if (proto_doc_unpack((const uint8_t *)b->data, b->len, &d, err, sizeof(err)) == -1) {
		printf("%s: round %u: unreadable answer: %s\n", name, r, err);
		return -1;
	}
	if (proto_decode_ack(&d, &v, err, sizeof(err)) == 0) {
		printf("%s: round %u: ack %llu after %.2fs\n", name, r, (unsigned long long)v,
		       elapsed_s(start));
		rc = 0;
	} else if (proto_decode_error(&d, &e, err, sizeof(err)) == 0)
		printf("%s: round %u: error %u %s: %s\n", name, r, e.code, proto_err_name(e.code),
		       e.text);
	else
		printf("%s: round %u: unexpected message type %d\n", name, r, (int)d.type);
	fflush(stdout);
	proto_doc_free(&d);
	return rc;
}

static int
case_flood(struct hostile *h, const char *name)
{
	const struct flood *fl = NULL;
	struct client c;
	struct buf b;
	unsigned r, acked = 0;
	size_t i;
	char err[512];

	for (i = 0; i < NELEM(floods); i++)
		if (strcmp(floods[i].name, name) == 0)
			fl = &floods[i];
	if (fl == NULL || tls_open(h, &c) == -1)
		return -1;
	buf_init(&b, HOSTILE_BUF_MAX);
	make_hello(&b, ROLE_AGENT, NULL, PROTO_MAJOR, 4096);
	if (send_buf(name, &c, &b) == -1)
		goto out;
	for (r = 1; r <= fl->rounds; r++) {
		uint64_t start;
		char tag[64];

		buf_reset(&b);
		make_flood_snapshot(h, &b, fl, r);
		snprintf(tag, sizeof(tag), "%s: round %u (%zu bytes)", name, r, b.len);
		start = now_mono_ms();
		if (send_buf(tag, &c, &b) == -1)
			break;
		buf_reset(&b);
		if (client_read_frame(&c, PROTO_MAX_FRAME, &b, err, sizeof(err)) == -1) {
			printf("%s: round %u: no ack after %.2fs (%s)\n", name, r, elapsed_s(start),
			       err);
			break;
		}
		if (flood_answer(name, r, &b, start) == 0)
			acked++;
		else
			break;
	}
	printf("%s: %u of %u snapshots acked\n", name, acked, fl->rounds);
out:
	fflush(stdout);
	buf_free(&b);
	client_close(&c);
	return 0;
}

/* ---- round two (issue 18): text, time, rates, hoarding ---- */

/*
 * A hello packed by hand: proto_encode_hello() cleans its text, and these
 * cases must send the very bytes given.
 */
static void
raw_hello_at(struct buf *out, enum peer_role role, const char *os, const char *os_release,
             int64_t time)
{
	msgpack_packer pk;
	size_t off = out->len;
	int agent = role == ROLE_AGENT;

	put_be32(out, 0);
	proto_packer_init(&pk, out);
	msgpack_pack_map(&pk, (agent ? 9 : 5) + (time != 0));
	if (time != 0)
		mp_pack_kv_i64(&pk, "time", time);
	mp_pack_kv_str(&pk, "type", "hello");
	mp_pack_kv_u64(&pk, "major", PROTO_MAJOR);
	mp_pack_kv_u64(&pk, "minor", PROTO_MINOR);
	mp_pack_kv_str(&pk, "role", agent ? "agent" : "admin");
	mp_pack_kv_str(&pk, "agent", "ipcfleet-hostile " IPCFLEET_VERSION);
	if (agent) {
		mp_pack_kv_str(&pk, "os", os);
		mp_pack_kv_str(&pk, "os_release", os_release);
		mp_pack_kv_u64(&pk, "page_size", 4096);
		mp_pack_kv_i64(&pk, "boot_time", now_unix() - 3600);
	}
	frame_close(out, off);
}

/* A hello without "time" (the agent's clock is not compared). */
static void
raw_hello(struct buf *out, enum peer_role role, const char *os, const char *os_release)
{
	raw_hello_at(out, role, os, os_release, 0);
}

/* Which text field a text case puts its bytes in (the others are plain). */
enum text_field { TF_NONE, TF_SCOPE_NAME, TF_OWNER, TF_MESSAGE, TF_COMMAND };

/*
 * A well-formed snapshot packed by hand: the host and a jail "web", a sem
 * set of the jail owned by "postgres", and an orphan finding for it; field
 * f gets text (as given, byte for byte).  pad > 0 adds an unknown key
 * holding that many bytes of strings (a large frame the decoder ignores);
 * lead > 0 an unknown first key holding that many one-byte integers (the
 * most elements a frame of its size can have: the costliest to unpack).
 */
static void
raw_snapshot(struct buf *out, uint64_t seq, int64_t taken, enum text_field f, const char *text,
             size_t pad, uint32_t lead)
{
	msgpack_packer pk;
	size_t off = out->len;
	uint32_t i;

	put_be32(out, 0);
	proto_packer_init(&pk, out);
	msgpack_pack_map(&pk, 8 + (pad > 0) + (lead > 0));
	if (lead > 0) {
		mp_pack_str(&pk, "lead");
		msgpack_pack_array(&pk, lead);
		for (i = 0; i < lead; i++)
			msgpack_pack_uint8(&pk, 1);
	}
	mp_pack_kv_str(&pk, "type", "snapshot");
	mp_pack_kv_u64(&pk, "seq", seq);
	mp_pack_kv_i64(&pk, "time", taken);
	mp_pack_str(&pk, "limits");
	msgpack_pack_map(&pk, 2);
	mp_pack_kv_u64(&pk, "semmns", 32000);
	mp_pack_kv_u64(&pk, "semmni", 128);
	mp_pack_str(&pk, "scopes");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_map(&pk, 3);
	mp_pack_kv_str(&pk, "id", "host");
	mp_pack_kv_str(&pk, "kind", "host");
	mp_pack_kv_str(&pk, "name", "hostile");
	msgpack_pack_map(&pk, 3);
	mp_pack_kv_str(&pk, "id", "jail:web");
	mp_pack_kv_str(&pk, "kind", "jail");
	mp_pack_kv_str(&pk, "name", f == TF_SCOPE_NAME ? text : "web");
	mp_pack_str(&pk, "objects");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 11);
	mp_pack_kv_str(&pk, "type", "sem");
	mp_pack_kv_i64(&pk, "id", 7);
	mp_pack_kv_i64(&pk, "key", 0x1007);
	mp_pack_kv_u64(&pk, "mode", 0600);
	mp_pack_kv_u64(&pk, "uid", 70);
	mp_pack_kv_u64(&pk, "gid", 70);
	mp_pack_kv_u64(&pk, "cuid", 70);
	mp_pack_kv_u64(&pk, "cgid", 70);
	mp_pack_kv_str(&pk, "scope", "jail:web");
	mp_pack_kv_u64(&pk, "nsems", 17);
	mp_pack_kv_str(&pk, "owner", f == TF_OWNER ? text : "postgres");
	mp_pack_str(&pk, "findings");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 10);
	mp_pack_kv_str(&pk, "kind", "orphan");
	mp_pack_kv_str(&pk, "severity", "warn");
	mp_pack_kv_str(&pk, "message",
	               f == TF_MESSAGE ? text : "semaphore set 7 of jail web looks abandoned");
	mp_pack_kv_str(&pk, "scope", "jail:web");
	mp_pack_kv_str(&pk, "type", "sem");
	mp_pack_kv_i64(&pk, "id", 7);
	mp_pack_kv_i64(&pk, "age", 86400);
	mp_pack_kv_u64(&pk, "uid", 70);
	mp_pack_kv_str(&pk, "command", f == TF_COMMAND ? text : "jexec web ipcrm -s 7");
	mp_pack_kv_str(&pk, "limit", "semmns");
	mp_pack_kv_u64(&pk, "dropped", 0);
	if (pad > 0) {
		uint32_t n = (uint32_t)(pad / 60000 + 1);

		mp_pack_str(&pk, "pad");
		msgpack_pack_array(&pk, n);
		for (i = 0; i < n; i++)
			pack_long_str(&pk, 60000);
	}
	frame_close(out, off);
}

/*
 * One hello (hello_time: its "time", 0 for none) and one snapshot dated
 * taken, text in field f, on a connection of their own; the answer is
 * reported.
 */
static int
send_one(struct hostile *h, const char *name, const char *os, const char *release,
         int64_t hello_time, int64_t taken, enum text_field f, const char *text)
{
	struct client c;
	struct buf b;

	if (tls_open(h, &c) == -1)
		return -1;
	buf_init(&b, 64 * 1024);
	raw_hello_at(&b, ROLE_AGENT, os, release, hello_time);
	raw_snapshot(&b, h->seq++, taken, f, text, 0, 0);
	if (send_buf(name, &c, &b) == 0)
		report(name, &c);
	buf_free(&b);
	client_close(&c);
	return 0;
}

/*
 * Text a person reads, with bytes that could disguise it: each case is one
 * hello or snapshot (the decoder must refuse it and name the field).
 * text-ok sends text that is fine (accented, a euro sign): acknowledged.
 * csv-os says hello with an OS a spreadsheet would take for a formula:
 * acknowledged (the CSV renderer defuses it).
 */
static int
case_text(struct hostile *h, const char *name)
{
	static const struct {
		const char *name, *os, *release;
		enum text_field f;
		const char *text;
	} t[] = {
	    {"text-release-utf8", "Linux", "6.1 \xff\xfe", TF_NONE, NULL},
	    {"text-scope-c1", "Linux", "6.1", TF_SCOPE_NAME, "web\x9b[2J"},
	    {"text-owner-c1", "Linux", "6.1", TF_OWNER,
	     "pg\xc2\x9b"
	     "2J"},
	    {"text-message-bidi", "Linux", "6.1", TF_MESSAGE,
	     "set 7 is \xe2\x80\xae"
	     "denodnaba"},
	    {"text-command-ls", "Linux", "6.1", TF_COMMAND,
	     "ipcrm -s 7\xe2\x80\xa8"
	     "rm -rf /"},
	    {"text-ok", "Linux", "6.1-\xc3\xa9t\xc3\xa9", TF_MESSAGE,
	     "set 7 (\xe2\x82\xac 5 of RAM, caf\xc3\xa9) looks abandoned"},
	    {"csv-os", "L;=HYPERLINK(\"http://x\";\"y\")", "6.1", TF_NONE, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]) && strcmp(t[i].name, name) != 0; i++)
		;
	if (i == sizeof(t) / sizeof(t[0]))
		return -1;
	return send_one(h, name, t[i].os, t[i].release, 0, now_unix(), t[i].f, t[i].text);
}

/* future: a snapshot dated 366 days ahead (expects an ack; stored as taken now). */
static int
case_future(struct hostile *h, const char *name)
{
	return send_one(h, name, "Linux", "6.1", 0, now_unix() + 366 * 86400, TF_NONE, NULL);
}

/*
 * time-ancient: a snapshot dated at the earliest time an int64 holds;
 * hello-time-ancient: a hello whose clock says almost that, then a good
 * snapshot.  Both expect an ack: no arithmetic on a time may wrap (the
 * sanitizer build aborts on a signed overflow), nor make the store refuse
 * the batch every other agent's snapshots share.
 */
static int
case_time_ancient(struct hostile *h, const char *name)
{
	int hello = strcmp(name, "hello-time-ancient") == 0;

	return send_one(h, name, "Linux", "6.1", hello ? INT64_MIN + 1 : 0,
	                hello ? now_unix() : INT64_MIN, TF_NONE, NULL);
}

#define LEAD_FRAMES 8       /* a turn's frames (the aggregator's FRAMES_PER_TURN) */
#define LEAD_ELEMS  4000000 /* one-byte elements in each: 4 MB, under the element cap */

/*
 * lead-elements: LEAD_FRAMES well-formed snapshots in one write, each
 * starting with an unknown key of LEAD_ELEMS small integers (valid: unknown
 * keys are ignored), and one line per answer: all acknowledged.  Unpacked
 * into a document on the event loop, each held it for a third of a second;
 * the test watches /metrics answer meanwhile.
 */
static int
case_lead_elements(struct hostile *h, const char *name)
{
	struct client c;
	struct buf b;
	int i;

	/* made before connecting: slow to make in a sanitizer build, it would
	 * keep the connection without a hello past handshake_timeout */
	buf_init(&b, (size_t)LEAD_FRAMES * (LEAD_ELEMS + 4096));
	raw_hello(&b, ROLE_AGENT, "Linux", "6.1");
	for (i = 0; i < LEAD_FRAMES; i++)
		raw_snapshot(&b, h->seq++, now_unix(), TF_NONE, NULL, 0, LEAD_ELEMS);
	if (tls_open(h, &c) == -1) {
		buf_free(&b);
		return -1;
	}
	if (send_buf(name, &c, &b) == 0)
		for (i = 0; i < LEAD_FRAMES && report(name, &c); i++)
			;
	buf_free(&b);
	client_close(&c);
	return 0;
}

#define BURST_SECONDS 3
#define BURST_FRAMES  16 /* per connection, then a new connection */

/*
 * reconnect-burst: for BURST_SECONDS, connects again and again, each time
 * with BURST_FRAMES snapshots right after hello, and counts the acks that
 * came back: a per-connection rate limit would let each new connection
 * burst afresh.
 */
static int
case_reconnect_burst(struct hostile *h, const char *name)
{
	uint64_t start = now_mono_ms(), acks = 0, conns = 0;
	struct buf b, in;
	char err[512];

	buf_init(&b, 256 * 1024);
	buf_init(&in, HOSTILE_BUF_MAX);
	while (elapsed_s(start) < BURST_SECONDS) {
		struct client c;
		int i, got = 0;

		if (tls_open(h, &c) == -1)
			break;
		conns++;
		buf_reset(&b);
		raw_hello(&b, ROLE_AGENT, "Linux", "6.1");
		for (i = 0; i < BURST_FRAMES; i++)
			raw_snapshot(&b, h->seq++, now_unix(), TF_NONE, NULL, 0, 0);
		if (client_write(&c, b.data, b.len, err, sizeof(err)) == 0) {
			/* the acks that come within the time left (at most 1 s per connection) */
			while (got < BURST_FRAMES && elapsed_s(start) < BURST_SECONDS) {
				struct proto_doc d;
				uint64_t seq;

				c.timeout_ms = 1000;
				if (client_read_frame(&c, PROTO_MAX_FRAME, &in, err, sizeof(err)) ==
				    -1)
					break;
				if (proto_doc_unpack((const uint8_t *)in.data, in.len, &d, err,
				                     sizeof(err)) == -1)
					break;
				if (proto_decode_ack(&d, &seq, err, sizeof(err)) == 0)
					got++;
				proto_doc_free(&d);
			}
		}
		acks += (uint64_t)got;
		client_close(&c);
	}
	printf("%s: %llu acks in %.1fs over %llu connections\n", name, (unsigned long long)acks,
	       elapsed_s(start), (unsigned long long)conns);
	fflush(stdout);
	buf_free(&b);
	buf_free(&in);
	return 0;
}

#define HOARD_HELLO 12 /* connections without hello from one certificate */
#define HOARD_ADMIN 70 /* admin connections from one certificate */

/* Reads one frame (waiting ms at most): 'E' an error CODE, 'R' a reply, 'N' nothing, 'C' closed. */
static int
hoard_answer(struct client *c, int ms, uint32_t *code)
{
	struct proto_doc d;
	struct msg_error e;
	struct buf in;
	char err[512];
	int r = 'C';

	buf_init(&in, HOSTILE_BUF_MAX);
	c->timeout_ms = ms;
	if (client_read_frame(c, PROTO_MAX_FRAME, &in, err, sizeof(err)) == -1)
		r = strstr(err, "timed out") != NULL ? 'N' : 'C';
	else if (proto_doc_unpack((const uint8_t *)in.data, in.len, &d, err, sizeof(err)) == 0) {
		r = 'R';
		if (proto_decode_error(&d, &e, err, sizeof(err)) == 0) {
			r = 'E';
			*code = e.code;
		}
		proto_doc_free(&d);
	}
	buf_free(&in);
	return r;
}

/*
 * hello-hoard: HOARD_HELLO connections from one certificate that complete
 * the handshake and never say hello.  Prints how many were refused as busy
 * (error 7) at once: the others wait for handshake_timeout.
 */
static int
case_hello_hoard(struct hostile *h, const char *name)
{
	struct client c[HOARD_HELLO];
	int i, n = 0, busy = 0, waiting = 0;
	uint32_t code = 0;

	for (i = 0; i < HOARD_HELLO; i++) {
		if (tls_open(h, &c[i]) == -1)
			break;
		n++;
	}
	for (i = 0; i < n; i++) {
		int r = hoard_answer(&c[i], 500, &code);

		if (r == 'E' && code == PERR_BUSY)
			busy++;
		else if (r == 'N')
			waiting++;
	}
	printf("%s: %d of %d connections refused as busy, %d waiting\n", name, busy, n, waiting);
	fflush(stdout);
	for (i = 0; i < n; i++)
		client_close(&c[i]);
	return 0;
}

/*
 * admin-hoard: HOARD_ADMIN admin connections, each asking for the host
 * document of --victim and reading nothing for --timeout ms (the test
 * reads the aggregator's memory meanwhile).  Then reads the first answer
 * of each: busy (error 7), a reply, or nothing yet (its query waits for
 * room: the replies queued for admins are bounded).
 */
static int
case_admin_hoard(struct hostile *h, const char *name)
{
	const char *a2[2] = {"name", h->victim};
	struct client *c;
	struct buf b;
	int i, n = 0, busy = 0, replied = 0, waiting = 0;
	uint32_t code = 0;

	if ((c = calloc(HOARD_ADMIN, sizeof(*c))) == NULL)
		return -1;
	buf_init(&b, 4096);
	for (i = 0; i < HOARD_ADMIN; i++) {
		char err[512];

		if (tls_open(h, &c[i]) == -1)
			break;
		n++;
		buf_reset(&b);
		make_hello(&b, ROLE_ADMIN, NULL, PROTO_MAJOR, 4096);
		make_query(&b, 1, "host", a2, 1);
		(void)client_write(&c[i], b.data, b.len, err, sizeof(err));
	}
	printf("%s: holding %d connections\n", name, n);
	fflush(stdout);
	usleep((useconds_t)h->timeout_ms * 1000);
	for (i = 0; i < n; i++) {
		int r = hoard_answer(&c[i], 200, &code);

		if (r == 'E' && code == PERR_BUSY)
			busy++;
		else if (r == 'R')
			replied++;
		else if (r == 'N')
			waiting++;
	}
	printf("%s: %d busy, %d replied, %d waiting, of %d\n", name, busy, replied, waiting, n);
	fflush(stdout);
	for (i = 0; i < n; i++)
		client_close(&c[i]);
	free(c);
	buf_free(&b);
	return 0;
}

#define BIG_OBJECTS 60000

/*
 * big: a well-formed snapshot of BIG_OBJECTS semaphore sets (expects an
 * ack): a host whose document is a reply of megabytes, for admin-hoard.
 */
static int
case_big(struct hostile *h, const char *name)
{
	msgpack_packer pk;
	struct client c;
	struct buf b;
	size_t off;
	uint32_t i;

	if (tls_open(h, &c) == -1)
		return -1;
	buf_init(&b, HOSTILE_BUF_MAX);
	raw_hello(&b, ROLE_AGENT, "Linux", "6.1");
	off = b.len;
	put_be32(&b, 0);
	proto_packer_init(&pk, &b);
	msgpack_pack_map(&pk, 6);
	mp_pack_kv_str(&pk, "type", "snapshot");
	mp_pack_kv_u64(&pk, "seq", h->seq++);
	mp_pack_kv_i64(&pk, "time", now_unix());
	mp_pack_str(&pk, "limits");
	msgpack_pack_map(&pk, 2);
	mp_pack_kv_u64(&pk, "semmns", 2000000000);
	mp_pack_kv_u64(&pk, "semmni", 100000);
	mp_pack_str(&pk, "scopes");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 3);
	mp_pack_kv_str(&pk, "id", "host");
	mp_pack_kv_str(&pk, "kind", "host");
	mp_pack_kv_str(&pk, "name", "big");
	mp_pack_str(&pk, "objects");
	msgpack_pack_array(&pk, BIG_OBJECTS);
	for (i = 0; i < BIG_OBJECTS; i++)
		pack_sem(&pk, i, "postgres");
	frame_close(&b, off);
	if (send_buf(name, &c, &b) == 0)
		report(name, &c);
	buf_free(&b);
	client_close(&c);
	return 0;
}

#define STEADY_BYTES (512u * 1024) /* of padding */
#define STEADY_CHUNK 4096
#define STEADY_EVERY 62 /* ms between chunks: about 64 KiB/s */

/*
 * steady-frame: a 512 KiB snapshot sent steadily at about 64 KiB/s: it
 * takes some 8 s, longer than the test's frame_timeout, at four times the
 * default min_frame_rate.  Expects an ack.
 */
static int
case_steady_frame(struct hostile *h, const char *name)
{
	uint64_t start;
	struct client c;
	struct buf b;
	char err[512];
	size_t off;

	if (tls_open(h, &c) == -1)
		return -1;
	buf_init(&b, STEADY_BYTES + 64 * 1024 + 4096);
	raw_hello(&b, ROLE_AGENT, "Linux", "6.1");
	if (send_buf(name, &c, &b) == -1)
		goto out;
	buf_reset(&b);
	raw_snapshot(&b, h->seq++, now_unix(), TF_NONE, NULL, STEADY_BYTES, 0);
	start = now_mono_ms();
	for (off = 0; off < b.len; off += STEADY_CHUNK) {
		size_t k = b.len - off < STEADY_CHUNK ? b.len - off : STEADY_CHUNK;

		if (client_write(&c, b.data + off, k, err, sizeof(err)) == -1) {
			printf("%s: closed after %.1fs while sending (%s)\n", name,
			       elapsed_s(start), err);
			goto out;
		}
		usleep(STEADY_EVERY * 1000);
	}
	printf("%s/sent: %zu bytes in %.1fs\n", name, b.len, elapsed_s(start));
	report(name, &c);
out:
	buf_free(&b);
	client_close(&c);
	return 0;
}

/* ---- the case table ---- */

enum kind {
	K_HDR,         /* pre-hello: a bare header of length arg */
	K_HDR_HELLO,   /* after an agent hello: a bare header of length arg */
	K_RAW,         /* pre-hello: the raw payload in the table */
	K_RAW_HELLO,   /* after an agent hello */
	K_SNAP,        /* after an agent hello: snapshot variant arg */
	K_SNAP_ADMIN,  /* after an admin hello: a good snapshot */
	K_QUERY_AGENT, /* after an agent hello: a query */
	K_HELLO,       /* a special hello: arg selects */
	K_FN,          /* its own function */
};

struct hcase {
	const char *name;
	enum kind kind;
	uint64_t arg;
	const char *raw; /* K_RAW*: payload bytes */
	size_t rawlen;
	int (*fn)(struct hostile *, const char *);
	const char *what;
};

#define RAW(s) s, sizeof(s) - 1
enum { HELLO_OTHER_HOST, HELLO_ADMIN, HELLO_MAJOR, HELLO_PAGE_SIZE, HELLO_TWICE, HELLO_LONG };

static const struct hcase cases[] = {
    {"ok", K_SNAP, SV_OK, NULL, 0, NULL, "a well-formed hello and snapshot (expects an ack)"},
    {"oversize-hello", K_HDR, HOSTILE_HELLO_MAX + 1, NULL, 0, NULL,
     "before hello: a header of 4 KiB + 1"},
    {"oversize", K_HDR_HELLO, PROTO_MAX_FRAME + 1, NULL, 0, NULL,
     "after hello: a header of 16 MiB + 1"},
    {"length-4g", K_HDR_HELLO, UINT32_MAX, NULL, 0, NULL, "a header of 4 GiB - 1"},
    {"zero-length", K_HDR, 0, NULL, 0, NULL, "a header of length 0"},
    {"not-map", K_RAW, 0, RAW("\x93\x01\x02\x03"), NULL, "a payload that is an array"},
    {"trailing", K_RAW, 0, RAW("\x81\xa4type\xa5hello\xc0"), NULL,
     "a map followed by a stray byte"},
    {"truncated", K_RAW, 0, RAW("\x82\xa4type\xa5hello\xa5major"), NULL, "a map cut short"},
    {"count-claim", K_RAW_HELLO, 0, RAW("\x81\xa4type\xdd\xff\xff\xff\xff"), NULL,
     "an array32 claiming 4 billion elements (dd ff ff ff ff)"},
    {"map-claim", K_RAW_HELLO, 0, RAW("\xdf\x7f\xff\xff\xff"), NULL, "a map32 claiming 2^31 pairs"},
    {"str-claim", K_RAW_HELLO, 0, RAW("\x81\xa4type\xdb\xff\xff\xff\xff"), NULL,
     "a str32 claiming 4 GiB"},
    {"bin-claim", K_RAW_HELLO, 0, RAW("\x81\xa4type\xc6\x7f\xff\xff\xff"), NULL,
     "a bin32 claiming 2 GiB"},
    {"ext-claim", K_RAW_HELLO, 0, RAW("\x81\xa4type\xc9\x7f\xff\xff\xff\x01"), NULL,
     "an ext32 claiming 2 GiB"},
    {"reserved-byte", K_RAW_HELLO, 0, RAW("\x81\xa4type\xc1"), NULL,
     "the never-used msgpack byte 0xc1"},
    {"key-not-string", K_RAW_HELLO, 0, RAW("\x81\x01\x02"), NULL, "a map with an integer key"},
    {"type-not-string", K_RAW_HELLO, 0, RAW("\x81\xa4type\x05"), NULL, "type 5"},
    /* a decoding error before "type" (scopes [1]) must not hide what type is wrong */
    {"type-late-missing", K_RAW_HELLO, 0, RAW("\x81\xa6scopes\x91\x01"), NULL,
     "{scopes: [1]}: no type, after a bad field"},
    {"type-late-number", K_RAW_HELLO, 0, RAW("\x82\xa6scopes\x91\x01\xa4type\x05"), NULL,
     "{scopes: [1], type: 5}"},
    {"type-late-twice", K_RAW_HELLO, 0,
     RAW("\x83\xa4type\xa5query\xa6scopes\x91\x01\xa4type\xa5query"), NULL,
     "{type: query, scopes: [1], type: query}"},
    {"query-late", K_RAW_HELLO, 0, RAW("\x82\xa6scopes\x91\x01\xa4type\xa5query"), NULL,
     "{scopes: [1], type: query}: a query from an agent, type not first"},
    {"unknown-type", K_RAW_HELLO, 0,
     RAW("\x81\xa4type\xa5"
         "bogus"),
     NULL, "type \"bogus\""},
    {"garbage", K_FN, 0, NULL, 0, NULL, "a frame of 4 KiB of random bytes"},
    {"garbage-stream", K_FN, 0, NULL, 0, NULL, "2 KiB of random bytes, header included"},
    {"depth", K_SNAP, SV_DEPTH, NULL, 0, NULL, "a snapshot nested 100 deep"},
    {"million-claim", K_SNAP, SV_MILLION_CLAIM, NULL, 0, NULL,
     "a snapshot whose objects array claims 1,000,000 elements"},
    {"million-objects", K_SNAP, SV_MILLION_NILS, NULL, 0, NULL,
     "a snapshot with 1,000,000 real (nil) objects"},
    {"objects-over", K_SNAP, SV_OBJECTS_OVER, NULL, 0, NULL,
     "a snapshot with 100,001 well-formed objects"},
    {"max-frame", K_SNAP, SV_MAX_FRAME, NULL, 0, NULL,
     "16 MiB, nearly 2^22 elements: the costliest frame to unpack"},
    {"elements", K_SNAP, SV_ELEMENTS, NULL, 0, NULL,
     "a snapshot of 2^22 + 1 elements (over the frame's element cap)"},
    {"scopes-many", K_SNAP, SV_SCOPES_MANY, NULL, 0, NULL, "a snapshot with 4,097 scopes"},
    {"findings-many", K_SNAP, SV_FINDINGS_OVER, NULL, 0, NULL, "a snapshot with 10,001 findings"},
    {"findings-flood", K_FN, 0, NULL, 0, case_flood,
     "4 snapshots of 9,990 orphan findings, new ids each time (one line per ack)"},
    {"findings-flood-scopes", K_FN, 0, NULL, 0, case_flood,
     "the same in reversed order, with 4,095 IPC namespaces with limits of their own"},
    {"notify-flood", K_FN, 0, NULL, 0, case_flood,
     "3 snapshots of 1,000 orphan findings, new ids each time"},
    {"findings-long", K_FN, 0, NULL, 0, case_flood,
     "one snapshot of 10,000 orphan findings, every text as long as it may be"},
    {"huge-string", K_SNAP, SV_HUGE_STRING, NULL, 0, NULL, "a 70,000-byte string"},
    {"control-chars", K_SNAP, SV_CONTROL, NULL, 0, NULL,
     "a scope name with terminal escape sequences"},
    {"long-owner", K_SNAP, SV_LONG_OWNER, NULL, 0, NULL, "an owner of 1,000 bytes"},
    {"negative-size", K_SNAP, SV_NEG_SIZE, NULL, 0, NULL, "a segment of size -1"},
    {"seq-zero", K_SNAP, SV_SEQ_ZERO, NULL, 0, NULL, "seq 0"},
    {"seq-negative", K_SNAP, SV_SEQ_NEG, NULL, 0, NULL, "seq -1"},
    {"seq-float", K_SNAP, SV_SEQ_FLOAT, NULL, 0, NULL, "seq 1.5"},
    {"seq-twice", K_SNAP, SV_DUP_SEQ, NULL, 0, NULL, "the key seq twice"},
    {"uid-range", K_SNAP, SV_UID_RANGE, NULL, 0, NULL, "uid 2^32"},
    {"limit-negative", K_SNAP, SV_LIMIT_NEG, NULL, 0, NULL, "semmns -5"},
    {"limit-name", K_SNAP, SV_LIMIT_NAME, NULL, 0, NULL, "a limit named ../../x"},
    {"time-huge", K_SNAP, SV_TIME_HUGE, NULL, 0, NULL, "time 2^64 - 1"},
    {"snapshot-host-field", K_SNAP, SV_HOST_FIELD, NULL, 0, NULL,
     "a good snapshot with a \"host\" key naming --victim (ignored: expects an ack)"},
    {"snapshot-before-hello", K_FN, 0, NULL, 0, NULL, "a snapshot as the first frame"},
    {"hello-other-host", K_HELLO, HELLO_OTHER_HOST, NULL, 0, NULL,
     "a hello naming --victim, then a snapshot"},
    {"hello-admin", K_HELLO, HELLO_ADMIN, NULL, 0, NULL, "a hello with role admin"},
    {"hello-major", K_HELLO, HELLO_MAJOR, NULL, 0, NULL, "a hello for protocol 2.0"},
    {"hello-page-size", K_HELLO, HELLO_PAGE_SIZE, NULL, 0, NULL, "a hello with page_size 3"},
    {"hello-twice", K_HELLO, HELLO_TWICE, NULL, 0, NULL, "two hellos"},
    {"hello-long-agent", K_HELLO, HELLO_LONG, NULL, 0, NULL,
     "a hello whose agent string is 1,000 bytes"},
    {"agent-query", K_QUERY_AGENT, 0, NULL, 0, NULL, "an agent hello, then a query"},
    {"admin-push", K_SNAP_ADMIN, 0, NULL, 0, NULL, "an admin hello, then a snapshot"},
    {"query-absurd", K_FN, 0, NULL, 0, case_query_absurd,
     "admin queries with absurd arguments (one line each)"},
    {"plaintext", K_FN, 0, NULL, 0, case_plaintext, "a hello over plain TCP"},
    {"slow-tcp", K_FN, 0, NULL, 0, case_slow_tcp, "a TCP connection that never speaks"},
    {"slow-hello", K_FN, 0, NULL, 0, case_slow_hello,
     "after the handshake, hello one byte every 500 ms"},
    {"pipelined-bad", K_FN, 0, NULL, 0, case_pipelined_bad,
     "two snapshots, a bad one, a good one, in one write (only the first two may be stored)"},
    {"hold", K_FN, 0, NULL, 0, case_hold, "an agent hello, then silence until closed or --timeout"},
    {"hold-admin", K_FN, 0, NULL, 0, case_hold,
     "an admin hello, then silence until closed or --timeout"},
    {"slow-frame", K_FN, 0, NULL, 0, case_slow_frame,
     "after hello, a snapshot one byte every 500 ms"},
    /* round two (issue 18) */
    {"text-release-utf8", K_FN, 0, NULL, 0, case_text, "a hello whose os_release is not UTF-8"},
    {"text-scope-c1", K_FN, 0, NULL, 0, case_text, "a scope name with a lone C1 byte (0x9b)"},
    {"text-owner-c1", K_FN, 0, NULL, 0, case_text, "an owner with U+009B (CSI) as UTF-8"},
    {"text-message-bidi", K_FN, 0, NULL, 0, case_text,
     "a finding message with U+202E (right-to-left override)"},
    {"text-command-ls", K_FN, 0, NULL, 0, case_text,
     "a finding command with U+2028 (line separator)"},
    {"text-ok", K_FN, 0, NULL, 0, case_text,
     "accented text and a euro sign in a release and a message (expects an ack)"},
    {"csv-os", K_FN, 0, NULL, 0, case_text,
     "a hello whose os is 'L;=HYPERLINK(...)' (expects an ack)"},
    {"future", K_FN, 0, NULL, 0, case_future, "a snapshot dated a year ahead (expects an ack)"},
    {"time-ancient", K_FN, 0, NULL, 0, case_time_ancient,
     "a snapshot dated -2^63 (expects an ack)"},
    {"hello-time-ancient", K_FN, 0, NULL, 0, case_time_ancient,
     "a hello whose time is -2^63 + 1, then a good snapshot (expects an ack)"},
    {"lead-elements", K_FN, 0, NULL, 0, case_lead_elements,
     "8 snapshots in one write, each led by an unknown key of 4,000,000 small integers "
     "(expects 8 acks)"},
    {"reconnect-burst", K_FN, 0, NULL, 0, case_reconnect_burst,
     "3 s of reconnecting with 16 snapshots each time; counts the acks"},
    {"hello-hoard", K_FN, 0, NULL, 0, case_hello_hoard,
     "12 connections that never say hello; counts the busy refusals"},
    {"admin-hoard", K_FN, 0, NULL, 0, case_admin_hoard,
     "70 admin connections asking for --victim's document and not reading it"},
    {"big", K_FN, 0, NULL, 0, case_big,
     "a snapshot of 60,000 semaphore sets (expects an ack): a large host document"},
    {"steady-frame", K_FN, 0, NULL, 0, case_steady_frame,
     "a 512 KiB snapshot at 64 KiB/s, longer than frame_timeout (expects an ack)"},
};

static int
case_garbage(struct hostile *h, const char *name, int framed)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;
	struct buf b;
	/*
	 * Both fit in one TLS record, read whole by the aggregator: bytes it
	 * left unread when it closes would turn its close into a reset that can
	 * destroy the error frame before we read it.
	 */
	size_t i, n = framed ? 4096 : 2048;
	uint8_t r;
	int rc;

	buf_init(&b, n + PROTO_HDR_LEN);
	if (framed)
		put_be32(&b, (uint32_t)n);
	for (i = 0; i < n; i++) {
		r = (uint8_t)(rnd(&s) >> 56);
		/* framed: make sure the payload does not start as a valid tiny map */
		if (framed && i == 0)
			r = 0xc1;
		buf_append(&b, &r, 1);
	}
	rc = run_frames(h, name, 0, ROLE_AGENT, &b);
	buf_free(&b);
	return rc;
}

static int
case_hello(struct hostile *h, const struct hcase *k)
{
	struct client c;
	struct buf b;
	int rc = 0;

	if (tls_open(h, &c) == -1)
		return -1;
	buf_init(&b, 64 * 1024);
	switch (k->arg) {
	case HELLO_OTHER_HOST:
		make_hello(&b, ROLE_AGENT, h->victim, PROTO_MAJOR, 4096);
		make_snapshot(h, &b, SV_OK);
		break;
	case HELLO_ADMIN:
		make_hello(&b, ROLE_ADMIN, NULL, PROTO_MAJOR, 4096);
		break;
	case HELLO_MAJOR:
		make_hello(&b, ROLE_AGENT, NULL, 2, 4096);
		break;
	case HELLO_PAGE_SIZE:
		make_hello(&b, ROLE_AGENT, NULL, PROTO_MAJOR, 3);
		break;
	case HELLO_TWICE:
		make_hello(&b, ROLE_AGENT, NULL, PROTO_MAJOR, 4096);
		make_hello(&b, ROLE_AGENT, NULL, PROTO_MAJOR, 4096);
		break;
	case HELLO_LONG: {
		msgpack_packer pk;
		size_t off = b.len;

		put_be32(&b, 0);
		proto_packer_init(&pk, &b);
		msgpack_pack_map(&pk, 8);
		mp_pack_kv_str(&pk, "type", "hello");
		mp_pack_kv_u64(&pk, "major", PROTO_MAJOR);
		mp_pack_kv_u64(&pk, "minor", 0);
		mp_pack_kv_str(&pk, "role", "agent");
		mp_pack_str(&pk, "agent");
		pack_long_str(&pk, 1000);
		mp_pack_kv_str(&pk, "os", "Linux");
		mp_pack_kv_str(&pk, "os_release", "6.1");
		mp_pack_kv_u64(&pk, "page_size", 4096);
		frame_close(&b, off);
		break;
	}
	}
	if (send_buf(k->name, &c, &b) == 0)
		report(k->name, &c);
	buf_free(&b);
	client_close(&c);
	return rc;
}

static int
run_case(struct hostile *h, const struct hcase *k)
{
	struct buf b;
	int rc;

	if (k->fn != NULL)
		return k->fn(h, k->name);
	if (strcmp(k->name, "garbage") == 0)
		return case_garbage(h, k->name, 1);
	if (strcmp(k->name, "garbage-stream") == 0)
		return case_garbage(h, k->name, 0);
	if (k->kind == K_HELLO)
		return case_hello(h, k);
	buf_init(&b, HOSTILE_BUF_MAX);
	switch (k->kind) {
	case K_HDR:
	case K_HDR_HELLO:
		put_be32(&b, (uint32_t)k->arg);
		/* a few bytes of payload: the header alone must be enough to refuse */
		buf_append(&b, "\x81\xa4type", 6);
		break;
	case K_RAW:
	case K_RAW_HELLO:
		raw_frame(&b, k->raw, k->rawlen);
		break;
	case K_SNAP:
	case K_SNAP_ADMIN:
		make_snapshot(h, &b, k->kind == K_SNAP ? (enum snapvar)k->arg : SV_OK);
		break;
	case K_QUERY_AGENT:
		make_query(&b, 1, "hosts", NULL, 0);
		break;
	default:
		break;
	}
	if (strcmp(k->name, "snapshot-before-hello") == 0) {
		buf_reset(&b);
		make_snapshot(h, &b, SV_OK);
		rc = run_frames(h, k->name, 0, ROLE_AGENT, &b);
	} else
		rc = run_frames(h, k->name, k->kind != K_HDR && k->kind != K_RAW,
		                k->kind == K_SNAP_ADMIN ? ROLE_ADMIN : ROLE_AGENT, &b);
	buf_free(&b);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {{"server", required_argument, NULL, 's'},
	                                         {"cert", required_argument, NULL, 'c'},
	                                         {"key", required_argument, NULL, 'k'},
	                                         {"ca", required_argument, NULL, 'a'},
	                                         {"timeout", required_argument, NULL, 't'},
	                                         {"victim", required_argument, NULL, 'v'},
	                                         {"seq", required_argument, NULL, 'q'},
	                                         {"tls12", no_argument, NULL, '2'},
	                                         {"list", no_argument, NULL, 'l'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct tls_paths tp;
	struct hostile h;
	const char *why;
	char err[1024];
	uint64_t v;
	size_t i;
	int ch, failed = 0;

	memset(&tp, 0, sizeof(tp));
	memset(&h, 0, sizeof(h));
	h.timeout_ms = 10000;
	h.victim = "victim";
	h.seq = (uint64_t)now_unix() * 1000;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			h.server = optarg;
			break;
		case 'c':
			tp.cert = optarg;
			break;
		case 'k':
			tp.key = optarg;
			break;
		case 'a':
			tp.ca = optarg;
			break;
		case 't':
			if (parse_u64(optarg, 100, 600000, &v, &why) == -1) {
				fprintf(stderr, "ipcfleet-hostile: --timeout: %s\n", why);
				return 2;
			}
			h.timeout_ms = (int)v;
			break;
		case 'v':
			h.victim = optarg;
			break;
		case 'q':
			if (parse_u64(optarg, 1, UINT64_MAX / 2, &h.seq, &why) == -1) {
				fprintf(stderr, "ipcfleet-hostile: --seq: %s\n", why);
				return 2;
			}
			break;
		case '2':
			tp.allow_tls12 = 1;
			break;
		case 'l':
			for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
				printf("%-22s %s\n", cases[i].name, cases[i].what);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc || h.server == NULL || tp.cert == NULL || tp.key == NULL ||
	    tp.ca == NULL) {
		usage(stderr);
		return 2;
	}
	for (ch = optind; ch < argc; ch++) {
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			if (strcmp(argv[ch], cases[i].name) == 0)
				break;
		if (i == sizeof(cases) / sizeof(cases[0])) {
			fprintf(stderr, "ipcfleet-hostile: unknown case '%s' (see --list)\n",
			        argv[ch]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if ((h.ctx = tls_client_ctx(&tp, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ipcfleet-hostile: %s\n", err);
		return 1;
	}
	for (ch = optind; ch < argc; ch++) {
		for (i = 0; strcmp(argv[ch], cases[i].name) != 0; i++)
			;
		if (run_case(&h, &cases[i]) == -1)
			failed = 1;
	}
	SSL_CTX_free(h.ctx);
	return failed;
}
