/* WebSocket framing, RFC 6455 §5.2:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-------+-+-------------+-------------------------------+
 *  |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *  |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *  |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *  | |1|2|3|       |K|             |                               |
 *  +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *  |     Extended payload length continued, if payload len == 127  |
 *  + - - - - - - - - - - - - - - - +-------------------------------+
 *  |                               |Masking-key, if MASK set to 1  |
 *  +-------------------------------+-------------------------------+
 *  | Masking-key (continued)       |          Payload Data         |
 *  +-------------------------------- - - - - - - - - - - - - - - - +
 *  :                     Payload Data continued ...                :
 *  + - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - +
 *
 * Payload len 0..125 is the length; 126: a 16-bit length follows; 127: a
 * 64-bit length follows (most significant bit 0).  Lengths are network order.
 * Opcodes: 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong; control
 * frames (8..15) carry at most 125 bytes and are never fragmented, but may come
 * between the fragments of a data message (§5.4).
 *
 * The parser keeps at most one frame header (14 bytes) and one control
 * payload (125 bytes) of its own; data payload goes straight to the caller,
 * unmasked through a small stack window, so feeding it never allocates.
 */
#include <string.h>

#include "http/wsframe.h"

#include <errno.h>

int wims_ws_frame_hdr_parse(struct wims_ws_frame *f, const uint8_t *p, size_t n)
{
	size_t need = 2;
	uint8_t l7;

	if (n < 2)
		return -EAGAIN;
	f->fin = (p[0] & 0x80) != 0;
	f->rsv = (uint8_t)((p[0] >> 4) & 0x7);
	f->opcode = p[0] & 0x0f;
	f->masked = (p[1] & 0x80) != 0;
	l7 = p[1] & 0x7f;
	need += (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + (f->masked ? 4 : 0);
	if (n < need)
		return -EAGAIN;
	if (l7 == 126) {
		f->len = (uint64_t)p[2] << 8 | p[3];
		p += 4;
	} else if (l7 == 127) {
		f->len = 0;
		for (int i = 0; i < 8; i++)
			f->len = f->len << 8 | p[2 + i];
		if (f->len >> 63)
			return -EBADMSG;
		p += 10;
	} else {
		f->len = l7;
		p += 2;
	}
	if (f->masked)
		memcpy(f->mask, p, 4);
	else
		memset(f->mask, 0, 4);
	f->hdr_len = need;
	return 0;
}

void wims_ws_parser_init(struct wims_ws_parser *p, bool server, uint64_t max_message,
			 const struct wims_ws_parser_cb *cb)
{
	memset(p, 0, sizeof(*p));
	p->server = server;
	p->max_message = max_message;
	p->cb = *cb;
}

bool wims_ws_parser_busy(const struct wims_ws_parser *p)
{
	return p->hdr_have || p->in_payload || p->msg_active;
}

static int fail(struct wims_ws_parser *p, int code, const char *why)
{
	p->err = why;
	return code;
}

/* The frame header is complete: apply §5.2-§5.5 before any payload. */
static int check_header(struct wims_ws_parser *p)
{
	const struct wims_ws_frame *f = &p->f;
	bool control = f->opcode & 0x8;

	if (f->rsv)
		return fail(p, WIMS_WS_CLOSE_PROTOCOL, "RSV bits set without a negotiated extension");
	if (f->opcode > WIMS_WS_OP_BINARY && f->opcode < WIMS_WS_OP_CLOSE)
		return fail(p, WIMS_WS_CLOSE_PROTOCOL, "unknown data opcode");
	if (f->opcode > WIMS_WS_OP_PONG)
		return fail(p, WIMS_WS_CLOSE_PROTOCOL, "unknown control opcode");
	/* §5.1: a server MUST close on an unmasked client frame, a client on a masked server frame. */
	if (p->server && !f->masked)
		return fail(p, WIMS_WS_CLOSE_PROTOCOL, "unmasked frame from client");
	if (!p->server && f->masked)
		return fail(p, WIMS_WS_CLOSE_PROTOCOL, "masked frame from server");
	if (control) {
		/* §5.5: control frames MUST have a payload of 125 bytes or less and MUST NOT be fragmented.
		 */
		if (!f->fin)
			return fail(p, WIMS_WS_CLOSE_PROTOCOL, "fragmented control frame");
		if (f->len > WIMS_WS_MAX_CONTROL)
			return fail(p, WIMS_WS_CLOSE_PROTOCOL, "control frame longer than 125 bytes");
		return 0;
	}
	if (f->opcode == WIMS_WS_OP_CONT && !p->msg_active)
		return fail(p, WIMS_WS_CLOSE_PROTOCOL, "continuation frame without a message");
	if (f->opcode != WIMS_WS_OP_CONT && p->msg_active)
		return fail(p, WIMS_WS_CLOSE_PROTOCOL, "new data frame inside a fragmented message");
	if (f->opcode != WIMS_WS_OP_CONT) {
		p->msg_active = true;
		p->msg_first = true;
		p->msg_binary = f->opcode == WIMS_WS_OP_BINARY;
		p->msg_len = 0;
	}
	if (f->len > p->max_message - p->msg_len)
		return fail(p, WIMS_WS_CLOSE_TOO_BIG, "message larger than the limit");
	p->msg_len += f->len;
	return 0;
}

static int emit_data(struct wims_ws_parser *p, const uint8_t *d, size_t n, bool last)
{
	bool first = p->msg_first, fin = last && p->f.fin;

	p->msg_first = false;
	if (fin)
		p->msg_active = false;
	return p->cb.data(p->cb.arg, d, n, p->msg_binary, first, fin);
}

/* Data payload bytes: unmask through a stack window and hand them on. */
static int data_bytes(struct wims_ws_parser *p, const uint8_t *in, size_t n)
{
	uint8_t win[512];
	int rc;

	while (n) {
		size_t k = n < sizeof(win) ? n : sizeof(win);
		memcpy(win, in, k);
		wims_ws_mask(win, k, p->f.mask, p->done);
		p->done += k;
		in += k;
		n -= k;
		if ((rc = emit_data(p, win, k, p->done == p->f.len)) != 0)
			return rc;
	}
	return 0;
}

static int frame_end(struct wims_ws_parser *p)
{
	p->in_payload = false;
	p->hdr_have = 0;
	if (p->f.opcode & 0x8) {
		wims_ws_mask(p->ctl, (size_t)p->f.len, p->f.mask, 0);
		return p->cb.control(p->cb.arg, p->f.opcode, p->ctl, (size_t)p->f.len);
	}
	if (p->f.len == 0)
		return emit_data(p, p->ctl, 0, true);
	return 0;
}

/* Read header bytes one frame at a time; returns bytes used or a close code (negated). */
static int header_bytes(struct wims_ws_parser *p, const uint8_t *in, size_t n, size_t *used)
{
	size_t k = WIMS_WS_MAX_FRAME_HEADER - p->hdr_have;
	int rc;

	if (k > n)
		k = n;
	memcpy(p->hdr + p->hdr_have, in, k);
	rc = wims_ws_frame_hdr_parse(&p->f, p->hdr, p->hdr_have + k);
	if (rc == -EAGAIN) {
		p->hdr_have = (uint8_t)(p->hdr_have + k);
		*used = k;
		return 0;
	}
	if (rc)
		return fail(p, WIMS_WS_CLOSE_PROTOCOL, "64-bit payload length with the top bit set");
	*used = p->f.hdr_len - p->hdr_have;
	p->hdr_have = (uint8_t)p->f.hdr_len;
	if ((rc = check_header(p)) != 0)
		return rc;
	p->in_payload = true;
	p->done = 0;
	return 0;
}

int wims_ws_parser_feed(struct wims_ws_parser *p, const uint8_t *in, size_t len)
{
	int rc;

	while (len || (p->in_payload && p->done == p->f.len)) {
		if (!p->in_payload) {
			size_t used = 0;
			if ((rc = header_bytes(p, in, len, &used)) != 0)
				return rc;
			in += used;
			len -= used;
			continue;
		}
		size_t want = p->f.len - p->done < len ? (size_t)(p->f.len - p->done) : len;
		if (p->f.opcode & 0x8) {
			memcpy(p->ctl + p->done, in, want);
			p->done += want;
		} else if (want && (rc = data_bytes(p, in, want)) != 0) {
			return rc;
		}
		in += want;
		len -= want;
		if (p->done == p->f.len && (rc = frame_end(p)) != 0)
			return rc;
	}
	return 0;
}

void wims_ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		p[i] ^= mask[(off + i) & 3];
}

size_t wims_ws_frame_hdr_encode(uint8_t out[WIMS_WS_MAX_FRAME_HEADER], bool fin, uint8_t opcode, uint64_t len,
				const uint8_t *mask)
{
	size_t n = 2;

	out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
	out[1] = mask ? 0x80 : 0;
	if (len < 126) {
		out[1] |= (uint8_t)len;
	} else if (len <= 0xffff) {
		out[1] |= 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		n = 4;
	} else {
		out[1] |= 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	if (mask) {
		memcpy(out + n, mask, 4);
		n += 4;
	}
	return n;
}

void wims_ws_frame_build(struct wims_wbuf *b, bool fin, uint8_t opcode, const void *payload, size_t len,
			 const uint8_t *mask)
{
	uint8_t h[WIMS_WS_MAX_FRAME_HEADER];
	size_t start;

	wims_wbuf_put(b, h, wims_ws_frame_hdr_encode(h, fin, opcode, len, mask));
	start = b->len;
	wims_wbuf_put(b, payload, len);
	if (!b->err && mask)
		wims_ws_mask((uint8_t *)b->p + start, len, mask, 0);
}

bool wims_ws_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c;
		size_t k;
		uint32_t cp, min;

		/* SIP is nearly all ASCII: skip 8 bytes at a time while no high bit is set */
		while (n - i >= 8) {
			uint64_t w;
			memcpy(&w, p + i, 8);
			if (w & 0x8080808080808080ULL)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			k = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

bool wims_ws_close_code_valid(unsigned code)
{
	/* §7.4.1/§7.4.2 and the IANA registry: 1004-1006 and 1015 are reserved, never sent. */
	if (code >= 3000 && code <= 4999)
		return true;
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

int wims_ws_close_parse(const uint8_t *p, size_t n, uint16_t *code, struct wims_str *reason)
{
	*code = WIMS_WS_CLOSE_NO_STATUS;
	*reason = wims_str_make((const char *)p, 0);
	if (n == 0)
		return 0;
	if (n == 1)
		return -EBADMSG;
	*code = (uint16_t)(p[0] << 8 | p[1]);
	if (!wims_ws_close_code_valid(*code))
		return -EBADMSG;
	if (!wims_ws_utf8_valid(p + 2, n - 2))
		return -EBADMSG;
	*reason = wims_str_make((const char *)p + 2, n - 2);
	return 0;
}
