/* wims_addr_parse: numeric IPv4/IPv6 with and without port, and what it
 * refuses (names, bad ports, empty input with a NULL pointer). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/addr.h"

static void test_parse_ok(void **state)
{
	struct wims_addr a;
	char buf[64];

	(void)state;
	assert_int_equal(wims_addr_parse(&a, wims_str_c("127.0.0.1:5060"), 9), 0);
	assert_int_equal(wims_addr_port(&a), 5060);
	assert_int_equal(wims_addr_parse(&a, wims_str_c(" 127.0.0.1 "), 5080), 0);
	assert_int_equal(wims_addr_port(&a), 5080);
	assert_int_equal(wims_addr_parse(&a, wims_str_c("[::1]:8443"), 9), 0);
	assert_int_equal(wims_addr_port(&a), 8443);
	assert_true(wims_addr_str(&a, buf, sizeof(buf)) >= 0);
	assert_string_equal(buf, "[::1]:8443");
	assert_int_equal(wims_addr_parse(&a, wims_str_c("[::1]"), 7), 0);
	assert_int_equal(wims_addr_port(&a), 7);
}

static void test_parse_refused(void **state)
{
	struct wims_addr a;

	(void)state;
	assert_int_equal(wims_addr_parse(&a, WIMS_STR_NULL, 5060), -EINVAL); /* no pointer at all */
	assert_int_equal(wims_addr_parse(&a, wims_str_c(""), 5060), -EINVAL);
	assert_int_equal(wims_addr_parse(&a, wims_str_c("ims.lab:5060"), 5060), -EINVAL);
	assert_int_equal(wims_addr_parse(&a, wims_str_c("127.0.0.1:0"), 5060), -EINVAL);
	assert_int_equal(wims_addr_parse(&a, wims_str_c("127.0.0.1:65536"), 5060), -EINVAL);
	assert_int_equal(wims_addr_parse(&a, wims_str_c("[::1"), 5060), -EINVAL);
	assert_int_equal(wims_addr_parse(&a, wims_str_c("[::1]x"), 5060), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
