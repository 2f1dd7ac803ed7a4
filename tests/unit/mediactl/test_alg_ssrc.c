/* a=ssrc toward a browser: the IMS-ALG announces, in every SDP it sends a
 * WebRTC leg whose other leg is IMS, the SSRC the engine gives what it
 * sends there (one per m-line, with the call's CNAME), stable across
 * re-offers; none toward IMS.  Chromium demuxes bundled media by that SSRC
 * (its demux of unsignalled SSRCs by payload type is lost after some
 * re-offers: a recvonly video re-offer stalled the audio). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mediactl/alg.h"
#include "sdp/sdp.h"

#define WEB_MEDIA(kind, port, pts, mid)                                                                      \
	"m=" kind " " port " UDP/TLS/RTP/SAVPF " pts "\r\n"                                                  \
	"c=IN IP4 0.0.0.0\r\n"                                                                               \
	"a=candidate:1 1 udp 2122260223 127.0.0.1 54400 typ host\r\n"                                        \
	"a=ice-ufrag:Chr1\r\n"                                                                               \
	"a=ice-pwd:chromepassword0123456789\r\n"                                                             \
	"a=fingerprint:sha-256 "                                                                             \
	"7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n" \
	"a=setup:actpass\r\n"                                                                                \
	"a=mid:" mid "\r\n"                                                                                  \
	"a=rtcp-mux\r\n"

/* a browser offer: audio (opus, PCMU) and video (VP8 + its RTX), bundled,
 * each with its own a=ssrc (which must not reach IMS) */
static const char web_offer_fmt[] = "v=0\r\n"
				    "o=- 4611731400430051336 %u IN IP4 127.0.0.1\r\n"
				    "s=-\r\n"
				    "t=0 0\r\n"
				    "a=group:BUNDLE 0 1\r\n" WEB_MEDIA("audio", "9", "111 0", "0") "a=%s\r\n"
				    "a=rtpmap:111 opus/48000/2\r\n"
				    "a=rtpmap:0 PCMU/8000\r\n"
				    "a=ssrc:1111 cname:browser\r\n" WEB_MEDIA("video", "9", "96 97", "1") "a=%s\r\n"
				    "a=rtpmap:96 VP8/90000\r\n"
				    "a=rtcp-fb:96 nack pli\r\n"
				    "a=rtpmap:97 rtx/90000\r\n"
				    "a=fmtp:97 apt=96\r\n"
				    "a=ssrc-group:FID 2222 3333\r\n"
				    "a=ssrc:2222 cname:browser\r\n"
				    "a=ssrc:3333 cname:browser\r\n";

static const char ims_answer[] = "v=0\r\n"
				 "o=ims 1000 1000 IN IP4 127.0.0.1\r\n"
				 "s=-\r\n"
				 "c=IN IP4 127.0.0.1\r\n"
				 "t=0 0\r\n"
				 "m=audio 40010 RTP/AVP 0\r\n"
				 "a=rtpmap:0 PCMU/8000\r\n"
				 "m=video 40012 RTP/AVP 96\r\n"
				 "a=rtpmap:96 VP8/90000\r\n"
				 "a=rtcp-fb:96 nack pli\r\n";

static const char ims_offer[] = "v=0\r\n"
				"o=- 2890844526 2890844526 IN IP4 127.0.0.1\r\n"
				"s=-\r\n"
				"c=IN IP4 127.0.0.1\r\n"
				"t=0 0\r\n"
				"m=audio 40020 RTP/AVP 0\r\n"
				"a=rtpmap:0 PCMU/8000\r\n"
				"a=ssrc:4444 cname:ims\r\n";

static const char web_answer[] = "v=0\r\n"
				 "o=- 77 2 IN IP4 127.0.0.1\r\n"
				 "s=-\r\n"
				 "t=0 0\r\n"
				 "a=group:BUNDLE 0\r\n"
				 "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"
				 "c=IN IP4 0.0.0.0\r\n"
				 "a=candidate:1 1 udp 2122260223 127.0.0.1 50002 typ host\r\n"
				 "a=ice-ufrag:ans1\r\n"
				 "a=ice-pwd:answerpassword0123456789\r\n"
				 "a=fingerprint:sha-256 "
				 "7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:"
				 "A1:58:D0:A1:2C:19:08\r\n"
				 "a=setup:active\r\n"
				 "a=mid:0\r\n"
				 "a=rtcp-mux\r\n"
				 "a=rtpmap:0 PCMU/8000\r\n"
				 "a=ssrc:999 cname:x\r\n";

struct fx {
	uv_loop_t loop;
	struct wims_media *m;
	struct wims_alg *a;
	struct wims_mediactl *ctl;
	char in[4096];
	char out[16384];
	struct wims_sdp sdp; /* the last produced SDP, parsed */
	struct wims_mctl_err err;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	struct wims_media_opts mo = {0};
	assert_int_equal(wims_addr_parse(&mo.addr, wims_str_c("127.0.0.1"), 0), 0);
	mo.port_min = 44000;
	mo.port_max = 44999;
	mo.workers = 1;
	mo.max_sessions = 16;
	mo.timeout_s = 60;
	mo.consent_s = 30;
	assert_int_equal(wims_media_new(&f->m, &f->loop, &mo, NULL, NULL), 0);
	struct wims_alg_opts ao = {.max_calls = 4};
	assert_int_equal(wims_alg_new(&f->a, f->m, &ao), 0);
	f->ctl = wims_alg_ctl(f->a);
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	wims_alg_free(f->a);
	wims_media_free(f->m);
	for (int i = 0; i < 10 && uv_run(&f->loop, UV_RUN_NOWAIT); i++)
		;
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

/* offer (answer=false) or answer; the result is parsed in f->sdp */
static void run(struct fx *f, bool answer, const char *cid, const char *from, const char *to, const char *sdp)
{
	struct wims_mctl_req r;
	memset(&r, 0, sizeof(r));
	r.call_id = wims_str_c(cid);
	r.from_tag = wims_str_c(from);
	r.to_tag = to ? wims_str_c(to) : WIMS_STR_NULL;
	r.sdp = wims_str_c(sdp);
	struct wims_wbuf b;
	wims_wbuf_init(&b, f->out, sizeof(f->out));
	memset(&f->err, 0, sizeof(f->err));
	int rc = answer ? f->ctl->ops->answer(f->ctl->impl, &r, &b, &f->err)
			: f->ctl->ops->offer(f->ctl->impl, &r, &b, &f->err);
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(rc, 0);
	assert_false(b.err);
	assert_int_equal(wims_sdp_parse(&f->sdp, f->out, b.len), 0);
}

static const char *web_offer(struct fx *f, unsigned version, const char *audio_dir, const char *video_dir)
{
	int n = snprintf(f->in, sizeof(f->in), web_offer_fmt, version, audio_dir, video_dir);
	assert_true(n > 0 && (size_t)n < sizeof(f->in));
	return f->in;
}

/* The a=ssrc of m-line i: its SSRC (0 without), its cname in cname[] */
static uint32_t ssrc_of(const struct fx *f, unsigned i, char *cname, size_t cap)
{
	const struct wims_sdp_media *m = &f->sdp.media[i];
	const struct wims_sdp_attr *a = wims_sdp_attr(&f->sdp, m, "ssrc");
	if (!a)
		return 0;
	/* a single a=ssrc per m-line */
	unsigned n = 0;
	for (unsigned j = 0; j < m->attrs.n; j++)
		n += wims_str_eqc(m->attrs.a[j].name, "ssrc");
	assert_int_equal(n, 1);
	char v[96];
	assert_true(a->value.l < sizeof(v));
	memcpy(v, a->value.p, a->value.l);
	v[a->value.l] = 0;
	char *end = NULL;
	unsigned long s = strtoul(v, &end, 10);
	assert_true(end && end > v && s > 0 && s <= 0xffffffffu);
	assert_true(strncmp(end, " cname:wims-", 12) == 0);
	assert_int_equal(strlen(end + 7), 21); /* "wims-" + 16 hex digits */
	snprintf(cname, cap, "%s", end + 7);
	return (uint32_t)s;
}

static void no_ssrc(const struct fx *f)
{
	for (unsigned i = 0; i < f->sdp.n_media; i++) {
		assert_null(wims_sdp_attr(&f->sdp, &f->sdp.media[i], "ssrc"));
		assert_null(wims_sdp_attr(&f->sdp, &f->sdp.media[i], "ssrc-group"));
	}
}

/* browser offer -> IMS; IMS answer -> browser: a=ssrc in the answer only,
 * one per m-line, the same after re-offers (hold, recvonly video, resume) */
static void test_browser_offer(void **state)
{
	struct fx *f = *state;
	char c0[32], c1[32], c[32];
	run(f, false, "s1", "ft", NULL, web_offer(f, 2, "sendrecv", "sendrecv"));
	assert_int_equal(f->sdp.n_media, 2);
	no_ssrc(f);
	run(f, true, "s1", "ft", "tt", ims_answer);
	assert_int_equal(f->sdp.n_media, 2);
	uint32_t sa = ssrc_of(f, 0, c0, sizeof(c0)), sv = ssrc_of(f, 1, c1, sizeof(c1));
	assert_int_not_equal(sa, 0);
	assert_int_not_equal(sv, 0);
	assert_int_not_equal(sa, sv);
	assert_int_not_equal(sa, 1111);
	assert_string_equal(c0, c1); /* one CNAME per call (RFC 7022) */
	assert_non_null(wims_sdp_attr(&f->sdp, &f->sdp.media[0], "msid"));
	/* re-offers: the same SSRCs */
	const char *dirs[][2] = {{"sendrecv", "recvonly"}, {"sendonly", "inactive"}, {"sendrecv", "sendrecv"}};
	for (unsigned k = 0; k < 3; k++) {
		run(f, false, "s1", "ft", "tt", web_offer(f, 3 + k, dirs[k][0], dirs[k][1]));
		no_ssrc(f);
		run(f, true, "s1", "ft", "tt", ims_answer);
		assert_int_equal(ssrc_of(f, 0, c, sizeof(c)), sa);
		assert_string_equal(c, c0);
		assert_int_equal(ssrc_of(f, 1, c, sizeof(c)), sv);
	}
	/* another call: other SSRCs */
	run(f, false, "s2", "ft2", NULL, web_offer(f, 2, "sendrecv", "sendrecv"));
	run(f, true, "s2", "ft2", "tt2", ims_answer);
	assert_int_not_equal(ssrc_of(f, 0, c, sizeof(c)), sa);
	assert_string_not_equal(c, c0);
}

/* IMS offer -> browser: a=ssrc in the offer; the browser's answer -> IMS
 * without; an IMS re-offer keeps it */
static void test_ims_offer(void **state)
{
	struct fx *f = *state;
	char c0[32], c[32];
	run(f, false, "s3", "ims", NULL, ims_offer);
	assert_int_equal(f->sdp.n_media, 1);
	uint32_t sa = ssrc_of(f, 0, c0, sizeof(c0));
	assert_int_not_equal(sa, 0);
	assert_int_not_equal(sa, 4444);
	run(f, true, "s3", "ims", "web", web_answer);
	no_ssrc(f);
	char *re = strdup(ims_offer);
	assert_non_null(re);
	memcpy(strstr(re, "2890844526 IN"), "2890844527", 10);
	run(f, false, "s3", "ims", "web", re);
	free(re);
	assert_int_equal(ssrc_of(f, 0, c, sizeof(c)), sa);
	assert_string_equal(c, c0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_browser_offer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ims_offer, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
