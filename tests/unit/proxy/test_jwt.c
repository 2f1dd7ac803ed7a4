/* JWT verification (src/proxy/jwt.c): HS256 and ES256 tokens made here with
 * OpenSSL, and every way a token must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "proxy/jwt.h"

#define NOW 1800000000LL
static const char SECRET[] = "waf-secret";

static size_t b64url(const unsigned char *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	unsigned acc = 0, bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = t[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = t[(acc << (6 - bits)) & 63];
	out[o] = 0;
	return o;
}

/* header.payload for alg and payload JSON, into buf */
static size_t unsigned_part(char *buf, const char *alg, const char *payload)
{
	char h[64];
	snprintf(h, sizeof(h), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	size_t n = b64url((const unsigned char *)h, strlen(h), buf);
	buf[n++] = '.';
	n += b64url((const unsigned char *)payload, strlen(payload), buf + n);
	return n;
}

static void hs256(char *buf, const char *payload, const char *secret)
{
	size_t n = unsigned_part(buf, "HS256", payload);
	unsigned char mac[32];
	unsigned ml = 0;
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)buf, n, mac, &ml);
	buf[n++] = '.';
	b64url(mac, ml, buf + n);
}

static void es256(char *buf, const char *payload, EVP_PKEY *key)
{
	size_t n = unsigned_part(buf, "ES256", payload);
	unsigned char der[128], raw[64] = {0};
	size_t dl = sizeof(der);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, der, &dl, (unsigned char *)buf, n), 1);
	EVP_MD_CTX_free(md);
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)dl);
	assert_non_null(s);
	BN_bn2binpad(ECDSA_SIG_get0_r(s), raw, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(s), raw + 32, 32);
	ECDSA_SIG_free(s);
	buf[n++] = '.';
	b64url(raw, 64, buf + n);
}

static int verify(const struct wims_jwt_keys *k, const char *tok, struct wims_jwt_claims *c)
{
	const char *why = NULL;
	int rc = wims_jwt_verify(k, wims_str_c(tok), NOW, c, &why);
	assert_non_null(why);
	return rc;
}

static const struct wims_jwt_keys HS = {(const unsigned char *)SECRET, sizeof(SECRET) - 1, NULL, "wims", 30};

static void test_hs256(void **state)
{
	char tok[2048];
	struct wims_jwt_claims c;
	(void)state;
	hs256(tok, "{\"sub\":\"sip:alice@ims.lab\",\"aud\":\"wims\",\"exp\":1800000300}", SECRET);
	assert_int_equal(verify(&HS, tok, &c), 0);
	assert_string_equal(c.sub, "sip:alice@ims.lab");
	assert_string_equal(c.impi, "alice");
	hs256(tok, "{\"sub\":\"sip:alice@ims.lab\",\"impi\":\"alice@ims.lab\",\"aud\":[\"x\",\"wims\"],\"exp\":1800000300,\"nbf\":1799999990}",
	      SECRET);
	assert_int_equal(verify(&HS, tok, &c), 0);
	assert_string_equal(c.impi, "alice@ims.lab");
	/* refusals */
	hs256(tok, "{\"sub\":\"sip:alice@ims.lab\",\"aud\":\"wims\",\"exp\":1799999000}", SECRET);
	assert_int_equal(verify(&HS, tok, &c), -ETIME); /* expired */
	hs256(tok, "{\"sub\":\"sip:alice@ims.lab\",\"aud\":\"wims\",\"exp\":1800000300,\"nbf\":1800001000}", SECRET);
	assert_int_equal(verify(&HS, tok, &c), -ETIME); /* not yet */
	hs256(tok, "{\"sub\":\"sip:alice@ims.lab\",\"aud\":\"wims\"}", SECRET);
	assert_int_equal(verify(&HS, tok, &c), -ETIME); /* never expires: refused */
	hs256(tok, "{\"sub\":\"sip:alice@ims.lab\",\"aud\":\"other\",\"exp\":1800000300}", SECRET);
	assert_int_equal(verify(&HS, tok, &c), -EACCES);
	hs256(tok, "{\"sub\":\"sip:alice@ims.lab\",\"aud\":\"wims\",\"exp\":1800000300}", "wrong");
	assert_int_equal(verify(&HS, tok, &c), -EPERM);
	hs256(tok, "{\"sub\":\"alice\",\"aud\":\"wims\",\"exp\":1800000300}", SECRET);
	assert_int_equal(verify(&HS, tok, &c), -ENOENT);
	/* within the leeway */
	hs256(tok, "{\"sub\":\"sip:a@b\",\"aud\":\"wims\",\"exp\":1799999980}", SECRET);
	assert_int_equal(verify(&HS, tok, &c), 0);
}

static void test_malformed(void **state)
{
	char tok[2048];
	struct wims_jwt_claims c;
	(void)state;
	static const char *bad[] = {"", "a", "a.b", "a.b.c", "..", "!!.!!.!!", "e30.e30.", "W10.e30.AAAA",
				    "eyJhbGciOiJub25lIn0.e30.", NULL};
	for (const char **b = bad; *b; b++) {
		int rc = verify(&HS, *b, &c);
		assert_true(rc == -EBADMSG || rc == -EPERM);
	}
	/* alg none, alg not configured */
	size_t n = unsigned_part(tok, "none", "{\"sub\":\"sip:a@b\",\"exp\":1800000300}");
	strcpy(tok + n, ".");
	assert_int_equal(verify(&HS, tok, &c), -EPERM);
	struct wims_jwt_keys nokey = {NULL, 0, NULL, NULL, 0};
	hs256(tok, "{\"sub\":\"sip:a@b\",\"exp\":1800000300}", SECRET);
	assert_int_equal(verify(&nokey, tok, &c), -EPERM);
	/* a flipped signature character */
	tok[strlen(tok) - 2] ^= 1;
	assert_true(verify(&HS, tok, &c) < 0);
	/* too long */
	char big[WIMS_JWT_MAX + 10];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(verify(&HS, big, &c), -EBADMSG);
}

static void test_es256(void **state)
{
	char tok[2048];
	struct wims_jwt_claims c;
	(void)state;
	EVP_PKEY *key = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
	assert_non_null(key);
	assert_non_null(other);
	struct wims_jwt_keys k = {NULL, 0, key, NULL, 0};
	es256(tok, "{\"sub\":\"sip:bob@ims.lab\",\"exp\":1800000300}", key);
	assert_int_equal(verify(&k, tok, &c), 0);
	assert_string_equal(c.sub, "sip:bob@ims.lab");
	es256(tok, "{\"sub\":\"sip:bob@ims.lab\",\"exp\":1800000300}", other);
	assert_int_equal(verify(&k, tok, &c), -EPERM); /* another key */
	/* an ES256 token when only HS256 is configured */
	es256(tok, "{\"sub\":\"sip:bob@ims.lab\",\"exp\":1800000300}", key);
	assert_int_equal(verify(&HS, tok, &c), -EPERM);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hs256),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_es256),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
