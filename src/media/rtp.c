/* RTP and RTCP packet handling.
 *
 * RTP fixed header (RFC 3550 §5.1):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                             SSRC                              |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |                  CSRC list (CC x 32 bits)                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  profile (0xBEDE, 0x100x)    |     length (32-bit words)     |   if X
 * |                  extension data (length x 4)                  |
 *
 * RTCP common header (RFC 3550 §6.4):
 * |V=2|P| RC/FMT  |      PT       |         length (words - 1)    |
 * |                   SSRC of packet sender                       |
 */
#include "media/rtp.h"

#include <errno.h>
#include <string.h>

/* Bounded big-endian reads: callers check the range first. */
static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int wims_rtp_parse(struct wims_rtp_hdr *h, const uint8_t *p, size_t len)
{
	size_t off, pad = 0;

	memset(h, 0, sizeof(*h));
	if (!p || len < WIMS_RTP_HDR_MIN || (p[0] >> 6) != 2)
		return -EBADMSG;
	h->version = 2;
	h->padding = (p[0] & 0x20) != 0;
	h->ext = (p[0] & 0x10) != 0;
	h->cc = p[0] & 0x0f;
	h->marker = (p[1] & 0x80) != 0;
	h->pt = p[1] & 0x7f;
	h->seq = rd16(p + 2);
	h->ts = rd32(p + 4);
	h->ssrc = rd32(p + 8);
	off = WIMS_RTP_HDR_MIN + (size_t)h->cc * 4;
	if (off > len)
		return -EBADMSG; /* CSRC list beyond the packet */
	if (h->ext) {
		if (len - off < 4)
			return -EBADMSG;
		h->ext_off = off;
		h->ext_len = (size_t)rd16(p + off + 2) * 4;
		off += 4;
		if (h->ext_len > len - off)
			return -EBADMSG; /* extension beyond the packet */
		off += h->ext_len;
	}
	h->hdr_len = off;
	if (h->padding) {
		/* RFC 3550 §5.1: the last octet counts the padding, itself included. */
		pad = p[len - 1];
		if (pad == 0 || pad > len - off)
			return -EBADMSG;
	}
	h->payload_len = len - off - pad;
	return 0;
}

enum wims_pkt_kind wims_pkt_classify(const uint8_t *p, size_t len)
{
	uint8_t b;

	if (!p || len == 0)
		return WIMS_PKT_UNKNOWN;
	b = p[0];
	if (b <= 3)
		return len >= 20 ? WIMS_PKT_STUN : WIMS_PKT_UNKNOWN;
	if (b >= 16 && b <= 19)
		return len >= 12 ? WIMS_PKT_ZRTP : WIMS_PKT_UNKNOWN;
	if (b >= 20 && b <= 63)
		return len >= 13 ? WIMS_PKT_DTLS : WIMS_PKT_UNKNOWN;
	if (b >= 64 && b <= 79)
		return len >= 4 ? WIMS_PKT_TURN : WIMS_PKT_UNKNOWN;
	if (b >= 128 && b <= 191) {
		if (len < 2)
			return WIMS_PKT_UNKNOWN;
		/* RFC 5761 §4: payload types 64..95 (marker masked) are RTCP 192..223. */
		uint8_t pt = p[1] & 0x7f;
		if (pt >= 64 && pt <= 95)
			return len >= WIMS_RTCP_HDR_MIN ? WIMS_PKT_RTCP : WIMS_PKT_UNKNOWN;
		return len >= WIMS_RTP_HDR_MIN ? WIMS_PKT_RTP : WIMS_PKT_UNKNOWN;
	}
	return WIMS_PKT_UNKNOWN;
}

size_t wims_rtp_strip_ext(uint8_t *p, size_t len)
{
	struct wims_rtp_hdr h;
	size_t ext_total;

	if (wims_rtp_parse(&h, p, len) != 0 || !h.ext)
		return len;
	ext_total = 4 + h.ext_len;
	memmove(p + h.ext_off, p + h.ext_off + ext_total, len - h.ext_off - ext_total);
	p[0] &= (uint8_t)~0x10;
	return len - ext_total;
}

void wims_rtp_set_pt(uint8_t *p, uint8_t pt)
{
	p[1] = (uint8_t)((p[1] & 0x80) | (pt & 0x7f));
}

void wims_rtp_set_ssrc(uint8_t *p, uint32_t ssrc)
{
	wr32(p + 8, ssrc);
}

int wims_rtcp_next(struct wims_rtcp_iter *it, struct wims_rtcp_item *item)
{
	const uint8_t *q;
	size_t left, plen;

	if (it->off >= it->len)
		return 0;
	left = it->len - it->off;
	q = it->p + it->off;
	if (left < 4 || (q[0] >> 6) != 2)
		return -EBADMSG;
	plen = ((size_t)rd16(q + 2) + 1) * 4;
	if (plen > left)
		return -EBADMSG; /* length beyond the compound */
	item->pt = q[1];
	item->count = q[0] & 0x1f;
	item->off = it->off;
	item->len = plen;
	item->ssrc = plen >= 8 ? rd32(q + 4) : 0;
	it->off += plen;
	return 1;
}

/* Which packets a plain RTP/AVP(F) IMS peer gets (see rtp.h). */
static bool rtcp_keep(const struct wims_rtcp_item *it, bool keep_video_fb)
{
	switch (it->pt) {
	case WIMS_RTCP_SR:
	case WIMS_RTCP_RR:
	case WIMS_RTCP_SDES:
	case WIMS_RTCP_BYE:
		return true;
	case WIMS_RTCP_RTPFB:
		if (it->count == 3 || it->count == 4) /* TMMBR, TMMBN (RFC 5104) */
			return true;
		return keep_video_fb && it->count == 1; /* generic NACK */
	case WIMS_RTCP_PSFB:
		return keep_video_fb && (it->count == 1 || it->count == 4); /* PLI, FIR */
	default:
		return false; /* APP, XR, unknown */
	}
}

size_t wims_rtcp_filter(uint8_t *p, size_t len, bool keep_video_fb)
{
	struct wims_rtcp_iter it = {p, len, 0};
	struct wims_rtcp_item item;
	size_t out = 0;
	int rc;

	while ((rc = wims_rtcp_next(&it, &item)) == 1) {
		if (!rtcp_keep(&item, keep_video_fb))
			continue;
		if (out != item.off)
			memmove(p + out, p + item.off, item.len);
		out += item.len;
	}
	return rc < 0 ? 0 : out;
}

/* Report blocks start at rb (count of them, 24 bytes each, inside q[0..plen)). */
static void rtcp_blocks(const uint8_t *rb, size_t avail, unsigned count, uint32_t media_ssrc,
			struct wims_rtcp_report *r)
{
	for (unsigned i = 0; i < count && avail >= 24; i++, rb += 24, avail -= 24) {
		if (rd32(rb) != media_ssrc)
			continue;
		r->has_block = true;
		r->fraction_lost = rb[4];
		r->cum_lost = rd32(rb + 4) & 0xffffff;
		r->jitter = rd32(rb + 12);
		r->lsr = rd32(rb + 16);
		r->dlsr = rd32(rb + 20);
		return;
	}
}

int wims_rtcp_report(const uint8_t *p, size_t len, uint32_t media_ssrc, struct wims_rtcp_report *r)
{
	struct wims_rtcp_iter it = {p, len, 0};
	struct wims_rtcp_item item;
	int rc;

	memset(r, 0, sizeof(*r));
	while ((rc = wims_rtcp_next(&it, &item)) == 1) {
		const uint8_t *q = p + item.off;

		if (item.pt == WIMS_RTCP_SR && item.len >= 28) {
			r->has_sr = true;
			r->sr_ntp = (uint64_t)rd32(q + 8) << 32 | rd32(q + 12);
			r->sr_rtp_ts = rd32(q + 16);
			r->sr_packets = rd32(q + 20);
			r->sr_octets = rd32(q + 24);
			if (!r->has_block)
				rtcp_blocks(q + 28, item.len - 28, item.count, media_ssrc, r);
		} else if (item.pt == WIMS_RTCP_RR && item.len >= 8 && !r->has_block) {
			rtcp_blocks(q + 8, item.len - 8, item.count, media_ssrc, r);
		}
	}
	return rc < 0 ? -EBADMSG : 0;
}

size_t wims_rtcp_build_pli(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
	if (!out || cap < 12)
		return 0;
	out[0] = 0x80 | 1; /* V=2, FMT=1 (PLI) */
	out[1] = WIMS_RTCP_PSFB;
	out[2] = 0;
	out[3] = 2; /* 3 words - 1 */
	wr32(out + 4, sender_ssrc);
	wr32(out + 8, media_ssrc);
	return 12;
}

/* Replace the 32-bit word at q + at (within plen) when it is `from`. */
static unsigned map_at(uint8_t *q, size_t plen, size_t at, uint32_t from, uint32_t to)
{
	if (at + 4 > plen || rd32(q + at) != from)
		return 0;
	wr32(q + at, to);
	return 1;
}

/* SDES chunks (RFC 3550 §6.5): an SSRC, items up to a null item, padding
 * to the next word. */
static unsigned map_sdes(uint8_t *q, size_t plen, unsigned count, uint32_t from, uint32_t to)
{
	unsigned n = 0;
	size_t at = 4;
	for (unsigned c = 0; c < count && at + 4 <= plen; c++) {
		n += map_at(q, plen, at, from, to);
		at += 4;
		while (at < plen && q[at] != 0) { /* type, length, text */
			if (at + 2 > plen)
				return n;
			at += 2 + (size_t)q[at + 1];
		}
		at = (at + 4) & ~(size_t)3; /* the null item and padding */
	}
	return n;
}

/* FCI SSRCs of feedback: FIR (PSFB 4, RFC 5104 §4.3.1), TMMBR/TMMBN (RTPFB
 * 3/4, §4.2), 8 bytes per entry, and REMB's SSRC list (PSFB 15 "REMB"). */
static unsigned map_fci(uint8_t *q, size_t plen, uint8_t pt, uint8_t fmt, uint32_t from, uint32_t to)
{
	unsigned n = 0;
	if ((pt == WIMS_RTCP_PSFB && fmt == 4) || (pt == WIMS_RTCP_RTPFB && (fmt == 3 || fmt == 4))) {
		for (size_t at = 12; at + 8 <= plen; at += 8)
			n += map_at(q, plen, at, from, to);
	} else if (pt == WIMS_RTCP_PSFB && fmt == 15 && plen >= 20 && memcmp(q + 12, "REMB", 4) == 0) {
		size_t num = q[16];
		for (size_t i = 0, at = 20; i < num && at + 4 <= plen; i++, at += 4)
			n += map_at(q, plen, at, from, to);
	}
	return n;
}

static unsigned map_item(uint8_t *q, const struct wims_rtcp_item *it, uint32_t from, uint32_t to)
{
	size_t plen = it->len;
	unsigned n = 0;
	switch (it->pt) {
	case WIMS_RTCP_SR:
	case WIMS_RTCP_RR: {
		size_t rb = it->pt == WIMS_RTCP_SR ? 28 : 8;
		n += map_at(q, plen, 4, from, to);
		for (unsigned i = 0; i < it->count && rb + 24 <= plen; i++, rb += 24)
			n += map_at(q, plen, rb, from, to);
		return n;
	}
	case WIMS_RTCP_SDES:
		return map_sdes(q, plen, it->count, from, to);
	case WIMS_RTCP_BYE:
		for (unsigned i = 0; i < it->count; i++)
			n += map_at(q, plen, 4 + 4 * (size_t)i, from, to);
		return n;
	case WIMS_RTCP_RTPFB:
	case WIMS_RTCP_PSFB:
		n += map_at(q, plen, 4, from, to);
		n += map_at(q, plen, 8, from, to);
		return n + map_fci(q, plen, it->pt, it->count, from, to);
	default: /* APP, XR, unknown: the packet sender only */
		return map_at(q, plen, 4, from, to);
	}
}

unsigned wims_rtcp_map_ssrc(uint8_t *p, size_t len, uint32_t from, uint32_t to)
{
	struct wims_rtcp_iter it = {p, len, 0};
	struct wims_rtcp_item item;
	unsigned n = 0;
	if (!p || from == to)
		return 0;
	while (wims_rtcp_next(&it, &item) == 1)
		n += map_item(p + item.off, &item, from, to);
	return n;
}
