/* Flow tokens: the user part of the Contact wims registers for a browser
 * ("wt" + 16 hex id + flag + 8 hex HMAC).  Only tokens this proxy made,
 * unmodified, name a flow. */
#include <ctype.h>

#include "harness.h"

static struct wims_proxy *second_proxy(struct h *h, struct wims_conf *c)
{
	struct wims_proxy *px = NULL;
	char err[256] = "";

	assert_int_equal(wims_proxy_alloc(&px, &h->loop, h->tp, c, err, sizeof(err)), 0);
	return px;
}

static int parse(struct wims_proxy *px, const char *tok, uint64_t *id, bool *ob)
{
	return wims_proxy__token_parse(px, wims_str_c(tok), id, ob);
}

static void test_round_trip(void **state)
{
	struct h *h = h_up();
	const uint64_t ids[] = {1, 2, 0x1234, 0xdeadbeefcafeULL, UINT64_MAX};
	char tok[PX_TOKEN_LEN + 1];

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		for (int ob = 0; ob < 2; ob++) {
			uint64_t id = 0;
			bool got = !ob;

			memset(tok, 'X', sizeof(tok));
			wims_proxy__token_make(h->px, ids[i], ob, tok);
			assert_int_equal(strlen(tok), PX_TOKEN_LEN);
			assert_int_equal(strncmp(tok, "wt", 2), 0);
			assert_int_equal(tok[18], ob ? 'o' : 'n');
			for (size_t k = 0; k < PX_TOKEN_LEN; k++) /* fit for a SIP URI user part */
				assert_true(isalnum((unsigned char)tok[k]));
			assert_int_equal(parse(h->px, tok, &id, &got), 0);
			assert_int_equal(id, ids[i]);
			assert_int_equal(got, (bool)ob);
		}
	}
	/* deterministic for one proxy, different for another id */
	{
		char a[PX_TOKEN_LEN + 1], b[PX_TOKEN_LEN + 1];
		wims_proxy__token_make(h->px, 42, true, a);
		wims_proxy__token_make(h->px, 42, true, b);
		assert_string_equal(a, b);
		wims_proxy__token_make(h->px, 43, true, b);
		assert_string_not_equal(a, b);
		assert_string_not_equal(a + 19, b + 19); /* the MAC too */
	}
	h_free(h);
}

static void test_tampered_refused(void **state)
{
	struct h *h = h_up();
	char tok[PX_TOKEN_LEN + 1], bad[PX_TOKEN_LEN + 8];
	uint64_t id = 99;
	bool ob = false;

	wims_proxy__token_make(h->px, 0x0102030405060708ULL, true, tok);
	assert_int_equal(parse(h->px, tok, &id, &ob), 0);

	/* every single-character change of id, flag or MAC */
	for (size_t k = 2; k < PX_TOKEN_LEN; k++) {
		memcpy(bad, tok, sizeof(tok));
		if (k == 18)
			bad[k] = 'n'; /* outbound flag flipped: the MAC covers it */
		else
			bad[k] = bad[k] == '0' ? '1' : '0';
		id = 99;
		assert_int_equal(parse(h->px, bad, &id, &ob), -EINVAL);
		assert_int_equal(id, 99); /* nothing written on failure */
	}
	/* the id of another flow with this MAC */
	memcpy(bad, tok, sizeof(tok));
	bad[17] = '9';
	assert_int_equal(parse(h->px, bad, &id, &ob), -EINVAL);
	/* upper-case hex, a wrong prefix, wrong lengths, junk */
	memcpy(bad, tok, sizeof(tok));
	for (size_t k = 19; k < PX_TOKEN_LEN; k++)
		bad[k] = (char)toupper((unsigned char)bad[k]);
	if (strcmp(bad, tok) != 0)
		assert_int_equal(parse(h->px, bad, &id, &ob), -EINVAL);
	memcpy(bad, tok, sizeof(tok));
	bad[0] = 'W';
	assert_int_equal(parse(h->px, bad, &id, &ob), -EINVAL);
	memcpy(bad, tok, sizeof(tok));
	bad[PX_TOKEN_LEN - 1] = 0;
	assert_int_equal(parse(h->px, bad, &id, &ob), -EINVAL);
	fmt(bad, sizeof(bad), "%s0", tok);
	assert_int_equal(parse(h->px, bad, &id, &ob), -EINVAL);
	memcpy(bad, tok, sizeof(tok));
	bad[5] = 'g';
	assert_int_equal(parse(h->px, bad, &id, &ob), -EINVAL);
	assert_int_equal(parse(h->px, "", &id, &ob), -EINVAL);
	assert_int_equal(parse(h->px, "alice", &id, &ob), -EINVAL);
	assert_int_equal(wims_proxy__token_parse(h->px, WIMS_STR_NULL, &id, &ob), -EINVAL);
	h_free(h);
}

/* Another wimsd (another secret) refuses our tokens; a shared
 * [iwu] flow_secret keeps them valid across instances and restarts. */
static void test_secret(void **state)
{
	struct h *h = h_up();
	struct wims_conf c1 = h->conf, c2 = h->conf;
	struct wims_proxy *other = second_proxy(h, &h->conf), *s1, *s2;
	char tok[PX_TOKEN_LEN + 1];
	uint64_t id;
	bool ob;
	char err[256];

	wims_proxy__token_make(h->px, 5, true, tok);
	assert_int_equal(parse(other, tok, &id, &ob), -EINVAL);

	assert_int_equal(wims_conf_set(&c1, "iwu", "flow_secret", "s3cret-shared", err, sizeof(err)), 0);
	assert_int_equal(wims_conf_set(&c2, "iwu", "flow_secret", "s3cret-shared", err, sizeof(err)), 0);
	s1 = second_proxy(h, &c1);
	s2 = second_proxy(h, &c2);
	wims_proxy__token_make(s1, 5, false, tok);
	assert_int_equal(parse(s2, tok, &id, &ob), 0);
	assert_int_equal(id, 5);
	assert_false(ob);
	assert_int_equal(parse(h->px, tok, &id, &ob), -EINVAL);
	wims_proxy_free(other);
	wims_proxy_free(s1);
	wims_proxy_free(s2);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_tampered_refused),
	    cmocka_unit_test(test_secret),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
