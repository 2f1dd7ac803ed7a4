/* wims-bench helpers: the SIP requests a JsSIP-like user agent sends, and
 * HTTP digest (RFC 2617, MD5, qop=auth) for its REGISTER and INVITE.
 * Included by tools/wims-bench.c only. */
#ifndef WIMS_TOOLS_BENCH_SIP_H
#define WIMS_TOOLS_BENCH_SIP_H

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/str.h"

/* What one request needs to be written. */
struct bsip_req {
	const char *method;
	const char *ruri;
	const char *via_proto; /* "WS" or "WSS" (JsSIP writes the URL's scheme) */
	const char *via_host;  /* random label; ".invalid" is appended (RFC 7118 §5.2) */
	const char *branch;    /* after the magic cookie */
	const char *to;	       /* whole To value */
	const char *from_uri;
	const char *from_tag;
	const char *call_id;
	uint32_t cseq;
	const char *cseq_method; /* NULL: method */
	const char *route;	 /* Route values or NULL */
	const char *extra;	 /* complete header lines or NULL */
	const char *body;	 /* NULL: none */
	const char *ctype;
};

static const char bsip_ua[] = "User-Agent: JsSIP 3.10.1 (wims-bench)\r\n";

static void bsip_write(struct wims_wbuf *b, const struct bsip_req *r)
{
	size_t bl = r->body ? strlen(r->body) : 0;

	wims_wbuf_printf(b, "%s %s SIP/2.0\r\nVia: SIP/2.0/%s %s.invalid;branch=z9hG4bK%s\r\n", r->method,
			 r->ruri, r->via_proto, r->via_host, r->branch);
	if (r->route && r->route[0])
		wims_wbuf_printf(b, "Route: %s\r\n", r->route);
	wims_wbuf_printf(b,
			 "Max-Forwards: 69\r\nTo: %s\r\nFrom: <%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: %u %s\r\n",
			 r->to, r->from_uri, r->from_tag, r->call_id, (unsigned)r->cseq,
			 r->cseq_method ? r->cseq_method : r->method);
	if (r->extra)
		wims_wbuf_puts(b, r->extra);
	wims_wbuf_puts(b, bsip_ua);
	if (bl)
		wims_wbuf_printf(b, "Content-Type: %s\r\n", r->ctype);
	wims_wbuf_printf(b, "Content-Length: %zu\r\n\r\n", bl);
	if (bl)
		wims_wbuf_put(b, r->body, bl);
}

/* A WebRTC offer as Chromium writes it (one audio m-line, BUNDLE, ICE, DTLS). */
static const char bsip_sdp[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS 9a1e2f0c-6b8e-4e0a-9c55-3f1d2e4b5a61\r\n"
    "m=audio 50000 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:2395300328 1 udp 2113937151 127.0.0.1 50000 typ host generation 0 network-cost 999\r\n"
    "a=ice-ufrag:Gx4R\r\n"
    "a=ice-pwd:uR1fYV2rAvm0cS9sQ5nBf3e7\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=sendrecv\r\n"
    "a=msid:9a1e2f0c-6b8e-4e0a-9c55-3f1d2e4b5a61 0c4e5a3b-8f1d-4c7e-a2b9-6d5e4f3a2b1c\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "a=fmtp:63 111/111\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:13 CN/8000\r\n"
    "a=rtpmap:110 telephone-event/48000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
    "a=ssrc:3735928559 cname:wimsbenchcname01\r\n"
    "a=ssrc:3735928559 msid:9a1e2f0c-6b8e-4e0a-9c55-3f1d2e4b5a61 0c4e5a3b-8f1d-4c7e-a2b9-6d5e4f3a2b1c\r\n";

/* ---- digest (RFC 2617 §3.2.2) ---- */

struct bsip_chal {
	char realm[128], nonce[256], opaque[256], algorithm[32];
	bool qop_auth;
};

/* Copy the value of one auth-param (quoted or token) at s[*i] into out. */
static void bsip_auth_val(struct wims_str s, size_t *i, char *out, size_t cap)
{
	size_t n = 0;
	bool q = *i < s.l && s.p[*i] == '"';

	if (q)
		(*i)++;
	while (*i < s.l) {
		char c = s.p[*i];
		if (q ? c == '"' : (c == ',' || c == ' ' || c == '\t'))
			break;
		if (q && c == '\\' && *i + 1 < s.l)
			c = s.p[++*i];
		if (n + 1 < cap)
			out[n++] = c;
		(*i)++;
	}
	if (q && *i < s.l)
		(*i)++;
	out[n] = 0;
}

static void bsip_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

/** Parse a WWW-/Proxy-Authenticate value.  false when it is not a Digest challenge with a nonce. */
static bool bsip_chal_parse(struct bsip_chal *c, struct wims_str s)
{
	size_t i = 0;
	char name[32], val[256];

	memset(c, 0, sizeof(*c));
	if (s.l < 7 || strncasecmp(s.p, "Digest", 6) != 0)
		return false;
	i = 6;
	while (i < s.l) {
		size_t n = 0;
		while (i < s.l && (s.p[i] == ' ' || s.p[i] == '\t' || s.p[i] == ','))
			i++;
		while (i < s.l && s.p[i] != '=' && s.p[i] != ' ' && n + 1 < sizeof(name))
			name[n++] = s.p[i++];
		name[n] = 0;
		while (i < s.l && s.p[i] == ' ')
			i++;
		if (i >= s.l || s.p[i] != '=')
			break;
		i++;
		bsip_auth_val(s, &i, val, sizeof(val));
		if (!strcasecmp(name, "realm"))
			bsip_copy(c->realm, sizeof(c->realm), val);
		else if (!strcasecmp(name, "nonce"))
			bsip_copy(c->nonce, sizeof(c->nonce), val);
		else if (!strcasecmp(name, "opaque"))
			bsip_copy(c->opaque, sizeof(c->opaque), val);
		else if (!strcasecmp(name, "algorithm"))
			bsip_copy(c->algorithm, sizeof(c->algorithm), val);
		else if (!strcasecmp(name, "qop"))
			c->qop_auth = strstr(val, "auth") != NULL; /* "auth" or "auth,auth-int" */
	}
	return c->nonce[0] != 0;
}

static void bsip_md5_hex(const char *in, size_t len, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	(void)EVP_Digest(in, len, md, &mdlen, EVP_md5(), NULL);
	for (unsigned i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/**
 * Write "Name: Digest ..." (Name is Authorization or Proxy-Authorization)
 * answering c for method and uri.  cnonce is any random text.
 */
static void bsip_auth_write(struct wims_wbuf *b, const char *hname, const struct bsip_chal *c,
			    const char *user, const char *pass, const char *method, const char *uri,
			    const char *cnonce)
{
	char tmp[1024], ha1[33], ha2[33], resp[33];
	int n;

	n = snprintf(tmp, sizeof(tmp), "%s:%s:%s", user, c->realm, pass);
	bsip_md5_hex(tmp, (size_t)n, ha1);
	n = snprintf(tmp, sizeof(tmp), "%s:%s", method, uri);
	bsip_md5_hex(tmp, (size_t)n, ha2);
	if (c->qop_auth)
		n = snprintf(tmp, sizeof(tmp), "%s:%s:00000001:%s:auth:%s", ha1, c->nonce, cnonce, ha2);
	else
		n = snprintf(tmp, sizeof(tmp), "%s:%s:%s", ha1, c->nonce, ha2);
	bsip_md5_hex(tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1, resp);
	wims_wbuf_printf(b,
			 "%s: Digest algorithm=MD5, username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
			 "response=\"%s\"",
			 hname, user, c->realm, c->nonce, uri, resp);
	if (c->opaque[0])
		wims_wbuf_printf(b, ", opaque=\"%s\"", c->opaque);
	if (c->qop_auth)
		wims_wbuf_printf(b, ", qop=auth, cnonce=\"%s\", nc=00000001", cnonce);
	wims_wbuf_puts(b, "\r\n");
}

#endif
