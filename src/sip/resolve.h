/* Locating SIP servers (RFC 3263 §4): a SIP URI becomes an ordered list of
 * (transport, address, port) targets through NAPTR, SRV (RFC 2782) and
 * A/AAAA lookups made with c-ares on the caller's libuv loop, never blocking.
 * Answers are cached by their TTL. */
#ifndef WIMS_SIP_RESOLVE_H
#define WIMS_SIP_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/addr.h"
#include "base/str.h"
#include "sip/transport.h"

#define WIMS_SIP_RES_MAX_TARGETS 16 /* targets kept for one URI */
#define WIMS_SIP_RES_MAX_SRV 32     /* SRV records looked at for one name */
#define WIMS_SIP_RES_MAX_NAME 256   /* a domain name (RFC 1035: 255) */
#define WIMS_SIP_RES_MAX_TTL 86400  /* seconds an answer is kept at most */

struct wims_sip_resolver;

struct wims_sip_res_conf {
	const char *servers;  /* "ip[:port],..."; NULL or "": /etc/resolv.conf */
	unsigned timeout_ms;  /* per try (0: c-ares' default) */
	unsigned tries;       /* 0: c-ares' default */
	unsigned cache_max;   /* URIs cached (0: no cache) */
};

struct wims_sip_target {
	enum wims_sip_proto proto; /* UDP, TCP or TLS */
	struct wims_addr addr;     /* with the port */
};

/* The targets of one URI, best first. */
struct wims_sip_res_result {
	struct wims_sip_target t[WIMS_SIP_RES_MAX_TARGETS];
	size_t n;
	uint32_t ttl; /* seconds: the smallest TTL of the answers used (0 for a numeric host) */
};

/** A resolution finished: err 0 and res->n >= 1, or -ENOENT (DNS gave no
 *  target), -ETIMEDOUT or -ECONNREFUSED (no server answers), -ECANCELED
 *  (the resolver is being freed), -EIO (another DNS failure).
 *  res is valid during the call only. */
typedef void(wims_sip_res_h)(int err, const struct wims_sip_res_result *res, void *arg);

/** A resolver on loop: a c-ares channel with conf's servers, timeout and
 *  tries, and a cache of conf->cache_max URIs.  Errors: -EINVAL (a bad
 *  servers list), -ENOMEM, -EIO (c-ares could not start). */
int wims_sip_resolver_alloc(struct wims_sip_resolver **rp, uv_loop_t *loop, const struct wims_sip_res_conf *conf)
	__attribute__((warn_unused_result));
/** Cancel every lookup (their callbacks run with -ECANCELED before this
 *  returns) and close the handles; the memory goes once they are closed. */
void wims_sip_resolver_free(struct wims_sip_resolver *r);

/** Resolve uri ("sip:host[:port][;transport=x]", "sips:...") per RFC 3263 §4:
 *  a numeric host or an explicit port skips NAPTR and SRV; a transport
 *  parameter skips NAPTR.  0: *res is filled now (numeric host, cached
 *  answer); -EINPROGRESS: cb runs with arg once done (possibly before this
 *  returns, when c-ares fails at once); -EINVAL: not a sip/sips URI or an
 *  unknown transport; -ENOMEM. */
int wims_sip_resolve(struct wims_sip_resolver *r, struct wims_str uri, struct wims_sip_res_result *res,
		     wims_sip_res_h *cb, void *arg) __attribute__((warn_unused_result));

/** Drop every cached answer. */
void wims_sip_resolver_flush(struct wims_sip_resolver *r);

/** Queries sent so far (for tests and statistics). */
uint64_t wims_sip_resolver_queries(const struct wims_sip_resolver *r);

/* ---- the pieces below are exposed for the unit tests and the fuzzer ---- */

struct wims_sip_res_srv {
	uint16_t prio, weight, port;
	char target[WIMS_SIP_RES_MAX_NAME];
};

/** RFC 2782: order SRV records by priority, and within one priority by a
 *  weighted random choice (weight 0 records first in the running sum, so
 *  they are chosen rarely).  rnd returns a uniform 32-bit number. */
void wims_sip_res__srv_order(struct wims_sip_res_srv *s, size_t n, uint32_t (*rnd)(void *), void *rarg);

/** The smallest TTL of the answer section of DNS message buf (RFC 1035
 *  §4.1), walked with a bounded cursor.  0 and *ttl set (WIMS_SIP_RES_MAX_TTL
 *  when the answer section is empty); -EINVAL for a truncated or malformed
 *  message. */
int wims_sip_res__min_ttl(const unsigned char *buf, size_t len, uint32_t *ttl)
	__attribute__((warn_unused_result));

#endif
