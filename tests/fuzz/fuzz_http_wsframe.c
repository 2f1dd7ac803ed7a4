/* A byte stream cut into chunks → frame parser and message assembler, as a
 * server (first byte even) or a client.  Byte 1 seeds the chunk sizes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/wsframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSG 4096

static uint8_t msg[MAX_MSG];
static size_t msg_len;
static bool in_msg;

static int on_data(void *arg, const uint8_t *p, size_t n, bool binary, bool first, bool fin)
{
	(void)arg;
	(void)binary;
	if (first != !in_msg)
		abort(); /* first exactly once per message */
	if (first)
		msg_len = 0;
	if (n > MAX_MSG - msg_len)
		abort(); /* the parser enforces max_message */
	memcpy(msg + msg_len, p, n);
	msg_len += n;
	in_msg = !fin;
	if (fin)
		(void)wims_ws_utf8_valid(msg, msg_len);
	return 0;
}

static int on_control(void *arg, uint8_t op, const uint8_t *p, size_t n)
{
	uint16_t code;
	struct wims_str reason;

	(void)arg;
	if (n > 125 || op < 8 || op > 10)
		abort();
	if (op == WIMS_WS_OP_CLOSE)
		(void)!wims_ws_close_parse(p, n, &code, &reason);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct wims_ws_parser_cb cb = {on_data, on_control, NULL};
	struct wims_ws_parser p;
	uint32_t seed;
	size_t off = 2;
	int rc = 0;

	if (size < 2)
		return 0;
	seed = data[1] * 2654435761u + 1;
	in_msg = false;
	wims_ws_parser_init(&p, !(data[0] & 1), MAX_MSG, &cb);
	while (off < size && rc == 0) {
		seed = seed * 1103515245u + 12345u;
		size_t k = 1 + (seed >> 16) % 300;
		if (k > size - off)
			k = size - off;
		rc = wims_ws_parser_feed(&p, data + off, k);
		off += k;
	}
	if (rc != 0 && rc != WIMS_WS_CLOSE_PROTOCOL && rc != WIMS_WS_CLOSE_TOO_BIG)
		abort();
	if (rc != 0 && !p.err)
		abort();
	/* round trip: encode what we can and parse it back */
	{
		uint8_t frame[64 + WIMS_WS_MAX_FRAME_HEADER];
		static const uint8_t mask[4] = {1, 2, 3, 4};
		struct wims_wbuf b;
		size_t n = size < 64 ? size : 64;
		wims_wbuf_init(&b, (char *)frame, sizeof(frame));
		wims_ws_frame_build(&b, true, WIMS_WS_OP_BINARY, data, n, mask);
		in_msg = false;
		wims_ws_parser_init(&p, true, MAX_MSG, &cb);
		if (b.err || wims_ws_parser_feed(&p, frame, b.len) != 0 || msg_len != n ||
		    memcmp(msg, data, n))
			abort();
	}
	return 0;
}
