/*
 * server_cn.c: what the aggregator remembers of a certificate across its
 * connections (struct cn_rec: the agents' snapshot bucket, connections
 * waiting for hello) and the agent connections by CN (server_local.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "aggregator.h"
#include "log.h"
#include "server_local.h"
#include "tls.h"
#include "util.h"

struct conn *cn_hash[CN_BUCKETS];
struct cn_rec *cn_recs[CN_BUCKETS];

/* ... listed, for admin_out_total() */

size_t
cn_bucket(const char *cn)
{
	return fnv1a_str(cn) % CN_BUCKETS;
}

void
cn_hash_remove(struct conn *c)
{
	struct conn **pp;

	if (!c->in_cn_hash)
		return;
	for (pp = &cn_hash[cn_bucket(c->cn)]; *pp != NULL; pp = &(*pp)->cn_next)
		if (*pp == c) {
			*pp = c->cn_next;
			break;
		}
	c->in_cn_hash = 0;
}

/* Refills a certificate's snapshot bucket up to now. */
void
cn_rec_refill(struct cn_rec *r, uint64_t now)
{
	r->tokens += (double)(now - r->tokens_ms) * AGENT_RATE / 1000;
	r->tokens_ms = now;
	if (r->tokens > AGENT_BURST)
		r->tokens = AGENT_BURST;
}

/*
 * Drops the records of bucket b that no connection uses and whose bucket
 * is full again: forgetting them then changes nothing.
 */
static void
cn_rec_sweep(size_t b, uint64_t now)
{
	struct cn_rec **pp = &cn_recs[b], *r;

	while ((r = *pp) != NULL) {
		cn_rec_refill(r, now);
		if (r->nconns == 0 && r->tokens >= AGENT_BURST) {
			*pp = r->next;
			free(r);
		} else
			pp = &r->next;
	}
}

/* The record of certificate cn, created when new; NULL when out of memory. */
struct cn_rec *
cn_rec_get(const char *cn)
{
	size_t b = cn_bucket(cn);
	uint64_t now = now_mono_ms();
	struct cn_rec *r;

	cn_rec_sweep(b, now);
	for (r = cn_recs[b]; r != NULL; r = r->next)
		if (strcmp(r->cn, cn) == 0)
			return r;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	ifl_strlcpy(r->cn, cn, sizeof(r->cn));
	r->tokens = AGENT_BURST;
	r->tokens_ms = now;
	r->next = cn_recs[b];
	cn_recs[b] = r;
	return r;
}

void
cn_rec_free_all(void)
{
	size_t b;

	for (b = 0; b < CN_BUCKETS; b++)
		while (cn_recs[b] != NULL) {
			struct cn_rec *r = cn_recs[b];

			cn_recs[b] = r->next;
			free(r);
		}
}
