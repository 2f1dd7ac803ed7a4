/* The in-process IMS-ALG over a real media engine (1 worker, 127.0.0.1):
 * offer/answer in both directions with browser and IMS SDPs as they are
 * seen on the wire, re-offers (hold, ICE restart, tls-id), payload type
 * renumbering, errors and the call table.  Every produced SDP is parsed
 * back and checked attribute by attribute. */
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

#define CHROME_FP                                                                                            \
	"7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08"

/* Chrome (Unified Plan, BUNDLE, mDNS candidate), trimmed to what fits the
 * parser's per-section attribute limit. */
static const char chrome_offer[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS stream1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:1467250027 1 udp 2122260223 4c1f3ab6-8e2d-4a3e-9f7c-1b2d3e4f5a6b.local 54400 typ host "
    "generation 0 network-id 1\r\n"
    "a=ice-ufrag:Chr1\r\n"
    "a=ice-pwd:chromepassword0123456789\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=sendrecv\r\n"
    "a=msid:stream1 audiotrack1\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "a=fmtp:63 111/111\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:13 CN/8000\r\n"
    "a=rtpmap:110 telephone-event/48000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
    "a=ssrc:1111 cname:abcdEFGHijkl\r\n"
    "a=ssrc:1111 msid:stream1 audiotrack1\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 116 117 118\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Chr1\r\n"
    "a=ice-pwd:chromepassword0123456789\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n"
    "a=setup:actpass\r\n"
    "a=mid:1\r\n"
    "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:13 urn:3gpp:video-orientation\r\n"
    "a=sendrecv\r\n"
    "a=msid:stream1 videotrack1\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 goog-remb\r\n"
    "a=rtcp-fb:96 transport-cc\r\n"
    "a=rtcp-fb:96 ccm fir\r\n"
    "a=rtcp-fb:96 nack\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=rtpmap:98 H264/90000\r\n"
    "a=rtcp-fb:98 nack pli\r\n"
    "a=fmtp:98 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:99 rtx/90000\r\n"
    "a=fmtp:99 apt=98\r\n"
    "a=rtpmap:116 red/90000\r\n"
    "a=rtpmap:117 rtx/90000\r\n"
    "a=fmtp:117 apt=116\r\n"
    "a=rtpmap:118 ulpfec/90000\r\n"
    "a=ssrc-group:FID 2222 3333\r\n"
    "a=ssrc:2222 cname:abcdEFGHijkl\r\n"
    "a=ssrc:3333 cname:abcdEFGHijkl\r\n";

/* Firefox: session-level fingerprint, BUNDLE of audio only. */
static const char firefox_offer[] =
    "v=0\r\n"
    "o=mozilla...THIS_IS_SDPARTA-99.0 5981835406734823542 0 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=fingerprint:sha-256 "
    "1A:2B:3C:4D:5E:6F:70:81:92:A3:B4:C5:D6:E7:F8:09:1A:2B:3C:4D:5E:6F:70:81:92:A3:B4:C5:D6:E7:F8:09\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=ice-options:trickle\r\n"
    "a=msid-semantic:WMS *\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=candidate:0 1 UDP 2122252543 9a7e0b3c-4bd1-4c5e-8e02-3d2a9f0b1c2d.local 50000 typ host\r\n"
    "a=sendrecv\r\n"
    "a=end-of-candidates\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=ice-pwd:ffpassword0123456789abcd\r\n"
    "a=ice-ufrag:ffuf\r\n"
    "a=mid:0\r\n"
    "a=msid:{f1} {a1}\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:109 opus/48000/2\r\n"
    "a=rtpmap:9 G722/8000/1\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=setup:actpass\r\n"
    "a=ssrc:12345 cname:{c1}\r\n";

/* An MTSI answer (TS 26.114) to the Chrome offer as sent toward IMS:
 * PCMU and telephone-event/8000 for audio, video rejected. */
static const char ims_answer[] = "v=0\r\n"
				 "o=ims 1000 1000 IN IP4 127.0.0.1\r\n"
				 "s=-\r\n"
				 "c=IN IP4 127.0.0.1\r\n"
				 "t=0 0\r\n"
				 "m=audio 40010 RTP/AVP 0 126\r\n"
				 "b=AS:80\r\n"
				 "a=rtpmap:0 PCMU/8000\r\n"
				 "a=rtpmap:126 telephone-event/8000\r\n"
				 "a=fmtp:126 0-15\r\n"
				 "a=ptime:20\r\n"
				 "a=sendrecv\r\n"
				 "m=video 0 RTP/AVP 98\r\n";

/* An incoming call from IMS: AMR-WB, AMR, PCMU, telephone-event, with
 * preconditions and a separate RTCP port. */
static const char ims_offer[] = "v=0\r\n"
				"o=- 2890844526 2890844526 IN IP4 127.0.0.1\r\n"
				"s=-\r\n"
				"c=IN IP4 127.0.0.1\r\n"
				"b=AS:64\r\n"
				"t=0 0\r\n"
				"m=audio 40020 RTP/AVP 97 98 0 100 101\r\n"
				"b=AS:41\r\n"
				"a=rtpmap:97 AMR-WB/16000/1\r\n"
				"a=fmtp:97 mode-change-capability=2;max-red=0\r\n"
				"a=rtpmap:98 AMR/8000/1\r\n"
				"a=fmtp:98 mode-change-capability=2;max-red=0\r\n"
				"a=rtpmap:0 PCMU/8000\r\n"
				"a=rtpmap:100 telephone-event/16000\r\n"
				"a=fmtp:100 0-15\r\n"
				"a=rtpmap:101 telephone-event/8000\r\n"
				"a=fmtp:101 0-15\r\n"
				"a=ptime:20\r\n"
				"a=maxptime:240\r\n"
				"a=rtcp:40031\r\n"
				"a=curr:qos local none\r\n"
				"a=curr:qos remote none\r\n"
				"a=des:qos mandatory local sendrecv\r\n"
				"a=des:qos optional remote sendrecv\r\n"
				"a=sendrecv\r\n";

/* A browser's answer to our offer for ims_offer. */
static const char chrome_answer[] =
    "v=0\r\n"
    "o=- 77 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 0 101\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=candidate:1 1 udp 2122260223 aaaa.local 50002 typ host\r\n"
    "a=ice-ufrag:ans1\r\n"
    "a=ice-pwd:answerpassword0123456789\r\n"
    "a=fingerprint:sha-256 "
    "7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n"
    "a=setup:active\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=ssrc:999 cname:x\r\n";

/* s with every "from" replaced by "to" (malloc'd) */
static char *subst(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	for (const char *p = s; (p = strstr(p, from)); p += fl)
		n++;
	size_t cap = strlen(s) + n * tl + 1;
	char *o = malloc(cap), *w = o;
	assert_non_null(o);
	for (const char *p = s, *q; *p; p = q + fl) {
		q = strstr(p, from);
		if (!q) {
			memcpy(w, p, strlen(p) + 1);
			return o;
		}
		memcpy(w, p, (size_t)(q - p));
		w += q - p;
		memcpy(w, to, tl);
		w += tl;
	}
	*w = 0;
	return o;
}

/* ---- fixture ---- */

struct fx {
	uv_loop_t loop;
	struct wims_media *m;
	struct wims_alg *a;
	struct wims_mediactl *ctl;
	char out[16384];
	size_t outlen;
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
	mo.port_min = 41000;
	mo.port_max = 41999;
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

static struct wims_mctl_req req(const char *cid, const char *from, const char *to, const char *sdp)
{
	struct wims_mctl_req r;
	memset(&r, 0, sizeof(r));
	r.call_id = wims_str_c(cid);
	r.from_tag = wims_str_c(from);
	r.to_tag = to ? wims_str_c(to) : WIMS_STR_NULL;
	if (sdp)
		r.sdp = wims_str_c(sdp);
	return r;
}

/* offer (answer=false) or answer; on success the result is parsed in f->sdp */
static int run(struct fx *f, bool answer, const struct wims_mctl_req *r)
{
	struct wims_wbuf b;
	wims_wbuf_init(&b, f->out, sizeof(f->out));
	memset(&f->err, 0, sizeof(f->err));
	int rc = answer ? f->ctl->ops->answer(f->ctl->impl, r, &b, &f->err)
			: f->ctl->ops->offer(f->ctl->impl, r, &b, &f->err);
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
	if (rc)
		return rc;
	assert_false(b.err);
	f->outlen = b.len;
	if (wims_sdp_parse(&f->sdp, f->out, f->outlen)) {
		fprintf(stderr, "unparsable output (%s line %u):\n%.*s\n", f->sdp.err, f->sdp.err_line,
			(int)f->outlen, f->out);
		fail();
	}
	return 0;
}

static int offer(struct fx *f, const char *cid, const char *from, const char *to, const char *sdp)
{
	struct wims_mctl_req r = req(cid, from, to, sdp);
	return run(f, false, &r);
}

static int answer(struct fx *f, const char *cid, const char *from, const char *to, const char *sdp)
{
	struct wims_mctl_req r = req(cid, from, to, sdp);
	return run(f, true, &r);
}

static const struct wims_sdp_attr *mattr(const struct fx *f, unsigned i, const char *name)
{
	return wims_sdp_attr(&f->sdp, &f->sdp.media[i], name);
}

static bool has_any(const struct fx *f, unsigned i, const char *name)
{
	return wims_sdp_attr(&f->sdp, &f->sdp.media[i], name) != NULL;
}

static bool attr_is(const struct fx *f, unsigned i, const char *name, const char *val)
{
	const struct wims_sdp_attr *a = mattr(f, i, name);
	return a && wims_str_eqc(a->value, val);
}

static unsigned codec_list(const struct fx *f, unsigned i, struct wims_sdp_codec *k)
{
	int n = wims_sdp_codecs(&f->sdp.media[i], k, WIMS_SDP_MAX_FMTS);
	assert_true(n >= 0);
	return (unsigned)n;
}

/* the IMS profile of m-line i (not rejected) */
static void check_ims_media(const struct fx *f, unsigned i)
{
	const struct wims_sdp_media *m = &f->sdp.media[i];
	assert_true(wims_str_eqc(m->proto, "RTP/AVP"));
	assert_true(m->port >= 41000 && m->port <= 41999);
	assert_int_equal(m->port % 2, 0);
	const struct wims_sdp_conn *c = wims_sdp_conn(&f->sdp, m);
	assert_non_null(c);
	assert_true(wims_str_eqc(c->addr, "127.0.0.1"));
	const struct wims_sdp_attr *r = mattr(f, i, "rtcp");
	assert_non_null(r);
	struct wims_sdp_rtcp rc;
	assert_int_equal(wims_sdp_rtcp_parse(r->value, &rc), 0);
	assert_int_equal(rc.port, m->port + 1);
	static const char *const absent[] = {
	    "ice-ufrag",  "ice-pwd", "ice-lite", "candidate",  "fingerprint", "setup",
	    "mid",	  "extmap",  "ssrc",	 "ssrc-group", "msid",	      "rtcp-mux",
	    "rtcp-rsize", "group",   "crypto",	 "tls-id",     NULL};
	for (const char *const *p = absent; *p; p++)
		if (has_any(f, i, *p)) {
			fprintf(stderr, "IMS m-line %u has a=%s\n", i, *p);
			fail();
		}
	struct wims_sdp_codec k[WIMS_SDP_MAX_FMTS];
	unsigned n = codec_list(f, i, k);
	assert_true(n > 0);
	for (unsigned j = 0; j < n; j++) {
		assert_false(wims_str_eqic(k[j].enc, "rtx") || wims_str_eqic(k[j].enc, "red") ||
			     wims_str_eqic(k[j].enc, "ulpfec"));
		if (wims_str_eqic(m->type, "audio"))
			assert_int_equal(k[j].n_rtcp_fb, 0);
		for (unsigned x = 0; x < k[j].n_rtcp_fb; x++)
			assert_false(wims_str_eqic(k[j].rtcp_fb[x], "transport-cc") ||
				     wims_str_eqic(k[j].rtcp_fb[x], "goog-remb"));
	}
}

/* the WebRTC profile of m-line i (not rejected) */
static void check_web_media(const struct fx *f, unsigned i, enum wims_sdp_setup setup)
{
	const struct wims_sdp_media *m = &f->sdp.media[i];
	assert_true(wims_str_eqc(m->proto, "UDP/TLS/RTP/SAVPF"));
	assert_non_null(wims_sdp_attrs_find(&f->sdp.attrs, "ice-lite"));
	assert_non_null(mattr(f, i, "ice-ufrag"));
	assert_non_null(mattr(f, i, "ice-pwd"));
	assert_true(has_any(f, i, "rtcp-mux"));
	assert_false(has_any(f, i, "crypto"));
	/* one host candidate, our address and the m-line's port */
	unsigned it = 0, nc = 0;
	const struct wims_sdp_attr *ca;
	while ((ca = wims_sdp_attrs_next(&m->attrs, "candidate", &it))) {
		struct wims_sdp_cand cd;
		assert_int_equal(wims_sdp_cand_parse(ca->value, &cd), 0);
		assert_true(wims_str_eqc(cd.addr, "127.0.0.1"));
		assert_int_equal(cd.port, m->port);
		assert_true(wims_str_eqc(cd.type, "host"));
		nc++;
	}
	assert_int_equal(nc, 1);
	/* the engine's certificate */
	const struct wims_sdp_attr *fp = mattr(f, i, "fingerprint");
	assert_non_null(fp);
	char want[WIMS_MEDIA_FP_MAX];
	snprintf(want, sizeof(want), "%s", wims_media_fingerprint(f->m));
	assert_true(wims_str_eqic(fp->value, want));
	int s = wims_sdp_setup(&f->sdp, m);
	assert_int_equal(s, setup);
	/* RFC 8842 §4: our tls-id, 120 bits or more */
	const struct wims_sdp_attr *tid = mattr(f, i, "tls-id");
	assert_non_null(tid);
	assert_true(tid->value.l >= 20);
}

/* ---- browser offer -> IMS offer, IMS answer -> browser answer ---- */

static void test_chrome_offer_to_ims(void **state)
{
	struct fx *f = *state;
	assert_int_equal(offer(f, "c1", "ft1", NULL, chrome_offer), 0);
	assert_int_equal(f->sdp.n_media, 2);
	assert_null(wims_sdp_attrs_find(&f->sdp.attrs, "group"));
	assert_null(wims_sdp_attrs_find(&f->sdp.attrs, "ice-lite"));
	assert_null(wims_sdp_attrs_find(&f->sdp.attrs, "msid-semantic"));
	assert_null(wims_sdp_attrs_find(&f->sdp.attrs, "extmap-allow-mixed"));
	check_ims_media(f, 0);
	check_ims_media(f, 1);
	/* one port pair per medium */
	assert_int_not_equal(f->sdp.media[0].port, f->sdp.media[1].port);
	assert_int_not_equal(f->sdp.media[0].port + 1, f->sdp.media[1].port);
	assert_int_not_equal(f->sdp.media[1].port + 1, f->sdp.media[0].port);
	/* PTs kept; repair formats gone */
	struct wims_sdp_codec k[WIMS_SDP_MAX_FMTS];
	unsigned n = codec_list(f, 0, k);
	assert_int_equal(n, 7); /* 111 9 0 8 13 110 126 */
	assert_int_equal(k[0].pt, 111);
	assert_true(wims_str_eqc(k[0].enc, "opus"));
	assert_true(wims_str_eqc(k[0].fmtp, "minptime=10;useinbandfec=1"));
	assert_int_equal(k[6].pt, 126);
	n = codec_list(f, 1, k);
	assert_int_equal(n, 2); /* VP8 96, H264 98 */
	assert_int_equal(k[0].pt, 96);
	assert_int_equal(k[1].pt, 98);
	/* video keeps the repair feedback only */
	assert_int_equal(k[0].n_rtcp_fb, 3);
	assert_non_null(mattr(f, 0, "sendrecv"));
	assert_int_equal(wims_alg_calls(f->a), 1);
}

static void test_chrome_full_call(void **state)
{
	struct fx *f = *state;
	assert_int_equal(offer(f, "c2", "ft2", NULL, chrome_offer), 0);
	uint16_t ims_port = f->sdp.media[0].port;
	assert_int_equal(answer(f, "c2", "ft2", "tt2", ims_answer), 0);
	assert_int_equal(f->sdp.n_media, 2);
	/* browser answer */
	const struct wims_sdp_attr *g = wims_sdp_attrs_find(&f->sdp.attrs, "group");
	assert_non_null(g);
	assert_true(wims_str_eqc(g->value, "BUNDLE 0")); /* video was rejected */
	check_web_media(f, 0, WIMS_SDP_SETUP_PASSIVE);	 /* never actpass in an answer */
	assert_true(attr_is(f, 0, "mid", "0"));
	assert_true(has_any(f, 0, "rtcp-rsize"));
	assert_false(has_any(f, 0, "rtcp")); /* no a=rtcp with rtcp-mux toward the browser */
	assert_int_not_equal(f->sdp.media[0].port, ims_port);
	struct wims_sdp_codec k[WIMS_SDP_MAX_FMTS];
	unsigned n = codec_list(f, 0, k);
	assert_int_equal(n, 2);
	assert_int_equal(k[0].pt, 0);
	assert_int_equal(k[1].pt, 126);
	/* rejected stays rejected, with its mid */
	assert_int_equal(f->sdp.media[1].port, 0);
	assert_true(attr_is(f, 1, "mid", "1"));
	/* stats */
	struct wims_mctl_query q;
	struct wims_mctl_req r = req("c2", "ft2", NULL, NULL);
	memset(&q, 0, sizeof(q));
	assert_int_equal(f->ctl->ops->query(f->ctl->impl, &r, &q, &f->err), 0);
	assert_int_equal(q.nstreams, 4);
	assert_true(wims_str_eqc(q.s[0].tag, "ft2"));
	assert_true(wims_str_eqc(q.s[1].tag, "tt2"));
	assert_int_equal(q.s[0].media_index, 1);
	assert_true(wims_str_eqc(q.s[0].media_type, "audio"));
	assert_non_null(strstr(q.s[0].local, "127.0.0.1:"));
	assert_true(q.created_s > 0);
}

static void test_firefox_offer(void **state)
{
	struct fx *f = *state;
	assert_int_equal(offer(f, "ff", "ftf", NULL, firefox_offer), 0);
	assert_int_equal(f->sdp.n_media, 1);
	check_ims_media(f, 0);
	struct wims_sdp_codec k[WIMS_SDP_MAX_FMTS];
	assert_int_equal(codec_list(f, 0, k), 5);
	const char *ans = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			  "m=audio 40040 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
			  "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=rtcp:40041\r\n";
	assert_int_equal(answer(f, "ff", "ftf", "ttf", ans), 0);
	check_web_media(f, 0, WIMS_SDP_SETUP_PASSIVE);
	assert_true(attr_is(f, 0, "mid", "0"));
	const struct wims_sdp_attr *g = wims_sdp_attrs_find(&f->sdp.attrs, "group");
	assert_non_null(g);
	assert_true(wims_str_eqc(g->value, "BUNDLE 0"));
}

/* ---- IMS offer -> browser offer, browser answer -> IMS answer ---- */

static void test_ims_offer_to_browser(void **state)
{
	struct fx *f = *state;
	assert_int_equal(offer(f, "in1", "ims-tag", NULL, ims_offer), 0);
	assert_int_equal(f->sdp.n_media, 1);
	check_web_media(f, 0, WIMS_SDP_SETUP_ACTPASS); /* actpass in an offer */
	const struct wims_sdp_attr *g = wims_sdp_attrs_find(&f->sdp.attrs, "group");
	assert_non_null(g);
	const struct wims_sdp_attr *mid = mattr(f, 0, "mid");
	assert_non_null(mid);
	assert_true(wims_str_eqc(g->value, "BUNDLE 0"));
	assert_true(wims_str_eqc(mid->value, "0"));
	assert_true(has_any(f, 0, "rtcp-mux"));
	/* preconditions are not for the browser */
	assert_false(has_any(f, 0, "curr"));
	assert_false(has_any(f, 0, "des"));
	assert_false(has_any(f, 0, "rtcp"));
	struct wims_sdp_codec k[WIMS_SDP_MAX_FMTS];
	unsigned n = codec_list(f, 0, k);
	assert_int_equal(n, 5);
	assert_int_equal(k[0].pt, 97);
	assert_true(wims_str_eqc(k[0].enc, "AMR-WB"));
	/* the browser answers; IMS gets an RTP/AVP answer */
	assert_int_equal(answer(f, "in1", "ims-tag", "web-tag", chrome_answer), 0);
	assert_int_equal(f->sdp.n_media, 1);
	check_ims_media(f, 0);
	n = codec_list(f, 0, k);
	assert_int_equal(n, 2);
	assert_int_equal(k[0].pt, 0);
	assert_int_equal(k[1].pt, 101);
	assert_false(has_any(f, 0, "ssrc"));
}

static void test_ims_offer_answer_setup_roles(void **state)
{
	struct fx *f = *state;
	assert_int_equal(offer(f, "in2", "ims-tag", NULL, ims_offer), 0);
	/* passive: we become the DTLS client; a browser re-offer (actpass)
	 * then keeps us active in our answer */
	const char *pas =
	    "v=0\r\no=- 77 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
	    "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n"
	    "a=ice-ufrag:ans2\r\na=ice-pwd:answerpassword0123456789\r\n"
	    "a=fingerprint:sha-256 " CHROME_FP "\r\na=setup:passive\r\na=mid:0\r\na=rtcp-mux\r\n"
	    "a=rtpmap:0 PCMU/8000\r\n";
	assert_int_equal(answer(f, "in2", "ims-tag", "web2", pas), 0);
	/* the browser re-offers (actpass): we keep our role, active */
	const char *reoffer =
	    "v=0\r\no=- 77 3 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
	    "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n"
	    "a=ice-ufrag:ans2\r\na=ice-pwd:answerpassword0123456789\r\n"
	    "a=fingerprint:sha-256 " CHROME_FP "\r\na=setup:actpass\r\na=mid:0\r\na=rtcp-mux\r\n"
	    "a=sendonly\r\na=rtpmap:0 PCMU/8000\r\n";
	assert_int_equal(offer(f, "in2", "web2", "ims-tag", reoffer), 0);
	check_ims_media(f, 0);
	assert_non_null(mattr(f, 0, "sendonly"));
	const char *imsans =
	    "v=0\r\no=- 2890844526 2890844527 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
	    "t=0 0\r\nm=audio 40020 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\n";
	assert_int_equal(answer(f, "in2", "web2", "ims-tag", imsans), 0);
	check_web_media(f, 0, WIMS_SDP_SETUP_ACTIVE);
	assert_non_null(mattr(f, 0, "recvonly"));
	/* an answer with actpass is refused */
	assert_int_equal(offer(f, "in2", "ims-tag", "web2", ims_offer), 0);
	const char *ap = "v=0\r\no=- 77 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
			 "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n"
			 "a=ice-ufrag:ans2\r\na=ice-pwd:answerpassword0123456789\r\n"
			 "a=fingerprint:sha-256 " CHROME_FP "\r\na=setup:actpass\r\na=mid:0\r\na=rtcp-mux\r\n"
			 "a=rtpmap:0 PCMU/8000\r\n";
	assert_int_not_equal(answer(f, "in2", "ims-tag", "web2", ap), 0);
	assert_int_equal(f->err.sip_status, 488);
}

/* ---- re-offers ---- */

static void test_hold_resume_same_ports(void **state)
{
	struct fx *f = *state;
	assert_int_equal(offer(f, "h", "ft", NULL, chrome_offer), 0);
	uint16_t ip0 = f->sdp.media[0].port, ip1 = f->sdp.media[1].port;
	assert_int_equal(answer(f, "h", "ft", "tt", ims_answer), 0);
	uint16_t wp = f->sdp.media[0].port;
	const struct wims_sdp_attr *uf = mattr(f, 0, "ice-ufrag");
	char ufrag[64];
	snprintf(ufrag, sizeof(ufrag), "%.*s", (int)uf->value.l, uf->value.p);

	/* hold */
	char *hold = strdup(chrome_offer);
	char *p = strstr(hold, "a=sendrecv");
	memcpy(p, "a=sendonly", 10);
	assert_int_equal(offer(f, "h", "ft", "tt", hold), 0);
	assert_int_equal(f->sdp.media[0].port, ip0);
	assert_int_equal(f->sdp.media[1].port, ip1);
	assert_non_null(mattr(f, 0, "sendonly"));
	assert_int_equal(f->sdp.o.sess_id.l > 0, 1);
	char *ha = strdup(ims_answer);
	p = strstr(ha, "a=sendrecv");
	memcpy(p, "a=recvonly", 10);
	assert_int_equal(answer(f, "h", "ft", "tt", ha), 0);
	assert_int_equal(f->sdp.media[0].port, wp);
	assert_non_null(mattr(f, 0, "recvonly"));
	assert_true(attr_is(f, 0, "ice-ufrag", ufrag));
	check_web_media(f, 0, WIMS_SDP_SETUP_PASSIVE);
	/* resume */
	assert_int_equal(offer(f, "h", "ft", "tt", chrome_offer), 0);
	assert_int_equal(f->sdp.media[0].port, ip0);
	assert_int_equal(answer(f, "h", "ft", "tt", ims_answer), 0);
	assert_int_equal(f->sdp.media[0].port, wp);
	assert_non_null(mattr(f, 0, "sendrecv"));
	free(hold);
	free(ha);
}

static void test_ice_restart_and_tls_id(void **state)
{
	struct fx *f = *state;
	assert_int_equal(offer(f, "r", "ft", NULL, chrome_offer), 0);
	assert_int_equal(answer(f, "r", "ft", "tt", ims_answer), 0);
	char uf1[64], pw1[64];
	const struct wims_sdp_attr *a = mattr(f, 0, "ice-ufrag");
	snprintf(uf1, sizeof(uf1), "%.*s", (int)a->value.l, a->value.p);
	a = mattr(f, 0, "ice-pwd");
	snprintf(pw1, sizeof(pw1), "%.*s", (int)a->value.l, a->value.p);
	uint16_t wp = f->sdp.media[0].port;

	char *rs = strdup(chrome_offer);
	for (char *p = rs; (p = strstr(p, "a=ice-ufrag:Chr1"));)
		memcpy(p, "a=ice-ufrag:Chr2", 16);
	for (char *p = rs; (p = strstr(p, "a=ice-pwd:chromepassword"));)
		memcpy(p, "a=ice-pwd:newpass0", 18);
	assert_int_equal(offer(f, "r", "ft", "tt", rs), 0);
	assert_int_equal(answer(f, "r", "ft", "tt", ims_answer), 0);
	assert_false(attr_is(f, 0, "ice-ufrag", uf1));
	assert_false(attr_is(f, 0, "ice-pwd", pw1));
	assert_int_equal(f->sdp.media[0].port, wp);
	check_web_media(f, 0, WIMS_SDP_SETUP_PASSIVE); /* same fingerprint */

	/* tls-id: a new one is accepted (a new association) */
	const char *t1 = "a=setup:actpass\r\na=tls-id:aaaaaaaaaaaaaaaa\r\n";
	const char *t2 = "a=setup:actpass\r\na=tls-id:bbbbbbbbbbbbbbbb\r\n";
	size_t cap = strlen(rs) + 256;
	char *x = malloc(cap), *y = malloc(cap);
	const char *p = strstr(rs, "a=setup:actpass\r\n");
	snprintf(x, cap, "%.*s%s%s", (int)(p - rs), rs, t1, p + strlen("a=setup:actpass\r\n"));
	snprintf(y, cap, "%.*s%s%s", (int)(p - rs), rs, t2, p + strlen("a=setup:actpass\r\n"));
	assert_int_equal(offer(f, "r", "ft", "tt", x), 0);
	assert_int_equal(answer(f, "r", "ft", "tt", ims_answer), 0);
	check_web_media(f, 0, WIMS_SDP_SETUP_PASSIVE);
	assert_int_equal(offer(f, "r", "ft", "tt", y), 0);
	assert_int_equal(answer(f, "r", "ft", "tt", ims_answer), 0);
	check_web_media(f, 0, WIMS_SDP_SETUP_PASSIVE);
	free(x);
	free(y);
	free(rs);
}

static void test_pt_renumbered_answer(void **state)
{
	struct fx *f = *state;
	const char *off =
	    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a\r\n"
	    "m=audio 9 UDP/TLS/RTP/SAVPF 96 0 101\r\nc=IN IP4 0.0.0.0\r\n"
	    "a=ice-ufrag:ufr1\r\na=ice-pwd:pppppppppppppppppppppp\r\n"
	    "a=fingerprint:sha-256 " CHROME_FP "\r\na=setup:actpass\r\na=mid:a\r\na=rtcp-mux\r\n"
	    "a=rtpmap:96 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n"
	    "a=rtpmap:101 telephone-event/8000\r\n";
	assert_int_equal(offer(f, "pt", "ft", NULL, off), 0);
	const char *ans = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			  "m=audio 40050 RTP/AVP 97 100\r\na=rtpmap:97 opus/48000/2\r\n"
			  "a=rtpmap:100 telephone-event/8000\r\n";
	assert_int_equal(answer(f, "pt", "ft", "tt", ans), 0);
	struct wims_sdp_codec k[WIMS_SDP_MAX_FMTS];
	unsigned n = codec_list(f, 0, k);
	assert_int_equal(n, 2);
	assert_int_equal(k[0].pt, 96);
	assert_int_equal(k[1].pt, 101);
	assert_true(attr_is(f, 0, "mid", "a"));
	const struct wims_sdp_attr *g = wims_sdp_attrs_find(&f->sdp.attrs, "group");
	assert_true(wims_str_eqc(g->value, "BUNDLE a"));
}

/* ---- errors, limits, the call table ---- */

static void test_errors(void **state)
{
	struct fx *f = *state;
	assert_int_equal(answer(f, "nope", "a", "b", ims_answer), -ENOENT);
	assert_int_equal(f->err.sip_status, 481);
	assert_int_not_equal(offer(f, "bad", "a", NULL, "v=0\r\nthis is not sdp\r\n"), 0);
	assert_int_equal(f->err.sip_status, 488);
	assert_true(strlen(f->err.reason) > 0);
	assert_int_equal(wims_alg_calls(f->a), 0);
	/* no media */
	assert_int_not_equal(offer(f, "bad", "a", NULL, "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n"),
			     0);
	assert_int_equal(f->err.sip_status, 488);
	assert_int_equal(wims_alg_calls(f->a), 0);
	/* WebRTC media without ICE credentials */
	const char *noice = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
			    "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=rtcp-mux\r\n";
	assert_int_not_equal(offer(f, "bad", "a", NULL, noice), 0);
	assert_int_equal(f->err.sip_status, 488);
	assert_int_equal(wims_alg_calls(f->a), 0);
	/* an ice-ufrag shorter than RFC 8839's 4 characters */
	char *shortuf = subst(chrome_offer, "a=ice-ufrag:Chr1", "a=ice-ufrag:C");
	assert_int_not_equal(offer(f, "bad", "a", NULL, shortuf), 0);
	assert_int_equal(f->err.sip_status, 488);
	assert_non_null(strstr(f->err.reason, "ICE"));
	free(shortuf);
	/* an IMS offer with AMR-WB only: nothing a browser decodes, and no
	 * transcoding yet -> 488 (issue: "until then the offer is answered with 488") */
	const char *amrwb = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			    "m=audio 40050 RTP/AVP 97 100\r\na=rtpmap:97 AMR-WB/16000\r\n"
			    "a=rtpmap:100 telephone-event/16000\r\n";
	assert_int_not_equal(offer(f, "amr", "ims", NULL, amrwb), 0);
	assert_int_equal(f->err.sip_status, 488);
	assert_non_null(strstr(f->err.reason, "transcoding"));
	assert_int_equal(wims_alg_calls(f->a), 0);
	/* an answer without a pending offer */
	assert_int_equal(offer(f, "e", "ft", NULL, chrome_offer), 0);
	assert_int_equal(answer(f, "e", "ft", "tt", ims_answer), 0);
	/* the answer's m-lines must match */
	assert_int_equal(offer(f, "e", "ft", "tt", chrome_offer), 0);
	const char *one = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			  "m=audio 40010 RTP/AVP 0\r\n";
	assert_int_not_equal(answer(f, "e", "ft", "tt", one), 0);
	assert_int_equal(f->err.sip_status, 488);
	/* a failed re-offer leaves the call as it was */
	assert_int_equal(answer(f, "e", "ft", "tt", ims_answer), 0);
	uint16_t wp = f->sdp.media[0].port;
	assert_int_not_equal(offer(f, "e", "ft", "tt", noice), 0);
	assert_int_equal(wims_alg_calls(f->a), 1);
	assert_int_equal(offer(f, "e", "ft", "tt", chrome_offer), 0);
	assert_int_equal(answer(f, "e", "ft", "tt", ims_answer), 0);
	assert_int_equal(f->sdp.media[0].port, wp);
}

static void test_call_limit(void **state)
{
	struct fx *f = *state;
	/* a second ALG with max_calls 1 on the same engine */
	struct wims_alg *a1;
	struct wims_alg_opts o = {.max_calls = 1};
	assert_int_equal(wims_alg_new(&a1, f->m, &o), 0);
	struct wims_mediactl *c = wims_alg_ctl(a1);
	char buf[8192];
	struct wims_wbuf b;
	struct wims_mctl_err e;
	memset(&e, 0, sizeof(e));
	struct wims_mctl_req r = req("L1", "a", NULL, chrome_offer);
	wims_wbuf_init(&b, buf, sizeof(buf));
	assert_int_equal(c->ops->offer(c->impl, &r, &b, &e), 0);
	r = req("L2", "a", NULL, chrome_offer);
	wims_wbuf_init(&b, buf, sizeof(buf));
	assert_int_not_equal(c->ops->offer(c->impl, &r, &b, &e), 0);
	assert_int_equal(e.sip_status, 503);
	/* a re-offer of the existing call is not a new call */
	r = req("L1", "a", NULL, chrome_offer);
	wims_wbuf_init(&b, buf, sizeof(buf));
	assert_int_equal(c->ops->offer(c->impl, &r, &b, &e), 0);
	assert_int_equal(wims_alg_calls(a1), 1);
	wims_alg_free(a1);
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
}

struct list_acc {
	unsigned n;
	char ids[8][16];
};

static void list_h(struct wims_str cid, void *arg)
{
	struct list_acc *l = arg;
	if (l->n < 8 && wims_str_copy(l->ids[l->n], sizeof(l->ids[0]), cid) == 0)
		l->n++;
}

static void test_list_delete(void **state)
{
	struct fx *f = *state;
	assert_int_equal(offer(f, "d1", "a", NULL, chrome_offer), 0);
	assert_int_equal(offer(f, "d2", "a", NULL, firefox_offer), 0);
	struct list_acc l = {0};
	assert_int_equal(f->ctl->ops->list(f->ctl->impl, 10, list_h, &l), 0);
	assert_int_equal(l.n, 2);
	assert_true((!strcmp(l.ids[0], "d1") && !strcmp(l.ids[1], "d2")) ||
		    (!strcmp(l.ids[0], "d2") && !strcmp(l.ids[1], "d1")));
	memset(&l, 0, sizeof(l));
	assert_int_equal(f->ctl->ops->list(f->ctl->impl, 1, list_h, &l), 0);
	assert_int_equal(l.n, 1);
	struct wims_mctl_req r = req("d1", "a", NULL, NULL);
	assert_int_equal(f->ctl->ops->del(f->ctl->impl, &r, &f->err), 0);
	struct wims_mctl_query q;
	assert_int_equal(f->ctl->ops->query(f->ctl->impl, &r, &q, &f->err), -ENOENT);
	assert_int_equal(f->err.sip_status, 481);
	assert_int_equal(f->ctl->ops->del(f->ctl->impl, &r, &f->err), -ENOENT);
	assert_int_equal(wims_alg_calls(f->a), 1);
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* forked early media: a second 18x from another to-tag */
static void test_forked_answers(void **state)
{
	struct fx *f = *state;
	assert_int_equal(offer(f, "fk", "ft", NULL, chrome_offer), 0);
	assert_int_equal(answer(f, "fk", "ft", "fork1", ims_answer), 0);
	uint16_t wp = f->sdp.media[0].port;
	char *a2 = strdup(ims_answer);
	char *p = strstr(a2, "40010");
	memcpy(p, "40060", 5);
	assert_int_equal(answer(f, "fk", "ft", "fork2", a2), 0);
	check_web_media(f, 0, WIMS_SDP_SETUP_PASSIVE);
	assert_int_equal(f->sdp.media[0].port, wp);
	/* the media stay with the first fork */
	struct wims_mctl_query q;
	struct wims_mctl_req r = req("fk", "ft", NULL, NULL);
	assert_int_equal(f->ctl->ops->query(f->ctl->impl, &r, &q, &f->err), 0);
	assert_true(wims_str_eqc(q.s[1].tag, "fork1"));
	/* the first fork's answer again (its 200 OK) */
	assert_int_equal(answer(f, "fk", "ft", "fork1", ims_answer), 0);
	assert_int_equal(f->sdp.media[0].port, wp);
	free(a2);
}

/* IMS offers audio and video with the same dynamic PT: bundled toward the
 * browser, the PTs must not collide. */
static void test_bundle_pt_collision(void **state)
{
	struct fx *f = *state;
	const char *off = "v=0\r\no=- 5 5 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			  "m=audio 40070 RTP/AVP 96 0\r\na=rtpmap:96 AMR-WB/16000\r\na=rtpmap:0 PCMU/8000\r\n"
			  "m=video 40072 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
			  "a=fmtp:96 profile-level-id=42e01f;packetization-mode=1\r\n";
	assert_int_equal(offer(f, "col", "ims", NULL, off), 0);
	assert_int_equal(f->sdp.n_media, 2);
	assert_int_equal(f->sdp.media[0].port, f->sdp.media[1].port); /* bundled */
	struct wims_sdp_codec ka[WIMS_SDP_MAX_FMTS], kv[WIMS_SDP_MAX_FMTS];
	unsigned na = codec_list(f, 0, ka), nv = codec_list(f, 1, kv);
	assert_int_equal(na, 2);
	assert_int_equal(nv, 1);
	for (unsigned i = 0; i < na; i++)
		for (unsigned j = 0; j < nv; j++)
			assert_int_not_equal(ka[i].pt, kv[j].pt);
	/* one stream, a track per m-line */
	const struct wims_sdp_attr *ma = mattr(f, 0, "msid"), *mv = mattr(f, 1, "msid");
	assert_non_null(ma);
	assert_non_null(mv);
	struct wims_sdp_msid xa, xv;
	assert_int_equal(wims_sdp_msid_parse(ma->value, &xa), 0);
	assert_int_equal(wims_sdp_msid_parse(mv->value, &xv), 0);
	assert_true(wims_str_eq(xa.stream, xv.stream));
	assert_false(wims_str_eq(xa.track, xv.track));
	/* the browser answers with the PTs it was offered; IMS gets its own */
	char ans[2048];
	snprintf(ans, sizeof(ans),
		 "v=0\r\no=- 7 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
		 "m=audio 9 UDP/TLS/RTP/SAVPF %u\r\nc=IN IP4 0.0.0.0\r\n"
		 "a=ice-ufrag:bbbb\r\na=ice-pwd:answerpassword0123456789\r\n"
		 "a=fingerprint:sha-256 " CHROME_FP "\r\na=setup:active\r\na=mid:0\r\na=rtcp-mux\r\n"
		 "a=rtpmap:%u AMR-WB/16000\r\n"
		 "m=video 9 UDP/TLS/RTP/SAVPF %u\r\nc=IN IP4 0.0.0.0\r\n"
		 "a=ice-ufrag:bbbb\r\na=ice-pwd:answerpassword0123456789\r\n"
		 "a=fingerprint:sha-256 " CHROME_FP "\r\na=setup:active\r\na=mid:1\r\na=rtcp-mux\r\n"
		 "a=rtpmap:%u H264/90000\r\na=fmtp:%u profile-level-id=42e01f;packetization-mode=1\r\n",
		 ka[0].pt, ka[0].pt, kv[0].pt, kv[0].pt, kv[0].pt);
	assert_int_equal(answer(f, "col", "ims", "web", ans), 0);
	check_ims_media(f, 0);
	check_ims_media(f, 1);
	na = codec_list(f, 0, ka);
	nv = codec_list(f, 1, kv);
	assert_int_equal(ka[0].pt, 96);
	assert_int_equal(kv[0].pt, 96);
}

/* m-lines rejected by the answerer, and by the offerer in a re-offer */
static void test_rejected_mlines(void **state)
{
	struct fx *f = *state;
	assert_int_equal(offer(f, "rej", "ft", NULL, chrome_offer), 0);
	/* rejecting both: the browser answer keeps both m-lines rejected */
	const char *ans = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			  "m=audio 0 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n";
	assert_int_equal(answer(f, "rej", "ft", "tt", ans), 0);
	assert_int_equal(f->sdp.media[0].port, 0);
	assert_int_equal(f->sdp.media[1].port, 0);
	/* a re-offer with the video m-line rejected by the browser */
	char *v0 = strdup(chrome_offer);
	char *p = strstr(v0, "m=video 9 ");
	memcpy(p, "m=video 0 ", 10);
	assert_int_equal(offer(f, "rej", "ft", "tt", v0), 0);
	assert_int_equal(f->sdp.media[1].port, 0);
	assert_true(f->sdp.media[0].port > 0);
	free(v0);
}

/* max-bundle: port 0 with a=bundle-only in the BUNDLE group is bundled,
 * not rejected (RFC 8843 §7.5.3) */
static void test_bundle_only(void **state)
{
	struct fx *f = *state;
	char *bo = subst(chrome_offer, "m=video 9 ", "m=video 0 ");
	char *bo2 = subst(bo, "a=mid:1\r\n", "a=mid:1\r\na=bundle-only\r\n");
	assert_int_equal(offer(f, "bo", "ft", NULL, bo2), 0);
	check_ims_media(f, 1);
	assert_true(f->sdp.media[1].port > 0);
	free(bo);
	free(bo2);
}

/* an answer's telephone-event matched by clock, not by a PT that the
 * offer used for another clock */
static void test_answer_pt_by_clock(void **state)
{
	struct fx *f = *state;
	const char *off =
	    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
	    "m=audio 9 UDP/TLS/RTP/SAVPF 111 100 101\r\nc=IN IP4 0.0.0.0\r\n"
	    "a=ice-ufrag:ufr1\r\na=ice-pwd:pppppppppppppppppppppp\r\n"
	    "a=fingerprint:sha-256 " CHROME_FP "\r\na=setup:actpass\r\na=mid:0\r\na=rtcp-mux\r\n"
	    "a=rtpmap:111 opus/48000/2\r\na=rtpmap:100 telephone-event/48000\r\n"
	    "a=rtpmap:101 telephone-event/8000\r\n";
	assert_int_equal(offer(f, "tc", "ft", NULL, off), 0);
	const char *ans = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			  "m=audio 40050 RTP/AVP 111 101\r\na=rtpmap:111 opus/48000/2\r\n"
			  "a=rtpmap:101 telephone-event/48000\r\n"
			  "a=rtpmap:102 telephone-event/16000\r\n";
	char *extra = subst(ans, "RTP/AVP 111 101", "RTP/AVP 111 101 102");
	assert_int_equal(answer(f, "tc", "ft", "tt", extra), 0);
	free(extra);
	struct wims_sdp_codec k[WIMS_SDP_MAX_FMTS];
	assert_int_equal(codec_list(f, 0, k), 2);
	assert_int_equal(k[1].pt, 100);
	assert_int_equal(k[1].clock, 48000); /* 102 was not offered: dropped */
	/* an answer with none of the offered codecs */
	assert_int_equal(offer(f, "tc", "ft", "tt", off), 0);
	const char *none = "v=0\r\no=x 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			   "m=audio 40050 RTP/AVP 97\r\na=rtpmap:97 AMR-WB/16000\r\n";
	assert_int_not_equal(answer(f, "tc", "ft", "tt", none), 0);
	assert_int_equal(f->err.sip_status, 488);
}

/* IMS re-offers toward the browser: same port, ICE credentials and mids;
 * then a re-INVITE without SDP whose offer (the browser's, in the 2xx)
 * carries the request's tags */
static void test_ims_reoffer_and_offerless_reinvite(void **state)
{
	struct fx *f = *state;
	assert_int_equal(offer(f, "ri", "ft", NULL, chrome_offer), 0);
	uint16_t ip = f->sdp.media[0].port;
	uint64_t v1 = strtoull(f->sdp.o.sess_version.p, NULL, 10);
	assert_int_equal(answer(f, "ri", "ft", "tt", ims_answer), 0);
	uint16_t wp = f->sdp.media[0].port;
	char uf[64];
	const struct wims_sdp_attr *u = mattr(f, 0, "ice-ufrag");
	snprintf(uf, sizeof(uf), "%.*s", (int)u->value.l, u->value.p);
	/* IMS re-INVITE with SDP (from IMS: From tag tt) */
	char *ro = subst(ims_answer, "a=sendrecv", "a=sendonly");
	assert_int_equal(offer(f, "ri", "tt", "ft", ro), 0);
	check_web_media(f, 0, WIMS_SDP_SETUP_ACTPASS);
	assert_int_equal(f->sdp.media[0].port, wp);
	assert_true(attr_is(f, 0, "ice-ufrag", uf));
	assert_true(attr_is(f, 0, "mid", "0"));
	assert_true(attr_is(f, 1, "mid", "1"));
	assert_int_equal(f->sdp.media[1].port, 0);
	assert_non_null(mattr(f, 0, "sendonly"));
	/* the browser keeps its role: active */
	char *ba = subst(chrome_answer, "a=sendrecv", "a=recvonly");
	char *ba2 = subst(ba, "m=audio 9 UDP/TLS/RTP/SAVPF 0 101", "m=audio 9 UDP/TLS/RTP/SAVPF 0 126");
	char *ba3 = subst(ba2, "a=rtpmap:101 telephone-event/8000",
			  "a=rtpmap:126 telephone-event/8000\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1");
	assert_int_equal(answer(f, "ri", "tt", "ft", ba3), 0);
	check_ims_media(f, 0);
	assert_int_equal(f->sdp.media[0].port, ip);
	assert_non_null(mattr(f, 0, "recvonly"));
	uint64_t v2 = strtoull(f->sdp.o.sess_version.p, NULL, 10);
	assert_int_equal(v2, v1 + 1); /* RFC 3264 §8: one up per SDP toward IMS */
	/* re-INVITE without SDP from IMS: the browser's offer comes in the 2xx
	 * with From tag tt */
	assert_int_equal(offer(f, "ri", "tt", "ft", chrome_offer), 0);
	check_ims_media(f, 0);
	assert_int_equal(f->sdp.media[0].port, ip);
	assert_int_equal(answer(f, "ri", "tt", "ft", ims_answer), 0);
	check_web_media(f, 0, WIMS_SDP_SETUP_PASSIVE);
	assert_int_equal(f->sdp.media[0].port, wp);
	free(ro);
	free(ba);
	free(ba2);
	free(ba3);
}

/* core_sdes: the IMS leg gets RTP/SAVP with an a=crypto of ours */
static void test_core_sdes(void **state)
{
	struct fx *f = *state;
	struct wims_alg *a1;
	struct wims_alg_opts o = {.core_sdes = true};
	assert_int_equal(wims_alg_new(&a1, f->m, &o), 0);
	struct wims_mediactl *saved = f->ctl;
	f->ctl = wims_alg_ctl(a1);
	assert_int_equal(offer(f, "sd", "ft", NULL, firefox_offer), 0);
	assert_true(wims_str_eqc(f->sdp.media[0].proto, "RTP/SAVP"));
	const struct wims_sdp_attr *cr = mattr(f, 0, "crypto");
	assert_non_null(cr);
	struct wims_sdp_crypto x;
	assert_int_equal(wims_sdp_crypto_parse(cr->value, &x), 0);
	assert_true(wims_str_eqc(x.suite, "AES_CM_128_HMAC_SHA1_80"));
	assert_false(has_any(f, 0, "fingerprint"));
	const char *ans =
	    "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
	    "m=audio 40080 RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
	assert_int_equal(answer(f, "sd", "ft", "tt", ans), 0);
	check_web_media(f, 0, WIMS_SDP_SETUP_PASSIVE); /* no a=crypto toward the browser (pitfall 5) */
	/* an SDES answer without a usable key */
	assert_int_equal(offer(f, "sd", "ft", "tt", firefox_offer), 0);
	char *bad = subst(ans, "inline:WVNf", "inline:!!!!");
	assert_int_not_equal(answer(f, "sd", "ft", "tt", bad), 0);
	assert_int_equal(f->err.sip_status, 488);
	free(bad);
	f->ctl = saved;
	wims_alg_free(a1);
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_chrome_offer_to_ims, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_chrome_full_call, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_firefox_offer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ims_offer_to_browser, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ims_offer_answer_setup_roles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hold_resume_same_ports, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ice_restart_and_tls_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pt_renumbered_answer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_call_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forked_answers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_pt_collision, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rejected_mlines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_core_sdes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answer_pt_by_clock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ims_reoffer_and_offerless_reinvite, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
