/* SDP bytes -> parser, every accessor over each section, then the parsed
 * description through the writer and back through the parser: what the
 * writer accepted must parse again (or hit a count limit only). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdp/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wims_sdp s, s2;
static struct wims_sdp_out_store st;
static struct wims_sdp_codec codecs[WIMS_SDP_MAX_FMTS];
static char out[WIMS_SDP_MAX_SIZE];

static void check_view(struct wims_str v)
{
	if (v.p && (v.p < s.raw.p || v.p + v.l > s.raw.p + s.raw.l))
		abort(); /* every view points into the input */
}

static void typed(const struct wims_sdp_attr *a)
{
	struct wims_str v = a->value.p ? a->value : wims_str_c("");
	union {
		struct wims_sdp_cand c;
		struct wims_sdp_fingerprint f;
		struct wims_sdp_group g;
		struct wims_sdp_rtcp r;
		struct wims_sdp_ssrc x;
		struct wims_sdp_ssrc_group sg;
		struct wims_sdp_msid ms;
		struct wims_sdp_extmap e;
		struct wims_sdp_crypto k;
		struct wims_sdp_precond p;
	} u;

	check_view(a->name);
	check_view(a->value);
	check_view(a->raw);
	if (wims_sdp_cand_parse(v, &u.c) == 0) {
		check_view(u.c.addr);
		check_view(u.c.ext);
		(void)wims_sdp_cand_is_mdns(&u.c);
	}
	if (wims_sdp_fingerprint_parse(v, &u.f) == 0)
		check_view(u.f.value);
	if (wims_sdp_group_parse(v, &u.g) == 0 && u.g.n > WIMS_SDP_MAX_GROUP)
		abort();
	if (wims_sdp_rtcp_parse(v, &u.r) == 0)
		check_view(u.r.addr);
	if (wims_sdp_ssrc_parse(v, &u.x) == 0)
		check_view(u.x.value);
	if (wims_sdp_ssrc_group_parse(v, &u.sg) == 0 && u.sg.n > WIMS_SDP_MAX_SSRC_GROUP)
		abort();
	if (wims_sdp_msid_parse(v, &u.ms) == 0)
		check_view(u.ms.track);
	if (wims_sdp_extmap_parse(v, &u.e) == 0)
		check_view(u.e.params);
	if (wims_sdp_crypto_parse(v, &u.k) == 0)
		check_view(u.k.key);
	if (wims_sdp_precond_parse(v, true, &u.p) == 0)
		check_view(u.p.dir);
	if (wims_sdp_precond_parse(v, false, &u.p) == 0)
		check_view(u.p.dir);
}

static void accessors(const struct wims_sdp_media *m)
{
	static const char *const names[] = {"ice-ufrag", "ice-pwd",  "fingerprint", "setup",
					    "ice-lite",	 "mid",	     "tls-id",	    "extmap-allow-mixed",
					    "rtcp",	 "rtcp-mux", "candidate"};
	const struct wims_sdp_attrs *as = m ? &m->attrs : &s.attrs;
	uint32_t x;
	int n;

	for (unsigned i = 0; i < as->n; i++)
		typed(&as->a[i]);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct wims_sdp_attr *a;
		unsigned it = 0;

		(void)wims_sdp_has(&s, m, names[i]);
		while ((a = wims_sdp_attrs_next(as, names[i], &it)))
			check_view(a->value);
	}
	(void)wims_sdp_attr_u32(&s, m, "ptime", &x);
	(void)wims_sdp_setup_name((enum wims_sdp_setup)wims_sdp_setup(&s, m));
	(void)wims_sdp_dir_name(wims_sdp_direction(&s, m));
	(void)wims_sdp_conn(&s, m);
	if (!m)
		return;
	if (wims_sdp_mid(m).p)
		(void)wims_sdp_media_by_mid(&s, wims_sdp_mid(m));
	n = wims_sdp_codecs(m, codecs, WIMS_SDP_MAX_FMTS);
	if (n > (int)m->n_fmts)
		abort();
	if (n > 0)
		(void)wims_sdp_codec_find(codecs, (unsigned)n, "opus", 48000);
	for (int i = 0; i < n; i++) {
		struct wims_str v;

		if (wims_sdp_fmtp_param(codecs[i].fmtp, "apt", &v) == 0)
			check_view(v);
		check_view(codecs[i].fmtp);
		if (codecs[i].n_rtcp_fb > WIMS_SDP_MAX_RTCP_FB)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wims_sdp_group g;
	struct wims_wbuf b;
	int rc = wims_sdp_parse(&s, (const char *)data, size);

	if (rc != 0) {
		if ((rc != -EBADMSG && rc != -E2BIG) || !s.err)
			abort();
		return 0;
	}
	if (s.n_media > WIMS_SDP_MAX_MEDIA)
		abort();
	accessors(NULL);
	(void)wims_sdp_bundle(&s, &g);
	for (unsigned i = 0; i < s.n_media; i++) {
		if (s.media[i].n_fmts == 0 || s.media[i].attrs.n > WIMS_SDP_MAX_ATTRS)
			abort();
		accessors(&s.media[i]);
	}
	if (wims_sdp_out_from(&st, &s) != 0)
		return 0;
	wims_wbuf_init(&b, out, sizeof(out));
	rc = wims_sdp_write(&b, &st.out);
	if (rc == -ENOSPC && !b.err)
		abort();
	if (rc != 0)
		return 0;
	rc = wims_sdp_parse(&s2, b.p, b.len);
	if (rc != 0 && rc != -E2BIG)
		abort(); /* the writer produced what the parser refuses */
	if (rc == 0 && s2.n_media != s.n_media)
		abort();
	/* a small buffer must fail cleanly */
	wims_wbuf_init(&b, out, size % 256);
	(void)wims_sdp_write(&b, &st.out);
	return 0;
}
