/* JWT verification: header.payload.signature, each base64url (RFC 4648 §5,
 * no padding).  The header and the payload are JSON (jansson); the signature
 * is HMAC-SHA256 over "header.payload" (HS256) or ECDSA P-256 with SHA-256
 * as raw r||s, 64 bytes (ES256, RFC 7518 §3.4). */
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "proxy/jwt.h"

static int b64url_val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '-')
		return 62;
	if (ch == '_')
		return 63;
	return -1;
}

/* Decode s into out (cap bytes); the length, or -1. */
static long b64url_decode(struct wims_str s, unsigned char *out, size_t cap)
{
	size_t o = 0;
	unsigned acc = 0, bits = 0;
	if (s.l % 4 == 1)
		return -1;
	for (size_t i = 0; i < s.l; i++) {
		int v = b64url_val((unsigned char)s.p[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (long)o;
}

static json_t *json_part(struct wims_str s, unsigned char *buf, size_t cap)
{
	long n = b64url_decode(s, buf, cap);
	if (n <= 0)
		return NULL;
	json_t *j = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static bool verify_hs256(const struct wims_jwt_keys *k, struct wims_str signed_part, const unsigned char *sig,
			 long siglen)
{
	unsigned char mac[32];
	unsigned maclen = 0;
	if (!k->hs256 || siglen != 32 ||
	    !HMAC(EVP_sha256(), k->hs256, (int)k->hs256_len, (const unsigned char *)signed_part.p, signed_part.l,
		  mac, &maclen) ||
	    maclen != 32)
		return false;
	return CRYPTO_memcmp(mac, sig, 32) == 0;
}

static bool verify_es256(const struct wims_jwt_keys *k, struct wims_str signed_part, const unsigned char *sig,
			 long siglen)
{
	bool ok = false;
	unsigned char der[80];
	if (!k->es256 || siglen != 64)
		return false;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
	if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return false;
	}
	unsigned char *p = der;
	int dl = i2d_ECDSA_SIG(es, NULL);
	if (dl > 0 && dl <= (int)sizeof(der) && i2d_ECDSA_SIG(es, &p) == dl) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->es256) == 1 &&
		     EVP_DigestVerify(md, der, (size_t)dl, (const unsigned char *)signed_part.p, signed_part.l) == 1;
		EVP_MD_CTX_free(md);
	}
	ECDSA_SIG_free(es);
	return ok;
}

static bool aud_ok(json_t *aud, const char *want)
{
	if (!want)
		return true;
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (json_is_array(aud)) {
		size_t i;
		json_t *v;
		json_array_foreach(aud, i, v) if (json_is_string(v) && strcmp(json_string_value(v), want) == 0) return true;
	}
	return false;
}

static int claims(const struct wims_jwt_keys *k, json_t *pl, int64_t now, struct wims_jwt_claims *c,
		  const char **why)
{
	json_t *exp = json_object_get(pl, "exp"), *nbf = json_object_get(pl, "nbf");
	json_t *sub = json_object_get(pl, "sub"), *impi = json_object_get(pl, "impi");
	memset(c, 0, sizeof(*c));
	if ((exp && !json_is_integer(exp)) || (nbf && !json_is_integer(nbf))) {
		*why = "exp/nbf not numbers";
		return -EBADMSG;
	}
	c->exp = exp ? json_integer_value(exp) : 0;
	c->nbf = nbf ? json_integer_value(nbf) : 0;
	if (!exp) { /* a token that never expires is not accepted */
		*why = "no exp";
		return -ETIME;
	}
	if (now > c->exp + (int64_t)k->leeway_s) {
		*why = "expired";
		return -ETIME;
	}
	if (nbf && now + (int64_t)k->leeway_s < c->nbf) {
		*why = "not yet valid";
		return -ETIME;
	}
	if (!aud_ok(json_object_get(pl, "aud"), k->audience)) {
		*why = "wrong audience";
		return -EACCES;
	}
	if (!json_is_string(sub) || json_string_length(sub) >= sizeof(c->sub) ||
	    strncmp(json_string_value(sub), "sip:", 4) != 0) {
		*why = "no sip: sub";
		return -ENOENT;
	}
	memcpy(c->sub, json_string_value(sub), json_string_length(sub) + 1);
	if (json_is_string(impi) && json_string_length(impi) < sizeof(c->impi)) {
		memcpy(c->impi, json_string_value(impi), json_string_length(impi) + 1);
	} else {
		const char *at = strchr(c->sub + 4, '@');
		size_t n = at ? (size_t)(at - (c->sub + 4)) : strlen(c->sub + 4);
		if (n >= sizeof(c->impi))
			n = sizeof(c->impi) - 1;
		memcpy(c->impi, c->sub + 4, n);
		c->impi[n] = 0;
	}
	return 0;
}

int wims_jwt_verify(const struct wims_jwt_keys *keys, struct wims_str token, int64_t now,
		    struct wims_jwt_claims *c, const char **why)
{
	static const char *dummy;
	unsigned char buf[WIMS_JWT_MAX];
	if (!why)
		why = &dummy;
	*why = "malformed";
	if (token.l == 0 || token.l > WIMS_JWT_MAX)
		return -EBADMSG;
	const char *d1 = memchr(token.p, '.', token.l);
	const char *d2 = d1 ? memchr(d1 + 1, '.', token.l - (size_t)(d1 + 1 - token.p)) : NULL;
	if (!d1 || !d2)
		return -EBADMSG;
	struct wims_str h = {token.p, (size_t)(d1 - token.p)}, p = {d1 + 1, (size_t)(d2 - d1 - 1)},
			sg = {d2 + 1, token.l - (size_t)(d2 + 1 - token.p)}, signed_part = {token.p, (size_t)(d2 - token.p)};
	unsigned char sig[128];
	long siglen = b64url_decode(sg, sig, sizeof(sig));
	json_t *hj = json_part(h, buf, sizeof(buf));
	if (!hj || siglen < 0)
		goto bad;
	json_t *alg = json_object_get(hj, "alg");
	const char *a = json_is_string(alg) ? json_string_value(alg) : "";
	bool sig_ok = !strcmp(a, "HS256") ? verify_hs256(keys, signed_part, sig, siglen)
		    : !strcmp(a, "ES256") ? verify_es256(keys, signed_part, sig, siglen) : false;
	json_decref(hj);
	if (!sig_ok) {
		*why = "bad signature or algorithm not accepted";
		return -EPERM;
	}
	json_t *pj = json_part(p, buf, sizeof(buf));
	if (!pj)
		return -EBADMSG;
	int rc = claims(keys, pj, now, c, why);
	json_decref(pj);
	return rc;
bad:
	json_decref(hj);
	return -EBADMSG;
}
