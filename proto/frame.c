/*
 * frame.c: frame headers, the allocation-free payload validator, and
 * unpacking a validated payload into a zone (proto.h, docs/protocol.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

const char *
proto_err_name(uint32_t code)
{
	switch (code) {
	case PERR_BAD_FRAME:
		return "bad_frame";
	case PERR_VERSION:
		return "version";
	case PERR_FORBIDDEN:
		return "forbidden";
	case PERR_BAD_REQUEST:
		return "bad_request";
	case PERR_NOT_FOUND:
		return "not_found";
	case PERR_INTERNAL:
		return "internal";
	case PERR_BUSY:
		return "busy";
	case PERR_STATE:
		return "state";
	}
	return "unknown";
}

/*
 * *len is set to the declared length even when it is refused, so that the
 * caller can log it.
 */
int
frame_header(const uint8_t hdr[PROTO_HDR_LEN], uint32_t max, uint32_t *len, const char **why)
{
	uint32_t n;

	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 |
	    (uint32_t)hdr[3];
	*len = n;
	if (max > PROTO_MAX_FRAME) {
		*why = "frame size cap above the protocol maximum";
		return -1;
	}
	if (n == 0) {
		*why = "empty frame";
		return -1;
	}
	if (n > max) {
		*why = "frame too large";
		return -1;
	}
	return 0;
}

/* Big-endian reads; the caller has checked that the bytes are there. */
static uint64_t
frame_be(const uint8_t *p, size_t w)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < w; i++)
		v = v << 8 | p[i];
	return v;
}

/* One open container while walking: how many objects it still holds. */
struct frame_level {
	uint64_t left; /* for a map, keys and values: 2 x pairs */
	int is_map;
};

/*
 * The walker.  Every object is decoded from its first byte into one of three
 * shapes: a scalar with `skip` payload bytes after its header, a str/bin of
 * `skip` bytes, or a container of `count` children.  All lengths are checked
 * against the bytes left before pos moves, so pos never passes n.
 */
int
frame_validate(const uint8_t *p, size_t n, const char **why)
{
	struct frame_level st[PROTO_MAX_DEPTH];
	size_t depth = 0, pos = 0;
	uint64_t nobj = 0;

	if (n == 0) {
		*why = "empty payload";
		return -1;
	}
	if (n > PROTO_MAX_FRAME) {
		*why = "payload too large";
		return -1;
	}
	do {
		uint8_t b;
		size_t hdr = 1;     /* header bytes, including b */
		uint64_t skip = 0;  /* payload bytes after the header */
		uint64_t count = 0; /* children, for containers */
		int container = 0, is_map = 0, is_str = 0, is_key = 0;
		size_t left;

		if (pos >= n) {
			*why = "truncated payload";
			return -1;
		}
		if (depth > 0) {
			struct frame_level *top = &st[depth - 1];

			/* in a map, an even number of objects left means a key comes next */
			is_key = top->is_map && top->left % 2 == 0;
			top->left--;
		}
		if (++nobj > PROTO_MAX_ELEMENTS) {
			*why = "too many objects";
			return -1;
		}
		b = p[pos];
		if (b <= 0x7f || b >= 0xe0) {
			/* positive / negative fixint */
		} else if (b <= 0x8f) {
			container = is_map = 1;
			count = b & 0x0f;
		} else if (b <= 0x9f) {
			container = 1;
			count = b & 0x0f;
		} else if (b <= 0xbf) {
			is_str = 1;
			skip = b & 0x1f;
		} else {
			switch (b) {
			case 0xc0: /* nil */
			case 0xc2: /* false */
			case 0xc3: /* true */
				break;
			case 0xc4: /* bin 8/16/32 */
			case 0xc5:
			case 0xc6:
			case 0xd9: /* str 8/16/32 */
			case 0xda:
			case 0xdb:
				is_str = 1;
				hdr = 1 + ((size_t)1 << ((b <= 0xc6 ? b - 0xc4 : b - 0xd9)));
				break;
			case 0xca: /* float 32/64 */
				skip = 4;
				break;
			case 0xcb:
				skip = 8;
				break;
			case 0xcc: /* uint 8..64 */
			case 0xcd:
			case 0xce:
			case 0xcf:
				skip = (uint64_t)1 << (b - 0xcc);
				break;
			case 0xd0: /* int 8..64 */
			case 0xd1:
			case 0xd2:
			case 0xd3:
				skip = (uint64_t)1 << (b - 0xd0);
				break;
			case 0xdc: /* array 16/32 */
				container = 1;
				hdr = 3;
				break;
			case 0xdd:
				container = 1;
				hdr = 5;
				break;
			case 0xde: /* map 16/32 */
				container = is_map = 1;
				hdr = 3;
				break;
			case 0xdf:
				container = is_map = 1;
				hdr = 5;
				break;
			case 0xc1:
				*why = "reserved msgpack byte 0xc1";
				return -1;
			default: /* 0xc7-0xc9 ext, 0xd4-0xd8 fixext */
				*why = "msgpack ext types are not used by this protocol";
				return -1;
			}
		}
		if (n - pos < hdr) {
			*why = "truncated payload";
			return -1;
		}
		if (hdr > 1) {
			/* the length or count that follows b */
			if (is_str)
				skip = frame_be(p + pos + 1, hdr - 1);
			else
				count = frame_be(p + pos + 1, hdr - 1);
		}
		pos += hdr;
		left = n - pos;
		if (depth == 0 && !is_map) {
			*why = "payload is not a map";
			return -1;
		}
		if (is_key && !is_str) {
			*why = "map key is not a string";
			return -1;
		}
		if (is_key && b >= 0xc4 && b <= 0xc6) {
			*why = "map key is not a string";
			return -1;
		}
		if (is_str && skip > PROTO_MAX_STR) {
			*why = "string too long";
			return -1;
		}
		if (skip > left) {
			*why = "length larger than the bytes left";
			return -1;
		}
		pos += (size_t)skip;
		if (container) {
			/* each child takes at least one byte, so a map pair two */
			if (is_map)
				count *= 2;
			if (count > left) {
				*why = "element count larger than the bytes left";
				return -1;
			}
			if (depth >= PROTO_MAX_DEPTH) {
				*why = "nesting too deep";
				return -1;
			}
			if (count > 0) {
				st[depth].left = count;
				st[depth].is_map = is_map;
				depth++;
			}
		}
		/* close every container whose last child this was */
		while (depth > 0 && st[depth - 1].left == 0)
			depth--;
	} while (depth > 0);
	if (pos != n) {
		*why = "trailing bytes after the map";
		return -1;
	}
	return 0;
}

static void frame_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
frame_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const struct {
	const char *name;
	enum msg_type type;
} frame_types[] = {
    {"hello", MSG_HELLO}, {"snapshot", MSG_SNAPSHOT}, {"ack", MSG_ACK},
    {"query", MSG_QUERY}, {"reply", MSG_REPLY},       {"error", MSG_ERROR},
};

/*
 * The payload is copied into the zone before unpacking: msgpack_unpack()
 * leaves str/bin objects pointing into its input, and the caller's buffer
 * (an evbuffer) may go away before the document does.  The zone then holds
 * n bytes plus at most PROTO_MAX_ELEMENTS msgpack_objects.
 */
int
proto_doc_unpack(const uint8_t *p, size_t n, struct proto_doc *doc, char *err, size_t errlen)
{
	const msgpack_object *t;
	msgpack_unpack_return r;
	const char *why;
	char *copy;
	size_t off = 0, i;
	int rc;

	memset(doc, 0, sizeof(*doc));
	if (frame_validate(p, n, &why) == -1) {
		frame_seterr(err, errlen, "bad frame: %s", why);
		return -1;
	}
	if (!msgpack_zone_init(&doc->zone, MSGPACK_ZONE_CHUNK_SIZE)) {
		frame_seterr(err, errlen, "out of memory");
		return -1;
	}
	if ((copy = msgpack_zone_malloc_no_align(&doc->zone, n)) == NULL) {
		msgpack_zone_destroy(&doc->zone);
		memset(doc, 0, sizeof(*doc));
		frame_seterr(err, errlen, "out of memory");
		return -1;
	}
	memcpy(copy, p, n);
	r = msgpack_unpack(copy, n, &off, &doc->zone, &doc->root);
	if (r != MSGPACK_UNPACK_SUCCESS || off != n || doc->root.type != MSGPACK_OBJECT_MAP) {
		msgpack_zone_destroy(&doc->zone);
		memset(doc, 0, sizeof(*doc));
		frame_seterr(err, errlen, "bad frame: %s",
		             r == MSGPACK_UNPACK_NOMEM_ERROR ? "out of memory" : "msgpack error");
		return -1;
	}
	doc->live = 1;

	rc = mp_get_unique(&doc->root, "type", &t);
	if (rc != 0 || t->type != MSGPACK_OBJECT_STR) {
		frame_seterr(err, errlen, "bad frame: type: %s",
		             rc == 1    ? "missing"
		             : rc == -1 ? "duplicate key"
		                        : "expected string");
		proto_doc_free(doc);
		return -1;
	}
	doc->type = MSG_UNKNOWN;
	for (i = 0; i < sizeof(frame_types) / sizeof(frame_types[0]); i++)
		if (mp_str_eq(t, frame_types[i].name))
			doc->type = frame_types[i].type;
	return 0;
}

/* Safe on a zeroed or already freed document. */
void
proto_doc_free(struct proto_doc *doc)
{
	if (doc->live)
		msgpack_zone_destroy(&doc->zone);
	memset(doc, 0, sizeof(*doc));
}
