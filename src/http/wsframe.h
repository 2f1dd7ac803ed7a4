/* WebSocket frames (RFC 6455 §5): a resumable, allocation-free parser that
 * assembles messages through callbacks, and encoders for server (unmasked)
 * and client (masked) frames. */
#ifndef WIMS_HTTP_WSFRAME_H
#define WIMS_HTTP_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"
#include "http/limits.h"

enum wims_ws_opcode {
	WIMS_WS_OP_CONT = 0x0,
	WIMS_WS_OP_TEXT = 0x1,
	WIMS_WS_OP_BINARY = 0x2,
	WIMS_WS_OP_CLOSE = 0x8,
	WIMS_WS_OP_PING = 0x9,
	WIMS_WS_OP_PONG = 0xa,
};

/* RFC 6455 §7.4.1 status codes used here. */
enum wims_ws_close_code {
	WIMS_WS_CLOSE_NORMAL = 1000,
	WIMS_WS_CLOSE_GOING_AWAY = 1001,
	WIMS_WS_CLOSE_PROTOCOL = 1002,
	WIMS_WS_CLOSE_UNSUPPORTED = 1003,
	WIMS_WS_CLOSE_NO_STATUS = 1005, /* never sent: "the Close had no code" */
	WIMS_WS_CLOSE_ABNORMAL = 1006,	/* never sent: "the TCP connection dropped" */
	WIMS_WS_CLOSE_INVALID_DATA = 1007,
	WIMS_WS_CLOSE_POLICY = 1008,
	WIMS_WS_CLOSE_TOO_BIG = 1009,
	WIMS_WS_CLOSE_INTERNAL = 1011,
};

#define WIMS_WS_MAX_FRAME_HEADER 14

/** One frame header as it was on the wire. */
struct wims_ws_frame {
	bool fin;
	uint8_t rsv; /* the three RSV bits, right-aligned */
	uint8_t opcode;
	bool masked;
	uint8_t mask[4];
	uint64_t len;	/* payload length */
	size_t hdr_len; /* 2..14 */
};

/**
 * Parse a frame header from p[0..n).  0 and f filled; -EAGAIN when more
 * bytes are needed; -EBADMSG when the 64-bit length has its top bit set.
 * Nothing else is checked here (see wims_ws_parser_feed for the rules).
 */
int wims_ws_frame_hdr_parse(struct wims_ws_frame *f, const uint8_t *p, size_t n)
    __attribute__((warn_unused_result));

struct wims_ws_parser_cb {
	/** Unmasked bytes of the current data message, in order.  first on the
	 *  message's first call, fin on its last (an empty message gets one call
	 *  with n == 0).  p is only valid during the call.  Return 0 to go on; any
	 *  other value stops the parser, which returns it. */
	int (*data)(void *arg, const uint8_t *p, size_t n, bool binary, bool first, bool fin);
	/** A whole control frame (Close, Ping, Pong), payload unmasked, ≤ 125 bytes. */
	int (*control)(void *arg, uint8_t opcode, const uint8_t *p, size_t n);
	void *arg;
};

/** Parser state: about 200 bytes, no heap. */
struct wims_ws_parser {
	struct wims_ws_parser_cb cb;
	uint64_t max_message;
	bool server; /* frames from clients must be masked, from servers must not */
	uint8_t hdr_have;
	bool in_payload;
	bool msg_binary;
	bool msg_active; /* a fragmented message is in progress */
	bool msg_first;	 /* its first data call has not happened yet */
	uint8_t hdr[WIMS_WS_MAX_FRAME_HEADER];
	struct wims_ws_frame f;
	uint64_t done;	  /* payload bytes of f consumed */
	uint64_t msg_len; /* bytes of the current message so far, all frames */
	const char *err;  /* why the parser failed */
	uint8_t ctl[WIMS_WS_MAX_CONTROL];
};

/** Prepare p; server true to parse frames from clients.  max_message bounds one assembled message. */
void wims_ws_parser_init(struct wims_ws_parser *p, bool server, uint64_t max_message,
			 const struct wims_ws_parser_cb *cb);

/**
 * Feed len bytes (any split).  Returns 0 when all were consumed; a close code
 * (1002 protocol error, 1009 message too big) when the stream broke a rule,
 * with p->err naming it, after which p must not be fed again; or the non-zero
 * value a callback returned.
 */
int wims_ws_parser_feed(struct wims_ws_parser *p, const uint8_t *in, size_t len)
    __attribute__((warn_unused_result));

/** Whether a message is half-assembled or a frame half-read (for idle memory accounting). */
bool wims_ws_parser_busy(const struct wims_ws_parser *p);

/** XOR p with mask, starting at payload offset off (RFC 6455 §5.3). */
void wims_ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off);

/** A frame header into out; mask NULL for a server frame.  Returns its length. */
size_t wims_ws_frame_hdr_encode(uint8_t out[WIMS_WS_MAX_FRAME_HEADER], bool fin, uint8_t opcode, uint64_t len,
				const uint8_t *mask);

/** A whole frame into b (payload copied, masked when mask is non-NULL). */
void wims_ws_frame_build(struct wims_wbuf *b, bool fin, uint8_t opcode, const void *payload, size_t len,
			 const uint8_t *mask);

/** Whether p[0..n) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool wims_ws_utf8_valid(const uint8_t *p, size_t n);

/** Whether code may appear in a Close frame on the wire (RFC 6455 §7.4). */
bool wims_ws_close_code_valid(unsigned code);

/**
 * Read a Close payload: code 1005 and empty reason when there is none.
 * -EBADMSG for a 1-byte payload, a code not allowed on the wire, or a reason
 * that is not UTF-8 (RFC 6455 §5.5.1, §7.4).
 */
int wims_ws_close_parse(const uint8_t *p, size_t n, uint16_t *code, struct wims_str *reason)
    __attribute__((warn_unused_result));

#endif
