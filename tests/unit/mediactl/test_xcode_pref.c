/* Transcoding choices of the ALG (issue 5): the codec preference
 * ([media] codec_prefer, wims_alg_opts.prefer) orders the IMS codecs added
 * to a browser's offer and the browser codecs offered for an AMR-only IMS
 * offer, and picks the browser codec paired with the IMS one; the ng
 * codec -> transcode list overrides it per call; the browser's Opus fmtp
 * ends in the parameters of the Opus encoder that sends to it. */
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

/* A browser offering Opus (with the fmtp of item 3) and PCMA, no AMR. */
static const char web_offer[] = "v=0\r\n"
				"o=- 1 2 IN IP4 127.0.0.1\r\n"
				"s=-\r\n"
				"t=0 0\r\n"
				"a=group:BUNDLE 0\r\n"
				"m=audio 9 UDP/TLS/RTP/SAVPF 111 8 110\r\n"
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
				"a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1;maxplaybackrate=16000;"
				"maxaveragebitrate=24000;stereo=1;sprop-stereo=1\r\n"
				"a=rtpmap:8 PCMA/8000\r\n"
				"a=rtpmap:110 telephone-event/48000\r\n";

/* An IMS answer naming one codec: %s is "AMR-WB/16000" or "AMR/8000" */
static const char ims_answer_fmt[] = "v=0\r\n"
				     "o=ims 1 1 IN IP4 127.0.0.1\r\n"
				     "s=-\r\n"
				     "c=IN IP4 127.0.0.1\r\n"
				     "t=0 0\r\n"
				     "m=audio 40010 RTP/AVP %u\r\n"
				     "a=rtpmap:%u %s\r\n"
				     "a=ptime:20\r\n"
				     "a=sendrecv\r\n";

/* An AMR-only IMS offer. */
static const char ims_offer[] = "v=0\r\n"
				"o=- 2 2 IN IP4 127.0.0.1\r\n"
				"s=-\r\n"
				"c=IN IP4 127.0.0.1\r\n"
				"t=0 0\r\n"
				"m=audio 40020 RTP/AVP 97 98 100\r\n"
				"a=rtpmap:97 AMR-WB/16000/1\r\n"
				"a=fmtp:97 mode-change-capability=2;max-red=0\r\n"
				"a=rtpmap:98 AMR/8000/1\r\n"
				"a=fmtp:98 mode-change-capability=2;max-red=0\r\n"
				"a=rtpmap:100 telephone-event/16000\r\n"
				"a=ptime:20\r\n"
				"a=sendrecv\r\n";

/* The browser's answer to our offer for ims_offer: Opus, DTX asked. */
static const char web_answer[] = "v=0\r\n"
				 "o=- 77 2 IN IP4 127.0.0.1\r\n"
				 "s=-\r\n"
				 "t=0 0\r\n"
				 "a=group:BUNDLE 0\r\n"
				 "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n"
				 "c=IN IP4 0.0.0.0\r\n"
				 "a=candidate:1 1 udp 2122260223 127.0.0.1 50002 typ host\r\n"
				 "a=ice-ufrag:ans1\r\n"
				 "a=ice-pwd:answerpassword0123456789\r\n"
				 "a=fingerprint:sha-256 " FP "\r\n"
				 "a=setup:active\r\n"
				 "a=mid:0\r\n"
				 "a=sendrecv\r\n"
				 "a=rtcp-mux\r\n"
				 "a=rtpmap:111 opus/48000/2\r\n"
				 "a=fmtp:111 minptime=10;usedtx=1;maxaveragebitrate=16000\r\n"
				 "a=rtpmap:0 PCMU/8000\r\n";

#include "xcode_fixture.h"

/* browser offer -> IMS; IMS answers `ims` ("AMR-WB" or "AMR"); the codec the
 * browser side was paired with is returned (the encoder toward the browser). */
static const struct wims_codec_desc *web_call(struct fx *f, const char *cid, const char *const *xc,
					      const char *ims, struct wims_xcode_cfg *toward_web)
{
	assert_int_equal(run(f, false, cid, "web", NULL, web_offer, xc), 0);
	int pt = pt_of(f, ims);
	assert_true(pt > 0);
	char ans[512];
	snprintf(ans, sizeof(ans), ims_answer_fmt, (unsigned)pt, (unsigned)pt,
		 strcmp(ims, "AMR") ? "AMR-WB/16000" : "AMR/8000");
	assert_int_equal(run(f, true, cid, "web", "ims", ans, xc), 0);
	/* side 1 = IMS: what arrives from it is encoded for the browser */
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c(cid), 0, 1, toward_web), 0);
	struct wims_xcode_cfg toward_ims;
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c(cid), 0, 0, &toward_ims), 0);
	assert_ptr_equal(toward_ims.out.codec, wims_codec_find(wims_str_c(ims)));
	assert_ptr_equal(toward_ims.in.codec, toward_web->out.codec);
	/* the browser's answer names the paired codec first */
	assert_true(wims_str_eqic(f->k[0].enc, toward_web->out.codec->name));
	return toward_web->out.codec;
}

static void test_default_pref(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct wims_xcode_cfg x;
	assert_int_equal(run(f, false, "d1", "web", NULL, web_offer, NULL), 0);
	names_are(f, (const char *const[]){"opus", "PCMA", "telephone-event", "AMR-WB", "AMR", "telephone-event",
					  NULL});
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c("d1"), 0, 0, &x), -ENODATA);
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c("nope"), 0, 0, &x), -ENOENT);
	assert_int_equal(web_call(f, "d2", NULL, "AMR-WB", &x)->id, WIMS_CODEC_OPUS);
	assert_int_equal(web_call(f, "d3", NULL, "AMR", &x)->id, WIMS_CODEC_PCMA);
	fx_free(f);
}

/* item 3: the browser's Opus fmtp reaches the encoder toward it */
static void test_opus_fmtp_to_encoder(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct wims_xcode_cfg x;
	assert_int_equal(web_call(f, "o1", NULL, "AMR-WB", &x)->id, WIMS_CODEC_OPUS);
	assert_true(x.out.params.usedtx);
	assert_true(x.out.params.useinbandfec);
	assert_int_equal(x.out.params.maxplaybackrate, 16000);
	assert_int_equal(x.out.params.bitrate, 24000);
	assert_int_equal(x.out.pt, 111);
	/* IMS offer: the browser's answer fmtp counts (no FEC asked: none) */
	assert_int_equal(run(f, false, "o2", "ims", NULL, ims_offer, NULL), 0);
	names_are(f, (const char *const[]){"opus", "PCMA", "PCMU", "telephone-event", "telephone-event", NULL});
	assert_int_equal(run(f, true, "o2", "ims", "web", web_answer, NULL), 0);
	names_are(f, (const char *const[]){"AMR-WB", "telephone-event", NULL});
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c("o2"), 0, 0, &x), 0); /* from IMS */
	assert_int_equal(x.out.codec->id, WIMS_CODEC_OPUS);
	assert_true(x.out.params.usedtx);
	assert_false(x.out.params.useinbandfec);
	assert_int_equal(x.out.params.bitrate, 16000);
	assert_int_equal(x.out.params.maxplaybackrate, 0);
	fx_free(f);
}

/* item 1: [media] codec_prefer */
static void test_config_pref(void **state)
{
	(void)state;
	struct fx *f = fx_new("pcma, amr, pcmu, opus, amr-wb");
	struct wims_xcode_cfg x;
	assert_int_equal(run(f, false, "c1", "web", NULL, web_offer, NULL), 0);
	names_are(f, (const char *const[]){"opus", "PCMA", "telephone-event", "AMR", "AMR-WB", "telephone-event",
					  NULL});
	assert_int_equal(web_call(f, "c2", NULL, "AMR", &x)->id, WIMS_CODEC_PCMA);
	assert_int_equal(web_call(f, "c3", NULL, "AMR-WB", &x)->id, WIMS_CODEC_OPUS); /* same band */
	/* IMS offer of AMR-WB and AMR: AMR kept, G.711 offered first */
	assert_int_equal(run(f, false, "c4", "ims", NULL, ims_offer, NULL), 0);
	names_are(f, (const char *const[]){"PCMA", "PCMU", "opus", "telephone-event", "telephone-event", NULL});
	assert_int_equal(run(f, true, "c4", "ims", "web", web_answer, NULL), 0);
	names_are(f, (const char *const[]){"AMR", NULL});
	assert_int_equal(wims_alg_xcode_cfg(f->a, wims_str_c("c4"), 0, 0, &x), 0);
	assert_int_equal(x.in.codec->id, WIMS_CODEC_AMR);
	assert_int_equal(x.out.codec->id, WIMS_CODEC_PCMU); /* narrowband first in the browser's answer */
	fx_free(f);

	/* no wideband browser codec listed: AMR-WB pairs with G.711 */
	f = fx_new("pcmu, pcma, amr-wb");
	assert_int_equal(run(f, false, "c5", "web", NULL, web_offer, NULL), 0);
	names_are(f, (const char *const[]){"opus", "PCMA", "telephone-event", "AMR-WB", "telephone-event", NULL});
	assert_int_equal(web_call(f, "c6", NULL, "AMR-WB", &x)->id, WIMS_CODEC_PCMA);
	fx_free(f);
}

/* item 2: the ng codec -> transcode list overrides it for the call */
static void test_ng_override(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct wims_xcode_cfg x;
	static const char *const amr_first[] = {"AMR", "AMR-WB", NULL}, *const wb_only[] = {"AMR-WB", NULL},
				 *const pcma_wb[] = {"PCMA", "AMR-WB", NULL}, *const opus_only[] = {"opus", NULL};
	assert_int_equal(run(f, false, "n1", "web", NULL, web_offer, amr_first), 0);
	names_are(f, (const char *const[]){"opus", "PCMA", "telephone-event", "AMR", "AMR-WB", "telephone-event",
					  NULL});
	assert_int_equal(run(f, false, "n2", "web", NULL, web_offer, wb_only), 0);
	names_are(f, (const char *const[]){"opus", "PCMA", "telephone-event", "AMR-WB", "telephone-event", NULL});
	/* an ng list without IMS codecs adds none (rtpengine: only what is listed) */
	assert_int_equal(run(f, false, "n3", "web", NULL, web_offer, opus_only), 0);
	names_are(f, (const char *const[]){"opus", "PCMA", "telephone-event", NULL});
	/* the browser codec of the list is the one paired */
	assert_int_equal(web_call(f, "n4", pcma_wb, "AMR-WB", &x)->id, WIMS_CODEC_PCMA);
	assert_int_equal(web_call(f, "n5", wb_only, "AMR-WB", &x)->id, WIMS_CODEC_OPUS);
	/* IMS offer: the list picks the IMS codec kept and the browser codecs offered */
	assert_int_equal(run(f, false, "n6", "ims", NULL, ims_offer, (const char *const[]){"AMR", "PCMU", NULL}), 0);
	names_are(f, (const char *const[]){"PCMU", "telephone-event", NULL});
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_pref),
	    cmocka_unit_test(test_opus_fmtp_to_encoder),
	    cmocka_unit_test(test_config_pref),
	    cmocka_unit_test(test_ng_override),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
