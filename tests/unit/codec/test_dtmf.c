/* RFC 4733 telephone-event payloads, clock rescaling, SIP INFO bodies and
 * the sender sequence. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec/dtmf.h"

static void test_parse_build(void **state)
{
	static const uint8_t pkt[] = {0x05, 0x8a, 0x03, 0x20};
	struct wims_dtmf_event e;
	uint8_t out[8];

	(void)state;
	assert_int_equal(wims_dtmf_parse(pkt, sizeof(pkt), &e), 0);
	assert_int_equal(e.event, 5);
	assert_true(e.end);
	assert_int_equal(e.volume, 10);
	assert_int_equal(e.duration, 800);
	assert_int_equal(wims_dtmf_build(&e, out, sizeof(out)), 4);
	assert_memory_equal(out, pkt, 4);
	assert_int_equal(wims_dtmf_build(&e, out, 3), 0);
	for (size_t l = 0; l < 4; l++)
		assert_int_equal(wims_dtmf_parse(pkt, l, &e), -EBADMSG);
	/* the R bit is ignored */
	static const uint8_t r[] = {0x0b, 0x40 | 0x3f, 0xff, 0xff};
	assert_int_equal(wims_dtmf_parse(r, 4, &e), 0);
	assert_false(e.end);
	assert_int_equal(e.event, 11);
	assert_int_equal(e.volume, 63);
	assert_int_equal(e.duration, 0xffff);
}

static void test_rescale(void **state)
{
	(void)state;
	assert_int_equal(wims_dtmf_rescale(800, 8000, 48000), 4800);
	assert_int_equal(wims_dtmf_rescale(4800, 48000, 8000), 800);
	assert_int_equal(wims_dtmf_rescale(1600, 16000, 8000), 800);
	assert_int_equal(wims_dtmf_rescale(800, 8000, 16000), 1600);
	assert_int_equal(wims_dtmf_rescale(4800, 48000, 16000), 1600);
	assert_int_equal(wims_dtmf_rescale(1600, 16000, 48000), 4800);
	assert_int_equal(wims_dtmf_rescale(7, 48000, 8000), 1);		 /* 1.17 -> 1 */
	assert_int_equal(wims_dtmf_rescale(9, 48000, 8000), 2);		 /* 1.5 -> 2 */
	assert_int_equal(wims_dtmf_rescale(64000, 8000, 48000), 0xffff); /* 8 s saturate */
	assert_int_equal(wims_dtmf_rescale(123, 8000, 8000), 123);
	assert_int_equal(wims_dtmf_rescale(123, 0, 8000), 123);
	assert_int_equal(wims_dtmf_rescale_ts(64000, 8000, 48000), 384000);
	assert_int_equal(wims_dtmf_rescale_ts(0xffffffffu, 8000, 48000), 0xffffffffu);
}

static int info(const char *ct, const char *body, uint8_t *ev, unsigned *ms)
{
	return wims_dtmf_info_parse(wims_str_c(ct), wims_str_c(body), ev, ms);
}

static void test_info(void **state)
{
	static const struct {
		const char *ct, *body;
		int ev;
		unsigned ms;
	} ok[] = {
	    {"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", 5, 160},
	    {"Application/DTMF-Relay; charset=x", "signal = * \r\nduration= 250", 10, 250},
	    {"application/dtmf-relay", "Signal=#\nDuration=100\n", 11, 100},
	    {"application/dtmf-relay", "Signal=10\r\n", 10, 100},
	    {"application/dtmf-relay", "Signal=11\r\n", 11, 100},
	    {"application/dtmf-relay", "Duration=50\r\nSignal=d\r\n", 15, 50},
	    {"application/dtmf-relay", "Signal=A\r\nDuration=1\r\n", 12, 40},
	    {"application/dtmf-relay", "Signal=0\r\nDuration=100000\r\n", 0, 8000},
	    {"application/dtmf-relay", "Signal=9\r\nDuration=99999999999999999999999\r\n", 9, 8000},
	    {"application/dtmf-relay", "Foo=bar\r\nSignal=3\r\n", 3, 100},
	    {"application/dtmf", "7", 7, 100},
	    {"application/dtmf", " * \r\n", 10, 100},
	    {"application/dtmf", "B", 13, 100},
	};
	static const struct {
		const char *ct, *body;
	} bad[] = {
	    {"application/dtmf-relay", ""},
	    {"application/dtmf-relay", "Duration=100\r\n"},
	    {"application/dtmf-relay", "Signal=E\r\n"},
	    {"application/dtmf-relay", "Signal=16\r\n"},
	    {"application/dtmf-relay", "Signal=\r\n"},
	    {"application/dtmf-relay", "Signal=55\r\n"},
	    {"application/dtmf-relay", "Signal=5\r\nDuration=abc\r\n"},
	    {"application/dtmf-relay", "Signal=5\r\nDuration=-1\r\n"},
	    {"application/dtmf-relay", "\x01\x02garbage===\n\n\n"},
	    {"application/dtmf", ""},
	    {"application/dtmf", "12"},
	    {"application/dtmf", "x"},
	    {"text/plain", "Signal=5\r\n"},
	    {"application/dtmf-relayx", "Signal=5\r\n"},
	};
	uint8_t ev;
	unsigned ms;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ev = 99;
		ms = 0;
		assert_int_equal(info(ok[i].ct, ok[i].body, &ev, &ms), 0);
		assert_int_equal(ev, ok[i].ev);
		assert_int_equal(ms, ok[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(info(bad[i].ct, bad[i].body, &ev, &ms), -EBADMSG);
	/* a body with an embedded NUL: views carry lengths, not C strings */
	assert_int_equal(
	    wims_dtmf_info_parse(wims_str_c("application/dtmf"), wims_str_make("\0", 1), &ev, &ms), -EBADMSG);
}

static void run_tx(uint8_t event, unsigned ms, uint32_t clock, unsigned step_ms, uint32_t want_total)
{
	struct wims_dtmf_tx t;
	struct wims_dtmf_event e;
	uint8_t out[4];
	bool marker;
	unsigned n = 0, ends = 0;
	uint32_t last = 0;

	wims_dtmf_tx_start(&t, event, ms, clock, step_ms);
	while (wims_dtmf_tx_next(&t, out, sizeof(out), &marker) == 4) {
		assert_true(n < 1000);
		assert_int_equal(wims_dtmf_parse(out, 4, &e), 0);
		assert_int_equal(e.event, event);
		assert_int_equal(marker, n == 0);
		if (n == 0)
			assert_false(e.end);
		if (ends)
			assert_true(e.end); /* nothing but end packets after the first one */
		if (e.end) {
			ends++;
			assert_int_equal(e.duration, want_total);
		}
		assert_true(e.duration >= last);
		assert_true(e.duration > last || e.end);
		last = e.duration;
		n++;
	}
	assert_int_equal(ends, 3);
	assert_int_equal(last, want_total);
	assert_int_equal(wims_dtmf_tx_next(&t, out, sizeof(out), &marker), 0);
}

static void test_tx(void **state)
{
	struct wims_dtmf_tx t;
	uint8_t out[4];
	bool marker;

	(void)state;
	run_tx(5, 100, 8000, 50, 800);
	run_tx(11, 250, 16000, 50, 4000);
	run_tx(1, 160, 48000, 20, 7680);
	run_tx(0, 10, 8000, 50, 320);	    /* clamped up to 40 ms */
	run_tx(2, 20000, 8000, 50, 64000);  /* clamped to 8 s */
	run_tx(3, 8000, 48000, 50, 0xffff); /* 384000 units saturate */
	run_tx(4, 100, 8000, 0, 800);	    /* default step */
	run_tx(4, 100, 0, 50, 1);	    /* nonsense clock still terminates */

	/* a 100 ms digit at 8 kHz, 50 ms steps: 400 (M), then the end x3 */
	wims_dtmf_tx_start(&t, 7, 100, 8000, 50);
	assert_int_equal(wims_dtmf_tx_next(&t, out, 3, &marker), 0);
	assert_int_equal(wims_dtmf_tx_next(&t, out, 4, &marker), 4);
	assert_true(marker);
	assert_int_equal(out[0], 7);
	assert_int_equal(out[2] << 8 | out[3], 400);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(wims_dtmf_tx_next(&t, out, 4, &marker), 4);
		assert_false(marker);
		assert_true(out[1] & 0x80);
		assert_int_equal(out[2] << 8 | out[3], 800);
	}
	assert_int_equal(wims_dtmf_tx_next(&t, out, 4, &marker), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_build),
	    cmocka_unit_test(test_rescale),
	    cmocka_unit_test(test_info),
	    cmocka_unit_test(test_tx),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
