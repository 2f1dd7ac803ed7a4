/* STUN parsing, integrity, fingerprint and the ICE-lite agent.
 *
 * Input: one flag byte, then a datagram.  Flags: bit 0 re-signs the
 * datagram's MESSAGE-INTEGRITY and FINGERPRINT (with OpenSSL's HMAC(), an
 * independent implementation) so that mutations reach the agent's logic
 * past the integrity check; bit 1 sets the remote credentials first; bit 2
 * makes the source address IPv6.  Checks: parse and the demux test agree,
 * our HMAC agrees with OpenSSL's, and every response parses and verifies. */
/* the checks below are the point of this target: keep them in release builds */
#undef NDEBUG
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "media/ice.h"
#include "media/stun.h"

#define LUFRAG "LUFRAG01"
#define LPWD "fuzzpasswordfuzzpassword"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool ref_mi(const struct wims_stun_msg *m, const uint8_t *p, uint8_t mac[20])
{
	uint8_t buf[65536 + 20];
	unsigned int ml = 0;
	size_t n = m->mi_off + 24 - 20;

	memcpy(buf, p, m->mi_off);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	return HMAC(EVP_sha1(), LPWD, (int)strlen(LPWD), buf, m->mi_off, mac, &ml) && ml == 20;
}

/* Rewrite MI and FP of pkt in place so that they verify. */
static void resign(uint8_t *pkt, size_t len)
{
	struct wims_stun_msg m;
	uint8_t mac[20];

	if (wims_stun_parse(&m, pkt, len, NULL))
		return;
	if (m.has_mi && ref_mi(&m, pkt, mac))
		memcpy(pkt + m.mi_off + 4, mac, 20);
	if (m.has_fp) {
		uint32_t crc = wims_stun_crc32(0, pkt, m.fp_off) ^ 0x5354554eu;
		pkt[m.fp_off + 4] = (uint8_t)(crc >> 24);
		pkt[m.fp_off + 5] = (uint8_t)(crc >> 16);
		pkt[m.fp_off + 6] = (uint8_t)(crc >> 8);
		pkt[m.fp_off + 7] = (uint8_t)crc;
	}
}

static void check_msg(const uint8_t *pkt, size_t len)
{
	struct wims_stun_msg m;
	const char *why = NULL;
	uint8_t mac[20];

	int err = wims_stun_parse(&m, pkt, len, &why);
	if (err) {
		assert(why != NULL);
		return;
	}
	assert(wims_stun_is_stun(pkt, len));
	assert(m.len + 20u == len);
	assert(!m.has_mi || m.mi_off + 24 <= len);
	assert(!m.has_fp || m.fp_off + 8 == len);
	bool ok = wims_stun_check_integrity(&m, pkt, len, LPWD, strlen(LPWD));
	if (m.has_mi && ref_mi(&m, pkt, mac))
		assert(ok == (memcmp(mac, pkt + m.mi_off + 4, 20) == 0));
	else
		assert(!ok);
	(void)wims_stun_check_fingerprint(&m, pkt, len);
}

static void check_resp(const struct wims_ice_lite *ice, const uint8_t *pkt, const uint8_t *resp, size_t rlen)
{
	struct wims_stun_msg m;

	assert(rlen > 0);
	assert(wims_stun_parse(&m, resp, rlen, NULL) == 0);
	assert(memcmp(m.txid, pkt + 8, 12) == 0);
	assert(wims_stun_check_fingerprint(&m, resp, rlen));
	assert(wims_stun_check_integrity(&m, resp, rlen, ice->lpwd, strlen(ice->lpwd)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[65536 + 64], resp[1500];
	static struct wims_ice_lite ice;
	struct wims_addr from;
	size_t rlen = 0;

	if (size < 1 || size - 1 > sizeof(pkt))
		return 0;
	uint8_t flags = data[0];
	size_t len = size - 1;
	memcpy(pkt, data + 1, len);
	if (flags & 1)
		resign(pkt, len);
	check_msg(pkt, len);

	if (wims_ice_lite_init(&ice) || wims_ice_lite_set_local(&ice, wims_str_c(LUFRAG), wims_str_c(LPWD)))
		return 0;
	if ((flags & 2) && wims_ice_lite_set_remote(&ice, wims_str_c("rUfR"),
						    wims_str_c("remotepasswordremotepwd"), false) != 0)
		assert(0);
	if (wims_addr_parse(&from, wims_str_c(flags & 4 ? "[2001:db8::1]:4000" : "192.0.2.1:4000"), 0))
		return 0;
	for (uint64_t now = 1000; now < 3000; now += 1000) {
		enum wims_ice_verdict v =
		    wims_ice_lite_input(&ice, pkt, len, &from, now, resp, &rlen, sizeof(resp));
		if (v == WIMS_ICE_DROP) {
			assert(rlen == 0);
			continue;
		}
		check_resp(&ice, pkt, resp, rlen);
		if (v == WIMS_ICE_RESPOND_SELECTED) {
			assert(wims_addr_eq(wims_ice_lite_selected(&ice), &from));
			assert(wims_ice_lite_can_send(&ice, now, WIMS_ICE_CONSENT_MS));
		}
		if (wims_ice_lite_selected(&ice))
			assert(wims_ice_lite_addr_valid(&ice, &from));
	}
	assert(ice.npairs <= WIMS_ICE_MAX_PAIRS);
	return 0;
}
