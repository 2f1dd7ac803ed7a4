/* The P-CSCF role (alternative 1 of TS 23.228 Annex U, the eP-CSCF of
 * TS 24.371): wims itself is the P-CSCF of the browsers and talks to the
 * I-CSCF/S-CSCF ([pcscf] scscf) as TS 24.229 §5.2 says.
 *
 *   browser ──WS/WSS──▶ wims (P-CSCF) ──UDP/TCP/TLS──▶ S-CSCF
 *
 * Unlike the interworking unit, wims is an ordinary proxy here: its Via goes
 * on top of the browser's, and the browser's Contact reaches the S-CSCF as
 * it is.  The browser is found again by an RFC 5626 flow token:
 *   - in the Path wims adds to REGISTER (RFC 3327): terminating initial
 *     requests come back with it as their top Route;
 *   - in the user part of wims's Record-Route entries: in-dialog requests
 *     from the core come back with it as their top Route.
 * The .invalid host of the browser's Contact is never resolved.
 *
 * State per browser flow (struct pc_flow, by the transport's flow id): the
 * Contact it registered, the Service-Route, the P-Associated-URI list (the
 * first one is the default IMPU), the charging function addresses and the
 * binding's expiry, all learnt from the 2xx to its REGISTER.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "base/log.h"
#include "proxy/jwt.h"
#include "proxy/px.h"

#define PC_MAX_IMPU 8

static struct wims_ratelimit rl_403 = WIMS_RATELIMIT_INIT(10000, 10);

struct pc_flow {
	struct wims_hnode hn;
	uint64_t id;
	/* strings sized to what they hold (pstr_set), NULL when unset */
	char *contact;		 /* the Contact URI of the browser's last REGISTER */
	char *instance;		 /* +sip.instance, quotes included */
	char *service_route;	 /* Route values to preload, in order */
	char *pcfa;		 /* P-Charging-Function-Addresses of the last 2xx */
	char *impu[PC_MAX_IMPU]; /* P-Associated-URI URIs; [0] is the default IMPU */
	size_t n_impu;
	bool outbound;	     /* that REGISTER had reg-id (RFC 5626): Path gets ;ob */
	bool was_registered; /* a 2xx bound this flow once (in-dialog requests allowed) */
	bool net_dereg;      /* the network de-registered it (reg event): terminating requests refused */
	unsigned reg_id;
	uint64_t reg_expires;		 /* loop time (ms) the binding ends; 0: not registered */
	char rr_token[PX_TOKEN_LEN + 1]; /* for r->rr_user: lives as long as the request */
};

/* Replace *dst by a copy of v (NULL when v is empty, too long, or out of memory). */
static void pstr_set(char **dst, struct wims_str v)
{
	char *c = NULL;

	if (v.l && v.l <= 2048 && (c = malloc(v.l + 1))) {
		memcpy(c, v.p, v.l);
		c[v.l] = 0;
	}
	free(*dst);
	*dst = c;
}

static const char *pstr(const char *s)
{
	return s ? s : "";
}

struct pc_state {
	uint32_t epoch; /* start time: icids stay unique across restarts */
	uint64_t icid_seq;
	bool token_mode;            /* REGISTER needs a WAF token (TS 24.371 §6.1) */
	struct wims_jwt_keys keys;
	EVP_PKEY *pub;
	uv_timer_t sweep;    /* registrations that ran out without a refresh (on_sweep) */
};

static uint64_t now_ms(const struct wims_proxy *px)
{
	return uv_now(px->loop);
}

static bool registered(const struct wims_proxy *px, const struct pc_flow *f)
{
	return f && f->reg_expires > now_ms(px);
}

static int token_init(struct wims_proxy *px, struct pc_state *st, char *err, size_t errlen)
{
	const struct wims_conf *c = px->conf;
	if (c->pcscf_token_pubkey[0]) {
		FILE *fp = fopen(c->pcscf_token_pubkey, "r");
		st->pub = fp ? PEM_read_PUBKEY(fp, NULL, NULL, NULL) : NULL;
		if (fp)
			fclose(fp);
		if (!st->pub || EVP_PKEY_get_base_id(st->pub) != EVP_PKEY_EC) {
			snprintf(err, errlen, "[pcscf] token_pubkey '%s': not a PEM P-256 public key",
				 c->pcscf_token_pubkey);
			return -EINVAL;
		}
	}
	st->token_mode = c->pcscf_token_secret[0] || st->pub;
	st->keys.hs256 = c->pcscf_token_secret[0] ? (const unsigned char *)c->pcscf_token_secret : NULL;
	st->keys.hs256_len = strlen(c->pcscf_token_secret);
	st->keys.es256 = st->pub;
	st->keys.audience = c->pcscf_token_audience[0] ? c->pcscf_token_audience : NULL;
	st->keys.leeway_s = 30;
	return 0;
}

/* ---- reg event (regevent.c) ---- */

static struct pc_flow *flow_get(struct wims_proxy *px, uint64_t id, bool create);
static void flow_unregister(struct wims_proxy *px, struct pc_flow *f, bool deregistered);

/* Is uri, as the registrar reports it, the Contact f registered?  The same
 * string, or failing that the same user, host and port (a registrar may
 * reorder or drop URI parameters such as ;ob, RFC 3261 §19.1.4). */
static bool contact_is(const struct pc_flow *f, struct wims_str uri)
{
	struct wims_sip_uri a, b;

	if (!f || !f->contact)
		return false;
	if (wims_str_eqic(uri, f->contact))
		return true;
	if (wims_sip_uri_parse(&a, uri) || wims_sip_uri_parse(&b, wims_str_c(f->contact)))
		return false;
	return a.user.l && wims_str_eq(a.user, b.user) && wims_str_eqi(a.host, b.host) && a.port == b.port;
}

static bool re_ours(struct wims_proxy *px, uint64_t id, const char *uri)
{
	return contact_is(flow_get(px, id, false), wims_str_c(uri));
}

static bool re_has_impu(struct wims_proxy *px, uint64_t id, const char *aor)
{
	struct pc_flow *f = flow_get(px, id, false);

	for (size_t i = 0; f && i < f->n_impu; i++)
		if (strcasecmp(f->impu[i], aor) == 0)
			return true;
	return false;
}

/* TS 24.229 §5.2.5.2: the registration is gone; so are its sessions, on
 * both sides (the browser is told with a BYE over its WebSocket). */
static void re_dereg(struct wims_proxy *px, uint64_t id, const char *event)
{
	struct pc_flow *f = flow_get(px, id, false);

	if (!f)
		return;
	wims_proxy__dlg_release_flow(px, id, event);
	flow_unregister(px, f, false);
	f->was_registered = false;
	f->net_dereg = true;
}

static void re_icid(struct wims_proxy *px, char *out, size_t cap)
{
	struct pc_state *st = px->role_priv;

	st->icid_seq++;
	snprintf(out, cap, "%s%08x%010llx", px->conf->pcscf_icid_prefix, st->epoch,
		 (unsigned long long)st->icid_seq);
}

static const struct px_regev_ops re_ops = {re_ours, re_has_impu, re_dereg, re_icid, NULL};

#define PC_SWEEP_MS 5000

/* A registration that ran out without a refresh (the UE vanished, or its
 * re-REGISTER failed) is removed like one the UE ended: the reg event
 * subscription of its IMPU is left, and the flow is an unregistered UE
 * again.  Its dialogs stay: they end with their BYE or with the flow. */
static bool expire_cb(struct wims_hnode *n, void *arg)
{
	struct wims_proxy *px = arg;
	struct pc_flow *f = wims_container_of(n, struct pc_flow, hn);

	if (f->reg_expires && f->reg_expires <= now_ms(px)) {
		wims_log(WIMS_LOG_INFO, "flow %llu: the registration of %s expired", (unsigned long long)f->id,
			 f->n_impu ? f->impu[0] : "?");
		flow_unregister(px, f, false);
	}
	return false;
}

static void on_sweep(uv_timer_t *t)
{
	struct wims_proxy *px = t->data;

	wims_hash_walk(&px->flows, expire_cb, px);
}

static int pcscf_init(struct wims_proxy *px, char *err, size_t errlen)
{
	const char *s = px->conf->pcscf_flow_secret;
	struct pc_state *st;

	for (const char *p = px->conf->pcscf_icid_prefix; *p; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
			snprintf(err, errlen, "[pcscf] icid_prefix '%s': letters and digits only",
				 px->conf->pcscf_icid_prefix);
			return -EINVAL;
		}
	}
	if (s[0]) /* a fixed secret keeps tokens valid across restarts */
		(void)EVP_Digest(s, strlen(s), px->secret, NULL, EVP_sha256(), NULL);
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->epoch = (uint32_t)time(NULL);
	px->role_priv = st;
	uv_timer_init(px->loop, &st->sweep);
	st->sweep.data = px;
	uv_timer_start(&st->sweep, on_sweep, PC_SWEEP_MS, PC_SWEEP_MS);
	uv_unref((uv_handle_t *)&st->sweep);
	if (px->conf->pcscf_reg_subscribe &&
	    wims_proxy__regev_alloc(&px->regev, px, &re_ops, px->conf->pcscf_reg_subscribe_expires))
		return -ENOMEM;
	return token_init(px, st, err, errlen);
}

/* ---- per-flow state ---- */

static struct pc_flow *flow_get(struct wims_proxy *px, uint64_t id, bool create)
{
	struct wims_hnode *n = wims_hash_find(&px->flows, id);
	struct pc_flow *f;

	if (n)
		return wims_container_of(n, struct pc_flow, hn);
	if (!create || !(f = calloc(1, sizeof(*f))))
		return NULL;
	f->id = id;
	wims_proxy__flow_insert(px, &f->hn, id);
	return f;
}

/* deregistered: by a 2xx to the UE's REGISTER (the S-CSCF notifies it) */
static void flow_unregister(struct wims_proxy *px, struct pc_flow *f, bool deregistered)
{
	if (f->reg_expires)
		wims_proxy__regev_flow_unregistered(px->regev, f->id, deregistered);
	if (f->reg_expires && px->st.bindings_open)
		px->st.bindings_open--;
	f->reg_expires = 0;
	pstr_set(&f->service_route, WIMS_STR_NULL);
	pstr_set(&f->pcfa, WIMS_STR_NULL);
	for (size_t i = 0; i < f->n_impu; i++)
		pstr_set(&f->impu[i], WIMS_STR_NULL);
	f->n_impu = 0;
}

static void flow_free(struct pc_flow *f)
{
	pstr_set(&f->contact, WIMS_STR_NULL);
	pstr_set(&f->instance, WIMS_STR_NULL);
	pstr_set(&f->service_route, WIMS_STR_NULL);
	pstr_set(&f->pcfa, WIMS_STR_NULL);
	for (size_t i = 0; i < f->n_impu; i++)
		pstr_set(&f->impu[i], WIMS_STR_NULL);
	free(f);
}

/* ---- small edits ---- */

/* Append "Name: value\r\n" (printf-style) after the last header. */
static void add_hdr(struct px_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_hdr(struct px_req *r, const char *fmt, ...)
{
	char line[1400];
	size_t start = r->scratch.len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		r->scratch.err = true;
		return;
	}
	wims_wbuf_puts(&r->scratch, line);
	if (!r->scratch.err)
		wims_sip_edit_append_hdr(&r->ed, r->m,
					 wims_str_make(r->scratch.p + start, r->scratch.len - start));
}

static void remove_all(struct wims_sip_edits *ed, const struct wims_sip_msg *m, enum wims_sip_hdr_id id)
{
	for (const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, id); h; h = wims_sip_msg_hdr_next(m, h))
		wims_sip_edit_remove_hdr(ed, m, h);
}

/* Remove every header named one of names[] (headers the parser has no id for). */
static void remove_named(struct wims_sip_edits *ed, const struct wims_sip_msg *m, const char *const names[],
			 size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (const struct wims_sip_hdr *h = wims_sip_msg_hdr_by_name(m, wims_str_c(names[i])); h;
		     h = wims_sip_msg_hdr_next(m, h))
			wims_sip_edit_remove_hdr(ed, m, h);
}

static const char *const untrusted_from_ue[] = {"P-Served-User", "P-Asserted-Service", "P-Profile-Key",
						 "P-Called-Party-ID"};

/* TS 24.229 §4.4: headers of the trust domain never come from a UE. */
static void strip_untrusted(struct wims_sip_edits *ed, const struct wims_sip_msg *m)
{
	static const enum wims_sip_hdr_id ids[] = {
	    WIMS_HDR_P_ASSERTED_IDENTITY,  WIMS_HDR_P_ACCESS_NETWORK_INFO,
	    WIMS_HDR_P_CHARGING_VECTOR,	   WIMS_HDR_P_CHARGING_FUNCTION_ADDRESSES,
	    WIMS_HDR_P_VISITED_NETWORK_ID,
	};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		remove_all(ed, m, ids[i]);
	/* TS 24.229 §4.4: what only the trust domain may assert (the served user
	 * and its session case, the service, the profile key, the called party) */
	remove_named(ed, m, untrusted_from_ue, sizeof(untrusted_from_ue) / sizeof(untrusted_from_ue[0]));
}

/* Toward a browser: what the trust domain keeps to itself (RFC 5502, TS 24.229 §4.4, RFC 6050) */
static void strip_core_only(struct wims_sip_edits *ed, const struct wims_sip_msg *m)
{
	static const char *const names[] = {"P-Served-User", "P-Profile-Key", "P-Asserted-Service"};

	remove_all(ed, m, WIMS_HDR_P_CHARGING_VECTOR);
	remove_all(ed, m, WIMS_HDR_P_CHARGING_FUNCTION_ADDRESSES);
	remove_named(ed, m, names, sizeof(names) / sizeof(names[0]));
}

static bool has_tag(const struct wims_sip_msg *m, enum wims_sip_hdr_id id, const char *tag)
{
	struct wims_sip_vals it;

	wims_sip_vals_init(&it, m, id);
	while (wims_sip_vals_next(&it))
		if (wims_str_eqic(it.value, tag))
			return true;
	return false;
}

/* Remove option tag `tag` from every header with id; a header left empty goes whole. */
static void strip_tag(struct wims_sip_edits *ed, const struct wims_sip_msg *m, enum wims_sip_hdr_id id,
		      const char *tag)
{
	struct wims_sip_vals it;

	wims_sip_vals_init(&it, m, id);
	while (wims_sip_vals_next(&it))
		if (wims_str_eqic(it.value, tag))
			wims_sip_edit_remove_val(ed, m, &it);
}

/* A URI as compared between P-Preferred-Identity and P-Associated-URI. */
static bool uri_of(struct wims_str val, struct wims_str *uri)
{
	struct wims_sip_addr a;

	if (wims_sip_addr_parse(&a, val) || a.star)
		return false;
	*uri = a.uri;
	return true;
}

/* ---- charging (TS 24.229 §7.2A.5, RFC 7315 §4.6) ---- */

static void add_charging_vector(struct px_req *r)
{
	struct wims_proxy *px = r->px;
	struct pc_state *st = px->role_priv;

	st->icid_seq++;
	add_hdr(r, "P-Charging-Vector: icid-value=%s%08x%010llx;icid-generated-at=%s\r\n",
		px->conf->pcscf_icid_prefix, st->epoch, (unsigned long long)st->icid_seq, px->adv_host);
}

/* ---- registration (TS 24.229 §5.2.2) ---- */

/* Our Path entry for flow f: its token at our core-side address. */
static void path_uri(struct wims_proxy *px, struct wims_wbuf *w, const struct pc_flow *f)
{
	char tok[PX_TOKEN_LEN + 1];

	wims_proxy__token_make(px, f->id, f->outbound, tok);
	wims_wbuf_printf(w, "<sip:%s@%s:%u", tok, px->adv_host, px_adv_port(px, px->next_proto));
	if (px->next_proto == WIMS_SIP_TCP)
		wims_wbuf_puts(w, ";transport=tcp");
	else if (px->next_proto == WIMS_SIP_TLS)
		wims_wbuf_puts(w, ";transport=tls");
	/* RFC 5626 §5.1: ;ob only when the UA asked for outbound (reg-id) */
	wims_wbuf_puts(w, f->outbound ? ";lr;ob>" : ";lr>");
}

/* The first Contact of a REGISTER is the browser's binding. */
static void remember_contact(struct pc_flow *f, const struct wims_sip_msg *m)
{
	struct wims_sip_vals it;
	struct wims_sip_addr a;
	struct wims_str v;

	wims_sip_vals_init(&it, m, WIMS_HDR_CONTACT);
	if (!wims_sip_vals_next(&it) || wims_sip_addr_parse(&a, it.value) || a.star)
		return; /* a query or a remove-all: the binding we know stays */
	pstr_set(&f->contact, a.uri);
	f->outbound = wims_sip_param_get(a.params, "reg-id", &v);
	f->reg_id = 0;
	if (f->outbound) {
		uint32_t id;
		if (wims_sip_uint_parse(v, 0xffffffffu, &id) == 0)
			f->reg_id = id;
	}
	if (!wims_sip_param_get(a.params, "+sip.instance", &v))
		v = WIMS_STR_NULL;
	pstr_set(&f->instance, v);
}

/* End of the auth-param that starts at p (a token or a quoted string value). */
static const char *param_end(const char *p, const char *end)
{
	bool q = false;

	for (; p < end; p++) {
		if (q && *p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			q = !q;
		else if (!q && *p == ',')
			break;
	}
	return p;
}

/*
 * TS 24.229 §5.2.2.1 with SIP digest over TLS (REQUIREMENTS §2): a REGISTER
 * on a WSS flow gets integrity-protected="tls-pending" while the flow has no
 * registration yet, "tls-yes" once a 2xx bound it (the TLS session is then
 * tied to that registration).  Over plain WS nothing is asserted: the
 * S-CSCF authenticates by digest.  Whatever the browser itself wrote in
 * that parameter is removed first.
 */
static void mark_integrity(struct px_req *r, const struct pc_flow *f)
{
	const struct wims_sip_msg *m = r->m;
	bool wss = wims_sip_flow_proto(r->in) == WIMS_SIP_WSS;
	const char *mark = wss ? (registered(r->px, f) ? "tls-yes" : "tls-pending") : NULL;

	for (const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_AUTHORIZATION); h;
	     h = wims_sip_msg_hdr_next(m, h)) {
		const char *p = h->value.p, *end = h->value.p + h->value.l;
		size_t start = r->scratch.len;
		bool first = true;

		if (h->value.l < 7 || strncasecmp(p, "Digest", 6) || (p[6] != ' ' && p[6] != '\t'))
			continue;
		wims_wbuf_puts(&r->scratch, "Digest ");
		for (p += 6; p < end;) {
			const char *e;
			struct wims_str prm;
			while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == ','))
				p++;
			if (p >= end)
				break;
			e = param_end(p, end);
			prm = wims_str_trim(wims_str_make(p, (size_t)(e - p)));
			if (!(prm.l >= 19 && strncasecmp(prm.p, "integrity-protected", 19) == 0 &&
			      (prm.l == 19 || prm.p[19] == '=' || prm.p[19] == ' '))) {
				wims_wbuf_printf(&r->scratch, "%s%.*s", first ? "" : ", ", (int)prm.l, prm.p);
				first = false;
			}
			p = e;
		}
		if (mark)
			wims_wbuf_printf(&r->scratch, "%sintegrity-protected=\"%s\"", first ? "" : ", ",
					 mark);
		if (!r->scratch.err)
			wims_sip_edit_replace(&r->ed, m, h->value,
					      wims_str_make(r->scratch.p + start, r->scratch.len - start));
	}
}

static void visited_network(struct px_req *r)
{
	const char *v = r->px->conf->pcscf_visited_network_id;
	struct wims_sip_uri u;
	bool token = true;

	if (!v[0]) { /* the home domain: the host of the Request-URI */
		if (wims_sip_uri_parse(&u, r->m->ruri) == 0 && u.host.l)
			add_hdr(r, "P-Visited-Network-ID: \"%.*s\"\r\n", (int)u.host.l, u.host.p);
		return;
	}
	for (const char *p = v; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      strchr("-.!%*_+`'~", *p)))
			token = false;
	add_hdr(r, token ? "P-Visited-Network-ID: %s\r\n" : "P-Visited-Network-ID: \"%s\"\r\n", v);
}

static void register_out(struct px_req *r, struct pc_flow *f, bool token)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	size_t start;

	remember_contact(f, m);
	/* a Path from the UE would let it steer terminating requests */
	remove_all(&r->ed, m, WIMS_HDR_PATH);
	/* RFC 3329 / TS 33.203: sec-agree is between the UE and us; on W2 the WSS
	 * session is the protection (REQUIREMENTS §3) */
	remove_all(&r->ed, m, WIMS_HDR_SECURITY_CLIENT);
	remove_all(&r->ed, m, WIMS_HDR_SECURITY_VERIFY);
	strip_tag(&r->ed, m, WIMS_HDR_REQUIRE, "sec-agree");
	strip_tag(&r->ed, m, WIMS_HDR_PROXY_REQUIRE, "sec-agree");
	strip_tag(&r->ed, m, WIMS_HDR_SUPPORTED, "sec-agree");
	if (!token)
		mark_integrity(r, f);
	/* RFC 3327 §5, TS 24.229 §5.2.2.1: our Path, and the registrar must support it */
	start = r->scratch.len;
	wims_wbuf_puts(&r->scratch, "Path: ");
	path_uri(px, &r->scratch, f);
	wims_wbuf_puts(&r->scratch, "\r\nRequire: path\r\n");
	if (!has_tag(m, WIMS_HDR_SUPPORTED, "path"))
		wims_wbuf_puts(&r->scratch, "Supported: path\r\n");
	if (!r->scratch.err)
		wims_sip_edit_append_hdr(&r->ed, m,
					 wims_str_make(r->scratch.p + start, r->scratch.len - start));
	visited_network(r);
	add_charging_vector(r);
}


static void store_list(const struct wims_sip_msg *m, enum wims_sip_hdr_id id, char **dst)
{
	struct wims_sip_vals it;
	char mem[2048];
	struct wims_wbuf w;

	wims_wbuf_init(&w, mem, sizeof(mem));
	wims_sip_vals_init(&it, m, id);
	while (wims_sip_vals_next(&it))
		wims_wbuf_printf(&w, "%s%.*s", w.len ? ", " : "", (int)it.value.l, it.value.p);
	pstr_set(dst, w.err ? WIMS_STR_NULL : wims_wbuf_str(&w));
}

/* TS 24.229 §5.2.2.1: the 2xx to REGISTER.  The binding is the Contact equal
 * to the one the browser registered; without it (expires=0, remove-all) the
 * flow's registration is gone. */
static void register_ok(struct wims_proxy *px, struct pc_flow *f, const struct wims_sip_msg *m)
{
	struct wims_sip_vals it;
	uint32_t dflt = wims_proxy__msg_expires(m), exp = 0;
	bool found = false;

	wims_sip_vals_init(&it, m, WIMS_HDR_CONTACT);
	while (!found && wims_sip_vals_next(&it)) {
		struct wims_sip_addr a;
		if (wims_sip_addr_parse(&a, it.value) || a.star || !contact_is(f, a.uri))
			continue;
		found = true;
		exp = wims_proxy__contact_expires(&a, dflt);
	}
	if (!found || exp == 0) {
		if (f->reg_expires)
			wims_log(WIMS_LOG_INFO, "flow %llu: registration of %s removed",
				 (unsigned long long)f->id, f->n_impu ? f->impu[0] : "?");
		flow_unregister(px, f, true);
		return;
	}
	if (!f->reg_expires)
		px->st.bindings_open++;
	f->reg_expires = now_ms(px) + (uint64_t)exp * 1000;
	f->was_registered = true;
	/* the Service-Route of the last registration, in order (RFC 3608 §6) */
	store_list(m, WIMS_HDR_SERVICE_ROUTE, &f->service_route);
	store_list(m, WIMS_HDR_P_CHARGING_FUNCTION_ADDRESSES, &f->pcfa);
	/* RFC 7315 §4.1: the first P-Associated-URI is the default public identity */
	for (size_t i = 0; i < f->n_impu; i++)
		pstr_set(&f->impu[i], WIMS_STR_NULL);
	f->n_impu = 0;
	wims_sip_vals_init(&it, m, WIMS_HDR_P_ASSOCIATED_URI);
	while (f->n_impu < PC_MAX_IMPU && wims_sip_vals_next(&it)) {
		struct wims_str u;
		if (uri_of(it.value, &u) && (pstr_set(&f->impu[f->n_impu], u), f->impu[f->n_impu]))
			f->n_impu++;
	}
	if (f->n_impu == 0) { /* no P-Associated-URI: the registered AoR */
		const struct wims_sip_hdr *to = wims_sip_msg_hdr(m, WIMS_HDR_TO);
		struct wims_str u;
		if (to && uri_of(to->value, &u) && (pstr_set(&f->impu[0], u), f->impu[0]))
			f->n_impu = 1;
	}
	wims_log(WIMS_LOG_INFO, "flow %llu registered as %s (%zu identities) for %u s",
		 (unsigned long long)f->id, f->n_impu ? f->impu[0] : "?", f->n_impu, exp);
	f->net_dereg = false;
	/* TS 24.229 §5.2.3: subscribe to the reg event of the default IMPU */
	if (f->n_impu)
		wims_proxy__regev_flow_registered(px->regev, f->id, f->impu[0]);
}

/* ---- originating requests (TS 24.229 §5.2.6.3) ---- */


/* The identity a request or response of the browser is asserted with:
 * its P-Preferred-Identity when that is one of its registered IMPUs, else
 * the default IMPU (RFC 3325 §6, TS 24.229 §5.2.6.3.3). */
static const char *asserted_identity(const struct pc_flow *f, const struct wims_sip_msg *m)
{
	struct wims_sip_vals it;

	wims_sip_vals_init(&it, m, WIMS_HDR_P_PREFERRED_IDENTITY);
	while (wims_sip_vals_next(&it)) {
		struct wims_str u;
		if (!uri_of(it.value, &u))
			continue;
		for (size_t i = 0; i < f->n_impu; i++)
			if (wims_str_eqic(u, f->impu[i]))
				return f->impu[i];
	}
	return f->n_impu ? f->impu[0] : NULL;
}

static void reject(struct px_req *r, unsigned code, const char *reason)
{
	r->reject = code;
	r->reject_reason = reason;
}

/* Token registration (TS 24.371 §6.1 variants 2 and 3; RFC 8898 Bearer):
 * the WAF's JSON Web Token replaces digest; a valid one goes on as
 * trusted-node authentication (integrity-protected="auth-done", TS 24.229
 * §5.4.1.2.2), anything else is refused here and nothing is forwarded.
 * Returns true when r was refused. */
static bool token_register(struct px_req *r)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	struct pc_state *st = px->role_priv;
	const struct wims_sip_hdr *az = wims_sip_msg_hdr(m, WIMS_HDR_AUTHORIZATION);
	const struct wims_sip_hdr *to = wims_sip_msg_hdr(m, WIMS_HDR_TO);
	struct wims_sip_uri ru;
	struct wims_sip_addr ta;
	struct wims_jwt_claims cl;
	const char *why = "no token";
	struct wims_str v = az ? wims_str_trim(az->value) : WIMS_STR_NULL;
	size_t start;

	if (wims_sip_uri_parse(&ru, m->ruri) || !to || wims_sip_addr_parse(&ta, to->value)) {
		reject(r, 400, "Bad REGISTER");
		return true;
	}
	if (v.l < 7 || strncasecmp(v.p, "Bearer ", 7)) {
		start = r->scratch.len;
		wims_wbuf_printf(&r->scratch, "WWW-Authenticate: Bearer realm=\"%.*s\"\r\n", (int)ru.host.l, ru.host.p);
		r->reject_hdrs = wims_str_make(r->scratch.p + start, r->scratch.len - start);
		reject(r, 401, "Token Required");
		return true;
	}
	int rc = wims_jwt_verify(&st->keys, wims_str_trim(wims_str_make(v.p + 7, v.l - 7)), (int64_t)time(NULL), &cl,
				 &why);
	if (rc == 0 && !wims_str_eqic(ta.uri, cl.sub)) {
		rc = -EACCES;
		why = "the token's sub is not the To of the REGISTER";
	}
	if (rc) {
		wims_log_rl(&rl_403, WIMS_LOG_NOTICE, "REGISTER for %.*s refused: token %s", (int)ta.uri.l, ta.uri.p, why);
		reject(r, 403, "Invalid Token");
		return true;
	}
	remove_all(&r->ed, m, WIMS_HDR_AUTHORIZATION);
	start = r->scratch.len;
	wims_wbuf_printf(&r->scratch,
			 "Authorization: Digest username=\"%s\", realm=\"%.*s\", uri=\"%.*s\", nonce=\"\", "
			 "response=\"\", integrity-protected=\"auth-done\"\r\n",
			 cl.impi, (int)ru.host.l, ru.host.p, (int)m->ruri.l, m->ruri.p);
	if (!r->scratch.err)
		wims_sip_edit_append_hdr(&r->ed, m, wims_str_make(r->scratch.p + start, r->scratch.len - start));
	return false;
}

/* TS 24.229 §5.2.6.3.3, RFC 3261 §16.6: an originating request goes to the
 * first entry of the Service-Route (the S-CSCF that registered the UE), one
 * in a dialog to the top of its route set; REGISTER goes to [pcscf] scscf
 * (the I-CSCF).  Numeric addresses only: a domain name is left to the
 * configured next hop (located by DNS), which routes on by the Route. */
static void route_hop(struct px_req *r, const struct pc_flow *f, bool initial, struct wims_str routes)
{
	struct wims_proxy *px = r->px;
	struct wims_sip_vals it;
	size_t pos = 0;
	struct wims_str top = WIMS_STR_NULL;

	if (initial) {
		if (f && f->service_route)
			(void)wims_sip_list_next(wims_str_c(f->service_route), &pos, &top);
	} else if (routes.p) { /* "Route: <uri>\r\n..." of the dialog (dialog.c) */
		const char *v = memchr(routes.p, ':', routes.l);
		const char *end = v ? memchr(v, '\r', routes.l - (size_t)(v - routes.p)) : NULL;
		if (end)
			top = wims_str_trim(wims_str_make(v + 1, (size_t)(end - v - 1)));
	} else {
		wims_sip_vals_init(&it, r->m, WIMS_HDR_ROUTE);
		while (wims_sip_vals_next(&it))
			if (!wims_proxy__route_is_us(px, it.value)) {
				top = it.value;
				break;
			}
	}
	if (top.l)
		(void)wims_proxy__hop_of_route(px, top, &r->out);
}

static void from_browser(struct px_req *r)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	uint64_t id = wims_sip_flow_id(r->in);
	bool initial = wims_sip_msg_tag(m, WIMS_HDR_TO).l == 0;
	struct pc_flow *f = flow_get(px, id, m->method_id == WIMS_SIP_REGISTER);
	struct wims_sip_vals it;
	const char *pai;
	struct wims_str routes = WIMS_STR_NULL;

	if (m->method_id == WIMS_SIP_REGISTER) {
		if (!f) {
			reject(r, 500, "Out Of Memory");
			return;
		}
		strip_untrusted(&r->ed, m);
		wims_sip_vals_init(&it, m, WIMS_HDR_ROUTE);
		while (wims_sip_vals_next(&it))
			if (wims_proxy__route_is_us(px, it.value))
				wims_sip_edit_remove_val(&r->ed, m, &it);
		bool token = ((struct pc_state *)px->role_priv)->token_mode;
		if (token && token_register(r))
			return; /* refused */
		register_out(r, f, token);
		goto out;
	}
	/* TS 24.229 §5.2.6.3.1: only a registered UE, on the flow it registered
	 * on, gets anything through; in-dialog requests of a flow that was
	 * registered may finish their dialogs */
	if (!(registered(px, f) || (!initial && f && f->was_registered))) {
		wims_log_rl(&rl_403, WIMS_LOG_INFO,
			    "%.*s from flow %llu refused: not registered on this flow", (int)m->method.l,
			    m->method.p, (unsigned long long)id);
		reject(r, 403, "Not Registered");
		return;
	}
	/* §5.2.6.3.5: requests in a dialog (target refreshes among them) only
	 * from the party that dialog was made with */
	if (!initial && m->method_id != WIMS_SIP_ACK && m->method_id != WIMS_SIP_CANCEL &&
	    !wims_proxy__dlg_party(px, m, id)) {
		wims_log_rl(&rl_403, WIMS_LOG_INFO, "%.*s from flow %llu refused: not a party of that dialog",
			    (int)m->method.l, m->method.p, (unsigned long long)id);
		reject(r, 403, "Not A Party Of This Dialog");
		return;
	}
	strip_untrusted(&r->ed, m);
	if (initial) {
		/* TS 24.229 §5.2.6.3.3: the route is the Service-Route, not what the UE preloaded */
		remove_all(&r->ed, m, WIMS_HDR_ROUTE);
		if (f->service_route)
			add_hdr(r, "Route: %s\r\n", f->service_route);
		pai = asserted_identity(f, m);
		remove_all(&r->ed, m, WIMS_HDR_P_PREFERRED_IDENTITY);
		if (pai)
			add_hdr(r, "P-Asserted-Identity: <%s>\r\n", pai);
		add_charging_vector(r);
	} else if ((routes = wims_proxy__dlg_routes(px, m, id)).p) {
		/* an INVITE dialog wims saw made: its route set as learnt then
		 * (RFC 3261 §12.2.1.1), not what the browser writes, which could
		 * aim a request at any node of the trust domain */
		remove_all(&r->ed, m, WIMS_HDR_ROUTE);
		if (routes.l)
			add_hdr(r, "%.*s", (int)routes.l, routes.p);
		remove_all(&r->ed, m, WIMS_HDR_P_PREFERRED_IDENTITY);
	} else if (m->method_id == WIMS_SIP_BYE || m->method_id == WIMS_SIP_INVITE || m->method_id == WIMS_SIP_INFO) {
		/* the requests of an INVITE dialog in one wims never saw made */
		wims_log_rl(&rl_403, WIMS_LOG_INFO, "%.*s from flow %llu refused: no such dialog", (int)m->method.l,
			    m->method.p, (unsigned long long)id);
		reject(r, 481, "Call/Transaction Does Not Exist");
		return;
	} else {
		/* other dialogs (SUBSCRIBE, REFER; early ones): RFC 3261 §16.4, the
		 * Route entries naming us are ours */
		(void)wims_proxy__pop_own_routes(px, m, &r->ed);
		remove_all(&r->ed, m, WIMS_HDR_P_PREFERRED_IDENTITY);
	}
	if (wims_proxy__creates_dialog(m)) {
		/* RFC 5626 §5.3: the core comes back to this flow by our Record-Route */
		r->record_route = true;
		wims_proxy__token_make(px, id, f->outbound, f->rr_token);
		r->rr_user = f->rr_token;
	}
out:
	r->out.proto = px->next_proto;
	r->out.addr = px->next_addr;
	r->out.flow = NULL;
	if (m->method_id != WIMS_SIP_REGISTER)
		route_hop(r, f, initial, routes);
}

/* ---- terminating requests ---- */

/* The flow the core names: the token in the user part of the top Route
 * (our Path or Record-Route entry), else in the Request-URI. */
static int flow_of(struct px_req *r, uint64_t *id, bool *ob)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	struct wims_sip_vals it;
	struct wims_sip_addr a;
	struct wims_sip_uri u;

	wims_sip_vals_init(&it, m, WIMS_HDR_ROUTE);
	if (wims_sip_vals_next(&it) && wims_proxy__route_is_us(px, it.value) &&
	    wims_sip_addr_parse(&a, it.value) == 0 && wims_sip_uri_parse(&u, a.uri) == 0 &&
	    wims_proxy__token_parse(px, u.user, id, ob) == 0)
		return 0;
	if (wims_sip_uri_parse(&u, m->ruri) == 0 && wims_proxy__token_parse(px, u.user, id, ob) == 0)
		return 0;
	return -ENOENT;
}

static void from_core(struct px_req *r)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	struct wims_sip_flow *wf;
	struct wims_sip_uri u;
	struct pc_flow *f;
	uint64_t id;
	bool ob;

	if (flow_of(r, &id, &ob)) {
		/* TS 24.229 §5.2.5.2: a NOTIFY of our reg event subscriptions */
		if (px->regev && m->method_id == WIMS_SIP_NOTIFY && wims_proxy__regev_for_us(m)) {
			wims_proxy__regev_notify(px->regev, r);
			return;
		}
		/* OPTIONS to wimsd itself (keep-alive, capabilities): RFC 3261 §11.2 */
		if (m->method_id == WIMS_SIP_OPTIONS && wims_sip_uri_parse(&u, m->ruri) == 0 &&
		    u.user.l == 0) {
			r->reject = 200;
			r->reject_hdrs =
			    wims_str_c("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, PRACK, INFO, "
				       "MESSAGE, SUBSCRIBE, NOTIFY, REFER, PUBLISH, REGISTER\r\n"
				       "Accept: application/sdp\r\nSupported: path, outbound\r\n");
			return;
		}
		reject(r, 404, "No Such Flow");
		return;
	}
	wf = wims_sip_tport_flow_find(px->tp, id);
	f = flow_get(px, id, false);
	if (!wf || !wims_sip_flow_alive(wf) || !f ||
	    (f->net_dereg && !registered(px, f) && wims_sip_msg_tag(m, WIMS_HDR_TO).l == 0)) {
		/* RFC 5626 §5.3: the flow is gone (or the network de-registered it) */
		reject(r, ob ? 430 : 480, ob ? "Flow Failed" : "Flow Gone");
		return;
	}
	r->flow_token_id = id;
	r->flow_outbound = ob;
	(void)wims_proxy__pop_own_routes(px, m, &r->ed);
	/* TS 24.229 §5.2.6.4: charging information stays in the core */
	strip_core_only(&r->ed, m);
	if (wims_proxy__creates_dialog(m)) {
		r->record_route = true;
		wims_proxy__token_make(px, id, ob, f->rr_token);
		r->rr_user = f->rr_token;
	}
	r->out.proto = wims_sip_flow_proto(wf);
	r->out.addr = *wims_sip_flow_peer(wf);
	r->out.flow = wf;
	wims_sip_flow_ref(wf);
}

static void pcscf_request(struct px_req *r)
{
	if (px_proto_is_ws(wims_sip_flow_proto(r->in)))
		from_browser(r);
	else
		from_core(r);
}

/* ---- responses ---- */

/* TS 24.229 §5.2.2.1: the integrity and cipher keys of an IMS-AKA challenge
 * (the ik and ck auth-params the S-CSCF gives the P-CSCF) are removed from
 * the 401 before it reaches the UE.  Auth-params are comma-separated, their
 * values tokens or quoted strings (RFC 3261 §25.1, §20.44). */
void wims_proxy__strip_aka_keys(struct wims_sip_edits *ed, const struct wims_sip_msg *m)
{
	for (const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_WWW_AUTHENTICATE); h;
	     h = wims_sip_msg_hdr_next(m, h)) {
		const char *p = h->value.p, *e = p + h->value.l, *comma = NULL;

		while (p < e && *p != ' ' && *p != '\t') /* the scheme */
			p++;
		while (p < e) {
			for (; p < e && (*p == ' ' || *p == '\t' || *p == ','); p++)
				if (*p == ',')
					comma = p;
			const char *ps = p, *eq;
			while (p < e && *p != '=' && *p != ',')
				p++;
			eq = p;
			if (p < e && *p == '=') {
				p++;
				while (p < e && (*p == ' ' || *p == '\t'))
					p++;
				if (p < e && *p == '"') {
					for (p++; p < e && *p != '"'; p++)
						if (*p == '\\' && p + 1 < e)
							p++;
					if (p < e)
						p++;
				}
				while (p < e && *p != ',')
					p++;
			}
			struct wims_str name = wims_str_trim(wims_str_make(ps, (size_t)(eq - ps)));
			bool key = wims_str_eqic(name, "ik") || wims_str_eqic(name, "ck");
			if (key && comma) { /* ", ik=..." */
				wims_sip_edit_replace(ed, m, wims_str_make(comma, (size_t)(p - comma)), wims_str_c(""));
			} else if (key) { /* the first: "ik=..., " */
				const char *q = p;
				while (q < e && (*q == ',' || *q == ' ' || *q == '\t'))
					q++;
				wims_sip_edit_replace(ed, m, wims_str_make(ps, (size_t)(q - ps)), wims_str_c(""));
				p = q;
			}
			comma = NULL;
		}
	}
}

static void pcscf_response(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m,
			   struct wims_sip_edits *ed, struct wims_wbuf *scratch)
{
	struct pc_flow *f;

	if (px_proto_is_ws(t->up.proto)) {
		/* toward the browser: charging information stays in the core */
		strip_core_only(ed, m);
		if (m->status == 401)
			wims_proxy__strip_aka_keys(ed, m);
		if (t->method == WIMS_SIP_REGISTER && m->status >= 200 && m->status < 300 && t->up.flow &&
		    (f = flow_get(px, wims_sip_flow_id(t->up.flow), false)))
			register_ok(px, f, m);
		return;
	}
	if (!t->flow_token_id)
		return;
	/* the browser's answer to the core: its identity is asserted by us */
	strip_untrusted(ed, m);
	remove_all(ed, m, WIMS_HDR_P_PREFERRED_IDENTITY);
	f = flow_get(px, t->flow_token_id, false);
	if (f && m->status > 100 && m->status < 300) {
		const char *pai = asserted_identity(f, m);
		if (pai) {
			size_t start = scratch->len;
			wims_wbuf_printf(scratch, "P-Asserted-Identity: <%s>\r\n", pai);
			if (!scratch->err)
				wims_sip_edit_append_hdr(
				    ed, m, wims_str_make(scratch->p + start, scratch->len - start));
		}
	}
}

/* ---- flows ---- */

static void pcscf_flow_gone(struct wims_proxy *px, struct wims_sip_flow *wf)
{
	uint64_t id = wims_sip_flow_id(wf);
	struct pc_flow *f = flow_get(px, id, false);

	/* TS 23.228 §5.10.3.1: the sessions of a lost signalling path are released */
	wims_proxy__dlg_flow_gone(px, id);
	if (f) {
		flow_unregister(px, f, false);
		(void)wims_proxy__flow_take(px, id);
		flow_free(f);
	}
}

static void free_rec(struct wims_hnode *n)
{
	flow_free(wims_container_of(n, struct pc_flow, hn));
}

static void sweep_closed(uv_handle_t *h)
{
	free(wims_container_of((uv_timer_t *)h, struct pc_state, sweep));
}

static void pcscf_free(struct wims_proxy *px)
{
	struct pc_state *st = px->role_priv;
	wims_proxy__flows_clear(px, free_rec);
	px->role_priv = NULL;
	if (st) {
		EVP_PKEY_free(st->pub);
		uv_close((uv_handle_t *)&st->sweep, sweep_closed); /* st goes with it */
	}
}

/* ---- admin ---- */

struct json_walk {
	const struct wims_proxy *px;
	struct wims_wbuf *w;
	bool first;
};

static bool flow_json(struct wims_hnode *n, void *arg)
{
	struct json_walk *j = arg;
	const struct pc_flow *f = wims_container_of(n, struct pc_flow, hn);
	uint64_t now = uv_now(j->px->loop);
	bool reg = f->reg_expires > now;

	wims_wbuf_printf(j->w, "%s{\"flow\":%llu,\"contact\":", j->first ? "" : ",",
			 (unsigned long long)f->id);
	wims_proxy__json_str(j->w, pstr(f->contact));
	wims_wbuf_printf(j->w, ",\"outbound\":%s,\"reg_id\":%u,\"instance\":", f->outbound ? "true" : "false",
			 f->reg_id);
	wims_proxy__json_str(j->w, pstr(f->instance));
	wims_wbuf_printf(j->w, ",\"registered\":%s,\"expires_in\":%lld,\"impu\":[", reg ? "true" : "false",
			 reg ? (long long)((f->reg_expires - now) / 1000) : 0LL);
	for (size_t i = 0; i < f->n_impu; i++) {
		wims_wbuf_puts(j->w, i ? "," : "");
		wims_proxy__json_str(j->w, f->impu[i]);
	}
	wims_wbuf_puts(j->w, "],\"service_route\":");
	wims_proxy__json_str(j->w, pstr(f->service_route));
	wims_wbuf_puts(j->w, "}");
	j->first = false;
	return j->w->err;
}

static void pcscf_flows_json(const struct wims_proxy *px, struct wims_wbuf *out)
{
	struct json_walk j = {px, out, true};

	wims_wbuf_puts(out, "[");
	wims_hash_walk((struct wims_hash *)&px->flows, flow_json, &j);
	wims_wbuf_puts(out, "]\n");
}

const struct px_role wims_proxy__pcscf_role = {
    .name = "P-CSCF",
    .init = pcscf_init,
    .request = pcscf_request,
    .response = pcscf_response,
    .flow_gone = pcscf_flow_gone,
    .free = pcscf_free,
    .flows_json = pcscf_flows_json,
};
