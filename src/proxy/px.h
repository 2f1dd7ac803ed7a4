/* Internal interfaces of the proxy module (shared by its files only). */
#ifndef WIMS_PROXY_PX_H
#define WIMS_PROXY_PX_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/addr.h"
#include "base/buf.h"
#include "base/hash.h"
#include "proxy/proxy.h"
#include "sip/msg.h"
#include "sip/transport.h"
#include "mediactl/mediactl.h"

#define PX_BRANCH_MAX 64
#define PX_SKEY_MAX 320
#define PX_SCRATCH 4096
#define PX_POOL 6
#define PX_WS_LOCALS 16 /* local addresses of the WebSocket side remembered (core.c rr_uri) */
#define PX_POOL_SIZE (WIMS_SIP_MAX_MESSAGE + 1)

/* Where a message came from or goes to: a connection flow (held by a
 * reference), or UDP to an address. */
struct px_hop {
	enum wims_sip_proto proto;
	struct wims_addr addr;
	struct wims_sip_flow *flow; /* referenced; NULL for UDP */
	bool keep;                  /* a transaction's hop: hold the TCP/TLS connection used, so that its
				       loss fails the transaction at once (RFC 3261 §16.9: 503) */
};

void wims_proxy__hop_set(struct px_hop *h, struct wims_sip_flow *flow);
void wims_proxy__hop_clear(struct px_hop *h);
static inline bool px_proto_is_ws(enum wims_sip_proto p)
{
	return p == WIMS_SIP_WS || p == WIMS_SIP_WSS;
}

struct px_tsx;
struct px_dialog;

/* A request on its way through the role logic. */
struct px_req {
	struct wims_proxy *px;
	const struct wims_sip_msg *m;
	struct wims_sip_flow *in;   /* the flow it came on (UDP: a pseudo-flow valid now only) */
	struct wims_sip_edits ed;
	struct wims_wbuf scratch;   /* text inserted by edits lives here */
	char scratch_mem[PX_SCRATCH];
	/* set by the role */
	struct px_hop out;          /* next hop */
	bool replace_via;           /* hide the incoming Via lines (restored on responses) */
	bool record_route;          /* insert our Record-Route (twice when the transport changes) */
	const char *rr_user;        /* user part of our Record-Route URIs (a flow token), NULL: none */
	unsigned reject;            /* reply locally with this status */
	const char *reject_reason;
	struct wims_str reject_hdrs;
	uint64_t flow_token_id;     /* flow the request is delivered to (core→browser), 0 otherwise */
	bool flow_outbound;         /* that flow registered with RFC 5626 outbound (430 when lost) */
	char *media_mem;            /* pool block holding the SDP media control gave back */
	bool deferred;              /* waits for the external AGW: comes back through recv */
	char *pc_mem;               /* precond.c: pool block holding the SDP it rewrote */
	uint32_t cseq_up;           /* stimer.c: CSeq number rewritten, restored in responses (0: none) */
};

/* ---- core.c ---- */
struct wims_proxy {
	uv_loop_t *loop;
	struct wims_sip_tport *tp;
	const struct wims_conf *conf;
	struct wims_proxy_stats st;
	struct wims_hash tsx_srv;  /* by server key */
	struct wims_hash tsx_cli;  /* by our branch */
	struct px_tsx *tsx_active; /* transactions without their final answer (not lingering) */
	size_t tsx_active_n;
	struct wims_hash flows;    /* struct px_flow by flow id (IWU per-browser state) */
	struct wims_hash dialogs;  /* struct px_dialog by Call-ID hash */
	struct wims_hash dialogs_by_flow; /* the same by browser flow id: a lost flow's dialogs in O(its own) */
	uint64_t seq;
	struct wims_mediactl *mc;  /* media anchoring; NULL: SDP passes untouched */
	struct wims_ng_client *agw; /* or an external AGW over ng (rtpengine) */
	struct px_mwait *mwait;    /* messages waiting for the external AGW's answer */
	struct wims_sip_flow *resp_in; /* the flow of the response being handled */
	struct px_pc *pc;          /* precond.c: sessions handled for browsers (100rel, preconditions) */
	struct wims_hash pc_by_cid; /* the same sessions by Call-ID hash (initialised with the first) */
	struct wims_hash pc_by_flow; /* and by browser flow id */
	bool pc_tab;
	uint64_t pc_swept;         /* loop time of the last sweep of forgotten sessions */
	unsigned char secret[32];
	bool draining;
	/* our sent-by toward the core: host and port as written in Via/Contact */
	char adv_host[80];
	uint16_t adv_port;     /* UDP and TCP */
	uint16_t adv_port_tls; /* TLS: the TLS listener's port (5061 without one) */
	/* the next hop of the role (IWU: the P-CSCF) */
	char next_uri[WIMS_CONF_STR];
	struct wims_addr next_addr;
	enum wims_sip_proto next_proto;
	unsigned t1, t2, t4;
	const struct px_role *role;
	void *role_priv; /* the role's own state (its init allocates it, its free frees it) */
	struct px_regev *regev; /* reg event subscriptions the role made (regevent.c; the core drains and frees them), NULL: none */
	/* the local addresses of the WebSocket connections wims put in a Record-Route
	 * (a wildcard listen address names none of them: route_is_us) */
	struct wims_addr ws_locals[PX_WS_LOCALS];
	unsigned n_ws_locals;
	/* per-message working memory, reused instead of malloc'd for each message */
	void *pool[PX_POOL];
	bool pool_busy[PX_POOL];
	struct px_dns *dns;      /* dns.c: the next hop is a domain name (NULL: a numeric one) */
	struct px_stm_tab *stm;  /* stimer.c: session timers kept for browsers (NULL until needed) */
};

/** A block of PX_POOL_SIZE bytes for the current message (a parsed message, a
 *  request context, an output buffer); from the pool, or malloc'd when it is
 *  all in use (re-entered handlers).  NULL when out of memory. */
void *wims_proxy__mem_get(struct wims_proxy *px);
void wims_proxy__mem_put(struct wims_proxy *px, void *p);

/** Reply to request m that came on flow `in` (stateless; UDP per Via). */
void wims_proxy__reply(struct wims_proxy *px, const struct wims_sip_msg *m, struct wims_sip_flow *in,
		       unsigned code, const char *reason, struct wims_str extra);
/** Send bytes to a hop; for UDP requests over udp_mtu the transport switches to TCP. */
int wims_proxy__send(struct wims_proxy *px, struct px_hop *h, const char *buf, size_t len, bool is_request);
/** Where a response to m goes (RFC 3261 §18.2.2, RFC 3581): flow, or Via received/rport. */
int wims_proxy__resp_hop(struct wims_proxy *px, const struct wims_sip_msg *req, struct wims_sip_flow *in,
			 struct px_hop *h);
/** The port of our sent-by for transport proto (TLS has its own listener). */
static inline uint16_t px_adv_port(const struct wims_proxy *px, enum wims_sip_proto proto)
{
	return proto == WIMS_SIP_TLS ? px->adv_port_tls : px->adv_port;
}

/** Write our Via line for hop proto with branch into w. */
void wims_proxy__via_line(struct wims_proxy *px, struct wims_wbuf *w, enum wims_sip_proto proto,
			  struct wims_str branch);
/** A fresh branch for request m, carrying the loop-detection hash (RFC 3261 §16.6 item 8). */
void wims_proxy__branch(struct wims_proxy *px, const struct wims_sip_msg *m, char out[PX_BRANCH_MAX]);
/** RFC 3261 §16.3 item 4: does one of m's Vias carry our sent-by with the hash m has now? */
bool wims_proxy__is_loop(struct wims_proxy *px, const struct wims_sip_msg *m);
/** Our Record-Route line(s) for a request from `in` going to hop `out` (RFC 3261 §16.6 item 4;
 *  two when the transport changes, WebSocket side below the core side).  user (may be NULL)
 *  becomes the user part of both URIs: the flow token of RFC 5626 §5.3. */
void wims_proxy__record_route(struct wims_proxy *px, struct wims_wbuf *w, struct wims_sip_flow *in,
			      const struct px_hop *out, const char *user);
/** RFC 3261 §10.2.1.1/§10.3: the Expires header of m, else 3600 (a Contact's
 *  own expires parameter overrides it: wims_proxy__contact_expires). */
uint32_t wims_proxy__msg_expires(const struct wims_sip_msg *m);
uint32_t wims_proxy__contact_expires(const struct wims_sip_addr *a, uint32_t dflt);
/** An initial request that creates a dialog (INVITE, SUBSCRIBE, REFER, NOTIFY without To tag). */
bool wims_proxy__creates_dialog(const struct wims_sip_msg *m);
/* The roles' records of the browsers' flows live in px->flows, keyed by the
 * transport's flow id; each embeds a struct wims_hnode and is the role's to
 * allocate and free. */
void wims_proxy__flow_insert(struct wims_proxy *px, struct wims_hnode *n, uint64_t id);
/** Remove and return the record of flow id (NULL when there is none). */
struct wims_hnode *wims_proxy__flow_take(struct wims_proxy *px, uint64_t id);
/** Remove every record, handing each to free_rec. */
void wims_proxy__flows_clear(struct wims_proxy *px, void (*free_rec)(struct wims_hnode *n));
/** Does this Route value name us (either side)? */
bool wims_proxy__route_is_us(const struct wims_proxy *px, struct wims_str val);
/** RFC 3261 §16.6 items 6-7: the hop of a request whose top Route is route, when that
 *  names a numeric address (sip/sips; transport udp, tcp or tls; the configured next
 *  hop keeps its transport).  false: a domain name or no usable URI (the caller keeps
 *  the configured next hop, which DNS locates). */
bool wims_proxy__hop_of_route(const struct wims_proxy *px, struct wims_str route, struct px_hop *hop);
/** TS 24.229 §5.2.2.1: edits removing the ik and ck auth-params of m's WWW-Authenticate
 *  headers (an IMS-AKA challenge on its way to the UE). */
void wims_proxy__strip_aka_keys(struct wims_sip_edits *ed, const struct wims_sip_msg *m);
/** Forward a response statelessly by its second Via (stray 2xx to INVITE). */
void wims_proxy__forward_stateless_resp(struct wims_proxy *px, const struct wims_sip_msg *m);

/* ---- dns.c: a next hop given as a domain name (RFC 3263) ---- */
/** Resolve uri (with the static fallback list "host:port[/tcp],...") for the
 *  role's next hop; dflt is the transport of fallback entries without one. */
int wims_proxy__dns_init(struct wims_proxy *px, const char *uri, const char *fallback, enum wims_sip_proto dflt,
			 char *err, size_t errlen) __attribute__((warn_unused_result));
/** Before a request from a browser is routed: true when it waits for the
 *  resolution (or was answered 503); false: px->next_addr/next_proto are set. */
bool wims_proxy__dns_hold(struct wims_proxy *px, const struct wims_sip_msg *m, struct wims_sip_flow *in);
/** A transaction to target down failed (why: "timed out", "503"): mark it
 *  dead; true with *next when another target of its transport remains. */
bool wims_proxy__dns_next(struct wims_proxy *px, const struct px_hop *down, struct wims_addr *next,
			  const char *why);
void wims_proxy__dns_free(struct wims_proxy *px);

/* ---- tsx.c: a proxy transaction = server transaction + client transaction ---- */
struct px_tsx {
	struct wims_hnode hs, hc;
	unsigned refs;
	struct wims_proxy *px;
	enum wims_sip_method method;
	char skey[PX_SKEY_MAX];
	size_t skey_len;
	char branch[PX_BRANCH_MAX];
	struct px_hop up;   /* where the request came from */
	struct px_hop down; /* where we sent it */
	char *req;          /* the request as received */
	size_t req_len;
	char *out;          /* the request as sent */
	size_t out_len;
	char *resp;         /* last response sent upstream */
	size_t resp_len;
	unsigned resp_status;
	unsigned down_status; /* highest status received from downstream */
	bool replace_via;
	bool cancel_wanted;  /* CANCEL arrived before any provisional response */
	bool cancelled;
	bool acked;
	bool req_sdp;        /* the request carried SDP (an offer) */
	bool initial_invite; /* INVITE outside a dialog: its failure ends the call's media */
	bool done;           /* final response forwarded */
	struct px_tsx *a_next, **a_pprev; /* on px->tsx_active while a_pprev: no final answer yet */
	uint64_t flow_token_id;
	bool flow_outbound;
	uv_timer_t t_retr;   /* A/E (requests), G (non-2xx to INVITE over UDP) */
	uv_timer_t t_to;     /* B/F, then H/J/K lingering */
	uv_timer_t t_c;      /* timer C for INVITE */
	unsigned retr_ms;
	int closing;         /* handles still to close */
	uint32_t cseq_up;    /* stimer.c: CSeq number of the request as received, put back in responses */
	uint64_t stm_id;     /* stimer.c: a refresh wims sent in a browser's name (0: none) */
};

int wims_proxy__tsx_new_request(struct px_req *r);
/** Server-side matching of a request (retransmission, ACK for non-2xx, CANCEL). true: consumed. */
bool wims_proxy__tsx_match_request(struct wims_proxy *px, const struct wims_sip_msg *m,
				   struct wims_sip_flow *in);
/** A response from downstream; true when it matched a transaction. */
bool wims_proxy__tsx_response(struct wims_proxy *px, const struct wims_sip_msg *m, struct wims_sip_flow *in);
/** Reply upstream from within a transaction (kept for retransmissions). */
void wims_proxy__tsx_reply(struct px_tsx *t, unsigned code, const char *reason);
/** Flow gone: fail transactions whose downstream is that flow. */
void wims_proxy__tsx_flow_gone(struct wims_proxy *px, struct wims_sip_flow *f, unsigned code);
void wims_proxy__tsx_free_all(struct wims_proxy *px);
/** Transactions still waiting for their final response (lingering ones not counted). */
size_t wims_proxy__tsx_pending(const struct wims_proxy *px);
/** Send a request wims originates itself (BYE on flow loss) through a client transaction. */
int wims_proxy__tsx_local(struct wims_proxy *px, const struct px_hop *down, const char *buf, size_t len,
			  const char *branch) __attribute__((warn_unused_result));
/** The same, telling stimer.c session stm_id its final status (wims_proxy__stimer_done). */
int wims_proxy__tsx_local_stm(struct wims_proxy *px, const struct px_hop *down, const char *buf, size_t len,
			      const char *branch, uint64_t stm_id) __attribute__((warn_unused_result));

/* ---- the roles: one table each (iwu.c, pcscf.c), chosen by [general] role ---- */
struct px_role {
	const char *name;
	/** Read the role's configuration; the next hop is already parsed. */
	int (*init)(struct wims_proxy *px, char *err, size_t errlen);
	/** Decide the next hop and the rewrites of a new request (or reject it). */
	void (*request)(struct px_req *r);
	/** Rewrite a response on its way upstream through tsx t. */
	void (*response)(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m,
			 struct wims_sip_edits *ed, struct wims_wbuf *scratch);
	/** A browser's connection is gone. */
	void (*flow_gone)(struct wims_proxy *px, struct wims_sip_flow *f);
	void (*free)(struct wims_proxy *px);
	/** The browsers' flows as a JSON array (wims_proxy_flows_json). */
	void (*flows_json)(const struct wims_proxy *px, struct wims_wbuf *out);
};

/** RFC 3261 §16.4: remove the Route entries at the top that name us, and
 *  only those (a call between two browsers of one wimsd has our entries
 *  further down, for the other pass).  true when a Route is left. */
bool wims_proxy__pop_own_routes(struct wims_proxy *px, const struct wims_sip_msg *m, struct wims_sip_edits *ed);

/* ---- media.c ---- */
/** Hand a request's SDP to media control; rejects the request when it fails. */
void wims_proxy__media_request(struct px_req *r);
/** The same for a response on its way up; *memp receives a pool block to put back. */
/** ...returns true when the response waits for the external AGW (not forwarded now). */
bool wims_proxy__media_response(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m,
				struct wims_sip_edits *ed, char **memp);
void wims_proxy__media_free(struct wims_proxy *px);
/** Release the media of call_id's pass through wims on the browser flow flow_id. */
void wims_proxy__media_delete(struct wims_proxy *px, struct wims_str call_id, uint64_t flow_id);
bool wims_proxy__media_has_sdp(const struct wims_sip_msg *m);

extern const struct px_role wims_proxy__iwu_role;
extern const struct px_role wims_proxy__pcscf_role;

/** JSON string literal of s (quotes and escapes) appended to w. */
void wims_proxy__json_str(struct wims_wbuf *w, const char *s);

/* flow tokens: a browser's flow as the user part of a Contact toward the core */
#define PX_TOKEN_LEN 27 /* "wt" + 16 hex id + 1 flags + 8 hex mac */
void wims_proxy__token_make(const struct wims_proxy *px, uint64_t flow_id, bool outbound,
			    char out[PX_TOKEN_LEN + 1]);
/** 0 and the flow id/outbound flag when s is a token we made; -EINVAL otherwise. */
int wims_proxy__token_parse(const struct wims_proxy *px, struct wims_str s, uint64_t *flow_id, bool *outbound);

/* ---- dialog.c: dialogs that ran over a browser's flow ---- */
void wims_proxy__dlg_on_response(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *resp);
void wims_proxy__dlg_on_request(struct wims_proxy *px, const struct wims_sip_msg *m, bool from_browser,
				uint64_t flow_id);
/** TS 24.229 §5.2.6.3.5: may browser flow flow_id send in-dialog request m?
 *  false when wims saw that dialog made on another flow only. */
bool wims_proxy__dlg_party(struct wims_proxy *px, const struct wims_sip_msg *m, uint64_t flow_id);
/** The route set toward the core (its Route lines, empty for none) of the INVITE dialog that
 *  in-dialog request m of browser flow flow_id belongs to; .p NULL: a dialog wims did not see made. */
struct wims_str wims_proxy__dlg_routes(struct wims_proxy *px, const struct wims_sip_msg *m, uint64_t flow_id);
/** Release every dialog of flow id toward the core with BYE. */
void wims_proxy__dlg_flow_gone(struct wims_proxy *px, uint64_t flow_id);
void wims_proxy__dlg_free_all(struct wims_proxy *px);
/** The network de-registered flow id (TS 24.229 §5.2.5.2; event: the reg event's name): release
 *  each of its dialogs with BYE toward the core and toward the browser, both with the Reason
 *  text "De-registered by the network (event)". */
void wims_proxy__dlg_release_flow(struct wims_proxy *px, uint64_t flow_id, const char *event);

/* ---- regevent.c: reg event subscriptions of the P-CSCF (TS 24.229 §5.2.3) or of the IWU's UEs (§5.1.1.3) ---- */
struct px_regev;
struct px_regev_ops {
	/** Is contact_uri (as the S-CSCF reports it) the Contact registered for flow_id? */
	bool (*ours)(struct wims_proxy *px, uint64_t flow_id, const char *contact_uri);
	/** Has flow_id the public identity aor? */
	bool (*has_impu)(struct wims_proxy *px, uint64_t flow_id, const char *aor);
	/** The network de-registered flow_id (event: RFC 3680 event name or "terminated"). */
	void (*dereg)(struct wims_proxy *px, uint64_t flow_id, const char *event);
	/** A fresh icid-value (TS 24.229 §7.2A.5) into out.  NULL: the UE's subscriptions (ue_lines). */
	void (*icid)(struct wims_proxy *px, char *out, size_t cap);
	/** Non-NULL: each flow subscribes on its own, as a UE does (TS 24.229 §5.1.1.3, the IWU):
	 *  From is the IMPU, and this writes the flow's Contact line and, for the initial
	 *  SUBSCRIBE (initial), its preloaded Route line.  NULL: one subscription per IMPU from
	 *  the P-CSCF itself (§5.2.3). */
	void (*ue_lines)(struct wims_proxy *px, uint64_t flow_id, bool initial, struct wims_wbuf *w);
};
/** The subscriptions' state; ops outlives it; expires: what SUBSCRIBEs ask for.  -ENOMEM. */
int wims_proxy__regev_alloc(struct px_regev **rp, struct wims_proxy *px, const struct px_regev_ops *ops,
			    uint32_t expires) __attribute__((warn_unused_result));
/** Free it (timers are closed: run the loop once more).  NULL is allowed. */
void wims_proxy__regev_free(struct px_regev *re);
/** flow_id is registered with default identity impu: subscribe (once per IMPU) or join. */
void wims_proxy__regev_flow_registered(struct px_regev *re, uint64_t flow_id, const char *impu);
/** flow_id's registration ended: leave; the last flow of an IMPU unsubscribes, or, when
 * it de-registered (the S-CSCF then ends the subscription itself), awaits its NOTIFY first. */
void wims_proxy__regev_flow_unregistered(struct px_regev *re, uint64_t flow_id, bool deregistered);
/** Shutdown: unsubscribe from every established subscription (RFC 6665 §4.1.2.3). */
void wims_proxy__regev_drain(struct px_regev *re);
/** Is request m addressed to our subscriptions' Contact? */
bool wims_proxy__regev_for_us(const struct wims_sip_msg *m);
/** Is m a NOTIFY in the dialog of one of re's subscriptions (by Call-ID)?  NULL re: false. */
bool wims_proxy__regev_owns(struct px_regev *re, const struct wims_sip_msg *m);
/** Answer a NOTIFY for us through r->reject (200/400/415/481/489) and act on it. */
void wims_proxy__regev_notify(struct px_regev *re, struct px_req *r);
/** A response to a local transaction t: true when it was one of our SUBSCRIBEs. */
bool wims_proxy__regev_response(struct px_regev *re, const struct px_tsx *t, const struct wims_sip_msg *m);

/* ---- stimer.c: RFC 4028 session timers kept on a browser's behalf ---- */
struct px_stm_tab;
/** Check the [sip] session timer settings once (warns about a test-only min_se). */
void wims_proxy__stimer_init(struct wims_proxy *px);
/** A request about to be forwarded (after the role): offer timers for a
 *  browser that has none, strip Require: timer toward a browser, keep the
 *  CSeq space of a dialog where wims sent requests in the browser's name. */
void wims_proxy__stimer_request(struct px_req *r);
/** A response on its way up through t (after the role's edits): CSeq put
 *  back, Require: timer stripped toward a browser, Session-Expires added to
 *  a browser's 2xx when the request asked for timers (RFC 4028 §9). */
void wims_proxy__stimer_response(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m,
				 struct wims_sip_edits *ed, struct wims_wbuf *scratch);
/** A 2xx to INVITE/UPDATE as received (m) and as forwarded (out): learn
 *  the interval and refresher, arm the refresh or expiry timer. */
void wims_proxy__stimer_learn(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m,
			      const char *out, size_t out_len);
/** Final status of a refresh wims sent for session id (408/481: release;
 *  a 2xx, m, re-arms).  m is NULL when the transaction timed out. */
void wims_proxy__stimer_done(struct wims_proxy *px, uint64_t id, unsigned status, const struct wims_sip_msg *m);
/** RFC 4028 §7.4: INVITE t, for which wims offered Session-Expires in the
 *  browser's name, got 422 resp: write the INVITE again into out with the
 *  interval of resp's Min-SE, CSeq + 1 and a new branch (given back).
 *  -EAGAIN when it is not wims's to retry (the browser asked for timers). */
int wims_proxy__stimer_422(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *resp,
			   struct wims_wbuf *out, char branch[PX_BRANCH_MAX]) __attribute__((warn_unused_result));
/** The highest CSeq the core saw from the browser's side of a dialog wims
 *  keeps timers for (its own refreshes included); 0 when there is none. */
uint32_t wims_proxy__stimer_cseq_floor(struct wims_proxy *px, struct wims_str call_id, struct wims_str tag,
				       uint64_t flow_id);
/** The browser flow is gone or its dialogs were released (dialog.c sends
 *  the BYEs): forget its sessions. */
void wims_proxy__stimer_flow_gone(struct wims_proxy *px, uint64_t flow_id);
void wims_proxy__stimer_free_all(struct wims_proxy *px);

#endif
