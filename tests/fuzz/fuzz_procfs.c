/*
 * fuzz_procfs.c: the Linux /proc/sysvipc parsers (agent/collect.h).
 *
 * The first byte of the input chooses what to do with the rest, which is
 * the file's text (cut at its first NUL, as a C string would be):
 *   bits 0-1: 0 shm, 1 sem, 2 msg, 3 all three parsers on the same text;
 *   bit 2:    put the objects in an IPC namespace scope instead of the host.
 * Checked afterwards: every object has the parser's type and the scope
 * asked for; warnings stay within their bounds; a failure leaves a warning;
 * and what the collector produced is a snapshot the aggregator accepts
 * (encoded, decoded, same objects).
 */
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "fuzz.h"
#include "model.h"
#include "proto.h"

typedef int (*fp_parser)(const char *, struct snapshot *, uint32_t, struct collect_warnings *);

static void
fp_run(fp_parser fn, enum ipc_type t, const char *text, struct snapshot *s, uint32_t scope)
{
	struct collect_warnings w;
	size_t before = s->nobjects, i;
	int rc;

	memset(&w, 0, sizeof(w));
	rc = fn(text, s, scope, &w);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(rc == 0 || w.total > 0);
	FUZZ_CHECK(w.n <= COLLECT_MAX_WARN && w.n <= w.total);
	for (i = 0; i < w.n; i++) {
		FUZZ_CHECK(strnlen(w.v[i], sizeof(w.v[i])) < sizeof(w.v[i]));
		fuzz_note("warning", w.v[i]);
	}
	FUZZ_CHECK(s->nobjects >= before && s->nobjects <= MODEL_MAX_OBJECTS);
	for (i = before; i < s->nobjects; i++) {
		FUZZ_CHECK(s->objects[i].type == t);
		FUZZ_CHECK(s->objects[i].scope == scope);
	}
}

/* The agent encodes what it collected; the aggregator must take it back. */
static void
fp_roundtrip(struct snapshot *s)
{
	struct proto_doc doc;
	struct snapshot s2;
	struct usage u;
	struct buf b;
	char err[256] = "";
	size_t i;

	s->seq = 1;
	s->page_size = 4096;
	model_usage(s, -1, &u);
	for (i = 0; i < s->nscopes; i++)
		model_usage(s, (int)i, &u);

	buf_init(&b, PROTO_HDR_LEN + PROTO_MAX_FRAME);
	if (proto_encode_snapshot(&b, s) == -1)
		FUZZ_FAIL("a collected snapshot of %zu objects cannot be encoded", s->nobjects);
	if (proto_doc_unpack((const uint8_t *)b.data + PROTO_HDR_LEN, b.len - PROTO_HDR_LEN, &doc,
	                     err, sizeof(err)) == -1)
		FUZZ_FAIL("a collected snapshot is refused: %s", err);
	if (snapshot_init(&s2) == -1)
		FUZZ_FAIL("out of memory");
	if (proto_decode_snapshot(&doc, &s2, err, sizeof(err)) == -1)
		FUZZ_FAIL("a collected snapshot does not decode: %s", err);
	FUZZ_CHECK(s2.nobjects == s->nobjects && s2.nscopes == s->nscopes);
	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *a = &s->objects[i], *c = &s2.objects[i];

		FUZZ_CHECK(a->type == c->type && a->id == c->id && a->key == c->key);
		FUZZ_CHECK(a->mode == c->mode && a->uid == c->uid && a->scope == c->scope);
		FUZZ_CHECK(a->size == c->size && a->nsems == c->nsems && a->cbytes == c->cbytes);
	}
	snapshot_free(&s2);
	proto_doc_free(&doc);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot s;
	uint32_t scope = 0;
	uint8_t sel;
	char *text;

	if (size < 1)
		return 0;
	sel = data[0];
	text = fuzz_strndup(data + 1, size - 1);
	if (snapshot_init(&s) == -1)
		FUZZ_FAIL("out of memory");
	if (sel & 4) {
		if (snapshot_add_scope(&s, "ipcns:4026531839", "ipcns:4026531839", SCOPE_IPCNS) ==
		    NULL)
			FUZZ_FAIL("cannot add a scope");
		scope = 1;
	}
	switch (sel & 3) {
	case 0:
		fp_run(procfs_parse_shm, IPC_SHM, text, &s, scope);
		break;
	case 1:
		fp_run(procfs_parse_sem, IPC_SEM, text, &s, scope);
		break;
	case 2:
		fp_run(procfs_parse_msg, IPC_MSG, text, &s, scope);
		break;
	default:
		fp_run(procfs_parse_shm, IPC_SHM, text, &s, scope);
		fp_run(procfs_parse_sem, IPC_SEM, text, &s, scope);
		fp_run(procfs_parse_msg, IPC_MSG, text, &s, scope);
		break;
	}
	fp_roundtrip(&s);
	snapshot_free(&s);
	free(text);
	return 0;
}
