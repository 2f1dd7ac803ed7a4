/* The WebSocket opening handshake, server side (RFC 6455 §4.2, RFC 7118 §4). */
#include "http/http.h"

#include <errno.h>
#include <openssl/evp.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

bool wims_http_origin_allowed(struct wims_str origins, struct wims_str origin)
{
	size_t i = 0;

	if (wims_str_trim(origins).l == 0)
		return true;
	/* entries are separated by commas and/or blanks */
	while (i < origins.l) {
		while (i < origins.l && (origins.p[i] == ',' || origins.p[i] == ' ' || origins.p[i] == '\t'))
			i++;
		size_t s = i;
		while (i < origins.l && origins.p[i] != ',' && origins.p[i] != ' ' && origins.p[i] != '\t')
			i++;
		struct wims_str e = wims_str_make(origins.p + s, i - s);
		if (e.l && (wims_str_eqc(e, "*") || wims_str_eqi(e, origin)))
			return true;
	}
	return false;
}

static bool is_b64(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
	       c == '/';
}

bool wims_http_ws_key_valid(struct wims_str key)
{
	/* RFC 6455 §4.1: base64 of 16 random bytes = 22 symbols and "==". */
	if (key.l != 24 || key.p[22] != '=' || key.p[23] != '=')
		return false;
	for (size_t i = 0; i < 22; i++)
		if (!is_b64((unsigned char)key.p[i]))
			return false;
	return true;
}

int wims_http_ws_accept(struct wims_str key, char out[29])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) && EVP_DigestUpdate(ctx, key.p, key.l) &&
	     EVP_DigestUpdate(ctx, WS_GUID, sizeof(WS_GUID) - 1) && EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (!ok || mdlen != 20)
		return -EIO;
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	return 0;
}

static void refuse(struct wims_http_decision *d, unsigned status, const char *fault, bool vhdr)
{
	d->action = WIMS_HTTP_REFUSE;
	d->status = status;
	d->fault = fault;
	d->ws_version_hdr = vhdr;
}

void wims_http_upgrade_decide(const struct wims_http_req *r, struct wims_str origins, bool ws_only,
			      struct wims_http_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (!wims_http_has_token(r, "upgrade", "websocket")) {
		/* RFC 7230 §6.7 / RFC 6455 §4.2.2: the client must upgrade here. */
		if (ws_only) {
			refuse(d, 426, "WebSocket upgrade required", true);
			return;
		}
		d->action = WIMS_HTTP_SERVE;
		return;
	}
	if (!wims_str_eqc(r->method, "GET")) {
		refuse(d, 400, "WebSocket upgrade needs GET", false);
		return;
	}
	if (r->minor < 1) {
		refuse(d, 400, "WebSocket upgrade needs HTTP/1.1", false);
		return;
	}
	if (!wims_str_isset(r->host)) {
		refuse(d, 400, "missing Host header", false);
		return;
	}
	if (!wims_http_has_token(r, "connection", "upgrade")) {
		refuse(d, 400, "Connection header lacks 'upgrade'", false);
		return;
	}
	if (!wims_str_isset(r->ws_version)) {
		refuse(d, 400, "missing Sec-WebSocket-Version", true);
		return;
	}
	/* RFC 6455 §4.2.2: a version we do not speak gets 426 naming ours. */
	if (wims_http_header_count(r, "sec-websocket-version") != 1 || !wims_str_eqc(r->ws_version, "13")) {
		refuse(d, 426, "unsupported Sec-WebSocket-Version (13 required)", true);
		return;
	}
	if (wims_http_header_count(r, "sec-websocket-key") != 1 || !wims_http_ws_key_valid(r->ws_key)) {
		refuse(d, 400, "bad Sec-WebSocket-Key (base64 of 16 bytes required)", false);
		return;
	}
	/* RFC 7118 §4: the client MUST offer "sip"; without it this is no SIP client. */
	if (!wims_http_has_token(r, "sec-websocket-protocol", "sip")) {
		refuse(d, 400, "Sec-WebSocket-Protocol must offer 'sip' (RFC 7118)", false);
		return;
	}
	/* RFC 6455 §10.2: Origin guards against scripts from other sites. */
	if (wims_str_isset(r->origin) && !wims_http_origin_allowed(origins, r->origin)) {
		refuse(d, 403, "origin not allowed", false);
		return;
	}
	d->action = WIMS_HTTP_UPGRADE;
	d->status = 101;
}

const char *wims_http_reason(unsigned status)
{
	switch (status) {
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Content Too Large";
	case 426:
		return "Upgrade Required";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "";
	}
}

void wims_http_build_101(struct wims_wbuf *b, struct wims_str key)
{
	char acc[29];

	if (wims_http_ws_accept(key, acc) != 0) {
		b->err = true;
		return;
	}
	wims_wbuf_printf(b,
			 "HTTP/1.1 101 Switching Protocols\r\n"
			 "Upgrade: websocket\r\n"
			 "Connection: Upgrade\r\n"
			 "Sec-WebSocket-Accept: %s\r\n"
			 "Sec-WebSocket-Protocol: sip\r\n\r\n",
			 acc);
}

void wims_http_build_head(struct wims_wbuf *b, unsigned status, const char *ctype, size_t content_length)
{
	wims_wbuf_printf(b,
			 "HTTP/1.1 %u %s\r\n"
			 "Content-Type: %s\r\n"
			 "Content-Length: %zu\r\n"
			 "Cache-Control: no-cache\r\n"
			 "X-Content-Type-Options: nosniff\r\n"
			 "Connection: close\r\n\r\n",
			 status, wims_http_reason(status), ctype, content_length);
}

void wims_http_build_error(struct wims_wbuf *b, const struct wims_http_decision *d)
{
	const char *fault = d->fault ? d->fault : wims_http_reason(d->status);

	wims_wbuf_printf(b, "HTTP/1.1 %u %s\r\n", d->status, wims_http_reason(d->status));
	if (d->status == 426)
		wims_wbuf_puts(b, "Upgrade: websocket\r\n");
	if (d->ws_version_hdr)
		wims_wbuf_puts(b, "Sec-WebSocket-Version: 13\r\n");
	wims_wbuf_printf(b,
			 "Content-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\n"
			 "Connection: close\r\n\r\n"
			 "%s\n",
			 strlen(fault) + 1, fault);
}
