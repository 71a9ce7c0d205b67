/*
 * aggregator.h: the aggregator daemon's internal interfaces.
 *
 * main.c    configuration, start-up, signals
 * server.c  TLS listener and the per-connection state machine
 * query.c   the query dispatcher: one entry per command, reply bodies
 * store*.c  storage (store.h)
 */
#ifndef IPCFLEET_AGGREGATOR_H
#define IPCFLEET_AGGREGATOR_H

#include <stdint.h>
#include <openssl/ssl.h>

#include "config.h"
#include "model.h"
#include "proto.h"
#include "store.h"

#define AGG_MAX_OVERRIDES 64

struct threshold_override {
	char limit[MODEL_NAME_MAX];
	uint64_t warn, crit; /* percent; 0 = not overridden */
};

struct agg_config {
	/* [server] */
	char listen[CFG_STR_MAX];
	char cert[CFG_PATH_MAX];
	char key[CFG_PATH_MAX];
	char ca[CFG_PATH_MAX];
	char crl[CFG_PATH_MAX];
	struct cfg_list admins;
	uint64_t max_connections;
	uint64_t handshake_timeout; /* seconds: TLS handshake and hello */
	uint64_t idle_timeout;      /* seconds without a frame */
	uint64_t frame_timeout;     /* seconds from a frame's first byte to its last */
	uint64_t tls12;             /* 1: also accept TLS 1.2 */
	/* [storage] */
	char backend[CFG_STR_MAX];
	char db_path[CFG_PATH_MAX];
	char url[CFG_STR_MAX];
	/* [http] */
	char http_listen[CFG_STR_MAX];
	/* [thresholds] */
	uint64_t warn, crit;
	size_t noverrides;
	struct threshold_override overrides[AGG_MAX_OVERRIDES];
};

struct agg_stats {
	uint64_t conns_accepted, conns_refused, conns_open;
	uint64_t frames_accepted, frames_rejected;
	uint64_t snapshots_stored, snapshots_duplicate;
	uint64_t queries;
};

struct agg {
	struct agg_config cfg;
	const char *config_path;
	struct event_base *base;
	SSL_CTX *ssl_ctx;
	struct store *store;
	struct evconnlistener *listener;
	struct agg_stats stats;
	const char *port_file;
};

/* main.c */
void agg_config_defaults(struct agg_config *c);
int agg_config_load(const char *path, struct agg_config *c, char *err, size_t errlen);
/* Warn and crit levels (percent) for one limit, overrides applied. */
void agg_thresholds(const struct agg_config *c, const char *limit, double *warn, double *crit);

/* server.c */
int server_start(struct agg *a, char *err, size_t errlen);
void server_stop(struct agg *a);

/*
 * query.c: runs one query from an admin connection and appends exactly one
 * reply or error frame to out.  Returns 0, or -1 when out could not be built
 * (the caller closes the connection).
 */
int query_run(struct agg *a, const struct msg_query *q, struct buf *out);
/* Status of a host: "stale" when not seen for three intervals, else by usage. */
const char *query_host_status(struct agg *a, const struct snapshot *s, int64_t last_received);

#endif
