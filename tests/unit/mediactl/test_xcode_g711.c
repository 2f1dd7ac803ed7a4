/* Opus <-> G.711 over ng (issue 5, the benchmark's same-pair ratio): a
 * G.711 codec the ng codec -> transcode list names that an Opus offer lacks
 * is added to the offer toward the plain leg; an answer picking it is
 * transcoded Opus <-> G.711; the roles' automatic mode adds none. */
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

#define FP "7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08"

/* A browser offering Opus only (%s: the codecs after 111 on the m-line and
 * their rtpmaps), as wims-mediabench --xcode opus-pcmu does. */
static const char web_offer_fmt[] = "v=0\r\n"
				    "o=- 1 2 IN IP4 127.0.0.1\r\n"
				    "s=-\r\n"
				    "t=0 0\r\n"
				    "a=group:BUNDLE 0\r\n"
				    "m=audio 9 UDP/TLS/RTP/SAVPF 111%s\r\n"
				    "c=IN IP4 0.0.0.0\r\n"
				    "a=candidate:1 1 udp 2122260223 127.0.0.1 54400 typ host\r\n"
				    "a=ice-ufrag:Chr1\r\n"
				    "a=ice-pwd:chromepassword0123456789\r\n"
				    "a=fingerprint:sha-256 " FP "\r\n"
				    "a=setup:actpass\r\n"
				    "a=mid:0\r\n"
				    "a=sendrecv\r\n"
				    "a=rtcp-mux\r\n"
				    "a=rtpmap:111 opus/48000/2\r\n"
				    "a=fmtp:111 minptime=10;useinbandfec=1;maxaveragebitrate=20000\r\n"
				    "%s";

/* The plain side's answer naming one codec (%u %u %s: PT, PT, rtpmap). */
static const char plain_answer_fmt[] = "v=0\r\n"
				       "o=plain 1 1 IN IP4 127.0.0.1\r\n"
				       "s=-\r\n"
				       "c=IN IP4 127.0.0.1\r\n"
				       "t=0 0\r\n"
				       "m=audio 40010 RTP/AVP %u\r\n"
				       "a=rtpmap:%u %s\r\n"
				       "a=ptime:20\r\n"
				       "a=sendrecv\r\n";

#include "xcode_fixture.h"

/* The offer of an Opus browser: extra m-line PTs and rtpmap lines. */
static const char *web_offer(char *buf, size_t len, const char *pts, const char *maps)
{
	snprintf(buf, len, web_offer_fmt, pts, maps);
	return buf;
}

static const char te48[] = "a=rtpmap:110 telephone-event/48000\r\n";

/* The plain side answers with enc ("PCMU/8000") at the PT of our offer. */
static int plain_answer(struct fx *f, const char *cid, const char *const *xc, const char *enc, const char *rtpmap)
{
	int pt = pt_of(f, enc);
	assert_true(pt >= 0);
	char ans[512];
	snprintf(ans, sizeof(ans), plain_answer_fmt, (unsigned)pt, (unsigned)pt, rtpmap);
	return run(f, true, cid, "web", "plain", ans, xc);
}

static void test_opus_to_pcmu(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	char o[2048];
	static const char *const pcmu[] = {"PCMU", NULL};
	assert_int_equal(run(f, false, "g1", "web", NULL, web_offer(o, sizeof(o), " 110", te48), pcmu), 0);
	names_are(f, (const char *const[]){"opus", "telephone-event", "PCMU", "telephone-event", NULL});
	assert_int_equal(pt_of(f, "PCMU"), 0); /* its static PT */
	assert_int_equal(f->k[3].clock, 8000);
	struct wims_xcode_cfg x;
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c("g1"), 0, 0, &x), -ENODATA); /* not yet */
	assert_int_equal(plain_answer(f, "g1", pcmu, "PCMU", "PCMU/8000"), 0);
	/* the browser's answer: its Opus and its telephone-event */
	names_are(f, (const char *const[]){"opus", "telephone-event", NULL});
	assert_int_equal(f->k[0].pt, 111);
	assert_int_equal(f->k[1].pt, 110);
	/* from the browser (side 0): Opus in, PCMU out */
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c("g1"), 0, 0, &x), 0);
	assert_int_equal(x.in.codec->id, WIMS_CODEC_OPUS);
	assert_int_equal(x.in.pt, 111);
	assert_int_equal(x.in.te_pt, 110);
	assert_int_equal(x.out.codec->id, WIMS_CODEC_PCMU);
	assert_int_equal(x.out.pt, 0);
	assert_int_equal(x.out.ptime, 20);
	assert_int_equal(x.out.te_pt, -1); /* the plain answer has none */
	/* from the plain side: PCMU in, Opus out with the browser's fmtp */
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c("g1"), 0, 1, &x), 0);
	assert_int_equal(x.in.codec->id, WIMS_CODEC_PCMU);
	assert_int_equal(x.out.codec->id, WIMS_CODEC_OPUS);
	assert_int_equal(x.out.pt, 111);
	assert_true(x.out.params.useinbandfec);
	assert_int_equal(x.out.params.bitrate, 20000);
	assert_true(x.ssrc != 0);
	fx_free(f);
}

/* PCMA too, in the list's order; the answer picks PCMA */
static void test_opus_to_pcma(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	char o[2048];
	static const char *const both[] = {"PCMA", "PCMU", NULL};
	assert_int_equal(run(f, false, "a1", "web", NULL, web_offer(o, sizeof(o), "", ""), both), 0);
	names_are(f, (const char *const[]){"opus", "PCMA", "PCMU", NULL}); /* no telephone-event offered: none */
	assert_int_equal(pt_of(f, "PCMA"), 8);
	assert_int_equal(plain_answer(f, "a1", both, "PCMA", "PCMA/8000"), 0);
	names_are(f, (const char *const[]){"opus", NULL});
	struct wims_xcode_cfg x;
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c("a1"), 0, 1, &x), 0);
	assert_int_equal(x.in.codec->id, WIMS_CODEC_PCMA);
	assert_int_equal(x.in.pt, 8);
	assert_int_equal(x.out.codec->id, WIMS_CODEC_OPUS);
	fx_free(f);
}

/* the plain side answers Opus: passed through, nothing transcoded */
static void test_opus_answered(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	char o[2048];
	static const char *const pcmu[] = {"PCMU", NULL};
	assert_int_equal(run(f, false, "p1", "web", NULL, web_offer(o, sizeof(o), " 110", te48), pcmu), 0);
	assert_int_equal(plain_answer(f, "p1", pcmu, "opus", "opus/48000/2"), 0);
	names_are(f, (const char *const[]){"opus", NULL});
	struct wims_xcode_cfg x;
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c("p1"), 0, 0, &x), -ENODATA);
	fx_free(f);
}

/* what is not added: G.711 the offer has, G.711 without Opus, the roles' auto
 * mode; and AMR named beside G.711 still transcodes to AMR */
static void test_not_added(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	char o[2048];
	struct wims_xcode_cfg x;
	static const char *const pcmu[] = {"PCMU", NULL}, *const pcmu_wb[] = {"PCMU", "AMR-WB", NULL};
	/* the offer has PCMU: offered as it is, passed through */
	assert_int_equal(run(f, false, "n1", "web", NULL,
			     web_offer(o, sizeof(o), " 0 110", "a=rtpmap:0 PCMU/8000\r\n" "a=rtpmap:110 telephone-event/48000\r\n"),
			     pcmu),
			 0);
	names_are(f, (const char *const[]){"opus", "PCMU", "telephone-event", NULL});
	assert_int_equal(plain_answer(f, "n1", pcmu, "PCMU", "PCMU/8000"), 0);
	names_are(f, (const char *const[]){"PCMU", NULL});
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c("n1"), 0, 0, &x), -ENODATA);
	/* the roles' automatic mode adds AMR only */
	assert_int_equal(run(f, false, "n2", "web", NULL, web_offer(o, sizeof(o), " 110", te48), NULL), 0);
	assert_int_equal(pt_of(f, "PCMU"), -1);
	assert_int_equal(pt_of(f, "PCMA"), -1);
	assert_true(pt_of(f, "AMR-WB") > 0);
	/* G.711 and AMR-WB named: both added; the AMR-WB answer pairs with Opus */
	assert_int_equal(run(f, false, "n3", "web", NULL, web_offer(o, sizeof(o), " 110", te48), pcmu_wb), 0);
	names_are(f, (const char *const[]){"opus", "telephone-event", "PCMU", "telephone-event", "AMR-WB",
					  "telephone-event", NULL});
	assert_int_equal(plain_answer(f, "n3", pcmu_wb, "AMR-WB", "AMR-WB/16000"), 0);
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c("n3"), 0, 0, &x), 0);
	assert_int_equal(x.in.codec->id, WIMS_CODEC_OPUS);
	assert_int_equal(x.out.codec->id, WIMS_CODEC_AMRWB);
	fx_free(f);
}

/* a re-offer of the call without the list: nothing added, the G.711 answer
 * of before no longer transcoded; a PT 0 the offer uses moves PCMU */
static void test_reoffer_and_pt(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	char o[2048];
	struct wims_xcode_cfg x;
	static const char *const pcmu[] = {"PCMU", NULL};
	assert_int_equal(run(f, false, "r1", "web", NULL, web_offer(o, sizeof(o), " 110", te48), pcmu), 0);
	assert_int_equal(plain_answer(f, "r1", pcmu, "PCMU", "PCMU/8000"), 0);
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c("r1"), 0, 0, &x), 0);
	static const char *const none[] = {"opus", NULL}; /* an ng list without G.711 */
	assert_int_equal(run(f, false, "r1", "web", "plain", web_offer(o, sizeof(o), " 110", te48), none), 0);
	assert_int_equal(pt_of(f, "PCMU"), -1);
	assert_int_equal(plain_answer(f, "r1", none, "opus", "opus/48000/2"), 0);
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c("r1"), 0, 0, &x), -ENODATA);
	/* PT 0 taken by another codec of the offer (a misnumbered one) */
	assert_int_equal(run(f, false, "r2", "web", NULL,
			     web_offer(o, sizeof(o), " 0", "a=rtpmap:0 telephone-event/48000\r\n"), pcmu),
			 0);
	int pt = pt_of(f, "PCMU");
	assert_true(pt >= 96 && pt < 128);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_opus_to_pcmu),
	    cmocka_unit_test(test_opus_to_pcma),
	    cmocka_unit_test(test_opus_answered),
	    cmocka_unit_test(test_not_added),
	    cmocka_unit_test(test_reoffer_and_pt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
