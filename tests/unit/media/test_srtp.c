/* SRTP/SRTCP through wims_srtp, checked against libsrtp's published
 * known answer and against an independent raw libsrtp session. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <srtp2/srtp.h>

#include "media/srtp.h"

/* libsrtp test/srtp_driver.c srtp_validate(): default policy (AES-CM-128,
 * HMAC-SHA1-80), SSRC 0xcafebabe, seq 0x1234. */
// clang-format off
static const uint8_t kat_master[30] = {
	0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41,
	0x39, 0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
};
// clang-format on
// clang-format off
static const uint8_t kat_plain[28] = {
	0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, 0xab, 0xab,
	0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
};
// clang-format on
// clang-format off
static const uint8_t kat_cipher[38] = {
	0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, 0x4e,
	0x55, 0xdc, 0x4c, 0xe7, 0x99, 0x78, 0xd8, 0x8c, 0xa4, 0xd2, 0x15, 0x94, 0x9d,
	0x24, 0x02, 0xb7, 0x8d, 0x6a, 0xcc, 0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb,
};
// clang-format on

static const int profiles[] = {WIMS_SRTP_AES_CM_128_HMAC_SHA1_80, WIMS_SRTP_AES_CM_128_HMAC_SHA1_32,
			       WIMS_SRTP_AEAD_AES_128_GCM};

static void pair(int prof, struct wims_srtp **tx, struct wims_srtp **rx)
{
	uint8_t key[16], salt[14];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + prof);
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(wims_srtp_new(tx, prof, key, salt, true), 0);
	assert_int_equal(wims_srtp_new(rx, prof, key, salt, false), 0);
}

static size_t make_rtp(uint8_t *p, uint16_t seq, size_t payload)
{
	const uint8_t hdr[12] = {0x80, 0x6f, (uint8_t)(seq >> 8), (uint8_t)seq, 0, 0, 0x10, 0, 0x12, 0x34,
				 0x56, 0x78};

	memcpy(p, hdr, 12);
	for (size_t i = 0; i < payload; i++)
		p[12 + i] = (uint8_t)(i ^ seq);
	return 12 + payload;
}

static void test_known_answer(void **state)
{
	struct wims_srtp *tx, *rx;
	uint8_t p[64];
	size_t len = sizeof(kat_plain);

	assert_int_equal(
	    wims_srtp_new(&tx, WIMS_SRTP_AES_CM_128_HMAC_SHA1_80, kat_master, kat_master + 16, true), 0);
	memcpy(p, kat_plain, len);
	assert_int_equal(wims_srtp_protect_rtp(tx, p, &len, sizeof(p)), 0);
	assert_int_equal(len, sizeof(kat_cipher));
	assert_memory_equal(p, kat_cipher, sizeof(kat_cipher));
	wims_srtp_free(tx);

	/* _32: same keystream, tag cut to 4 bytes. */
	assert_int_equal(
	    wims_srtp_new(&tx, WIMS_SRTP_AES_CM_128_HMAC_SHA1_32, kat_master, kat_master + 16, true), 0);
	len = sizeof(kat_plain);
	memcpy(p, kat_plain, len);
	assert_int_equal(wims_srtp_protect_rtp(tx, p, &len, sizeof(p)), 0);
	assert_int_equal(len, 32);
	assert_memory_equal(p, kat_cipher, 32);
	wims_srtp_free(tx);

	assert_int_equal(
	    wims_srtp_new(&rx, WIMS_SRTP_AES_CM_128_HMAC_SHA1_80, kat_master, kat_master + 16, false), 0);
	len = sizeof(kat_cipher);
	memcpy(p, kat_cipher, len);
	assert_int_equal(wims_srtp_unprotect_rtp(rx, p, &len), 0);
	assert_int_equal(len, sizeof(kat_plain));
	assert_memory_equal(p, kat_plain, len);
	wims_srtp_free(rx);
}

/* GCM: no published vector at hand for SRTP framing, so a raw libsrtp
 * session configured by hand is the oracle (RTP and RTCP, several packets). */
static void test_gcm_oracle(void **state)
{
	uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	uint8_t salt[12] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac};
	uint8_t master[28], a[256], b[256];
	struct wims_srtp *tx;
	srtp_policy_t pol;
	srtp_t raw;

	memcpy(master, key, 16);
	memcpy(master + 16, salt, 12);
	memset(&pol, 0, sizeof(pol));
	srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
	srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
	pol.ssrc.type = ssrc_any_outbound;
	pol.key = master;
	pol.window_size = 1024;
	assert_int_equal(wims_srtp_new(&tx, WIMS_SRTP_AEAD_AES_128_GCM, key, salt, true), 0);
	assert_int_equal(srtp_create(&raw, &pol), srtp_err_status_ok);
	for (uint16_t seq = 100; seq < 110; seq++) {
		size_t la = make_rtp(a, seq, 40 + seq % 7);
		int lb = (int)la;

		memcpy(b, a, la);
		assert_int_equal(wims_srtp_protect_rtp(tx, a, &la, sizeof(a)), 0);
		assert_int_equal(srtp_protect(raw, b, &lb), srtp_err_status_ok);
		assert_int_equal(la, (size_t)lb);
		assert_int_equal(la, 12 + 40 + seq % 7 + 16);
		assert_memory_equal(a, b, la);
	}
	for (int i = 0; i < 3; i++) {
		static const uint8_t rr[8] = {0x80, 201, 0, 1, 0x12, 0x34, 0x56, 0x78};
		size_t la = sizeof(rr);
		int lb = (int)la;

		memcpy(a, rr, la);
		memcpy(b, rr, la);
		assert_int_equal(wims_srtp_protect_rtcp(tx, a, &la, sizeof(a)), 0);
		assert_int_equal(srtp_protect_rtcp(raw, b, &lb), srtp_err_status_ok);
		assert_int_equal(la, (size_t)lb);
		assert_memory_equal(a, b, la);
	}
	srtp_dealloc(raw);
	wims_srtp_free(tx);
}

static void test_round_trip(void **state)
{
	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		struct wims_srtp *tx, *rx;
		uint8_t p[300], ref[300];

		pair(profiles[k], &tx, &rx);
		for (uint16_t seq = 1; seq < 50; seq++) {
			size_t len = make_rtp(p, seq, 160), plen = len;

			memcpy(ref, p, len);
			/* The exact room the tag needs is enough; one byte less is not. */
			size_t tag = profiles[k] == WIMS_SRTP_AEAD_AES_128_GCM		? 16
				     : profiles[k] == WIMS_SRTP_AES_CM_128_HMAC_SHA1_32 ? 4
											: 10;
			assert_int_equal(wims_srtp_protect_rtp(tx, p, &len, plen + tag - 1), -ENOSPC);
			assert_int_equal(wims_srtp_protect_rtp(tx, p, &len, plen + tag), 0);
			assert_int_equal(len, plen + tag);
			assert_memory_not_equal(p + 12, ref + 12, 160);
			assert_int_equal(wims_srtp_unprotect_rtp(rx, p, &len), 0);
			assert_int_equal(len, plen);
			assert_memory_equal(p, ref, len);
		}
		wims_srtp_free(tx);
		wims_srtp_free(rx);
	}
}

static void test_tamper_and_replay(void **state)
{
	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		struct wims_srtp *tx, *rx;
		uint8_t p[300], copy[300];
		size_t len, clen;

		pair(profiles[k], &tx, &rx);
		len = make_rtp(p, 7, 100);
		assert_int_equal(wims_srtp_protect_rtp(tx, p, &len, sizeof(p)), 0);
		memcpy(copy, p, len);
		clen = len;
		copy[20] ^= 1;
		assert_int_equal(wims_srtp_unprotect_rtp(rx, copy, &clen), -EPERM);
		memcpy(copy, p, len);
		clen = len;
		assert_int_equal(wims_srtp_unprotect_rtp(rx, copy, &clen), 0);
		memcpy(copy, p, len);
		clen = len;
		assert_int_equal(wims_srtp_unprotect_rtp(rx, copy, &clen), -EALREADY);
		clen = 5;
		assert_int_equal(wims_srtp_unprotect_rtp(rx, copy, &clen), -EBADMSG);
		/* Direction mismatch is a caller error. */
		clen = len;
		assert_int_equal(wims_srtp_protect_rtp(rx, copy, &clen, sizeof(copy)), -EINVAL);
		wims_srtp_free(tx);
		wims_srtp_free(rx);
	}
}

static void test_rtcp(void **state)
{
	static const uint8_t sr[28] = {0x80, 200, 0, 6,	 0x12, 0x34, 0x56, 0x78, 1,  2,	 3,  4,	 5,  6,
				       7,    8,	  9, 10, 11,   12,   13,   14,	 15, 16, 17, 18, 19, 20};

	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		struct wims_srtp *tx, *rx;
		uint8_t p[100], first[100];
		size_t len, flen;

		pair(profiles[k], &tx, &rx);
		for (int i = 0; i < 5; i++) {
			len = sizeof(sr);
			memcpy(p, sr, len);
			assert_int_equal(wims_srtp_protect_rtcp(tx, p, &len, sizeof(p)), 0);
			assert_int_equal(len, sizeof(sr) + 4 +
						  (profiles[k] == WIMS_SRTP_AEAD_AES_128_GCM ? 16u : 10u));
			if (i == 0) {
				memcpy(first, p, len);
				flen = len;
			}
			assert_int_equal(wims_srtp_unprotect_rtcp(rx, p, &len), 0);
			assert_int_equal(len, sizeof(sr));
			assert_memory_equal(p, sr, len);
		}
		assert_int_equal(wims_srtp_unprotect_rtcp(rx, first, &flen), -EALREADY);
		len = sizeof(sr);
		memcpy(p, sr, len);
		assert_int_equal(wims_srtp_protect_rtcp(tx, p, &len, sizeof(p)), 0);
		p[10] ^= 0x80;
		assert_int_equal(wims_srtp_unprotect_rtcp(rx, p, &len), -EPERM);
		wims_srtp_free(tx);
		wims_srtp_free(rx);
	}
}

/* 65535 -> 0 increments the roll-over counter on both sides. */
static void test_rollover(void **state)
{
	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		struct wims_srtp *tx, *rx;
		uint8_t p[200], ref[200];

		pair(profiles[k], &tx, &rx);
		for (uint32_t i = 65530; i < 65550; i++) {
			size_t len = make_rtp(p, (uint16_t)i, 50), plen = len;

			memcpy(ref, p, len);
			assert_int_equal(wims_srtp_protect_rtp(tx, p, &len, sizeof(p)), 0);
			assert_int_equal(wims_srtp_unprotect_rtp(rx, p, &len), 0);
			assert_int_equal(len, plen);
			assert_memory_equal(p, ref, len);
		}
		wims_srtp_free(tx);
		wims_srtp_free(rx);
	}
}

static void test_sdes(void **state)
{
	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		uint8_t key[16], salt[14], key2[16], salt2[14];
		char line[128];
		const char *sp;
		int prof = 0;
		size_t sl = profiles[k] == WIMS_SRTP_AEAD_AES_128_GCM ? 12 : 14;

		assert_int_equal(wims_srtp_sdes_generate(profiles[k], key, salt, line, sizeof(line)), 0);
		sp = strchr(line, ' ');
		assert_non_null(sp);
		assert_int_equal(wims_srtp_sdes_parse(wims_str_make(line, (size_t)(sp - line)),
						      wims_str_c(sp + 1), &prof, key2, salt2),
				 0);
		assert_int_equal(prof, profiles[k]);
		assert_memory_equal(key, key2, 16);
		assert_memory_equal(salt, salt2, sl);
		assert_int_equal(wims_srtp_sdes_generate(profiles[k], key, salt, line, 20), -ENOSPC);
	}
}

static void test_sdes_parse(void **state)
{
	uint8_t key[16], salt[14];
	int prof;
	/* RFC 4568 §4 example key. */
	struct wims_str s80 = wims_str_c("AES_CM_128_HMAC_SHA1_80");
	struct wims_str gcm = wims_str_c("AEAD_AES_128_GCM");

	assert_int_equal(
	    wims_srtp_sdes_parse(s80, wims_str_c("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20"),
				 &prof, key, salt),
	    0);
	assert_int_equal(prof, WIMS_SRTP_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(key[0], 0x3d);
	assert_int_equal(wims_srtp_sdes_parse(s80,
					      wims_str_c("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
					      &prof, key, salt),
			 0);
	/* MKI is refused, bad base64, wrong length, unknown suite, no inline: */
	assert_int_equal(
	    wims_srtp_sdes_parse(s80, wims_str_c("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"),
				 &prof, key, salt),
	    -ENOTSUP);
	assert_int_equal(wims_srtp_sdes_parse(s80,
					      wims_str_c("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB!"),
					      &prof, key, salt),
			 -EINVAL);
	assert_int_equal(wims_srtp_sdes_parse(s80,
					      wims_str_c("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaV=R"),
					      &prof, key, salt),
			 -EINVAL);
	assert_int_equal(wims_srtp_sdes_parse(s80, wims_str_c("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtx"),
					      &prof, key, salt),
			 -EINVAL);
	assert_int_equal(wims_srtp_sdes_parse(gcm,
					      wims_str_c("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
					      &prof, key, salt),
			 -EINVAL); /* 30 bytes where GCM wants 28 */
	assert_int_equal(wims_srtp_sdes_parse(wims_str_c("F8_128_HMAC_SHA1_80"),
					      wims_str_c("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
					      &prof, key, salt),
			 -ENOTSUP);
	assert_int_equal(wims_srtp_sdes_parse(s80, wims_str_c("PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
					      &prof, key, salt),
			 -EINVAL);
	assert_int_equal(wims_srtp_sdes_parse(s80, wims_str_c("inline:"), &prof, key, salt), -EINVAL);
}

/* ---- libsrtp2 as the oracle ------------------------------------------------ */

static int raw_err(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_ok:
		return 0;
	case srtp_err_status_auth_fail:
		return -EPERM;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
		return -EALREADY;
	case srtp_err_status_bad_param:
	case srtp_err_status_parse_err:
	case srtp_err_status_no_ctx:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

/* Ours and libsrtp's sender and receiver on one key. */
struct quad {
	int prof;
	uint8_t key[16], salt[14];
	struct wims_srtp *tx, *rx;
	srtp_t rtx, rrx;
};

/* libsrtp session as the libsrtp-based srtp.c configured it; rtcp_auth_only
 * makes a sender without SRTCP encryption (E bit clear). */
static void raw_new(srtp_t *r, int prof, const uint8_t *key, const uint8_t *salt, bool out,
		    bool rtcp_auth_only)
{
	uint8_t master[30];
	srtp_policy_t pol;
	size_t kl, sl;

	assert_int_equal(wims_srtp_key_len(prof, &kl, &sl), 0);
	memset(&pol, 0, sizeof(pol));
	if (prof == WIMS_SRTP_AES_CM_128_HMAC_SHA1_80) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	} else if (prof == WIMS_SRTP_AES_CM_128_HMAC_SHA1_32) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	} else {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
	}
	if (rtcp_auth_only)
		pol.rtcp.sec_serv = sec_serv_auth;
	memcpy(master, key, kl);
	memcpy(master + kl, salt, sl);
	pol.ssrc.type = out ? ssrc_any_outbound : ssrc_any_inbound;
	pol.key = master;
	pol.window_size = 1024;
	assert_int_equal(srtp_create(r, &pol), srtp_err_status_ok);
}

static void quad_new(struct quad *q, int prof, unsigned seed)
{
	uint8_t key[16], salt[14];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(seed * 31 + i * 13 + (unsigned)prof);
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)(seed * 7 + 0x51 * i);
	q->prof = prof;
	memcpy(q->key, key, sizeof(key));
	memcpy(q->salt, salt, sizeof(salt));
	assert_int_equal(wims_srtp_new(&q->tx, prof, key, salt, true), 0);
	assert_int_equal(wims_srtp_new(&q->rx, prof, key, salt, false), 0);
	raw_new(&q->rtx, prof, key, salt, true, false);
	raw_new(&q->rrx, prof, key, salt, false, false);
}

static void quad_free(struct quad *q)
{
	wims_srtp_free(q->tx);
	wims_srtp_free(q->rx);
	srtp_dealloc(q->rtx);
	srtp_dealloc(q->rrx);
}

/* RTP with cc CSRCs and an extension of ext words (ext < 0: none). */
static size_t build_rtp(uint8_t *p, uint32_t ssrc, uint16_t seq, size_t payload, unsigned cc, int ext)
{
	size_t n = 12;

	p[0] = (uint8_t)(0x80 | (ext >= 0 ? 0x10 : 0) | cc);
	p[1] = 0x60;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	memset(p + 4, 0x42, 4);
	p[8] = (uint8_t)(ssrc >> 24), p[9] = (uint8_t)(ssrc >> 16), p[10] = (uint8_t)(ssrc >> 8),
	p[11] = (uint8_t)ssrc;
	for (unsigned i = 0; i < cc * 4; i++)
		p[n++] = (uint8_t)(0xc0 + i);
	if (ext >= 0) {
		p[n++] = 0xbe, p[n++] = 0xde, p[n++] = 0, p[n++] = (uint8_t)ext;
		for (int i = 0; i < ext * 4; i++)
			p[n++] = (uint8_t)(0xe0 + i);
	}
	for (size_t i = 0; i < payload; i++)
		p[n++] = (uint8_t)(i * 3 ^ seq);
	return n;
}

static size_t build_rtcp(uint8_t *p, uint32_t ssrc, size_t words, unsigned salt)
{
	p[0] = 0x80;
	p[1] = 200;
	p[2] = (uint8_t)(words >> 8);
	p[3] = (uint8_t)words;
	p[4] = (uint8_t)(ssrc >> 24), p[5] = (uint8_t)(ssrc >> 16), p[6] = (uint8_t)(ssrc >> 8),
	p[7] = (uint8_t)ssrc;
	for (size_t i = 8; i < 4 + words * 4; i++)
		p[i] = (uint8_t)(i + salt);
	return 4 + words * 4;
}

/* Protect plain with ours and libsrtp (same bytes?), then each receiver
 * unprotects the other's packet back to plain. */
static void both_ways(struct quad *q, const uint8_t *plain, size_t len, bool rtcp)
{
	uint8_t a[1600], b[1600];
	size_t la = len;
	int lb = (int)len;

	memcpy(a, plain, len);
	memcpy(b, plain, len);
	if (rtcp) {
		assert_int_equal(wims_srtp_protect_rtcp(q->tx, a, &la, sizeof(a)), 0);
		assert_int_equal(srtp_protect_rtcp(q->rtx, b, &lb), srtp_err_status_ok);
	} else {
		assert_int_equal(wims_srtp_protect_rtp(q->tx, a, &la, sizeof(a)), 0);
		assert_int_equal(srtp_protect(q->rtx, b, &lb), srtp_err_status_ok);
	}
	assert_int_equal(la, (size_t)lb);
	assert_memory_equal(a, b, la);
	if (rtcp) {
		assert_int_equal(srtp_unprotect_rtcp(q->rrx, a, &lb), srtp_err_status_ok);
		assert_int_equal(wims_srtp_unprotect_rtcp(q->rx, b, &la), 0);
	} else {
		assert_int_equal(srtp_unprotect(q->rrx, a, &lb), srtp_err_status_ok);
		assert_int_equal(wims_srtp_unprotect_rtp(q->rx, b, &la), 0);
	}
	assert_int_equal(la, len);
	assert_int_equal((size_t)lb, len);
	assert_memory_equal(a, plain, len);
	assert_memory_equal(b, plain, len);
}

/* Byte for byte as libsrtp, both ways: three SSRCs from seq 65500 (100
 * packets each, across the roll-over), CSRCs, extensions, empty payloads. */
static void test_oracle_rtp(void **state)
{
	static const uint32_t ssrcs[] = {0x11111111, 0x22222222, 0xdeadbeef};

	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		struct quad q;

		quad_new(&q, profiles[k], 1);
		for (unsigned i = 0; i < 100; i++)
			for (size_t j = 0; j < 3; j++) {
				uint8_t p[1600];
				size_t n =
				    build_rtp(p, ssrcs[j], (uint16_t)(65500 + i), (i * 37 + j * 101) % 1300,
					      (i + (unsigned)j) % 3, i % 4 == 0 ? (int)(i % 3) : -1);

				both_ways(&q, p, n, false);
			}
		quad_free(&q);
	}
}

/* SRTCP both ways, indices 1.. per SSRC, several SSRCs, compound sizes. */
static void test_oracle_rtcp(void **state)
{
	static const uint32_t ssrcs[] = {0x12345678, 0x9abcdef0, 0x1, 0x2};

	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		struct quad q;

		quad_new(&q, profiles[k], 2);
		for (unsigned i = 0; i < 60; i++)
			for (size_t j = 0; j < 4; j++) {
				uint8_t p[1600];
				size_t n = build_rtcp(p, ssrcs[j], 1 + (i * 7 + j) % 200, i);

				both_ways(&q, p, n, true);
			}
		quad_free(&q);
	}
}

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

#define NPKT 2500
static uint8_t rec[NPKT][96];
static size_t rec_len[NPKT];
static uint16_t rec_seq[NPKT];

/* A delivery order over rec[0..n): mostly forward, with duplicates, local
 * reordering, old packets (beyond the window) and jumps ahead. */
static size_t schedule(size_t *out, size_t cap, size_t n)
{
	size_t m = 0, j = 0;

	while (j < n && m < cap) {
		uint32_t r = rnd() % 100;

		if (r < 70 || j < 2)
			out[m++] = j++;
		else if (r < 78)
			out[m++] = j - 1 - rnd() % (j < 40 ? j : 40); /* duplicate / late */
		else if (r < 84 && j + 1 < n) {
			out[m++] = j + 1; /* swap */
			if (m < cap)
				out[m++] = j;
			j += 2;
		} else if (r < 88 && j > 1200)
			out[m++] = j - 1030 - rnd() % 150; /* around the window's edge */
		else if (r < 92)
			j += rnd() % 20; /* loss */
		else if (r < 94 && j > 300)
			out[m++] = j - 100 - rnd() % 200;
		else
			out[m++] = j++;
	}
	return m;
}

/* Deliver rec[] in sched order to both receivers: same verdicts, same bytes. */
static void deliver(struct quad *q, const size_t *sched, size_t m, bool rtcp, unsigned *ok, unsigned *rep)
{
	for (size_t i = 0; i < m; i++) {
		uint8_t a[96], b[96];
		size_t la = rec_len[sched[i]];
		int lb = (int)la, ra, rb;

		memcpy(a, rec[sched[i]], la);
		memcpy(b, a, la);
		ra = rtcp ? wims_srtp_unprotect_rtcp(q->rx, a, &la) : wims_srtp_unprotect_rtp(q->rx, a, &la);
		rb = raw_err(rtcp ? srtp_unprotect_rtcp(q->rrx, b, &lb) : srtp_unprotect(q->rrx, b, &lb));
		if (ra != rb)
			fail_msg("delivery %zu (packet %zu seq %u): ours %d libsrtp %d", i, sched[i],
				 rec_seq[sched[i]], ra, rb);
		if (ra == 0) {
			assert_int_equal(la, (size_t)lb);
			assert_memory_equal(a, b, la);
			(*ok)++;
		} else {
			/* a replay, or a late packet across a roll-over given the wrong ROC */
			assert_true(ra == -EALREADY || ra == -EPERM);
			(*rep)++;
		}
	}
}

/* The receiver's index estimate and replay window against libsrtp's on a
 * stream that rolls over several times, with forward jumps of up to 30000
 * (losses across the roll-over: the ROC is recovered by estimation),
 * duplicates, reordering and packets older than the window. */
static void test_oracle_receiver(void **state)
{
	static size_t sched[NPKT * 2];

	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		struct quad q;
		uint16_t seq = 64000;
		unsigned ok = 0, rep = 0;
		size_t m;

		quad_new(&q, profiles[k], 3);
		for (size_t i = 0; i < NPKT; i++) {
			uint32_t r = rnd() % 100;
			int lb;

			seq = (uint16_t)(seq + (r < 90 ? 1 : r < 99 ? 2 + rnd() % 50 : 1000 + rnd() % 9000));
			rec_seq[i] = seq;
			rec_len[i] = build_rtp(rec[i], 0xabcdef01, seq, 20 + i % 40, 0, -1);
			lb = (int)rec_len[i];
			assert_int_equal(srtp_protect(q.rtx, rec[i], &lb), srtp_err_status_ok);
			rec_len[i] = (size_t)lb;
		}
		m = schedule(sched, sizeof(sched) / sizeof(sched[0]), NPKT);
		deliver(&q, sched, m, false, &ok, &rep);
		assert_true(ok > NPKT / 2 && rep > 50);
		quad_free(&q);
	}
}

/* ROC recovery at the receiver: 65500..65510 arrive, 65511..299 of the
 * next cycle are lost, 300..310 arrive (the ROC is estimated to 1), then a
 * late 65520 (ROC 0 again) and its duplicate; a jump of half a cycle is
 * refused, a packet estimated in the wrong cycle fails authentication and
 * leaves the state intact.  Verdicts as libsrtp's. */
static void test_roc_recovery(void **state)
{
	static const struct {
		uint32_t index;
		int want;
	} steps[] = {
	    {65500, 0},
	    {65505, 0},
	    {65510, 0},
	    {65536 + 300, 0},
	    {65536 + 305, 0},
	    {65536 + 310, 0},
	    {65520, 0},
	    {65520, -EALREADY},
	    {65536 + 300, -EALREADY},
	    {65536 + 20000, 0},
	    {65536 * 2 + 100, -EALREADY}, /* half a cycle ahead: taken as old */
	    {65536 + 40000, 0},
	    {65536 * 2 + 100, 0},
	    {65536 + 1000, -EPERM}, /* estimated in cycle 2 */
	    {65536 * 2 + 200, 0},
	};

	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		struct quad q;
		size_t idx[sizeof(steps) / sizeof(steps[0])];

		quad_new(&q, profiles[k], 7);
		/* the sender sends every index from 65490 on; keep the ones we deliver */
		for (uint32_t i = 65490, n = 0; i <= 65536 * 2 + 200; i++) {
			uint8_t p[96];
			int lb;
			size_t len = build_rtp(p, 0x4242, (uint16_t)i, 24, 0, -1);

			lb = (int)len;
			assert_int_equal(srtp_protect(q.rtx, p, &lb), srtp_err_status_ok);
			for (size_t j = 0; j < sizeof(steps) / sizeof(steps[0]); j++)
				if (steps[j].index == i) {
					memcpy(rec[n], p, (size_t)lb);
					rec_len[n] = (size_t)lb;
					rec_seq[n] = (uint16_t)i;
					idx[j] = n;
				}
			for (size_t j = 0; j < sizeof(steps) / sizeof(steps[0]); j++)
				if (steps[j].index == i) {
					n++;
					break;
				}
		}
		for (size_t j = 0; j < sizeof(steps) / sizeof(steps[0]); j++) {
			uint8_t a[96], b[96];
			size_t la = rec_len[idx[j]];
			int lb = (int)la;

			memcpy(a, rec[idx[j]], la);
			memcpy(b, a, la);
			int ra = wims_srtp_unprotect_rtp(q.rx, a, &la);
			int rb = raw_err(srtp_unprotect(q.rrx, b, &lb));

			if (ra != steps[j].want || rb != steps[j].want)
				fail_msg("step %zu: ours %d libsrtp %d", j, ra, rb);
		}
		quad_free(&q);
	}
}

/* The SRTCP replay window (128 indices) against libsrtp's. */
static void test_oracle_rtcp_replay(void **state)
{
	static size_t sched[NPKT * 2];

	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		struct quad q;
		unsigned ok = 0, rep = 0;
		size_t m;

		quad_new(&q, profiles[k], 4);
		for (size_t i = 0; i < NPKT; i++) {
			int lb;

			rec_len[i] = build_rtcp(rec[i], 0x55aa55aa, 3 + i % 10, (unsigned)i);
			lb = (int)rec_len[i];
			assert_int_equal(srtp_protect_rtcp(q.rtx, rec[i], &lb), srtp_err_status_ok);
			rec_len[i] = (size_t)lb;
			rec_seq[i] = (uint16_t)(i + 1);
		}
		m = schedule(sched, sizeof(sched) / sizeof(sched[0]), NPKT);
		deliver(&q, sched, m, true, &ok, &rep);
		assert_true(ok > NPKT / 2 && rep > 50);
		quad_free(&q);
	}
}

/* Explicit window cases through our API: duplicate and too old refused,
 * out of order within the window accepted (RTP: 1024, SRTCP: 128). */
static void test_replay_window(void **state)
{
	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		struct wims_srtp *tx, *rx;
		static uint8_t pk[1200][80];
		size_t pl[1200];

		pair(profiles[k], &tx, &rx);
		for (uint16_t i = 0; i < 1200; i++) {
			pl[i] = make_rtp(pk[i], (uint16_t)(1000 + i), 30);
			assert_int_equal(wims_srtp_protect_rtp(tx, pk[i], &pl[i], sizeof(pk[i])), 0);
		}
		for (size_t i = 0; i < 1200; i += 2) { /* the even ones */
			uint8_t c[80];
			size_t l = pl[i];

			memcpy(c, pk[i], l);
			assert_int_equal(wims_srtp_unprotect_rtp(rx, c, &l), 0);
		}
		for (size_t i = 1199; i > 1199 - 1024; i -= 2) { /* odd ones within the window, backwards */
			uint8_t c[80];
			size_t l = pl[i];

			memcpy(c, pk[i], l);
			assert_int_equal(wims_srtp_unprotect_rtp(rx, c, &l), 0);
			memcpy(c, pk[i], l = pl[i]);
			assert_int_equal(wims_srtp_unprotect_rtp(rx, c, &l), -EALREADY);
		}
		/* index 1198 - 1024 is just out of the window; 1199 - 1023 just in */
		{
			uint8_t c[80];
			size_t l;

			memcpy(c, pk[1198 - 1024], l = pl[1198 - 1024]);
			assert_int_equal(wims_srtp_unprotect_rtp(rx, c, &l), -EALREADY);
			memcpy(c, pk[5], l = pl[5]);
			assert_int_equal(wims_srtp_unprotect_rtp(rx, c, &l), -EALREADY);
		}
		wims_srtp_free(tx);
		wims_srtp_free(rx);
	}
}

/* Any changed byte is an authentication failure (or, in the header, a
 * malformed packet or a replay): always libsrtp's verdict. */
static void test_oracle_tamper(void **state)
{
	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		struct quad q;

		quad_new(&q, profiles[k], 5);
		for (unsigned i = 0; i < 300; i++) {
			bool rtcp = i % 2;
			uint8_t p[300], a[300], b[300];
			size_t n = rtcp
				       ? build_rtcp(p, 0x77, 1 + i % 30, i)
				       : build_rtp(p, 0x88, (uint16_t)i, i % 100, i % 2, i % 5 == 0 ? 1 : -1);
			int lb = (int)n, ra, rb;
			size_t la;

			assert_int_equal(rtcp ? srtp_protect_rtcp(q.rtx, p, &lb)
					      : srtp_protect(q.rtx, p, &lb),
					 srtp_err_status_ok);
			n = (size_t)lb;
			memcpy(a, p, n);
			a[rnd() % n] ^= (uint8_t)(1 + rnd() % 255);
			memcpy(b, a, n);
			la = n;
			ra = rtcp ? wims_srtp_unprotect_rtcp(q.rx, a, &la)
				  : wims_srtp_unprotect_rtp(q.rx, a, &la);
			rb = rtcp ? srtp_unprotect_rtcp(q.rrx, b, &lb) : srtp_unprotect(q.rrx, b, &lb);
			if (ra != raw_err(rb))
				fail_msg("prof %d i %u: ours %d libsrtp status %d", q.prof, i, ra, rb);
			assert_int_not_equal(ra, 0);
			/* the genuine packet still passes on both */
			memcpy(a, p, n);
			la = n;
			lb = (int)n;
			ra = rtcp ? wims_srtp_unprotect_rtcp(q.rx, a, &la)
				  : wims_srtp_unprotect_rtp(q.rx, a, &la);
			rb = raw_err(rtcp ? srtp_unprotect_rtcp(q.rrx, p, &lb)
					  : srtp_unprotect(q.rrx, p, &lb));
			assert_int_equal(ra, 0);
			assert_int_equal(rb, 0);
		}
		quad_free(&q);
	}
}

/* SRTCP without the E bit (a libsrtp sender with RTCP authentication
 * only): libsrtp's verdict (AES-CM: cannot check, -EIO; GCM: authenticated
 * and left in clear, RFC 7714 §9.3). */
static void test_rtcp_unencrypted(void **state)
{
	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		uint8_t key[16] = {9, 8, 7}, salt[14] = {1, 2, 3}, p[200], c[200], ref[200];
		struct wims_srtp *rx;
		srtp_t raw, rrx;

		raw_new(&raw, profiles[k], key, salt, true, true);
		raw_new(&rrx, profiles[k], key, salt, false, false);
		assert_int_equal(wims_srtp_new(&rx, profiles[k], key, salt, false), 0);
		for (unsigned i = 0; i < 5; i++) {
			size_t n = build_rtcp(p, 0x31337, 6, i), l;
			int lb = (int)n, lc, want;

			memcpy(ref, p, n);
			assert_int_equal(srtp_protect_rtcp(raw, p, &lb), srtp_err_status_ok);
			assert_memory_equal(p, ref, n);
			assert_int_equal(p[lb - (profiles[k] == WIMS_SRTP_AEAD_AES_128_GCM ? 4 : 14)] & 0x80,
					 0);
			memcpy(c, p, (size_t)lb);
			c[9] ^= 1;
			l = (size_t)lb;
			lc = lb;
			want = raw_err(srtp_unprotect_rtcp(rrx, c, &lc));
			assert_int_equal(want, profiles[k] == WIMS_SRTP_AEAD_AES_128_GCM ? -EPERM : -EIO);
			memcpy(c, p, (size_t)lb);
			c[9] ^= 1;
			assert_int_equal(wims_srtp_unprotect_rtcp(rx, c, &l), want);
			l = (size_t)lb;
			lc = lb;
			memcpy(c, p, (size_t)lb);
			want = raw_err(srtp_unprotect_rtcp(rrx, c, &lc));
			assert_int_equal(wims_srtp_unprotect_rtcp(rx, p, &l), want);
			if (want == 0) {
				assert_int_equal(l, n);
				assert_memory_equal(p, ref, n);
			}
		}
		srtp_dealloc(raw);
		srtp_dealloc(rrx);
		wims_srtp_free(rx);
	}
}

/* Eight SSRCs per direction as libsrtp; a sender refuses a ninth, a
 * receiver replaces the least recently used. */
static void test_many_ssrcs(void **state)
{
	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		struct quad q;

		quad_new(&q, profiles[k], 6);
		for (unsigned i = 0; i < 40; i++)
			for (uint32_t j = 0; j < 8; j++) { /* 8 SSRCs fit: always libsrtp's bytes */
				uint8_t p[200];
				size_t n = build_rtp(p, 0x1000 + j, (uint16_t)(65520 + i + j), 50, 0, -1);

				both_ways(&q, p, n, false);
			}
		{ /* a sender keeps its 8 SSRCs: a ninth is refused */
			uint8_t p[200];
			size_t n = build_rtp(p, 0x2000, 1, 50, 0, -1);

			assert_int_equal(wims_srtp_protect_rtp(q.tx, p, &n, sizeof(p)), -EIO);
			n = build_rtcp(p, 0x2000, 3, 0);
			assert_int_equal(wims_srtp_protect_rtcp(q.tx, p, &n, sizeof(p)), -EIO);
		}
		/* a receiver replaces the least recently used of its 8: 12 more
		 * SSRCs (from two senders) in turn all pass */
		struct wims_srtp *t[2];

		for (int i = 0; i < 2; i++)
			assert_int_equal(wims_srtp_new(&t[i], profiles[k], q.key, q.salt, true), 0);
		for (uint32_t round = 0; round < 3; round++)
			for (uint32_t j = 0; j < 12; j++) {
				uint8_t p[200], ref[200];
				size_t n = build_rtp(p, 0x3000 + j, (uint16_t)(round + 1), 40, 0, -1), l = n;

				memcpy(ref, p, n);
				assert_int_equal(wims_srtp_protect_rtp(t[j / 8], p, &l, sizeof(p)), 0);
				assert_int_equal(wims_srtp_unprotect_rtp(q.rx, p, &l), 0);
				assert_memory_equal(p, ref, n);
			}
		wims_srtp_free(t[0]);
		wims_srtp_free(t[1]);
		quad_free(&q);
	}
}

/* Headers whose CSRCs or extension run past the packet are refused. */
static void test_malformed(void **state)
{
	for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
		struct wims_srtp *tx, *rx;
		uint8_t p[300];
		size_t n;

		pair(profiles[k], &tx, &rx);
		n = build_rtp(p, 1, 1, 0, 15, -1) - 4; /* CC 15, one CSRC short */
		assert_int_equal(wims_srtp_protect_rtp(tx, p, &n, sizeof(p)), -EBADMSG);
		n = build_rtp(p, 1, 1, 0, 0, 3);
		p[15] = 4; /* extension one word longer than the packet */
		assert_int_equal(wims_srtp_protect_rtp(tx, p, &n, sizeof(p)), -EBADMSG);
		n = 40;
		build_rtp(p, 1, 2, 28, 0, -1);
		p[0] |= 0x0f; /* CSRCs into the tag */
		assert_int_equal(wims_srtp_unprotect_rtp(rx, p, &n), -EBADMSG);
		n = 11;
		assert_int_equal(wims_srtp_protect_rtp(tx, p, &n, sizeof(p)), -EBADMSG);
		n = 7;
		assert_int_equal(wims_srtp_protect_rtcp(tx, p, &n, sizeof(p)), -EBADMSG);
		n = 8 + 4;
		assert_int_equal(wims_srtp_unprotect_rtcp(rx, p, &n), -EBADMSG);
		n = 8;
		assert_int_equal(wims_srtp_protect_rtcp(rx, p, &n, sizeof(p)), -EINVAL);
		n = 100;
		assert_int_equal(wims_srtp_unprotect_rtcp(tx, p, &n), -EINVAL);
		wims_srtp_free(tx);
		wims_srtp_free(rx);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_answer),
	    cmocka_unit_test(test_gcm_oracle),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_tamper_and_replay),
	    cmocka_unit_test(test_rtcp),
	    cmocka_unit_test(test_rollover),
	    cmocka_unit_test(test_sdes),
	    cmocka_unit_test(test_sdes_parse),
	    cmocka_unit_test(test_oracle_rtp),
	    cmocka_unit_test(test_oracle_rtcp),
	    cmocka_unit_test(test_oracle_receiver),
	    cmocka_unit_test(test_oracle_rtcp_replay),
	    cmocka_unit_test(test_replay_window),
	    cmocka_unit_test(test_oracle_tamper),
	    cmocka_unit_test(test_rtcp_unencrypted),
	    cmocka_unit_test(test_many_ssrcs),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_roc_recovery),
	};

	if (wims_srtp_global_init() != 0 || srtp_init() != srtp_err_status_ok)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
