/* RFC 4867 AMR / AMR-WB RTP payload <-> storage-format frames.
 *
 * Bandwidth-efficient (§4.3): everything is a bit stream, padded at the end
 *   | CMR (4) | F FT(4) Q | F FT(4) Q | ... | frame 1 bits | frame 2 bits | ... | P |
 * Octet-aligned (§4.4, no CRC, no interleaving):
 *   | CMR (4) R R R R | F FT(4) Q P P | ... | frame 1 (padded to an octet) | ... |
 * Storage format (§5.3), one frame:
 *   | P FT(4) Q P P | speech bits, MSB first, padded to an octet |
 * A ToC entry with F=1 is followed by another; F=0 ends the table.  NO_DATA
 * (15) and AMR-WB SPEECH_LOST (14) carry no bits.  Speech bits are copied in
 * the order they arrive (d(0) first), which is the order of both formats. */
#include "codec/amr.h"

#include <errno.h>
#include <string.h>

/* RFC 4867 §4.3.2: FT 9-14 (AMR) and 10-13 (AMR-WB) are not used in the
 * payload; a packet with one SHOULD be discarded. */
static const int16_t nb_bits[16] = {95, 103, 118, 134, 148, 159, 204, 244, 39, -1, -1, -1, -1, -1, -1, 0};
static const int16_t wb_bits[16] = {132, 177, 253, 285, 317, 365, 397, 461, 477, 40, -1, -1, -1, -1, 0, 0};

int wims_amr_frame_bits(enum wims_amr_kind k, unsigned ft)
{
	if (ft > 15)
		return -1;
	return k == WIMS_AMR_WB ? wb_bits[ft] : nb_bits[ft];
}

/* A bounded bit cursor: every read asks for n bits and fails if fewer remain. */
struct bitrd {
	const uint8_t *p;
	size_t nbits, pos;
};

static int br_get(struct bitrd *b, unsigned n, unsigned *v)
{
	unsigned x = 0;

	if (n > b->nbits - b->pos)
		return -EBADMSG;
	for (unsigned i = 0; i < n; i++, b->pos++)
		x = (x << 1) | ((b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1u);
	*v = x;
	return 0;
}

struct bitwr {
	uint8_t *p;
	size_t pos;
};

/* The caller has checked the room; bytes are zeroed as they are entered. */
static void bw_put(struct bitwr *w, unsigned n, unsigned v)
{
	while (n--) {
		if ((w->pos & 7) == 0)
			w->p[w->pos >> 3] = 0;
		w->p[w->pos >> 3] |= (uint8_t)(((v >> n) & 1u) << (7 - (w->pos & 7)));
		w->pos++;
	}
}

struct toc {
	uint8_t ft;
	bool q;
	unsigned bits;
};

static size_t storage_len(unsigned bits)
{
	return 1 + (bits + 7) / 8;
}

/* Clear the padding bits after `bits` in the last octet of a frame. */
static void clear_pad(uint8_t *data, unsigned bits)
{
	if (bits & 7)
		data[bits / 8] &= (uint8_t)(0xff00u >> (bits & 7));
}

static int toc_entry(enum wims_amr_kind k, unsigned ft, bool q, struct toc *t)
{
	int bits = wims_amr_frame_bits(k, ft);

	if (bits < 0)
		return -EBADMSG; /* reserved frame type */
	t->ft = (uint8_t)ft;
	t->q = q;
	t->bits = (unsigned)bits;
	return 0;
}

/* Claim room in out for one storage frame and write its header. */
static int out_frame(const struct toc *t, uint8_t *out, size_t cap, size_t *pos, size_t *off, size_t *flen)
{
	size_t need = storage_len(t->bits);

	if (need > cap - *pos)
		return -ENOSPC;
	*off = *pos;
	*flen = need;
	out[*pos] = (uint8_t)((t->ft << 3) | (t->q ? 4 : 0));
	*pos += need;
	return 0;
}

static int unpack_be(enum wims_amr_kind k, const uint8_t *pl, size_t len, uint8_t *cmr, uint8_t *out,
		     size_t cap, size_t *off, size_t *flen)
{
	struct bitrd b = {pl, len * 8, 0};
	struct toc toc[WIMS_AMR_MAX_FRAMES];
	unsigned v, n = 0;
	size_t pos = 0;
	int rc;

	if (br_get(&b, 4, &v))
		return -EBADMSG;
	*cmr = (uint8_t)v;
	do {
		if (n == WIMS_AMR_MAX_FRAMES || br_get(&b, 6, &v))
			return -EBADMSG;
		rc = toc_entry(k, (v >> 1) & 15, v & 1, &toc[n++]);
		if (rc)
			return rc;
	} while (v & 0x20);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *d;

		rc = out_frame(&toc[i], out, cap, &pos, &off[i], &flen[i]);
		if (rc)
			return rc;
		if (toc[i].bits > b.nbits - b.pos)
			return -EBADMSG; /* truncated speech data */
		d = out + off[i] + 1;
		for (unsigned j = 0; j < toc[i].bits; j += 8) {
			unsigned nb = toc[i].bits - j < 8 ? toc[i].bits - j : 8;

			(void)br_get(&b, nb, &v);
			d[j / 8] = (uint8_t)(v << (8 - nb));
		}
	}
	/* §4.3: only zero to seven padding bits may follow the last frame. */
	if (b.nbits - b.pos >= 8)
		return -EBADMSG;
	return (int)n;
}

static int unpack_oa(enum wims_amr_kind k, const uint8_t *pl, size_t len, uint8_t *cmr, uint8_t *out,
		     size_t cap, size_t *off, size_t *flen)
{
	struct toc toc[WIMS_AMR_MAX_FRAMES];
	unsigned n = 0;
	size_t at = 1, pos = 0;
	uint8_t t;
	int rc;

	if (len < 1)
		return -EBADMSG;
	*cmr = pl[0] >> 4; /* the four R bits are ignored */
	do {
		if (n == WIMS_AMR_MAX_FRAMES || at >= len)
			return -EBADMSG;
		t = pl[at++];
		rc = toc_entry(k, (t >> 3) & 15, (t >> 2) & 1, &toc[n++]);
		if (rc)
			return rc;
	} while (t & 0x80);
	for (unsigned i = 0; i < n; i++) {
		size_t nbytes = (toc[i].bits + 7) / 8;

		rc = out_frame(&toc[i], out, cap, &pos, &off[i], &flen[i]);
		if (rc)
			return rc;
		if (nbytes > len - at)
			return -EBADMSG;
		memcpy(out + off[i] + 1, pl + at, nbytes);
		clear_pad(out + off[i] + 1, toc[i].bits);
		at += nbytes;
	}
	if (at != len)
		return -EBADMSG; /* trailing octets: not this payload format */
	return (int)n;
}

int wims_amr_unpack(const struct wims_amr_params *p, const uint8_t *payload, size_t len, uint8_t *cmr,
		    uint8_t *out, size_t cap, size_t off[WIMS_AMR_MAX_FRAMES],
		    size_t flen[WIMS_AMR_MAX_FRAMES])
{
	if (p->octet_align)
		return unpack_oa(p->kind, payload, len, cmr, out, cap, off, flen);
	return unpack_be(p->kind, payload, len, cmr, out, cap, off, flen);
}

static int pack_tocs(const struct wims_amr_params *p, const uint8_t *const frames[], const size_t flen[],
		     unsigned n, struct toc *toc)
{
	for (unsigned i = 0; i < n; i++) {
		if (flen[i] < 1 || !frames[i])
			return -EINVAL;
		if (toc_entry(p->kind, (frames[i][0] >> 3) & 15, (frames[i][0] >> 2) & 1, &toc[i]))
			return -EINVAL;
		if (flen[i] < storage_len(toc[i].bits))
			return -EINVAL;
	}
	return 0;
}

static int pack_be(const struct toc *toc, uint8_t cmr, const uint8_t *const frames[], unsigned n,
		   uint8_t *out, size_t cap)
{
	struct bitwr w = {out, 0};
	size_t bits = 4 + 6 * (size_t)n;

	for (unsigned i = 0; i < n; i++)
		bits += toc[i].bits;
	if ((bits + 7) / 8 > cap)
		return -ENOSPC;
	bw_put(&w, 4, cmr);
	for (unsigned i = 0; i < n; i++)
		bw_put(&w, 6, (i + 1 < n ? 0x20u : 0) | (unsigned)toc[i].ft << 1 | (toc[i].q ? 1u : 0));
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *d = frames[i] + 1;

		for (unsigned j = 0; j < toc[i].bits; j += 8) {
			unsigned nb = toc[i].bits - j < 8 ? toc[i].bits - j : 8;

			bw_put(&w, nb, (unsigned)d[j / 8] >> (8 - nb));
		}
	}
	if (w.pos & 7)
		bw_put(&w, 8 - (w.pos & 7), 0);
	return (int)(w.pos / 8);
}

static int pack_oa(const struct toc *toc, uint8_t cmr, const uint8_t *const frames[], unsigned n,
		   uint8_t *out, size_t cap)
{
	size_t len = 1 + (size_t)n, at;

	for (unsigned i = 0; i < n; i++)
		len += (toc[i].bits + 7) / 8;
	if (len > cap)
		return -ENOSPC;
	out[0] = (uint8_t)(cmr << 4);
	for (unsigned i = 0; i < n; i++)
		out[1 + i] = (uint8_t)((i + 1 < n ? 0x80 : 0) | toc[i].ft << 3 | (toc[i].q ? 4 : 0));
	at = 1 + (size_t)n;
	for (unsigned i = 0; i < n; i++) {
		size_t nbytes = (toc[i].bits + 7) / 8;

		memcpy(out + at, frames[i] + 1, nbytes);
		clear_pad(out + at, toc[i].bits);
		at += nbytes;
	}
	return (int)at;
}

int wims_amr_pack(const struct wims_amr_params *p, uint8_t cmr, const uint8_t *const frames[],
		  const size_t flen[], unsigned n, uint8_t *out, size_t cap)
{
	struct toc toc[WIMS_AMR_MAX_FRAMES];
	int rc;

	if (n < 1 || n > WIMS_AMR_MAX_FRAMES || cmr > 15)
		return -EINVAL;
	rc = pack_tocs(p, frames, flen, n, toc);
	if (rc)
		return rc;
	if (p->octet_align)
		return pack_oa(toc, cmr, frames, n, out, cap);
	return pack_be(toc, cmr, frames, n, out, cap);
}
