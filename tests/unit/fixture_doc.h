/*
 * fixture_doc.h: msgpack reply bodies packed in a test and unpacked as the
 * CLI receives them, for the renderers' unit tests (test_cli_render.c,
 * test_report_html.c), which link fixture_doc.c.  The packers' names are
 * short so that a canned body reads like the JSON it stands for.
 */
#ifndef IPCFLEET_TEST_FIXTURE_DOC_H
#define IPCFLEET_TEST_FIXTURE_DOC_H

#include <stdint.h>

#include <msgpack.h>

struct doc {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone zone;
	msgpack_object obj; /* after doc_end */
};

/* Starts an empty body: returns its packer. */
msgpack_packer *doc_begin(struct doc *d);
/* Unpacks what was packed (the running cmocka test fails if it cannot). */
const msgpack_object *doc_end(struct doc *d);
void doc_free(struct doc *d);

/* A string; then key-value pairs: string, unsigned, double, boolean. */
void s(msgpack_packer *pk, const char *v);
void ks(msgpack_packer *pk, const char *k, const char *v);
void ku(msgpack_packer *pk, const char *k, uint64_t v);
void kf(msgpack_packer *pk, const char *k, double v);
void kb(msgpack_packer *pk, const char *k, int v);

#endif
