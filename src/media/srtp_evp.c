/* SRTP and SRTCP (RFC 3711, RFC 7714) on OpenSSL's EVP, byte for byte as
 * libsrtp2 (tests/unit/media/test_srtp.c holds libsrtp2 as the oracle).
 *
 * Debian's libsrtp2 runs on NSS and builds a PK11 context per packet; here
 * each session key gets one EVP_CIPHER_CTX (AES-128-CTR or AES-128-GCM)
 * made in wims_srtp_new and re-armed per packet with a new IV, and
 * HMAC-SHA1 runs from inner/outer SHA-1 states hashed once per key (as
 * src/media/stun.c does), so the packet path neither allocates nor locks.
 *
 * Per-SSRC state follows libsrtp's ssrc_any_{in,out}bound: the first
 * packet of an SSRC makes its stream (inbound: once the packet
 * authenticates).  At most WIMS_SRTP__STREAMS SSRCs are kept: inbound, the
 * least recently used one is replaced; outbound, a new SSRC beyond them is
 * refused (-EIO) rather than risk reusing an index of a replaced one.  Replay windows: 1024 RTP indices
 * (libsrtp's rdbx as wims_srtp_new always configured it), 128 SRTCP
 * indices (libsrtp's rdb). */
#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA1_Init & co: no allocation, unlike EVP_MAC */
#endif
#include "media/srtp.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#define WIMS_SRTP__STREAMS 8
#define RTP_WINDOW 1024 /* libsrtp rdbx window_size, as set before */
#define RTCP_WINDOW 128 /* libsrtp rdb_bits_in_bitmask */
#define SRTCP_E 0x80000000u
#define SRTCP_INDEX_MAX 0x7fffffffu
#define SEQ_MEDIAN 0x8000 /* libsrtp seq_num_median */
#define HMAC_KEY_LEN 20
#define GCM_TAG 16

/* Session keys of RTP or of RTCP (RFC 3711 §4.3). */
struct srtp_keys {
	EVP_CIPHER_CTX *c; /* AES-128-CTR or AES-128-GCM keyed with the session key */
	SHA_CTX ipad, opad;
	uint8_t salt[WIMS_SRTP_MAX_SALT]; /* session salt: 14 (AES-CM) or 12 (GCM) bytes */
	size_t salt_len, tag_len;
};

struct srtp_stream {
	uint32_t ssrc;
	bool used;
	uint64_t last_use;
	uint64_t rtp_index;		     /* highest RTP index, ROC << 16 | SEQ (48 bits) */
	uint64_t rtp_win[RTP_WINDOW / 64];   /* bit d: index rtp_index - d was seen */
	uint32_t rtcp_index;		     /* out: last SRTCP index sent; in: window start */
	uint64_t rtcp_win[RTCP_WINDOW / 64]; /* in: bit d: index rtcp_index + d was seen */
};

struct wims_srtp {
	bool outbound, gcm;
	struct srtp_keys rtp, rtcp;
	uint64_t clock; /* use counter for least-recently-used replacement */
	struct srtp_stream st[WIMS_SRTP__STREAMS];
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- keys ---------------------------------------------------------------- */

/* AES-128-CTR keystream XORed into p[0..n) under iv (one EVP call pair). */
static int ctr_xor(EVP_CIPHER_CTX *c, const uint8_t iv[16], uint8_t *p, size_t n)
{
	int ol;

	if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1)
		return -EIO;
	if (n && EVP_EncryptUpdate(c, p, &ol, p, (int)n) != 1)
		return -EIO;
	return 0;
}

/* RFC 3711 §4.3.1 with key_derivation_rate 0 (RFC 7714 §11 for GCM, whose
 * 12-byte master salt is padded with zeros as libsrtp does): AES-CM keystream
 * of the master key at IV = (master salt XOR label << 48) << 16. */
static int kdf(EVP_CIPHER_CTX *c, const uint8_t msalt[14], uint8_t label, uint8_t *out, size_t n)
{
	uint8_t iv[16] = {0};

	memcpy(iv, msalt, 14);
	iv[7] ^= label;
	memset(out, 0, n);
	return ctr_xor(c, iv, out, n);
}

static void hmac_init(struct srtp_keys *k, const uint8_t key[HMAC_KEY_LEN])
{
	uint8_t pad[SHA_CBLOCK];

	for (int j = 0; j < 2; j++) {
		memset(pad, j ? 0x5c : 0x36, sizeof(pad));
		for (size_t i = 0; i < HMAC_KEY_LEN; i++)
			pad[i] ^= key[i];
		SHA1_Init(j ? &k->opad : &k->ipad);
		SHA1_Update(j ? &k->opad : &k->ipad, pad, sizeof(pad));
	}
	OPENSSL_cleanse(pad, sizeof(pad));
}

/* HMAC-SHA1 of a || b with the prepared pads. */
static void hmac(const struct srtp_keys *k, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
		 uint8_t out[SHA_DIGEST_LENGTH])
{
	SHA_CTX c;
	uint8_t inner[SHA_DIGEST_LENGTH];

	c = k->ipad;
	SHA1_Update(&c, a, an);
	SHA1_Update(&c, b, bn);
	SHA1_Final(inner, &c);
	c = k->opad;
	SHA1_Update(&c, inner, sizeof(inner));
	SHA1_Final(out, &c);
}

/* Derive one direction's session keys (labels base, base+1, base+2) and make its cipher. */
static int keys_init(struct srtp_keys *k, EVP_CIPHER_CTX *m, const uint8_t msalt[14], uint8_t base, bool gcm,
		     bool outbound)
{
	uint8_t ekey[16], akey[HMAC_KEY_LEN];
	int rc = -EIO;

	k->salt_len = gcm ? 12 : 14;
	k->c = EVP_CIPHER_CTX_new();
	if (!k->c)
		return -ENOMEM;
	if (kdf(m, msalt, base, ekey, sizeof(ekey)) ||
	    kdf(m, msalt, (uint8_t)(base + 2), k->salt, k->salt_len))
		goto out;
	if (!gcm) {
		if (kdf(m, msalt, (uint8_t)(base + 1), akey, sizeof(akey)))
			goto out;
		hmac_init(k, akey);
		if (EVP_EncryptInit_ex(k->c, EVP_aes_128_ctr(), NULL, ekey, NULL) != 1)
			goto out;
	} else if (EVP_CipherInit_ex(k->c, EVP_aes_128_gcm(), NULL, ekey, NULL, outbound ? 1 : 0) != 1) {
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(ekey, sizeof(ekey));
	OPENSSL_cleanse(akey, sizeof(akey));
	return rc;
}

static void keys_free(struct srtp_keys *k)
{
	EVP_CIPHER_CTX_free(k->c);
	k->c = NULL;
}

/* Master key/salt to RTP (labels 0-2) and RTCP (labels 3-5) session keys. */
static int derive(struct wims_srtp *s, const uint8_t *key, const uint8_t *salt, size_t salt_len)
{
	uint8_t msalt[14] = {0};
	EVP_CIPHER_CTX *m = EVP_CIPHER_CTX_new();
	int rc = -ENOMEM;

	if (!m)
		return rc;
	memcpy(msalt, salt, salt_len);
	rc = EVP_EncryptInit_ex(m, EVP_aes_128_ctr(), NULL, key, NULL) == 1 ? 0 : -EIO;
	if (!rc)
		rc = keys_init(&s->rtp, m, msalt, 0, s->gcm, s->outbound);
	if (!rc)
		rc = keys_init(&s->rtcp, m, msalt, 3, s->gcm, s->outbound);
	EVP_CIPHER_CTX_free(m);
	OPENSSL_cleanse(msalt, sizeof(msalt));
	return rc;
}

int wims_srtp_new(struct wims_srtp **sp, int profile, const uint8_t *key, const uint8_t *salt, bool outbound)
{
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
	s->outbound = outbound;
	s->gcm = profile == WIMS_SRTP_AEAD_AES_128_GCM;
	/* RFC 5764 §4.1.2: SRTP_AES128_CM_HMAC_SHA1_32 keeps an 80-bit SRTCP tag. */
	s->rtp.tag_len = s->gcm ? GCM_TAG : profile == WIMS_SRTP_AES_CM_128_HMAC_SHA1_32 ? 4 : 10;
	s->rtcp.tag_len = s->gcm ? GCM_TAG : 10;
	rc = derive(s, key, salt, sl);
	if (rc) {
		wims_srtp_free(s);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	*sp = s;
	return 0;
}

void wims_srtp_free(struct wims_srtp *s)
{
	if (!s)
		return;
	keys_free(&s->rtp);
	keys_free(&s->rtcp);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

/* ---- streams and replay windows ------------------------------------------- */

static void stream_reset(struct srtp_stream *st, uint32_t ssrc)
{
	memset(st, 0, sizeof(*st));
	st->ssrc = ssrc;
	st->used = true;
}

static struct srtp_stream *stream_find(struct wims_srtp *s, uint32_t ssrc)
{
	for (size_t i = 0; i < WIMS_SRTP__STREAMS; i++)
		if (s->st[i].used && s->st[i].ssrc == ssrc) {
			s->st[i].last_use = ++s->clock;
			return &s->st[i];
		}
	return NULL;
}

/* A fresh stream for ssrc in a free slot or, inbound, in the least recently
 * used one.  An outbound stream is never replaced: its SSRC coming back
 * would restart at index 0 and reuse keystream (or, with GCM, a nonce), so
 * a sender with all slots taken refuses new SSRCs (NULL). */
static struct srtp_stream *stream_add(struct wims_srtp *s, uint32_t ssrc)
{
	struct srtp_stream *v = NULL;

	for (size_t i = 0; i < WIMS_SRTP__STREAMS; i++) {
		if (!s->st[i].used) {
			v = &s->st[i];
			break;
		}
		if (!v || s->st[i].last_use < v->last_use)
			v = &s->st[i];
	}
	if (v->used && s->outbound)
		return NULL;
	stream_reset(v, ssrc);
	v->last_use = ++s->clock;
	return v;
}

/* RFC 3711 §3.3.1 index estimate as libsrtp's srtp_rdbx_estimate_index:
 * *est is the 48-bit index for seq, the return value its distance from the
 * highest index seen. */
static int32_t rtp_estimate(const struct srtp_stream *st, uint16_t seq, uint64_t *est)
{
	uint32_t roc = (uint32_t)(st->rtp_index >> 16), groc = roc;
	int32_t lseq = (int32_t)(st->rtp_index & 0xffff), d = (int32_t)seq - lseq;

	if (st->rtp_index <= SEQ_MEDIAN) {
		*est = seq;
		return (int32_t)seq - (int32_t)st->rtp_index;
	}
	if (lseq < SEQ_MEDIAN) {
		if (d > SEQ_MEDIAN) {
			groc = roc - 1;
			d -= 0x10000;
		}
	} else if (lseq - SEQ_MEDIAN > (int32_t)seq) {
		groc = roc + 1;
		d += 0x10000;
	}
	*est = (uint64_t)groc << 16 | seq;
	return d;
}

static bool win_bit(const uint64_t *w, unsigned d)
{
	return w[d / 64] >> (d % 64) & 1;
}

static void win_set(uint64_t *w, unsigned d)
{
	w[d / 64] |= (uint64_t)1 << (d % 64);
}

/* libsrtp srtp_rdbx_check: 0, or -EALREADY for a replayed or too old index. */
static int rtp_check(const struct srtp_stream *st, int32_t delta)
{
	if (delta > 0)
		return 0;
	if (delta <= -RTP_WINDOW || win_bit(st->rtp_win, (unsigned)-delta))
		return -EALREADY;
	return 0;
}

/* libsrtp srtp_rdbx_add_index: advance the window or mark an index in it. */
static void rtp_add(struct srtp_stream *st, int32_t delta)
{
	uint64_t *w = st->rtp_win;
	const unsigned n = RTP_WINDOW / 64;

	if (delta <= 0) {
		win_set(w, (unsigned)-delta);
		return;
	}
	st->rtp_index += (uint16_t)delta;
	if (delta >= RTP_WINDOW) {
		memset(st->rtp_win, 0, sizeof(st->rtp_win));
	} else {
		unsigned ws = (unsigned)delta / 64, bs = (unsigned)delta % 64;

		for (unsigned i = n; i-- > 0;) {
			uint64_t v = i >= ws ? w[i - ws] << bs : 0;

			if (bs && i > ws)
				v |= w[i - ws - 1] >> (64 - bs);
			w[i] = v;
		}
	}
	win_set(w, 0);
}

/* libsrtp srtp_rdb_check for SRTCP. */
static int rtcp_check(const struct srtp_stream *st, uint32_t idx)
{
	if (idx >= st->rtcp_index + RTCP_WINDOW)
		return 0;
	if (idx < st->rtcp_index || win_bit(st->rtcp_win, idx - st->rtcp_index))
		return -EALREADY;
	return 0;
}

/* libsrtp srtp_rdb_add_index: the window's top bit is the newest index. */
static void rtcp_add(struct srtp_stream *st, uint32_t idx)
{
	uint64_t *w = st->rtcp_win;
	uint32_t delta;

	if (idx < st->rtcp_index)
		return;
	delta = idx - st->rtcp_index;
	if (delta < RTCP_WINDOW) {
		win_set(w, delta);
		return;
	}
	delta -= RTCP_WINDOW - 1;
	if (delta >= RTCP_WINDOW) {
		w[0] = w[1] = 0;
	} else if (delta >= 64) {
		w[0] = w[1] >> (delta - 64);
		w[1] = 0;
	} else if (delta) {
		w[0] = w[0] >> delta | w[1] << (64 - delta);
		w[1] >>= delta;
	}
	win_set(w, RTCP_WINDOW - 1);
	st->rtcp_index += delta;
}

/* ---- transforms -------------------------------------------------------------- */

/* IV: session salt XOR (SSRC << 64 | index << 16) for AES-CM (RFC 3711
 * §4.1.1); salt XOR (00 00 || SSRC || index48) for GCM (RFC 7714 §8.1, §9.1,
 * where an SRTCP index fills the low 31 bits of the 48). */
static void make_iv(uint8_t iv[16], const struct srtp_keys *k, bool gcm, uint32_t ssrc, uint64_t idx)
{
	size_t off = gcm ? 2 : 4;

	memset(iv, 0, 16);
	put32(iv + off, ssrc);
	put32(iv + off + 4, (uint32_t)(idx >> 16));
	iv[off + 8] = (uint8_t)(idx >> 8);
	iv[off + 9] = (uint8_t)idx;
	for (size_t i = 0; i < k->salt_len; i++)
		iv[i] ^= k->salt[i];
}

/* AES-GCM over p[0..n) in place with AAD a || b; tag written (seal) or checked (open). */
static int gcm(EVP_CIPHER_CTX *c, bool seal, const uint8_t iv[12], const uint8_t *a, size_t an,
	       const uint8_t *b, size_t bn, uint8_t *p, size_t n, uint8_t *tag)
{
	uint8_t fin[16];
	int ol;

	if (EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, -1) != 1 ||
	    (an && EVP_CipherUpdate(c, NULL, &ol, a, (int)an) != 1) ||
	    (bn && EVP_CipherUpdate(c, NULL, &ol, b, (int)bn) != 1) ||
	    (n && EVP_CipherUpdate(c, p, &ol, p, (int)n) != 1))
		return -EIO;
	if (seal)
		return EVP_CipherFinal_ex(c, fin, &ol) == 1 &&
			       EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GCM_TAG, tag) == 1
			   ? 0
			   : -EIO;
	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GCM_TAG, tag) != 1)
		return -EIO;
	return EVP_CipherFinal_ex(c, fin, &ol) == 1 ? 0 : -EPERM;
}

/* libsrtp srtp_validate_rtp_header: *hl = 12 + 4 CC [+ 4 + extension]
 * within len, else -EBADMSG. */
static int rtp_hdr_len(const uint8_t *p, size_t len, size_t *hl)
{
	size_t n = 12 + 4 * (size_t)(p[0] & 0x0f);

	if (len < n)
		return -EBADMSG;
	if (p[0] & 0x10) {
		if (len < n + 4)
			return -EBADMSG;
		n += 4 + 4 * (size_t)get16(p + n + 2);
		if (len < n)
			return -EBADMSG;
	}
	*hl = n;
	return 0;
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
	const struct srtp_keys *k = &s->rtp;
	uint8_t iv[16], roc[4], mac[SHA_DIGEST_LENGTH];
	struct srtp_stream *st;
	uint32_t ssrc;
	uint64_t est;
	int32_t delta;
	size_t hl, n = *len;
	int rc = check_len(n, 12, k->tag_len, cap);

	if (rc)
		return rc;
	if (!s->outbound)
		return -EINVAL;
	if ((rc = rtp_hdr_len(pkt, n, &hl)) != 0)
		return rc;
	ssrc = get32(pkt + 8);
	st = stream_find(s, ssrc);
	if (!st && !(st = stream_add(s, ssrc)))
		return -EIO; /* a ninth SSRC */
	delta = rtp_estimate(st, get16(pkt + 2), &est);
	if ((rc = rtp_check(st, delta)) != 0)
		return rc;
	rtp_add(st, delta);
	make_iv(iv, k, s->gcm, ssrc, est);
	if (s->gcm) {
		rc = gcm(k->c, true, iv, pkt, hl, NULL, 0, pkt + hl, n - hl, pkt + n);
	} else {
		rc = ctr_xor(k->c, iv, pkt + hl, n - hl);
		put32(roc, (uint32_t)(est >> 16));
		hmac(k, pkt, n, roc, sizeof(roc), mac);
		memcpy(pkt + n, mac, k->tag_len);
	}
	if (rc == 0)
		*len = n + k->tag_len;
	return rc;
}

int wims_srtp_unprotect_rtp(struct wims_srtp *s, uint8_t *pkt, size_t *len)
{
	const struct srtp_keys *k = &s->rtp;
	uint8_t iv[16], roc[4], mac[SHA_DIGEST_LENGTH], tag[GCM_TAG];
	struct srtp_stream fresh, *st;
	uint32_t ssrc;
	uint64_t est;
	int32_t delta;
	size_t hl, n = *len - k->tag_len;
	int rc = check_len(*len, 12 + k->tag_len, 0, *len);

	if (rc)
		return rc;
	if (s->outbound)
		return -EINVAL;
	/* As libsrtp: header checked against the whole packet, the replay
	 * window before the header is checked against what precedes the tag. */
	if ((rc = rtp_hdr_len(pkt, *len, &hl)) != 0)
		return rc;
	ssrc = get32(pkt + 8);
	st = stream_find(s, ssrc);
	if (!st) {
		stream_reset(&fresh, ssrc);
		st = &fresh;
	}
	delta = rtp_estimate(st, get16(pkt + 2), &est);
	if ((rc = rtp_check(st, delta)) != 0)
		return rc;
	if (hl > n)
		return -EBADMSG;
	make_iv(iv, k, s->gcm, ssrc, est);
	if (s->gcm) {
		memcpy(tag, pkt + n, GCM_TAG);
		rc = gcm(k->c, false, iv, pkt, hl, NULL, 0, pkt + hl, n - hl, tag);
	} else {
		put32(roc, (uint32_t)(est >> 16));
		hmac(k, pkt, n, roc, sizeof(roc), mac);
		rc = CRYPTO_memcmp(mac, pkt + n, k->tag_len) ? -EPERM : ctr_xor(k->c, iv, pkt + hl, n - hl);
	}
	if (rc)
		return rc;
	if (st == &fresh) {
		st = stream_add(s, ssrc);
		*st = fresh;
		st->last_use = s->clock;
	}
	rtp_add(st, delta);
	*len = n;
	return 0;
}

int wims_srtp_protect_rtcp(struct wims_srtp *s, uint8_t *pkt, size_t *len, size_t cap)
{
	const struct srtp_keys *k = &s->rtcp;
	uint8_t iv[16], tr[4], mac[SHA_DIGEST_LENGTH];
	struct srtp_stream *st;
	uint32_t ssrc;
	size_t n = *len;
	int rc = check_len(n, 8, k->tag_len + 4, cap);

	if (rc)
		return rc;
	if (!s->outbound)
		return -EINVAL;
	ssrc = get32(pkt + 4);
	st = stream_find(s, ssrc);
	if (!st && !(st = stream_add(s, ssrc)))
		return -EIO; /* a ninth SSRC */
	if (st->rtcp_index >= SRTCP_INDEX_MAX)
		return -EIO; /* libsrtp: key expired */
	st->rtcp_index++;
	put32(tr, SRTCP_E | st->rtcp_index);
	make_iv(iv, k, s->gcm, ssrc, st->rtcp_index);
	if (s->gcm) {
		/* RFC 7714 §9: header || ciphertext || tag || E+index; AAD header || E+index. */
		rc = gcm(k->c, true, iv, pkt, 8, tr, 4, pkt + 8, n - 8, pkt + n);
		memcpy(pkt + n + GCM_TAG, tr, 4);
	} else {
		rc = ctr_xor(k->c, iv, pkt + 8, n - 8);
		memcpy(pkt + n, tr, 4);
		hmac(k, pkt, n + 4, NULL, 0, mac);
		memcpy(pkt + n + 4, mac, k->tag_len);
	}
	if (rc == 0)
		*len = n + 4 + k->tag_len;
	return rc;
}

/* Verify and decrypt an SRTCP packet of n bytes (tag and index included). */
static int rtcp_open(struct wims_srtp *s, uint8_t *pkt, size_t n, uint32_t ssrc, uint32_t t)
{
	const struct srtp_keys *k = &s->rtcp;
	uint8_t iv[16], mac[SHA_DIGEST_LENGTH], tag[GCM_TAG];
	size_t body = n - 4 - k->tag_len; /* header and payload */

	make_iv(iv, k, s->gcm, ssrc, t & SRTCP_INDEX_MAX);
	if (s->gcm) {
		/* RFC 7714 §9.3: without the E bit the whole packet is AAD. */
		uint8_t tr[4];
		size_t aad = t & SRTCP_E ? 8 : body;

		memcpy(tag, pkt + body, GCM_TAG);
		memcpy(tr, pkt + n - 4, 4);
		return gcm(k->c, false, iv, pkt, aad, tr, 4, pkt + aad, body - aad, tag);
	}
	hmac(k, pkt, n - k->tag_len, NULL, 0, mac);
	if (CRYPTO_memcmp(mac, pkt + n - k->tag_len, k->tag_len))
		return -EPERM;
	return t & SRTCP_E ? ctr_xor(k->c, iv, pkt + 8, body - 8) : 0;
}

int wims_srtp_unprotect_rtcp(struct wims_srtp *s, uint8_t *pkt, size_t *len)
{
	const struct srtp_keys *k = &s->rtcp;
	struct srtp_stream fresh, *st;
	uint32_t ssrc, t;
	int rc = check_len(*len, 8 + 4 + k->tag_len, 0, *len);

	if (rc)
		return rc;
	if (s->outbound)
		return -EINVAL;
	ssrc = get32(pkt + 4);
	/* E+index follows the tag with GCM (RFC 7714 §9), precedes it with AES-CM. */
	t = get32(pkt + *len - 4 - (s->gcm ? 0 : k->tag_len));
	/* As libsrtp's AES-CM path: an E bit other than our policy's (always
	 * encrypt) cannot be checked (srtp_err_status_cant_check, was -EIO). */
	if (!s->gcm && !(t & SRTCP_E))
		return -EIO;
	st = stream_find(s, ssrc);
	if (!st) {
		stream_reset(&fresh, ssrc);
		st = &fresh;
	}
	if ((rc = rtcp_check(st, t & SRTCP_INDEX_MAX)) != 0)
		return rc;
	if ((rc = rtcp_open(s, pkt, *len, ssrc, t)) != 0)
		return rc;
	if (st == &fresh) {
		st = stream_add(s, ssrc);
		*st = fresh;
		st->last_use = s->clock;
	}
	rtcp_add(st, t & SRTCP_INDEX_MAX);
	*len -= 4 + k->tag_len;
	return 0;
}
