/* SDP writer: exact output for both profiles, the rejected m= form, errors,
 * and parse -> describe -> write -> parse round trips of the samples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sdp/sdp.h"

#define S_(c) wims_str_c(c)

static char OUT[16384], OUT2[16384];
static struct wims_wbuf W;

static void expect(const struct wims_sdp_out *o, const char *want)
{
	int rc;

	wims_wbuf_init(&W, OUT, sizeof(OUT));
	rc = wims_sdp_write(&W, o);
	if (rc != 0)
		fail_msg("write: %d", rc);
	if (W.len != strlen(want) || memcmp(W.p, want, W.len) != 0)
		fail_msg("want:\n%s\ngot:\n%.*s", want, (int)W.len, W.p);
}

static const struct wims_sdp_codec OPUS = {
    111, {"opus", 4}, 48000, 2, {"minptime=10;useinbandfec=1", 26}, {{"transport-cc", 12}}, 1};
static const struct wims_sdp_codec TE48 = {110, {"telephone-event", 15}, 48000, 1, {"0-15", 4}, {{0}}, 0};
static const struct wims_sdp_codec PCMU = {0, {"PCMU", 4}, 8000, 1, {0}, {{0}}, 0};

static void test_webrtc_answer(void **state)
{
	static const struct wims_sdp_codec codecs[3] = {OPUS, TE48, PCMU};
	static const struct wims_sdp_cand cand = {
	    .foundation = {"1", 1},
	    .component = 1,
	    .transport = {"udp", 3},
	    .priority = 2130706431,
	    .addr = {"192.0.2.1", 9},
	    .port = 40000,
	};
	static const struct wims_sdp_fingerprint fp = {{"sha-256", 7}, {"AB:CD", 5}};
	static const struct wims_str mids[1] = {{"0", 1}};
	static const struct wims_str raw[1] = {{"extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level", 52}};
	struct wims_sdp_out_media m = {
	    .type = S_("audio"),
	    .port = 40000,
	    .proto = S_("UDP/TLS/RTP/SAVPF"),
	    .codecs = codecs,
	    .n_codecs = 3,
	    .c = {false, S_("192.0.2.1")},
	    .rtcp_mux = true,
	    .rtcp_mux_only = true,
	    .rtcp_rsize = true,
	    .mid = S_("0"),
	    .dir = WIMS_SDP_DIR_SENDRECV,
	    .ice_ufrag = S_("wXyZ"),
	    .ice_pwd = S_("0123456789abcdef01234567"),
	    .ice_options = S_("trickle"),
	    .cands = &cand,
	    .n_cands = 1,
	    .end_of_candidates = true,
	    .fps = &fp,
	    .n_fps = 1,
	    .setup = WIMS_SDP_SETUP_ACTIVE,
	    .tls_id = S_("abc123"),
	    .ptime = 20,
	    .attrs = raw,
	    .n_attrs = 1,
	};
	struct wims_sdp_out o = {
	    .sess_id = 18446744073709551615ull,
	    .sess_version = 2,
	    .o_addr = {false, S_("192.0.2.1")},
	    .c = {false, S_("192.0.2.1")},
	    .ice_lite = true,
	    .bundle = mids,
	    .n_bundle = 1,
	    .msid_semantic = S_(" WMS *"),
	    .media = &m,
	    .n_media = 1,
	};

	expect(&o, "v=0\r\n"
		   "o=- 18446744073709551615 2 IN IP4 192.0.2.1\r\n"
		   "s=-\r\n"
		   "c=IN IP4 192.0.2.1\r\n"
		   "t=0 0\r\n"
		   "a=ice-lite\r\n"
		   "a=group:BUNDLE 0\r\n"
		   "a=msid-semantic: WMS *\r\n"
		   "m=audio 40000 UDP/TLS/RTP/SAVPF 111 110 0\r\n"
		   "a=ice-ufrag:wXyZ\r\n"
		   "a=ice-pwd:0123456789abcdef01234567\r\n"
		   "a=ice-options:trickle\r\n"
		   "a=fingerprint:sha-256 AB:CD\r\n"
		   "a=setup:active\r\n"
		   "a=tls-id:abc123\r\n"
		   "a=mid:0\r\n"
		   "a=sendrecv\r\n"
		   "a=rtcp-mux\r\n"
		   "a=rtcp-mux-only\r\n"
		   "a=rtcp-rsize\r\n"
		   "a=rtpmap:111 opus/48000/2\r\n"
		   "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
		   "a=rtcp-fb:111 transport-cc\r\n"
		   "a=rtpmap:110 telephone-event/48000\r\n"
		   "a=fmtp:110 0-15\r\n"
		   "a=rtpmap:0 PCMU/8000\r\n"
		   "a=ptime:20\r\n"
		   "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
		   "a=candidate:1 1 udp 2130706431 192.0.2.1 40000 typ host\r\n"
		   "a=end-of-candidates\r\n");
}

static void test_ims_offer(void **state)
{
	static const struct wims_sdp_codec codecs[2] = {
	    {97, {"AMR-WB", 6}, 16000, 1, {"mode-change-capability=2;max-red=0", 34}, {{0}}, 0},
	    {101, {"telephone-event", 15}, 16000, 1, {"0-15", 4}, {{0}}, 0},
	};
	static const struct wims_sdp_bw bw[3] = {{{"AS", 2}, 41}, {{"RS", 2}, 0}, {{"RR", 2}, 1537}};
	static const struct wims_str raw[2] = {{"curr:qos local none", 19},
					       {"des:qos mandatory local sendrecv", 32}};
	static const struct wims_sdp_crypto k = {
	    1, {"AES_CM_128_HMAC_SHA1_80", 23}, {"inline:QUJD", 11}, {0}, {0}};
	struct wims_sdp_out_media m = {
	    .type = S_("audio"),
	    .port = 30000,
	    .proto = S_("RTP/AVP"),
	    .codecs = codecs,
	    .n_codecs = 2,
	    .c = {true, S_("2001:db8::2")},
	    .bw = bw,
	    .n_bw = 3,
	    .rtcp_port = 30001,
	    .rtcp_addr = {true, S_("2001:db8::2")},
	    .dir = WIMS_SDP_DIR_SENDRECV,
	    .ptime = 20,
	    .maxptime = 240,
	    .cryptos = &k,
	    .n_cryptos = 1,
	    .attrs = raw,
	    .n_attrs = 2,
	};
	struct wims_sdp_out o = {
	    .o_user = S_("wims"),
	    .sess_id = 1,
	    .sess_version = 7,
	    .o_addr = {true, S_("2001:db8::1")},
	    .name = S_("wims call"),
	    .c = {true, S_("2001:db8::1")},
	    .bw = bw,
	    .n_bw = 1,
	    .media = &m,
	    .n_media = 1,
	};

	expect(&o, "v=0\r\n"
		   "o=wims 1 7 IN IP6 2001:db8::1\r\n"
		   "s=wims call\r\n"
		   "c=IN IP6 2001:db8::1\r\n"
		   "b=AS:41\r\n"
		   "t=0 0\r\n"
		   "m=audio 30000 RTP/AVP 97 101\r\n"
		   "c=IN IP6 2001:db8::2\r\n"
		   "b=AS:41\r\n"
		   "b=RS:0\r\n"
		   "b=RR:1537\r\n"
		   "a=rtcp:30001 IN IP6 2001:db8::2\r\n"
		   "a=sendrecv\r\n"
		   "a=rtpmap:97 AMR-WB/16000\r\n"
		   "a=fmtp:97 mode-change-capability=2;max-red=0\r\n"
		   "a=rtpmap:101 telephone-event/16000\r\n"
		   "a=fmtp:101 0-15\r\n"
		   "a=ptime:20\r\n"
		   "a=maxptime:240\r\n"
		   "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD\r\n"
		   "a=curr:qos local none\r\n"
		   "a=des:qos mandatory local sendrecv\r\n");
	/* a media c= equal to the session's is not repeated; rtcp without address */
	m.c = o.c;
	m.rtcp_addr = (struct wims_sdp_out_addr){0};
	m.n_cryptos = 0;
	m.n_attrs = 0;
	m.n_bw = 0;
	m.ptime = m.maxptime = 0;
	m.dir = WIMS_SDP_DIR_UNSET;
	m.n_codecs = 0;
	m.nports = 2;
	expect(&o, "v=0\r\n"
		   "o=wims 1 7 IN IP6 2001:db8::1\r\n"
		   "s=wims call\r\n"
		   "c=IN IP6 2001:db8::1\r\n"
		   "b=AS:41\r\n"
		   "t=0 0\r\n"
		   "m=audio 30000/2 RTP/AVP 0\r\n"
		   "a=rtcp:30001\r\n");
}

static void test_rejected(void **state)
{
	static const struct wims_sdp_codec vp8 = {96, {"VP8", 3}, 90000, 1, {0}, {{0}}, 0};
	static const struct wims_str dc[1] = {{"webrtc-datachannel", 18}};
	struct wims_sdp_out_media m[3] = {
	    {.type = S_("video"),
	     .port = 9,
	     .proto = S_("RTP/AVP"),
	     .rejected = true,
	     .codecs = &vp8,
	     .n_codecs = 1,
	     .mid = S_("1"),
	     .rtcp_mux = true,
	     .ice_ufrag = S_("x"),
	     .dir = WIMS_SDP_DIR_SENDONLY},
	    {.type = S_("application"),
	     .port = 9,
	     .proto = S_("UDP/DTLS/SCTP"),
	     .rejected = true,
	     .fmts = dc,
	     .n_fmts = 1},
	    {.type = S_("audio"), .port = 5000, .proto = S_("RTP/AVP"), .codecs = &PCMU, .n_codecs = 1},
	};
	struct wims_sdp_out o = {
	    .o_addr = {false, S_("192.0.2.1")}, .c = {false, S_("192.0.2.1")}, .media = m, .n_media = 3};

	expect(&o, "v=0\r\no=- 0 0 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		   "m=video 0 RTP/AVP 96\r\n"
		   "a=mid:1\r\n"
		   "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"
		   "m=audio 5000 RTP/AVP 0\r\n"
		   "a=rtpmap:0 PCMU/8000\r\n");
}

static void test_errors(void **state)
{
	static char small[40];
	struct wims_sdp_out_media m = {.type = S_("audio"), .port = 1, .proto = S_("RTP/AVP")};
	struct wims_sdp_out o = {.o_addr = {false, S_("192.0.2.1")}, .media = &m, .n_media = 1};
	static const struct wims_str inj[1] = {{"x\r\na=evil", 9}};
	static char longv[WIMS_SDP_MAX_LINE + 8];
	struct wims_sdp_codec c = PCMU;

	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sdp_write(&W, &o), 0);
	/* no CR/LF injection through any string */
	o.name = wims_str_make("a\nb", 3);
	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sdp_write(&W, &o), -EINVAL);
	o.name = WIMS_STR_NULL;
	m.attrs = inj;
	m.n_attrs = 1;
	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sdp_write(&W, &o), -EINVAL);
	m.n_attrs = 0;
	m.mid = S_("a b"); /* a token with a space */
	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sdp_write(&W, &o), -EINVAL);
	m.mid = WIMS_STR_NULL;
	m.proto = WIMS_STR_NULL;
	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sdp_write(&W, &o), -EINVAL);
	m.proto = S_("RTP/AVP");
	o.o_addr.addr = WIMS_STR_NULL;
	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sdp_write(&W, &o), -EINVAL);
	o.o_addr.addr = S_("192.0.2.1");
	/* codec with a name but no clock */
	c.clock = 0;
	m.codecs = &c;
	m.n_codecs = 1;
	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sdp_write(&W, &o), -EINVAL);
	m.n_codecs = 0;
	/* bad enum values */
	m.setup = (enum wims_sdp_setup)9;
	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sdp_write(&W, &o), -EINVAL);
	m.setup = WIMS_SDP_SETUP_NONE;
	/* the buffer is full */
	wims_wbuf_init(&W, small, sizeof(small));
	assert_int_equal(wims_sdp_write(&W, &o), -ENOSPC);
	assert_true(W.err);
	/* a line longer than the limit */
	memset(longv, 'x', sizeof(longv));
	o.name = wims_str_make(longv, sizeof(longv));
	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sdp_write(&W, &o), -E2BIG);
	o.name = WIMS_STR_NULL;
	/* counts above the limits */
	o.n_media = WIMS_SDP_MAX_MEDIA + 1;
	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sdp_write(&W, &o), -E2BIG);
	o.n_media = 1;
	m.n_codecs = WIMS_SDP_MAX_FMTS + 1;
	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sdp_write(&W, &o), -E2BIG);
}

/* ---- round trips ---- */

static struct wims_sdp A, B;
static struct wims_sdp_out_store ST;
static char IN[WIMS_SDP_MAX_SIZE];
static struct wims_sdp_codec CA[WIMS_SDP_MAX_FMTS], CB[WIMS_SDP_MAX_FMTS];

static void same_str(struct wims_str a, struct wims_str b, const char *what)
{
	if (!!a.p != !!b.p || !wims_str_eq(a, b))
		fail_msg("%s: '%.*s' != '%.*s'", what, (int)a.l, a.p ? a.p : "", (int)b.l, b.p ? b.p : "");
}

static void same_attr(const struct wims_sdp_media *ma, const struct wims_sdp_media *mb, const char *name)
{
	const struct wims_sdp_attr *x = wims_sdp_attr(&A, ma, name), *y = wims_sdp_attr(&B, mb, name);

	if (!!x != !!y)
		fail_msg("attr %s: present %d/%d", name, !!x, !!y);
	if (!x)
		return;
	same_str(wims_str_trim(x->value), wims_str_trim(y->value), name);
}

static void same_codecs(const struct wims_sdp_media *ma, const struct wims_sdp_media *mb)
{
	int na = wims_sdp_codecs(ma, CA, WIMS_SDP_MAX_FMTS), nb = wims_sdp_codecs(mb, CB, WIMS_SDP_MAX_FMTS);

	assert_int_equal(na, nb);
	for (int i = 0; i < na; i++) {
		assert_int_equal(CA[i].pt, CB[i].pt);
		same_str(CA[i].enc, CB[i].enc, "enc");
		assert_int_equal(CA[i].clock, CB[i].clock);
		assert_int_equal(CA[i].channels, CB[i].channels);
		same_str(CA[i].fmtp, CB[i].fmtp, "fmtp");
		assert_int_equal(CA[i].n_rtcp_fb, CB[i].n_rtcp_fb);
		for (unsigned k = 0; k < CA[i].n_rtcp_fb; k++)
			same_str(CA[i].rtcp_fb[k], CB[i].rtcp_fb[k], "rtcp-fb");
	}
}

/* Attributes that are neither parsed by name nor moved keep their order. */
static void same_lists(const struct wims_sdp_media *ma, const struct wims_sdp_media *mb, const char *name)
{
	const struct wims_sdp_attr *x, *y;
	unsigned i = 0, j = 0;

	for (;;) {
		x = wims_sdp_attrs_next(&ma->attrs, name, &i);
		y = wims_sdp_attrs_next(&mb->attrs, name, &j);
		if (!x || !y)
			break;
		same_str(x->raw, y->raw, name);
	}
	if (x || y)
		fail_msg("%s: count differs", name);
}

static void same_media(const struct wims_sdp_media *ma, const struct wims_sdp_media *mb)
{
	static const char *const single[] = {
	    "ice-ufrag", "ice-pwd", "ice-options", "fingerprint",	"setup", "tls-id", "mid",
	    "rtcp",	 "ptime",   "maxptime",	   "extmap-allow-mixed"};
	static const char *const lists[] = {"candidate", "crypto", "ssrc", "ssrc-group", "msid",
					    "extmap",	 "curr",   "des",  "conf",	 "fingerprint"};
	static const char *const flags[] = {"rtcp-mux", "rtcp-mux-only", "rtcp-rsize", "end-of-candidates"};

	same_str(ma->type, mb->type, "type");
	assert_int_equal(ma->port, mb->port);
	assert_int_equal(ma->nports, mb->nports);
	same_str(ma->proto, mb->proto, "proto");
	assert_int_equal(ma->n_fmts, mb->n_fmts);
	for (unsigned i = 0; i < ma->n_fmts; i++)
		same_str(ma->fmts[i], mb->fmts[i], "fmt");
	same_str(wims_sdp_conn(&A, ma)->addr, wims_sdp_conn(&B, mb)->addr, "c=");
	assert_int_equal(ma->n_bw, mb->n_bw);
	for (unsigned i = 0; i < ma->n_bw; i++)
		assert_int_equal(ma->bw[i].value, mb->bw[i].value);
	same_codecs(ma, mb);
	for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++)
		same_attr(ma, mb, single[i]);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		assert_int_equal(wims_sdp_has(&A, ma, flags[i]), wims_sdp_has(&B, mb, flags[i]));
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (wims_sdp_attrs_find(&ma->attrs, lists[i])) /* session-level ones move */
			same_lists(ma, mb, lists[i]);
	assert_int_equal(wims_sdp_direction(&A, ma), wims_sdp_direction(&B, mb));
	assert_int_equal(wims_sdp_setup(&A, ma), wims_sdp_setup(&B, mb));
}

static void round_trip(const char *name)
{
	const char *dir = getenv("WIMS_TEST_DATA");
	char path[512];
	struct wims_sdp_group ga, gb;
	struct wims_wbuf w2;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/sdp/%s", dir ? dir : "tests/data", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	n = fread(IN, 1, sizeof(IN), f);
	fclose(f);
	assert_int_equal(wims_sdp_parse(&A, IN, n), 0);
	assert_int_equal(wims_sdp_out_from(&ST, &A), 0);
	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sdp_write(&W, &ST.out), 0);
	if (wims_sdp_parse(&B, W.p, W.len) != 0)
		fail_msg("%s: reparse: %s\n%.*s", name, B.err, (int)W.len, W.p);
	same_str(A.o.username, B.o.username, "o user");
	same_str(A.o.sess_id, B.o.sess_id, "o sess-id");
	same_str(A.o.sess_version, B.o.sess_version, "o version");
	same_str(A.o.addrtype, B.o.addrtype, "o addrtype");
	same_str(A.o.addr, B.o.addr, "o addr");
	same_str(A.name, B.name, "s=");
	same_str(A.c.addr, B.c.addr, "c=");
	assert_int_equal(A.n_bw, B.n_bw);
	assert_int_equal(A.n_media, B.n_media);
	assert_int_equal(wims_sdp_bundle(&A, &ga) == 0, wims_sdp_bundle(&B, &gb) == 0);
	if (wims_sdp_bundle(&A, &ga) == 0) {
		assert_int_equal(wims_sdp_bundle(&B, &gb), 0);
		assert_int_equal(ga.n, gb.n);
	}
	same_attr(NULL, NULL, "msid-semantic");
	assert_int_equal(wims_sdp_has(&A, NULL, "ice-lite"), wims_sdp_has(&B, NULL, "ice-lite"));
	for (unsigned i = 0; i < A.n_media; i++)
		same_media(&A.media[i], &B.media[i]);
	/* writing what was written again gives the same bytes */
	assert_int_equal(wims_sdp_out_from(&ST, &B), 0);
	wims_wbuf_init(&w2, OUT2, sizeof(OUT2));
	assert_int_equal(wims_sdp_write(&w2, &ST.out), 0);
	if (w2.len != W.len || memcmp(w2.p, W.p, W.len) != 0)
		fail_msg("%s: not idempotent:\n%.*s\n---\n%.*s", name, (int)W.len, W.p, (int)w2.len, w2.p);
}

static void test_round_trips(void **state)
{
	round_trip("chrome_offer.sdp");
	round_trip("firefox_offer.sdp");
	round_trip("werift_offer.sdp");
	round_trip("ims_offer.sdp");
	round_trip("ims_answer.sdp");
}

static void test_out_from_inline(void **state)
{
	static const char sdp[] =
	    "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
	    "m=audio 5000 RTP/SAVP 0 8\r\n"
	    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo|2^20 "
	    "UNENCRYPTED_SRTCP\r\n"
	    "a=inactive\r\n"
	    "m=video 0 RTP/AVP 96\r\n";

	assert_int_equal(wims_sdp_parse(&A, sdp, sizeof(sdp) - 1), 0);
	assert_int_equal(wims_sdp_out_from(&ST, &A), 0);
	assert_int_equal(ST.media[0].n_cryptos, 1);
	assert_int_equal(ST.media[0].dir, WIMS_SDP_DIR_INACTIVE);
	assert_int_equal(ST.media[0].n_codecs, 2);
	assert_true(wims_str_eqc(ST.media[0].codecs[1].enc, "PCMA"));
	assert_int_equal(ST.media[1].n_codecs, 1);
	ST.media[1].rejected = true;
	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sdp_write(&W, &ST.out), 0);
	assert_non_null(
	    strstr(OUT, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo|2^20 "
			"UNENCRYPTED_SRTCP\r\n"));
	assert_int_equal(wims_sdp_parse(&B, W.p, W.len), 0);
	assert_int_equal(B.media[1].port, 0);
	assert_int_equal(B.media[1].attrs.n, 0);
	/* an attribute the writer must understand, malformed: refused */
	static const char bad[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
				  "m=audio 5000 RTP/AVP 0\r\na=rtcp:x\r\n";
	assert_int_equal(wims_sdp_parse(&A, bad, sizeof(bad) - 1), 0);
	assert_int_equal(wims_sdp_out_from(&ST, &A), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_webrtc_answer), cmocka_unit_test(test_ims_offer),
	    cmocka_unit_test(test_rejected),	  cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_round_trips),	  cmocka_unit_test(test_out_from_inline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
