/* wims-mediabench helpers: big-endian byte access and an SRTP transform
 * (AES_CM_128_HMAC_SHA1_80, RFC 3711) on OpenSSL EVP AES-CTR and a
 * pre-hashed HMAC-SHA1.  Debian's libsrtp2 runs on NSS, which costs as much
 * CPU per packet as the gateway being measured; this keeps the load tool
 * cheap.  selftest() checks it against libsrtp2 (src/media/srtp.h) both
 * ways.  Included by tools/wims-mediabench.c only. */
#ifndef WIMS_TOOLS_MEDIABENCH_SRTP_H
#define WIMS_TOOLS_MEDIABENCH_SRTP_H

#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA1_Init & co: the pre-hashed HMAC pads */
#endif
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "media/rtp.h"
#include "media/srtp.h"

#define SRTP_TAG 10

struct fast_srtp {
	EVP_CIPHER_CTX *aes;
	SHA_CTX ipad, opad;
	uint8_t salt[14];
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* RFC 3711 §4.3.1 key derivation with kdr 0: AES-CM keystream of the master
 * key over IV = (master salt XOR label << 48) << 16. */
static int srtp_kdf(const uint8_t *mkey, const uint8_t *msalt, uint8_t label, uint8_t *out, size_t n)
{
	uint8_t iv[16] = {0}, zero[32] = {0};
	int len = 0, rc = -1;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	memcpy(iv, msalt, 14);
	iv[7] ^= label;
	if (c && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, mkey, iv) == 1 &&
	    EVP_EncryptUpdate(c, out, &len, zero, (int)n) == 1)
		rc = 0;
	EVP_CIPHER_CTX_free(c);
	return rc;
}

static int fast_srtp_init(struct fast_srtp *s, const uint8_t *mkey, const uint8_t *msalt)
{
	uint8_t k[16], a[20], pad[64];

	if (srtp_kdf(mkey, msalt, 0, k, 16) || srtp_kdf(mkey, msalt, 1, a, 20) ||
	    srtp_kdf(mkey, msalt, 2, s->salt, 14))
		return -EIO;
	s->aes = EVP_CIPHER_CTX_new();
	if (!s->aes || EVP_EncryptInit_ex(s->aes, EVP_aes_128_ctr(), NULL, k, NULL) != 1)
		return -EIO;
	memset(pad, 0x36, sizeof(pad));
	for (int i = 0; i < 20; i++)
		pad[i] ^= a[i];
	SHA1_Init(&s->ipad);
	SHA1_Update(&s->ipad, pad, 64);
	memset(pad, 0x5c, sizeof(pad));
	for (int i = 0; i < 20; i++)
		pad[i] ^= a[i];
	SHA1_Init(&s->opad);
	SHA1_Update(&s->opad, pad, 64);
	return 0;
}

static void fast_srtp_free(struct fast_srtp *s)
{
	EVP_CIPHER_CTX_free(s->aes);
	s->aes = NULL;
}

/* HMAC-SHA1 over m || ROC (RFC 3711 §4.2), first SRTP_TAG bytes into tag. */
static void srtp_auth(const struct fast_srtp *s, const uint8_t *m, size_t n, uint32_t roc, uint8_t *tag)
{
	SHA_CTX c = s->ipad;
	uint8_t r[4], inner[20], full[20];

	put32(r, roc);
	SHA1_Update(&c, m, n);
	SHA1_Update(&c, r, 4);
	SHA1_Final(inner, &c);
	c = s->opad;
	SHA1_Update(&c, inner, 20);
	SHA1_Final(full, &c);
	memcpy(tag, full, SRTP_TAG);
}

/* AES-CM (RFC 3711 §4.1.1) over the payload, in place. */
static int srtp_crypt(struct fast_srtp *s, uint8_t *p, size_t hdr, size_t len, uint32_t roc)
{
	uint8_t iv[16] = {0};
	uint64_t idx = (uint64_t)roc << 16 | (uint64_t)(p[2] << 8 | p[3]);
	int out = 0;

	memcpy(iv, s->salt, 14);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= p[8 + i];
	for (int i = 0; i < 6; i++)
		iv[8 + i] ^= (uint8_t)(idx >> (40 - 8 * i));
	if (EVP_EncryptInit_ex(s->aes, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(s->aes, p + hdr, &out, p + hdr, (int)(len - hdr)) != 1)
		return -EIO;
	return 0;
}

/* Protect a 12-byte-header RTP packet in place (ROC 0: runs stay far below
 * a sequence wrap, see the start sequence).  Returns the new length. */
static size_t fast_protect(struct fast_srtp *s, uint8_t *p, size_t len)
{
	if (srtp_crypt(s, p, WIMS_RTP_HDR_MIN, len, 0))
		return 0;
	srtp_auth(s, p, len, 0, p + len);
	return len + SRTP_TAG;
}

/* Verify and decrypt; the new length or 0. */
static size_t fast_unprotect(struct fast_srtp *s, uint8_t *p, size_t len)
{
	struct wims_rtp_hdr h;
	uint8_t tag[SRTP_TAG];

	if (len < WIMS_RTP_HDR_MIN + SRTP_TAG || wims_rtp_parse(&h, p, len - SRTP_TAG))
		return 0;
	len -= SRTP_TAG;
	srtp_auth(s, p, len, 0, tag);
	if (CRYPTO_memcmp(tag, p + len, SRTP_TAG) || srtp_crypt(s, p, h.hdr_len, len, 0))
		return 0;
	return len;
}

/* --selftest: our transform against libsrtp2, both ways. */
static int selftest(void)
{
	uint8_t key[16], salt[14], a[256], b[256];
	struct fast_srtp f = {0};
	struct wims_srtp *ls = NULL, *lp = NULL;
	int bad = 0;

	if (RAND_bytes(key, 16) != 1 || RAND_bytes(salt, 14) != 1 || fast_srtp_init(&f, key, salt) ||
	    wims_srtp_new(&ls, WIMS_SRTP_AES_CM_128_HMAC_SHA1_80, key, salt, false) ||
	    wims_srtp_new(&lp, WIMS_SRTP_AES_CM_128_HMAC_SHA1_80, key, salt, true))
		return 1;
	for (unsigned i = 0; i < 100 && !bad; i++) {
		size_t n = 12 + 20 + i, m = n, ln = n;
		memset(a, 0, 12);
		a[0] = 0x80, a[1] = 0, a[2] = (uint8_t)(i >> 8), a[3] = (uint8_t)(i + 7);
		put32(a + 8, 0x12345678);
		for (size_t j = 12; j < n; j++)
			a[j] = (uint8_t)(j * 7 + i);
		memcpy(b, a, n);
		m = fast_protect(&f, a, n);
		if (!m || wims_srtp_unprotect_rtp(ls, a, &m) || m != n || memcmp(a, b, n))
			bad = 1;
		if (!bad && (wims_srtp_protect_rtp(lp, a, &ln, sizeof(a)) || fast_unprotect(&f, a, ln) != n ||
			     memcmp(a, b, n)))
			bad = 2;
	}
	fast_srtp_free(&f);
	wims_srtp_free(ls);
	wims_srtp_free(lp);
	fprintf(stderr, "selftest: %s\n", bad ? (bad == 1 ? "protect FAILED" : "unprotect FAILED") : "ok");
	return bad ? 1 : 0;
}

#endif
