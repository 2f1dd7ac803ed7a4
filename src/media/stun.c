/* STUN message parsing, integrity and building (RFC 8489, RFC 5389).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |0 0|     STUN Message Type     |         Message Length        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                    Magic Cookie 0x2112A442                    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                Transaction ID (96 bits)                       |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | attributes: Type (16) | Length (16) | Value, padded to 4 ...  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Message Length counts the attribute bytes (with padding).  MESSAGE-INTEGRITY
 * is an HMAC-SHA1 over everything before it, with Message Length set as if MI
 * were the last attribute; FINGERPRINT is CRC-32 ^ 0x5354554e over everything
 * before it and must be last.
 *
 * HMAC is built here from OpenSSL's SHA-1 block functions rather than HMAC()
 * or EVP_MAC: those allocate contexts on every call in OpenSSL 3, and this
 * runs for every STUN packet on a media worker.  The key's inner and outer
 * pad states are hashed once (struct wims_stun_key) and copied per message.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA1_Init & co: no allocation, unlike EVP */
#include "media/stun.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

_Static_assert(sizeof(SHA_CTX) <= sizeof(((struct wims_stun_key *)0)->st[0]),
	       "struct wims_stun_key too small for SHA_CTX");

#define FP_XOR 0x5354554eu
#define MI_LEN 20

static const uint32_t crc_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu, 0xe963a535u, 0x9e6495a3u,
    0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u, 0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u,
    0x1db71064u, 0x6ab020f2u, 0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
    0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u, 0xfa0f3d63u, 0x8d080df5u,
    0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u, 0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu,
    0x35b5a8fau, 0x42b2986cu, 0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
    0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u, 0xcfba9599u, 0xb8bda50fu,
    0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u, 0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du,
    0x76dc4190u, 0x01db7106u, 0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
    0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du, 0x91646c97u, 0xe6635c01u,
    0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu, 0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u,
    0x65b0d9c6u, 0x12b7e950u, 0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
    0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u, 0xa4d1c46du, 0xd3d6f4fbu,
    0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u, 0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u,
    0x5005713cu, 0x270241aau, 0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
    0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u, 0xb7bd5c3bu, 0xc0ba6cadu,
    0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au, 0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u,
    0xe3630b12u, 0x94643b84u, 0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
    0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu, 0x196c3671u, 0x6e6b06e7u,
    0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu, 0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u,
    0xd6d6a3e8u, 0xa1d1937eu, 0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
    0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u, 0x316e8eefu, 0x4669be79u,
    0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u, 0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu,
    0xc5ba3bbeu, 0xb2bd0b28u, 0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
    0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu, 0x72076785u, 0x05005713u,
    0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u, 0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u,
    0x86d3d2d4u, 0xf1d4e242u, 0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
    0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u, 0x616bffd3u, 0x166ccf45u,
    0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u, 0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu,
    0xaed16a4au, 0xd9d65adcu, 0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
    0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u, 0x54de5729u, 0x23d967bfu,
    0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u, 0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static inline void set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void set32(uint8_t *p, uint32_t v)
{
	set16(p, (uint16_t)(v >> 16));
	set16(p + 2, (uint16_t)v);
}

uint32_t wims_stun_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

bool wims_stun_is_stun(const uint8_t *p, size_t len)
{
	if (len < WIMS_STUN_HDR || (p[0] & 0xC0) != 0)
		return false;
	size_t mlen = get16(p + 2);
	return mlen % 4 == 0 && mlen + WIMS_STUN_HDR == len && get32(p + 4) == WIMS_STUN_MAGIC;
}

/* ---- parsing ---- */

static int bad(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -EBADMSG;
}

/* XOR-MAPPED-ADDRESS (RFC 8489 §14.2): 0, family, X-Port, X-Address. */
static int parse_xaddr(struct wims_stun_msg *m, const uint8_t *hdr, const uint8_t *v, size_t n)
{
	struct wims_addr *a = &m->xor_mapped;

	memset(a, 0, sizeof(*a));
	if (n == 8 && v[1] == 0x01) {
		a->u.in.sin_family = AF_INET;
		a->u.in.sin_port = htons(get16(v + 2) ^ (uint16_t)(WIMS_STUN_MAGIC >> 16));
		a->u.in.sin_addr.s_addr = htonl(get32(v + 4) ^ WIMS_STUN_MAGIC);
	} else if (n == 20 && v[1] == 0x02) {
		a->u.in6.sin6_family = AF_INET6;
		a->u.in6.sin6_port = htons(get16(v + 2) ^ (uint16_t)(WIMS_STUN_MAGIC >> 16));
		/* X-Address = address XOR (magic cookie || transaction ID) */
		for (int i = 0; i < 16; i++)
			a->u.in6.sin6_addr.s6_addr[i] = v[4 + i] ^ hdr[4 + i];
	} else {
		return -EBADMSG;
	}
	m->has_xor_mapped = true;
	return 0;
}

/* Comprehension-required attributes that need no action from a Binding
 * user: accepted and ignored. */
static bool known_ignored(uint16_t t)
{
	return t == WIMS_STUN_A_MAPPED_ADDRESS || t == WIMS_STUN_A_UNKNOWN_ATTRIBUTES ||
	       t == WIMS_STUN_A_REALM || t == WIMS_STUN_A_NONCE;
}

/* One attribute other than MI and FINGERPRINT; the first of a kind wins. */
static int parse_attr(struct wims_stun_msg *m, const uint8_t *p, uint16_t t, const uint8_t *v, size_t n,
		      const char **why)
{
	switch (t) {
	case WIMS_STUN_A_USERNAME:
		if (n > WIMS_STUN_MAX_USERNAME)
			return bad(why, "USERNAME too long");
		if (!wims_str_isset(m->username))
			m->username = wims_str_make(n ? (const char *)v : "", n);
		return 0;
	case WIMS_STUN_A_PRIORITY:
		if (n != 4)
			return bad(why, "PRIORITY length not 4");
		if (!m->has_priority)
			m->priority = get32(v);
		m->has_priority = true;
		return 0;
	case WIMS_STUN_A_USE_CANDIDATE:
		if (n != 0)
			return bad(why, "USE-CANDIDATE not empty");
		m->use_candidate = true;
		return 0;
	case WIMS_STUN_A_ICE_CONTROLLED:
	case WIMS_STUN_A_ICE_CONTROLLING:
		if (n != 8)
			return bad(why, "ICE-CONTROLL* length not 8");
		if (!m->ice_controlled && !m->ice_controlling)
			m->tiebreaker = get64(v);
		*(t == WIMS_STUN_A_ICE_CONTROLLED ? &m->ice_controlled : &m->ice_controlling) = true;
		return 0;
	case WIMS_STUN_A_ERROR_CODE:
		/* RFC 8489 §14.8: 21 reserved bits, class (3..6), number (0..99) */
		if (n < 4 || (v[2] & 7) < 3 || (v[2] & 7) > 6 || v[3] > 99)
			return bad(why, "bad ERROR-CODE");
		if (!m->error_code)
			m->error_code = (uint16_t)((v[2] & 7) * 100 + v[3]);
		return 0;
	case WIMS_STUN_A_XOR_MAPPED_ADDRESS:
		if (m->has_xor_mapped)
			return 0;
		return parse_xaddr(m, p, v, n) ? bad(why, "bad XOR-MAPPED-ADDRESS") : 0;
	default:
		/* RFC 8489 §14: 0x0000-0x7FFF are comprehension-required */
		if (t < 0x8000 && !known_ignored(t)) {
			if (m->unknown_required < WIMS_STUN_MAX_UNKNOWN)
				m->unknown[m->unknown_required] = t;
			m->unknown_required++;
		}
		return 0;
	}
}

int wims_stun_parse(struct wims_stun_msg *m, const uint8_t *p, size_t len, const char **why)
{
	memset(m, 0, sizeof(*m));
	if (len < WIMS_STUN_HDR)
		return bad(why, "shorter than a STUN header");
	if (p[0] & 0xC0)
		return bad(why, "first two bits not zero");
	if (get32(p + 4) != WIMS_STUN_MAGIC)
		return bad(why, "no magic cookie");
	size_t mlen = get16(p + 2);
	if (mlen % 4)
		return bad(why, "length not a multiple of 4");
	if (mlen + WIMS_STUN_HDR != len)
		return bad(why, "length does not match the datagram");
	m->type = get16(p);
	m->len = (uint16_t)mlen;
	m->txid = p + 8;

	size_t off = WIMS_STUN_HDR;
	unsigned nattr = 0;
	while (off < len) {
		if (len - off < 4)
			return bad(why, "truncated attribute header");
		if (++nattr > WIMS_STUN_MAX_ATTRS)
			return bad(why, "too many attributes");
		if (m->has_fp)
			return bad(why, "attribute after FINGERPRINT");
		uint16_t t = get16(p + off);
		size_t n = get16(p + off + 2);
		size_t padded = (n + 3) & ~(size_t)3;
		if (padded > len - off - 4)
			return bad(why, "attribute longer than the message");
		if (t == WIMS_STUN_A_FINGERPRINT) {
			if (n != 4)
				return bad(why, "FINGERPRINT length not 4");
			m->fp_off = off;
			m->has_fp = true;
		} else if (m->has_mi) {
			return bad(why, "attribute after MESSAGE-INTEGRITY");
		} else if (t == WIMS_STUN_A_MESSAGE_INTEGRITY) {
			if (n != MI_LEN)
				return bad(why, "MESSAGE-INTEGRITY length not 20");
			m->mi_off = off;
			m->has_mi = true;
		} else {
			int err = parse_attr(m, p, t, p + off + 4, n, why);
			if (err)
				return err;
		}
		off += 4 + padded;
	}
	return 0;
}

/* ---- integrity ---- */

void wims_stun_key_init(struct wims_stun_key *k, const char *key, size_t keylen)
{
	uint8_t kb[SHA_CBLOCK], pad[SHA_CBLOCK];
	SHA_CTX c;

	memset(kb, 0, sizeof(kb));
	if (keylen > SHA_CBLOCK)
		SHA1((const unsigned char *)key, keylen, kb);
	else if (keylen)
		memcpy(kb, key, keylen);
	for (int j = 0; j < 2; j++) {
		for (size_t i = 0; i < SHA_CBLOCK; i++)
			pad[i] = kb[i] ^ (j ? 0x5c : 0x36);
		SHA1_Init(&c);
		SHA1_Update(&c, pad, sizeof(pad));
		memcpy(k->st[j], &c, sizeof(c));
	}
	k->set = true;
	OPENSSL_cleanse(kb, sizeof(kb));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(&c, sizeof(c));
}

/* HMAC-SHA1 of a || b with a prepared key. */
static void hmac_k(const struct wims_stun_key *k, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
		   uint8_t out[SHA_DIGEST_LENGTH])
{
	SHA_CTX c;
	uint8_t inner[SHA_DIGEST_LENGTH];

	memcpy(&c, k->st[0], sizeof(c));
	SHA1_Update(&c, a, an);
	if (bn)
		SHA1_Update(&c, b, bn);
	SHA1_Final(inner, &c);
	memcpy(&c, k->st[1], sizeof(c));
	SHA1_Update(&c, inner, sizeof(inner));
	SHA1_Final(out, &c);
}

bool wims_stun_check_integrity_k(const struct wims_stun_msg *m, const uint8_t *p, size_t len,
				 const struct wims_stun_key *k)
{
	uint8_t hdr[WIMS_STUN_HDR], mac[SHA_DIGEST_LENGTH];

	if (!m->has_mi || !k || !k->set || m->mi_off + 4 + MI_LEN > len || m->mi_off < WIMS_STUN_HDR)
		return false;
	/* RFC 8489 §14.5: the length covers up to and including MI, not what follows */
	memcpy(hdr, p, WIMS_STUN_HDR);
	set16(hdr + 2, (uint16_t)(m->mi_off + 4 + MI_LEN - WIMS_STUN_HDR));
	hmac_k(k, hdr, sizeof(hdr), p + WIMS_STUN_HDR, m->mi_off - WIMS_STUN_HDR, mac);
	return CRYPTO_memcmp(mac, p + m->mi_off + 4, MI_LEN) == 0;
}

bool wims_stun_check_integrity(const struct wims_stun_msg *m, const uint8_t *p, size_t len, const char *key,
			       size_t keylen)
{
	struct wims_stun_key k;

	if (!m->has_mi || !key)
		return false;
	wims_stun_key_init(&k, key, keylen);
	bool ok = wims_stun_check_integrity_k(m, p, len, &k);
	OPENSSL_cleanse(&k, sizeof(k));
	return ok;
}

bool wims_stun_check_fingerprint(const struct wims_stun_msg *m, const uint8_t *p, size_t len)
{
	if (!m->has_fp || m->fp_off + 8 > len)
		return false;
	return (wims_stun_crc32(0, p, m->fp_off) ^ FP_XOR) == get32(p + m->fp_off + 4);
}

/* ---- building ---- */

/* A bounded writer: once something did not fit, err stays set. */
struct wr {
	uint8_t *p;
	size_t len, cap;
	bool err;
};

static uint8_t *wr_take(struct wr *w, size_t n)
{
	if (w->err || n > w->cap - w->len) {
		w->err = true;
		return NULL;
	}
	uint8_t *q = w->p + w->len;
	w->len += n;
	return q;
}

/* An attribute header and n value bytes (zero padding included); returns the value. */
static uint8_t *wr_attr(struct wr *w, uint16_t t, size_t n)
{
	size_t padded = (n + 3) & ~(size_t)3;
	uint8_t *q = wr_take(w, 4 + padded);

	if (!q)
		return NULL;
	set16(q, t);
	set16(q + 2, (uint16_t)n);
	memset(q + 4 + n, 0, padded - n);
	return q + 4;
}

static void wr_header(struct wr *w, uint8_t *out, size_t cap, uint16_t type, const uint8_t txid[12])
{
	*w = (struct wr){out, 0, cap, false};
	uint8_t *q = wr_take(w, WIMS_STUN_HDR);
	if (!q)
		return;
	set16(q, type);
	set16(q + 2, 0);
	set32(q + 4, WIMS_STUN_MAGIC);
	memcpy(q + 8, txid, 12);
}

/* MESSAGE-INTEGRITY (when k is set) and FINGERPRINT; the final length. */
static size_t wr_finish(struct wr *w, const struct wims_stun_key *k)
{
	if (k && k->set && !w->err) {
		size_t at = w->len;
		set16(w->p + 2, (uint16_t)(at + 4 + MI_LEN - WIMS_STUN_HDR));
		uint8_t *v = wr_attr(w, WIMS_STUN_A_MESSAGE_INTEGRITY, MI_LEN);
		if (v)
			hmac_k(k, w->p, at, NULL, 0, v);
	}
	if (w->err || w->len + 8 - WIMS_STUN_HDR > 0xFFFF)
		return 0;
	size_t at = w->len;
	set16(w->p + 2, (uint16_t)(at + 8 - WIMS_STUN_HDR));
	uint8_t *v = wr_attr(w, WIMS_STUN_A_FINGERPRINT, 4);
	if (!v)
		return 0;
	set32(v, wims_stun_crc32(0, w->p, at) ^ FP_XOR);
	return w->len;
}

static bool put_xaddr(struct wr *w, const struct wims_addr *a)
{
	uint8_t *v;

	if (a->u.sa.sa_family == AF_INET) {
		if (!(v = wr_attr(w, WIMS_STUN_A_XOR_MAPPED_ADDRESS, 8)))
			return false;
		v[0] = 0;
		v[1] = 0x01;
		set16(v + 2, ntohs(a->u.in.sin_port) ^ (uint16_t)(WIMS_STUN_MAGIC >> 16));
		set32(v + 4, ntohl(a->u.in.sin_addr.s_addr) ^ WIMS_STUN_MAGIC);
		return true;
	}
	if (a->u.sa.sa_family == AF_INET6) {
		if (!(v = wr_attr(w, WIMS_STUN_A_XOR_MAPPED_ADDRESS, 20)))
			return false;
		v[0] = 0;
		v[1] = 0x02;
		set16(v + 2, ntohs(a->u.in6.sin6_port) ^ (uint16_t)(WIMS_STUN_MAGIC >> 16));
		for (int i = 0; i < 16; i++) /* magic cookie || transaction ID */
			v[4 + i] = a->u.in6.sin6_addr.s6_addr[i] ^ w->p[4 + i];
		return true;
	}
	return false;
}

size_t wims_stun_binding_success_k(uint8_t *out, size_t cap, const uint8_t txid[12],
				   const struct wims_addr *mapped, const struct wims_stun_key *k)
{
	struct wr w;

	wr_header(&w, out, cap, WIMS_STUN_BINDING_SUCCESS, txid);
	if (w.err || !put_xaddr(&w, mapped))
		return 0;
	return wr_finish(&w, k);
}

size_t wims_stun_binding_success(uint8_t *out, size_t cap, const uint8_t txid[12],
				 const struct wims_addr *mapped, const char *key, size_t keylen)
{
	struct wims_stun_key k = {.set = false};

	if (key)
		wims_stun_key_init(&k, key, keylen);
	size_t n = wims_stun_binding_success_k(out, cap, txid, mapped, &k);
	OPENSSL_cleanse(&k, sizeof(k));
	return n;
}

static const char *default_reason(uint16_t code)
{
	switch (code) {
	case 300:
		return "Try Alternate";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 420:
		return "Unknown Attribute";
	case 438:
		return "Stale Nonce";
	case 487:
		return "Role Conflict";
	case 500:
		return "Server Error";
	default:
		return "";
	}
}

size_t wims_stun_binding_error_k(uint8_t *out, size_t cap, const uint8_t txid[12], uint16_t code,
				 const char *reason, const uint16_t *unknown, unsigned nunknown,
				 const struct wims_stun_key *k)
{
	struct wr w;

	if (code < 300 || code > 699 || nunknown > WIMS_STUN_MAX_ATTRS)
		return 0;
	if (!reason)
		reason = default_reason(code);
	size_t rl = strnlen(reason, WIMS_STUN_MAX_REASON);
	wr_header(&w, out, cap, WIMS_STUN_BINDING_ERROR, txid);
	uint8_t *v = wr_attr(&w, WIMS_STUN_A_ERROR_CODE, 4 + rl);
	if (!v)
		return 0;
	v[0] = v[1] = 0;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, reason, rl);
	if (nunknown) {
		if (!(v = wr_attr(&w, WIMS_STUN_A_UNKNOWN_ATTRIBUTES, 2 * (size_t)nunknown)))
			return 0;
		for (unsigned i = 0; i < nunknown; i++)
			set16(v + 2 * i, unknown[i]);
	}
	return wr_finish(&w, k);
}

size_t wims_stun_binding_error(uint8_t *out, size_t cap, const uint8_t txid[12], uint16_t code,
			       const char *reason, const char *key, size_t keylen)
{
	struct wims_stun_key k = {.set = false};

	if (key)
		wims_stun_key_init(&k, key, keylen);
	size_t n = wims_stun_binding_error_k(out, cap, txid, code, reason, NULL, 0, &k);
	OPENSSL_cleanse(&k, sizeof(k));
	return n;
}

size_t wims_stun_binding_request(uint8_t *out, size_t cap, const uint8_t txid[12], struct wims_str username,
				 const char *key, size_t keylen, uint32_t priority, bool controlling,
				 uint64_t tiebreaker, bool use_candidate)
{
	struct wims_stun_key k = {.set = false};
	struct wr w;
	uint8_t *v;

	if (username.l > WIMS_STUN_MAX_USERNAME)
		return 0;
	wr_header(&w, out, cap, WIMS_STUN_BINDING_REQUEST, txid);
	if (wims_str_isset(username) && (v = wr_attr(&w, WIMS_STUN_A_USERNAME, username.l)))
		memcpy(v, username.p, username.l);
	if ((v = wr_attr(&w, WIMS_STUN_A_PRIORITY, 4)))
		set32(v, priority);
	v = wr_attr(&w, controlling ? WIMS_STUN_A_ICE_CONTROLLING : WIMS_STUN_A_ICE_CONTROLLED, 8);
	if (v) {
		set32(v, (uint32_t)(tiebreaker >> 32));
		set32(v + 4, (uint32_t)tiebreaker);
	}
	if (use_candidate)
		wr_attr(&w, WIMS_STUN_A_USE_CANDIDATE, 0);
	if (w.err)
		return 0;
	if (key)
		wims_stun_key_init(&k, key, keylen);
	size_t n = wr_finish(&w, &k);
	OPENSSL_cleanse(&k, sizeof(k));
	return n;
}
