/* Preconditions (RFC 3312/4032) and reliable provisional responses (RFC
 * 3262) handled on behalf of browsers that do neither (internal to the
 * proxy module; the hooks are called from core.c, tsx.c and dialog.c). */
#ifndef WIMS_PROXY_PRECOND_H
#define WIMS_PROXY_PRECOND_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"
#include "proxy/px.h"

/* ---- precond_sdp.c: the qos lines of an SDP body ---- */

/** What the first media section of an SDP says about QoS (segmented or e2e). */
struct wims_pc_qos {
	bool present;                 /* any a=curr/des/conf:qos line */
	char curr_local[12];          /* the sender's own segment: none, send, recv, sendrecv */
	char curr_remote[12];
	char des_local_strength[12];  /* mandatory, optional, none, failure, unknown */
	char des_local_dir[12];
	char des_remote_strength[12];
	bool conf_remote;             /* the sender asks to be told when ours is met */
};

/** The qos lines wims writes into each active media section. */
struct wims_pc_qos_out {
	const char *curr_local;  /* "none" or "sendrecv" */
	const char *curr_remote; /* "" means none */
	const char *des_remote;  /* strength of the peer's segment; "" means none */
	bool conf_remote;
};

/** true when sdp has any a=curr:qos, a=des:qos or a=conf:qos line. */
bool wims_pc_sdp_has_qos(struct wims_str sdp);
/** Copy sdp to out without its qos lines.  -ENOSPC when out is too small. */
int wims_pc_sdp_strip(struct wims_str sdp, struct wims_wbuf *out) __attribute__((warn_unused_result));
/** Read the qos lines of sdp's first media section into q. */
void wims_pc_sdp_read(struct wims_str sdp, struct wims_pc_qos *q);
/** Are the peer's preconditions met by what q (its SDP) says? */
bool wims_pc_qos_met(const struct wims_pc_qos *q);
/** Copy sdp to out with its qos lines replaced by o's in every active media
 *  section; with bump_version the o= line's version goes up by one.
 *  -ENOSPC when out is too small. */
int wims_pc_sdp_add(struct wims_str sdp, const struct wims_pc_qos_out *o, bool bump_version,
		    struct wims_wbuf *out) __attribute__((warn_unused_result));

/* ---- precond.c: the hooks ---- */

/** A request the role routed, before media control: true when precond
 *  answered it itself (PRACK or UPDATE of a session whose browser does not
 *  do 100rel/preconditions); nothing else is to be done with it then. */
bool wims_proxy__pc_intercept(struct px_req *r);
/** A request after media control: adds or strips 100rel/precondition and
 *  the qos lines, renumbers the CSeq of a browser's in-dialog requests. */
void wims_proxy__pc_request(struct px_req *r);
/** A response on its way up through t, after the role's and media's edits
 *  (ed, scratch).  *memp receives a pool block to put back.  true: the
 *  response is held or absorbed here and must not be sent. */
bool wims_proxy__pc_response(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m,
			     struct wims_sip_edits *ed, struct wims_wbuf *scratch, char **memp);
/** A response to a PRACK or UPDATE precond sent itself; true: consumed. */
bool wims_proxy__pc_local_response(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m);
/** How many CSeq numbers wims used in the dialog of the browser flow flow_id
 *  (added to the browser's own numbers toward the core). */
uint32_t wims_proxy__pc_cseq_offset(struct wims_proxy *px, struct wims_str call_id, struct wims_str tag_a,
				    uint64_t flow_id);
/** The browser flow flow_id is gone: forget its sessions. */
void wims_proxy__pc_flow_gone(struct wims_proxy *px, uint64_t flow_id);
/** Free every session (proxy shutdown; run the loop once more afterwards). */
void wims_proxy__pc_free_all(struct wims_proxy *px);

#endif
