/*
 * cli.h: the ipcfleet query CLI.
 *
 * main.c    options, configuration lookup, the command table
 * client.c  one TLS connection to the aggregator: hello, query, reply
 */
#ifndef IPCFLEET_CLI_H
#define IPCFLEET_CLI_H

#include "config.h"
#include "proto.h"

struct cli_config {
	char server[CFG_STR_MAX];
	char cert[CFG_PATH_MAX];
	char key[CFG_PATH_MAX];
	char ca[CFG_PATH_MAX];
	uint64_t timeout; /* seconds */
	int json;
};

/*
 * Runs one query.  On success the reply body is in doc (caller frees with
 * proto_doc_free) and *body points into it.  On failure returns -1 with a
 * one-line reason in err; *not_found is set when the aggregator answered
 * "unknown host".
 */
int cli_query(const struct cli_config *c, const struct msg_query *q, struct proto_doc *doc,
	      const msgpack_object **body, char *err, size_t errlen);

#endif
