/* The proxy: the stateful SIP proxy core (RFC 3261 §16/§17) shared by the
 * roles, and the roles themselves (interworking unit; P-CSCF).  It never
 * touches a socket: bytes come in through wims_proxy_recv() and leave through
 * the SIP transport layer (sip/transport.h). */
#ifndef WIMS_PROXY_PROXY_H
#define WIMS_PROXY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "base/conf.h"
#include "sip/transport.h"

struct wims_proxy;

struct wims_proxy_stats {
	uint64_t requests_in, responses_in, requests_out, responses_out;
	uint64_t bad_requests, bad_responses_dropped, retransmissions;
	uint64_t tsx_created, tsx_timeouts, dialogs_released;
	uint64_t tsx_open, dialogs_open, flows_open, bindings_open;
	uint64_t media_sdp, media_failed; /* SDP bodies anchored / refused by media control */
	uint64_t dtmf_info;               /* SIP INFO DTMF turned into RFC 4733 */
};

/**
 * Create the proxy for conf's role on loop, sending through tp.  The proxy
 * does not own tp.  Errors: -EINVAL with a message in err (bad URI in the
 * configuration), -ENOMEM.
 */
int wims_proxy_alloc(struct wims_proxy **pp, uv_loop_t *loop, struct wims_sip_tport *tp,
		     const struct wims_conf *conf, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/** One whole SIP message received on flow (the transport's receive handler). */
void wims_proxy_recv(struct wims_proxy *px, struct wims_sip_flow *flow, const char *buf, size_t len);

/** A connection flow is gone: release what depended on it (dialogs, pending transactions). */
void wims_proxy_flow_closed(struct wims_proxy *px, struct wims_sip_flow *flow);

/** Number of transactions still open (graceful shutdown waits for 0). */
size_t wims_proxy_busy(const struct wims_proxy *px);

/** Stop creating transactions: new requests get 503 with Retry-After. */
void wims_proxy_drain(struct wims_proxy *px);

/** Free everything (timers are closed; run the loop once more afterwards). */
void wims_proxy_free(struct wims_proxy *px);

struct wims_mediactl;
/** Anchor media through mc (NULL: SDP passes untouched).  mc outlives px. */
void wims_proxy_set_mediactl(struct wims_proxy *px, struct wims_mediactl *mc);

struct wims_ng_client;
/** Anchor media in an external AGW (a stock rtpengine) over ng instead:
 *  requests and responses with SDP wait for its answer.  ng outlives px. */
void wims_proxy_set_agw(struct wims_proxy *px, struct wims_ng_client *ng);

const struct wims_proxy_stats *wims_proxy_stats(const struct wims_proxy *px);

/** The browsers' flows as a JSON array: id, Contact, outbound, instance, binding expiry. */
void wims_proxy_flows_json(const struct wims_proxy *px, struct wims_wbuf *out);

#endif
