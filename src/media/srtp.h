/* SRTP and SRTCP (RFC 3711, RFC 7714) on OpenSSL EVP (srtp_evp.c; byte for byte equal to libsrtp2, which the tests use as the oracle): one object per
 * direction, SDES key lines (RFC 4568).  No allocation per packet. */
#ifndef WIMS_MEDIA_SRTP_H
#define WIMS_MEDIA_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

enum wims_srtp_profile {
	WIMS_SRTP_AES_CM_128_HMAC_SHA1_80 = 1,
	WIMS_SRTP_AES_CM_128_HMAC_SHA1_32,
	WIMS_SRTP_AEAD_AES_128_GCM,
};

/** Room a caller leaves after an RTP packet for protect (largest tag, no MKI). */
#define WIMS_SRTP_MAX_TRAILER 16
/** Room a caller leaves after an RTCP packet: tag + E-flag/SRTCP index. */
#define WIMS_SRTCP_MAX_TRAILER (WIMS_SRTP_MAX_TRAILER + 4)
#define WIMS_SRTP_MAX_KEY 16
#define WIMS_SRTP_MAX_SALT 14

/** One-time initialisation (OpenSSL); idempotent and thread-safe.  0 or -EIO. */
int wims_srtp_global_init(void) __attribute__((warn_unused_result));

/** Master key / salt lengths of a profile (16/14 for AES-CM, 16/12 for GCM); -EINVAL if unknown. */
int wims_srtp_key_len(int profile, size_t *key_len, size_t *salt_len) __attribute__((warn_unused_result));

/** Name of a profile as in SDP and RFC 5764 ("AES_CM_128_HMAC_SHA1_80"); NULL if unknown. */
const char *wims_srtp_profile_name(int profile);

struct wims_srtp;

/** One direction: outbound (protect) or inbound (unprotect), any SSRC,
 *  replay window 1024.  key/salt lengths per wims_srtp_key_len.  Calls
 *  wims_srtp_global_init itself.  0, -EINVAL or -ENOMEM. */
int wims_srtp_new(struct wims_srtp **sp, int profile, const uint8_t *key, const uint8_t *salt, bool outbound)
    __attribute__((warn_unused_result));
/** Free (NULL is fine). */
void wims_srtp_free(struct wims_srtp *s);

/** Protect an RTP packet in place; *len grows by the tag; cap is the buffer
 *  size (>= *len + tag).  0, -ENOSPC, -EBADMSG, -EALREADY (index reused), -EIO. */
int wims_srtp_protect_rtp(struct wims_srtp *s, uint8_t *pkt, size_t *len, size_t cap)
    __attribute__((warn_unused_result));
/** Verify and decrypt an SRTP packet in place; *len shrinks.  0, -EPERM auth
 *  failure, -EALREADY replay, -EBADMSG malformed, -EIO. */
int wims_srtp_unprotect_rtp(struct wims_srtp *s, uint8_t *pkt, size_t *len)
    __attribute__((warn_unused_result));
/** As protect_rtp for a (compound) RTCP packet; needs tag + 4 bytes of room. */
int wims_srtp_protect_rtcp(struct wims_srtp *s, uint8_t *pkt, size_t *len, size_t cap)
    __attribute__((warn_unused_result));
/** As unprotect_rtp for SRTCP. */
int wims_srtp_unprotect_rtcp(struct wims_srtp *s, uint8_t *pkt, size_t *len)
    __attribute__((warn_unused_result));

/** SDES (RFC 4568 §6.1): parse "inline:<base64 key||salt>[|lifetime][|MKI:len]"
 *  for suite AES_CM_128_HMAC_SHA1_80/_32 or AEAD_AES_128_GCM (case-insensitive)
 *  into profile, key (16 bytes) and salt (14 or 12 bytes).  An MKI is
 *  refused (-ENOTSUP) as we never send one; -EINVAL for bad base64 or lengths. */
int wims_srtp_sdes_parse(struct wims_str suite, struct wims_str key_params, int *profile, uint8_t *key,
			 uint8_t *salt) __attribute__((warn_unused_result));

/** Generate a random key and salt for profile and write the crypto line
 *  "AES_CM_128_HMAC_SHA1_80 inline:<base64>" NUL-terminated into line.
 *  0, -EINVAL, -ENOSPC, -EIO. */
int wims_srtp_sdes_generate(int profile, uint8_t *key, uint8_t *salt, char *line, size_t cap)
    __attribute__((warn_unused_result));

#endif
