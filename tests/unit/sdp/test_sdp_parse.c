/* SDP parser and accessors: real-world offers/answers (tests/data/sdp) and
 * every malformed shape that is to be rejected cleanly. */
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

static struct wims_sdp S;
static char FILEBUF[WIMS_SDP_MAX_SIZE + 1];
static struct wims_sdp_codec C[WIMS_SDP_MAX_FMTS];

#define S_(c) wims_str_c(c)

static void assert_str(struct wims_str s, const char *want)
{
	if (!s.p || !wims_str_eqc(s, want))
		fail_msg("want '%s', got '%.*s'%s", want, (int)s.l, s.p ? s.p : "", s.p ? "" : " (unset)");
}

static size_t read_sample(const char *name)
{
	const char *dir = getenv("WIMS_TEST_DATA");
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/sdp/%s", dir ? dir : "tests/data", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	n = fread(FILEBUF, 1, sizeof(FILEBUF) - 1, f);
	fclose(f);
	return n;
}

static void load(const char *name)
{
	size_t n = read_sample(name);
	int rc = wims_sdp_parse(&S, FILEBUF, n);

	if (rc != 0)
		fail_msg("%s: %d %s (line %u)", name, rc, S.err, S.err_line);
}

static void parse_str(const char *sdp)
{
	int rc = wims_sdp_parse(&S, sdp, strlen(sdp));

	if (rc != 0)
		fail_msg("%d %s (line %u)", rc, S.err, S.err_line);
}

static const struct wims_sdp_attr *nth(const struct wims_sdp_attrs *a, const char *name, unsigned k)
{
	const struct wims_sdp_attr *x = NULL;
	unsigned it = 0;

	for (unsigned i = 0; i <= k; i++)
		x = wims_sdp_attrs_next(a, name, &it);
	assert_non_null(x);
	return x;
}

static void test_chrome_session(void **state)
{
	struct wims_sdp_group g;

	load("chrome_offer.sdp");
	assert_int_equal(S.n_media, 2);
	assert_str(S.o.username, "-");
	assert_str(S.o.sess_id, "4611731400430051336");
	assert_str(S.o.sess_version, "2");
	assert_str(S.o.nettype, "IN");
	assert_str(S.o.addrtype, "IP4");
	assert_str(S.o.addr, "127.0.0.1");
	assert_str(S.name, "-");
	assert_str(S.t_start, "0");
	assert_str(S.t_stop, "0");
	assert_null(S.c.addr.p);
	assert_int_equal(wims_sdp_bundle(&S, &g), 0);
	assert_int_equal(g.n, 2);
	assert_str(g.mids[0], "0");
	assert_str(g.mids[1], "1");
	assert_str(wims_sdp_attr(&S, NULL, "msid-semantic")->value,
		   " WMS 5f3b1e0a-7c2d-4b8e-9a61-3d2f0c9e8b71");
	/* session-level extmap-allow-mixed applies to each m= */
	assert_true(wims_sdp_has(&S, &S.media[1], "extmap-allow-mixed"));
	assert_false(wims_sdp_has(&S, &S.media[1], "ice-lite"));
	assert_int_equal(wims_sdp_media_by_mid(&S, S_("1")), 1);
	assert_int_equal(wims_sdp_media_by_mid(&S, S_("7")), -ENOENT);
}

static void test_chrome_audio(void **state)
{
	const struct wims_sdp_media *m;
	struct wims_sdp_cand c;
	struct wims_sdp_fingerprint fp;
	struct wims_sdp_rtcp r;
	struct wims_sdp_extmap x;
	struct wims_sdp_ssrc ss;
	struct wims_sdp_msid ms;
	int n;

	load("chrome_offer.sdp");
	m = &S.media[0];
	assert_str(m->type, "audio");
	assert_int_equal(m->port, 9);
	assert_int_equal(m->nports, 1);
	assert_str(m->proto, "UDP/TLS/RTP/SAVPF");
	assert_int_equal(m->n_fmts, 8);
	assert_str(wims_sdp_conn(&S, m)->addr, "0.0.0.0");
	n = wims_sdp_codecs(m, C, WIMS_SDP_MAX_FMTS);
	assert_int_equal(n, 8);
	assert_int_equal(C[0].pt, 111);
	assert_str(C[0].enc, "opus");
	assert_int_equal(C[0].clock, 48000);
	assert_int_equal(C[0].channels, 2);
	assert_str(C[0].fmtp, "minptime=10;useinbandfec=1");
	assert_int_equal(C[0].n_rtcp_fb, 1);
	assert_str(C[0].rtcp_fb[0], "transport-cc");
	assert_str(C[1].enc, "red");
	assert_str(C[1].fmtp, "111/111");
	assert_str(C[2].enc, "G722");
	assert_str(C[3].enc, "PCMU");
	assert_int_equal(C[3].channels, 1);
	assert_null(C[3].fmtp.p);
	assert_str(C[5].enc, "CN");
	assert_str(C[6].enc, "telephone-event");
	assert_int_equal(C[6].clock, 48000);
	assert_int_equal(C[7].clock, 8000);

	assert_int_equal(wims_sdp_cand_parse(nth(&m->attrs, "candidate", 0)->value, &c), 0);
	assert_str(c.foundation, "2842483651");
	assert_int_equal(c.component, 1);
	assert_str(c.transport, "udp");
	assert_int_equal(c.priority, 2122260223u);
	assert_str(c.addr, "1f4712db-ea17-4bcf-a596-105139dfd8bf.local");
	assert_true(wims_sdp_cand_is_mdns(&c));
	assert_int_equal(c.port, 52953);
	assert_str(c.type, "host");
	assert_null(c.raddr.p);
	assert_str(c.ext, "generation 0 network-id 1 network-cost 10");
	assert_int_equal(wims_sdp_cand_parse(nth(&m->attrs, "candidate", 1)->value, &c), 0);
	assert_false(wims_sdp_cand_is_mdns(&c));
	assert_str(c.type, "srflx");
	assert_str(c.raddr, "0.0.0.0");
	assert_int_equal(c.rport, 0);

	assert_str(wims_sdp_attr(&S, m, "ice-ufrag")->value, "Kx3q");
	assert_str(wims_sdp_attr(&S, m, "ice-pwd")->value, "Lw4yZk8b2sVf5nP0rT7uQ1aE");
	assert_str(wims_sdp_attr(&S, m, "ice-options")->value, "trickle");
	assert_int_equal(wims_sdp_fingerprint_parse(wims_sdp_attr(&S, m, "fingerprint")->value, &fp), 0);
	assert_str(fp.hash, "sha-256");
	assert_int_equal(fp.value.l, 95);
	assert_int_equal(wims_sdp_setup(&S, m), WIMS_SDP_SETUP_ACTPASS);
	assert_str(wims_sdp_mid(m), "0");
	assert_int_equal(wims_sdp_rtcp_parse(wims_sdp_attr(&S, m, "rtcp")->value, &r), 0);
	assert_int_equal(r.port, 9);
	assert_str(r.addrtype, "IP4");
	assert_str(r.addr, "0.0.0.0");
	assert_true(wims_sdp_has(&S, m, "rtcp-mux"));
	assert_false(wims_sdp_has(&S, m, "rtcp-rsize"));
	assert_null(wims_sdp_attr(&S, m, "rtcp-mux")->value.p); /* a flag */
	assert_int_equal(wims_sdp_direction(&S, m), WIMS_SDP_DIR_SENDRECV);
	assert_int_equal(wims_sdp_extmap_parse(nth(&m->attrs, "extmap", 0)->value, &x), 0);
	assert_int_equal(x.id, 1);
	assert_null(x.dir.p);
	assert_str(x.uri, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
	assert_int_equal(wims_sdp_ssrc_parse(nth(&m->attrs, "ssrc", 0)->value, &ss), 0);
	assert_int_equal(ss.id, 3735928559u);
	assert_str(ss.attr, "cname");
	assert_str(ss.value, "f9Qm2kP8xW1zR4tB");
	assert_int_equal(wims_sdp_msid_parse(wims_sdp_attr(&S, m, "msid")->value, &ms), 0);
	assert_str(ms.stream, "5f3b1e0a-7c2d-4b8e-9a61-3d2f0c9e8b71");
	assert_str(ms.track, "0c6f1e7a-8d2b-4a55-b1e3-2f9d7c6a5b40");
}

static void test_chrome_video(void **state)
{
	const struct wims_sdp_media *m;
	struct wims_sdp_ssrc_group g;
	int n;

	load("chrome_offer.sdp");
	m = &S.media[1];
	assert_str(m->type, "video");
	n = wims_sdp_codecs(m, C, WIMS_SDP_MAX_FMTS);
	assert_int_equal(n, 4);
	assert_str(C[0].enc, "VP8");
	assert_int_equal(C[0].clock, 90000);
	assert_int_equal(C[0].n_rtcp_fb, 5);
	assert_str(C[0].rtcp_fb[4], "nack pli");
	assert_str(C[1].enc, "rtx");
	assert_str(C[1].fmtp, "apt=96");
	assert_str(C[2].enc, "H264");
	assert_str(C[2].fmtp, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f");
	assert_true(wims_sdp_has(&S, m, "rtcp-rsize"));
	assert_int_equal(wims_sdp_ssrc_group_parse(wims_sdp_attr(&S, m, "ssrc-group")->value, &g), 0);
	assert_str(g.semantics, "FID");
	assert_int_equal(g.n, 2);
	assert_int_equal(g.ssrcs[0], 2231627014u);
	assert_int_equal(g.ssrcs[1], 632943048u);
	assert_str(wims_sdp_mid(m), "1");
}

static void test_firefox(void **state)
{
	const struct wims_sdp_media *m;
	struct wims_sdp_fingerprint fp;
	struct wims_sdp_cand c;
	struct wims_sdp_extmap x;
	int n;

	load("firefox_offer.sdp");
	assert_int_equal(S.n_media, 2);
	assert_str(S.o.username, "mozilla...THIS_IS_SDPARTA-99.0");
	m = &S.media[0];
	/* fingerprint and ice-options only at session level: fallback */
	assert_non_null(wims_sdp_attr(&S, m, "fingerprint"));
	assert_null(wims_sdp_attrs_find(&m->attrs, "fingerprint"));
	assert_int_equal(wims_sdp_fingerprint_parse(wims_sdp_attr(&S, m, "fingerprint")->value, &fp), 0);
	assert_str(fp.hash, "sha-256");
	assert_str(wims_sdp_attr(&S, m, "ice-options")->value, "trickle");
	/* msid-semantic is not one of the fallbacks */
	assert_null(wims_sdp_attr(&S, m, "msid-semantic"));
	assert_int_equal(wims_sdp_cand_parse(nth(&m->attrs, "candidate", 1)->value, &c), 0);
	assert_str(c.transport, "TCP");
	assert_str(c.tcptype, "active");
	assert_null(c.ext.p);
	assert_true(wims_sdp_has(&S, m, "end-of-candidates"));
	assert_int_equal(wims_sdp_extmap_parse(nth(&m->attrs, "extmap", 1)->value, &x), 0);
	assert_int_equal(x.id, 2);
	assert_str(x.dir, "recvonly");
	n = wims_sdp_codecs(m, C, WIMS_SDP_MAX_FMTS);
	assert_int_equal(n, 5);
	assert_str(C[1].enc, "G722");
	assert_int_equal(C[1].channels, 1);
	assert_str(C[4].enc, "telephone-event");
	assert_str(C[4].fmtp, "0-15");
	assert_null(wims_sdp_attr(&S, m, "rtcp"));
	n = wims_sdp_codecs(&S.media[1], C, WIMS_SDP_MAX_FMTS);
	assert_int_equal(n, 8);
	assert_str(C[7].enc, "rtx");
	assert_str(C[7].fmtp, "apt=97");
	assert_int_equal(C[0].n_rtcp_fb, 5);
	/* cap too small */
	assert_int_equal(wims_sdp_codecs(&S.media[1], C, 3), -E2BIG);
}

static void test_werift_lf(void **state)
{
	const struct wims_sdp_media *m;
	struct wims_sdp_cand c;

	load("werift_offer.sdp");
	assert_int_equal(S.n_media, 1);
	m = &S.media[0];
	assert_int_equal(m->port, 41823);
	assert_str(m->c.addr, "192.0.2.10");
	assert_str(wims_sdp_attr(&S, m, "msid")->value, "remote 8e2b4f1a-0c3d-4e5f-9a8b-7c6d5e4f3a2b");
	assert_int_equal(wims_sdp_cand_parse(nth(&m->attrs, "candidate", 1)->value, &c), 0);
	assert_str(c.raddr, "192.0.2.10");
	assert_int_equal(c.rport, 41823);
	assert_int_equal(wims_sdp_codecs(m, C, WIMS_SDP_MAX_FMTS), 2);
	assert_int_equal(C[0].n_rtcp_fb, 1);
}

static void test_ims_offer(void **state)
{
	const struct wims_sdp_media *m;
	struct wims_sdp_rtcp r;
	struct wims_sdp_precond pc;
	uint32_t v;

	load("ims_offer.sdp");
	assert_str(S.o.username, "rue");
	assert_str(S.o.addrtype, "IP6");
	assert_str(S.o.addr, "2001:db8:0:1::1");
	assert_str(S.c.addrtype, "IP6");
	assert_int_equal(S.n_bw, 1);
	assert_str(S.bw[0].type, "AS");
	assert_int_equal(S.bw[0].value, 50);
	m = &S.media[0];
	assert_str(wims_sdp_conn(&S, m)->addr, "2001:db8:0:1::1");
	assert_int_equal(m->n_bw, 3);
	assert_str(m->bw[1].type, "RS");
	assert_int_equal(m->bw[1].value, 0);
	assert_int_equal(m->bw[2].value, 1000);
	assert_int_equal(wims_sdp_codecs(m, C, WIMS_SDP_MAX_FMTS), 6);
	assert_str(C[0].enc, "AMR-WB");
	assert_int_equal(C[0].clock, 16000);
	assert_int_equal(C[0].channels, 1);
	assert_str(C[0].fmtp, "octet-align=0;mode-change-capability=2;max-red=0");
	assert_str(C[3].fmtp, "octet-align=1;mode-change-capability=2;max-red=0");
	assert_str(C[2].enc, "AMR");
	assert_int_equal(C[2].clock, 8000);
	assert_str(C[4].enc, "telephone-event");
	assert_int_equal(C[4].clock, 16000);
	assert_int_equal(C[5].clock, 8000);
	assert_int_equal(wims_sdp_attr_u32(&S, m, "ptime", &v), 0);
	assert_int_equal(v, 20);
	assert_int_equal(wims_sdp_attr_u32(&S, m, "maxptime", &v), 0);
	assert_int_equal(v, 240);
	assert_int_equal(wims_sdp_attr_u32(&S, m, "framerate", &v), -ENOENT);
	assert_int_equal(wims_sdp_rtcp_parse(wims_sdp_attr(&S, m, "rtcp")->value, &r), 0);
	assert_int_equal(r.port, 49153);
	assert_null(r.addr.p);
	assert_null(wims_sdp_attr(&S, m, "ice-ufrag"));
	assert_int_equal(wims_sdp_setup(&S, m), WIMS_SDP_SETUP_NONE);
	assert_int_equal(wims_sdp_precond_parse(nth(&m->attrs, "curr", 1)->value, false, &pc), 0);
	assert_str(pc.type, "qos");
	assert_str(pc.status, "remote");
	assert_str(pc.dir, "none");
	assert_int_equal(wims_sdp_precond_parse(nth(&m->attrs, "des", 0)->value, true, &pc), 0);
	assert_str(pc.strength, "mandatory");
	assert_str(pc.status, "local");
	assert_str(pc.dir, "sendrecv");
	assert_int_equal(wims_sdp_direction(&S, m), WIMS_SDP_DIR_SENDRECV);
}

static void test_codec_helpers(void **state)
{
	struct wims_str v;
	int n;

	load("ims_offer.sdp");
	n = wims_sdp_codecs(&S.media[0], C, WIMS_SDP_MAX_FMTS);
	assert_int_equal(n, 6);
	assert_ptr_equal(wims_sdp_codec_find(C, (unsigned)n, "amr-wb", 0), &C[0]);
	assert_ptr_equal(wims_sdp_codec_find(C, (unsigned)n, "telephone-event", 8000), &C[5]);
	assert_null(wims_sdp_codec_find(C, (unsigned)n, "opus", 0));
	assert_int_equal(wims_sdp_fmtp_param(C[0].fmtp, "octet-align", &v), 0);
	assert_str(v, "0");
	assert_int_equal(wims_sdp_fmtp_param(C[1].fmtp, "OCTET-ALIGN", &v), 0);
	assert_str(v, "1");
	assert_int_equal(wims_sdp_fmtp_param(C[0].fmtp, "mode-change-capability", &v), 0);
	assert_str(v, "2");
	assert_int_equal(wims_sdp_fmtp_param(C[0].fmtp, "mode-set", &v), -ENOENT);
	assert_int_equal(wims_sdp_fmtp_param(C[4].fmtp, "0-15", &v), 0);
	assert_int_equal(v.l, 0);
	assert_int_equal(wims_sdp_fmtp_param(S_(" a = 1 ;b=2;; c"), "b", &v), 0);
	assert_str(v, "2");
	assert_int_equal(wims_sdp_fmtp_param(S_(" a = 1 ;b=2;; c"), "a", &v), 0);
	assert_str(v, "1");
	assert_int_equal(wims_sdp_fmtp_param(WIMS_STR_NULL, "a", &v), -ENOENT);
}

static void test_ims_answer(void **state)
{
	const struct wims_sdp_media *m;
	struct wims_sdp_rtcp r;
	struct wims_sdp_precond pc;

	load("ims_answer.sdp");
	assert_str(S.name, "SBC call");
	m = &S.media[0];
	assert_int_equal(m->port, 30000);
	assert_int_equal(wims_sdp_codecs(m, C, WIMS_SDP_MAX_FMTS), 2);
	assert_str(C[0].enc, "AMR-WB");
	assert_int_equal(C[0].channels, 1);
	assert_int_equal(wims_sdp_rtcp_parse(wims_sdp_attr(&S, m, "rtcp")->value, &r), 0);
	assert_int_equal(r.port, 30001);
	assert_str(r.nettype, "IN");
	assert_str(r.addr, "198.51.100.20");
	assert_int_equal(wims_sdp_precond_parse(wims_sdp_attr(&S, m, "conf")->value, false, &pc), 0);
	assert_str(pc.status, "remote");
	assert_str(pc.dir, "sendrecv");
	assert_int_equal(wims_sdp_precond_parse(S_("qos e2e"), false, &pc), -EBADMSG);
}

#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"

static void test_static_pts_and_ports(void **state)
{
	parse_str(HEAD "m=audio 5000/2 RTP/AVP 0 8 9 18 13 3\r\n");
	assert_int_equal(S.media[0].port, 5000);
	assert_int_equal(S.media[0].nports, 2);
	assert_int_equal(wims_sdp_codecs(&S.media[0], C, WIMS_SDP_MAX_FMTS), 6);
	assert_str(C[0].enc, "PCMU");
	assert_str(C[1].enc, "PCMA");
	assert_str(C[2].enc, "G722");
	assert_str(C[3].enc, "G729");
	assert_str(C[4].enc, "CN");
	assert_str(C[5].enc, "GSM");
	for (int i = 0; i < 6; i++)
		assert_int_equal(C[i].clock, 8000);
	/* a dynamic PT without rtpmap: enc unset, not an error */
	parse_str(HEAD "m=audio 5000 RTP/AVP 96\r\n");
	assert_int_equal(wims_sdp_codecs(&S.media[0], C, WIMS_SDP_MAX_FMTS), 1);
	assert_null(C[0].enc.p);
	/* data channel: fmts are not PTs */
	parse_str(HEAD "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sctp-port:5000\r\n");
	assert_int_equal(wims_sdp_codecs(&S.media[0], C, WIMS_SDP_MAX_FMTS), 0);
	assert_str(S.media[0].fmts[0], "webrtc-datachannel");
	/* wildcard rtcp-fb goes to every codec */
	parse_str(HEAD "m=video 5000 RTP/AVPF 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 VP9/90000\r\n"
		       "a=rtcp-fb:* nack\r\na=rtcp-fb:97 ccm fir\r\n");
	assert_int_equal(wims_sdp_codecs(&S.media[0], C, WIMS_SDP_MAX_FMTS), 2);
	assert_int_equal(C[0].n_rtcp_fb, 1);
	assert_int_equal(C[1].n_rtcp_fb, 2);
	assert_str(C[1].rtcp_fb[1], "ccm fir");
}

static void test_codec_errors(void **state)
{
	parse_str(HEAD "m=audio 5000 RTP/AVP 0 101 101\r\n");
	assert_int_equal(wims_sdp_codecs(&S.media[0], C, WIMS_SDP_MAX_FMTS), -EBADMSG);
	parse_str(HEAD "m=audio 5000 RTP/AVP 0 x\r\n");
	assert_int_equal(wims_sdp_codecs(&S.media[0], C, WIMS_SDP_MAX_FMTS), -EBADMSG);
	parse_str(HEAD "m=audio 5000 RTP/AVP 128\r\n");
	assert_int_equal(wims_sdp_codecs(&S.media[0], C, WIMS_SDP_MAX_FMTS), -EBADMSG);
	parse_str(HEAD "m=audio 5000 RTP/AVP 96\r\na=rtpmap:96 opus\r\n");
	assert_int_equal(wims_sdp_codecs(&S.media[0], C, WIMS_SDP_MAX_FMTS), -EBADMSG);
	parse_str(HEAD "m=audio 5000 RTP/AVP 96\r\na=rtpmap:96 opus/0\r\n");
	assert_int_equal(wims_sdp_codecs(&S.media[0], C, WIMS_SDP_MAX_FMTS), -EBADMSG);
	/* an rtpmap for an unlisted PT is ignored */
	parse_str(HEAD "m=audio 5000 RTP/AVP 0\r\na=rtpmap:96 bad\r\n");
	assert_int_equal(wims_sdp_codecs(&S.media[0], C, WIMS_SDP_MAX_FMTS), 1);
}

static void test_sdes_and_direction(void **state)
{
	struct wims_sdp_crypto k;
	const struct wims_sdp_media *m;

	parse_str(HEAD
		  "a=recvonly\r\n"
		  "m=audio 5000 RTP/SAVP 0\r\n"
		  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
		  "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4 UNENCRYPTED_SRTCP\r\n"
		  "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n"
		  "m=audio 5002 RTP/AVP 0\r\na=inactive\r\n"
		  "m=audio 5004 RTP/AVP 0\r\na=sendrecv\r\na=sendonly\r\n");
	m = &S.media[0];
	assert_int_equal(wims_sdp_crypto_parse(nth(&m->attrs, "crypto", 0)->value, &k), 0);
	assert_int_equal(k.tag, 1);
	assert_str(k.suite, "AES_CM_128_HMAC_SHA1_80");
	assert_str(k.key_params, "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4");
	assert_str(k.key, "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz");
	assert_str(k.session_params, "UNENCRYPTED_SRTCP");
	assert_int_equal(wims_sdp_crypto_parse(nth(&m->attrs, "crypto", 1)->value, &k), 0);
	assert_int_equal(k.tag, 2);
	assert_null(k.session_params.p);
	assert_int_equal(wims_sdp_crypto_parse(S_("1 AES_CM_128_HMAC_SHA1_80"), &k), -EBADMSG);
	assert_int_equal(wims_sdp_direction(&S, m), WIMS_SDP_DIR_RECVONLY); /* session default */
	assert_int_equal(wims_sdp_direction(&S, &S.media[1]), WIMS_SDP_DIR_INACTIVE);
	assert_int_equal(wims_sdp_direction(&S, &S.media[2]), WIMS_SDP_DIR_SENDONLY); /* the last */
	assert_string_equal(wims_sdp_dir_name(WIMS_SDP_DIR_SENDONLY), "sendonly");
	parse_str(HEAD "m=audio 5000 RTP/AVP 0\r\na=setup:holdconn\r\n");
	assert_int_equal(wims_sdp_setup(&S, &S.media[0]), WIMS_SDP_SETUP_HOLDCONN);
	parse_str(HEAD "a=setup:passive\r\nm=audio 5000 RTP/AVP 0\r\n");
	assert_int_equal(wims_sdp_setup(&S, &S.media[0]), WIMS_SDP_SETUP_PASSIVE);
	parse_str(HEAD "m=audio 5000 RTP/AVP 0\r\na=setup:sideways\r\n");
	assert_int_equal(wims_sdp_setup(&S, &S.media[0]), -EBADMSG);
}

static void test_attr_levels(void **state)
{
	/* attributes before any m= are session-level, after belong to the m= */
	parse_str(HEAD "a=tool:x\r\na=ice-lite\r\nm=audio 5000 RTP/AVP 0\r\na=tool:y\r\na=x-empty:\r\n");
	assert_int_equal(S.attrs.n, 2);
	assert_str(S.attrs.a[0].value, "x");
	assert_int_equal(S.media[0].attrs.n, 2);
	assert_str(wims_sdp_attr(&S, &S.media[0], "tool")->value, "y");
	assert_true(wims_sdp_has(&S, &S.media[0], "ice-lite")); /* fallback */
	assert_str(S.media[0].attrs.a[1].value, "");		/* set but empty */
	assert_str(S.media[0].attrs.a[1].raw, "x-empty:");
	/* tool is not a fallback attribute */
	parse_str(HEAD "a=tool:x\r\nm=audio 5000 RTP/AVP 0\r\n");
	assert_null(wims_sdp_attr(&S, &S.media[0], "tool"));
	/* no c= anywhere: the accessor says so */
	parse_str("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n");
	assert_null(wims_sdp_conn(&S, &S.media[0]));
	/* c= with TTL, i=, unknown letters and trailing blank lines are fine;
	 * a last line without newline too */
	parse_str("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=x\ni=info\nu=http://x\ne=a@b\nc=IN IP4 233.252.0.1/127\n"
		  "t=3034423619 3042462419\nr=604800 3600 0 90000\nx=unknown\nm=audio 5000 RTP/AVP 0\n"
		  "i=m info\nk=prompt\na=rtcp-mux\r\n\r\n\r\n");
	assert_str(S.c.addr, "233.252.0.1");
	assert_str(S.c.ttl, "127");
	assert_str(S.media[0].info, "m info");
	parse_str(HEAD "m=audio 5000 RTP/AVP 0\r\na=rtcp-mux");
	assert_true(wims_sdp_has(&S, &S.media[0], "rtcp-mux"));
	/* UTF-8 in s= and a= values is allowed */
	parse_str("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=G\xc3\xbcnter\r\nt=0 0\r\na=label:\xe2\x9c\x93\r\n");
}

static void test_typed_errors(void **state)
{
	struct wims_sdp_cand c;
	struct wims_sdp_rtcp r;
	struct wims_sdp_group g;
	struct wims_sdp_extmap x;
	struct wims_sdp_ssrc ss;
	struct wims_sdp_fingerprint fp;
	struct wims_sdp_msid ms;

	assert_int_equal(wims_sdp_cand_parse(S_("1 1 udp 1 1.2.3.4 99999 typ host"), &c), -EBADMSG);
	assert_int_equal(wims_sdp_cand_parse(S_("1 1 udp 1 1.2.3.4 9 host"), &c), -EBADMSG);
	assert_int_equal(wims_sdp_cand_parse(S_("1 0 udp 1 1.2.3.4 9 typ host"), &c), -EBADMSG);
	assert_int_equal(wims_sdp_cand_parse(S_("1 1 udp x 1.2.3.4 9 typ host"), &c), -EBADMSG);
	assert_int_equal(wims_sdp_cand_parse(S_("1 1 udp 1 1.2.3.4 9 typ relay raddr 1.1.1.1 rport x"), &c),
			 -EBADMSG);
	assert_int_equal(wims_sdp_cand_parse(S_(""), &c), -EBADMSG);
	assert_int_equal(wims_sdp_rtcp_parse(S_("70000"), &r), -EBADMSG);
	assert_int_equal(wims_sdp_rtcp_parse(S_("9 IN IP4"), &r), -EBADMSG);
	assert_int_equal(wims_sdp_group_parse(S_(""), &g), -EBADMSG);
	assert_int_equal(wims_sdp_group_parse(S_("BUNDLE 0 1 2 3 4 5 6 7 8 9 a b c d e f g"), &g), -E2BIG);
	assert_int_equal(wims_sdp_extmap_parse(S_("0 urn:x"), &x), -EBADMSG);
	assert_int_equal(wims_sdp_extmap_parse(S_("1/sendrecv"), &x), -EBADMSG);
	assert_int_equal(wims_sdp_extmap_parse(S_("3/sendonly urn:x foo"), &x), 0);
	assert_str(x.params, "foo");
	assert_int_equal(wims_sdp_ssrc_parse(S_("12"), &ss), -EBADMSG);
	assert_int_equal(wims_sdp_ssrc_parse(S_("4294967296 cname:x"), &ss), -EBADMSG);
	assert_int_equal(wims_sdp_ssrc_parse(S_("1 mslabel"), &ss), 0);
	assert_null(ss.value.p);
	assert_int_equal(wims_sdp_fingerprint_parse(S_("sha-256"), &fp), -EBADMSG);
	assert_int_equal(wims_sdp_msid_parse(S_("a b c"), &ms), -EBADMSG);
	assert_int_equal(wims_sdp_msid_parse(S_("a"), &ms), 0);
	assert_null(ms.track.p);
}

struct bad {
	const char *sdp;
	int rc;
	const char *why;
};

static const struct bad BAD[] = {
    {"v=\nv=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\n", -EBADMSG, "v= is not 0"}, /* rtpengine #1958 */
    {"v=0\nv=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\n", -EBADMSG, "duplicate v= line"},
    {"o=- 1 1 IN IP4 1.2.3.4\nv=0\ns=-\n", -EBADMSG, "first line is not v="},
    {"v=1\no=- 1 1 IN IP4 1.2.3.4\ns=-\n", -EBADMSG, "v= is not 0"},
    {"", -EBADMSG, "empty SDP"},
    {"\r\n", -EBADMSG, "empty line"},
    {"v=0\r\n\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n", -EBADMSG, "empty line"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nbogus\n", -EBADMSG, "line without '='"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\na\n", -EBADMSG, "line without '='"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\n=x\n", -EBADMSG, "line without '='"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nA=x\n", -EBADMSG, "line type is not a lowercase letter"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\n\xff\xfe=x\n", -EBADMSG, "line without '='"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\n\xff=x\n", -EBADMSG, "line type is not a lowercase letter"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.\xc3\xa9\n", -EBADMSG, "non-ASCII byte in line"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\na=x:\x01y\n", -EBADMSG, "control character in line"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\na=x:y\rz\n", -EBADMSG, "control character in line"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio\n", -EBADMSG, "m= line without port"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio x RTP/AVP 0\n", -EBADMSG, "m= port is not a number"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio -1 RTP/AVP 0\n", -EBADMSG, "m= port is not a number"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio 65536 RTP/AVP 0\n", -EBADMSG, "m= port above 65535"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio 99999999999999999999999 RTP/AVP 0\n", -EBADMSG,
     "m= port is not a number"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio 5000/0 RTP/AVP 0\n", -EBADMSG,
     "m= number of ports out of range"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio 5000/ RTP/AVP 0\n", -EBADMSG,
     "m= number of ports is not a number"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio 5000\n", -EBADMSG, "m= line without proto"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio 5000 RTP/AVP\n", -EBADMSG, "m= line without format"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=\n", -EBADMSG, "m= line without media type"},
    {"v=0\no=- 1 1 IN IP4\ns=-\n", -EBADMSG, "o= line without 6 fields"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4 x\ns=-\n", -EBADMSG, "o= line without 6 fields"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\no=- 1 1 IN IP4 1.2.3.4\ns=-\n", -EBADMSG, "duplicate o= line"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\ns=-\n", -EBADMSG, "duplicate s= line"},
    {"v=0\ns=-\n", -EBADMSG, "no o= line"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\n", -EBADMSG, "no s= line"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4\n", -EBADMSG, "c= line without 3 fields"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 /1\n", -EBADMSG, "c= line with empty address"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\n", -EBADMSG, "duplicate c= line"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nb=AS\n", -EBADMSG, "b= line without type:value"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nb=AS:x\n", -EBADMSG, "b= value is not a number"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0\n", -EBADMSG, "t= line without 2 fields"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 x\n", -EBADMSG, "t= time is not a number"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\na=:x\n", -EBADMSG, "a= line without attribute name"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\na=\n", -EBADMSG, "a= line without attribute name"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\na=x y:z\n", -EBADMSG, "a= attribute name is not a token"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio 1 RTP/AVP 0\nt=0 0\n", -EBADMSG,
     "session-level line inside a media section"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio 1 RTP/AVP 0\no=- 1 1 IN IP4 1.2.3.4\n", -EBADMSG,
     "session-level line inside a media section"},
    {"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio 1 RTP/AVP 0\ni=a\ni=b\n", -EBADMSG, "duplicate i= line"},
};

static void test_malformed(void **state)
{
	for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
		int rc = wims_sdp_parse(&S, BAD[i].sdp, strlen(BAD[i].sdp));

		if (rc != BAD[i].rc || !S.err || strcmp(S.err, BAD[i].why) != 0)
			fail_msg("case %zu: rc %d err '%s', want %d '%s'", i, rc, S.err ? S.err : "(null)",
				 BAD[i].rc, BAD[i].why);
	}
	static const char nul[] = "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\na=x:y\0z\n";
	assert_int_equal(wims_sdp_parse(&S, nul, sizeof(nul) - 1), -EBADMSG);
	assert_string_equal(S.err, "control character in line");
	assert_int_equal(wims_sdp_parse(&S, "v=0\nx", 5), -EBADMSG);
	assert_int_equal(S.err_line, 2);
}

static char BIG[WIMS_SDP_MAX_SIZE + 64];

static void test_limits(void **state)
{
	struct wims_wbuf b;

	/* too many m= */
	wims_wbuf_init(&b, BIG, sizeof(BIG));
	wims_wbuf_puts(&b, HEAD);
	for (int i = 0; i <= WIMS_SDP_MAX_MEDIA; i++)
		wims_wbuf_puts(&b, "m=audio 1 RTP/AVP 0\r\n");
	assert_int_equal(wims_sdp_parse(&S, b.p, b.len), -E2BIG);
	assert_string_equal(S.err, "too many m= lines");
	/* exactly the limit is fine */
	assert_int_equal(wims_sdp_parse(&S, b.p, b.len - strlen("m=audio 1 RTP/AVP 0\r\n")), 0);
	assert_int_equal(S.n_media, WIMS_SDP_MAX_MEDIA);
	/* too many attributes in one section */
	wims_wbuf_init(&b, BIG, sizeof(BIG));
	wims_wbuf_puts(&b, HEAD "m=audio 1 RTP/AVP 0\r\n");
	for (int i = 0; i <= WIMS_SDP_MAX_ATTRS; i++)
		wims_wbuf_puts(&b, "a=x\r\n");
	assert_int_equal(wims_sdp_parse(&S, b.p, b.len), -E2BIG);
	assert_string_equal(S.err, "too many a= lines in one section");
	/* too many fmts */
	wims_wbuf_init(&b, BIG, sizeof(BIG));
	wims_wbuf_puts(&b, HEAD "m=audio 1 RTP/AVP");
	for (int i = 0; i <= WIMS_SDP_MAX_FMTS; i++)
		wims_wbuf_printf(&b, " %d", i);
	assert_int_equal(wims_sdp_parse(&S, b.p, b.len), -E2BIG);
	/* too many b= */
	wims_wbuf_init(&b, BIG, sizeof(BIG));
	wims_wbuf_puts(&b, HEAD);
	for (int i = 0; i <= WIMS_SDP_MAX_BW; i++)
		wims_wbuf_puts(&b, "b=AS:1\r\n");
	assert_int_equal(wims_sdp_parse(&S, b.p, b.len), -E2BIG);
	/* a line too long */
	wims_wbuf_init(&b, BIG, sizeof(BIG));
	wims_wbuf_puts(&b, HEAD "a=x:");
	for (int i = 0; i < WIMS_SDP_MAX_LINE; i++)
		wims_wbuf_put(&b, "y", 1);
	assert_int_equal(wims_sdp_parse(&S, b.p, b.len), -E2BIG);
	assert_string_equal(S.err, "line too long");
	/* the whole too large */
	memset(BIG, 'a', sizeof(BIG));
	assert_int_equal(wims_sdp_parse(&S, BIG, WIMS_SDP_MAX_SIZE + 1), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chrome_session),
	    cmocka_unit_test(test_chrome_audio),
	    cmocka_unit_test(test_chrome_video),
	    cmocka_unit_test(test_firefox),
	    cmocka_unit_test(test_werift_lf),
	    cmocka_unit_test(test_ims_offer),
	    cmocka_unit_test(test_codec_helpers),
	    cmocka_unit_test(test_ims_answer),
	    cmocka_unit_test(test_static_pts_and_ports),
	    cmocka_unit_test(test_codec_errors),
	    cmocka_unit_test(test_sdes_and_direction),
	    cmocka_unit_test(test_attr_levels),
	    cmocka_unit_test(test_typed_errors),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
