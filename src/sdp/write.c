/* SDP writer: a description (struct wims_sdp_out) -> CRLF lines in a bounded
 * buffer.  Output is deterministic: the same description gives the same
 * bytes.  Per m= section the order is
 *   m= c= b= a=rtcp ICE(ufrag pwd options) DTLS(fingerprint setup tls-id)
 *   a=mid direction rtcp-mux rtcp-mux-only rtcp-rsize
 *   per codec (rtpmap fmtp rtcp-fb) ptime maxptime crypto
 *   raw attributes, candidates, end-of-candidates
 * Strings are checked for CR/LF/NUL so that no caller value can inject a
 * line; no line exceeds WIMS_SDP_MAX_LINE. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "sdp/sdp.h"

struct w {
	struct wims_wbuf *b;
	size_t ls; /* offset where the current line starts */
	int err;
};

static void setf(struct w *w, int err)
{
	if (!w->err)
		w->err = err;
}

/* Free text: anything but CR, LF and NUL. */
static void put(struct w *w, struct wims_str s)
{
	for (size_t i = 0; i < s.l; i++)
		if (s.p[i] == '\r' || s.p[i] == '\n' || s.p[i] == '\0') {
			setf(w, -EINVAL);
			return;
		}
	wims_wbuf_putstr(w->b, s);
}

/* A token: non-empty, no space either (it is one field of a line). */
static void tok(struct w *w, struct wims_str s)
{
	if (s.l == 0 || memchr(s.p, ' ', s.l) || memchr(s.p, '\t', s.l)) {
		setf(w, -EINVAL);
		return;
	}
	put(w, s);
}

static void begin(struct w *w, const char *prefix)
{
	w->ls = w->b->len;
	wims_wbuf_puts(w->b, prefix);
}

static void end(struct w *w)
{
	if (!w->b->err && w->b->len - w->ls > WIMS_SDP_MAX_LINE)
		setf(w, -E2BIG);
	wims_wbuf_put(w->b, "\r\n", 2);
}

/* "a=<name>:<value>" with a free-text value. */
static void attr_line(struct w *w, const char *name, struct wims_str v)
{
	begin(w, "a=");
	wims_wbuf_puts(w->b, name);
	wims_wbuf_put(w->b, ":", 1);
	put(w, v);
	end(w);
}

static void flag_line(struct w *w, const char *name)
{
	begin(w, "a=");
	wims_wbuf_puts(w->b, name);
	end(w);
}

static void addr(struct w *w, const struct wims_sdp_out_addr *a)
{
	wims_wbuf_puts(w->b, a->ip6 ? "IN IP6 " : "IN IP4 ");
	tok(w, a->addr);
}

static void bw_lines(struct w *w, const struct wims_sdp_bw *bw, unsigned n)
{
	if (n > WIMS_SDP_MAX_BW) {
		setf(w, -E2BIG);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		begin(w, "b=");
		tok(w, bw[i].type);
		wims_wbuf_printf(w->b, ":%" PRIu32, bw[i].value);
		end(w);
	}
}

static void raw_lines(struct w *w, const struct wims_str *attrs, unsigned n)
{
	if (n > WIMS_SDP_MAX_ATTRS) {
		setf(w, -E2BIG);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		if (attrs[i].l == 0) {
			setf(w, -EINVAL);
			continue;
		}
		begin(w, "a=");
		put(w, attrs[i]);
		end(w);
	}
}

static void write_session(struct w *w, const struct wims_sdp_out *o)
{
	if (!o->o_addr.addr.p)
		setf(w, -EINVAL);
	begin(w, "v=0");
	end(w);
	begin(w, "o=");
	tok(w, o->o_user.l ? o->o_user : wims_str_c("-"));
	wims_wbuf_put(w->b, " ", 1);
	if (o->sess_id_s.p)
		tok(w, o->sess_id_s);
	else
		wims_wbuf_printf(w->b, "%" PRIu64, o->sess_id);
	wims_wbuf_put(w->b, " ", 1);
	if (o->sess_version_s.p)
		tok(w, o->sess_version_s);
	else
		wims_wbuf_printf(w->b, "%" PRIu64, o->sess_version);
	wims_wbuf_put(w->b, " ", 1);
	addr(w, &o->o_addr);
	end(w);
	begin(w, "s=");
	put(w, o->name.l ? o->name : wims_str_c("-"));
	end(w);
	if (o->c.addr.p) {
		begin(w, "c=");
		addr(w, &o->c);
		end(w);
	}
	bw_lines(w, o->bw, o->n_bw);
	begin(w, "t=0 0");
	end(w);
	if (o->ice_lite)
		flag_line(w, "ice-lite");
	if (o->n_bundle > WIMS_SDP_MAX_GROUP)
		setf(w, -E2BIG);
	else if (o->n_bundle) {
		begin(w, "a=group:BUNDLE");
		for (unsigned i = 0; i < o->n_bundle; i++) {
			wims_wbuf_put(w->b, " ", 1);
			tok(w, o->bundle[i]);
		}
		end(w);
	}
	if (o->msid_semantic.p)
		attr_line(w, "msid-semantic", o->msid_semantic);
	raw_lines(w, o->attrs, o->n_attrs);
}

static void mline(struct w *w, const struct wims_sdp_out_media *m)
{
	if (m->n_codecs > WIMS_SDP_MAX_FMTS || m->n_fmts > WIMS_SDP_MAX_FMTS) {
		setf(w, -E2BIG);
		return;
	}
	begin(w, "m=");
	tok(w, m->type);
	wims_wbuf_printf(w->b, " %u", m->rejected ? 0u : (unsigned)m->port);
	if (m->nports > 1 && !m->rejected)
		wims_wbuf_printf(w->b, "/%u", (unsigned)m->nports);
	wims_wbuf_put(w->b, " ", 1);
	tok(w, m->proto);
	for (unsigned i = 0; i < m->n_codecs; i++)
		wims_wbuf_printf(w->b, " %u", (unsigned)m->codecs[i].pt);
	for (unsigned i = 0; !m->n_codecs && i < m->n_fmts; i++) {
		wims_wbuf_put(w->b, " ", 1);
		tok(w, m->fmts[i]);
	}
	if (!m->n_codecs && !m->n_fmts)
		wims_wbuf_puts(w->b, " 0");
	end(w);
}

static void codec_lines(struct w *w, const struct wims_sdp_codec *c)
{
	if (c->pt > 127 || c->n_rtcp_fb > WIMS_SDP_MAX_RTCP_FB) {
		setf(w, -EINVAL);
		return;
	}
	if (c->enc.l) {
		if (c->clock == 0)
			setf(w, -EINVAL);
		begin(w, "a=rtpmap:");
		wims_wbuf_printf(w->b, "%u ", (unsigned)c->pt);
		tok(w, c->enc);
		wims_wbuf_printf(w->b, "/%" PRIu32, c->clock);
		if (c->channels > 1)
			wims_wbuf_printf(w->b, "/%u", (unsigned)c->channels);
		end(w);
	}
	if (c->fmtp.l) {
		begin(w, "a=fmtp:");
		wims_wbuf_printf(w->b, "%u ", (unsigned)c->pt);
		put(w, c->fmtp);
		end(w);
	}
	for (unsigned i = 0; i < c->n_rtcp_fb; i++) {
		begin(w, "a=rtcp-fb:");
		wims_wbuf_printf(w->b, "%u ", (unsigned)c->pt);
		put(w, c->rtcp_fb[i]);
		end(w);
	}
}

static void cand_line(struct w *w, const struct wims_sdp_cand *c)
{
	begin(w, "a=candidate:");
	tok(w, c->foundation);
	wims_wbuf_printf(w->b, " %u ", (unsigned)c->component);
	tok(w, c->transport);
	wims_wbuf_printf(w->b, " %" PRIu32 " ", c->priority);
	tok(w, c->addr);
	wims_wbuf_printf(w->b, " %u typ ", (unsigned)c->port);
	tok(w, c->type.l ? c->type : wims_str_c("host"));
	if (c->raddr.l) {
		wims_wbuf_puts(w->b, " raddr ");
		tok(w, c->raddr);
		wims_wbuf_printf(w->b, " rport %u", (unsigned)c->rport);
	}
	if (c->tcptype.l) {
		wims_wbuf_puts(w->b, " tcptype ");
		tok(w, c->tcptype);
	}
	if (c->ext.l) {
		wims_wbuf_put(w->b, " ", 1);
		put(w, c->ext);
	}
	end(w);
}

static void ice_dtls(struct w *w, const struct wims_sdp_out_media *m)
{
	if (m->ice_ufrag.p) {
		begin(w, "a=ice-ufrag:");
		tok(w, m->ice_ufrag);
		end(w);
	}
	if (m->ice_pwd.p) {
		begin(w, "a=ice-pwd:");
		tok(w, m->ice_pwd);
		end(w);
	}
	if (m->ice_options.p)
		attr_line(w, "ice-options", m->ice_options);
	if (m->n_fps > WIMS_SDP_MAX_ATTRS || m->n_cryptos > WIMS_SDP_MAX_ATTRS ||
	    m->n_cands > WIMS_SDP_MAX_ATTRS) {
		setf(w, -E2BIG);
		return;
	}
	for (unsigned i = 0; i < m->n_fps; i++) {
		begin(w, "a=fingerprint:");
		tok(w, m->fps[i].hash);
		wims_wbuf_put(w->b, " ", 1);
		tok(w, m->fps[i].value);
		end(w);
	}
	if (m->setup != WIMS_SDP_SETUP_NONE) {
		const char *n = wims_sdp_setup_name(m->setup);

		if (!n)
			setf(w, -EINVAL);
		else
			attr_line(w, "setup", wims_str_c(n));
	}
	if (m->tls_id.p) {
		begin(w, "a=tls-id:");
		tok(w, m->tls_id);
		end(w);
	}
}

static void media_flags(struct w *w, const struct wims_sdp_out_media *m)
{
	if (m->dir != WIMS_SDP_DIR_UNSET) {
		const char *n = wims_sdp_dir_name(m->dir);

		if (!n)
			setf(w, -EINVAL);
		else
			flag_line(w, n);
	}
	if (m->rtcp_mux)
		flag_line(w, "rtcp-mux");
	if (m->rtcp_mux_only)
		flag_line(w, "rtcp-mux-only");
	if (m->rtcp_rsize)
		flag_line(w, "rtcp-rsize");
}

/* Every count is checked before any array is read. */
static bool counts_ok(const struct wims_sdp_out_media *m)
{
	return m->n_codecs <= WIMS_SDP_MAX_FMTS && m->n_fmts <= WIMS_SDP_MAX_FMTS &&
	       m->n_bw <= WIMS_SDP_MAX_BW && m->n_cands <= WIMS_SDP_MAX_ATTRS &&
	       m->n_fps <= WIMS_SDP_MAX_ATTRS && m->n_cryptos <= WIMS_SDP_MAX_ATTRS &&
	       m->n_attrs <= WIMS_SDP_MAX_ATTRS;
}

static void write_media(struct w *w, const struct wims_sdp_out *o, const struct wims_sdp_out_media *m)
{
	if (!counts_ok(m)) {
		setf(w, -E2BIG);
		return;
	}
	mline(w, m);
	if (m->c.addr.p && (!o->c.addr.p || m->c.ip6 != o->c.ip6 || !wims_str_eq(m->c.addr, o->c.addr))) {
		begin(w, "c=");
		addr(w, &m->c);
		end(w);
	}
	if (m->rejected) {
		if (m->mid.p) {
			begin(w, "a=mid:");
			tok(w, m->mid);
			end(w);
		}
		return;
	}
	bw_lines(w, m->bw, m->n_bw);
	if (m->rtcp_port) {
		begin(w, "a=rtcp:");
		wims_wbuf_printf(w->b, "%u", (unsigned)m->rtcp_port);
		if (m->rtcp_addr.addr.p) {
			wims_wbuf_put(w->b, " ", 1);
			addr(w, &m->rtcp_addr);
		}
		end(w);
	}
	ice_dtls(w, m);
	if (m->mid.p) {
		begin(w, "a=mid:");
		tok(w, m->mid);
		end(w);
	}
	media_flags(w, m);
	for (unsigned i = 0; i < m->n_codecs; i++)
		codec_lines(w, &m->codecs[i]);
	if (m->ptime)
		wims_wbuf_printf(w->b, "a=ptime:%" PRIu32 "\r\n", m->ptime);
	if (m->maxptime)
		wims_wbuf_printf(w->b, "a=maxptime:%" PRIu32 "\r\n", m->maxptime);
	for (unsigned i = 0; i < m->n_cryptos; i++) {
		const struct wims_sdp_crypto *c = &m->cryptos[i];

		begin(w, "a=crypto:");
		wims_wbuf_printf(w->b, "%" PRIu32 " ", c->tag);
		tok(w, c->suite);
		wims_wbuf_put(w->b, " ", 1);
		tok(w, c->key_params);
		if (c->session_params.l) {
			wims_wbuf_put(w->b, " ", 1);
			put(w, c->session_params);
		}
		end(w);
	}
	raw_lines(w, m->attrs, m->n_attrs);
	for (unsigned i = 0; i < m->n_cands; i++)
		cand_line(w, &m->cands[i]);
	if (m->end_of_candidates)
		flag_line(w, "end-of-candidates");
}

int wims_sdp_write(struct wims_wbuf *b, const struct wims_sdp_out *o)
{
	struct w w = {.b = b};

	if (o->n_media > WIMS_SDP_MAX_MEDIA || o->n_attrs > WIMS_SDP_MAX_ATTRS || o->n_bw > WIMS_SDP_MAX_BW ||
	    o->n_bundle > WIMS_SDP_MAX_GROUP)
		return -E2BIG;
	write_session(&w, o);
	for (unsigned i = 0; i < o->n_media && !w.err && !b->err; i++)
		write_media(&w, o, &o->media[i]);
	if (w.err)
		return w.err;
	return b->err ? -ENOSPC : 0;
}
