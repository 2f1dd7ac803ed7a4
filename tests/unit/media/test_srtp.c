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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_answer), cmocka_unit_test(test_gcm_oracle),
	    cmocka_unit_test(test_round_trip),	 cmocka_unit_test(test_tamper_and_replay),
	    cmocka_unit_test(test_rtcp),	 cmocka_unit_test(test_rollover),
	    cmocka_unit_test(test_sdes),	 cmocka_unit_test(test_sdes_parse),
	};

	if (wims_srtp_global_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
