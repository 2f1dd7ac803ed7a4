/* SRTP profiles and SDES key lines (RFC 4568).  The SRTP/SRTCP transform
 * itself (wims_srtp_new .. wims_srtp_unprotect_rtcp) is in srtp_evp.c, on
 * OpenSSL EVP; libsrtp2 is only the test oracle. */
#include "media/srtp.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/log.h"

static pthread_once_t srtp_once = PTHREAD_ONCE_INIT;
static int srtp_init_rc; /* written once under srtp_once */

static void srtp_global_init_once(void)
{
	srtp_init_rc = OPENSSL_init_crypto(0, NULL) == 1 ? 0 : -EIO;
}

int wims_srtp_global_init(void)
{
	pthread_once(&srtp_once, srtp_global_init_once);
	return srtp_init_rc;
}

int wims_srtp_key_len(int profile, size_t *key_len, size_t *salt_len)
{
	switch (profile) {
	case WIMS_SRTP_AES_CM_128_HMAC_SHA1_80:
	case WIMS_SRTP_AES_CM_128_HMAC_SHA1_32:
		*key_len = 16;
		*salt_len = 14;
		return 0;
	case WIMS_SRTP_AEAD_AES_128_GCM:
		*key_len = 16;
		*salt_len = 12;
		return 0;
	default:
		return -EINVAL;
	}
}

const char *wims_srtp_profile_name(int profile)
{
	switch (profile) {
	case WIMS_SRTP_AES_CM_128_HMAC_SHA1_80:
		return "AES_CM_128_HMAC_SHA1_80";
	case WIMS_SRTP_AES_CM_128_HMAC_SHA1_32:
		return "AES_CM_128_HMAC_SHA1_32";
	case WIMS_SRTP_AEAD_AES_128_GCM:
		return "AEAD_AES_128_GCM";
	default:
		return NULL;
	}
}

/* --- SDES --------------------------------------------------------------- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(char c)
{
	const char *q = c ? strchr(b64chars, c) : NULL;

	return q ? (int)(q - b64chars) : -1;
}

/* Strict base64 (RFC 4648 §4, padding required) of s into out (exactly want bytes). */
static int b64_decode(struct wims_str s, uint8_t *out, size_t want)
{
	size_t n = 0;
	uint32_t acc = 0;
	unsigned bits = 0, pad = 0;

	if (s.l == 0 || s.l % 4 != 0)
		return -EINVAL;
	for (size_t i = 0; i < s.l; i++) {
		int v;

		if (s.p[i] == '=') {
			if (i + 2 < s.l || ++pad > 2)
				return -EINVAL;
			continue;
		}
		if (pad || (v = b64val(s.p[i])) < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == want)
				return -EINVAL;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n == want ? 0 : -EINVAL;
}

static size_t b64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t rem = len - i;

		if (rem > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (rem > 2)
			v |= in[i + 2];
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = rem > 1 ? b64chars[v >> 6 & 63] : '=';
		out[o++] = rem > 2 ? b64chars[v & 63] : '=';
	}
	return o;
}

static int suite_profile(struct wims_str suite)
{
	for (int p = WIMS_SRTP_AES_CM_128_HMAC_SHA1_80; p <= WIMS_SRTP_AEAD_AES_128_GCM; p++)
		if (wims_str_eqic(suite, wims_srtp_profile_name(p)))
			return p;
	return -1;
}

int wims_srtp_sdes_parse(struct wims_str suite, struct wims_str key_params, int *profile, uint8_t *key,
			 uint8_t *salt)
{
	uint8_t raw[WIMS_SRTP_MAX_KEY + WIMS_SRTP_MAX_SALT];
	struct wims_str kp = wims_str_trim(key_params), b64;
	size_t kl, sl, bar;
	int prof = suite_profile(wims_str_trim(suite));

	if (prof < 0 || wims_srtp_key_len(prof, &kl, &sl) != 0)
		return -ENOTSUP;
	/* RFC 4568 §9.2: key-params = "inline:" key-info; only one key-param used. */
	if (kp.l < 7 || strncasecmp(kp.p, "inline:", 7) != 0)
		return -EINVAL;
	kp.p += 7;
	kp.l -= 7;
	for (bar = 0; bar < kp.l && kp.p[bar] != '|' && kp.p[bar] != ';'; bar++)
		;
	b64 = wims_str_make(kp.p, bar);
	if (bar < kp.l && kp.p[bar] == ';')
		return -ENOTSUP; /* several keys */
	/* "|lifetime" then "|MKI:len": lifetime is ignored, an MKI is refused. */
	for (size_t i = bar; i < kp.l; i++)
		if (kp.p[i] == ':')
			return -ENOTSUP;
	if (b64_decode(b64, raw, kl + sl) != 0)
		return -EINVAL;
	memcpy(key, raw, kl);
	memcpy(salt, raw + kl, sl);
	OPENSSL_cleanse(raw, sizeof(raw));
	*profile = prof;
	return 0;
}

int wims_srtp_sdes_generate(int profile, uint8_t *key, uint8_t *salt, char *line, size_t cap)
{
	uint8_t raw[WIMS_SRTP_MAX_KEY + WIMS_SRTP_MAX_SALT];
	char enc[((sizeof(raw) + 2) / 3) * 4];
	const char *name = wims_srtp_profile_name(profile);
	size_t kl, sl, nl, el;

	if (!name || wims_srtp_key_len(profile, &kl, &sl) != 0)
		return -EINVAL;
	if (RAND_bytes(raw, (int)(kl + sl)) != 1)
		return -EIO;
	el = b64_encode(raw, kl + sl, enc);
	nl = strlen(name);
	if (cap < nl + 8 + el + 1) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return -ENOSPC;
	}
	memcpy(line, name, nl);
	memcpy(line + nl, " inline:", 8);
	memcpy(line + nl + 8, enc, el);
	line[nl + 8 + el] = '\0';
	memcpy(key, raw, kl);
	memcpy(salt, raw + kl, sl);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}
