/* The Bearer token of a REGISTER (src/proxy/jwt.c): base64url, JSON (jansson)
 * and the HS256/ES256 checks on arbitrary bytes.  Half the inputs are
 * re-signed with the fuzzer's key so that the claims code is reached too. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/jwt.h"

static const char SECRET[] = "fuzz";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct wims_jwt_keys k = {(const unsigned char *)SECRET, 4, NULL, "wims", 30};
	char tok[WIMS_JWT_MAX + 64];
	struct wims_jwt_claims c;
	const char *why;

	if (size > WIMS_JWT_MAX)
		return 0;
	(void)wims_jwt_verify(&k, (struct wims_str){(const char *)data, size}, 1800000000, &c, &why);
	/* the same bytes as header.payload, signed: reaches the JSON claims */
	const uint8_t *dot = memchr(data, '.', size);
	if (!dot || size > WIMS_JWT_MAX - 50)
		return 0;
	memcpy(tok, data, size);
	unsigned char mac[32];
	unsigned ml = 0;
	HMAC(EVP_sha256(), SECRET, 4, data, size, mac, &ml);
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = size;
	tok[o++] = '.';
	unsigned acc = 0, bits = 0;
	for (unsigned i = 0; i < ml; i++) {
		acc = (acc << 8) | mac[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			tok[o++] = t[(acc >> bits) & 63];
		}
	}
	if (bits)
		tok[o++] = t[(acc << (6 - bits)) & 63];
	if (wims_jwt_verify(&k, (struct wims_str){tok, o}, 1800000000, &c, &why) == 0) {
		if (strnlen(c.sub, sizeof(c.sub)) == sizeof(c.sub) || strncmp(c.sub, "sip:", 4))
			abort();
	}
	return 0;
}
