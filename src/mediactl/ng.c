/* ng requests: datagram split, request -> struct wims_mctl_req, and the
 * reverse for the client.  See ng.h for the wire format.
 *
 * Flags arrive in two shapes and both are accepted: rtpengine's dict keys
 * ("ICE": "remove", "replace": ["origin"], "rtcp-mux": ["demux"]) and the
 * string forms Kamailio's module documents for its flags parameter, put in
 * the "flags" list ("ICE=remove", "replace-origin", "rtcp-mux-demux",
 * "RTP/AVP", "codec-strip-PCMA").  Whatever is not understood is collected
 * in wims_ng_req.unknown and reported in the reply's "warning", never
 * dropped silently.
 *
 * Understood flags with no effect here (the AGW already behaves that way):
 * port-latching (it always latches), loop-protect, no-rtcp-attribute,
 * full-rtcp-attribute, always-transcode (it transcodes whenever the sides
 * share no codec), and the keys received-from, label, from-label, to-label,
 * set-label, metadata, address-family, delete-delay, supports, interface.
 */
#include "mediactl/ng.h"

#include <errno.h>

int wims_ng_split(struct wims_str dgram, struct wims_str *cookie, struct wims_str *body)
{
	size_t i;

	for (i = 0; i < dgram.l && i <= WIMS_NG_MAX_COOKIE; i++) {
		unsigned char ch = (unsigned char)dgram.p[i];

		if (ch == ' ')
			break;
		if (ch < 0x21 || ch > 0x7e)
			return -EBADMSG;
	}
	if (i == 0 || i > WIMS_NG_MAX_COOKIE || i >= dgram.l)
		return -EBADMSG;
	*cookie = wims_str_make(dgram.p, i);
	*body = wims_str_make(dgram.p + i + 1, dgram.l - i - 1);
	return 0;
}

static void add_unknown(struct wims_ng_req *r, const char *prefix, struct wims_str s)
{
	struct wims_wbuf b;

	wims_wbuf_init(&b, r->unknown, sizeof(r->unknown) - 1);
	b.len = r->unknown_len;
	if (b.len)
		wims_wbuf_puts(&b, ", ");
	wims_wbuf_puts(&b, prefix);
	/* keep the reply printable whatever the peer sent */
	for (size_t i = 0; i < s.l && i < 64; i++) {
		char ch = s.p[i] >= 0x20 && s.p[i] < 0x7f ? s.p[i] : '?';
		wims_wbuf_put(&b, &ch, 1);
	}
	if (b.err) {
		/* full: mark truncation once and stop growing */
		if (r->unknown_len + 4 < sizeof(r->unknown) && !(r->unknown_len >= 3 &&
		    memcmp(r->unknown + r->unknown_len - 3, "...", 3) == 0)) {
			memcpy(r->unknown + r->unknown_len, "...", 3);
			r->unknown_len += 3;
		}
	} else {
		r->unknown_len = b.len;
	}
	r->unknown[r->unknown_len] = '\0';
}

typedef void(key_h)(struct wims_ng_req *r, struct wims_str v);

static void h_ice(struct wims_ng_req *r, struct wims_str v)
{
	struct wims_mctl_flags *f = &r->rq.flags;

	if (wims_str_eqic(v, "remove"))
		f->ice = WIMS_MCTL_REMOVE;
	else if (wims_str_eqic(v, "force") || wims_str_eqic(v, "force-relay"))
		f->ice = WIMS_MCTL_FORCE;
	else if (wims_str_eqic(v, "default"))
		f->ice = WIMS_MCTL_DEFAULT;
	else
		add_unknown(r, "ICE=", v);
}

static void h_dtls(struct wims_ng_req *r, struct wims_str v)
{
	struct wims_mctl_flags *f = &r->rq.flags;

	if (wims_str_eqic(v, "off") || wims_str_eqic(v, "no") || wims_str_eqic(v, "disable")) {
		f->dtls = WIMS_MCTL_REMOVE;
	} else if (wims_str_eqic(v, "passive")) {
		f->dtls = WIMS_MCTL_FORCE;
		f->dtls_setup = 2;
	} else if (wims_str_eqic(v, "active")) {
		f->dtls = WIMS_MCTL_FORCE;
		f->dtls_setup = 1;
	} else {
		add_unknown(r, "DTLS=", v);
	}
}

static void h_sdes(struct wims_ng_req *r, struct wims_str v)
{
	if (wims_str_eqic(v, "off") || wims_str_eqic(v, "no"))
		r->rq.flags.sdes = WIMS_MCTL_REMOVE;
	else
		add_unknown(r, "SDES-", v);
}

static void h_rtcp_mux(struct wims_ng_req *r, struct wims_str v)
{
	struct wims_mctl_flags *f = &r->rq.flags;

	if (wims_str_eqic(v, "offer"))
		f->rtcp_mux_offer = true;
	else if (wims_str_eqic(v, "demux"))
		f->rtcp_mux_demux = true;
	else if (wims_str_eqic(v, "accept"))
		f->rtcp_mux_accept = true;
	else if (wims_str_eqic(v, "require"))
		f->rtcp_mux_require = true;
	else
		add_unknown(r, "rtcp-mux-", v);
}

static void h_replace(struct wims_ng_req *r, struct wims_str v)
{
	if (wims_str_eqic(v, "origin"))
		r->rq.flags.replace_origin = true;
	else if (wims_str_eqic(v, "session-connection") || wims_str_eqic(v, "session connection"))
		r->rq.flags.replace_session_conn = true;
	else
		add_unknown(r, "replace-", v);
}

static const struct {
	const char *name;
	enum wims_mctl_proto proto;
} protos[] = {
	{"RTP/AVP", WIMS_MCTL_PROTO_RTP_AVP},       {"RTP/SAVP", WIMS_MCTL_PROTO_RTP_SAVP},
	{"RTP/AVPF", WIMS_MCTL_PROTO_RTP_AVPF},     {"RTP/SAVPF", WIMS_MCTL_PROTO_RTP_SAVPF},
	{"UDP/TLS/RTP/SAVPF", WIMS_MCTL_PROTO_WEBRTC},
	/* DTLS-SRTP without feedback: the nearest the AGW offers is WebRTC's */
	{"UDP/TLS/RTP/SAVP", WIMS_MCTL_PROTO_WEBRTC},
};

static bool set_proto(struct wims_ng_req *r, struct wims_str v)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (wims_str_eqic(v, protos[i].name)) {
			r->rq.flags.proto = protos[i].proto;
			return true;
		}
	return false;
}

static void h_proto(struct wims_ng_req *r, struct wims_str v)
{
	if (!set_proto(r, v))
		add_unknown(r, "transport-protocol=", v);
}

static void h_media_address(struct wims_ng_req *r, struct wims_str v)
{
	r->rq.flags.media_address = v;
}

static void h_direction(struct wims_ng_req *r, struct wims_str v)
{
	struct wims_mctl_flags *f = &r->rq.flags;

	if (!wims_str_isset(f->direction[0]))
		f->direction[0] = v;
	else if (!wims_str_isset(f->direction[1]))
		f->direction[1] = v;
	else
		add_unknown(r, "direction=", v);
}

static void h_record(struct wims_ng_req *r, struct wims_str v)
{
	/* recording is not offered: say so when asked for */
	if (!wims_str_eqic(v, "no") && !wims_str_eqic(v, "off"))
		add_unknown(r, "record-call=", v);
}

static void h_ignore(struct wims_ng_req *r, struct wims_str v)
{
}

static void add_codec(struct wims_ng_req *r, struct wims_str kind, struct wims_str v)
{
	struct wims_mctl_flags *f = &r->rq.flags;
	struct wims_str *list;
	unsigned *n;

	if (wims_str_eqc(kind, "strip")) {
		list = f->codec_strip;
		n = &f->n_codec_strip;
	} else if (wims_str_eqc(kind, "mask")) {
		list = f->codec_mask;
		n = &f->n_codec_mask;
	} else if (wims_str_eqc(kind, "offer") || wims_str_eqc(kind, "transcode")) {
		list = f->codec_offer;
		n = &f->n_codec_offer;
	} else {
		add_unknown(r, "codec-", kind);
		return;
	}
	if (*n >= WIMS_MCTL_MAX_CODEC_LIST) {
		add_unknown(r, "too many codecs: ", v);
		return;
	}
	list[(*n)++] = v;
}

static void h_flag(struct wims_ng_req *r, struct wims_str v);

static const struct {
	const char *key;
	key_h *h;
} key_table[] = {
	{"ICE", h_ice},
	{"DTLS", h_dtls},
	{"SDES", h_sdes},
	{"rtcp-mux", h_rtcp_mux},
	{"replace", h_replace},
	{"transport-protocol", h_proto},
	{"media-address", h_media_address},
	{"direction", h_direction},
	{"flags", h_flag},
	{"record-call", h_record},
	{"received-from", h_ignore},
	{"label", h_ignore},
	{"from-label", h_ignore},
	{"to-label", h_ignore},
	{"set-label", h_ignore},
	{"metadata", h_ignore},
	{"address-family", h_ignore},
	{"delete-delay", h_ignore},
	{"supports", h_ignore},
	{"interface", h_ignore},
};

static key_h *find_key(struct wims_str k)
{
	for (size_t i = 0; i < sizeof(key_table) / sizeof(key_table[0]); i++)
		if (wims_str_eqc(k, key_table[i].key))
			return key_table[i].h;
	return NULL;
}

/* Flag strings with no effect here (see the comment at the top). */
static const char *const noop_flags[] = {
	"port-latching", "loop-protect", "no-rtcp-attribute", "full-rtcp-attribute", "always-transcode",
};

static bool prefixed(struct wims_str v, const char *pre, struct wims_str *rest)
{
	size_t l = strlen(pre);

	if (v.l <= l || strncasecmp(v.p, pre, l) != 0)
		return false;
	*rest = wims_str_make(v.p + l, v.l - l);
	return true;
}

static bool flag_simple(struct wims_ng_req *r, struct wims_str v)
{
	struct wims_mctl_flags *f = &r->rq.flags;

	if (wims_str_eqic(v, "trust-address"))
		f->trust_address = true;
	else if (wims_str_eqic(v, "SIP-source-address"))
		f->trust_address = false;
	else if (wims_str_eqic(v, "symmetric"))
		f->symmetric = true;
	else if (wims_str_eqic(v, "asymmetric"))
		f->asymmetric = true;
	else if (wims_str_eqic(v, "strip-extmap"))
		f->strip_extmap = true;
	else if (wims_str_eqic(v, "generate-mid"))
		f->generate_mid = true;
	else if (set_proto(r, v))
		;
	else {
		for (size_t i = 0; i < sizeof(noop_flags) / sizeof(noop_flags[0]); i++)
			if (wims_str_eqic(v, noop_flags[i]))
				return true;
		return false;
	}
	return true;
}

static void h_flag(struct wims_ng_req *r, struct wims_str v)
{
	static const char *const codec_kinds[] = {"strip", "mask", "offer", "transcode", "except"};
	struct wims_str rest;
	const char *eq = memchr(v.p, '=', v.l);

	if (wims_str_eqic(v, "fatal")) {
		r->fatal = true;
		return;
	}
	if (flag_simple(r, v))
		return;
	if (eq) {
		key_h *h = find_key(wims_str_make(v.p, (size_t)(eq - v.p)));

		if (h && h != h_flag) {
			h(r, wims_str_make(eq + 1, v.l - (size_t)(eq - v.p) - 1));
			return;
		}
	}
	if (prefixed(v, "replace-", &rest))
		h_replace(r, rest);
	else if (prefixed(v, "rtcp-mux-", &rest))
		h_rtcp_mux(r, rest);
	else if (prefixed(v, "SDES-", &rest))
		h_sdes(r, rest);
	else if (prefixed(v, "codec-", &rest)) {
		for (size_t i = 0; i < sizeof(codec_kinds) / sizeof(codec_kinds[0]); i++) {
			struct wims_str name;

			if (prefixed(rest, codec_kinds[i], &name) && name.p[0] == '-' && name.l > 1) {
				add_codec(r, wims_str_c(codec_kinds[i]), wims_str_make(name.p + 1, name.l - 1));
				return;
			}
		}
		add_unknown(r, "", v);
	} else {
		add_unknown(r, "", v);
	}
}

/* Apply h to a string, or to each string of a list. */
static void apply(struct wims_ng_req *r, const struct wims_bc_doc *doc, struct wims_str key,
		  const struct wims_bc_node *val, key_h *h)
{
	const struct wims_bc_node *e;

	if (val->type == WIMS_BC_STR) {
		h(r, val->s);
		return;
	}
	if (val->type == WIMS_BC_INT && h == h_ignore)
		return;
	if (val->type != WIMS_BC_LIST) {
		if (h != h_ignore)
			add_unknown(r, "bad value for ", key);
		return;
	}
	for (e = wims_bc_child(doc, val); e; e = wims_bc_next(doc, e)) {
		if (e->type == WIMS_BC_STR)
			h(r, e->s);
		else if (h != h_ignore)
			add_unknown(r, "bad element in ", key);
	}
}

static void codec_dict(struct wims_ng_req *r, const struct wims_bc_doc *doc, const struct wims_bc_node *d)
{
	const struct wims_bc_node *k, *v, *e;

	if (d->type != WIMS_BC_DICT) {
		add_unknown(r, "bad value for ", wims_str_c("codec"));
		return;
	}
	for (k = wims_bc_child(doc, d); k && (v = wims_bc_next(doc, k)); k = wims_bc_next(doc, v)) {
		if (v->type == WIMS_BC_STR) {
			add_codec(r, k->s, v->s);
			continue;
		}
		if (v->type != WIMS_BC_LIST) {
			add_unknown(r, "codec-", k->s);
			continue;
		}
		for (e = wims_bc_child(doc, v); e; e = wims_bc_next(doc, e))
			if (e->type == WIMS_BC_STR)
				add_codec(r, k->s, e->s);
	}
}

static const struct {
	const char *name;
	enum wims_mctl_op op;
} commands[] = {
	{"ping", WIMS_MCTL_PING},     {"offer", WIMS_MCTL_OFFER}, {"answer", WIMS_MCTL_ANSWER},
	{"delete", WIMS_MCTL_DELETE}, {"query", WIMS_MCTL_QUERY}, {"list", WIMS_MCTL_LIST},
};

static bool str_key(struct wims_ng_req *r, struct wims_str k, const struct wims_bc_node *v)
{
	struct {
		const char *k;
		struct wims_str *dst;
	} keys[] = {
		{"command", &r->command},     {"call-id", &r->rq.call_id},       {"from-tag", &r->rq.from_tag},
		{"to-tag", &r->rq.to_tag},    {"via-branch", &r->rq.via_branch}, {"sdp", &r->rq.sdp},
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!wims_str_eqc(k, keys[i].k))
			continue;
		if (v->type == WIMS_BC_STR)
			*keys[i].dst = v->s;
		else
			add_unknown(r, "bad value for ", k);
		return true;
	}
	return false;
}

static void one_key(struct wims_ng_req *r, const struct wims_bc_doc *doc, const struct wims_bc_node *k,
		    const struct wims_bc_node *v)
{
	key_h *h;

	if (str_key(r, k->s, v))
		return;
	if (wims_str_eqc(k->s, "codec")) {
		codec_dict(r, doc, v);
	} else if (wims_str_eqc(k->s, "limit")) {
		if (v->type == WIMS_BC_INT && v->i >= 0)
			r->list_limit = v->i > WIMS_NG_LIST_MAX ? WIMS_NG_LIST_MAX : (unsigned)v->i;
		else
			add_unknown(r, "bad value for ", k->s);
	} else if ((h = find_key(k->s))) {
		apply(r, doc, k->s, v, h);
	} else {
		add_unknown(r, "", k->s);
	}
}

static const char *check_required(const struct wims_ng_req *r)
{
	const struct wims_mctl_req *rq = &r->rq;

	switch (rq->op) {
	case WIMS_MCTL_OFFER:
	case WIMS_MCTL_ANSWER:
		if (!wims_str_isset(rq->sdp))
			return "No SDP body in message";
		if (!wims_str_isset(rq->call_id))
			return "No call-id in message";
		if (!wims_str_isset(rq->from_tag))
			return "No from-tag in message";
		if (rq->op == WIMS_MCTL_ANSWER && !wims_str_isset(rq->to_tag))
			return "No to-tag in message";
		return NULL;
	case WIMS_MCTL_DELETE:
	case WIMS_MCTL_QUERY:
		return wims_str_isset(rq->call_id) ? NULL : "No call-id in message";
	default:
		return NULL;
	}
}

int wims_ng_parse_req(struct wims_ng_req *out, struct wims_bc_node *nodes, uint32_t max_nodes,
		      struct wims_str body, const char **reason)
{
	struct wims_bc_doc doc;
	const struct wims_bc_node *root, *k, *v;
	size_t used = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->list_limit = WIMS_NG_LIST_DEFAULT;
	*reason = NULL;
	if (wims_bc_parse(&doc, nodes, max_nodes, body, &used) != 0 || nodes[0].type != WIMS_BC_DICT) {
		*reason = "Failed to decode dictionary";
		return -EBADMSG;
	}
	/* tolerate trailing line ends (hand-typed requests), nothing else */
	for (i = used; i < body.l; i++)
		if (body.p[i] != '\r' && body.p[i] != '\n') {
			*reason = "Trailing data after dictionary";
			return -EBADMSG;
		}
	root = &nodes[0];
	for (k = wims_bc_child(&doc, root); k && (v = wims_bc_next(&doc, k)); k = wims_bc_next(&doc, v))
		one_key(out, &doc, k, v);
	if (!wims_str_isset(out->command)) {
		*reason = "No command in message";
		return -EINVAL;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (wims_str_eqc(out->command, commands[i].name))
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		*reason = "Unsupported command";
		return -ENOTSUP;
	}
	out->rq.op = commands[i].op;
	*reason = check_required(out);
	return *reason ? -EINVAL : 0;
}

/* ---- encoding a request (client side) ---- */

static const char *const op_names[] = {
	[WIMS_MCTL_PING] = "ping",     [WIMS_MCTL_OFFER] = "offer", [WIMS_MCTL_ANSWER] = "answer",
	[WIMS_MCTL_DELETE] = "delete", [WIMS_MCTL_QUERY] = "query", [WIMS_MCTL_LIST] = "list",
};

static const char *proto_name(enum wims_mctl_proto p)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].proto == p)
			return protos[i].name;
	return NULL;
}

static void enc_opt(struct wims_wbuf *b, const char *key, struct wims_str v)
{
	if (wims_str_isset(v))
		wims_bc_kv(b, key, v);
}

static void enc_list(struct wims_wbuf *b, const char *key, const struct wims_str *v, unsigned n)
{
	if (!n)
		return;
	wims_bc_cstr(b, key);
	wims_bc_list(b);
	for (unsigned i = 0; i < n; i++)
		wims_bc_str(b, v[i]);
	wims_bc_end(b);
}

static void enc_flags_list(struct wims_wbuf *b, const struct wims_mctl_flags *f)
{
	const char *names[8];
	unsigned n = 0;

	/* rtpengine's own spellings, in the order they are listed */
	if (f->asymmetric)
		names[n++] = "asymmetric";
	if (f->generate_mid)
		names[n++] = "generate-mid";
	if (f->no_rtcp_attribute)
		names[n++] = "no-rtcp-attribute";
	if (f->strip_extmap)
		names[n++] = "strip-extmap";
	if (f->symmetric)
		names[n++] = "symmetric";
	if (f->trust_address)
		names[n++] = "trust-address";
	if (!n)
		return;
	wims_bc_cstr(b, "flags");
	wims_bc_list(b);
	for (unsigned i = 0; i < n; i++)
		wims_bc_cstr(b, names[i]);
	wims_bc_end(b);
}

static void enc_codec(struct wims_wbuf *b, const struct wims_mctl_flags *f)
{
	if (!f->n_codec_strip && !f->n_codec_mask && !f->n_codec_offer)
		return;
	wims_bc_cstr(b, "codec");
	wims_bc_dict(b);
	enc_list(b, "mask", f->codec_mask, f->n_codec_mask);
	enc_list(b, "strip", f->codec_strip, f->n_codec_strip);
	enc_list(b, "transcode", f->codec_offer, f->n_codec_offer);
	wims_bc_end(b);
}

static void enc_rtcp_mux(struct wims_wbuf *b, const struct wims_mctl_flags *f)
{
	if (!f->rtcp_mux_offer && !f->rtcp_mux_demux && !f->rtcp_mux_accept && !f->rtcp_mux_require)
		return;
	wims_bc_cstr(b, "rtcp-mux");
	wims_bc_list(b);
	if (f->rtcp_mux_accept)
		wims_bc_cstr(b, "accept");
	if (f->rtcp_mux_demux)
		wims_bc_cstr(b, "demux");
	if (f->rtcp_mux_offer)
		wims_bc_cstr(b, "offer");
	if (f->rtcp_mux_require)
		wims_bc_cstr(b, "require");
	wims_bc_end(b);
}

/* Keys in bencode order: upper case sorts before lower case. */
void wims_ng_encode_req(struct wims_wbuf *b, const struct wims_mctl_req *rq)
{
	const struct wims_mctl_flags *f = &rq->flags;
	static const char *const dtls_setup[] = {"passive", "active", "passive"};
	const char *proto = proto_name(f->proto);

	wims_bc_dict(b);
	if (f->dtls == WIMS_MCTL_REMOVE)
		wims_bc_kvc(b, "DTLS", "off");
	else if (f->dtls == WIMS_MCTL_FORCE)
		wims_bc_kvc(b, "DTLS", dtls_setup[f->dtls_setup == 1]);
	if (f->ice != WIMS_MCTL_DEFAULT)
		wims_bc_kvc(b, "ICE", f->ice == WIMS_MCTL_FORCE ? "force" : "remove");
	if (f->sdes == WIMS_MCTL_REMOVE) {
		wims_bc_cstr(b, "SDES");
		wims_bc_list(b);
		wims_bc_cstr(b, "off");
		wims_bc_end(b);
	}
	enc_opt(b, "call-id", rq->call_id);
	enc_codec(b, f);
	wims_bc_kvc(b, "command", op_names[rq->op <= WIMS_MCTL_LIST ? rq->op : 0]);
	if (wims_str_isset(f->direction[0]) && wims_str_isset(f->direction[1]))
		enc_list(b, "direction", f->direction, 2);
	enc_flags_list(b, f);
	enc_opt(b, "from-tag", rq->from_tag);
	enc_opt(b, "media-address", f->media_address);
	if (f->replace_origin || f->replace_session_conn) {
		wims_bc_cstr(b, "replace");
		wims_bc_list(b);
		if (f->replace_origin)
			wims_bc_cstr(b, "origin");
		if (f->replace_session_conn)
			wims_bc_cstr(b, "session-connection");
		wims_bc_end(b);
	}
	enc_rtcp_mux(b, f);
	enc_opt(b, "sdp", rq->sdp);
	enc_opt(b, "to-tag", rq->to_tag);
	if (proto)
		wims_bc_kvc(b, "transport-protocol", proto);
	enc_opt(b, "via-branch", rq->via_branch);
	wims_bc_end(b);
}
