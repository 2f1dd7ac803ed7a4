/* JSON Web Tokens (RFC 7519) for token-based registration (TS 24.371 §6.1,
 * the WAF's token presented as "Authorization: Bearer", RFC 8898): compact
 * JWS (RFC 7515) signed with HS256 or ES256, claims exp/nbf/aud/sub/impi. */
#ifndef WIMS_PROXY_JWT_H
#define WIMS_PROXY_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

#define WIMS_JWT_MAX 4096 /* bytes of a token */

struct evp_pkey_st;

struct wims_jwt_keys {
	const unsigned char *hs256;   /* shared secret, NULL: HS256 not accepted */
	size_t hs256_len;
	struct evp_pkey_st *es256;    /* P-256 public key, NULL: ES256 not accepted */
	const char *audience;         /* required "aud" (string or array member), NULL: any */
	unsigned leeway_s;            /* clock skew allowed on exp/nbf */
};

struct wims_jwt_claims {
	char sub[256];                /* the IMPU, e.g. sip:alice@ims.lab */
	char impi[128];               /* "impi" claim, else the user part of sub */
	int64_t exp, nbf;             /* 0 when absent */
};

/** Verify token (the compact form) with keys at time now (seconds since the
 *  epoch) and fill c.  0, or -EBADMSG (malformed), -EPERM (signature,
 *  algorithm not accepted), -ETIME (expired or not yet valid), -EACCES
 *  (audience), -ENOENT (no sub); *why names the failure. */
int wims_jwt_verify(const struct wims_jwt_keys *keys, struct wims_str token, int64_t now,
		    struct wims_jwt_claims *c, const char **why) __attribute__((warn_unused_result));

#endif
