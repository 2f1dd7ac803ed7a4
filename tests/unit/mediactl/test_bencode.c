/* Bencode parser limits and encoder round trip. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mediactl/bencode.h"

static struct wims_bc_node nodes[64];

static int parse(const char *s, struct wims_bc_doc *doc, size_t *used)
{
	return wims_bc_parse(doc, nodes, 64, wims_str_c(s), used);
}

static void test_valid(void **state)
{
	struct wims_bc_doc doc;
	size_t used;
	const struct wims_bc_node *v;

	assert_int_equal(parse("i0e", &doc, &used), 0);
	assert_int_equal(nodes[0].i, 0);
	assert_int_equal(parse("i-42e", &doc, &used), 0);
	assert_int_equal(nodes[0].i, -42);
	assert_int_equal(parse("i9223372036854775807e", &doc, &used), 0);
	assert_true(nodes[0].i == LLONG_MAX);
	assert_int_equal(parse("i-9223372036854775808e", &doc, &used), 0);
	assert_true(nodes[0].i == LLONG_MIN);
	assert_int_equal(parse("0:", &doc, &used), 0);
	assert_int_equal(nodes[0].s.l, 0);
	assert_int_equal(parse("d3:cow3:moo4:spaml1:a1:bee", &doc, &used), 0);
	assert_int_equal(used, strlen("d3:cow3:moo4:spaml1:a1:bee"));
	assert_int_equal(nodes[0].n, 4);
	v = wims_bc_dict_get(&doc, &nodes[0], "cow");
	assert_non_null(v);
	assert_true(wims_str_eqc(v->s, "moo"));
	v = wims_bc_dict_get(&doc, &nodes[0], "spam");
	assert_int_equal(v->type, WIMS_BC_LIST);
	assert_int_equal(v->n, 2);
	assert_true(wims_str_eqc(wims_bc_child(&doc, v)->s, "a"));
	assert_true(wims_str_eqc(wims_bc_next(&doc, wims_bc_child(&doc, v))->s, "b"));
	assert_null(wims_bc_dict_get(&doc, &nodes[0], "nope"));
	assert_true(wims_bc_sorted(&doc, &nodes[0]));
	assert_int_equal(parse("d4:spami1e3:cowi2ee", &doc, &used), 0);
	assert_false(wims_bc_sorted(&doc, &nodes[0]));
	/* trailing bytes are the caller's business */
	assert_int_equal(parse("i1eXYZ", &doc, &used), 0);
	assert_int_equal(used, 3);
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"", "i03e", "i-0e", "i-e", "ie", "i12", "i1x2e", "-1:a", "5:abc", "03:abc", "x", "l", "d",
		"li1e", "d3:cow", "d3:cowe", "di1ei2ee", "dl1:ae1:be", "99999999999999999999999:a", ":a",
		"d1:a", "l1:a",
	};
	struct wims_bc_doc doc;
	size_t used;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i], &doc, &used);
		if (rc == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(rc == -EBADMSG || rc == -ERANGE);
	}
	assert_int_equal(parse("i9223372036854775808e", &doc, &used), -ERANGE);
	assert_int_equal(parse("i-9223372036854775809e", &doc, &used), -ERANGE);
	assert_int_equal(parse("i99999999999999999999999999e", &doc, &used), -ERANGE);
}

static void test_depth_and_nodes(void **state)
{
	char bomb[4096];
	struct wims_bc_doc doc;
	size_t used, i;

	memset(bomb, 'l', sizeof(bomb) - 1);
	bomb[sizeof(bomb) - 1] = '\0';
	assert_int_equal(parse(bomb, &doc, &used), -E2BIG);
	/* exactly the limit nests fine */
	for (i = 0; i < WIMS_BC_MAX_DEPTH; i++)
		bomb[i] = 'l';
	for (; i < 2 * WIMS_BC_MAX_DEPTH; i++)
		bomb[i] = 'e';
	bomb[i] = '\0';
	assert_int_equal(parse(bomb, &doc, &used), 0);
	bomb[0] = 'l';
	memmove(bomb + 1, bomb, strlen(bomb) + 1);
	memcpy(bomb + strlen(bomb), "e", 2);
	assert_int_equal(parse(bomb, &doc, &used), -E2BIG);

	/* 64 nodes available: a list of 64 ints needs 65 */
	char many[512];
	struct wims_wbuf b;
	wims_wbuf_init(&b, many, sizeof(many) - 1);
	wims_bc_list(&b);
	for (i = 0; i < 64; i++)
		wims_bc_int(&b, 1);
	wims_bc_end(&b);
	assert_false(b.err);
	many[b.len] = '\0';
	assert_int_equal(parse(many, &doc, &used), -ENOSPC);
}

static void test_roundtrip(void **state)
{
	char mem[512];
	struct wims_wbuf b;
	struct wims_bc_doc doc;
	size_t used;
	const struct wims_bc_node *v;

	wims_wbuf_init(&b, mem, sizeof(mem));
	wims_bc_dict(&b);
	wims_bc_kvi(&b, "a", -7);
	wims_bc_cstr(&b, "list");
	wims_bc_list(&b);
	wims_bc_str(&b, wims_str_make("x\0y", 3));
	wims_bc_int(&b, LLONG_MIN);
	wims_bc_dict(&b);
	wims_bc_end(&b);
	wims_bc_end(&b);
	wims_bc_kvc(&b, "sdp", "v=0\r\n");
	wims_bc_end(&b);
	assert_false(b.err);
	assert_int_equal(wims_bc_parse(&doc, nodes, 64, wims_wbuf_str(&b), &used), 0);
	assert_int_equal(used, b.len);
	assert_true(wims_bc_sorted(&doc, &nodes[0]));
	assert_int_equal(wims_bc_dict_get(&doc, &nodes[0], "a")->i, -7);
	v = wims_bc_dict_get(&doc, &nodes[0], "list");
	assert_int_equal(v->n, 3);
	assert_int_equal(wims_bc_child(&doc, v)->s.l, 3);
	assert_true(wims_bc_next(&doc, wims_bc_child(&doc, v))->i == LLONG_MIN);
	assert_true(wims_str_eqc(wims_bc_dict_get(&doc, &nodes[0], "sdp")->s, "v=0\r\n"));
	/* overflow is reported, not truncated silently */
	wims_wbuf_init(&b, mem, 4);
	wims_bc_cstr(&b, "hello");
	assert_true(b.err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_depth_and_nodes),
		cmocka_unit_test(test_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
