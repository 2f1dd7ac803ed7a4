/* ICE-lite agent: early checks, credentials, nomination, restart, consent
 * expiry, role conflict.  Checks are built with wims_stun_binding_request as
 * a browser (full, controlling agent) would send them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "media/ice.h"

#define LUFRAG "LUFRAG01"
#define LPWD "localpasswordlocalpassw0"
#define RUFRAG "rUfR"
#define RPWD "remotepasswordremotepwd"

struct ctx {
	struct wims_ice_lite ice;
	struct wims_addr a, b;
	uint8_t pkt[512], resp[512];
	size_t plen, rlen;
	uint8_t txid[12];
};

static int setup(void **state)
{
	static struct ctx c;

	memset(&c, 0, sizeof(c));
	assert_int_equal(wims_ice_lite_init(&c.ice), 0);
	assert_int_equal(wims_ice_lite_set_local(&c.ice, wims_str_c(LUFRAG), wims_str_c(LPWD)), 0);
	assert_int_equal(wims_addr_parse(&c.a, wims_str_c("192.0.2.10:50000"), 0), 0);
	assert_int_equal(wims_addr_parse(&c.b, wims_str_c("[2001:db8::7]:40000"), 0), 0);
	*state = &c;
	return 0;
}

/* A browser's check: username, key, USE-CANDIDATE, ICE-CONTROLLING. */
static void build(struct ctx *c, const char *user, const char *key, bool uc, bool controlling)
{
	c->txid[0]++;
	c->plen = wims_stun_binding_request(c->pkt, sizeof(c->pkt), c->txid, wims_str_c(user), key,
					    key ? strlen(key) : 0, 0x6e7f00ff, controlling, 42, uc);
	assert_true(c->plen > 0);
}

static enum wims_ice_verdict input(struct ctx *c, const struct wims_addr *from, uint64_t now)
{
	return wims_ice_lite_input(&c->ice, c->pkt, c->plen, from, now, c->resp, &c->rlen, sizeof(c->resp));
}

static enum wims_ice_verdict check(struct ctx *c, const char *user, const char *key, bool uc,
				   bool controlling, const struct wims_addr *from, uint64_t now)
{
	build(c, user, key, uc, controlling);
	return input(c, from, now);
}

/* The response verifies with our password and maps `from`. */
static void resp_ok(struct ctx *c, const struct wims_addr *from, uint16_t type, uint16_t code)
{
	struct wims_stun_msg m;

	assert_true(c->rlen > 0);
	assert_int_equal(wims_stun_parse(&m, c->resp, c->rlen, NULL), 0);
	assert_int_equal(m.type, type);
	assert_memory_equal(m.txid, c->pkt + 8, 12);
	assert_true(wims_stun_check_fingerprint(&m, c->resp, c->rlen));
	assert_true(wims_stun_check_integrity(&m, c->resp, c->rlen, c->ice.lpwd, strlen(c->ice.lpwd)));
	if (type == WIMS_STUN_BINDING_SUCCESS) {
		assert_true(m.has_xor_mapped);
		assert_true(wims_addr_eq(&m.xor_mapped, from));
	} else {
		assert_int_equal(m.error_code, code);
	}
}

static void test_init(void **state)
{
	struct wims_ice_lite a, b;

	assert_int_equal(wims_ice_lite_init(&a), 0);
	assert_int_equal(wims_ice_lite_init(&b), 0);
	assert_int_equal(strlen(a.lufrag), 8);
	assert_int_equal(strlen(a.lpwd), 24);
	assert_string_not_equal(a.lufrag, b.lufrag);
	assert_string_not_equal(a.lpwd, b.lpwd);
	for (const char *p = a.lpwd; *p; p++)
		assert_non_null(
		    strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", *p));
	assert_int_equal(a.selected, -1);
	assert_int_equal(a.npairs, 0);
	assert_null(wims_ice_lite_selected(&a));
	assert_false(wims_ice_lite_can_send(&a, 0, WIMS_ICE_CONSENT_MS));
	/* bad local and remote credentials */
	assert_int_equal(wims_ice_lite_set_local(&a, wims_str_c("abc"), wims_str_c(LPWD)), -EINVAL);
	assert_int_equal(wims_ice_lite_set_local(&a, wims_str_c("ab:cd"), wims_str_c(LPWD)), -EINVAL);
	assert_int_equal(wims_ice_lite_set_local(&a, wims_str_c(LUFRAG), wims_str_c("short")), -EINVAL);
	assert_int_equal(wims_ice_lite_set_remote(&a, wims_str_c("abc"), wims_str_c(RPWD), false), -EINVAL);
	assert_int_equal(wims_ice_lite_set_remote(&a, wims_str_c(RUFRAG), wims_str_c("x"), false), -EINVAL);
	char big[WIMS_ICE_PWD_MAX + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(wims_ice_lite_set_remote(&a, wims_str_c(RUFRAG), wims_str_c(big), false), -EINVAL);
	big[WIMS_ICE_UFRAG_MAX + 1] = '\0';
	assert_int_equal(wims_ice_lite_set_remote(&a, wims_str_c(big), wims_str_c(RPWD), false), -EINVAL);
	assert_int_equal(wims_ice_lite_set_remote(&a, WIMS_STR_NULL, wims_str_c(RPWD), false), -EINVAL);
	assert_string_equal(a.rufrag, "");
}

/* Before the answer SDP: any remote part of USERNAME goes; no selection
 * without USE-CANDIDATE, but the address becomes valid */
static void test_early_check(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(check(c, LUFRAG ":whatever", LPWD, false, true, &c->a, 1000), WIMS_ICE_RESPOND);
	resp_ok(c, &c->a, WIMS_STUN_BINDING_SUCCESS, 0);
	assert_true(wims_ice_lite_addr_valid(&c->ice, &c->a));
	assert_false(wims_ice_lite_addr_valid(&c->ice, &c->b));
	assert_null(wims_ice_lite_selected(&c->ice));
	assert_false(wims_ice_lite_can_send(&c->ice, 1000, WIMS_ICE_CONSENT_MS));
	assert_int_equal(c->ice.npairs, 1);
	assert_int_equal(c->ice.pairs[0].last_ms, 1000);
	assert_int_equal(c->ice.pairs[0].priority, 0x6e7f00ff);
	assert_int_equal(c->ice.checks_ok, 1);
	/* the remote credentials arrive: first setting is not a restart */
	assert_int_equal(wims_ice_lite_set_remote(&c->ice, wims_str_c(RUFRAG), wims_str_c(RPWD), true), 0);
	assert_string_equal(c->ice.lufrag, LUFRAG);
	assert_true(wims_ice_lite_addr_valid(&c->ice, &c->a));
	assert_int_equal(wims_ice_lite_set_remote(&c->ice, wims_str_c(RUFRAG), wims_str_c(RPWD), true), 0);
	/* now the remote part must match */
	assert_int_equal(check(c, LUFRAG ":whatever", LPWD, false, true, &c->a, 1100), WIMS_ICE_DROP);
	assert_int_equal(check(c, LUFRAG ":" RUFRAG, LPWD, false, true, &c->a, 1200), WIMS_ICE_RESPOND);
}

static void test_bad_checks(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(wims_ice_lite_set_remote(&c->ice, wims_str_c(RUFRAG), wims_str_c(RPWD), false), 0);
	const char *users[] = {"LUFRAG0:" RUFRAG,
			       "LUFRAG01" RUFRAG,
			       "LUFRAG011:" RUFRAG,
			       RUFRAG ":" LUFRAG,
			       "LUFRAG01:",
			       "LUFRAG01:rUfRx",
			       "",
			       "lufrag01:" RUFRAG};
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		assert_int_equal(check(c, users[i], LPWD, true, true, &c->a, 1000), WIMS_ICE_DROP);
		assert_int_equal(c->rlen, 0);
	}
	/* wrong MI: dropped, no 401 */
	assert_int_equal(check(c, LUFRAG ":" RUFRAG, RPWD, true, true, &c->a, 1000), WIMS_ICE_DROP);
	assert_string_equal(c->ice.last_why, "bad MESSAGE-INTEGRITY");
	assert_int_equal(c->rlen, 0);
	/* corrupt FINGERPRINT */
	build(c, LUFRAG ":" RUFRAG, LPWD, true, true);
	c->pkt[c->plen - 1] ^= 1;
	assert_int_equal(
	    wims_ice_lite_input(&c->ice, c->pkt, c->plen, &c->a, 1000, c->resp, &c->rlen, sizeof(c->resp)),
	    WIMS_ICE_DROP);
	assert_string_equal(c->ice.last_why, "bad FINGERPRINT");
	/* no MI at all */
	c->plen = wims_stun_binding_request(c->pkt, sizeof(c->pkt), c->txid, wims_str_c(LUFRAG ":" RUFRAG),
					    NULL, 0, 1, true, 1, true);
	assert_int_equal(
	    wims_ice_lite_input(&c->ice, c->pkt, c->plen, &c->a, 1000, c->resp, &c->rlen, sizeof(c->resp)),
	    WIMS_ICE_DROP);
	/* garbage and truncation */
	assert_int_equal(
	    wims_ice_lite_input(&c->ice, c->pkt, 7, &c->a, 1000, c->resp, &c->rlen, sizeof(c->resp)),
	    WIMS_ICE_DROP);
	/* responses and indications are dropped */
	c->plen = wims_stun_binding_success(c->pkt, sizeof(c->pkt), c->txid, &c->a, LPWD, strlen(LPWD));
	assert_int_equal(
	    wims_ice_lite_input(&c->ice, c->pkt, c->plen, &c->a, 1000, c->resp, &c->rlen, sizeof(c->resp)),
	    WIMS_ICE_DROP);
	const uint8_t ind[20] = {0x00, 0x11, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
	assert_int_equal(
	    wims_ice_lite_input(&c->ice, ind, sizeof(ind), &c->a, 1000, c->resp, &c->rlen, sizeof(c->resp)),
	    WIMS_ICE_DROP);
	/* a response buffer too small */
	c->plen = wims_stun_binding_request(c->pkt, sizeof(c->pkt), c->txid, wims_str_c(LUFRAG ":" RUFRAG),
					    LPWD, strlen(LPWD), 1, true, 1, true);
	assert_int_equal(wims_ice_lite_input(&c->ice, c->pkt, c->plen, &c->a, 1000, c->resp, &c->rlen, 40),
			 WIMS_ICE_DROP);
	assert_int_equal(c->ice.npairs, 0);
	assert_int_equal(c->ice.checks_ok, 0);
	assert_true(c->ice.checks_bad >= 11);
	assert_false(wims_ice_lite_addr_valid(&c->ice, &c->a));
	assert_null(wims_ice_lite_selected(&c->ice));
}

static void test_nomination(void **state)
{
	struct ctx *c = *state;
	const char *u = LUFRAG ":" RUFRAG;

	assert_int_equal(wims_ice_lite_set_remote(&c->ice, wims_str_c(RUFRAG), wims_str_c(RPWD), false), 0);
	assert_int_equal(check(c, u, LPWD, false, true, &c->a, 1000), WIMS_ICE_RESPOND);
	assert_int_equal(check(c, u, LPWD, false, true, &c->b, 1001), WIMS_ICE_RESPOND);
	resp_ok(c, &c->b, WIMS_STUN_BINDING_SUCCESS, 0);
	assert_null(wims_ice_lite_selected(&c->ice));
	/* USE-CANDIDATE on b selects b */
	assert_int_equal(check(c, u, LPWD, true, true, &c->b, 2000), WIMS_ICE_RESPOND_SELECTED);
	resp_ok(c, &c->b, WIMS_STUN_BINDING_SUCCESS, 0);
	assert_true(wims_addr_eq(wims_ice_lite_selected(&c->ice), &c->b));
	assert_true(wims_ice_lite_can_send(&c->ice, 2000, WIMS_ICE_CONSENT_MS));
	assert_int_equal(c->ice.last_consent_ms, 2000);
	/* the same nomination again: no change */
	assert_int_equal(check(c, u, LPWD, true, true, &c->b, 3000), WIMS_ICE_RESPOND);
	/* a check on the other pair does not refresh consent */
	assert_int_equal(check(c, u, LPWD, false, true, &c->a, 4000), WIMS_ICE_RESPOND);
	assert_int_equal(c->ice.last_consent_ms, 3000);
	/* a second nominated address switches (the browser moved) */
	assert_int_equal(check(c, u, LPWD, true, true, &c->a, 5000), WIMS_ICE_RESPOND_SELECTED);
	assert_true(wims_addr_eq(wims_ice_lite_selected(&c->ice), &c->a));
	assert_int_equal(c->ice.last_consent_ms, 5000);
	assert_int_equal(c->ice.npairs, 2);
	/* a new address nominated at once */
	struct wims_addr n;
	assert_int_equal(wims_addr_parse(&n, wims_str_c("203.0.113.5:1234"), 0), 0);
	assert_int_equal(check(c, u, LPWD, true, true, &n, 6000), WIMS_ICE_RESPOND_SELECTED);
	assert_true(wims_addr_eq(wims_ice_lite_selected(&c->ice), &n));
	assert_true(wims_ice_lite_addr_valid(&c->ice, &c->a) && wims_ice_lite_addr_valid(&c->ice, &c->b));
}

static void test_consent_expiry(void **state)
{
	struct ctx *c = *state;
	const char *u = LUFRAG ":" RUFRAG;

	assert_int_equal(check(c, u, LPWD, true, true, &c->a, 10000), WIMS_ICE_RESPOND_SELECTED);
	/* consent refreshed by checks every 5 s */
	for (uint64_t t = 15000; t <= 40000; t += 5000) {
		assert_int_equal(check(c, u, LPWD, false, true, &c->a, t), WIMS_ICE_RESPOND);
		assert_true(wims_ice_lite_can_send(&c->ice, t + 29999, WIMS_ICE_CONSENT_MS));
	}
	/* 30 s of silence: stop sending */
	assert_true(wims_ice_lite_can_send(&c->ice, 40000 + 29999, WIMS_ICE_CONSENT_MS));
	assert_false(wims_ice_lite_can_send(&c->ice, 40000 + 30000, WIMS_ICE_CONSENT_MS));
	assert_false(wims_ice_lite_can_send(&c->ice, 40000 + 100000, WIMS_ICE_CONSENT_MS));
	/* bad checks do not refresh consent */
	assert_int_equal(check(c, u, RPWD, false, true, &c->a, 75000), WIMS_ICE_DROP);
	assert_false(wims_ice_lite_can_send(&c->ice, 75000, WIMS_ICE_CONSENT_MS));
	/* a good one restores it; the selection stayed */
	assert_int_equal(check(c, u, LPWD, false, true, &c->a, 76000), WIMS_ICE_RESPOND);
	assert_true(wims_ice_lite_can_send(&c->ice, 76000, WIMS_ICE_CONSENT_MS));
	/* a clock that went backwards is not an expiry */
	assert_true(wims_ice_lite_can_send(&c->ice, 1000, WIMS_ICE_CONSENT_MS));
}

static void test_restart(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(check(c, LUFRAG ":" RUFRAG, LPWD, true, true, &c->a, 1000),
			 WIMS_ICE_RESPOND_SELECTED);
	assert_int_equal(wims_ice_lite_set_remote(&c->ice, wims_str_c(RUFRAG), wims_str_c(RPWD), false), 0);
	assert_non_null(wims_ice_lite_selected(&c->ice));
	/* new remote credentials, local kept */
	assert_int_equal(wims_ice_lite_set_remote(&c->ice, wims_str_c("NeWu"), wims_str_c(RPWD), false), 1);
	assert_null(wims_ice_lite_selected(&c->ice));
	assert_false(wims_ice_lite_addr_valid(&c->ice, &c->a));
	assert_false(wims_ice_lite_can_send(&c->ice, 1000, WIMS_ICE_CONSENT_MS));
	assert_int_equal(c->ice.npairs, 0);
	assert_string_equal(c->ice.lufrag, LUFRAG);
	assert_int_equal(check(c, LUFRAG ":" RUFRAG, LPWD, true, true, &c->a, 2000), WIMS_ICE_DROP);
	assert_int_equal(check(c, LUFRAG ":NeWu", LPWD, true, true, &c->a, 2000), WIMS_ICE_RESPOND_SELECTED);
	/* a pwd change alone is a restart too; new local credentials made */
	assert_int_equal(wims_ice_lite_set_remote(&c->ice, wims_str_c("NeWu"), wims_str_c(RPWD "x"), true),
			 1);
	assert_string_not_equal(c->ice.lufrag, LUFRAG);
	assert_string_not_equal(c->ice.lpwd, LPWD);
	assert_null(wims_ice_lite_selected(&c->ice));
	/* old local credentials no longer work, new ones do (and the key follows) */
	assert_int_equal(check(c, LUFRAG ":NeWu", LPWD, true, true, &c->a, 3000), WIMS_ICE_DROP);
	char u[WIMS_ICE_UFRAG_MAX * 2 + 2];
	snprintf(u, sizeof(u), "%s:NeWu", c->ice.lufrag);
	assert_int_equal(check(c, u, c->ice.lpwd, true, true, &c->a, 3000), WIMS_ICE_RESPOND_SELECTED);
	resp_ok(c, &c->a, WIMS_STUN_BINDING_SUCCESS, 0);
}

static void test_role_conflict(void **state)
{
	struct ctx *c = *state;

	/* both controlled: 487, nothing learnt */
	assert_int_equal(check(c, LUFRAG ":" RUFRAG, LPWD, true, false, &c->a, 1000), WIMS_ICE_RESPOND);
	resp_ok(c, &c->a, WIMS_STUN_BINDING_ERROR, 487);
	assert_false(wims_ice_lite_addr_valid(&c->ice, &c->a));
	assert_null(wims_ice_lite_selected(&c->ice));
	/* the peer switches to controlling */
	assert_int_equal(check(c, LUFRAG ":" RUFRAG, LPWD, true, true, &c->a, 1000),
			 WIMS_ICE_RESPOND_SELECTED);
}

/* Append MESSAGE-INTEGRITY (OpenSSL HMAC(), not ours) and FINGERPRINT to a
 * message of len bytes whose length field is not set yet. */
static size_t sign(uint8_t *p, size_t len, const char *key)
{
	unsigned int ml = 0;

	p[2] = (uint8_t)((len + 24 - 20) >> 8);
	p[3] = (uint8_t)(len + 24 - 20);
	memcpy(p + len, "\x00\x08\x00\x14", 4);
	HMAC(EVP_sha1(), key, (int)strlen(key), p, len, p + len + 4, &ml);
	assert_int_equal(ml, 20);
	len += 24;
	p[2] = (uint8_t)((len + 8 - 20) >> 8);
	p[3] = (uint8_t)(len + 8 - 20);
	uint32_t crc = wims_stun_crc32(0, p, len) ^ 0x5354554eu;
	const uint8_t fp[8] = {
	    0x80, 0x28, 0, 4, (uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
	memcpy(p + len, fp, 8);
	return len + 8;
}

/* A request as a browser might build it by hand: attributes in raw bytes */
static size_t raw_request(uint8_t *p, const uint8_t *attrs, size_t n)
{
	const uint8_t hdr[20] = {0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42, 9, 8, 7, 6, 5, 4, 3, 2, 1};
	const char *u = LUFRAG ":" RUFRAG; /* 13 bytes */

	memcpy(p, hdr, 20);
	memcpy(p + 20, "\x00\x06\x00\x0d", 4);
	memcpy(p + 24, u, 13);
	memset(p + 37, 0, 3);
	memcpy(p + 40, attrs, n);
	return sign(p, 40 + n, LPWD);
}

/* An unknown comprehension-required attribute: 420 with UNKNOWN-ATTRIBUTES;
 * unknown optional ones (Chrome's GOOG-NETWORK-INFO) are ignored */
static void test_unknown_attr(void **state)
{
	struct ctx *c = *state;
	struct wims_stun_msg m;
	const uint8_t unk[] = {0x77, 0x77, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00};
	const uint8_t opt[] = {0xc0, 0x57, 0x00, 0x04, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x25, 0x00, 0x00};

	c->plen = raw_request(c->pkt, unk, sizeof(unk));
	assert_int_equal(
	    wims_ice_lite_input(&c->ice, c->pkt, c->plen, &c->a, 1000, c->resp, &c->rlen, sizeof(c->resp)),
	    WIMS_ICE_RESPOND);
	resp_ok(c, &c->a, WIMS_STUN_BINDING_ERROR, 420);
	assert_int_equal(wims_stun_parse(&m, c->resp, c->rlen, NULL), 0);
	/* UNKNOWN-ATTRIBUTES lists 0x7777 and 0x0003, right after ERROR-CODE */
	size_t at = 20 + 4 + ((4 + strlen("Unknown Attribute") + 3) & ~3u);
	const uint8_t want[] = {0x00, 0x0a, 0x00, 0x04, 0x77, 0x77, 0x00, 0x03};
	assert_memory_equal(c->resp + at, want, sizeof(want));
	assert_false(wims_ice_lite_addr_valid(&c->ice, &c->a));

	c->plen = raw_request(c->pkt, opt, sizeof(opt));
	assert_int_equal(
	    wims_ice_lite_input(&c->ice, c->pkt, c->plen, &c->a, 1000, c->resp, &c->rlen, sizeof(c->resp)),
	    WIMS_ICE_RESPOND_SELECTED);
	resp_ok(c, &c->a, WIMS_STUN_BINDING_SUCCESS, 0);
	/* no PRIORITY: accepted, priority 0 */
	assert_int_equal(c->ice.pairs[0].priority, 0);
}

static void test_table_full(void **state)
{
	struct ctx *c = *state;
	struct wims_addr x;
	char s[64];

	assert_int_equal(check(c, LUFRAG ":" RUFRAG, LPWD, true, true, &c->a, 1), WIMS_ICE_RESPOND_SELECTED);
	for (unsigned i = 0; i < 3 * WIMS_ICE_MAX_PAIRS; i++) {
		snprintf(s, sizeof(s), "10.0.0.%u:%u", i + 1, 1000 + i);
		assert_int_equal(wims_addr_parse(&x, wims_str_c(s), 0), 0);
		assert_int_equal(check(c, LUFRAG ":" RUFRAG, LPWD, false, true, &x, 10 + i),
				 WIMS_ICE_RESPOND);
		assert_true(c->ice.npairs <= WIMS_ICE_MAX_PAIRS);
		assert_true(wims_ice_lite_addr_valid(&c->ice, &x));
	}
	/* the selected pair survived every eviction */
	assert_true(wims_addr_eq(wims_ice_lite_selected(&c->ice), &c->a));
	assert_int_equal(c->ice.npairs, WIMS_ICE_MAX_PAIRS);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init), T(test_early_check),	 T(test_bad_checks),
	    T(test_nomination),		 T(test_consent_expiry), T(test_restart),
	    T(test_role_conflict),	 T(test_unknown_attr),	 T(test_table_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
