/* The busy-polling window of a media worker ([media] busy_poll_us). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "media/media_int.h"

/* Off: the window never opens, whatever comes in. */
static void test_off(void **state)
{
	(void)state;
	assert_int_equal(media__spin_until(1000, 0, true, 0), 0);
	assert_int_equal(media__spin_until(1000, 0, false, 0), 0);
}

/* A packet opens (or moves) the window to now + spin. */
static void test_packet_opens(void **state)
{
	(void)state;
	assert_int_equal(media__spin_until(1000, 0, true, 50), 1050);
	assert_int_equal(media__spin_until(1030, 1050, true, 50), 1080);
}

/* No packet: the window keeps its end, so the worker sleeps once past it. */
static void test_idle_keeps_end(void **state)
{
	(void)state;
	uint64_t until = media__spin_until(1000, 0, true, 50);
	until = media__spin_until(1020, until, false, 50);
	assert_int_equal(until, 1050);
	assert_true(1020 < until);
	until = media__spin_until(1060, until, false, 50);
	assert_false(1060 < until);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_off),
	    cmocka_unit_test(test_packet_opens),
	    cmocka_unit_test(test_idle_keeps_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
