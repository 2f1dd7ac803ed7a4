/* The interworking-unit role (alternative 2 of TS 23.228 Annex U as the seed
 * describes it): in front of an unmodified P-CSCF, every browser looks like
 * an ordinary SIP UE at wimsd's own address.
 *
 * Toward the core a browser's Contact becomes sip:<flow token>@<us>; its Via
 * lines are hidden behind ours (and put back on the responses).  A request
 * from the core names the browser by the token in its Request-URI; the
 * token leads to the WebSocket flow and the Contact the browser really
 * used.  The .invalid hosts of RFC 7118 are never resolved: nothing here
 * resolves anything.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "proxy/px.h"

/* What wims knows of one browser connection. */
struct px_flow {
	struct wims_hnode hn;
	uint64_t id;
	char *contact;         /* the browser's own Contact URI */
	bool outbound;         /* registered with reg-id (RFC 5626) */
	unsigned reg_id;
	char *instance;        /* +sip.instance, quotes included */
	uint64_t reg_expires;  /* loop time (ms) the binding ends, 0: not registered */
	char *service_route;   /* Route values to preload, in order */
	char *impu;            /* its default public identity (first P-Associated-URI, else To) */
	char *impus;           /* every identity it registered: the P-Associated-URIs (else To), ", "-separated */
};

/* The strings of a flow are sized to what they hold (an idle registered
 * browser is mostly this record): "" until set, never NULL. */
static char px_empty[1];

static void fstr_set(char **dst, struct wims_str v)
{
	char *c;

	if (v.l > 2048) /* no Contact or Service-Route of a sane UE is that long */
		v.l = 0;
	if (v.l && *dst != px_empty && strlen(*dst) == v.l && memcmp(*dst, v.p, v.l) == 0)
		return;
	c = v.l ? malloc(v.l + 1) : NULL;
	if (c) {
		memcpy(c, v.p, v.l);
		c[v.l] = 0;
	}
	if (*dst != px_empty)
		free(*dst);
	*dst = c ? c : px_empty;
}

static void flow_free(struct px_flow *f)
{
	fstr_set(&f->contact, WIMS_STR_NULL);
	fstr_set(&f->instance, WIMS_STR_NULL);
	fstr_set(&f->service_route, WIMS_STR_NULL);
	fstr_set(&f->impu, WIMS_STR_NULL);
	fstr_set(&f->impus, WIMS_STR_NULL);
	free(f);
}

static const struct px_regev_ops re_ops;
static bool identity_ok(struct px_req *r, const struct px_flow *f);

static int iwu_init(struct wims_proxy *px, char *err, size_t errlen)
{
	const char *s = px->conf->iwu_flow_secret;

	if (s[0]) /* a fixed secret keeps tokens valid across restarts */
		(void)EVP_Digest(s, strlen(s), px->secret, NULL, EVP_sha256(), NULL);
	if (px->conf->iwu_reg_subscribe &&
	    wims_proxy__regev_alloc(&px->regev, px, &re_ops, px->conf->iwu_reg_subscribe_expires))
		return -ENOMEM;
	return 0;
}

/* ---- tokens ---- */

static uint32_t token_mac(const struct wims_proxy *px, uint64_t id, char flag)
{
	unsigned char in[9], md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	for (int i = 0; i < 8; i++)
		in[i] = (unsigned char)(id >> (56 - 8 * i));
	in[8] = (unsigned char)flag;
	HMAC(EVP_sha256(), px->secret, sizeof(px->secret), in, sizeof(in), md, &mdlen);
	return (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
}

void wims_proxy__token_make(const struct wims_proxy *px, uint64_t flow_id, bool outbound,
			    char out[PX_TOKEN_LEN + 1])
{
	char flag = outbound ? 'o' : 'n';

	snprintf(out, PX_TOKEN_LEN + 1, "wt%016llx%c%08x", (unsigned long long)flow_id, flag,
		 token_mac(px, flow_id, flag));
}

static int hexval(struct wims_str s, uint64_t *v)
{
	uint64_t x = 0;

	for (size_t i = 0; i < s.l; i++) {
		char c = s.p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return -EINVAL;
		x = x << 4 | (uint64_t)d;
	}
	*v = x;
	return 0;
}

int wims_proxy__token_parse(const struct wims_proxy *px, struct wims_str s, uint64_t *flow_id, bool *outbound)
{
	uint64_t id, mac;

	if (s.l != PX_TOKEN_LEN || s.p[0] != 'w' || s.p[1] != 't' || (s.p[18] != 'o' && s.p[18] != 'n'))
		return -EINVAL;
	if (hexval(wims_str_make(s.p + 2, 16), &id) || hexval(wims_str_make(s.p + 19, 8), &mac))
		return -EINVAL;
	if ((uint32_t)mac != token_mac(px, id, s.p[18]))
		return -EINVAL;
	*flow_id = id;
	*outbound = s.p[18] == 'o';
	return 0;
}

/* ---- per-flow state ---- */

static struct px_flow *flow_get(struct wims_proxy *px, uint64_t id, bool create)
{
	struct wims_hnode *n = wims_hash_find(&px->flows, id);
	struct px_flow *f;

	if (n)
		return wims_container_of(n, struct px_flow, hn);
	if (!create || !(f = calloc(1, sizeof(*f))))
		return NULL;
	f->id = id;
	f->contact = f->instance = f->service_route = f->impu = f->impus = px_empty;
	wims_proxy__flow_insert(px, &f->hn, id);
	return f;
}

/* The URI wims registers for a browser: its token at our address. */
static void our_contact_uri(struct wims_proxy *px, struct wims_wbuf *w, uint64_t id, bool outbound)
{
	char tok[PX_TOKEN_LEN + 1];

	wims_proxy__token_make(px, id, outbound, tok);
	wims_wbuf_printf(w, "sip:%s@%s:%u", tok, px->adv_host, px_adv_port(px, px->next_proto));
	if (px->next_proto == WIMS_SIP_TCP)
		wims_wbuf_puts(w, ";transport=tcp");
	else if (px->next_proto == WIMS_SIP_TLS)
		wims_wbuf_puts(w, ";transport=tls");
}

/* Contact value val (parsed as a) of m becomes <our token URI> followed by
 * its header parameters; the display name is dropped. */
static void contact_to_token(struct wims_proxy *px, struct wims_sip_edits *ed, const struct wims_sip_msg *m,
			     struct wims_str val, const struct wims_sip_addr *a, struct wims_wbuf *scratch,
			     const struct px_flow *f)
{
	size_t start = scratch->len;
	const char *uri_end = a->uri.p + a->uri.l + (a->angle ? 1 : 0);

	wims_wbuf_puts(scratch, "<");
	our_contact_uri(px, scratch, f->id, f->outbound);
	wims_wbuf_puts(scratch, ">");
	if (scratch->err)
		return;
	wims_sip_edit_replace(ed, m, wims_str_make(val.p, (size_t)(uri_end - val.p)),
			      wims_str_make(scratch->p + start, scratch->len - start));
}

/* Replace the URI of one Contact value with ours, keeping its header
 * parameters (expires, +sip.instance, reg-id, q, feature tags). */
static void rewrite_contact_val(struct px_req *r, struct px_flow *f, struct wims_str val, bool remember)
{
	struct wims_proxy *px = r->px;
	struct wims_sip_addr a;
	struct wims_str v;

	if (wims_sip_addr_parse(&a, val) || a.star)
		return;
	if (remember) {
		fstr_set(&f->contact, a.uri);
		if (wims_sip_param_get(a.params, "reg-id", &v)) {
			uint32_t id;
			f->outbound = true;
			if (wims_sip_uint_parse(v, 0xffffffffu, &id) == 0)
				f->reg_id = id;
		}
		if (wims_sip_param_get(a.params, "+sip.instance", &v))
			fstr_set(&f->instance, v);
	}
	contact_to_token(px, &r->ed, r->m, val, &a, &r->scratch, f);
}

static void rewrite_contacts(struct px_req *r, struct px_flow *f)
{
	struct wims_sip_vals it;
	bool first = true;

	wims_sip_vals_init(&it, r->m, WIMS_HDR_CONTACT);
	while (wims_sip_vals_next(&it)) {
		rewrite_contact_val(r, f, it.value, first);
		first = false;
	}
}




/* RFC 3261 §10.2.8: a binding shorter than we accept gets 423 with Min-Expires. */
static bool too_brief(struct px_req *r)
{
	const struct wims_sip_msg *m = r->m;
	unsigned min = r->px->conf->iwu_min_expires;
	struct wims_sip_vals it;
	uint32_t dflt, e;

	if (!min || m->method_id != WIMS_SIP_REGISTER)
		return false;
	dflt = wims_proxy__msg_expires(m);
	wims_sip_vals_init(&it, m, WIMS_HDR_CONTACT);
	while (wims_sip_vals_next(&it)) {
		struct wims_sip_addr a;
		if (wims_sip_addr_parse(&a, it.value) || a.star)
			continue;
		e = wims_proxy__contact_expires(&a, dflt);
		if (e > 0 && e < min) {
			size_t start = r->scratch.len;
			wims_wbuf_printf(&r->scratch, "Min-Expires: %u\r\n", min);
			r->reject = 423;
			r->reject_hdrs = wims_str_make(r->scratch.p + start, r->scratch.len - start);
			return true;
		}
	}
	return false;
}

/* A request from a browser on its way to the P-CSCF. */
static void from_browser(struct px_req *r)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	uint64_t id = wims_sip_flow_id(r->in);
	struct px_flow *f = flow_get(px, id, true);
	bool has_route;

	if (!f) {
		r->reject = 500;
		r->reject_reason = "Out Of Memory";
		return;
	}
	if (too_brief(r) || !identity_ok(r, f))
		return;
	r->record_route = px->conf->iwu_record_route && wims_proxy__creates_dialog(m);
	rewrite_contacts(r, f);
	/* Route entries naming us are ours to consume (RFC 3261 §16.4) */
	has_route = wims_proxy__pop_own_routes(px, m, &r->ed);
	/* An initial request outside a dialog: preload the P-CSCF and the
	 * Service-Route learnt at registration (TS 24.229 §5.1.2A.1.1) */
	if (!has_route && m->method_id != WIMS_SIP_REGISTER && m->method_id != WIMS_SIP_ACK &&
	    wims_sip_msg_tag(m, WIMS_HDR_TO).l == 0) {
		size_t start = r->scratch.len;
		wims_wbuf_printf(&r->scratch, "Route: <%s;lr>", px->next_uri);
		if (f->service_route[0])
			wims_wbuf_printf(&r->scratch, ", %s", f->service_route);
		wims_wbuf_puts(&r->scratch, "\r\n");
		if (!r->scratch.err)
			wims_sip_edit_append_hdr(&r->ed, m,
						 wims_str_make(r->scratch.p + start, r->scratch.len - start));
	}
	r->replace_via = true;
	r->out.proto = px->next_proto;
	r->out.addr = px->next_addr;
	r->out.flow = NULL;
}

/* A request from the core for a browser: the Request-URI names its flow. */
static void from_core(struct px_req *r)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	struct wims_sip_uri u;
	struct wims_sip_flow *wf;
	struct px_flow *f;
	uint64_t id;
	bool ob;

	/* a NOTIFY of a browser's reg event subscription, which wims made as its UE */
	if (wims_proxy__regev_owns(px->regev, m)) {
		wims_proxy__regev_notify(px->regev, r);
		return;
	}
	/* OPTIONS to wimsd itself (a keep-alive or capability query of the core):
	 * answered here, RFC 3261 §11.2 */
	if (m->method_id == WIMS_SIP_OPTIONS && wims_sip_uri_parse(&u, m->ruri) == 0 && u.user.l == 0) {
		r->reject = 200;
		r->reject_hdrs = wims_str_c("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, PRACK, INFO, "
					    "MESSAGE, SUBSCRIBE, NOTIFY, REFER, PUBLISH, REGISTER\r\n"
					    "Accept: application/sdp\r\nSupported: path, outbound\r\n");
		return;
	}
	if (wims_sip_uri_parse(&u, m->ruri) || wims_proxy__token_parse(px, u.user, &id, &ob)) {
		r->reject = 404;
		r->reject_reason = "No Such Flow";
		return;
	}
	wf = wims_sip_tport_flow_find(px->tp, id);
	f = flow_get(px, id, false);
	if (!wf || !wims_sip_flow_alive(wf) || !f || !f->contact[0]) {
		/* RFC 5626 §5.3: the flow is gone */
		r->reject = ob ? 430 : 480;
		r->reject_reason = ob ? "Flow Failed" : "Flow Gone";
		return;
	}
	r->flow_token_id = id;
	r->flow_outbound = ob;
	wims_sip_edit_replace(&r->ed, m, m->ruri, wims_str_c(f->contact));
	(void)wims_proxy__pop_own_routes(px, m, &r->ed);
	r->record_route = px->conf->iwu_record_route && wims_proxy__creates_dialog(m);
	r->out.proto = wims_sip_flow_proto(wf);
	r->out.addr = *wims_sip_flow_peer(wf);
	r->out.flow = wf;
	wims_sip_flow_ref(wf);
}

static void iwu_request(struct px_req *r)
{
	if (px_proto_is_ws(wims_sip_flow_proto(r->in)))
		from_browser(r);
	else
		from_core(r);
}

/* ---- responses ---- */

static uint64_t now_ms(struct wims_proxy *px)
{
	return uv_now(px->loop);
}

/* The reg event subscription of the browser's UE (TS 24.229 §5.1.1.3) after a
 * 2xx to its REGISTER: made for its default identity when it is registered,
 * left when it de-registered (the core then ends it, regevent.c sub_close). */
static void reg_event(struct wims_proxy *px, struct px_flow *f, bool was, bool bound)
{
	if (!px->regev)
		return;
	if (!bound) {
		if (was)
			wims_proxy__regev_flow_unregistered(px->regev, f->id, true);
		return;
	}
	if (f->impu[0])
		wims_proxy__regev_flow_registered(px->regev, f->id, f->impu);
}

/* The identities a 2xx to the browser's REGISTER gives it: the
 * P-Associated-URIs, the first the default one (RFC 7315 §4.1); without
 * them the registered To. */
static void learn_identities(struct px_flow *f, const struct wims_sip_msg *m, struct wims_wbuf *scratch)
{
	struct wims_sip_vals it;
	struct wims_sip_addr a;
	const struct wims_sip_hdr *to;
	size_t start = scratch->len;
	bool any = false;

	wims_sip_vals_init(&it, m, WIMS_HDR_P_ASSOCIATED_URI);
	while (wims_sip_vals_next(&it))
		if (wims_sip_addr_parse(&a, it.value) == 0 && !a.star) {
			if (!any)
				fstr_set(&f->impu, a.uri);
			wims_wbuf_printf(scratch, "%s%.*s", any ? ", " : "", (int)a.uri.l, a.uri.p);
			any = true;
		}
	if (!any && (to = wims_sip_msg_hdr(m, WIMS_HDR_TO)) && wims_sip_addr_parse(&a, to->value) == 0) {
		fstr_set(&f->impu, a.uri);
		wims_wbuf_printf(scratch, "%.*s", (int)a.uri.l, a.uri.p);
	}
	if (!scratch->err)
		fstr_set(&f->impus, wims_str_make(scratch->p + start, scratch->len - start));
	scratch->len = start;
}

/* Every browser reaches the P-CSCF from wimsd's one address, so the P-CSCF
 * cannot tell them apart by where a request comes from (it binds a UE to
 * its address or security association, TS 33.203 §7): wims does it.  An
 * initial request other than REGISTER (an emergency one aside) needs a
 * registration on this connection, and a P-Preferred-Identity must be one
 * of the identities registered there ([iwu] require_registration).  false:
 * refused with 403. */
static bool identity_ok(struct px_req *r, const struct px_flow *f)
{
	const struct wims_sip_msg *m = r->m;
	struct wims_sip_vals it;
	struct wims_sip_addr a;

	if (!r->px->conf->iwu_require_registration || m->method_id == WIMS_SIP_REGISTER ||
	    m->method_id == WIMS_SIP_ACK || m->method_id == WIMS_SIP_CANCEL || wims_sip_msg_tag(m, WIMS_HDR_TO).l ||
	    wims_str_findi(m->ruri, wims_str_c("urn:service:sos")) == 0)
		return true;
	if (!f->reg_expires || f->reg_expires <= uv_now(r->px->loop)) {
		r->reject = 403;
		r->reject_reason = "Not Registered";
		return false;
	}
	wims_sip_vals_init(&it, m, WIMS_HDR_P_PREFERRED_IDENTITY);
	while (wims_sip_vals_next(&it)) {
		size_t pos = 0;
		struct wims_str v;
		bool found = false;
		if (wims_sip_addr_parse(&a, it.value))
			continue;
		while (!found && wims_sip_list_next(wims_str_c(f->impus), &pos, &v))
			found = wims_str_eqi(v, a.uri);
		if (!found) {
			r->reject = 403;
			r->reject_reason = "Identity Not Registered On This Connection";
			return false;
		}
	}
	return true;
}

/* 2xx to REGISTER going back to a browser: our Contacts become the browser's
 * again (JsSIP looks for its own Contact there), and the binding's expiry
 * and Service-Route are kept. */
static void register_ok(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m,
			struct wims_sip_edits *ed, struct wims_wbuf *scratch)
{
	struct wims_sip_vals it;
	uint32_t dflt = wims_proxy__msg_expires(m), exp;
	uint64_t upid = t->up.flow ? wims_sip_flow_id(t->up.flow) : 0;
	struct px_flow *self = upid ? flow_get(px, upid, false) : NULL;
	bool bound = false, was = self && self->reg_expires;

	wims_sip_vals_init(&it, m, WIMS_HDR_CONTACT);
	while (wims_sip_vals_next(&it)) {
		struct wims_sip_addr a;
		struct wims_sip_uri u;
		uint64_t id;
		bool ob;
		struct px_flow *f;

		if (wims_sip_addr_parse(&a, it.value) || wims_sip_uri_parse(&u, a.uri) ||
		    wims_proxy__token_parse(px, u.user, &id, &ob))
			continue;
		f = flow_get(px, id, false);
		if (!f || !f->contact[0])
			continue;
		exp = wims_proxy__contact_expires(&a, dflt);
		if (f == self) {
			f->reg_expires = exp ? now_ms(px) + (uint64_t)exp * 1000 : 0;
			bound = exp > 0;
		}
		if (a.angle) {
			wims_sip_edit_replace(ed, m, a.uri, wims_str_c(f->contact));
		} else {
			/* a bare addr-spec: the browser's URI has ;transport=ws, which
			 * would read as a header parameter (RFC 3261 §20.10) */
			size_t start = scratch->len;
			wims_wbuf_printf(scratch, "<%s>", f->contact);
			if (!scratch->err)
				wims_sip_edit_replace(ed, m, a.uri,
						      wims_str_make(scratch->p + start, scratch->len - start));
		}
	}
	if (self) {
		if (!bound)
			self->reg_expires = 0;
		/* TS 24.229 §5.1.1.2: the Service-Route of the last registration, in order */
		size_t start = scratch->len;
		bool any = false;
		wims_sip_vals_init(&it, m, WIMS_HDR_SERVICE_ROUTE);
		while (wims_sip_vals_next(&it)) {
			wims_wbuf_printf(scratch, "%s%.*s", any ? ", " : "", (int)it.value.l, it.value.p);
			any = true;
		}
		if (!scratch->err)
			fstr_set(&self->service_route, wims_str_make(scratch->p + start, scratch->len - start));
		scratch->len = start;
		if (bound)
			learn_identities(self, m, scratch);
		reg_event(px, self, was, bound);
	}
}

static void iwu_response(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m,
			 struct wims_sip_edits *ed, struct wims_wbuf *scratch)
{
	if (px_proto_is_ws(t->up.proto)) {
		if (t->method == WIMS_SIP_REGISTER && m->status >= 200 && m->status < 300)
			register_ok(px, t, m, ed, scratch);
		return;
	}
	/* a browser's answer to the core: its Contact becomes its token */
	if (t->flow_token_id) {
		struct px_flow *f = flow_get(px, t->flow_token_id, false);
		struct wims_sip_vals it;

		if (!f)
			return;
		wims_sip_vals_init(&it, m, WIMS_HDR_CONTACT);
		while (wims_sip_vals_next(&it)) {
			struct wims_sip_addr a;
			if (wims_sip_addr_parse(&a, it.value) || a.star)
				continue;
			contact_to_token(px, ed, m, it.value, &a, scratch, f);
		}
	}
}

/* ---- flows ---- */

static void iwu_flow_gone(struct wims_proxy *px, struct wims_sip_flow *wf)
{
	uint64_t id = wims_sip_flow_id(wf);
	struct wims_hnode *n;

	wims_proxy__dlg_flow_gone(px, id);
	wims_proxy__regev_flow_unregistered(px->regev, id, false);
	if ((n = wims_proxy__flow_take(px, id)))
		flow_free(wims_container_of(n, struct px_flow, hn));
}

static void free_rec(struct wims_hnode *n)
{
	flow_free(wims_container_of(n, struct px_flow, hn));
}

static void iwu_free(struct wims_proxy *px)
{
	wims_proxy__flows_clear(px, free_rec);
}

/* ---- reg event (regevent.c): the browsers' UE subscriptions ---- */

/* Is contact_uri, as the core reports it, the token Contact wims registered for flow_id? */
static bool re_ours(struct wims_proxy *px, uint64_t flow_id, const char *contact_uri)
{
	struct wims_sip_uri u;
	uint64_t id;
	bool ob;

	return wims_sip_uri_parse(&u, wims_str_c(contact_uri)) == 0 &&
	       wims_proxy__token_parse(px, u.user, &id, &ob) == 0 && id == flow_id;
}

static bool re_has_impu(struct wims_proxy *px, uint64_t flow_id, const char *aor)
{
	struct px_flow *f = flow_get(px, flow_id, false);

	return f && f->impu[0] && strcasecmp(f->impu, aor) == 0;
}

/* The network de-registered the browser (TS 24.229 §5.1.1.7, as its UE): its
 * calls are released with BYE on both sides; it registers again on its own. */
static void re_dereg(struct wims_proxy *px, uint64_t flow_id, const char *event)
{
	struct px_flow *f = flow_get(px, flow_id, false);

	if (!f)
		return;
	wims_proxy__dlg_release_flow(px, flow_id, event);
	f->reg_expires = 0;
	wims_proxy__regev_flow_unregistered(px->regev, flow_id, false);
}

/* The Contact of the browser's SUBSCRIBE is the one registered for it; the
 * initial one goes through the P-CSCF with the Service-Route (§5.1.2A.1.1). */
static void re_ue_lines(struct wims_proxy *px, uint64_t flow_id, bool initial, struct wims_wbuf *w)
{
	struct px_flow *f = flow_get(px, flow_id, false);

	if (initial) {
		wims_wbuf_printf(w, "Route: <%s;lr>", px->next_uri);
		if (f && f->service_route[0])
			wims_wbuf_printf(w, ", %s", f->service_route);
		wims_wbuf_puts(w, "\r\n");
	}
	wims_wbuf_puts(w, "Contact: <");
	our_contact_uri(px, w, flow_id, f && f->outbound);
	wims_wbuf_puts(w, ">\r\n");
}

static const struct px_regev_ops re_ops = {re_ours, re_has_impu, re_dereg, NULL, re_ue_lines};

static void iwu_flows_json(const struct wims_proxy *px, struct wims_wbuf *out);

const struct px_role wims_proxy__iwu_role = {
	.name = "interworking unit",
	.init = iwu_init,
	.request = iwu_request,
	.response = iwu_response,
	.flow_gone = iwu_flow_gone,
	.free = iwu_free,
	.flows_json = iwu_flows_json,
};

/* ---- admin ---- */

struct json_walk {
	const struct wims_proxy *px;
	struct wims_wbuf *w;
	bool first;
};

static bool flow_json(struct wims_hnode *n, void *arg)
{
	struct json_walk *j = arg;
	const struct px_flow *f = wims_container_of(n, struct px_flow, hn);
	uint64_t now = uv_now(j->px->loop);

	wims_wbuf_printf(j->w, "%s{\"flow\":%llu,\"contact\":", j->first ? "" : ",", (unsigned long long)f->id);
	wims_proxy__json_str(j->w, f->contact);
	wims_wbuf_printf(j->w, ",\"outbound\":%s,\"reg_id\":%u,\"instance\":", f->outbound ? "true" : "false",
			 f->reg_id);
	wims_proxy__json_str(j->w, f->instance);
	wims_wbuf_printf(j->w, ",\"registered\":%s,\"expires_in\":%lld}",
			 f->reg_expires > now ? "true" : "false",
			 f->reg_expires > now ? (long long)((f->reg_expires - now) / 1000) : 0LL);
	j->first = false;
	return j->w->err;
}

static void iwu_flows_json(const struct wims_proxy *px, struct wims_wbuf *out)
{
	struct json_walk j = {px, out, true};

	wims_wbuf_puts(out, "[");
	wims_hash_walk((struct wims_hash *)&px->flows, flow_json, &j);
	wims_wbuf_puts(out, "]\n");
}
