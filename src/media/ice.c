/* ICE-lite agent (RFC 8445 §2.5) with consent freshness (RFC 7675).
 *
 * A lite agent has only host candidates and sends no checks: it answers the
 * full agent's Binding requests, learns the (often peer-reflexive: browsers
 * hide host candidates behind mDNS names) source addresses that passed a
 * check, and sends media to the address the controlling agent nominated
 * with USE-CANDIDATE.  Consent (RFC 7675) is the browser's own checks,
 * which keep arriving on the selected pair every ~5 s; 30 s without one and
 * media must stop.
 */
#include "media/ice.h"

#include <errno.h>
#include <string.h>

#include <openssl/rand.h>

static const char ice_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/" */
static bool ice_chars_ok(struct wims_str s, size_t min, size_t max)
{
	if (!s.p || s.l < min || s.l > max)
		return false;
	for (size_t i = 0; i < s.l; i++)
		if (!memchr(ice_chars, s.p[i], sizeof(ice_chars) - 1))
			return false;
	return true;
}

static int random_chars(char *dst, size_t n)
{
	unsigned char r[WIMS_ICE_PWD_MAX];

	if (n > sizeof(r) || RAND_bytes(r, (int)n) != 1)
		return -EIO;
	for (size_t i = 0; i < n; i++)
		dst[i] = ice_chars[r[i] & 63]; /* 64 symbols: uniform */
	dst[n] = '\0';
	return 0;
}

static int new_local(struct wims_ice_lite *ice)
{
	if (random_chars(ice->lufrag, 8) || random_chars(ice->lpwd, 24) ||
	    RAND_bytes((unsigned char *)&ice->tiebreaker, sizeof(ice->tiebreaker)) != 1)
		return -EIO;
	wims_stun_key_init(&ice->lkey, ice->lpwd, strlen(ice->lpwd));
	return 0;
}

static void clear_pairs(struct wims_ice_lite *ice)
{
	memset(ice->pairs, 0, sizeof(ice->pairs));
	ice->npairs = 0;
	ice->selected = -1;
	ice->last_consent_ms = 0;
}

int wims_ice_lite_init(struct wims_ice_lite *ice)
{
	memset(ice, 0, sizeof(*ice));
	clear_pairs(ice);
	return new_local(ice);
}

int wims_ice_lite_set_local(struct wims_ice_lite *ice, struct wims_str ufrag, struct wims_str pwd)
{
	if (!ice_chars_ok(ufrag, WIMS_ICE_UFRAG_MIN, WIMS_ICE_UFRAG_MAX) ||
	    !ice_chars_ok(pwd, WIMS_ICE_PWD_MIN, WIMS_ICE_PWD_MAX))
		return -EINVAL;
	memcpy(ice->lufrag, ufrag.p, ufrag.l);
	ice->lufrag[ufrag.l] = '\0';
	memcpy(ice->lpwd, pwd.p, pwd.l);
	ice->lpwd[pwd.l] = '\0';
	wims_stun_key_init(&ice->lkey, ice->lpwd, pwd.l);
	return 0;
}

int wims_ice_lite_set_remote(struct wims_ice_lite *ice, struct wims_str ufrag, struct wims_str pwd,
			     bool restart_local)
{
	if (!ice_chars_ok(ufrag, WIMS_ICE_UFRAG_MIN, WIMS_ICE_UFRAG_MAX) ||
	    !ice_chars_ok(pwd, WIMS_ICE_PWD_MIN, WIMS_ICE_PWD_MAX))
		return -EINVAL;
	bool first = ice->rufrag[0] == '\0';
	if (!first && wims_str_eqc(ufrag, ice->rufrag) && wims_str_eqc(pwd, ice->rpwd))
		return 0;
	memcpy(ice->rufrag, ufrag.p, ufrag.l);
	ice->rufrag[ufrag.l] = '\0';
	memcpy(ice->rpwd, pwd.p, pwd.l);
	ice->rpwd[pwd.l] = '\0';
	if (first)
		return 0;
	/* RFC 8445 §9: a restart forgets every pair and the selection */
	clear_pairs(ice);
	if (restart_local && new_local(ice))
		return -EIO;
	return 1;
}

static enum wims_ice_verdict drop(struct wims_ice_lite *ice, const char *why, bool count)
{
	ice->last_why = why;
	if (count)
		ice->checks_bad++;
	return WIMS_ICE_DROP;
}

/* USERNAME of a check to us: "<lufrag>:<rufrag>" (RFC 8445 §7.2.2);
 * any remote part while the answer's rufrag is not known yet. */
static bool username_ok(const struct wims_ice_lite *ice, struct wims_str u)
{
	size_t ll = strlen(ice->lufrag);

	if (ll == 0 || u.l <= ll || memcmp(u.p, ice->lufrag, ll) != 0 || u.p[ll] != ':')
		return false;
	if (ice->rufrag[0] == '\0')
		return true;
	return wims_str_eqc(wims_str_make(u.p + ll + 1, u.l - ll - 1), ice->rufrag);
}

/* The pair of `from`, learnt if new; a full table gives up the least
 * recently checked pair that is not selected. */
static int learn_pair(struct wims_ice_lite *ice, const struct wims_addr *from)
{
	int victim = -1;

	for (unsigned i = 0; i < ice->npairs; i++) {
		if (wims_addr_eq(&ice->pairs[i].addr, from))
			return (int)i;
		if ((int)i != ice->selected &&
		    (victim < 0 || ice->pairs[i].last_ms < ice->pairs[victim].last_ms))
			victim = (int)i;
	}
	int i = ice->npairs < WIMS_ICE_MAX_PAIRS ? (int)ice->npairs++ : victim;
	memset(&ice->pairs[i], 0, sizeof(ice->pairs[i]));
	ice->pairs[i].addr = *from;
	return i;
}

/* A check passed: respond success, remember the pair, follow a nomination. */
static enum wims_ice_verdict check_ok(struct wims_ice_lite *ice, const struct wims_stun_msg *m,
				      const struct wims_addr *from, uint64_t now_ms, uint8_t *resp,
				      size_t *resp_len, size_t resp_cap)
{
	enum wims_ice_verdict v = WIMS_ICE_RESPOND;

	*resp_len = wims_stun_binding_success_k(resp, resp_cap, m->txid, from, &ice->lkey);
	if (*resp_len == 0)
		return drop(ice, "response does not fit", false);
	int i = learn_pair(ice, from);
	ice->pairs[i].last_ms = now_ms;
	if (m->has_priority)
		ice->pairs[i].priority = m->priority;
	/* RFC 8445 §8.2.2 (lite): the controlling agent's USE-CANDIDATE selects;
	 * a later nomination of another address moves media there */
	if (m->use_candidate) {
		ice->pairs[i].nominated = true;
		if (ice->selected != i) {
			ice->selected = i;
			v = WIMS_ICE_RESPOND_SELECTED;
		}
	}
	if (ice->selected == i)
		ice->last_consent_ms = now_ms;
	ice->checks_ok++;
	ice->last_why = NULL;
	return v;
}

enum wims_ice_verdict wims_ice_lite_input(struct wims_ice_lite *ice, const uint8_t *pkt, size_t len,
					  const struct wims_addr *from, uint64_t now_ms, uint8_t *resp,
					  size_t *resp_len, size_t resp_cap)
{
	struct wims_stun_msg m;
	const char *why = NULL;

	*resp_len = 0;
	if (wims_stun_parse(&m, pkt, len, &why))
		return drop(ice, why, true);
	/* A lite agent sends no requests: responses and indications (consent
	 * keepalives from the browser included) need nothing from us */
	if (m.type != WIMS_STUN_BINDING_REQUEST)
		return drop(ice, "not a Binding request", false);
	if (m.has_fp && !wims_stun_check_fingerprint(&m, pkt, len))
		return drop(ice, "bad FINGERPRINT", true);
	/* RFC 8489 §9.1.3 would answer 400/401; a lite agent's checks always
	 * carry both, and silence gives a spoofer nothing to work with */
	if (!m.has_mi || !wims_str_isset(m.username))
		return drop(ice, "no MESSAGE-INTEGRITY or USERNAME", true);
	if (!username_ok(ice, m.username))
		return drop(ice, "USERNAME not ours", true);
	if (!wims_stun_check_integrity_k(&m, pkt, len, &ice->lkey))
		return drop(ice, "bad MESSAGE-INTEGRITY", true);
	if (m.unknown_required) {
		unsigned n =
		    m.unknown_required < WIMS_STUN_MAX_UNKNOWN ? m.unknown_required : WIMS_STUN_MAX_UNKNOWN;
		*resp_len =
		    wims_stun_binding_error_k(resp, resp_cap, m.txid, 420, NULL, m.unknown, n, &ice->lkey);
		ice->checks_bad++;
		return *resp_len ? WIMS_ICE_RESPOND : drop(ice, "response does not fit", false);
	}
	/* RFC 8445 §7.3.1.1: both sides controlled.  A lite agent cannot take
	 * the controlling role, so the peer must switch: 487 */
	if (m.ice_controlled) {
		*resp_len = wims_stun_binding_error_k(resp, resp_cap, m.txid, 487, NULL, NULL, 0, &ice->lkey);
		ice->checks_bad++;
		return *resp_len ? WIMS_ICE_RESPOND : drop(ice, "response does not fit", false);
	}
	return check_ok(ice, &m, from, now_ms, resp, resp_len, resp_cap);
}

bool wims_ice_lite_can_send(const struct wims_ice_lite *ice, uint64_t now_ms, uint64_t consent_ms)
{
	if (ice->selected < 0)
		return false;
	/* a clock that went backwards counts as fresh */
	return now_ms < ice->last_consent_ms || now_ms - ice->last_consent_ms < consent_ms;
}

bool wims_ice_lite_addr_valid(const struct wims_ice_lite *ice, const struct wims_addr *from)
{
	for (unsigned i = 0; i < ice->npairs; i++)
		if (wims_addr_eq(&ice->pairs[i].addr, from))
			return true;
	return false;
}

const struct wims_addr *wims_ice_lite_selected(const struct wims_ice_lite *ice)
{
	return ice->selected >= 0 ? &ice->pairs[ice->selected].addr : NULL;
}
