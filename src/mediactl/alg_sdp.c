/* Offer/answer rewriting between the WebRTC profile (RFC 8829/8834: BUNDLE,
 * rtcp-mux, ICE, DTLS-SRTP) and the IMS profile (TS 26.114: RTP/AVP, one
 * m-line and port pair per medium, no ICE, no DTLS; TS 23.228 Annex U).
 *
 * Every SDP is parsed, described with wims_sdp_out_from() and written back
 * with the fields of the other side's profile replaced: proto, address and
 * ports of our transports, ICE-lite credentials and our host candidate, our
 * fingerprint and DTLS role, SDES keys, codec lists filtered and renumbered.
 * Attributes that only one side understands are not carried over. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/log.h"
#include "mediactl/alg_int.h"
#include "media/srtp.h"

void alg__new_tls_id(struct alg_call *c, unsigned ti)
{
	unsigned char r[10];
	static const char hex[] = "0123456789abcdef";
	if (ti >= WIMS_MEDIA_MAX_TRANSPORTS || RAND_bytes(r, sizeof(r)) != 1) {
		if (ti < WIMS_MEDIA_MAX_TRANSPORTS)
			c->our_tls_id[ti][0] = 0;
		return;
	}
	for (unsigned i = 0; i < sizeof(r); i++) {
		c->our_tls_id[ti][2 * i] = hex[r[i] >> 4];
		c->our_tls_id[ti][2 * i + 1] = hex[r[i] & 15];
	}
	c->our_tls_id[ti][2 * sizeof(r)] = 0;
}

enum wims_media_tkind alg__kind_of(const struct wims_sdp *s, const struct wims_sdp_media *m)
{
	if (wims_str_findi(m->proto, wims_str_c("UDP/TLS")) >= 0 ||
	    (wims_sdp_has(s, m, "fingerprint") && wims_sdp_has(s, m, "ice-ufrag")))
		return WIMS_MT_WEBRTC;
	if (wims_str_findi(m->proto, wims_str_c("SAVP")) >= 0 && wims_sdp_has(s, m, "crypto"))
		return WIMS_MT_SDES;
	return WIMS_MT_PLAIN;
}

static enum wims_media_tkind target_kind(const struct wims_alg *a, enum wims_media_tkind src,
					 const struct wims_mctl_flags *f)
{
	enum wims_media_tkind core = a->o.core_sdes ? WIMS_MT_SDES : WIMS_MT_PLAIN;
	switch (f->proto) {
	case WIMS_MCTL_PROTO_WEBRTC: return WIMS_MT_WEBRTC;
	case WIMS_MCTL_PROTO_RTP_AVP:
	case WIMS_MCTL_PROTO_RTP_AVPF: return WIMS_MT_PLAIN;
	case WIMS_MCTL_PROTO_RTP_SAVP:
	case WIMS_MCTL_PROTO_RTP_SAVPF: return f->sdes == WIMS_MCTL_REMOVE ? WIMS_MT_PLAIN : WIMS_MT_SDES;
	default: break;
	}
	if (f->ice == WIMS_MCTL_FORCE)
		return WIMS_MT_WEBRTC;
	if (f->ice == WIMS_MCTL_REMOVE || f->dtls == WIMS_MCTL_REMOVE)
		return core;
	return src == WIMS_MT_WEBRTC ? core : WIMS_MT_WEBRTC;
}

static const char *proto_name(enum wims_media_tkind k, const struct wims_mctl_flags *f)
{
	bool avpf = f->proto == WIMS_MCTL_PROTO_RTP_AVPF || f->proto == WIMS_MCTL_PROTO_RTP_SAVPF;
	switch (k) {
	case WIMS_MT_WEBRTC: return "UDP/TLS/RTP/SAVPF";
	case WIMS_MT_SDES: return avpf ? "RTP/SAVPF" : "RTP/SAVP";
	default: return avpf ? "RTP/AVPF" : "RTP/AVP";
	}
}

/* ---- transports ---- */

static int tp_alloc(struct wims_alg *a, struct alg_call *c, enum wims_media_tkind kind, int *idx,
		    struct wims_mctl_err *err)
{
	if (c->conf.ntransports >= WIMS_MEDIA_MAX_TRANSPORTS) {
		alg__err(err, 488, "too many media streams");
		return -E2BIG;
	}
	struct wims_media_tconf *t = &c->conf.t[c->conf.ntransports];
	memset(t, 0, sizeof(*t));
	bool pair = kind != WIMS_MT_WEBRTC;
	int rc = wims_media_port_alloc(a->m, pair, &t->fd_rtp, &t->fd_rtcp, &t->lport_rtp);
	if (rc) {
		t->fd_rtp = t->fd_rtcp = -1;
		alg__err(err, 503, "no free media port");
		return rc;
	}
	/* a host candidate on each media address (IPv4 and IPv6 at once) */
	if (kind == WIMS_MT_WEBRTC &&
	    wims_media_port_alloc_alt(a->m, t->lport_rtp, t->fd_alt, t->lport_alt, &t->nalt) < 0) {
		wims_media_port_free(t->fd_rtp, t->fd_rtcp);
		t->fd_rtp = t->fd_rtcp = -1;
		alg__err(err, 503, "no free media port");
		return -EADDRINUSE;
	}
	t->kind = kind;
	t->lport_rtcp = pair ? (uint16_t)(t->lport_rtp + 1) : t->lport_rtp;
	t->rtcp_mux = !pair;
	if (kind == WIMS_MT_WEBRTC) {
		struct wims_ice_lite tmp;
		if (wims_ice_lite_init(&tmp)) {
			alg__err(err, 500, "no randomness for ICE credentials");
			return -EIO;
		}
		memcpy(t->lufrag, tmp.lufrag, sizeof(t->lufrag));
		memcpy(t->lpwd, tmp.lpwd, sizeof(t->lpwd));
	}
	if (kind == WIMS_MT_WEBRTC)
		alg__new_tls_id(c, c->conf.ntransports);
	*idx = (int)c->conf.ntransports++;
	return 0;
}

static int leg_tp(struct wims_alg *a, struct alg_call *c, int leg, unsigned i, bool bundled,
		  struct wims_mctl_err *err)
{
	struct alg_leg *l = &c->leg[leg];
	if (c->med[i].tp[leg] >= 0)
		return c->med[i].tp[leg];
	int idx;
	if (bundled && l->btp >= 0) {
		idx = l->btp;
	} else {
		int rc = tp_alloc(a, c, l->kind, &idx, err);
		if (rc)
			return rc;
		if (bundled)
			l->btp = idx;
	}
	c->med[i].tp[leg] = idx;
	return idx;
}

/* ---- what the peer of a leg said ---- */

static int conn_addr(const struct wims_sdp_conn *cn, uint16_t port, struct wims_addr *out)
{
	char buf[96];
	bool v6 = wims_str_eqic(cn->addrtype, "IP6");
	if (cn->addr.l > 80)
		return -EINVAL;
	snprintf(buf, sizeof(buf), v6 ? "[%.*s]" : "%.*s", (int)cn->addr.l, cn->addr.p);
	return wims_addr_parse(out, wims_str_c(buf), port);
}

static int remote_sdes(struct alg_call *c, int leg, const struct wims_sdp_media *m,
		       struct wims_media_tconf *t, struct wims_mctl_err *err)
{
	unsigned it = 0;
	const struct wims_sdp_attr *at;
	while ((at = wims_sdp_attrs_next(&m->attrs, "crypto", &it))) {
		struct wims_sdp_crypto cr;
		int profile;
		if (wims_sdp_crypto_parse(at->value, &cr) ||
		    wims_srtp_sdes_parse(cr.suite, cr.key_params, &profile, t->rx_key, t->rx_salt))
			continue;
		struct alg_leg *l = &c->leg[leg];
		if (l->sdes_profile != profile || !t->srtp_profile) {
			if (wims_srtp_sdes_generate(profile, t->tx_key, t->tx_salt, l->sdes_line,
						    sizeof(l->sdes_line))) {
				alg__err(err, 500, "cannot make SDES keys");
				return -EIO;
			}
			l->sdes_profile = profile;
		}
		l->sdes_tag = cr.tag;
		t->srtp_profile = profile;
		return 0;
	}
	alg__err(err, 488, "no usable a=crypto");
	return -ENOTSUP;
}

static int remote_plain(struct alg_call *c, int leg, const struct wims_sdp *s,
			const struct wims_sdp_media *m, struct wims_media_tconf *t,
			struct wims_mctl_err *err)
{
	const struct wims_sdp_conn *cn = wims_sdp_conn(s, m);
	if (!cn || !cn->addr.l || conn_addr(cn, m->port, &t->remote_rtp)) {
		alg__err(err, 488, "no usable c= address");
		return -EBADMSG;
	}
	t->remote_rtcp = t->remote_rtp;
	t->rtcp_mux = wims_sdp_has(s, m, "rtcp-mux") || t->fd_rtcp < 0;
	const struct wims_sdp_attr *r = wims_sdp_attr(s, m, "rtcp");
	struct wims_sdp_rtcp rc;
	if (!t->rtcp_mux) {
		if (r && wims_sdp_rtcp_parse(r->value, &rc) == 0) {
			if (rc.addr.l) {
				struct wims_sdp_conn x = {rc.nettype, rc.addrtype, rc.addr, WIMS_STR_NULL};
				if (conn_addr(&x, rc.port, &t->remote_rtcp))
					wims_addr_set_port(&t->remote_rtcp, rc.port);
			} else {
				wims_addr_set_port(&t->remote_rtcp, rc.port);
			}
		} else {
			wims_addr_set_port(&t->remote_rtcp, (uint16_t)(m->port + 1));
		}
	}
	/* c=0.0.0.0 is the old way of putting a call on hold (RFC 3264 §8.4) */
	struct wims_addr any;
	t->has_remote = m->port != 0 && !(wims_addr_parse(&any, wims_str_c("0.0.0.0"), 0) == 0 &&
					   wims_addr_same_host(&any, &t->remote_rtp));
	if (t->kind == WIMS_MT_SDES)
		return remote_sdes(c, leg, m, t, err);
	return 0;
}

/* RFC 8839 §5.4: ufrag 4-256 and pwd 22-256 characters (our engine keeps
 * up to WIMS_ICE_*_MAX); a fingerprint the engine cannot check is no better. */
static bool ice_cred_ok(struct wims_str uf, struct wims_str pw)
{
	return uf.l >= WIMS_ICE_UFRAG_MIN && uf.l <= WIMS_ICE_UFRAG_MAX && pw.l >= WIMS_ICE_PWD_MIN &&
	       pw.l <= WIMS_ICE_PWD_MAX;
}

/* The peer's DTLS role -> ours.  RFC 5763 §5: we answer an offerer's
 * actpass with passive (and so can take its ClientHello at once, 23.334
 * §6.2.22.3.1) -- unless an association already runs and this offer does
 * not start a new one: then we keep the role we play, so the answer says
 * what the engine does (pitfall 6).  In an answer, the setup fixes the
 * role of our actpass offer; absent means active (RFC 4145 §4); actpass is
 * not an answer (RFC 5763 §5). */
static int dtls_role(struct wims_media_tconf *t, int setup, bool offer, bool keep,
		     struct wims_mctl_err *err)
{
	if (setup < 0 || setup == WIMS_SDP_SETUP_HOLDCONN || (!offer && setup == WIMS_SDP_SETUP_ACTPASS)) {
		alg__err(err, 488, offer ? "bad a=setup" : "a=setup:actpass in an answer");
		return -EBADMSG;
	}
	bool peer_chooses = setup == WIMS_SDP_SETUP_ACTPASS || setup == WIMS_SDP_SETUP_NONE;
	if (offer && peer_chooses && keep)
		return 0;
	t->dtls_client = setup == WIMS_SDP_SETUP_PASSIVE;
	return 0;
}

static int remote_webrtc(struct alg_call *c, int ti, const struct wims_sdp *s,
			 const struct wims_sdp_media *m, bool offer, struct wims_mctl_err *err)
{
	struct wims_media_tconf *t = &c->conf.t[ti];
	const struct wims_sdp_attr *uf = wims_sdp_attr(s, m, "ice-ufrag");
	const struct wims_sdp_attr *pw = wims_sdp_attr(s, m, "ice-pwd");
	const struct wims_sdp_attr *fp = wims_sdp_attr(s, m, "fingerprint");
	struct wims_sdp_fingerprint fpp;
	char rufrag[sizeof(t->rufrag)], rfp[sizeof(t->rfp)];
	if (!uf || !pw || !fp || !ice_cred_ok(uf->value, pw->value) ||
	    wims_sdp_fingerprint_parse(fp->value, &fpp) || wims_str_copy(rufrag, sizeof(rufrag), uf->value) ||
	    wims_str_copy(rfp, sizeof(rfp), fp->value)) {
		alg__err(err, 488, "WebRTC media without usable ICE credentials or fingerprint");
		return -EBADMSG;
	}
	/* Per transport, not per leg: each unbundled transport sees the change. */
	bool had = t->rufrag[0] != 0;
	if (had && strcmp(t->rufrag, rufrag)) {
		/* ICE restart (RFC 8445 §9): new local credentials too (rtpengine
		 * #786); DTLS goes on unless something below says otherwise */
		struct wims_ice_lite tmp;
		if (wims_ice_lite_init(&tmp) == 0) {
			memcpy(t->lufrag, tmp.lufrag, sizeof(t->lufrag));
			memcpy(t->lpwd, tmp.lpwd, sizeof(t->lpwd));
		}
	}
	bool new_assoc = false;
	if (had && t->rfp[0] && strcmp(t->rfp, rfp))
		new_assoc = true; /* another certificate cannot continue the old association */
	const struct wims_sdp_attr *tid = wims_sdp_attr(s, m, "tls-id");
	char tls[sizeof(c->tls_id[0])] = "";
	if (tid && wims_str_copy(tls, sizeof(tls), tid->value))
		tls[0] = 0;
	if (c->tls_id[ti][0] && tls[0] && strcmp(c->tls_id[ti], tls))
		new_assoc = true; /* RFC 8842 §5: a new tls-id is a new association */
	if (tls[0])
		memcpy(c->tls_id[ti], tls, sizeof(tls));
	if (new_assoc) {
		t->dtls_gen++;
		alg__new_tls_id(c, (unsigned)ti);
	}
	memcpy(t->rufrag, rufrag, sizeof(rufrag));
	if (wims_str_copy(t->rpwd, sizeof(t->rpwd), pw->value)) {
		alg__err(err, 488, "ice-pwd too long");
		return -EBADMSG;
	}
	memcpy(t->rfp, rfp, sizeof(rfp));
	return dtls_role(t, wims_sdp_setup(s, m), offer, had && !new_assoc, err);
}

static int set_remote(struct alg_call *c, int leg, const struct wims_sdp *s,
		      const struct wims_sdp_media *m, int ti, bool offer, struct wims_mctl_err *err)
{
	struct wims_media_tconf *t = &c->conf.t[ti];
	if (t->kind == WIMS_MT_WEBRTC)
		return remote_webrtc(c, ti, s, m, offer, err);
	return remote_plain(c, leg, s, m, t, err);
}

/* ---- codecs ---- */

static bool is_repair(struct wims_str enc)
{
	return wims_str_eqic(enc, "rtx") || wims_str_eqic(enc, "red") || wims_str_eqic(enc, "ulpfec") ||
	       wims_str_eqic(enc, "flexfec-03");
}

static bool in_list(struct wims_str enc, const struct wims_str *l, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (wims_str_eqi(enc, l[i]) || wims_str_eqic(l[i], "all"))
			return true;
	return false;
}

/* Filter in[] into out[] for a leg of kind k; returns the count. */
static unsigned filter_codecs(const struct wims_sdp_codec *in, unsigned n, struct wims_sdp_codec *out,
			      enum wims_media_tkind k, bool video, const struct wims_mctl_flags *f)
{
	unsigned o = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct wims_sdp_codec *x = &in[i];
		if (k != WIMS_MT_WEBRTC && is_repair(x->enc))
			continue;
		if (in_list(x->enc, f->codec_strip, f->n_codec_strip) &&
		    !in_list(x->enc, f->codec_mask, 0))
			continue;
		if (in_list(x->enc, f->codec_mask, f->n_codec_mask))
			continue;
		out[o] = *x;
		if (k != WIMS_MT_WEBRTC) {
			/* IMS phones expect no transport-cc/goog-remb; video keeps
			 * the feedback that repairs a picture (RFC 4585, RFC 5104) */
			unsigned kept = 0;
			for (unsigned j = 0; j < x->n_rtcp_fb; j++) {
				struct wims_str v = x->rtcp_fb[j];
				if (video && (wims_str_eqic(v, "nack") || wims_str_eqic(v, "nack pli") ||
					      wims_str_eqic(v, "ccm fir")))
					out[o].rtcp_fb[kept++] = v;
			}
			out[o].n_rtcp_fb = kept;
		}
		o++;
	}
	return o;
}

/* k[] as the offerer listed them (orig[]) and as forwarded (k[].pt). */
static void remember_codecs(struct alg_med *md, const struct wims_sdp_codec *k, const uint8_t *orig,
			    unsigned n)
{
	md->ncodecs = 0;
	for (unsigned i = 0; i < n && md->ncodecs < ALG_MAX_CODECS; i++) {
		struct alg_codec *x = &md->codecs[md->ncodecs++];
		x->pt = orig[i];
		x->fwd_pt = k[i].pt;
		x->channels = k[i].channels;
		x->clock = k[i].clock;
		if (wims_str_copy(x->enc, sizeof(x->enc), k[i].enc))
			x->enc[0] = 0;
	}
	md->clock = n ? k[0].clock : 0;
}

static bool same_codec(const struct alg_codec *x, const struct wims_sdp_codec *k)
{
	return (!k->enc.l || wims_str_eqic(k->enc, x->enc)) && (!k->clock || k->clock == x->clock);
}

/* The offerer's payload type for an answered codec: the answerer saw our
 * forwarded PTs, and RFC 3264 §6.1 lets it renumber, so match the
 * forwarded PT first, then the name and clock; -1 for a codec that was not
 * offered (RFC 3264 §6.1 forbids it; browsers refuse such an answer). */
static int offered_pt(const struct alg_med *md, const struct wims_sdp_codec *k)
{
	for (unsigned i = 0; i < md->ncodecs; i++) {
		const struct alg_codec *x = &md->codecs[i];
		if (x->fwd_pt == k->pt && same_codec(x, k))
			return x->pt;
	}
	for (unsigned i = 0; i < md->ncodecs; i++) {
		const struct alg_codec *x = &md->codecs[i];
		if (k->enc.l && wims_str_eqic(k->enc, x->enc) && x->clock == k->clock)
			return x->pt;
	}
	return md->ncodecs ? -1 : k->pt;
}

/* Bundled media share one RTP session toward the browser, and the engine
 * tells them apart by PT (RFC 8843 §9.1: a PT must map to one m-line).
 * An IMS offer may use the same dynamic PT in audio and video: renumber
 * such a PT of medium i to a dynamic PT no bundled medium uses.  Static
 * PTs that collide cannot be renumbered meaningfully and are kept. */
static void unbundle_pts(struct alg_call *c, int al, unsigned i, struct wims_sdp_codec *k, unsigned n)
{
	bool used[128] = {false}, taken[128] = {false};
	for (unsigned j = 0; j < i; j++) {
		const struct alg_med *o = &c->med[j];
		if (o->rejected || o->tp[al] != c->med[i].tp[al])
			continue;
		for (unsigned x = 0; x < o->ncodecs; x++)
			used[o->codecs[x].fwd_pt & 0x7f] = true;
	}
	for (unsigned x = 0; x < n; x++)
		taken[k[x].pt & 0x7f] = true;
	for (unsigned x = 0; x < n; x++) {
		if (!used[k[x].pt & 0x7f] || k[x].pt < 96)
			continue;
		unsigned pt = 96;
		while (pt < 128 && (used[pt] || taken[pt]))
			pt++;
		if (pt == 128)
			continue;
		taken[pt] = true;
		k[x].pt = (uint8_t)pt;
	}
}

/* ---- writing ---- */

static void fill_session(struct wims_alg *a, struct alg_call *c, int to)
{
	enum wims_media_tkind k = c->leg[to].kind;
	struct wims_sdp_out *o = &a->st.out;
	const struct wims_addr *ma = wims_media_addr(a->m);
	bool v6 = ma->u.sa.sa_family == AF_INET6;
	if (wims_addr_host(ma, a->host, sizeof(a->host), false) < 0)
		a->host[0] = 0;
	o->o_user = wims_str_c("-");
	o->sess_id = c->sess_id;
	/* RFC 3264 §8: each SDP sent toward a leg is one version above the last */
	o->sess_version = ++c->leg[to].sess_version;
	o->sess_id_s = o->sess_version_s = WIMS_STR_NULL;
	o->o_addr = (struct wims_sdp_out_addr){v6, wims_str_c(a->host)};
	o->name = wims_str_c("wims");
	o->c = o->o_addr;
	o->ice_lite = k == WIMS_MT_WEBRTC;
	o->n_bundle = 0;
	o->msid_semantic = WIMS_STR_NULL;
	o->n_attrs = 0;
}

static bool keep_attr(struct wims_str name, enum wims_media_tkind k)
{
	static const char *const ims[] = {"curr", "des", "conf", "framerate", "silenceSupp", NULL};
	static const char *const web[] = {"framerate", NULL};
	for (const char *const *p = k == WIMS_MT_WEBRTC ? web : ims; *p; p++)
		if (wims_str_eqic(name, *p))
			return true;
	return false;
}

static void filter_attrs(struct wims_alg *a, unsigned i, const struct wims_sdp_media *m,
			 struct wims_sdp_out_media *om, enum wims_media_tkind k)
{
	unsigned n = 0;
	for (unsigned j = 0; j < m->attrs.n && n < WIMS_SDP_MAX_ATTRS; j++)
		if (keep_attr(m->attrs.a[j].name, k))
			a->attrs[i][n++] = m->attrs.a[j].raw;
	om->attrs = a->attrs[i];
	om->n_attrs = n;
}

/* Our host candidates on a WebRTC transport: one per media address (the
 * first on fd_rtp, the others on fd_alt), in the order configured, which is
 * also their order of preference (RFC 8445 §5.1.2.1: host type 126, local
 * preference 65535 down). */
static unsigned fill_cands(struct wims_alg *a, const struct wims_media_tconf *t,
			   struct wims_sdp_cand cd[WIMS_MEDIA_MAX_ADDRS])
{
	static const char *const fnd[WIMS_MEDIA_MAX_ADDRS] = {"1", "2", "3", "4"};
	unsigned n = 0;
	for (unsigned ai = 0; ai <= t->nalt && ai < WIMS_MEDIA_MAX_ADDRS; ai++) {
		const struct wims_addr *ma = wims_media_addr_n(a->m, ai);
		if (!ma || wims_addr_host(ma, a->hosts[ai], sizeof(a->hosts[ai]), false) < 0)
			continue;
		memset(&cd[n], 0, sizeof(cd[n]));
		cd[n].foundation = wims_str_c(fnd[ai]);
		cd[n].component = 1;
		cd[n].transport = wims_str_c("UDP");
		cd[n].priority = (126u << 24) | ((65535u - ai) << 8) | 255u;
		cd[n].addr = wims_str_c(a->hosts[ai]);
		cd[n].port = ai ? t->lport_alt[ai - 1] : t->lport_rtp;
		cd[n].type = wims_str_c("host");
		n++;
	}
	return n;
}

/* Our side of medium i toward leg `to` (of kind k) on transport ti. */
static void fill_media(struct wims_alg *a, struct alg_call *c, unsigned i, int to, int ti,
		       const struct wims_sdp_media *m, struct wims_sdp_out_media *om,
		       const struct wims_mctl_flags *f, enum wims_sdp_setup setup)
{
	const struct wims_media_tconf *t = &c->conf.t[ti];
	enum wims_media_tkind k = c->leg[to].kind;
	om->proto = wims_str_c(proto_name(k, f));
	om->port = t->lport_rtp;
	om->nports = 0;
	om->c = a->st.out.c;
	om->rtcp_port = k == WIMS_MT_WEBRTC || t->rtcp_mux ? 0 : t->lport_rtcp;
	om->rtcp_addr = (struct wims_sdp_out_addr){false, WIMS_STR_NULL};
	om->rtcp_mux = k == WIMS_MT_WEBRTC || t->rtcp_mux || f->rtcp_mux_offer;
	om->rtcp_mux_only = false;
	om->rtcp_rsize = k == WIMS_MT_WEBRTC;
	om->mid = k == WIMS_MT_WEBRTC ? wims_str_c(c->med[i].mid[to]) : WIMS_STR_NULL;
	om->ice_options = WIMS_STR_NULL;
	om->n_cands = 0;
	om->end_of_candidates = false;
	om->n_fps = 0;
	om->setup = WIMS_SDP_SETUP_NONE;
	om->tls_id = k == WIMS_MT_WEBRTC && c->our_tls_id[ti][0] ? wims_str_c(c->our_tls_id[ti]) : WIMS_STR_NULL;
	om->n_cryptos = 0;
	om->ice_ufrag = om->ice_pwd = WIMS_STR_NULL;
	if (k == WIMS_MT_WEBRTC) {
		om->cands = a->cand[i];
		om->n_cands = fill_cands(a, t, a->cand[i]);
		om->end_of_candidates = true;
		om->ice_ufrag = wims_str_c(t->lufrag);
		om->ice_pwd = wims_str_c(t->lpwd);
		om->fps = &a->fp;
		om->n_fps = 1;
		om->setup = setup;
	} else if (k == WIMS_MT_SDES) {
		struct wims_sdp_crypto *cr = &a->crypto[i];
		const char *sp = strchr(c->leg[to].sdes_line, ' ');
		memset(cr, 0, sizeof(*cr));
		cr->tag = c->leg[to].sdes_tag ? c->leg[to].sdes_tag : 1;
		if (sp) {
			cr->suite = wims_str_make(c->leg[to].sdes_line, (size_t)(sp - c->leg[to].sdes_line));
			cr->key_params = wims_str_c(sp + 1);
			om->cryptos = cr;
			om->n_cryptos = 1;
		}
	}
	filter_attrs(a, i, m, om, k);
	/* RFC 8830: without a=msid a browser's track event has no stream
	 * (e.streams[0] is what most web phones play); one stream per call,
	 * stable across re-offers. */
	if (k == WIMS_MT_WEBRTC && om->n_attrs < WIMS_SDP_MAX_ATTRS) {
		snprintf(a->msid[i], sizeof(a->msid[i]), "msid:wims-%016llx %s%u",
			 (unsigned long long)c->sess_id, c->med[i].video ? "video" : "audio", i);
		a->attrs[i][om->n_attrs++] = wims_str_c(a->msid[i]);
	}
	/* RFC 5576: the SSRC the engine gives what it sends the browser (see
	 * alg__ssrc_out), so that the browser demuxes it by SSRC: Chromium's
	 * demux of unsignalled SSRCs by PT is lost after some re-offers */
	uint32_t ssrc = alg__ssrc_out(c, i, to);
	if (ssrc && om->n_attrs < WIMS_SDP_MAX_ATTRS) {
		snprintf(a->ssrc[i], sizeof(a->ssrc[i]), "ssrc:%lu cname:wims-%016llx", (unsigned long)ssrc,
			 (unsigned long long)c->sess_id);
		a->attrs[i][om->n_attrs++] = wims_str_c(a->ssrc[i]);
	}
}

/* A WebRTC leg whose other leg is not one: the engine rewrites the SSRC of
 * what it sends there to one derived from the call's session id, the medium
 * and the leg (stable across re-offers; splitmix64).  Between two browsers
 * the streams pass untouched (their RTX/FEC SSRCs would need a map each). */
uint32_t alg__ssrc_out(const struct alg_call *c, unsigned i, int to)
{
	if (c->leg[to].kind != WIMS_MT_WEBRTC || c->leg[1 - to].kind == WIMS_MT_WEBRTC)
		return 0;
	uint64_t z = c->sess_id + 0x9e3779b97f4a7c15ull * (4 * (uint64_t)i + 2 * (uint64_t)c->med[i].video +
							    (uint64_t)to + 1);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (uint32_t)z ? (uint32_t)z : 1u;
}

static void set_fingerprint(struct wims_alg *a)
{
	const char *fp = wims_media_fingerprint(a->m); /* "sha-256 AB:..." */
	const char *sp = strchr(fp, ' ');
	snprintf(a->fpval, sizeof(a->fpval), "%s", sp ? sp + 1 : fp);
	a->fp.hash = wims_str_c("sha-256");
	a->fp.value = wims_str_c(a->fpval);
}

static int write_out(struct wims_alg *a, struct wims_wbuf *out, struct wims_mctl_err *err)
{
	int rc = wims_sdp_write(out, &a->st.out);
	if (rc)
		alg__err(err, 500, rc == -ENOSPC ? "SDP too large" : "cannot write SDP");
	return rc;
}

static void stream_conf(struct alg_call *c, unsigned i)
{
	struct wims_media_sconf *s = &c->conf.s[i];
	struct alg_med *md = &c->med[i];
	s->active = !md->rejected && md->tp[0] >= 0 && md->tp[1] >= 0;
	s->video = md->video;
	s->keep_video_fb = md->video;
	s->t[0] = (uint8_t)(md->tp[0] < 0 ? 0 : md->tp[0]);
	s->t[1] = (uint8_t)(md->tp[1] < 0 ? 0 : md->tp[1]);
	bool both_web = c->leg[0].kind == WIMS_MT_WEBRTC && c->leg[1].kind == WIMS_MT_WEBRTC;
	s->strip_ext[0] = s->strip_ext[1] = !both_web;
	s->ssrc_out[0] = alg__ssrc_out(c, i, 0);
	s->ssrc_out[1] = alg__ssrc_out(c, i, 1);
}

/* ---- offer ---- */

/* The codecs of offered medium i as forwarded toward leg al, and the
 * engine's PT map for them. */
/* RFC 7874 §3 / RFC 7742: what every browser decodes.  Without one of these
 * an audio offer toward a browser cannot work until transcoding (RFC 7874
 * leaves AMR/AMR-WB to the gateway). */
static bool browser_codec(struct wims_str enc)
{
	static const char *const known[] = {"opus", "PCMU", "PCMA", "G722", "VP8", "VP9", "H264", "AV1", NULL};
	for (const char *const *k = known; *k; k++)
		if (wims_str_eqic(enc, *k))
			return true;
	return false;
}

static bool browser_can_decode(const struct wims_sdp_codec *k, unsigned n)
{
	for (unsigned j = 0; j < n; j++)
		if (browser_codec(k[j].enc))
			return true;
	return false;
}

static int offer_codecs(struct wims_alg *a, struct alg_call *c, int ol, unsigned i,
			const struct wims_sdp_media *m, const struct wims_mctl_flags *f, unsigned *keptp,
			struct wims_mctl_err *err)
{
	struct alg_med *md = &c->med[i];
	int al = 1 - ol;
	int n = wims_sdp_codecs(m, a->codecs[i], WIMS_SDP_MAX_FMTS);
	if (n <= 0) {
		alg__err(err, 488, "no payload types");
		return -EBADMSG;
	}
	unsigned kept = filter_codecs(a->codecs[i], (unsigned)n, a->codecs[i], c->leg[al].kind, md->video, f);
	if (!kept) {
		alg__err(err, 488, "no codec left after filtering");
		return -ENOTSUP;
	}
	md->xc_for_browser = false;
	if (c->leg[al].kind == WIMS_MT_WEBRTC && !md->video && !browser_can_decode(a->codecs[i], kept)) {
		int x = alg__xc_offer_browser(a, c, ol, i, a->codecs[i], kept, WIMS_SDP_MAX_FMTS, f);
		if (x <= 0) {
			alg__err(err, 488, "no codec in common with WebRTC (transcoding is not available)");
			return -ENOTSUP;
		}
		/* the browser is offered our codecs: nothing passes through */
		uint8_t pts[8];
		for (int j = 0; j < x && j < 8; j++)
			pts[j] = a->codecs[i][j].pt;
		memset(c->conf.s[i].pt_map, 0xff, sizeof(c->conf.s[i].pt_map));
		remember_codecs(md, a->codecs[i], pts, (unsigned)(x < 8 ? x : 8));
		*keptp = (unsigned)x;
		return 0;
	}
	uint8_t orig[WIMS_SDP_MAX_FMTS];
	for (unsigned j = 0; j < kept; j++)
		orig[j] = a->codecs[i][j].pt;
	if (c->leg[al].kind == WIMS_MT_WEBRTC && c->leg[al].bundle)
		unbundle_pts(c, al, i, a->codecs[i], kept);
	remember_codecs(md, a->codecs[i], orig, kept);
	struct wims_media_sconf *s = &c->conf.s[i];
	memset(s->pt_map, 0xff, sizeof(s->pt_map));
	for (unsigned j = 0; j < kept; j++) {
		uint8_t fwd = a->codecs[i][j].pt;
		s->pt_map[ol][orig[j]] = fwd;
		s->pt_map[al][fwd] = orig[j];
	}
	/* toward IMS, AMR-WB/AMR after the browser's codecs: transcoded if chosen */
	*keptp = alg__xc_offer_ims(a, c, ol, i, a->codecs[i], kept, WIMS_SDP_MAX_FMTS, f);
	return 0;
}

static void offer_rejected(struct alg_call *c, int al, unsigned i, struct wims_sdp_out_media *om,
			   const struct wims_mctl_flags *f)
{
	om->rejected = true;
	om->proto = wims_str_c(proto_name(c->leg[al].kind, f));
	om->mid = c->leg[al].kind == WIMS_MT_WEBRTC ? wims_str_c(c->med[i].mid[al]) : WIMS_STR_NULL;
	stream_conf(c, i); /* a medium rejected in a re-offer stops relaying */
}

static int offer_media(struct wims_alg *a, struct alg_call *c, int ol, const struct wims_sdp *sdp,
		       unsigned i, const struct wims_sdp_group *bundle, const struct wims_mctl_flags *f,
		       struct wims_mctl_err *err)
{
	const struct wims_sdp_media *m = &sdp->media[i];
	struct alg_med *md = &c->med[i];
	struct wims_sdp_out_media *om = &a->st.media[i];
	int al = 1 - ol;
	if (wims_str_copy(md->type, sizeof(md->type), m->type))
		md->type[0] = 0;
	md->video = wims_str_eqic(m->type, "video");
	struct wims_str mid = wims_sdp_mid(m);
	if (mid.l && wims_str_copy(md->mid[ol], sizeof(md->mid[ol]), mid))
		md->mid[ol][0] = 0;
	if (!md->mid[al][0])
		snprintf(md->mid[al], sizeof(md->mid[al]), "%s", md->mid[ol][0] ? md->mid[ol] : "");
	if (!md->mid[al][0])
		snprintf(md->mid[al], sizeof(md->mid[al]), "%u", i);
	bool ob = c->leg[ol].kind == WIMS_MT_WEBRTC && bundle && mid.l &&
		  in_list(mid, bundle->mids, bundle->n);
	/* RFC 8843 §7.5.3: port 0 with a=bundle-only in the BUNDLE group is
	 * bundled, not rejected (pitfall 10) */
	bool bundle_only = ob && m->port == 0 && wims_sdp_has(sdp, m, "bundle-only");
	md->rejected = (m->port == 0 && !bundle_only) || !wims_sdp_proto_is_rtp(m->proto);
	if (md->rejected) {
		offer_rejected(c, al, i, om, f);
		return 0;
	}
	int tio = leg_tp(a, c, ol, i, ob, err);
	int tia = tio < 0 ? tio : leg_tp(a, c, al, i, c->leg[al].kind == WIMS_MT_WEBRTC, err);
	if (tio < 0 || tia < 0)
		return tio < 0 ? tio : tia;
	int rc = set_remote(c, ol, sdp, m, tio, true, err);
	unsigned kept = 0;
	if (rc || (rc = offer_codecs(a, c, ol, i, m, f, &kept, err)))
		return rc;
	if (c->leg[al].kind == WIMS_MT_SDES && !c->leg[al].sdes_line[0]) {
		struct wims_media_tconf *t = &c->conf.t[tia];
		t->srtp_profile = 1; /* AES_CM_128_HMAC_SHA1_80 */
		if (wims_srtp_sdes_generate(t->srtp_profile, t->tx_key, t->tx_salt, c->leg[al].sdes_line,
					    sizeof(c->leg[al].sdes_line))) {
			alg__err(err, 500, "cannot make SDES keys");
			return -EIO;
		}
		c->leg[al].sdes_profile = t->srtp_profile;
		c->leg[al].sdes_tag = 1;
	}
	om->codecs = a->codecs[i];
	om->n_codecs = kept;
	if (md->xc_for_browser)
		om->n_bw = 0; /* the IMS offer's b=AS is about AMR, not the browser's codecs */
	fill_media(a, c, i, al, tia, m, om, f, WIMS_SDP_SETUP_ACTPASS);
	stream_conf(c, i);
	return 0;
}

int alg__offer(struct wims_alg *a, struct alg_call *c, int ol, const struct wims_sdp *sdp,
	       const struct wims_mctl_flags *f, struct wims_wbuf *out, struct wims_mctl_err *err)
{
	int al = 1 - ol, rc;
	if (!sdp->n_media) {
		alg__err(err, 488, "SDP without media");
		return -EBADMSG;
	}
	if (sdp->n_media < c->nmed) {
		alg__err(err, 488, "m-lines removed in a new offer (RFC 3264 §8)");
		return -EBADMSG;
	}
	enum wims_media_tkind sk = alg__kind_of(sdp, &sdp->media[0]);
	if (c->leg[ol].kind == WIMS_MT_NONE)
		c->leg[ol].kind = sk;
	if (c->leg[al].kind == WIMS_MT_NONE)
		c->leg[al].kind = target_kind(a, sk, f);
	if ((rc = wims_sdp_out_from(&a->st, sdp))) {
		alg__err(err, 488, "malformed SDP attribute");
		return rc;
	}
	struct wims_sdp_group g, *bundle = NULL;
	if (wims_sdp_bundle(sdp, &g) == 0) {
		bundle = &g;
		c->leg[ol].bundle = true;
	}
	/* toward a browser we always bundle (RFC 8829 max-bundle is what
	 * browsers are happiest with; 23.228 U.2 wants BUNDLE) */
	if (c->leg[al].kind == WIMS_MT_WEBRTC)
		c->leg[al].bundle = true;
	set_fingerprint(a);
	fill_session(a, c, al);
	unsigned nb = 0;
	for (unsigned i = 0; i < sdp->n_media; i++) {
		if ((rc = offer_media(a, c, ol, sdp, i, bundle, f, err)))
			return rc;
		if (!c->med[i].rejected && c->leg[al].kind == WIMS_MT_WEBRTC)
			a->bundle[nb++] = wims_str_c(c->med[i].mid[al]);
	}
	c->nmed = sdp->n_media;
	c->conf.nstreams = c->nmed;
	if (c->leg[al].kind == WIMS_MT_WEBRTC) {
		a->st.out.bundle = a->bundle;
		a->st.out.n_bundle = nb;
	}
	return write_out(a, out, err);
}

/* ---- answer ---- */

static int answer_media(struct wims_alg *a, struct alg_call *c, int ol, const struct wims_sdp *sdp,
			unsigned i, const struct wims_mctl_flags *f, struct wims_mctl_err *err)
{
	const struct wims_sdp_media *m = &sdp->media[i];
	struct alg_med *md = &c->med[i];
	struct wims_sdp_out_media *om = &a->st.media[i];
	int al = 1 - ol;
	if (md->rejected || m->port == 0 || md->tp[ol] < 0 || md->tp[al] < 0) {
		md->rejected = true;
		om->rejected = true;
		om->proto = wims_str_c(proto_name(c->leg[ol].kind, f));
		om->mid = c->leg[ol].kind == WIMS_MT_WEBRTC ? wims_str_c(md->mid[ol]) : WIMS_STR_NULL;
		stream_conf(c, i);
		return 0;
	}
	int rc = set_remote(c, al, sdp, m, md->tp[al], false, err);
	if (rc)
		return rc;
	int n = wims_sdp_codecs(m, a->codecs[i], WIMS_SDP_MAX_FMTS);
	if (n <= 0) {
		alg__err(err, 488, "no payload types in the answer");
		return -EBADMSG;
	}
	struct wims_media_sconf *s = &c->conf.s[i];
	unsigned o = 0;
	int x = alg__xc_answer(a, c, ol, i, m, a->codecs[i], (unsigned)n, &o, err);
	if (x < 0)
		return x;
	if (x > 0) { /* transcoded: nothing passes through */
		memset(s->pt_map, 0xff, sizeof(s->pt_map));
		/* the other side's b=AS is about its codec: Chromium refuses
		 * G.711 (64 kbit/s) capped at an AMR 41 */
		om->n_bw = 0;
		goto write;
	}
	unsigned kept = filter_codecs(a->codecs[i], (unsigned)n, a->codecs[i], c->leg[ol].kind, md->video, f);
	memset(s->pt_map, 0xff, sizeof(s->pt_map));
	for (unsigned j = 0; j < kept; j++) {
		struct wims_sdp_codec *k = &a->codecs[i][j];
		int opt = offered_pt(md, k);
		if (opt < 0)
			continue;
		s->pt_map[al][k->pt] = (uint8_t)opt;
		s->pt_map[ol][opt] = k->pt;
		a->codecs[i][o] = *k;
		a->codecs[i][o++].pt = (uint8_t)opt;
	}
	if (!o) {
		alg__err(err, 488, "the answer has none of the offered codecs");
		return -ENOTSUP;
	}
write:
	om->codecs = a->codecs[i];
	om->n_codecs = o;
	const struct wims_media_tconf *t = &c->conf.t[md->tp[ol]];
	fill_media(a, c, i, ol, md->tp[ol], m, om, f,
		   t->dtls_client ? WIMS_SDP_SETUP_ACTIVE : WIMS_SDP_SETUP_PASSIVE);
	stream_conf(c, i);
	return 0;
}

int alg__answer(struct wims_alg *a, struct alg_call *c, int ol, const struct wims_sdp *sdp,
		const struct wims_mctl_flags *f, struct wims_wbuf *out, struct wims_mctl_err *err)
{
	int rc;
	if (sdp->n_media != c->nmed) {
		alg__err(err, 488, "the answer's m-lines do not match the offer's (RFC 3264 §6)");
		return -EBADMSG;
	}
	if ((rc = wims_sdp_out_from(&a->st, sdp))) {
		alg__err(err, 488, "malformed SDP attribute");
		return rc;
	}
	set_fingerprint(a);
	fill_session(a, c, ol);
	unsigned nb = 0;
	for (unsigned i = 0; i < sdp->n_media; i++) {
		if ((rc = answer_media(a, c, ol, sdp, i, f, err)))
			return rc;
		if (!c->med[i].rejected && c->leg[ol].kind == WIMS_MT_WEBRTC && c->leg[ol].bundle)
			a->bundle[nb++] = wims_str_c(c->med[i].mid[ol]);
	}
	a->st.out.bundle = a->bundle;
	a->st.out.n_bundle = nb;
	return write_out(a, out, err);
}
