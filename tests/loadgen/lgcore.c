/*
 * lgcore.c: the load generator's engine (lgcore.h): N simulated agents over
 * real mutual TLS from one libevent loop.
 *
 * Each simulated agent has its own client certificate, minted in memory at
 * start-up from the CA given (CN = PREFIX-0001, ...; ECDSA P-256), and
 * behaves as ipcfleet-agent does on the wire: hello, then one realistic
 * snapshot (about 40 objects, encoded by proto_encode_snapshot) per interval,
 * each kept until its ack arrives, resent in order after a reconnect (the
 * aggregator recognises the duplicates), at most LG_WINDOW in flight.
 * Reconnects back off exponentially with full jitter.  Idle agents (the
 * benchmark's connection figures) send hello and nothing more.
 *
 * Misbehaving peers, for the aggregator's defences:
 *   slow readers  agents (PREFIX-slow-NNNN) that send snapshots as fast as
 *                 the connection takes them and never read their acks
 *                 (receive buffer shrunk to LG_SLOW_RCVBUF)
 *   tricklers     agents (PREFIX-trickle-NNNN) that, after hello, send a
 *                 snapshot one byte per second
 * Both are expected to be cut off by the aggregator; when and whether they
 * were is reported.
 *
 * Memory is bounded: per agent a key, a certificate, one TLS connection and
 * a ring of LG_QUEUE unacknowledged sequence numbers; a snapshot's frame is
 * made when it is sent, from the template's encoding with its own sequence
 * number and time (byte for byte what proto_encode_snapshot() makes, checked
 * at start-up); latencies go to a fixed logarithmic histogram.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "lgcore.h"
#include "model.h"
#include "proto.h"
#include "tls.h"
#include "util.h"

#define LG_QUEUE              64 /* unacknowledged snapshots one agent keeps */
#define LG_WINDOW             8  /* of which at most this many in flight */
#define LG_REPLY_MAX          (64u * 1024)
#define LG_ACK_TIMEOUT_MS     30000
#define LG_CONNECT_TIMEOUT_MS 10000
#define LG_BACKOFF_MIN_MS     250
#define LG_BACKOFF_MAX_MS     4000
#define LG_SLOW_OUT           (64u * 1024) /* a slow reader keeps this much queued */
#define LG_SLOW_RCVBUF        4096
#define LG_NBUCKETS           1200 /* latency histogram: 2% wide buckets */
#define LG_BUCKET_BASE        1.02
#define LG_PACER_MS           10
#define LG_MAX_ERRLOG         20 /* error messages printed, then only counted */
#define LG_FRAME_MAX          (PROTO_HDR_LEN + 1024u * 1024)

enum lg_kind { LK_NORMAL, LK_SLOW, LK_TRICKLE };
enum lg_state { LS_IDLE, LS_TCP, LS_TLS, LS_READY, LS_DONE };
enum lg_phase { LP_RUN, LP_DRAIN, LP_STOP };

struct lg;

struct lg_pending {
	uint64_t seq;
	int64_t taken;
	uint64_t sent_us; /* when written, for the ack latency */
};

struct lg_agent {
	struct lg *lg;
	enum lg_kind kind;
	enum lg_state state;
	char name[MODEL_NAME_MAX];
	X509 *cert;
	EVP_PKEY *key;
	int fd;                /* the socket while TCP connects */
	struct event *conn_ev; /* TCP connect completion */
	struct bufferevent *bev;
	struct event *tick;    /* normal: next snapshot; slow, trickle: their timer */
	struct event *retry;   /* reconnect after the backoff */
	uint64_t next_tick_ms; /* monotonic deadline of the next snapshot */
	uint64_t ready_ms;     /* when TLS and hello were done */
	unsigned backoff_ms;
	struct lg_pending q[LG_QUEUE]; /* ring, oldest at qhead */
	size_t qhead, qlen, inflight;
	uint64_t next_seq;
	struct buf trickle; /* trickle: the frame being sent byte by byte */
	size_t trickle_off;
	struct lg_agent *next_wait; /* in the connect queue */
	int waiting;
	int ever_ready; /* has connected at least once */
};

/* Ack latencies: bucket i holds [1.02^i - 1, 1.02^(i+1) - 1) microseconds. */
struct lg_hist {
	uint64_t b[LG_NBUCKETS + 1];
	uint64_t count, max_us;
};

struct lg_stats {
	uint64_t connections, connect_failures, disconnects, reconnects;
	uint64_t taken, sent, acked, duplicates_acked, dropped, errors;
	uint64_t slow_sent, slow_cut, trickle_bytes, trickle_cut;
	double slow_cut_max_s, trickle_cut_max_s;
	struct lg_hist lat;
	struct lg_hist steady; /* snapshots sent once every agent had connected */
};

struct lg {
	/* options (lg_new copies them from struct lg_opts) */
	size_t nagents, nslow, ntrickle;
	uint64_t interval_ms, duration_ms, drain_ms;
	double connect_rate;
	const char *prefix, *ca_cert_path, *ca_key_path, *server, *ack_log_path;
	int idle;
	size_t nobjects;
	void (*on_tick)(struct lg *lg, void *arg);
	uint64_t tick_ms;
	void (*on_event)(struct lg *lg, enum lg_event ev, void *arg);
	void *hook_arg;
	struct event *user_tick;
	size_t nready; /* agents in LS_READY */
	uint64_t acked_steady;
	/* state */
	struct event_base *base;
	SSL_CTX *ctx;
	X509 *ca_cert;
	EVP_PKEY *ca_key;
	char host[256];
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct snapshot tmpl;
	/*
	 * The template's frame from its "limits" key on: everything after seq
	 * and time, which come first (proto_encode_snapshot's order).  Empty:
	 * encode every frame whole.
	 */
	struct buf tail;
	size_t tail_off;
	uint8_t map_hdr;
	uint64_t unacked; /* snapshots of normal agents taken and not yet acknowledged */
	struct lg_agent *agents;
	size_t total;
	enum lg_phase phase;
	struct lg_agent *wait_head, *wait_tail; /* connect queue (FIFO) */
	double tokens;
	uint64_t pacer_last_ms;
	struct event *pacer, *phase_ev, *sig_int, *sig_term, *progress_ev;
	uint64_t progress_ms;  /* --progress: period of the stderr report, 0 none */
	struct lg_hist period; /* latencies since the last progress report */
	uint64_t period_acked;
	size_t ever_ready;        /* agents that have connected at least once */
	uint64_t steady_us;       /* start of the steady figures (lg_now_us), 0 before */
	uint64_t steady_after_ms; /* --steady-after; 0: once every agent connected */
	struct event *steady_ev;
	FILE *ack_log;
	uint64_t start_ms, run_end_ms, end_ms;
	unsigned errlogged;
	struct lg_stats st;
};

static void lg_connect(struct lg_agent *a);
static void lg_drop(struct lg_agent *a, const char *why);
static void lg_send_pending(struct lg_agent *a);

static uint64_t
lg_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
lg_tv(struct timeval *tv, uint64_t ms)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

/* Moves a to state st, keeping the count of ready agents. */
static void
lg_set_state(struct lg_agent *a, enum lg_state st)
{
	if (a->state == LS_READY)
		a->lg->nready--;
	if (st == LS_READY)
		a->lg->nready++;
	a->state = st;
}

static void
lg_event(struct lg *lg, enum lg_event ev)
{
	if (lg->on_event != NULL)
		lg->on_event(lg, ev, lg->hook_arg);
}

static void lg_err(struct lg *lg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Counts an error; prints the first LG_MAX_ERRLOG of them. */
static void
lg_err(struct lg *lg, const char *fmt, ...)
{
	va_list ap;

	lg->st.errors++;
	if (lg->errlogged++ >= LG_MAX_ERRLOG)
		return;
	fputs("ipcfleet-loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
lg_ssl_die(const char *what)
{
	char tls[512];

	tls_errors(tls, sizeof(tls));
	fprintf(stderr, "ipcfleet-loadgen: %s: %s\n", what, tls[0] ? tls : "failed");
	exit(1);
}

/* ---- latency histogram ---- */

static void
lg_hist_observe(struct lg_hist *h, uint64_t us)
{
	size_t i = (size_t)(log((double)us + 1) / log(LG_BUCKET_BASE));

	if (i > LG_NBUCKETS)
		i = LG_NBUCKETS;
	h->b[i]++;
	h->count++;
	if (us > h->max_us)
		h->max_us = us;
}

/* The p-quantile (0 < p <= 1) in milliseconds: the upper edge of its bucket. */
static double
lg_hist_quantile(const struct lg_hist *h, double p)
{
	uint64_t want, seen = 0;
	size_t i;

	if (h->count == 0)
		return 0;
	want = (uint64_t)ceil(p * (double)h->count);
	for (i = 0; i <= LG_NBUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want)
			break;
	}
	if (i >= LG_NBUCKETS)
		return (double)h->max_us / 1000;
	return (pow(LG_BUCKET_BASE, (double)(i + 1)) - 1) / 1000;
}

/* ---- certificates ---- */

static void
lg_add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, v3, nid, value);

	if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
		lg_ssl_die("certificate extension");
	X509_EXTENSION_free(ext);
}

/* A client certificate for cn, signed by the CA; its key in *keyp. */
static X509 *
lg_mint(struct lg *lg, const char *cn, EVP_PKEY **keyp)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	BIGNUM *bn = BN_new();
	X509V3_CTX v3;

	if (key == NULL || x == NULL || bn == NULL)
		lg_ssl_die("key generation");
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    BN_rand(bn, 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400) == NULL ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                               (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(lg->ca_cert)) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		lg_ssl_die("certificate");
	BN_free(bn);
	X509V3_set_ctx(&v3, lg->ca_cert, x, NULL, NULL, 0);
	lg_add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE");
	lg_add_ext(x, &v3, NID_key_usage, "critical,digitalSignature");
	lg_add_ext(x, &v3, NID_ext_key_usage, "clientAuth");
	lg_add_ext(x, &v3, NID_subject_key_identifier, "hash");
	lg_add_ext(x, &v3, NID_authority_key_identifier, "keyid");
	if (X509_sign(x, lg->ca_key, EVP_sha256()) == 0)
		lg_ssl_die("signing a certificate");
	*keyp = key;
	return x;
}

static void
lg_load_ca(struct lg *lg)
{
	FILE *fp;

	if ((fp = fopen(lg->ca_cert_path, "r")) == NULL) {
		fprintf(stderr, "ipcfleet-loadgen: %s: %s\n", lg->ca_cert_path, strerror(errno));
		exit(1);
	}
	lg->ca_cert = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (lg->ca_cert == NULL)
		lg_ssl_die(lg->ca_cert_path);
	if ((fp = fopen(lg->ca_key_path, "r")) == NULL) {
		fprintf(stderr, "ipcfleet-loadgen: %s: %s\n", lg->ca_key_path, strerror(errno));
		exit(1);
	}
	lg->ca_key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (lg->ca_key == NULL)
		lg_ssl_die(lg->ca_key_path);
	if (X509_check_private_key(lg->ca_cert, lg->ca_key) != 1)
		lg_ssl_die("the CA key does not match the CA certificate");
}

static void
lg_make_ctx(struct lg *lg)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, lg->ca_cert_path, NULL) != 1)
		lg_ssl_die("TLS context");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	lg->ctx = ctx;
}

/* ---- the snapshot every agent sends ---- */

static void
lg_limit(struct snapshot *s, const char *name, uint64_t v)
{
	if (limits_set(&s->limits, name, v) == -1) {
		fprintf(stderr, "ipcfleet-loadgen: cannot set limit %s\n", name);
		exit(1);
	}
}

/*
 * A Linux host running a few PostgreSQL clusters and some message-queue
 * users: 40 objects, about 3 KB encoded; nobj objects repeat that mix (the
 * bench's growth section measures the cost per snapshot as it grows).
 */
static void
lg_build_template(struct snapshot *s, size_t nobj)
{
	static const char *const owners[] = {"postgres", "www", "oracle", "app"};
	int64_t now = now_unix();
	size_t i;

	if (snapshot_init(s) == -1) {
		fprintf(stderr, "ipcfleet-loadgen: out of memory\n");
		exit(1);
	}
	ifl_strlcpy(s->os, "Linux", sizeof(s->os));
	ifl_strlcpy(s->os_release, "6.1.0-loadgen", sizeof(s->os_release));
	s->page_size = 4096;
	lg_limit(s, "shmmax", 18446744073692774399ull);
	lg_limit(s, "shmall", 18446744073692774399ull);
	lg_limit(s, "shmmni", 4096);
	lg_limit(s, "semmsl", 32000);
	lg_limit(s, "semmns", 1024000000);
	lg_limit(s, "semopm", 500);
	lg_limit(s, "semmni", 32000);
	lg_limit(s, "msgmax", 8192);
	lg_limit(s, "msgmnb", 16384);
	lg_limit(s, "msgmni", 32000);
	for (i = 0; i < nobj; i++) {
		struct ipc_object *o = snapshot_add_object(s);
		size_t j = i % 40; /* the place in the mix */

		if (o == NULL) {
			fprintf(stderr, "ipcfleet-loadgen: out of memory\n");
			exit(1);
		}
		o->id = (int64_t)(i * 32768 + 7);
		o->key = (int64_t)(0x5432000 + i);
		o->mode = 0600;
		o->uid = o->cuid = 70 + (uint32_t)(j % 4);
		o->gid = o->cgid = 70;
		o->ctime = now - 86400 - (int64_t)j * 60;
		ifl_strlcpy(o->owner, owners[j % 4], sizeof(o->owner));
		if (j < 22) {
			o->type = IPC_SEM;
			o->nsems = 17;
			o->otime = now - (int64_t)j;
		} else if (j < 34) {
			o->type = IPC_SHM;
			o->size = 1048576u * (j - 21);
			o->nattch = 3 + j % 5;
			o->cpid = 1000 + (int64_t)j;
			o->lpid = 2000 + (int64_t)j;
			o->atime = now - 5;
			o->rss = 4096u * 50;
		} else {
			o->type = IPC_MSG;
			o->cbytes = 120;
			o->qnum = 2;
			o->qbytes = 16384;
			o->lspid = 3000 + (int64_t)j;
			o->lrpid = 3100 + (int64_t)j;
			o->stime = now - 2;
			o->rtime = now - 3;
		}
	}
}

/* Appends the frame of one snapshot to out, whole. */
static int
lg_encode_slow(struct lg *lg, uint64_t seq, int64_t taken, struct buf *out)
{
	lg->tmpl.seq = seq;
	lg->tmpl.taken = taken;
	return proto_encode_snapshot(out, &lg->tmpl);
}

/* Appends the frame of one snapshot to out. */
static int
lg_encode(struct lg *lg, uint64_t seq, int64_t taken, struct buf *out)
{
	msgpack_packer pk;
	size_t start;

	if (lg->tail.len == 0)
		return lg_encode_slow(lg, seq, taken, out);
	start = proto_frame_begin(out);
	buf_append(out, &lg->map_hdr, 1);
	proto_packer_init(&pk, out);
	mp_pack_kv_str(&pk, "type", "snapshot");
	mp_pack_kv_u64(&pk, "seq", seq);
	mp_pack_kv_i64(&pk, "time", taken);
	buf_append(out, lg->tail.data + lg->tail_off, lg->tail.len - lg->tail_off);
	return proto_frame_end(out, start);
}

/*
 * Keeps the template's encoding after seq and time for lg_encode(), if the
 * frames it makes are the same bytes as proto_encode_snapshot()'s.
 */
static void
lg_prepare_tail(struct lg *lg)
{
	static const char key[] = "\xa6limits"; /* fixstr "limits" */
	struct buf a, b;
	const char *p;
	size_t i;

	buf_init(&lg->tail, LG_FRAME_MAX);
	if (lg_encode_slow(lg, 0, 0, &lg->tail) == -1 || lg->tail.len <= PROTO_HDR_LEN + 1)
		goto off;
	lg->map_hdr = (uint8_t)lg->tail.data[PROTO_HDR_LEN];
	for (i = PROTO_HDR_LEN, p = NULL; i + sizeof(key) - 1 <= lg->tail.len; i++)
		if (memcmp(lg->tail.data + i, key, sizeof(key) - 1) == 0) {
			p = lg->tail.data + i;
			break;
		}
	if (p == NULL)
		goto off;
	lg->tail_off = (size_t)(p - lg->tail.data);
	buf_init(&a, LG_FRAME_MAX);
	buf_init(&b, LG_FRAME_MAX);
	i = lg_encode_slow(lg, 123456789012ULL, 1764100000, &a) == 0 &&
	    lg_encode(lg, 123456789012ULL, 1764100000, &b) == 0 && a.len == b.len &&
	    memcmp(a.data, b.data, a.len) == 0;
	buf_free(&a);
	buf_free(&b);
	if (i)
		return;
off:
	fprintf(stderr, "ipcfleet-loadgen: frames are encoded whole (slower)\n");
	buf_free(&lg->tail);
	buf_init(&lg->tail, LG_FRAME_MAX);
}

static int
lg_write_snapshot(struct lg_agent *a, uint64_t seq, int64_t taken)
{
	struct buf out;
	int rc = -1;

	buf_init(&out, LG_FRAME_MAX);
	if (lg_encode(a->lg, seq, taken, &out) == 0 &&
	    bufferevent_write(a->bev, out.data, out.len) == 0)
		rc = 0;
	buf_free(&out);
	return rc;
}

static int
lg_write_hello(struct lg_agent *a)
{
	struct msg_hello h;
	struct buf out;
	int rc = -1;

	memset(&h, 0, sizeof(h));
	h.major = PROTO_MAJOR;
	h.minor = PROTO_MINOR;
	h.role = ROLE_AGENT;
	snprintf(h.agent, sizeof(h.agent), "ipcfleet-loadgen %s", IPCFLEET_VERSION);
	ifl_strlcpy(h.host, a->name, sizeof(h.host));
	ifl_strlcpy(h.os, a->lg->tmpl.os, sizeof(h.os));
	ifl_strlcpy(h.os_release, a->lg->tmpl.os_release, sizeof(h.os_release));
	h.page_size = a->lg->tmpl.page_size;
	h.boot_time = now_unix() - 86400;
	h.interval = (uint32_t)((a->lg->interval_ms + 999) / 1000);
	buf_init(&out, 4096);
	if (proto_encode_hello(&out, &h) == 0 && bufferevent_write(a->bev, out.data, out.len) == 0)
		rc = 0;
	buf_free(&out);
	return rc;
}

/* ---- connection management ---- */

/* Queues a to connect when the pacer allows (immediately without --connect-rate). */
static void
lg_want_connect(struct lg_agent *a)
{
	struct lg *lg = a->lg;

	if (lg->phase == LP_STOP || a->state == LS_DONE || a->waiting)
		return;
	if (lg->connect_rate <= 0) {
		lg_connect(a);
		return;
	}
	a->waiting = 1;
	a->next_wait = NULL;
	if (lg->wait_tail != NULL)
		lg->wait_tail->next_wait = a;
	else
		lg->wait_head = a;
	lg->wait_tail = a;
}

static void
pacer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;
	uint64_t now = now_mono_ms();

	(void)fd;
	(void)what;
	lg->tokens += lg->connect_rate * (double)(now - lg->pacer_last_ms) / 1000;
	lg->pacer_last_ms = now;
	if (lg->tokens > lg->connect_rate / 10 + 1)
		lg->tokens = lg->connect_rate / 10 + 1; /* bursts of at most 100 ms */
	while (lg->tokens >= 1 && lg->wait_head != NULL) {
		struct lg_agent *a = lg->wait_head;

		lg->wait_head = a->next_wait;
		if (lg->wait_head == NULL)
			lg->wait_tail = NULL;
		a->waiting = 0;
		lg->tokens -= 1;
		lg_connect(a);
	}
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lg_agent *a = arg;

	(void)fd;
	(void)what;
	a->lg->st.reconnects++;
	lg_want_connect(a);
}

/* Schedules a reconnect: random delay in [0, backoff], backoff doubling. */
static void
lg_schedule_retry(struct lg_agent *a)
{
	struct timeval tv;

	if (a->lg->phase == LP_STOP || a->kind != LK_NORMAL)
		return;
	a->backoff_ms =
	    a->backoff_ms == 0
	        ? LG_BACKOFF_MIN_MS
	        : (a->backoff_ms * 2 > LG_BACKOFF_MAX_MS ? LG_BACKOFF_MAX_MS : a->backoff_ms * 2);
	lg_tv(&tv, arc4random_uniform(a->backoff_ms + 1));
	evtimer_add(a->retry, &tv);
}

static void
lg_close(struct lg_agent *a)
{
	if (a->conn_ev != NULL) {
		event_free(a->conn_ev);
		a->conn_ev = NULL;
	}
	if (a->bev != NULL) {
		bufferevent_free(a->bev); /* closes the socket */
		a->bev = NULL;
		a->fd = -1;
	}
	if (a->fd != -1) {
		close(a->fd);
		a->fd = -1;
	}
	a->inflight = 0; /* unacknowledged: sent again after the reconnect */
}

/* The connection failed or ended: count it, close, and (normal agents) retry. */
static void
lg_drop(struct lg_agent *a, const char *why)
{
	struct lg *lg = a->lg;
	double after = (double)(now_mono_ms() - a->ready_ms) / 1000;

	if (a->state == LS_READY) {
		if (a->kind == LK_SLOW) {
			lg->st.slow_cut++;
			if (after > lg->st.slow_cut_max_s)
				lg->st.slow_cut_max_s = after;
			fprintf(stderr,
			        "ipcfleet-loadgen: %s (slow reader) cut off after %.1fs: %s\n",
			        a->name, after, why);
		} else if (a->kind == LK_TRICKLE) {
			lg->st.trickle_cut++;
			if (after > lg->st.trickle_cut_max_s)
				lg->st.trickle_cut_max_s = after;
			fprintf(stderr, "ipcfleet-loadgen: %s (trickle) cut off after %.1fs: %s\n",
			        a->name, after, why);
		} else
			lg->st.disconnects++;
	} else if (a->state == LS_TCP || a->state == LS_TLS) {
		lg->st.connect_failures++;
		if (lg->phase == LP_RUN && lg->st.connect_failures <= LG_MAX_ERRLOG)
			fprintf(stderr, "ipcfleet-loadgen: %s: connect failed: %s\n", a->name, why);
	}
	lg_close(a);
	if (a->kind != LK_NORMAL) {
		lg_set_state(a, LS_DONE);
		if (a->tick != NULL)
			evtimer_del(a->tick);
		return;
	}
	lg_set_state(a, LS_IDLE);
	lg_schedule_retry(a);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct lg_agent *a = arg;
	struct lg *lg = a->lg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		uint8_t hdr[PROTO_HDR_LEN], *p;
		uint32_t len;
		struct proto_doc d;
		const char *why;
		char err[512];
		size_t have = evbuffer_get_length(in);

		if (have < PROTO_HDR_LEN)
			break;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		if (frame_header(hdr, LG_REPLY_MAX, &len, &why) == -1) {
			lg_err(lg, "%s: bad frame from the aggregator: %s", a->name, why);
			lg_drop(a, why);
			return;
		}
		if (have < PROTO_HDR_LEN + (size_t)len)
			break;
		if ((p = evbuffer_pullup(in, PROTO_HDR_LEN + (ssize_t)len)) == NULL ||
		    proto_doc_unpack(p + PROTO_HDR_LEN, len, &d, err, sizeof(err)) == -1) {
			lg_err(lg, "%s: bad answer from the aggregator", a->name);
			lg_drop(a, "bad answer");
			return;
		}
		evbuffer_drain(in, PROTO_HDR_LEN + (size_t)len);
		if (d.type == MSG_ACK) {
			uint64_t seq = 0;
			struct lg_pending *h = &a->q[a->qhead];

			if (proto_decode_ack(&d, &seq, err, sizeof(err)) == -1 ||
			    a->inflight == 0 || seq != h->seq) {
				proto_doc_free(&d);
				lg_err(lg, "%s: unexpected ack %llu", a->name,
				       (unsigned long long)seq);
				lg_drop(a, "unexpected ack");
				return;
			}
			lg_hist_observe(&lg->st.lat, lg_now_us() - h->sent_us);
			lg_hist_observe(&lg->period, lg_now_us() - h->sent_us);
			if (lg->steady_us != 0 && h->sent_us >= lg->steady_us)
				lg_hist_observe(&lg->st.steady, lg_now_us() - h->sent_us);
			if (lg->steady_us != 0 && lg->phase == LP_RUN)
				lg->acked_steady++;
			lg->period_acked++;
			if (lg->ack_log != NULL)
				fprintf(lg->ack_log, "%s %llu\n", a->name, (unsigned long long)seq);
			lg->st.acked++;
			lg->unacked--;
			a->qhead = (a->qhead + 1) % LG_QUEUE;
			a->qlen--;
			a->inflight--;
		} else if (d.type == MSG_ERROR) {
			struct msg_error e;

			if (proto_decode_error(&d, &e, err, sizeof(err)) == 0)
				lg_err(lg, "%s: aggregator error: %s: %s", a->name,
				       proto_err_name(e.code), e.text);
			else
				lg_err(lg, "%s: bad error frame", a->name);
			proto_doc_free(&d);
			lg_drop(a, "error frame");
			return;
		} else {
			proto_doc_free(&d);
			lg_err(lg, "%s: unexpected message from the aggregator", a->name);
			lg_drop(a, "unexpected message");
			return;
		}
		proto_doc_free(&d);
	}
	if (lg->phase == LP_DRAIN && lg->unacked == 0) {
		lg->phase = LP_STOP;
		event_base_loopbreak(lg->base);
		return;
	}
	lg_send_pending(a);
}

/* Writes what may go: the oldest unsent snapshots, up to the window. */
static void
lg_send_pending(struct lg_agent *a)
{
	while (a->state == LS_READY && a->inflight < a->qlen && a->inflight < LG_WINDOW) {
		struct lg_pending *p = &a->q[(a->qhead + a->inflight) % LG_QUEUE];

		if (lg_write_snapshot(a, p->seq, p->taken) == -1) {
			lg_err(a->lg, "%s: cannot queue a snapshot", a->name);
			lg_drop(a, "out of memory");
			return;
		}
		p->sent_us = lg_now_us();
		a->inflight++;
		a->lg->st.sent++;
	}
}

/* Slow reader: keeps LG_SLOW_OUT bytes queued, never reads. */
static void
slow_fill(struct lg_agent *a)
{
	while (a->state == LS_READY &&
	       evbuffer_get_length(bufferevent_get_output(a->bev)) < LG_SLOW_OUT) {
		if (lg_write_snapshot(a, ++a->next_seq, now_unix()) == -1) {
			lg_drop(a, "out of memory");
			return;
		}
		a->lg->st.slow_sent++;
	}
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct lg_agent *a = arg;

	(void)bev;
	if (a->kind == LK_SLOW)
		slow_fill(a);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct lg_agent *a = arg;
	struct lg *lg = a->lg;
	char why[256];

	if (what & BEV_EVENT_CONNECTED) {
		struct timeval tv;

		lg_set_state(a, LS_READY);
		a->ready_ms = now_mono_ms();
		a->backoff_ms = 0;
		lg->st.connections++;
		bufferevent_set_timeouts(bev, NULL, NULL);
		if (lg_write_hello(a) == -1) {
			lg_drop(a, "cannot queue hello");
			return;
		}
		if (!a->ever_ready) {
			a->ever_ready = 1;
			if (++lg->ever_ready == lg->total && lg->steady_after_ms == 0) {
				lg->steady_us = lg_now_us();
				lg_event(lg, LG_EV_STEADY);
			}
		}
		if (lg->nready == lg->total)
			lg_event(lg, LG_EV_ALL_READY);
		if (a->state != LS_READY)
			return; /* the hook closed it */
		switch (a->kind) {
		case LK_NORMAL:
			lg_send_pending(a);
			break;
		case LK_SLOW:
			/* stop reading; the acks pile up on the aggregator's side */
			bufferevent_disable(bev, EV_READ);
			bufferevent_setwatermark(bev, EV_WRITE, LG_SLOW_OUT / 2, 0);
			slow_fill(a);
			lg_tv(&tv, 250);
			evtimer_add(a->tick, &tv);
			break;
		case LK_TRICKLE:
			buf_reset(&a->trickle);
			if (lg_encode(lg, ++a->next_seq, now_unix(), &a->trickle) == -1) {
				lg_drop(a, "cannot encode");
				return;
			}
			a->trickle_off = 0;
			lg_tv(&tv, 1000);
			evtimer_add(a->tick, &tv);
			break;
		}
		return;
	}
	why[0] = '\0';
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "timed out");
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "closed by the aggregator");
	else {
		unsigned long e = bufferevent_get_openssl_error(bev);
		int se = EVUTIL_SOCKET_ERROR();

		if (e != 0)
			ERR_error_string_n(e, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "%s", se ? strerror(se) : "connection error");
		while (bufferevent_get_openssl_error(bev) != 0)
			;
	}
	lg_drop(a, why);
}

/* TCP is up: start TLS with this agent's certificate. */
static void
lg_start_tls(struct lg_agent *a)
{
	struct lg *lg = a->lg;
	struct timeval tv;
	SSL *ssl;

	if ((ssl = SSL_new(lg->ctx)) == NULL || SSL_use_certificate(ssl, a->cert) != 1 ||
	    SSL_use_PrivateKey(ssl, a->key) != 1 || tls_client_set_host(ssl, lg->host) == -1) {
		SSL_free(ssl);
		ERR_clear_error();
		lg_drop(a, "TLS set-up failed");
		return;
	}
	lg_set_state(a, LS_TLS);
	a->bev = bufferevent_openssl_socket_new(lg->base, a->fd, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                        BEV_OPT_CLOSE_ON_FREE);
	if (a->bev == NULL) {
		SSL_free(ssl);
		lg_drop(a, "out of memory");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(a->bev, 1);
	bufferevent_setcb(a->bev, read_cb, write_cb, event_cb, a);
	lg_tv(&tv, LG_CONNECT_TIMEOUT_MS);
	bufferevent_set_timeouts(a->bev, &tv, &tv);
	bufferevent_enable(a->bev, EV_READ | EV_WRITE);
}

static void
conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lg_agent *a = arg;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	event_free(a->conn_ev);
	a->conn_ev = NULL;
	if (what & EV_TIMEOUT) {
		lg_drop(a, "TCP connect timed out");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1 || soerr != 0) {
		lg_drop(a, strerror(soerr ? soerr : errno));
		return;
	}
	lg_start_tls(a);
}

static void
lg_connect(struct lg_agent *a)
{
	struct lg *lg = a->lg;
	struct timeval tv;

	if (lg->phase == LP_STOP || a->state != LS_IDLE)
		return;
	lg_set_state(a, LS_TCP);
	a->fd = socket(lg->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd == -1) {
		lg_drop(a, strerror(errno));
		return;
	}
	if (a->kind == LK_SLOW) {
		int sz = LG_SLOW_RCVBUF;

		setsockopt(a->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (connect(a->fd, (struct sockaddr *)&lg->addr, lg->addrlen) == 0) {
		lg_start_tls(a);
		return;
	}
	if (errno != EINPROGRESS) {
		lg_drop(a, strerror(errno));
		return;
	}
	if ((a->conn_ev = event_new(lg->base, a->fd, EV_WRITE, conn_cb, a)) == NULL) {
		lg_drop(a, "out of memory");
		return;
	}
	lg_tv(&tv, LG_CONNECT_TIMEOUT_MS);
	event_add(a->conn_ev, &tv);
}

/* ---- timers ---- */

/* Normal agents: one snapshot per interval; also the ack timeout. */
static void
normal_tick(struct lg_agent *a)
{
	struct lg *lg = a->lg;
	uint64_t now = now_mono_ms();
	struct timeval tv;

	if (lg->phase == LP_RUN) {
		if (a->qlen == LG_QUEUE) {
			lg->st.dropped++; /* like a full spool: counted, not sent */
		} else {
			struct lg_pending *p = &a->q[(a->qhead + a->qlen) % LG_QUEUE];

			p->seq = ++a->next_seq;
			p->taken = now_unix();
			p->sent_us = 0;
			a->qlen++;
			lg->unacked++;
			lg->st.taken++;
		}
	}
	if (a->state == LS_READY && a->inflight > 0 &&
	    lg_now_us() - a->q[a->qhead].sent_us > (uint64_t)LG_ACK_TIMEOUT_MS * 1000) {
		lg_err(lg, "%s: no ack for snapshot %llu within %us", a->name,
		       (unsigned long long)a->q[a->qhead].seq, LG_ACK_TIMEOUT_MS / 1000);
		lg_drop(a, "ack timeout");
	} else
		lg_send_pending(a);
	a->next_tick_ms += lg->interval_ms;
	if (a->next_tick_ms <= now)
		a->next_tick_ms = now + lg->interval_ms;
	lg_tv(&tv, a->next_tick_ms - now);
	evtimer_add(a->tick, &tv);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lg_agent *a = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	switch (a->kind) {
	case LK_NORMAL:
		normal_tick(a);
		return;
	case LK_SLOW:
		if (a->state == LS_READY) {
			struct tcp_info ti;
			socklen_t sl = sizeof(ti);
			int fd2 = bufferevent_getfd(a->bev);

			/* not reading, so a close shows only in the TCP state */
			if (getsockopt(fd2, IPPROTO_TCP, TCP_INFO, &ti, &sl) == 0 &&
			    ti.tcpi_state != TCP_ESTABLISHED) {
				lg_drop(a, "connection closed by the aggregator");
				return;
			}
			lg_tv(&tv, 250);
			evtimer_add(a->tick, &tv);
		}
		return;
	case LK_TRICKLE:
		if (a->state == LS_READY && a->trickle_off < a->trickle.len) {
			bufferevent_write(a->bev, a->trickle.data + a->trickle_off, 1);
			a->trickle_off++;
			a->lg->st.trickle_bytes++;
			lg_tv(&tv, 1000);
			evtimer_add(a->tick, &tv);
		}
		return;
	}
}

static void
phase_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;
	struct timeval tv;
	size_t i;

	(void)fd;
	(void)what;
	if (lg->phase == LP_RUN) {
		/* no new snapshots; wait for the acks of those taken */
		lg->phase = LP_DRAIN;
		lg->run_end_ms = now_mono_ms();
		for (i = 0; i < lg->total; i++) {
			struct lg_agent *a = &lg->agents[i];

			if (a->kind != LK_NORMAL && a->state != LS_DONE) {
				lg_close(a);
				lg_set_state(a, LS_DONE);
				evtimer_del(a->tick);
			}
		}
		lg_event(lg, LG_EV_RUN_END);
		if (lg->phase == LP_STOP)
			return; /* the hook stopped the run */
		if (lg->unacked == 0) {
			lg->phase = LP_STOP;
			event_base_loopbreak(lg->base);
			return;
		}
		lg_tv(&tv, lg->drain_ms);
		evtimer_add(lg->phase_ev, &tv);
		return;
	}
	fprintf(stderr, "ipcfleet-loadgen: drain time over with snapshots unacknowledged\n");
	lg->phase = LP_STOP;
	event_base_loopbreak(lg->base);
}

/* --progress: one stderr line per period, for watching a long run. */
static void
progress_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;
	size_t i, open = 0;

	(void)fd;
	(void)what;
	for (i = 0; i < lg->total; i++)
		if (lg->agents[i].state == LS_READY)
			open++;
	fprintf(stderr,
	        "ipcfleet-loadgen: t=%.0fs open=%zu acks=%llu p50=%.1fms p99=%.1fms max=%.1fms "
	        "unacked=%llu\n",
	        (double)(now_mono_ms() - lg->start_ms) / 1000, open,
	        (unsigned long long)lg->period_acked, lg_hist_quantile(&lg->period, 0.5),
	        lg_hist_quantile(&lg->period, 0.99), (double)lg->period.max_us / 1000,
	        (unsigned long long)lg->unacked);
	memset(&lg->period, 0, sizeof(lg->period));
	lg->period_acked = 0;
}

static void
sig_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;

	(void)fd;
	(void)what;
	fprintf(stderr, "ipcfleet-loadgen: interrupted\n");
	if (lg->run_end_ms == 0)
		lg->run_end_ms = now_mono_ms();
	lg->phase = LP_STOP;
	event_base_loopbreak(lg->base);
}

/* ---- set-up ---- */

static void
lg_raise_nofile(size_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur >= need)
		return;
	if (rl.rlim_max < need) {
		rl.rlim_max = need;
		rl.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			fprintf(stderr,
			        "ipcfleet-loadgen: %zu descriptors needed, the hard limit is lower "
			        "and cannot be raised: %s\n",
			        need, strerror(errno));
			exit(1);
		}
		return;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		fprintf(stderr, "ipcfleet-loadgen: setrlimit: %s\n", strerror(errno));
		exit(1);
	}
}

static void
lg_resolve(struct lg *lg)
{
	struct addrinfo hints, *res;
	char port[8];
	const char *why;
	int rc;

	if (parse_hostport(lg->server, lg->host, sizeof(lg->host), port, sizeof(port), &why) ==
	    -1) {
		fprintf(stderr, "ipcfleet-loadgen: --server %s: %s\n", lg->server, why);
		exit(2);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(lg->host, port, &hints, &res)) != 0) {
		fprintf(stderr, "ipcfleet-loadgen: %s: %s\n", lg->server, gai_strerror(rc));
		exit(1);
	}
	memcpy(&lg->addr, res->ai_addr, res->ai_addrlen);
	lg->addrlen = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
}

static void
lg_setup_agents(struct lg *lg)
{
	size_t i;

	lg->total = lg->nagents + lg->nslow + lg->ntrickle;
	if ((lg->agents = calloc(lg->total, sizeof(*lg->agents))) == NULL) {
		fprintf(stderr, "ipcfleet-loadgen: out of memory\n");
		exit(1);
	}
	for (i = 0; i < lg->total; i++) {
		struct lg_agent *a = &lg->agents[i];
		int n;

		a->lg = lg;
		a->fd = -1;
		if (i < lg->nagents) {
			a->kind = LK_NORMAL;
			n = snprintf(a->name, sizeof(a->name), "%s-%04zu", lg->prefix, i + 1);
		} else if (i < lg->nagents + lg->nslow) {
			a->kind = LK_SLOW;
			n = snprintf(a->name, sizeof(a->name), "%s-slow-%04zu", lg->prefix,
			             i - lg->nagents + 1);
		} else {
			a->kind = LK_TRICKLE;
			n = snprintf(a->name, sizeof(a->name), "%s-trickle-%04zu", lg->prefix,
			             i - lg->nagents - lg->nslow + 1);
		}
		if (n < 0 || (size_t)n >= sizeof(a->name)) {
			fprintf(stderr, "ipcfleet-loadgen: --prefix too long\n");
			exit(2);
		}
		a->cert = lg_mint(lg, a->name, &a->key);
		a->tick = evtimer_new(lg->base, tick_cb, a);
		a->retry = evtimer_new(lg->base, retry_cb, a);
		buf_init(&a->trickle, LG_FRAME_MAX);
		if (a->tick == NULL || a->retry == NULL) {
			fprintf(stderr, "ipcfleet-loadgen: out of memory\n");
			exit(1);
		}
	}
}

/* --steady-after: the steady figures start, and the misbehaving peers with them. */
static void
steady_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;
	size_t i;

	(void)fd;
	(void)what;
	lg->steady_us = lg_now_us();
	lg_event(lg, LG_EV_STEADY);
	for (i = lg->nagents; i < lg->total; i++)
		lg_want_connect(&lg->agents[i]);
}

static void
user_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;

	(void)fd;
	(void)what;
	if (lg->phase != LP_STOP)
		lg->on_tick(lg, lg->hook_arg);
}

static void
lg_start(struct lg *lg)
{
	struct timeval tv;
	size_t i;

	lg->start_ms = now_mono_ms();
	for (i = 0; i < lg->total; i++) {
		struct lg_agent *a = &lg->agents[i];

		if (a->kind == LK_NORMAL && lg->idle) {
			/* hello only: no snapshot timer */
		} else if (a->kind == LK_NORMAL) {
			/* spread the agents' snapshots evenly over the interval */
			uint64_t phase = arc4random_uniform((uint32_t)lg->interval_ms);

			a->next_tick_ms = lg->start_ms + phase;
			lg_tv(&tv, phase);
			evtimer_add(a->tick, &tv);
		} else if (lg->steady_after_ms > 0)
			continue; /* steady_cb connects it */
		lg_want_connect(a);
	}
	if (lg->steady_after_ms > 0) {
		lg->steady_ev = evtimer_new(lg->base, steady_cb, lg);
		lg_tv(&tv, lg->steady_after_ms);
		if (lg->steady_ev == NULL || evtimer_add(lg->steady_ev, &tv) == -1) {
			fprintf(stderr, "ipcfleet-loadgen: cannot start the steady timer\n");
			exit(1);
		}
	}
	if (lg->connect_rate > 0) {
		lg->pacer = event_new(lg->base, -1, EV_PERSIST, pacer_cb, lg);
		lg->pacer_last_ms = now_mono_ms();
		lg->tokens = 1;
		lg_tv(&tv, LG_PACER_MS);
		if (lg->pacer == NULL || event_add(lg->pacer, &tv) == -1) {
			fprintf(stderr, "ipcfleet-loadgen: cannot start the pacer\n");
			exit(1);
		}
		pacer_cb(-1, 0, lg);
	}
	if (lg->progress_ms > 0) {
		lg->progress_ev = event_new(lg->base, -1, EV_PERSIST, progress_cb, lg);
		lg_tv(&tv, lg->progress_ms);
		if (lg->progress_ev == NULL || event_add(lg->progress_ev, &tv) == -1) {
			fprintf(stderr, "ipcfleet-loadgen: cannot start the progress timer\n");
			exit(1);
		}
	}
	if (lg->on_tick != NULL) {
		lg->user_tick = event_new(lg->base, -1, EV_PERSIST, user_tick_cb, lg);
		lg_tv(&tv, lg->tick_ms > 0 ? lg->tick_ms : 100);
		if (lg->user_tick == NULL || event_add(lg->user_tick, &tv) == -1) {
			fprintf(stderr, "ipcfleet-loadgen: cannot start the hook timer\n");
			exit(1);
		}
	}
	lg->phase_ev = evtimer_new(lg->base, phase_cb, lg);
	lg_tv(&tv, lg->duration_ms);
	evtimer_add(lg->phase_ev, &tv);
}

static long
lg_rss_max_kb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return ru.ru_maxrss;
}

void
lg_report(struct lg *lg, FILE *fp)
{
	double run_s = (double)(lg->run_end_ms - lg->start_ms) / 1000;
	double total_s = (double)(lg->end_ms - lg->start_ms) / 1000;
	uint64_t pending = lg->unacked;

	fprintf(fp, "agents=%zu count\n", lg->nagents);
	fprintf(fp, "slow_readers=%zu count\n", lg->nslow);
	fprintf(fp, "tricklers=%zu count\n", lg->ntrickle);
	fprintf(fp, "connections=%llu count\n", (unsigned long long)lg->st.connections);
	fprintf(fp, "connect_failures=%llu count\n", (unsigned long long)lg->st.connect_failures);
	fprintf(fp, "disconnects=%llu count\n", (unsigned long long)lg->st.disconnects);
	fprintf(fp, "reconnects=%llu count\n", (unsigned long long)lg->st.reconnects);
	fprintf(fp, "snapshots_taken=%llu count\n", (unsigned long long)lg->st.taken);
	fprintf(fp, "snapshots_sent=%llu count\n", (unsigned long long)lg->st.sent);
	fprintf(fp, "snapshots_acked=%llu count\n", (unsigned long long)lg->st.acked);
	fprintf(fp, "snapshots_unacked=%llu count\n", (unsigned long long)pending);
	fprintf(fp, "snapshots_dropped=%llu count\n", (unsigned long long)lg->st.dropped);
	fprintf(fp, "errors=%llu count\n", (unsigned long long)lg->st.errors);
	fprintf(fp, "acks_per_s=%.1f 1/s\n", total_s > 0 ? (double)lg->st.acked / total_s : 0.0);
	fprintf(fp, "ack_latency_p50=%.2f ms\n", lg_hist_quantile(&lg->st.lat, 0.50));
	fprintf(fp, "ack_latency_p99=%.2f ms\n", lg_hist_quantile(&lg->st.lat, 0.99));
	fprintf(fp, "ack_latency_max=%.2f ms\n", (double)lg->st.lat.max_us / 1000);
	/*
	 * The same for the snapshots sent after the steady point: once every
	 * agent had connected (no handshake storm in it), or --steady-after.
	 */
	fprintf(fp, "ack_latency_steady_p50=%.2f ms\n", lg_hist_quantile(&lg->st.steady, 0.50));
	fprintf(fp, "ack_latency_steady_p99=%.2f ms\n", lg_hist_quantile(&lg->st.steady, 0.99));
	fprintf(fp, "ack_latency_steady_max=%.2f ms\n", (double)lg->st.steady.max_us / 1000);
	fprintf(fp, "acks_per_s_steady=%.1f 1/s\n",
	        lg_steady_seconds(lg) > 0 ? (double)lg->acked_steady / lg_steady_seconds(lg) : 0.0);
	fprintf(fp, "steady_from=%.1f s\n",
	        lg->steady_us != 0 ? (double)(lg->steady_us / 1000 - lg->start_ms) / 1000 : 0.0);
	fprintf(fp, "slow_reader_sent=%llu count\n", (unsigned long long)lg->st.slow_sent);
	fprintf(fp, "slow_reader_cut=%llu count\n", (unsigned long long)lg->st.slow_cut);
	fprintf(fp, "slow_reader_cut_after_max=%.1f s\n", lg->st.slow_cut_max_s);
	fprintf(fp, "trickle_bytes=%llu count\n", (unsigned long long)lg->st.trickle_bytes);
	fprintf(fp, "trickle_cut=%llu count\n", (unsigned long long)lg->st.trickle_cut);
	fprintf(fp, "trickle_cut_after_max=%.1f s\n", lg->st.trickle_cut_max_s);
	fprintf(fp, "run_time=%.1f s\n", run_s);
	fprintf(fp, "total_time=%.1f s\n", total_s);
	fprintf(fp, "loadgen_rss_max=%ld kB\n", lg_rss_max_kb());
	fflush(fp);
}

void
lg_free(struct lg *lg)
{
	size_t i;

	for (i = 0; i < lg->total; i++) {
		struct lg_agent *a = &lg->agents[i];

		lg_close(a);
		if (a->tick != NULL)
			event_free(a->tick);
		if (a->retry != NULL)
			event_free(a->retry);
		buf_free(&a->trickle);
		X509_free(a->cert);
		EVP_PKEY_free(a->key);
	}
	/*
	 * bufferevent_free() only schedules the free of a bufferevent whose
	 * callbacks the loop still holds: one more turn runs those finalizers.
	 */
	event_base_loop(lg->base, EVLOOP_NONBLOCK);
	free(lg->agents);
	if (lg->pacer != NULL)
		event_free(lg->pacer);
	if (lg->phase_ev != NULL)
		event_free(lg->phase_ev);
	if (lg->progress_ev != NULL)
		event_free(lg->progress_ev);
	if (lg->steady_ev != NULL)
		event_free(lg->steady_ev);
	if (lg->user_tick != NULL)
		event_free(lg->user_tick);
	if (lg->sig_int != NULL)
		event_free(lg->sig_int);
	if (lg->sig_term != NULL)
		event_free(lg->sig_term);
	snapshot_free(&lg->tmpl);
	buf_free(&lg->tail);
	SSL_CTX_free(lg->ctx);
	X509_free(lg->ca_cert);
	EVP_PKEY_free(lg->ca_key);
	event_base_free(lg->base);
	if (lg->ack_log != NULL)
		fclose(lg->ack_log);
	free(lg);
}

/* ---- the interface (lgcore.h) ---- */

void
lg_opts_defaults(struct lg_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->nagents = 10;
	o->interval_ms = 10000;
	o->duration_ms = 30000;
	o->drain_ms = 30000;
	o->prefix = "lg";
}

struct lg *
lg_new(const struct lg_opts *o)
{
	struct lg *lg;

	if (o->ca_cert_path == NULL || o->ca_key_path == NULL || o->server == NULL ||
	    o->nagents + o->nslow + o->ntrickle == 0 ||
	    o->nagents + o->nslow + o->ntrickle > LG_MAX_AGENTS || o->interval_ms == 0 ||
	    o->nobjects > LG_MAX_OBJECTS) {
		fprintf(stderr, "ipcfleet-loadgen: bad options\n");
		exit(2);
	}
	/* large (the histograms): never on the stack */
	if ((lg = calloc(1, sizeof(*lg))) == NULL) {
		fprintf(stderr, "ipcfleet-loadgen: out of memory\n");
		exit(1);
	}
	lg->nagents = o->nagents;
	lg->nslow = o->nslow;
	lg->ntrickle = o->ntrickle;
	lg->interval_ms = o->interval_ms;
	lg->duration_ms = o->duration_ms;
	lg->drain_ms = o->drain_ms;
	lg->connect_rate = o->connect_rate;
	lg->prefix = o->prefix != NULL ? o->prefix : "lg";
	lg->ca_cert_path = o->ca_cert_path;
	lg->ca_key_path = o->ca_key_path;
	lg->server = o->server;
	lg->ack_log_path = o->ack_log_path;
	lg->progress_ms = o->progress_ms;
	lg->steady_after_ms = o->steady_after_ms;
	lg->idle = o->idle;
	lg->nobjects = o->nobjects ? o->nobjects : 40;
	lg->on_tick = o->on_tick;
	lg->tick_ms = o->tick_ms;
	lg->on_event = o->on_event;
	lg->hook_arg = o->arg;

	signal(SIGPIPE, SIG_IGN);
	lg_raise_nofile(lg->nagents + lg->nslow + lg->ntrickle + 64);
	lg_resolve(lg);
	if (lg->ack_log_path != NULL) {
		if ((lg->ack_log = fopen(lg->ack_log_path, "w")) == NULL) {
			fprintf(stderr, "ipcfleet-loadgen: %s: %s\n", lg->ack_log_path,
			        strerror(errno));
			exit(1);
		}
		/* a line per ack, on disk when written: tests read it while we run */
		setvbuf(lg->ack_log, NULL, _IOLBF, 0);
	}
	lg_load_ca(lg);
	lg_make_ctx(lg);
	lg_build_template(&lg->tmpl, lg->nobjects);
	lg_prepare_tail(lg);
	if ((lg->base = event_base_new()) == NULL) {
		fprintf(stderr, "ipcfleet-loadgen: event_base_new failed\n");
		exit(1);
	}
	lg_setup_agents(lg);
	lg->sig_int = evsignal_new(lg->base, SIGINT, sig_cb, lg);
	lg->sig_term = evsignal_new(lg->base, SIGTERM, sig_cb, lg);
	if (lg->sig_int == NULL || lg->sig_term == NULL || evsignal_add(lg->sig_int, NULL) == -1 ||
	    evsignal_add(lg->sig_term, NULL) == -1) {
		fprintf(stderr, "ipcfleet-loadgen: cannot handle signals\n");
		exit(1);
	}
	return lg;
}

void
lg_run(struct lg *lg)
{
	lg_start(lg);
	event_base_dispatch(lg->base);
	lg->end_ms = now_mono_ms();
	if (lg->run_end_ms == 0)
		lg->run_end_ms = lg->end_ms;
}

void
lg_stop(struct lg *lg)
{
	if (lg->run_end_ms == 0)
		lg->run_end_ms = now_mono_ms();
	lg->phase = LP_STOP;
	event_base_loopbreak(lg->base);
}

size_t
lg_ready(const struct lg *lg)
{
	return lg->nready;
}

size_t
lg_connected(const struct lg *lg)
{
	size_t i, n = 0;

	for (i = 0; i < lg->nagents; i++)
		if (lg->agents[i].state == LS_TCP || lg->agents[i].state == LS_TLS ||
		    lg->agents[i].state == LS_READY)
			n++;
	return n;
}

void
lg_close_all(struct lg *lg)
{
	size_t i;

	for (i = 0; i < lg->total; i++) {
		struct lg_agent *a = &lg->agents[i];

		evtimer_del(a->retry);
		a->waiting = 0;
		if (a->state == LS_DONE)
			continue;
		lg_close(a);
		lg_set_state(a, LS_IDLE);
	}
	lg->wait_head = lg->wait_tail = NULL;
}

void
lg_connect_all(struct lg *lg)
{
	size_t i;

	for (i = 0; i < lg->nagents; i++) {
		struct lg_agent *a = &lg->agents[i];

		if (a->state != LS_IDLE)
			continue;
		evtimer_del(a->retry);
		a->backoff_ms = 0;
		lg_connect(a);
	}
}

uint64_t
lg_acked(const struct lg *lg)
{
	return lg->st.acked;
}

uint64_t
lg_acked_steady(const struct lg *lg)
{
	return lg->acked_steady;
}

double
lg_steady_seconds(const struct lg *lg)
{
	uint64_t end_us;

	if (lg->steady_us == 0)
		return 0;
	end_us = lg->run_end_ms != 0 ? lg->run_end_ms * 1000 : lg_now_us();
	return end_us > lg->steady_us ? (double)(end_us - lg->steady_us) / 1e6 : 0;
}

uint64_t
lg_errors(const struct lg *lg)
{
	return lg->st.errors;
}

uint64_t
lg_connect_failures(const struct lg *lg)
{
	return lg->st.connect_failures;
}

double
lg_steady_latency_ms(const struct lg *lg, double p)
{
	if (lg->st.steady.count == 0)
		return -1; /* nothing sent in the steady part was acknowledged: unknown */
	return lg_hist_quantile(&lg->st.steady, p);
}
