/* The fixture of the transcoding negotiation tests (test_xcode_*.c): a real
 * media engine (1 worker, 127.0.0.1) and the ALG over it, offer/answer runs
 * whose result is parsed back, and checks on its first m-line's codecs.
 * Included by one test file each; its functions are static. */
#ifndef WIMS_TEST_XCODE_FIXTURE_H
#define WIMS_TEST_XCODE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "mediactl/alg.h"
#include "sdp/sdp.h"

#define XF __attribute__((unused)) static

struct fx {
	uv_loop_t loop;
	struct wims_media *m;
	struct wims_alg *a;
	struct wims_mediactl *ctl;
	char out[16384];
	struct wims_sdp sdp;
	struct wims_sdp_codec k[WIMS_SDP_MAX_FMTS];
	unsigned nk;
	struct wims_mctl_err err;
};

XF struct fx *fx_new(const char *prefer)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	struct wims_media_opts mo = {0};
	assert_int_equal(wims_addr_parse(&mo.addr, wims_str_c("127.0.0.1"), 0), 0);
	mo.port_min = 42000;
	mo.port_max = 42999;
	mo.workers = 1;
	mo.max_sessions = 16;
	mo.timeout_s = 60;
	mo.consent_s = 30;
	assert_int_equal(wims_media_new(&f->m, &f->loop, &mo, NULL, NULL), 0);
	struct wims_alg_opts ao = {.max_calls = 8, .transcode = true};
	if (prefer)
		assert_int_equal(wims_codec_pref_parse(&ao.prefer, wims_str_c(prefer), NULL), 0);
	assert_int_equal(wims_alg_new(&f->a, f->m, &ao), 0);
	f->ctl = wims_alg_ctl(f->a);
	return f;
}

XF void fx_free(struct fx *f)
{
	wims_alg_free(f->a);
	wims_media_free(f->m);
	for (int i = 0; i < 10 && uv_run(&f->loop, UV_RUN_NOWAIT); i++)
		;
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
}

/* offer or answer; the result parsed, its first m-line's codecs in f->k.
 * xc: the ng codec -> transcode list ("AMR,AMR-WB"), NULL: the roles' auto mode */
XF int run(struct fx *f, bool answer, const char *cid, const char *from, const char *to,
	       const char *sdp, const char *const *xc)
{
	struct wims_mctl_req r;
	memset(&r, 0, sizeof(r));
	r.call_id = wims_str_c(cid);
	r.from_tag = wims_str_c(from);
	r.to_tag = to ? wims_str_c(to) : WIMS_STR_NULL;
	r.sdp = wims_str_c(sdp);
	r.flags.transcode_auto = !xc;
	for (unsigned i = 0; xc && xc[i]; i++)
		r.flags.codec_offer[r.flags.n_codec_offer++] = wims_str_c(xc[i]);
	struct wims_wbuf b;
	wims_wbuf_init(&b, f->out, sizeof(f->out));
	memset(&f->err, 0, sizeof(f->err));
	int rc = answer ? f->ctl->ops->answer(f->ctl->impl, &r, &b, &f->err)
			: f->ctl->ops->offer(f->ctl->impl, &r, &b, &f->err);
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
	if (rc)
		return rc;
	assert_false(b.err);
	assert_int_equal(wims_sdp_parse(&f->sdp, f->out, b.len), 0);
	int n = wims_sdp_codecs(&f->sdp.media[0], f->k, WIMS_SDP_MAX_FMTS);
	assert_true(n > 0);
	f->nk = (unsigned)n;
	return 0;
}

XF int pt_of(const struct fx *f, const char *enc)
{
	for (unsigned i = 0; i < f->nk; i++)
		if (wims_str_eqic(f->k[i].enc, enc))
			return f->k[i].pt;
	return -1;
}

XF void names_are(const struct fx *f, const char *const *want)
{
	unsigned n = 0;
	for (; want[n]; n++) {
		assert_true(n < f->nk);
		if (!wims_str_eqic(f->k[n].enc, want[n])) {
			fprintf(stderr, "codec %u: %.*s, want %s\n", n, (int)f->k[n].enc.l, f->k[n].enc.p, want[n]);
			fail();
		}
	}
	assert_int_equal(n, f->nk);
}

#endif
