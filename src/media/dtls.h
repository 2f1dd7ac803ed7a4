/* DTLS-SRTP (RFC 5763, 5764, 8827) on OpenSSL 3: one shared context per
 * process (certificate, fingerprint), one association per WebRTC transport
 * driven through datagram queues (no socket, no thread, no clock reads but
 * OpenSSL's own retransmission timer). */
#ifndef WIMS_MEDIA_DTLS_H
#define WIMS_MEDIA_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

#define WIMS_DTLS_MTU 1200 /* largest datagram we send */

struct wims_dtls_ctx;

/** Create the shared context.  cert_file/key_file NULL: a fresh ECDSA P-256
 *  self-signed certificate (random serial, CN "wims", valid 30 days from
 *  yesterday); otherwise PEM files holding an EC key.  DTLS 1.2 only,
 *  ECDHE-ECDSA AES128-GCM (then AES256-GCM, CHACHA20), groups P-256:X25519,
 *  use_srtp SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80, peer certificate
 *  required and checked only against the SDP fingerprint.  The context is
 *  read-only afterwards and may be shared by every worker thread.
 *  0, -EINVAL (files unreadable / not EC), -ENOMEM, -EIO. */
int wims_dtls_ctx_new(struct wims_dtls_ctx **ctxp, const char *cert_file, const char *key_file)
    __attribute__((warn_unused_result));
/** Free the context (after every association made from it).  NULL is fine. */
void wims_dtls_ctx_free(struct wims_dtls_ctx *ctx);
/** "sha-256 AB:CD:..." of our certificate, for a=fingerprint; owned by ctx. */
const char *wims_dtls_ctx_fingerprint(const struct wims_dtls_ctx *ctx);
/** Replace the use_srtp profile list (OpenSSL names, colon-separated), e.g. to
 *  force one profile in tests.  Only before any association is created. */
int wims_dtls_ctx_set_srtp_profiles(struct wims_dtls_ctx *ctx, const char *profiles)
    __attribute__((warn_unused_result));

struct wims_dtls;

/** New association.  client: we send the ClientHello (a=setup:active on our
 *  side).  expected_fp: the peer's a=fingerprint value "sha-256 XX:XX:..."
 *  (sha-1/sha-224/sha-256/sha-384/sha-512, hex in any case); an unset
 *  wims_str means "not known yet" (see wims_dtls_set_fingerprint).
 *  0, -EINVAL (bad fingerprint), -ENOMEM. */
int wims_dtls_new(struct wims_dtls **dp, struct wims_dtls_ctx *ctx, bool client, struct wims_str expected_fp)
    __attribute__((warn_unused_result));
/** Free an association (NULL is fine).  Sends nothing. */
void wims_dtls_free(struct wims_dtls *d);

/** Replace the expected fingerprint (the answer arrived after an early
 *  ClientHello).  0; WIMS_DTLS_CONNECTED when the handshake had already
 *  completed and now verifies (report it like wims_dtls_input's CONNECTED);
 *  -EACCES when it had completed and does not match; -EINVAL bad value. */
int wims_dtls_set_fingerprint(struct wims_dtls *d, struct wims_str expected_fp)
    __attribute__((warn_unused_result));

/** Start: the client produces its ClientHello into the output queue; the
 *  server just waits.  Starting the client only when the peer must have our
 *  answer (first USE-CANDIDATE) avoids a ClientHello the browser drops.
 *  0, -EALREADY, -EPROTO. */
int wims_dtls_start(struct wims_dtls *d) __attribute__((warn_unused_result));

enum { WIMS_DTLS_CONTINUE = 0, WIMS_DTLS_CONNECTED = 1 };

/** Feed one datagram from the peer (first byte 20..63).  WIMS_DTLS_CONTINUE;
 *  WIMS_DTLS_CONNECTED exactly once, when the handshake has completed and
 *  the peer certificate matched the fingerprint; or -EACCES (fingerprint
 *  mismatch, logged with both values), -EPROTO (handshake failure),
 *  -ECONNRESET (close_notify or fatal alert after connection).  After an
 *  error the association stays failed and returns the same error.  Drain
 *  wims_dtls_output afterwards. */
int wims_dtls_input(struct wims_dtls *d, const uint8_t *p, size_t len) __attribute__((warn_unused_result));

/** Copy the next datagram to send (handshake flight record, alert) into buf;
 *  its length, 0 when none is queued.  A datagram larger than cap is dropped
 *  (cap >= WIMS_DTLS_MTU never drops).  Call until 0 after start, input,
 *  set_fingerprint and on_timeout. */
size_t wims_dtls_output(struct wims_dtls *d, uint8_t *buf, size_t cap);

/** Milliseconds until the retransmission timer fires, UINT64_MAX when none. */
uint64_t wims_dtls_timeout_ms(struct wims_dtls *d);
/** Retransmit the last flight if the timer has expired (then drain output). */
void wims_dtls_on_timeout(struct wims_dtls *d);
/** Queue a close_notify (end of the session) and stop the association:
 *  drain wims_dtls_output once more, then free it. */
void wims_dtls_close(struct wims_dtls *d);
/** True after CONNECTED was reported (handshake done and fingerprint verified). */
bool wims_dtls_connected(const struct wims_dtls *d);
/** Negotiated protocol ("DTLSv1.2") and cipher (OpenSSL name); "" before the handshake. */
const char *wims_dtls_version_name(const struct wims_dtls *d);
const char *wims_dtls_cipher_name(const struct wims_dtls *d);

/** SRTP master keys of one association, split by direction. */
struct wims_srtp_keys {
	int profile; /* enum wims_srtp_profile */
	uint8_t tx_key[32], tx_salt[14];
	uint8_t rx_key[32], rx_salt[14];
	size_t key_len, salt_len; /* 16/14 AES_CM_128_HMAC_SHA1_80/32; 16/12 AEAD_AES_128_GCM */
};

/** After CONNECTED: export the keying material (RFC 5764 §4.2,
 *  "EXTRACTOR-dtls_srtp") and split client/server keys by our role into tx
 *  (what we send) and rx.  0, -ENOTCONN, -ENOTSUP (no SRTP profile), -EIO. */
int wims_dtls_srtp_keys(struct wims_dtls *d, struct wims_srtp_keys *k) __attribute__((warn_unused_result));

#endif
