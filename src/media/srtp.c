/* SRTP/SRTCP through libsrtp2, and SDES key lines (RFC 4568).
 *
 * libsrtp2 wants the master key and salt contiguous (key || salt); each
 * wims_srtp is one srtp_t with a single ssrc_any_{in,out}bound stream
 * template, so a session follows SSRC changes without reconfiguration. */
#include "media/srtp.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <srtp2/srtp.h>

#include "base/log.h"

struct wims_srtp {
	srtp_t ctx;
	size_t tag_len;	     /* RTP tag (10, 4 or 16) */
	size_t rtcp_tag_len; /* SRTCP tag (10 or 16; _32 uses an 80-bit SRTCP tag) */
	bool outbound;
};

static pthread_once_t srtp_once = PTHREAD_ONCE_INIT;
static int srtp_init_rc; /* written once under srtp_once */

static void srtp_global_init_once(void)
{
	srtp_init_rc = srtp_init() == srtp_err_status_ok ? 0 : -EIO;
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

/* RFC 5764 §4.1.2: SRTP_AES128_CM_HMAC_SHA1_32 keeps an 80-bit SRTCP tag. */
static int set_policy(srtp_policy_t *pol, int profile, struct wims_srtp *s)
{
	switch (profile) {
	case WIMS_SRTP_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtcp);
		s->tag_len = 10;
		s->rtcp_tag_len = 10;
		return 0;
	case WIMS_SRTP_AES_CM_128_HMAC_SHA1_32:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtcp);
		s->tag_len = 4;
		s->rtcp_tag_len = 10;
		return 0;
	case WIMS_SRTP_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtcp);
		s->tag_len = 16;
		s->rtcp_tag_len = 16;
		return 0;
	default:
		return -EINVAL;
	}
}

int wims_srtp_new(struct wims_srtp **sp, int profile, const uint8_t *key, const uint8_t *salt, bool outbound)
{
	uint8_t master[WIMS_SRTP_MAX_KEY + WIMS_SRTP_MAX_SALT];
	srtp_policy_t pol;
	struct wims_srtp *s;
	size_t kl, sl;
	int rc;

	*sp = NULL;
	if (!key || !salt || wims_srtp_key_len(profile, &kl, &sl) != 0)
		return -EINVAL;
	rc = wims_srtp_global_init();
	if (rc)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(&pol, 0, sizeof(pol));
	(void)set_policy(&pol, profile, s);
	memcpy(master, key, kl);
	memcpy(master + kl, salt, sl);
	pol.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
	pol.key = master;
	pol.window_size = 1024;
	pol.allow_repeat_tx = 0;
	pol.next = NULL;
	s->outbound = outbound;
	rc = srtp_create(&s->ctx, &pol) == srtp_err_status_ok ? 0 : -EINVAL;
	OPENSSL_cleanse(master, sizeof(master));
	if (rc) {
		free(s);
		return rc;
	}
	*sp = s;
	return 0;
}

void wims_srtp_free(struct wims_srtp *s)
{
	if (!s)
		return;
	srtp_dealloc(s->ctx);
	free(s);
}

static int map_err(srtp_err_status_t st)
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

/* libsrtp takes an int length; refuse anything that would not fit. */
static int check_len(size_t len, size_t min, size_t room, size_t cap)
{
	if (len < min || len > INT_MAX / 2)
		return -EBADMSG;
	if (cap < len || cap - len < room)
		return -ENOSPC;
	return 0;
}

int wims_srtp_protect_rtp(struct wims_srtp *s, uint8_t *pkt, size_t *len, size_t cap)
{
	int n, rc = check_len(*len, 12, s->tag_len, cap);

	if (rc)
		return rc;
	if (!s->outbound)
		return -EINVAL;
	n = (int)*len;
	rc = map_err(srtp_protect(s->ctx, pkt, &n));
	if (rc == 0)
		*len = (size_t)n;
	return rc;
}

int wims_srtp_unprotect_rtp(struct wims_srtp *s, uint8_t *pkt, size_t *len)
{
	int n, rc = check_len(*len, 12 + s->tag_len, 0, *len);

	if (rc)
		return rc;
	if (s->outbound)
		return -EINVAL;
	n = (int)*len;
	rc = map_err(srtp_unprotect(s->ctx, pkt, &n));
	if (rc == 0)
		*len = (size_t)n;
	return rc;
}

int wims_srtp_protect_rtcp(struct wims_srtp *s, uint8_t *pkt, size_t *len, size_t cap)
{
	int n, rc = check_len(*len, 8, s->rtcp_tag_len + 4, cap);

	if (rc)
		return rc;
	if (!s->outbound)
		return -EINVAL;
	n = (int)*len;
	rc = map_err(srtp_protect_rtcp(s->ctx, pkt, &n));
	if (rc == 0)
		*len = (size_t)n;
	return rc;
}

int wims_srtp_unprotect_rtcp(struct wims_srtp *s, uint8_t *pkt, size_t *len)
{
	int n, rc = check_len(*len, 8 + 4 + s->rtcp_tag_len, 0, *len);

	if (rc)
		return rc;
	if (s->outbound)
		return -EINVAL;
	n = (int)*len;
	rc = map_err(srtp_unprotect_rtcp(s->ctx, pkt, &n));
	if (rc == 0)
		*len = (size_t)n;
	return rc;
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
