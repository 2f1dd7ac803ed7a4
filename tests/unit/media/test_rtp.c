/* RTP/RTCP parsing, demultiplexing, rewrites and RTCP filtering. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "media/rtp.h"

/* V=2, X=1, CC=1, M=1 PT=111, seq 0x1234, ts 0xdeadbeef, SSRC 0x11223344,
 * CSRC 0x55667788, extension 0xBEDE with 1 word, 3 payload bytes. */
// clang-format off
static const uint8_t rtp_ext[] = {
	0x91, 0xef, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00, 'a',  'b',  'c',
};
// clang-format on

static void test_parse_valid(void **state)
{
	struct wims_rtp_hdr h;

	assert_int_equal(wims_rtp_parse(&h, rtp_ext, sizeof(rtp_ext)), 0);
	assert_int_equal(h.version, 2);
	assert_true(h.marker);
	assert_true(h.ext);
	assert_false(h.padding);
	assert_int_equal(h.pt, 111);
	assert_int_equal(h.cc, 1);
	assert_int_equal(h.seq, 0x1234);
	assert_int_equal(h.ts, 0xdeadbeef);
	assert_int_equal(h.ssrc, 0x11223344);
	assert_int_equal(h.ext_off, 16);
	assert_int_equal(h.ext_len, 4);
	assert_int_equal(h.hdr_len, 24);
	assert_int_equal(h.payload_len, 3);
}

static void test_parse_padding(void **state)
{
	uint8_t p[12 + 8] = {0xa0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
	struct wims_rtp_hdr h;

	p[19] = 3; /* 5 payload bytes, 3 padding */
	assert_int_equal(wims_rtp_parse(&h, p, sizeof(p)), 0);
	assert_true(h.padding);
	assert_int_equal(h.payload_len, 5);
	p[19] = 9; /* padding > payload */
	assert_int_equal(wims_rtp_parse(&h, p, sizeof(p)), -EBADMSG);
	p[19] = 0; /* zero padding count */
	assert_int_equal(wims_rtp_parse(&h, p, sizeof(p)), -EBADMSG);
	p[19] = 8; /* exactly all of it */
	assert_int_equal(wims_rtp_parse(&h, p, sizeof(p)), 0);
	assert_int_equal(h.payload_len, 0);
}

static void test_parse_invalid(void **state)
{
	uint8_t p[sizeof(rtp_ext)];
	struct wims_rtp_hdr h;

	assert_int_equal(wims_rtp_parse(&h, rtp_ext, 11), -EBADMSG);
	memcpy(p, rtp_ext, sizeof(p));
	p[0] = (uint8_t)((p[0] & 0xf0) | 0x0f); /* 15 CSRCs: beyond the packet */
	assert_int_equal(wims_rtp_parse(&h, p, sizeof(p)), -EBADMSG);
	memcpy(p, rtp_ext, sizeof(p));
	p[19] = 3; /* extension of 3 words: beyond the packet */
	assert_int_equal(wims_rtp_parse(&h, p, sizeof(p)), -EBADMSG);
	assert_int_equal(wims_rtp_parse(&h, rtp_ext, 18), -EBADMSG); /* extension head cut */
	memcpy(p, rtp_ext, sizeof(p));
	p[0] = 0x51; /* version 1 */
	assert_int_equal(wims_rtp_parse(&h, p, sizeof(p)), -EBADMSG);
}

static void test_classify(void **state)
{
	uint8_t p[64] = {0};

	for (unsigned b = 0; b < 256; b++) {
		enum wims_pkt_kind want = WIMS_PKT_UNKNOWN;

		p[0] = (uint8_t)b;
		p[1] = 0x00;
		if (b <= 3)
			want = WIMS_PKT_STUN;
		else if (b >= 16 && b <= 19)
			want = WIMS_PKT_ZRTP;
		else if (b >= 20 && b <= 63)
			want = WIMS_PKT_DTLS;
		else if (b >= 64 && b <= 79)
			want = WIMS_PKT_TURN;
		else if (b >= 128 && b <= 191)
			want = WIMS_PKT_RTP;
		assert_int_equal(wims_pkt_classify(p, sizeof(p)), want);
	}
	p[0] = 0x80;
	for (unsigned pt = 0; pt < 256; pt++) {
		unsigned masked = pt & 0x7f;

		p[1] = (uint8_t)pt;
		assert_int_equal(wims_pkt_classify(p, sizeof(p)),
				 masked >= 64 && masked <= 95 ? WIMS_PKT_RTCP : WIMS_PKT_RTP);
	}
	p[1] = 200;
	assert_int_equal(wims_pkt_classify(p, 8), WIMS_PKT_RTCP);
	assert_int_equal(wims_pkt_classify(p, 7), WIMS_PKT_UNKNOWN);
	p[1] = 111;
	assert_int_equal(wims_pkt_classify(p, 11), WIMS_PKT_UNKNOWN);
	assert_int_equal(wims_pkt_classify(p, 0), WIMS_PKT_UNKNOWN);
	p[0] = 0;
	assert_int_equal(wims_pkt_classify(p, 19), WIMS_PKT_UNKNOWN);
}

static void test_strip_ext_and_rewrite(void **state)
{
	uint8_t p[sizeof(rtp_ext)];
	struct wims_rtp_hdr h;
	size_t n;

	memcpy(p, rtp_ext, sizeof(p));
	n = wims_rtp_strip_ext(p, sizeof(p));
	assert_int_equal(n, sizeof(rtp_ext) - 8);
	assert_int_equal(wims_rtp_parse(&h, p, n), 0);
	assert_false(h.ext);
	assert_int_equal(h.hdr_len, 16);
	assert_int_equal(h.payload_len, 3);
	assert_memory_equal(p + 16, "abc", 3);
	assert_int_equal(wims_rtp_strip_ext(p, n), n); /* nothing left to strip */

	wims_rtp_set_pt(p, 0);
	wims_rtp_set_ssrc(p, 0xcafebabe);
	assert_int_equal(wims_rtp_parse(&h, p, n), 0);
	assert_int_equal(h.pt, 0);
	assert_true(h.marker);
	assert_int_equal(h.ssrc, 0xcafebabe);
	assert_int_equal(h.seq, 0x1234);
}

/* Chrome-like compound: SR (1 block) + SDES CNAME + RTPFB transport-cc +
 * PSFB REMB + PSFB PLI + RTPFB NACK + RTPFB TMMBR + XR. */
// clang-format off
static const uint8_t chrome_rtcp[] = {
	/* SR, RC=1, length 12 words */
	0x81, 200, 0x00, 0x0c, 0x11, 0x11, 0x11, 0x11, /* sender */
	0xe8, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, /* NTP */
	0x00, 0x00, 0x10, 0x00, /* RTP ts */
	0x00, 0x00, 0x00, 0x64, /* packets 100 */
	0x00, 0x00, 0x27, 0x10, /* octets 10000 */
	0x22, 0x22, 0x22, 0x22, /* block about 0x22222222 */
	0x40, 0x00, 0x00, 0x05, /* fraction 64, cum 5 */
	0x00, 0x00, 0x01, 0x00, /* ext highest seq */
	0x00, 0x00, 0x00, 0x20, /* jitter 32 */
	0x12, 0x34, 0x56, 0x78, /* LSR */
	0x00, 0x01, 0x00, 0x00, /* DLSR */
	/* SDES, SC=1, length 3 words: CNAME "abcd" */
	0x81, 202, 0x00, 0x03, 0x11, 0x11, 0x11, 0x11, 0x01, 0x04, 'a', 'b', 'c', 'd', 0x00, 0x00,
	/* RTPFB fmt 15 transport-cc, length 4 */
	0x8f, 205, 0x00, 0x04, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, 0x00, 0x01, 0x00, 0x01,
	0x01, 0x00, 0x20, 0x01,
	/* PSFB fmt 15 REMB, length 5 */
	0x8f, 206, 0x00, 0x05, 0x11, 0x11, 0x11, 0x11, 0x00, 0x00, 0x00, 0x00, 'R', 'E', 'M', 'B', 0x01,
	0x0a, 0x00, 0x00, 0x22, 0x22, 0x22, 0x22,
	/* PSFB fmt 1 PLI, length 2 */
	0x81, 206, 0x00, 0x02, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22,
	/* RTPFB fmt 1 NACK, length 3 */
	0x81, 205, 0x00, 0x03, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, 0x00, 0x05, 0x00, 0x00,
	/* RTPFB fmt 3 TMMBR, length 4 */
	0x83, 205, 0x00, 0x04, 0x11, 0x11, 0x11, 0x11, 0x00, 0x00, 0x00, 0x00, 0x22, 0x22, 0x22, 0x22,
	0x04, 0x01, 0x00, 0x28,
	/* XR, length 2 */
	0x80, 207, 0x00, 0x02, 0x11, 0x11, 0x11, 0x11, 0x04, 0x00, 0x00, 0x00,
};
// clang-format on

static void test_rtcp_iter(void **state)
{
	struct wims_rtcp_iter it = {chrome_rtcp, sizeof(chrome_rtcp), 0};
	struct wims_rtcp_item item;
	const uint8_t want_pt[] = {200, 202, 205, 206, 206, 205, 205, 207};
	const uint8_t want_cnt[] = {1, 1, 15, 15, 1, 1, 3, 0};
	size_t n = 0;
	int rc;

	while ((rc = wims_rtcp_next(&it, &item)) == 1) {
		assert_true(n < sizeof(want_pt));
		assert_int_equal(item.pt, want_pt[n]);
		assert_int_equal(item.count, want_cnt[n]);
		assert_int_equal(item.ssrc, 0x11111111);
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, sizeof(want_pt));

	/* A length running beyond the buffer is an error. */
	it = (struct wims_rtcp_iter){chrome_rtcp, 20, 0};
	assert_int_equal(wims_rtcp_next(&it, &item), -EBADMSG);
	it = (struct wims_rtcp_iter){chrome_rtcp, 3, 0};
	assert_int_equal(wims_rtcp_next(&it, &item), -EBADMSG);
}

static void test_rtcp_filter(void **state)
{
	uint8_t p[sizeof(chrome_rtcp)];
	struct wims_rtcp_iter it;
	struct wims_rtcp_item item;
	size_t n;
	const uint8_t want_audio[] = {200, 202, 205};
	const uint8_t want_video[] = {200, 202, 206, 205, 205};
	size_t k = 0;

	memcpy(p, chrome_rtcp, sizeof(p));
	n = wims_rtcp_filter(p, sizeof(p), false);
	assert_int_equal(n, 52 + 16 + 20); /* SR, SDES, TMMBR */
	it = (struct wims_rtcp_iter){p, n, 0};
	while (wims_rtcp_next(&it, &item) == 1)
		assert_int_equal(item.pt, want_audio[k++]);
	assert_int_equal(k, 3);

	memcpy(p, chrome_rtcp, sizeof(p));
	n = wims_rtcp_filter(p, sizeof(p), true);
	assert_int_equal(n, 52 + 16 + 12 + 16 + 20);
	it = (struct wims_rtcp_iter){p, n, 0};
	k = 0;
	while (wims_rtcp_next(&it, &item) == 1)
		assert_int_equal(item.pt, want_video[k++]);
	assert_int_equal(k, 5);

	/* Only dropped packets: nothing left. */
	memcpy(p, chrome_rtcp + 52 + 16, 20);
	assert_int_equal(wims_rtcp_filter(p, 20, true), 0);
	/* Malformed: nothing forwarded. */
	memcpy(p, chrome_rtcp, sizeof(p));
	assert_int_equal(wims_rtcp_filter(p, sizeof(p) - 1, true), 0);
}

static void test_rtcp_report(void **state)
{
	struct wims_rtcp_report r;
	// clang-format off
	static const uint8_t rr[] = {
		0x81, 201, 0x00, 0x07, 0x33, 0x33, 0x33, 0x33, 0x22, 0x22, 0x22, 0x22, 0x10, 0xff, 0xff, 0xff,
		0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
	};
	// clang-format on

	assert_int_equal(wims_rtcp_report(chrome_rtcp, sizeof(chrome_rtcp), 0x22222222, &r), 0);
	assert_true(r.has_sr);
	assert_true(r.has_block);
	assert_true(r.sr_ntp == 0xe800000180000000ULL);
	assert_int_equal(r.sr_rtp_ts, 0x1000);
	assert_int_equal(r.sr_packets, 100);
	assert_int_equal(r.sr_octets, 10000);
	assert_int_equal(r.fraction_lost, 64);
	assert_int_equal(r.cum_lost, 5);
	assert_int_equal(r.jitter, 32);
	assert_int_equal(r.lsr, 0x12345678);
	assert_int_equal(r.dlsr, 0x10000);

	assert_int_equal(wims_rtcp_report(chrome_rtcp, sizeof(chrome_rtcp), 0x99999999, &r), 0);
	assert_true(r.has_sr);
	assert_false(r.has_block);

	assert_int_equal(wims_rtcp_report(rr, sizeof(rr), 0x22222222, &r), 0);
	assert_false(r.has_sr);
	assert_true(r.has_block);
	assert_int_equal(r.fraction_lost, 0x10);
	assert_int_equal(r.cum_lost, 0xffffff);
	assert_int_equal(r.jitter, 7);
	/* RC claims 2 blocks but only one fits: bounded. */
	{
		uint8_t bad[sizeof(rr)];

		memcpy(bad, rr, sizeof(bad));
		bad[0] = 0x82;
		assert_int_equal(wims_rtcp_report(bad, sizeof(bad), 0x44444444, &r), 0);
		assert_false(r.has_block);
	}
	assert_int_equal(wims_rtcp_report(rr, sizeof(rr) - 4, 0x22222222, &r), -EBADMSG);
}

static void test_build_pli(void **state)
{
	uint8_t out[16];
	struct wims_rtcp_iter it = {out, 0, 0};
	struct wims_rtcp_item item;

	assert_int_equal(wims_rtcp_build_pli(out, 11, 1, 2), 0);
	it.len = wims_rtcp_build_pli(out, sizeof(out), 0x01020304, 0x05060708);
	assert_int_equal(it.len, 12);
	assert_int_equal(wims_pkt_classify(out, it.len), WIMS_PKT_RTCP);
	assert_int_equal(wims_rtcp_next(&it, &item), 1);
	assert_int_equal(item.pt, WIMS_RTCP_PSFB);
	assert_int_equal(item.count, 1);
	assert_int_equal(item.len, 12);
	assert_int_equal(item.ssrc, 0x01020304);
	assert_memory_equal(out + 8, "\x05\x06\x07\x08", 4);
	assert_int_equal(wims_rtcp_next(&it, &item), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_padding),
	    cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_strip_ext_and_rewrite),
	    cmocka_unit_test(test_rtcp_iter),
	    cmocka_unit_test(test_rtcp_filter),
	    cmocka_unit_test(test_rtcp_report),
	    cmocka_unit_test(test_build_pli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
