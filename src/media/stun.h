/* STUN messages (RFC 8489, RFC 5389) as an ICE-lite agent needs them: parse a
 * datagram in place, verify MESSAGE-INTEGRITY (short-term credentials,
 * HMAC-SHA1) and FINGERPRINT, and build Binding requests and responses.
 * Pure functions over caller buffers: no I/O, no allocation, no clock. */
#ifndef WIMS_MEDIA_STUN_H
#define WIMS_MEDIA_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/str.h"

#define WIMS_STUN_MAGIC 0x2112A442u
#define WIMS_STUN_HDR 20	   /* header bytes */
#define WIMS_STUN_MAX_ATTRS 32	   /* attributes in one message */
#define WIMS_STUN_MAX_USERNAME 513 /* RFC 8489 §14.3: < 513 bytes */
#define WIMS_STUN_MAX_REASON 128   /* reason phrase bytes we write (RFC allows 763) */
#define WIMS_STUN_MAX_UNKNOWN 4	   /* unknown attribute types remembered for a 420 */

/* Message types (method Binding = 1, class in bits C1 C0) */
#define WIMS_STUN_BINDING_REQUEST 0x0001u
#define WIMS_STUN_BINDING_INDICATION 0x0011u
#define WIMS_STUN_BINDING_SUCCESS 0x0101u
#define WIMS_STUN_BINDING_ERROR 0x0111u

/* Attribute types */
#define WIMS_STUN_A_MAPPED_ADDRESS 0x0001u
#define WIMS_STUN_A_USERNAME 0x0006u
#define WIMS_STUN_A_MESSAGE_INTEGRITY 0x0008u
#define WIMS_STUN_A_ERROR_CODE 0x0009u
#define WIMS_STUN_A_UNKNOWN_ATTRIBUTES 0x000Au
#define WIMS_STUN_A_REALM 0x0014u
#define WIMS_STUN_A_NONCE 0x0015u
#define WIMS_STUN_A_XOR_MAPPED_ADDRESS 0x0020u
#define WIMS_STUN_A_PRIORITY 0x0024u
#define WIMS_STUN_A_USE_CANDIDATE 0x0025u
#define WIMS_STUN_A_SOFTWARE 0x8022u
#define WIMS_STUN_A_FINGERPRINT 0x8028u
#define WIMS_STUN_A_ICE_CONTROLLED 0x8029u
#define WIMS_STUN_A_ICE_CONTROLLING 0x802Au

enum wims_stun_class {
	WIMS_STUN_CLASS_REQUEST = 0,
	WIMS_STUN_CLASS_INDICATION = 1,
	WIMS_STUN_CLASS_SUCCESS = 2,
	WIMS_STUN_CLASS_ERROR = 3,
};

/* A parsed message: views into the packet, valid as long as the packet is. */
struct wims_stun_msg {
	uint16_t type;		  /* e.g. 0x0001 binding request, 0x0101 success, 0x0111 error */
	uint16_t len;		  /* attribute bytes */
	const uint8_t *txid;	  /* 12 bytes inside the packet */
	struct wims_str username; /* view, unset if absent */
	uint32_t priority;
	bool has_priority;
	bool use_candidate;
	bool ice_controlling, ice_controlled;
	uint64_t tiebreaker;
	size_t mi_off; /* offset of MESSAGE-INTEGRITY attribute header */
	bool has_mi;
	size_t fp_off; /* offset of FINGERPRINT attribute header */
	bool has_fp;
	uint16_t error_code; /* for error responses */
	struct wims_addr xor_mapped;
	bool has_xor_mapped;
	unsigned unknown_required;		 /* comprehension-required attributes not understood */
	uint16_t unknown[WIMS_STUN_MAX_UNKNOWN]; /* the first of them, for a 420 */
};

/* A short-term key with the HMAC pads already hashed: verifying or signing
 * with it costs two SHA-1 blocks less than with the raw password.  Opaque
 * bytes (OpenSSL SHA_CTX pair) so that this header needs no OpenSSL. */
struct wims_stun_key {
	_Alignas(8) unsigned char st[2][96];
	bool set;
};

/** The class of a message type (request, indication, success, error). */
static inline enum wims_stun_class wims_stun_class(uint16_t type)
{
	return (enum wims_stun_class)(((type >> 7) & 2) | ((type >> 4) & 1));
}

/** The method of a message type (1 = Binding). */
static inline uint16_t wims_stun_method(uint16_t type)
{
	return (uint16_t)((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
}

/** 0 or -EBADMSG (with a reason in *why if why != NULL). The datagram must be
 * exactly one message.  Checks: length multiple of 4, magic cookie, attribute
 * lengths (padded to 4) within the message, known attribute sizes, FINGERPRINT
 * last, nothing but FINGERPRINT after MESSAGE-INTEGRITY, attribute count
 * limit.  Padding bytes are not checked (RFC 8489 §14: receivers ignore them).
 * Of repeated attributes only the first counts (RFC 8489 §14). */
int wims_stun_parse(struct wims_stun_msg *m, const uint8_t *p, size_t len, const char **why)
    __attribute__((warn_unused_result));

/** Cheap test for the demultiplexer: first 2 bits 0, magic cookie, length
 * field a multiple of 4 that matches the datagram. */
bool wims_stun_is_stun(const uint8_t *p, size_t len);

/** FINGERPRINT present and equal to CRC-32 of what precedes it XOR 0x5354554e. */
bool wims_stun_check_fingerprint(const struct wims_stun_msg *m, const uint8_t *p, size_t len);

/** CRC-32 (ISO-HDLC, as zlib) of n bytes, continuing from crc (start with 0). */
uint32_t wims_stun_crc32(uint32_t crc, const uint8_t *p, size_t n);

/** Prepare a short-term key (the ICE password) for the *_k functions. */
void wims_stun_key_init(struct wims_stun_key *k, const char *key, size_t keylen);

/** Short-term credential MESSAGE-INTEGRITY (HMAC-SHA1 keyed with the password),
 * computed over the message with the length field adjusted as RFC 8489 §14.5
 * says.  false when MI is absent or wrong (constant-time compare). */
bool wims_stun_check_integrity(const struct wims_stun_msg *m, const uint8_t *p, size_t len, const char *key,
			       size_t keylen);
/** The same with a prepared key. */
bool wims_stun_check_integrity_k(const struct wims_stun_msg *m, const uint8_t *p, size_t len,
				 const struct wims_stun_key *k);

/** Binding success response: XOR-MAPPED-ADDRESS (v4 or v6), MESSAGE-INTEGRITY
 * (unless key is NULL), FINGERPRINT.  Returns bytes written or 0 if cap is
 * too small or the address family is neither. */
size_t wims_stun_binding_success(uint8_t *out, size_t cap, const uint8_t txid[12],
				 const struct wims_addr *mapped, const char *key, size_t keylen);
/** The same with a prepared key (k NULL or unset: no MI). */
size_t wims_stun_binding_success_k(uint8_t *out, size_t cap, const uint8_t txid[12],
				   const struct wims_addr *mapped, const struct wims_stun_key *k);

/** Error response (e.g. 400, 401, 420, 487 Role Conflict) with ERROR-CODE
 * (code 300..699; reason truncated to WIMS_STUN_MAX_REASON bytes, NULL = a
 * default phrase), optional MI (key NULL = none), FINGERPRINT.  Returns bytes
 * written or 0 (cap too small, bad code). */
size_t wims_stun_binding_error(uint8_t *out, size_t cap, const uint8_t txid[12], uint16_t code,
			       const char *reason, const char *key, size_t keylen);
/** The same with a prepared key, plus UNKNOWN-ATTRIBUTES when nunknown > 0 (a 420). */
size_t wims_stun_binding_error_k(uint8_t *out, size_t cap, const uint8_t txid[12], uint16_t code,
				 const char *reason, const uint16_t *unknown, unsigned nunknown,
				 const struct wims_stun_key *k);

/** Binding request as a full ICE agent sends it (for test and benchmark
 * clients): USERNAME, PRIORITY, ICE-CONTROLLING(tiebreaker) or
 * ICE-CONTROLLED(tiebreaker), USE-CANDIDATE if asked, MI (unless key is
 * NULL), FINGERPRINT.  Returns bytes written or 0 (cap, username too long). */
size_t wims_stun_binding_request(uint8_t *out, size_t cap, const uint8_t txid[12], struct wims_str username,
				 const char *key, size_t keylen, uint32_t priority, bool controlling,
				 uint64_t tiebreaker, bool use_candidate);

#endif
