/* Media anchoring for both roles (TS 23.228 Annex U: the eP-CSCF acts as
 * IMS-ALG over Iq): every SDP that passes through is handed to the media
 * control interface, and what goes on is the SDP it gives back.  A browser's
 * WebRTC offer reaches the core as RTP/AVP, the core's answer reaches the
 * browser with ICE-lite and DTLS; the reverse for calls toward the browser.
 *
 *   INVITE/UPDATE with SDP   offer           18x/2xx with SDP   answer
 *   INVITE without SDP       (nothing)       18x/2xx with SDP   offer, ACK/PRACK answer
 *   BYE, final >= 300 to an initial INVITE   delete
 */
#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "proxy/px.h"

static struct wims_ratelimit rl_media = {0};

static bool has_sdp(const struct wims_sip_msg *m)
{
	if (!m->body.l)
		return false;
	const struct wims_sip_hdr *ct = wims_sip_msg_hdr(m, WIMS_HDR_CONTENT_TYPE);
	if (!ct)
		return true; /* RFC 3261 §20.15: should be there; SDP is what INVITEs carry */
	struct wims_str v = wims_str_trim(ct->value);
	return v.l >= 15 && strncasecmp(v.p, "application/sdp", 15) == 0;
}

/* The media of one pass of a call through wims.  A call between two browsers
 * of the same wimsd passes it twice with the same Call-ID and tags (caller's
 * side, then callee's side), so the key also names the browser's flow of
 * this pass: a dialog lives on one flow (wims releases it when the flow is
 * lost), so the key is stable for the dialog's life. */
#define MEDIA_KEY_MAX 300

static struct wims_str media_key(char *buf, struct wims_str cid, uint64_t flow_id)
{
	int n = snprintf(buf, MEDIA_KEY_MAX, "%.*s;wf=%llx", (int)(cid.l > 256 ? 256 : cid.l), cid.p,
			 (unsigned long long)flow_id);
	return wims_str_make(buf, n < 0 ? 0 : (size_t)n);
}

static void fill_req(struct wims_mctl_req *rq, const struct wims_sip_msg *m, enum wims_mctl_op op,
		     char *keybuf, uint64_t flow_id)
{
	memset(rq, 0, sizeof(*rq));
	rq->op = op;
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);
	rq->call_id = cid ? media_key(keybuf, wims_str_trim(cid->value), flow_id) : WIMS_STR_NULL;
	rq->from_tag = wims_sip_msg_tag(m, WIMS_HDR_FROM);
	rq->to_tag = wims_sip_msg_tag(m, WIMS_HDR_TO);
	rq->sdp = m->body;
	rq->flags.transcode_auto = true; /* the roles of this wimsd transcode when needed */
}

static int run(struct wims_proxy *px, struct wims_mctl_req *rq, char **memp, struct wims_str *body,
	       struct wims_mctl_err *err)
{
	struct wims_mediactl *mc = px->mc;
	char *mem = wims_proxy__mem_get(px);
	if (!mem) {
		err->sip_status = 500;
		return -ENOMEM;
	}
	struct wims_wbuf out;
	wims_wbuf_init(&out, mem, PX_POOL_SIZE);
	int rc = rq->op == WIMS_MCTL_OFFER ? mc->ops->offer(mc->impl, rq, &out, err)
					   : mc->ops->answer(mc->impl, rq, &out, err);
	if (rc == 0 && out.err)
		rc = -E2BIG;
	if (rc) {
		wims_proxy__mem_put(px, mem);
		return rc;
	}
	*memp = mem;
	*body = wims_wbuf_str(&out);
	px->st.media_sdp++;
	return 0;
}

void wims_proxy__media_delete(struct wims_proxy *px, struct wims_str call_id, uint64_t flow_id)
{
	if (!px->mc || !call_id.l)
		return;
	struct wims_mctl_req rq;
	struct wims_mctl_err err;
	char key[MEDIA_KEY_MAX];
	memset(&rq, 0, sizeof(rq));
	memset(&err, 0, sizeof(err));
	rq.op = WIMS_MCTL_DELETE;
	rq.call_id = media_key(key, call_id, flow_id);
	(void)px->mc->ops->del(px->mc->impl, &rq, &err); /* not found is fine */
}

void wims_proxy__media_request(struct px_req *r)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	struct wims_mctl_req rq;
	struct wims_mctl_err err;
	enum wims_mctl_op op;
	char key[MEDIA_KEY_MAX];
	/* the browser of this pass: the sender, or the flow the request goes to */
	uint64_t flow_id = px_proto_is_ws(wims_sip_flow_proto(r->in)) ? wims_sip_flow_id(r->in) : r->flow_token_id;
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);

	if (!px->mc)
		return;
	switch (m->method_id) {
	case WIMS_SIP_BYE:
		if (cid)
			wims_proxy__media_delete(px, wims_str_trim(cid->value), flow_id);
		return;
	case WIMS_SIP_INVITE:
	case WIMS_SIP_UPDATE:
		op = WIMS_MCTL_OFFER;
		break;
	case WIMS_SIP_ACK:
	case WIMS_SIP_PRACK:
		op = WIMS_MCTL_ANSWER;
		break;
	default:
		return;
	}
	if (!has_sdp(m))
		return;
	fill_req(&rq, m, op, key, flow_id);
	memset(&err, 0, sizeof(err));
	struct wims_str body;
	int rc = run(px, &rq, &r->media_mem, &body, &err);
	if (rc) {
		px->st.media_failed++;
		wims_log_rl(&rl_media, WIMS_LOG_NOTICE, "media: %s for Call-ID %.*s failed: %s",
			    op == WIMS_MCTL_OFFER ? "offer" : "answer", (int)rq.call_id.l, rq.call_id.p,
			    err.reason[0] ? err.reason : strerror(-rc));
		if (m->method_id == WIMS_SIP_ACK)
			return; /* an ACK cannot be refused; the call has no media */
		r->reject = err.sip_status ? (unsigned)err.sip_status : 488;
		r->reject_reason = r->reject == 503 ? "Media Capacity Exhausted"
			     : r->reject == 488 ? "Not Acceptable Here" : "Media Gateway Error";
		return;
	}
	r->ed.new_body = body;
	r->ed.body_set = true;
}

void wims_proxy__media_response(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m,
				struct wims_sip_edits *ed, char **memp)
{
	struct wims_mctl_req rq;
	struct wims_mctl_err err;
	char key[MEDIA_KEY_MAX];
	bool browser_uac = px_proto_is_ws(t->up.proto);
	uint64_t flow_id = browser_uac && t->up.flow ? wims_sip_flow_id(t->up.flow) : t->flow_token_id;

	if (!px->mc)
		return;
	if (t->method == WIMS_SIP_INVITE && m->status >= 300) {
		const struct wims_sip_hdr *cid = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);
		if (t->initial_invite && cid)
			wims_proxy__media_delete(px, wims_str_trim(cid->value), flow_id);
		return;
	}
	if (m->status < 180 || m->status >= 300 || !has_sdp(m) ||
	    (t->method != WIMS_SIP_INVITE && t->method != WIMS_SIP_UPDATE && t->method != WIMS_SIP_PRACK))
		return;
	fill_req(&rq, m, t->req_sdp ? WIMS_MCTL_ANSWER : WIMS_MCTL_OFFER, key, flow_id);
	memset(&err, 0, sizeof(err));
	struct wims_str body;
	if (run(px, &rq, memp, &body, &err)) {
		px->st.media_failed++;
		wims_log_rl(&rl_media, WIMS_LOG_NOTICE, "media: SDP of a %u response for Call-ID %.*s: %s",
			    m->status, (int)rq.call_id.l, rq.call_id.p, err.reason[0] ? err.reason : "failed");
		return;
	}
	ed->new_body = body;
	ed->body_set = true;
}

bool wims_proxy__media_has_sdp(const struct wims_sip_msg *m)
{
	return has_sdp(m);
}
