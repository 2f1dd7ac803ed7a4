/* Stream framing under random chunking: the input (after two seed bytes)
 * is one TCP byte stream, delivered in chunks whose sizes come from the
 * seed.  Framing it chunk by chunk with the resumable framer must find the
 * same messages at the same offsets, and fail at the same point, as framing
 * the whole stream at once with wims_sip_stream_frame.  Where framing
 * fails, the answer wims_sip__frame_reply() writes (if any) parses. */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "sip/msg.h"
#include "sip/tp_int.h"

#define MAX_MSGS 256

struct result {
	size_t off[MAX_MSGS], len[MAX_MSGS];
	size_t n;
	int err;
};

static void check(const uint8_t *p, size_t len, long n, size_t skip)
{
	assert(skip % 2 == 0 && skip <= len);
	for (size_t i = 0; i < skip; i++)
		assert(p[i] == (i % 2 ? '\n' : '\r'));
	assert(n == 0 || n == -EBADMSG || (n > 0 && (size_t)n <= len - skip && n <= WIMS_SIP_MAX_MESSAGE));
}

/* The answer to a message that cannot be framed, when there is one, is a
 * response that parses. */
static void reply(const uint8_t *p, size_t len, const char *why)
{
	static struct wims_sip_msg m, rm;
	static char out[WIMS_SIP_MAX_MESSAGE + 128];
	struct wims_wbuf w;
	const char *pwhy;

	/* abort(), not assert(): the checks stay in an NDEBUG build */
	if (!why)
		abort();
	wims_wbuf_init(&w, out, sizeof(out));
	if (wims_sip__frame_reply(&m, (const char *)p, len, why, &w) != 0)
		return;
	if (wims_sip_msg_parse(&rm, w.p, w.len, &pwhy) != 0 || rm.is_request || (rm.status != 400 && rm.status != 513))
		abort();
}

static void whole(const uint8_t *d, size_t size, struct result *r)
{
	size_t off = 0;

	while (r->n < MAX_MSGS) {
		size_t skip;
		struct wims_sip__framer fr = {0};
		long n = wims_sip__frame(&fr, (const char *)d + off, size - off, &skip);
		size_t skip2;
		if (n != wims_sip_stream_frame((const char *)d + off, size - off, &skip2) || skip2 != skip)
			abort();
		check(d + off, size - off, n, skip);
		off += skip;
		if (n < 0) {
			reply(d + off, size - off, fr.why);
			r->err = 1;
			break;
		}
		if (n == 0)
			break;
		r->off[r->n] = off;
		r->len[r->n++] = (size_t)n;
		off += (size_t)n;
	}
}

static uint32_t next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void chunked(const uint8_t *d, size_t size, uint32_t seed, struct result *r)
{
	struct wims_sip__framer fr = {0};
	size_t have = 0, start = 0;

	while (have < size && r->n < MAX_MSGS && !r->err) {
		size_t c = 1 + next(&seed) % (1u << (next(&seed) % 14));
		have = size - have < c ? size : have + c;
		while (r->n < MAX_MSGS) {
			size_t skip;
			long n = wims_sip__frame(&fr, (const char *)d + start, have - start, &skip);
			check(d + start, have - start, n, skip);
			start += skip;
			if (n < 0) {
				r->err = 1;
				break;
			}
			if (n == 0)
				break;
			r->off[r->n] = start;
			r->len[r->n++] = (size_t)n;
			start += (size_t)n;
			memset(&fr, 0, sizeof(fr));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct result a, b;

	if (size < 2)
		return 0;
	uint32_t seed = 0x9e3779b9u ^ ((uint32_t)data[0] << 8 | data[1]);
	data += 2;
	size -= 2;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	whole(data, size, &a);
	chunked(data, size, seed, &b);
	if (a.n < MAX_MSGS && b.n < MAX_MSGS)
		assert(a.err == b.err);
	size_t n = a.n < b.n ? a.n : b.n;
	assert(a.n == b.n || (a.n == MAX_MSGS || b.n == MAX_MSGS));
	for (size_t i = 0; i < n; i++)
		assert(a.off[i] == b.off[i] && a.len[i] == b.len[i]);
	return 0;
}
