/* ICE-lite agent (RFC 8445 §2.5, lite implementation) with consent freshness
 * (RFC 7675).  The gateway is always controlled, never sends checks, answers
 * the browser's Binding requests and follows its nomination (USE-CANDIDATE).
 * Pure logic over caller buffers: the caller owns sockets and the clock. */
#ifndef WIMS_MEDIA_ICE_H
#define WIMS_MEDIA_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/str.h"
#include "media/stun.h"

#define WIMS_ICE_UFRAG_MAX 64
#define WIMS_ICE_PWD_MAX 128
#define WIMS_ICE_UFRAG_MIN 4	  /* RFC 8839 §5.4 */
#define WIMS_ICE_PWD_MIN 22	  /* RFC 8839 §5.4 */
#define WIMS_ICE_MAX_PAIRS 8	  /* remote addresses that passed a check */
#define WIMS_ICE_CONSENT_MS 30000 /* RFC 7675 §5.1 */

struct wims_ice_lite {
	char lufrag[WIMS_ICE_UFRAG_MAX + 1], lpwd[WIMS_ICE_PWD_MAX + 1];
	char rufrag[WIMS_ICE_UFRAG_MAX + 1], rpwd[WIMS_ICE_PWD_MAX + 1];
	/* checked remote addresses (peer-reflexive learnt here: browsers hide host
	 * candidates behind mDNS names), each with its last good check time */
	struct {
		struct wims_addr addr;
		uint64_t last_ms;
		uint32_t priority;
		bool nominated;
	} pairs[WIMS_ICE_MAX_PAIRS];
	unsigned npairs;
	int selected;		  /* index into pairs of the address media goes to, -1 none */
	uint64_t last_consent_ms; /* last valid check on the selected pair */
	/* counters for stats/logs */
	uint64_t checks_ok, checks_bad;
	uint64_t tiebreaker;	   /* ours, for role conflicts (RFC 8445 §7.3.1.1) */
	struct wims_stun_key lkey; /* lpwd prepared for HMAC; set with lpwd */
	const char *last_why;	   /* why the last packet was dropped (static string) */
};

/** Generate local ufrag (8 chars) and pwd (24 chars) from the ice-char set
 * and a tie-breaker, using RAND_bytes; clears everything else.  0 or -EIO. */
int wims_ice_lite_init(struct wims_ice_lite *ice) __attribute__((warn_unused_result));

/** Set fixed local credentials (tests, or credentials chosen elsewhere) on an
 * initialised agent.  0 or -EINVAL (lengths out of RFC 8839 bounds or a
 * character outside ice-char). */
int wims_ice_lite_set_local(struct wims_ice_lite *ice, struct wims_str ufrag, struct wims_str pwd)
    __attribute__((warn_unused_result));

/** Set the remote credentials from the peer's SDP.  The first setting is not
 * a restart (pairs from early checks stay).  A change of rufrag/rpwd is an
 * ICE restart: pairs and selection are cleared, and (when restart_local is
 * true) new local credentials are made.  Returns 1 if it was a restart, 0 if
 * unchanged or first set, -EINVAL on bad lengths or characters, -EIO when
 * new local credentials could not be made. */
int wims_ice_lite_set_remote(struct wims_ice_lite *ice, struct wims_str ufrag, struct wims_str pwd,
			     bool restart_local) __attribute__((warn_unused_result));

enum wims_ice_verdict {
	WIMS_ICE_DROP = 0,	   /* not for us / bad integrity / malformed: send nothing */
	WIMS_ICE_RESPOND,	   /* resp filled: send it to `from` */
	WIMS_ICE_RESPOND_SELECTED, /* resp filled, and the selected address changed to `from` */
};

/** Handle one STUN packet that arrived from `from`.  Answers Binding requests
 * whose USERNAME is "<lufrag>:<rufrag>" (any remote part while rufrag is not
 * known yet: early checks), with MI keyed with lpwd and FINGERPRINT checked
 * if present.  Dropped without answer: malformed packets, bad/missing MI,
 * wrong username, responses and indications.  A request with ICE-CONTROLLED
 * (both controlled) is answered 487 Role Conflict (RFC 8445 §7.3.1.1: a lite
 * agent stays controlled); unknown comprehension-required attributes get 420.
 * USE-CANDIDATE selects `from` (also when it changes).  Without nomination
 * nothing is selected.  Updates the pair's last_ms and, for the selected
 * pair, last_consent_ms.  ice->last_why says why a packet was dropped. */
enum wims_ice_verdict wims_ice_lite_input(struct wims_ice_lite *ice, const uint8_t *pkt, size_t len,
					  const struct wims_addr *from, uint64_t now_ms, uint8_t *resp,
					  size_t *resp_len, size_t resp_cap);

/** May media be sent now?  A selected pair exists and a valid check arrived
 * on it less than consent_ms ago (RFC 7675: 30 s). */
bool wims_ice_lite_can_send(const struct wims_ice_lite *ice, uint64_t now_ms, uint64_t consent_ms);

/** Was a valid check ever received from this address (media from other addresses is dropped)? */
bool wims_ice_lite_addr_valid(const struct wims_ice_lite *ice, const struct wims_addr *from);

/** The selected address or NULL. */
const struct wims_addr *wims_ice_lite_selected(const struct wims_ice_lite *ice);

#endif
