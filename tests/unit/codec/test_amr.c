/* RFC 4867 AMR / AMR-WB payloads: hand-built bandwidth-efficient and
 * octet-aligned packets, pack/unpack round trips for every mode, every
 * truncation of valid packets (run under ASan to catch over-reads), a
 * cross-check through the real encoders and decoders, and fmtp. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <opencore-amrnb/interf_dec.h>
#include <opencore-amrnb/interf_enc.h>
#include <opencore-amrwb/dec_if.h>
#include <vo-amrwbenc/enc_if.h>

#include "codec/amr.h"

static const struct wims_amr_params NB_BE = {.kind = WIMS_AMR_NB};
static const struct wims_amr_params NB_OA = {.kind = WIMS_AMR_NB, .octet_align = true};
static const struct wims_amr_params WB_BE = {.kind = WIMS_AMR_WB};
static const struct wims_amr_params WB_OA = {.kind = WIMS_AMR_WB, .octet_align = true};

struct unpacked {
	int n;
	uint8_t cmr;
	uint8_t out[WIMS_AMR_MAX_FRAMES * WIMS_AMR_MAX_STORAGE];
	size_t off[WIMS_AMR_MAX_FRAMES], flen[WIMS_AMR_MAX_FRAMES];
};

/* Unpack from an exact-size heap copy so that ASan sees any over-read. */
static int unpack(const struct wims_amr_params *p, const uint8_t *pl, size_t len, struct unpacked *u)
{
	uint8_t *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	if (len)
		memcpy(copy, pl, len);
	u->n = wims_amr_unpack(p, copy, len, &u->cmr, u->out, sizeof(u->out), u->off, u->flen);
	free(copy);
	return u->n;
}

static void test_frame_bits(void **state)
{
	static const int nb[16] = {95, 103, 118, 134, 148, 159, 204, 244, 39, -1, -1, -1, -1, -1, -1, 0};
	static const int wb[16] = {132, 177, 253, 285, 317, 365, 397, 461, 477, 40, -1, -1, -1, -1, 0, 0};

	(void)state;
	for (unsigned ft = 0; ft < 16; ft++) {
		assert_int_equal(wims_amr_frame_bits(WIMS_AMR_NB, ft), nb[ft]);
		assert_int_equal(wims_amr_frame_bits(WIMS_AMR_WB, ft), wb[ft]);
	}
	assert_int_equal(wims_amr_frame_bits(WIMS_AMR_NB, 16), -1);
}

/* AMR 12.2 (FT 7), speech bits 1010..., no CMR. */
static void nb122_storage(uint8_t f[32])
{
	f[0] = 7 << 3 | 4;
	memset(f + 1, 0xaa, 30);
	f[31] = 0xa0; /* 244 = 30 * 8 + 4 */
}

static void test_nb122_be(void **state)
{
	uint8_t pkt[32], f[32], re[64];
	const uint8_t *fr[1] = {f};
	size_t fl[1] = {32};
	struct unpacked u;

	(void)state;
	/* CMR 1111, ToC 0 0111 1, then the 244 bits shifted by 10, 2 pad bits. */
	pkt[0] = 0xf3;
	pkt[1] = 0xea;
	memset(pkt + 2, 0xaa, 29);
	pkt[31] = 0xa8;
	nb122_storage(f);
	assert_int_equal(unpack(&NB_BE, pkt, sizeof(pkt), &u), 1);
	assert_int_equal(u.cmr, 15);
	assert_int_equal(u.flen[0], 32);
	assert_memory_equal(u.out + u.off[0], f, 32);
	assert_int_equal(wims_amr_pack(&NB_BE, 15, fr, fl, 1, re, sizeof(re)), 32);
	assert_memory_equal(re, pkt, 32);
	assert_int_equal(wims_amr_pack(&NB_BE, 15, fr, fl, 1, re, 31), -ENOSPC);
	/* one octet too many is not padding */
	memcpy(re, pkt, 32);
	re[32] = 0;
	assert_int_equal(unpack(&NB_BE, re, 33, &u), -EBADMSG);
	/* the pad bits are ignored */
	pkt[31] |= 3;
	assert_int_equal(unpack(&NB_BE, pkt, sizeof(pkt), &u), 1);
	assert_memory_equal(u.out + u.off[0], f, 32);
}

static void test_nb122_oa(void **state)
{
	uint8_t pkt[33], f[32], re[64];
	const uint8_t *fr[1] = {f};
	size_t fl[1] = {32};
	struct unpacked u;

	(void)state;
	nb122_storage(f);
	pkt[0] = 0x50; /* CMR 5 (AMR 7.95) */
	pkt[1] = 0x3c; /* F=0 FT=7 Q=1 */
	memcpy(pkt + 2, f + 1, 31);
	assert_int_equal(unpack(&NB_OA, pkt, sizeof(pkt), &u), 1);
	assert_int_equal(u.cmr, 5);
	assert_memory_equal(u.out + u.off[0], f, 32);
	assert_int_equal(wims_amr_pack(&NB_OA, 5, fr, fl, 1, re, sizeof(re)), 33);
	assert_memory_equal(re, pkt, 33);
	pkt[0] |= 0x0f; /* R bits ignored */
	assert_int_equal(unpack(&NB_OA, pkt, sizeof(pkt), &u), 1);
	assert_int_equal(u.cmr, 5);
	assert_int_equal(unpack(&NB_OA, pkt, 32, &u), -EBADMSG);
}

/* AMR-WB 12.65 (FT 2, 253 bits of ones) followed by NO_DATA, CMR 8. */
static void test_wb1265_be_oa(void **state)
{
	uint8_t be[34], oa[35], f[33], nd[1] = {15 << 3 | 4}, re[64];
	const uint8_t *fr[2] = {f, nd};
	size_t fl[2] = {33, 1};
	struct unpacked u;

	(void)state;
	f[0] = 2 << 3 | 4;
	memset(f + 1, 0xff, 31);
	f[32] = 0xf8; /* 253 = 31 * 8 + 5 */
	/* 1000 | 1 0010 1 | 0 1111 1 = 0x89 0x5f, then the bits, byte aligned */
	be[0] = 0x89;
	be[1] = 0x5f;
	memcpy(be + 2, f + 1, 32);
	assert_int_equal(unpack(&WB_BE, be, sizeof(be), &u), 2);
	assert_int_equal(u.cmr, 8);
	assert_int_equal(u.flen[0], 33);
	assert_int_equal(u.flen[1], 1);
	assert_memory_equal(u.out + u.off[0], f, 33);
	assert_int_equal(u.out[u.off[1]], nd[0]);
	assert_int_equal(wims_amr_pack(&WB_BE, 8, fr, fl, 2, re, sizeof(re)), 34);
	assert_memory_equal(re, be, 34);

	oa[0] = 0x80;
	oa[1] = 0x80 | 2 << 3 | 4;
	oa[2] = 15 << 3 | 4;
	memcpy(oa + 3, f + 1, 32);
	assert_int_equal(unpack(&WB_OA, oa, sizeof(oa), &u), 2);
	assert_int_equal(u.cmr, 8);
	assert_memory_equal(u.out + u.off[0], f, 33);
	assert_int_equal(wims_amr_pack(&WB_OA, 8, fr, fl, 2, re, sizeof(re)), 35);
	assert_memory_equal(re, oa, 35);
	/* the same bytes in the other format do not parse as the same frames */
	assert_true(unpack(&WB_OA, be, sizeof(be), &u) < 0 || u.cmr != 8 || u.n != 2);
}

static void test_sid_nodata(void **state)
{
	/* AMR SID: CMR 15, ToC 0 1000 1, 39 bits 0x12345678 9A(7 bits). */
	static const uint8_t be[] = {0xf4, 0x44, 0x8d, 0x15, 0x9e, 0x26, 0x80};
	static const uint8_t sid[] = {8 << 3 | 4, 0x12, 0x34, 0x56, 0x78, 0x9a};
	/* only a CMR (2): one NO_DATA frame; BE = 0010 0 1111 0 + 6 pad bits */
	static const uint8_t cmr_only_be[] = {0x27, 0x80};
	static const uint8_t cmr_only_oa[] = {0x20, 0x78};
	/* AMR-WB SID (40 bits) octet-aligned, and SPEECH_LOST */
	static const uint8_t wb_sid_oa[] = {0xf0, 0x80 | 9 << 3 | 4, 14 << 3, 1, 2, 3, 4, 5};
	struct unpacked u;
	uint8_t re[16];
	const uint8_t *fr[1] = {sid};
	size_t fl[1] = {sizeof(sid)};

	(void)state;
	assert_int_equal(unpack(&NB_BE, be, sizeof(be), &u), 1);
	assert_int_equal(u.flen[0], 6);
	assert_memory_equal(u.out + u.off[0], sid, 6);
	assert_int_equal(wims_amr_pack(&NB_BE, 15, fr, fl, 1, re, sizeof(re)), 7);
	assert_memory_equal(re, be, 7);

	assert_int_equal(unpack(&NB_BE, cmr_only_be, sizeof(cmr_only_be), &u), 1);
	assert_int_equal(u.cmr, 2);
	assert_int_equal(u.flen[0], 1);
	assert_int_equal(u.out[u.off[0]], 15 << 3);
	assert_int_equal(unpack(&NB_OA, cmr_only_oa, sizeof(cmr_only_oa), &u), 1);
	assert_int_equal(u.cmr, 2);
	assert_int_equal(u.out[u.off[0]], 15 << 3);

	assert_int_equal(unpack(&WB_OA, wb_sid_oa, sizeof(wb_sid_oa), &u), 2);
	assert_int_equal(u.flen[0], 6);
	assert_int_equal(u.out[u.off[0]], 9 << 3 | 4);
	assert_int_equal(u.out[u.off[0] + 5], 5);
	assert_int_equal(u.flen[1], 1);
	assert_int_equal(u.out[u.off[1]], 14 << 3);
	/* SPEECH_LOST is AMR-WB only */
	assert_int_equal(unpack(&NB_OA, wb_sid_oa, sizeof(wb_sid_oa), &u), -EBADMSG);
}

static void test_bad(void **state)
{
	uint8_t chain[1 + 17] = {0}, out[8];
	struct unpacked u;
	size_t off[WIMS_AMR_MAX_FRAMES], flen[WIMS_AMR_MAX_FRAMES];
	uint8_t cmr, f[32], bad[1] = {9 << 3};
	const uint8_t *fr[1] = {f};
	size_t fl[1] = {32};

	(void)state;
	assert_int_equal(unpack(&NB_BE, chain, 0, &u), -EBADMSG);
	assert_int_equal(unpack(&NB_OA, chain, 0, &u), -EBADMSG);
	/* reserved frame types (§4.3.2: 9-14 AMR, 10-13 AMR-WB) */
	static const uint8_t r9[] = {0xf0, 9 << 3};
	static const uint8_t r10[] = {0xf0, 10 << 3};
	assert_int_equal(unpack(&NB_OA, r9, 2, &u), -EBADMSG);
	assert_int_equal(unpack(&WB_OA, r10, 2, &u), -EBADMSG);
	/* a ToC chain of 17 NO_DATA entries, and one that never ends */
	chain[0] = 0xf0;
	memset(chain + 1, 0x80 | 15 << 3, 17);
	chain[17] = 15 << 3;
	assert_int_equal(unpack(&NB_OA, chain, 18, &u), -EBADMSG);
	assert_int_equal(unpack(&NB_OA, chain, 17, &u), -EBADMSG);
	chain[16] = 15 << 3;
	assert_int_equal(unpack(&NB_OA, chain, 17, &u), 16);
	/* output too small */
	nb122_storage(f);
	assert_int_equal(wims_amr_pack(&NB_BE, 15, fr, fl, 1, chain, sizeof(chain)), -ENOSPC);
	uint8_t pkt[40];
	assert_int_equal(wims_amr_pack(&NB_BE, 15, fr, fl, 1, pkt, sizeof(pkt)), 32);
	assert_int_equal(wims_amr_unpack(&NB_BE, pkt, 32, &cmr, out, sizeof(out), off, flen), -ENOSPC);
	/* pack: bad FT, short frame, bad counts, bad CMR */
	fr[0] = bad;
	fl[0] = 1;
	assert_int_equal(wims_amr_pack(&NB_BE, 15, fr, fl, 1, pkt, sizeof(pkt)), -EINVAL);
	fr[0] = f;
	fl[0] = 31;
	assert_int_equal(wims_amr_pack(&NB_BE, 15, fr, fl, 1, pkt, sizeof(pkt)), -EINVAL);
	fl[0] = 32;
	assert_int_equal(wims_amr_pack(&NB_BE, 15, fr, fl, 0, pkt, sizeof(pkt)), -EINVAL);
	assert_int_equal(wims_amr_pack(&NB_BE, 16, fr, fl, 1, pkt, sizeof(pkt)), -EINVAL);
	/* an AMR-WB 23.85 frame in an AMR-NB session */
	f[0] = 8 << 3 | 4;
	assert_int_equal(wims_amr_pack(&WB_BE, 15, fr, fl, 1, pkt, sizeof(pkt)), -EINVAL);
}

static void fill_frame(uint8_t *f, enum wims_amr_kind k, unsigned ft, unsigned seed)
{
	int bits = wims_amr_frame_bits(k, ft);

	f[0] = (uint8_t)(ft << 3 | (seed & 1 ? 4 : 0));
	for (int i = 0; i < (bits + 7) / 8; i++)
		f[1 + i] = (uint8_t)(seed * 131 + (unsigned)i * 29 + 7);
	if (bits & 7)
		f[(bits + 7) / 8] &= (uint8_t)(0xff00u >> (bits & 7));
}

/* Every truncation of a valid packet fails or yields fewer/valid frames. */
static void check_truncations(const struct wims_amr_params *p, const uint8_t *pkt, size_t len)
{
	struct unpacked u;

	for (size_t l = 0; l < len; l++) {
		int n = unpack(p, pkt, l, &u);

		assert_true(n == -EBADMSG || (n > 0 && n <= WIMS_AMR_MAX_FRAMES));
		for (int i = 0; i < n; i++)
			assert_true(u.off[i] + u.flen[i] <= sizeof(u.out));
	}
}

static void roundtrip(const struct wims_amr_params *p, const unsigned *fts, unsigned n, unsigned seed)
{
	uint8_t fb[WIMS_AMR_MAX_FRAMES][WIMS_AMR_MAX_STORAGE], pkt[1200];
	const uint8_t *fr[WIMS_AMR_MAX_FRAMES];
	size_t fl[WIMS_AMR_MAX_FRAMES];
	struct unpacked u;
	int len;

	for (unsigned i = 0; i < n; i++) {
		fill_frame(fb[i], p->kind, fts[i], seed + i);
		fr[i] = fb[i];
		fl[i] = 1 + (size_t)(wims_amr_frame_bits(p->kind, fts[i]) + 7) / 8;
	}
	len = wims_amr_pack(p, (uint8_t)(seed % 16), fr, fl, n, pkt, sizeof(pkt));
	assert_true(len > 0);
	assert_int_equal(unpack(p, pkt, (size_t)len, &u), (int)n);
	assert_int_equal(u.cmr, seed % 16);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(u.flen[i], fl[i]);
		assert_memory_equal(u.out + u.off[i], fb[i], fl[i]);
	}
	check_truncations(p, pkt, (size_t)len);
}

static void test_roundtrip_all_modes(void **state)
{
	const struct wims_amr_params *ps[] = {&NB_BE, &NB_OA, &WB_BE, &WB_OA};

	(void)state;
	for (unsigned pi = 0; pi < 4; pi++) {
		const struct wims_amr_params *p = ps[pi];
		unsigned fts[WIMS_AMR_MAX_FRAMES];

		for (unsigned ft = 0; ft < 16; ft++) {
			if (wims_amr_frame_bits(p->kind, ft) < 0)
				continue;
			fts[0] = ft;
			roundtrip(p, fts, 1, ft);
			fts[1] = ft;
			fts[2] = 15;
			fts[3] = (ft + 3) % 8;
			roundtrip(p, fts, 4, ft + 100);
		}
		for (unsigned i = 0; i < WIMS_AMR_MAX_FRAMES; i++)
			fts[i] = p->kind == WIMS_AMR_WB ? 8 : 7; /* the largest */
		roundtrip(p, fts, WIMS_AMR_MAX_FRAMES, 7);
	}
}

static void sine(short *pcm, size_t n, unsigned rate, size_t t0)
{
	for (size_t i = 0; i < n; i++)
		pcm[i] = (short)(8000.0 * sin(2.0 * M_PI * 440.0 * (double)(t0 + i) / rate) +
				 3000.0 * sin(2.0 * M_PI * 1230.0 * (double)(t0 + i) / rate));
}

#define XFRAMES 3

/* Encoded frames of one mode -> pack -> unpack: the unpacked storage frames
 * decode to exactly what the encoder's own frames decode to. */
static void cross_one(const struct wims_amr_params *p, uint8_t enc[XFRAMES][WIMS_AMR_MAX_STORAGE],
		      const size_t *elen)
{
	const uint8_t *fr[XFRAMES];
	uint8_t pkt[256];
	struct unpacked u;
	short a[320], b[320];
	void *d1, *d2;
	int len;

	for (int i = 0; i < XFRAMES; i++)
		fr[i] = enc[i];
	len = wims_amr_pack(p, 15, fr, elen, XFRAMES, pkt, sizeof(pkt));
	assert_true(len > 0);
	assert_int_equal(unpack(p, pkt, (size_t)len, &u), XFRAMES);
	d1 = p->kind == WIMS_AMR_NB ? Decoder_Interface_init() : D_IF_init();
	d2 = p->kind == WIMS_AMR_NB ? Decoder_Interface_init() : D_IF_init();
	for (int i = 0; i < XFRAMES; i++) {
		assert_int_equal(u.flen[i], elen[i]);
		assert_memory_equal(u.out + u.off[i], enc[i], elen[i]);
		if (p->kind == WIMS_AMR_NB) {
			Decoder_Interface_Decode(d1, enc[i], a, 0);
			Decoder_Interface_Decode(d2, u.out + u.off[i], b, 0);
			assert_memory_equal(a, b, 160 * sizeof(short));
		} else {
			D_IF_decode(d1, enc[i], a, 0);
			D_IF_decode(d2, u.out + u.off[i], b, 0);
			assert_memory_equal(a, b, 320 * sizeof(short));
		}
	}
	if (p->kind == WIMS_AMR_NB) {
		Decoder_Interface_exit(d1);
		Decoder_Interface_exit(d2);
	} else {
		D_IF_exit(d1);
		D_IF_exit(d2);
	}
}

static void test_cross_nb(void **state)
{
	(void)state;
	for (int mode = 0; mode < 8; mode++) {
		void *e = Encoder_Interface_init(0);
		uint8_t enc[XFRAMES][WIMS_AMR_MAX_STORAGE];
		size_t elen[XFRAMES];
		short pcm[160];

		for (int i = 0; i < XFRAMES; i++) {
			int n;

			sine(pcm, 160, 8000, (size_t)i * 160);
			n = Encoder_Interface_Encode(e, (enum Mode)mode, pcm, enc[i], 0);
			assert_int_equal(n, 1 + (wims_amr_frame_bits(WIMS_AMR_NB, (unsigned)mode) + 7) / 8);
			assert_int_equal(enc[i][0] >> 3 & 15, mode);
			elen[i] = (size_t)n;
		}
		Encoder_Interface_exit(e);
		cross_one(&NB_BE, enc, elen);
		cross_one(&NB_OA, enc, elen);
	}
}

static void test_cross_wb(void **state)
{
	(void)state;
	for (int mode = 0; mode < 9; mode++) {
		void *e = E_IF_init();
		uint8_t enc[XFRAMES][WIMS_AMR_MAX_STORAGE];
		size_t elen[XFRAMES];
		short pcm[320];

		for (int i = 0; i < XFRAMES; i++) {
			int n;

			sine(pcm, 320, 16000, (size_t)i * 320);
			n = E_IF_encode(e, mode, pcm, enc[i], 0);
			assert_int_equal(n, 1 + (wims_amr_frame_bits(WIMS_AMR_WB, (unsigned)mode) + 7) / 8);
			assert_int_equal(enc[i][0] >> 3 & 15, mode);
			elen[i] = (size_t)n;
		}
		E_IF_exit(e);
		cross_one(&WB_BE, enc, elen);
		cross_one(&WB_OA, enc, elen);
	}
}

static int fmtp(const char *s, enum wims_amr_kind k, struct wims_amr_params *p)
{
	return wims_amr_fmtp_parse(wims_str_c(s), k, p);
}

static void test_fmtp(void **state)
{
	struct wims_amr_params p;
	char buf[128];

	(void)state;
	assert_int_equal(fmtp("", WIMS_AMR_NB, &p), 0);
	assert_false(p.octet_align);
	assert_int_equal(p.mode_set, 0);
	assert_int_equal(wims_amr_fmtp_answer(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");

	assert_int_equal(
	    fmtp("octet-align=1; mode-set=0,2,5,7; mode-change-period=2; mode-change-capability=2;"
		 " mode-change-neighbor=1; max-red=0",
		 WIMS_AMR_NB, &p),
	    0);
	assert_true(p.octet_align);
	assert_int_equal(p.mode_set, 0xa5);
	assert_int_equal(p.mode_change_period, 2);
	assert_true(p.mode_change_capability);
	assert_true(p.mode_change_neighbor);
	assert_int_equal(
	    wims_amr_fmtp_answer(&p, buf, sizeof(buf)),
	    (int)strlen("octet-align=1; mode-set=0,2,5,7; mode-change-period=2; mode-change-neighbor=1"));
	assert_string_equal(buf,
			    "octet-align=1; mode-set=0,2,5,7; mode-change-period=2; mode-change-neighbor=1");
	assert_int_equal(wims_amr_fmtp_answer(&p, buf, 20), -ENOSPC);
	assert_int_equal(wims_amr_fmtp_answer(&p, buf, 0), -ENOSPC);

	/* AMR-WB: mode 8 exists; names are case-insensitive; unknown ignored */
	assert_int_equal(fmtp("MODE-SET = 8 , 2 ;Octet-Align=0;foo=bar;;", WIMS_AMR_WB, &p), 0);
	assert_int_equal(p.kind, WIMS_AMR_WB);
	assert_int_equal(p.mode_set, 0x104);
	assert_false(p.octet_align);
	assert_int_equal(wims_amr_fmtp_answer(&p, buf, sizeof(buf)), 12);
	assert_string_equal(buf, "mode-set=2,8");

	/* what we refuse */
	assert_int_equal(fmtp("octet-align=1; crc=1", WIMS_AMR_NB, &p), -ENOTSUP);
	assert_int_equal(fmtp("octet-align=1; robust-sorting=1", WIMS_AMR_NB, &p), -ENOTSUP);
	assert_int_equal(fmtp("octet-align=1; interleaving=4", WIMS_AMR_WB, &p), -ENOTSUP);
	assert_int_equal(fmtp("octet-align=1; crc=0; robust-sorting=0", WIMS_AMR_NB, &p), 0);

	/* malformed */
	static const char *const bad[] = {
	    "mode-set=8",
	    "mode-set=",
	    "mode-set=1,,2",
	    "mode-set=a",
	    "octet-align=2",
	    "octet-align",
	    "mode-change-period=3",
	    "mode-change-period=0",
	    "max-red=x",
	    "interleaving=",
	    "crc=yes",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fmtp(bad[i], WIMS_AMR_NB, &p), -EBADMSG);
	assert_int_equal(fmtp("mode-set=9", WIMS_AMR_WB, &p), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_bits),
	    cmocka_unit_test(test_nb122_be),
	    cmocka_unit_test(test_nb122_oa),
	    cmocka_unit_test(test_wb1265_be_oa),
	    cmocka_unit_test(test_sid_nodata),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_roundtrip_all_modes),
	    cmocka_unit_test(test_cross_nb),
	    cmocka_unit_test(test_cross_wb),
	    cmocka_unit_test(test_fmtp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
