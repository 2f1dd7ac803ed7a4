/* A parsed SDP described as a wims_sdp_out: the starting point of a
 * rewrite (change what differs, keep the rest) and of round-trip tests. */
#include <errno.h>
#include <string.h>

#include "sdp/sdp.h"
#include "sdp/sdp_int.h"

static struct wims_sdp_out_addr out_addr(const struct wims_sdp_conn *c)
{
	return (struct wims_sdp_out_addr){wims_str_eqic(c->addrtype, "IP6"), c->addr};
}

/* Attributes the writer expresses itself; the rest goes out verbatim. */
static const char *const MEDIA_KNOWN[] = {
    "rtpmap",	  "fmtp",    "rtcp-fb",	    "rtcp",	 "rtcp-mux",	      "rtcp-mux-only",
    "rtcp-rsize", "mid",     "sendrecv",    "sendonly",	 "recvonly",	      "inactive",
    "ice-ufrag",  "ice-pwd", "ice-options", "candidate", "end-of-candidates", "fingerprint",
    "setup",	  "tls-id",  "crypto",	    "ptime",	 "maxptime",
};

static bool media_known(const struct wims_sdp_attr *a)
{
	for (size_t i = 0; i < sizeof(MEDIA_KNOWN) / sizeof(MEDIA_KNOWN[0]); i++)
		if (wims_str_eqic(a->name, MEDIA_KNOWN[i]))
			return true;
	return false;
}

static struct wims_str val_of(const struct wims_sdp *s, const struct wims_sdp_media *m, const char *name)
{
	const struct wims_sdp_attr *a = wims_sdp_attr(s, m, name);

	return a && a->value.p ? wims_str_trim(a->value) : WIMS_STR_NULL;
}

static int media_lists(struct wims_sdp_out_media *om, struct wims_sdp_out_mstore *ms,
		       const struct wims_sdp_media *m)
{
	for (unsigned i = 0; i < m->attrs.n; i++) {
		const struct wims_sdp_attr *a = &m->attrs.a[i];
		struct wims_str v = a->value.p ? a->value : wims_str_c("");

		if (wims_str_eqic(a->name, "candidate")) {
			if (wims_sdp_cand_parse(v, &ms->cands[om->n_cands]) != 0)
				return -EBADMSG;
			om->n_cands++;
		} else if (wims_str_eqic(a->name, "fingerprint")) {
			if (wims_sdp_fingerprint_parse(v, &ms->fps[om->n_fps]) != 0)
				return -EBADMSG;
			om->n_fps++;
		} else if (wims_str_eqic(a->name, "crypto")) {
			if (wims_sdp_crypto_parse(v, &ms->cryptos[om->n_cryptos]) != 0)
				return -EBADMSG;
			om->n_cryptos++;
		} else if (wims_str_eqic(a->name, "end-of-candidates")) {
			om->end_of_candidates = true;
		} else if (!media_known(a)) {
			ms->attrs[om->n_attrs++] = a->raw;
		}
	}
	return 0;
}

static int media_scalars(struct wims_sdp_out_media *om, const struct wims_sdp *s,
			 const struct wims_sdp_media *m)
{
	const struct wims_sdp_attr *a;
	int setup;

	if ((a = wims_sdp_attrs_find(&m->attrs, "rtcp"))) {
		struct wims_sdp_rtcp r;

		if (!a->value.p || wims_sdp_rtcp_parse(a->value, &r) != 0)
			return -EBADMSG;
		om->rtcp_port = r.port;
		if (r.addr.p)
			om->rtcp_addr = (struct wims_sdp_out_addr){wims_str_eqic(r.addrtype, "IP6"), r.addr};
	}
	om->rtcp_mux = wims_sdp_attrs_find(&m->attrs, "rtcp-mux") != NULL;
	om->rtcp_mux_only = wims_sdp_attrs_find(&m->attrs, "rtcp-mux-only") != NULL;
	om->rtcp_rsize = wims_sdp_attrs_find(&m->attrs, "rtcp-rsize") != NULL;
	om->mid = wims_sdp_mid(m);
	om->ice_ufrag = val_of(s, m, "ice-ufrag");
	om->ice_pwd = val_of(s, m, "ice-pwd");
	om->ice_options = val_of(s, m, "ice-options");
	om->tls_id = val_of(s, m, "tls-id");
	setup = wims_sdp_setup(s, m);
	if (setup < 0)
		return setup;
	om->setup = (enum wims_sdp_setup)setup;
	if (wims_sdp_attrs_find(&m->attrs, "ptime") && wims_sdp_attr_u32(s, m, "ptime", &om->ptime) != 0)
		return -EBADMSG;
	if (wims_sdp_attrs_find(&m->attrs, "maxptime") &&
	    wims_sdp_attr_u32(s, m, "maxptime", &om->maxptime) != 0)
		return -EBADMSG;
	for (unsigned i = 0; i < m->attrs.n; i++)
		for (int d = WIMS_SDP_DIR_SENDRECV; d <= WIMS_SDP_DIR_INACTIVE; d++)
			if (!m->attrs.a[i].value.p && wims_str_eqic(m->attrs.a[i].name, wims_sdp_dir_name(d)))
				om->dir = (enum wims_sdp_dir)d;
	return 0;
}

static int media_from(struct wims_sdp_out_media *om, struct wims_sdp_out_mstore *ms, const struct wims_sdp *s,
		      const struct wims_sdp_media *m)
{
	int rc;

	*om = (struct wims_sdp_out_media){
	    .type = m->type,
	    .port = m->port,
	    .nports = m->nports,
	    .proto = m->proto,
	    .bw = m->bw,
	    .n_bw = m->n_bw,
	    .codecs = ms->codecs,
	    .fmts = ms->fmts,
	    .cands = ms->cands,
	    .fps = ms->fps,
	    .cryptos = ms->cryptos,
	    .attrs = ms->attrs,
	};
	if (m->c.addr.p)
		om->c = out_addr(&m->c);
	rc = wims_sdp_codecs(m, ms->codecs, WIMS_SDP_MAX_FMTS);
	if (rc < 0)
		return rc;
	om->n_codecs = (unsigned)rc;
	if (rc == 0) {
		memcpy(ms->fmts, m->fmts, sizeof(m->fmts[0]) * m->n_fmts);
		om->n_fmts = m->n_fmts;
	}
	rc = media_lists(om, ms, m);
	if (rc)
		return rc;
	/* session-level fingerprints apply to every m= without its own */
	for (unsigned i = 0; om->n_fps == 0 && i < s->attrs.n; i++) {
		const struct wims_sdp_attr *a = &s->attrs.a[i];

		if (!wims_str_eqic(a->name, "fingerprint"))
			continue;
		if (!a->value.p || wims_sdp_fingerprint_parse(a->value, &ms->fps[om->n_fps]) != 0)
			return -EBADMSG;
		om->n_fps++;
	}
	return media_scalars(om, s, m);
}

/* Session attributes moved into the m= sections or written by name. */
static const char *const SESSION_KNOWN[] = {
    "ice-lite", "msid-semantic", "ice-ufrag", "ice-pwd", "ice-options", "fingerprint", "setup", "tls-id",
};

static bool session_known(const struct wims_sdp_attr *a, const struct wims_sdp_attr *bundle)
{
	if (a == bundle)
		return true;
	for (size_t i = 0; i < sizeof(SESSION_KNOWN) / sizeof(SESSION_KNOWN[0]); i++)
		if (wims_str_eqic(a->name, SESSION_KNOWN[i]))
			return true;
	return false;
}

static const struct wims_sdp_attr *bundle_attr(const struct wims_sdp *s)
{
	const struct wims_sdp_attr *a;
	unsigned it = 0;

	while ((a = wims_sdp_attrs_next(&s->attrs, "group", &it))) {
		struct wims_str v = a->value, sem;

		if (v.p && wims_sdp__tok(&v, &sem) && wims_str_eqic(sem, "BUNDLE"))
			return a;
	}
	return NULL;
}

int wims_sdp_out_from(struct wims_sdp_out_store *st, const struct wims_sdp *s)
{
	struct wims_sdp_out *o = &st->out;
	const struct wims_sdp_attr *bundle = bundle_attr(s);
	const struct wims_sdp_attr *ms = wims_sdp_attrs_find(&s->attrs, "msid-semantic");

	*o = (struct wims_sdp_out){
	    .o_user = s->o.username,
	    .sess_id_s = s->o.sess_id,
	    .sess_version_s = s->o.sess_version,
	    .o_addr = {wims_str_eqic(s->o.addrtype, "IP6"), s->o.addr},
	    .name = s->name,
	    .bw = s->bw,
	    .n_bw = s->n_bw,
	    .bundle = st->bundle,
	    .attrs = st->attrs,
	    .media = st->media,
	    .ice_lite = wims_sdp_attrs_find(&s->attrs, "ice-lite") != NULL,
	};
	if (s->c.addr.p)
		o->c = out_addr(&s->c);
	if (ms)
		o->msid_semantic = ms->value.p ? ms->value : wims_str_c("");
	if (bundle) {
		struct wims_sdp_group g;
		int rc = wims_sdp_group_parse(bundle->value, &g);

		if (rc)
			return rc;
		memcpy(st->bundle, g.mids, sizeof(g.mids[0]) * g.n);
		o->n_bundle = g.n;
	}
	for (unsigned i = 0; i < s->attrs.n; i++)
		if (!session_known(&s->attrs.a[i], bundle))
			st->attrs[o->n_attrs++] = s->attrs.a[i].raw;
	for (unsigned i = 0; i < s->n_media; i++) {
		int rc = media_from(&st->media[i], &st->m[i], s, &s->media[i]);

		if (rc)
			return rc;
	}
	o->n_media = s->n_media;
	return 0;
}
