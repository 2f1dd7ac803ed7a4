#include "base/conf.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/addr.h"
#include "base/log.h"
#include "base/str.h"

enum ktype { K_STR, K_UINT, K_BOOL, K_ROLE, K_LEVEL, K_TARGET, K_ADDR, K_CODECS, K_ADDRS };

struct key {
	const char *section, *name;
	enum ktype type;
	size_t off, size;
	unsigned long long min, max;
	const char *def, *doc;
};

#define S(sec, k, field, def, doc) \
	{sec, k, K_STR, offsetof(struct wims_conf, field), sizeof(((struct wims_conf *)0)->field), 0, 0, def, doc}
#define A(sec, k, field, def, doc) \
	{sec, k, K_ADDR, offsetof(struct wims_conf, field), sizeof(((struct wims_conf *)0)->field), 0, 0, def, doc}
#define U(sec, k, field, lo, hi, def, doc) \
	{sec, k, K_UINT, offsetof(struct wims_conf, field), sizeof(unsigned), lo, hi, def, doc}

static const struct key keys[] = {
	{"general", "role", K_ROLE, offsetof(struct wims_conf, role), sizeof(enum wims_role), 0, 0,
	 "iwu", "iwu (interworking unit in front of a P-CSCF) or pcscf (wims is the P-CSCF)"},
	{"general", "log_level", K_LEVEL, offsetof(struct wims_conf, log_level), 16, 0, 0, "info",
	 "err, warn, notice, info or debug"},
	{"general", "log_target", K_TARGET, offsetof(struct wims_conf, log_target), 16, 0, 0,
	 "stderr", "stderr or syslog"},
	U("general", "shutdown_grace_ms", shutdown_grace_ms, 0, 60000, "5000",
	  "on SIGTERM, how long open transactions may run before exit"),
	A("ws", "listen", ws_listen, "127.0.0.1:8080", "plain HTTP/WS listener (empty: none)"),
	A("ws", "listen_tls", ws_listen_tls, "", "HTTPS/WSS listener (empty: none)"),
	S("ws", "tls_cert", ws_tls_cert, "", "PEM certificate chain for listen_tls"),
	S("ws", "tls_key", ws_tls_key, "", "PEM private key for listen_tls"),
	S("ws", "origins", ws_origins, "",
	  "comma-separated Origin allow-list (exact match); empty allows any Origin"),
	U("ws", "handshake_timeout_ms", ws_handshake_timeout_ms, 100, 600000, "5000",
	  "time from accept to a complete upgrade (TLS included) before the connection is closed"),
	U("ws", "idle_timeout_s", ws_idle_timeout_s, 0, 86400, "600",
	  "close a WebSocket with no traffic for this long (0: never)"),
	U("ws", "ping_interval_s", ws_ping_interval_s, 0, 3600, "25",
	  "send a WebSocket ping after this long without traffic (0: never)"),
	U("ws", "pong_timeout_s", ws_pong_timeout_s, 0, 3600, "20",
	  "close a WebSocket (abort, no close handshake) that sends nothing, not even the pong, for this long "
	  "after a ping: a peer gone without FIN/RST is found within ping_interval_s + pong_timeout_s (0: never)"),
	U("ws", "max_message", ws_max_message, 1024, 16777216, "65536",
	  "largest WebSocket message accepted; larger ones close the connection with 1009"),
	U("ws", "max_connections", ws_max_connections, 1, 1000000, "20000",
	  "WebSocket/HTTP connections open at once; more are refused at accept"),
	U("ws", "max_per_ip", ws_max_per_ip, 1, 1000000, "200",
	  "connections open at once from one source address"),
	S("ws", "web_root", ws_web_root, "", "directory served at / over HTTP(S) (empty: none)"),
	{"ws", "admin", K_BOOL, offsetof(struct wims_conf, ws_admin), sizeof(bool), 0, 0, "no",
	 "yes: serve /metrics (Prometheus) and /api/status, /api/flows (JSON) on the WS listeners; "
	 "only where the listeners are not reachable by the public"},
	A("sip", "listen_udp", sip_listen_udp, "127.0.0.1:5060", "SIP over UDP toward the core (empty: none)"),
	A("sip", "listen_tcp", sip_listen_tcp, "127.0.0.1:5060", "SIP over TCP toward the core (empty: none)"),
	A("sip", "listen_tls", sip_listen_tls, "", "SIP over TLS toward the core (empty: none)"),
	S("sip", "tls_cert", sip_tls_cert, "", "PEM certificate for SIP over TLS"),
	S("sip", "tls_key", sip_tls_key, "", "PEM private key for SIP over TLS"),
	S("sip", "tls_ca", sip_tls_ca, "", "CA file to verify the core's TLS certificate (empty: no verification)"),
	S("sip", "advertise", sip_advertise, "",
	  "host[:port] written in Via, Contact and Record-Route toward the core (empty: the listen address)"),
	U("sip", "udp_mtu", sip_udp_mtu, 200, 65000, "1300",
	  "requests larger than this go over TCP instead of UDP (RFC 3261 §18.1.1)"),
	U("sip", "t1_ms", sip_t1_ms, 10, 10000, "500", "RFC 3261 T1 (RTT estimate)"),
	U("sip", "t2_ms", sip_t2_ms, 100, 60000, "4000", "RFC 3261 T2 (maximum retransmit interval)"),
	U("sip", "t4_ms", sip_t4_ms, 100, 60000, "5000", "RFC 3261 T4 (maximum message lifetime)"),
	U("sip", "timer_c_s", sip_timer_c_s, 60, 3600, "180", "RFC 3261 timer C for proxied INVITEs"),
	U("sip", "tcp_idle_s", sip_tcp_idle_s, 10, 86400, "600",
	  "close a TCP/TLS connection with no traffic for this long, unless a transaction still uses it"),
	U("sip", "max_tcp_connections", sip_max_tcp_connections, 1, 1000000, "10000",
	  "inbound SIP TCP and TLS connections open at once; more are accepted and closed at once "
	  "(connections wimsd opens do not count)"),
	U("sip", "tcp_message_timeout_s", sip_tcp_message_timeout_s, 1, 3600, "30",
	  "close a TCP/TLS connection that holds part of a message this long, or an inbound one "
	  "without a whole first message this long after it was accepted"),
	U("sip", "session_expires", sip_session_expires, 0, 86400, "1800",
	  "RFC 4028 Session-Expires wims offers for a browser without session timers (0: do not add)"),
	U("sip", "min_se", sip_min_se, 10, 86400, "90",
	  "RFC 4028 Min-SE: smallest session interval wims accepts or offers (below 90: tests only, warned)"),
	{"sip", "precondition", K_BOOL, offsetof(struct wims_conf, sip_precondition), sizeof(bool), 0, 0, "yes",
	 "offer preconditions (RFC 3312 qos lines) toward the core for a browser without them (no: 100rel only)"},
	S("iwu", "pcscf", iwu_pcscf, "sip:127.0.0.1:5070;transport=udp",
	  "SIP URI of the P-CSCF every request from a browser is sent to"),
	S("iwu", "pcscf_fallback", iwu_pcscf_fallback, "",
	  "when pcscf is a domain name and DNS gives no target: host:port[/udp|/tcp|/tls], ... used instead"),
	S("iwu", "flow_secret", iwu_flow_secret, "",
	  "secret that authenticates flow tokens (empty: random at start; set it to keep tokens across restarts)"),
	U("iwu", "min_expires", iwu_min_expires, 0, 86400, "0",
	  "REGISTER Expires below this get 423 Interval Too Brief from wims (0: leave it to the core)"),
	{"iwu", "record_route", K_BOOL, offsetof(struct wims_conf, iwu_record_route), sizeof(bool), 0, 0, "no",
	 "yes: Record-Route dialog-creating requests twice (WebSocket side and core side) so that "
	 "in-dialog requests pass through wims by route as well as by Contact"},
	{"iwu", "reg_subscribe", K_BOOL, offsetof(struct wims_conf, iwu_reg_subscribe), sizeof(bool), 0, 0, "yes",
	 "yes: subscribe, as each browser's UE, to the reg event package of its identity (TS 24.229 §5.1.1.3) "
	 "and release its calls when the network de-registers it"},
	U("iwu", "reg_subscribe_expires", iwu_reg_subscribe_expires, 10, 4000000, "600000",
	  "Expires asked for in that SUBSCRIBE (seconds); it is refreshed before what the core grants runs out"),
	{"iwu", "require_registration", K_BOOL, offsetof(struct wims_conf, iwu_require_registration), sizeof(bool), 0,
	 0, "yes",
	 "yes: an initial request other than REGISTER (an emergency one aside) needs a registration on the "
	 "browser's connection, and a P-Preferred-Identity one of the identities registered there (else 403): "
	 "the P-CSCF sees every browser at wims's address and cannot tell them apart"},
	S("pcscf", "scscf", pcscf_scscf, "sip:127.0.0.1:5080;transport=udp",
	  "SIP URI of the I-CSCF/S-CSCF every request from a browser is sent to (a domain name is "
	  "resolved per RFC 3263: NAPTR, SRV, A/AAAA)"),
	S("pcscf", "scscf_fallback", pcscf_scscf_fallback, "",
	  "when scscf is a domain name and DNS gives no target: host:port[/udp|/tcp|/tls], ... used instead"),
	S("pcscf", "visited_network_id", pcscf_visited_network_id, "",
	  "P-Visited-Network-ID added to REGISTER (empty: the host of the REGISTER's Request-URI, "
	  "the home domain)"),
	S("pcscf", "icid_prefix", pcscf_icid_prefix, "wims",
	  "first characters of every icid-value wims generates (letters and digits)"),
	S("pcscf", "flow_secret", pcscf_flow_secret, "",
	  "secret that authenticates the flow tokens of Path and Record-Route (empty: random at start)"),
	S("pcscf", "token_secret", pcscf_token_secret, "",
	  "token registration (TS 24.371 §6.1): HS256 secret of the WAF's JSON Web Tokens; with it (or "
	  "token_pubkey) a REGISTER must carry Authorization: Bearer, and goes on as auth-done"),
	S("pcscf", "token_pubkey", pcscf_token_pubkey, "",
	  "token registration: PEM file of the WAF's P-256 public key (ES256 tokens)"),
	S("pcscf", "token_audience", pcscf_token_audience, "",
	  "token registration: the aud claim required (empty: any)"),
	{"pcscf", "reg_subscribe", K_BOOL, offsetof(struct wims_conf, pcscf_reg_subscribe), sizeof(bool), 0, 0, "yes",
	 "yes: subscribe to the reg event package of each registered user (TS 24.229 §5.2.3) and release "
	 "its calls when the network de-registers it"},
	U("pcscf", "reg_subscribe_expires", pcscf_reg_subscribe_expires, 10, 4000000, "600000",
	  "Expires asked for in that SUBSCRIBE (seconds); it is refreshed before what the S-CSCF grants runs out"),
	S("dns", "servers", dns_servers, "",
	  "DNS servers for a next hop given as a domain name: ip[:port], ... (empty: /etc/resolv.conf)"),
	U("dns", "timeout_ms", dns_timeout_ms, 100, 30000, "2000", "time to wait for one DNS answer"),
	U("dns", "tries", dns_tries, 1, 10, "2", "DNS queries sent per name before giving up"),
	U("dns", "cache_max", dns_cache_max, 0, 100000, "64", "resolved names cached by their TTL (0: none)"),
	{"media", "anchor", K_BOOL, offsetof(struct wims_conf, media_anchor), sizeof(bool), 0, 0, "yes",
	 "yes: both roles anchor every call's media in wims's gateway (WebRTC toward the browser, "
	 "plain RTP toward IMS); no: SDP passes untouched"},
	{"media", "address", K_ADDRS, offsetof(struct wims_conf, media_address),
	 sizeof(((struct wims_conf *)0)->media_address), 0, 0, "127.0.0.1",
	 "IP address(es) the media ports are bound to, e.g. 127.0.0.1, ::1 (at most 4): each WebRTC "
	 "transport gets a socket and a host candidate on every one; c= and the IMS side use the first"},
	U("media", "port_min", media_port_min, 1024, 65534, "30000", "first UDP port for media"),
	U("media", "port_max", media_port_max, 1030, 65535, "39999", "last UDP port for media"),
	U("media", "workers", media_workers, 0, 64, "0", "media worker threads (0: one per CPU)"),
	U("media", "max_sessions", media_max_sessions, 1, 1000000, "10000",
	  "calls anchored at once; beyond it offers get 503 (SIP) or an error (ng)"),
	U("media", "timeout_s", media_timeout_s, 0, 86400, "60",
	  "a call whose media stopped in both directions for this long is released (0: never)"),
	U("media", "consent_s", media_consent_s, 5, 300, "30",
	  "RFC 7675: stop sending to a browser whose ICE checks stopped for this long"),
	U("media", "busy_poll_us", media_busy_poll_us, 0, 100000, "0",
	  "after a packet, a media worker polls its sockets without sleeping for this many microseconds before it "
	  "blocks again: less latency and no wake-up cost per packet, a core kept busy while media flows; "
	  "give the workers cores of their own, and no SCHED_RR (0: off; see media-performance.md)"),
	S("media", "cert", media_cert, "", "PEM certificate for DTLS (empty: an ECDSA P-256 one made at start)"),
	S("media", "key", media_key, "", "PEM private key of the DTLS certificate"),
	{"media", "core_sdes", K_BOOL, offsetof(struct wims_conf, media_core_sdes), sizeof(bool), 0, 0, "no",
	 "yes: offer RTP/SAVP with SDES keys (RFC 4568) toward IMS instead of RTP/AVP"},
	{"media", "transcode", K_BOOL, offsetof(struct wims_conf, media_transcode), sizeof(bool), 0, 0, "yes",
	 "yes: where browser and IMS phone share no audio codec, transcode Opus/G.711 <-> AMR-WB/AMR "
	 "(AMR-WB and AMR are offered to IMS after the browser's codecs)"},
	{"media", "codec_prefer", K_CODECS, offsetof(struct wims_conf, media_codec_prefer),
	 sizeof(((struct wims_conf *)0)->media_codec_prefer), 0, 0, "opus, amr-wb, pcma, pcmu, amr",
	 "transcoding preference, most preferred first: the IMS codecs (amr-wb, amr) listed are added to a "
	 "browser's offer toward IMS in this order, the browser codecs (opus, pcma, pcmu) listed are offered "
	 "to a browser for an AMR-only IMS offer in this order, and an IMS codec is paired with the first "
	 "browser codec listed of its band (opus, amr-wb wideband; pcma, pcmu, amr narrowband), else the "
	 "first listed"},
	A("media", "agw", media_agw, "",
	  "address of an external AGW driven over ng, e.g. a stock rtpengine at 127.0.0.1:2224 (empty: "
	  "wims's own gateway); with it the roles anchor media there"),
	A("media", "ng_listen", media_ng_listen, "",
	  "UDP address of the rtpengine-compatible ng control protocol (empty: off), e.g. 127.0.0.1:2223"),
};

/* One address of the list: IPv4, IPv6 with or without brackets, no port. */
static int parse_addr1(struct wims_addr *a, struct wims_str x)
{
	char tmp[64];
	if (x.l && x.p[0] != '[' && memchr(x.p, ':', x.l)) {
		if (x.l + 3 > sizeof(tmp))
			return -EINVAL;
		tmp[0] = '[';
		memcpy(tmp + 1, x.p, x.l);
		tmp[x.l + 1] = ']';
		x = (struct wims_str){tmp, x.l + 2};
	}
	if (wims_addr_parse(a, x, 0) || wims_addr_port(a))
		return -EINVAL;
	return 0;
}

/* [media] address: 1-4 distinct numeric addresses without port, separated
 * by commas or blanks (the media engine parses it again at start) */
static int check_addrs(const char *v, char *why, size_t wl)
{
	struct wims_str s = wims_str_c(v), got[4];
	unsigned n = 0;
	size_t i = 0;

	while (i < s.l) {
		size_t b;
		for (; i < s.l && (s.p[i] == ',' || s.p[i] == ' ' || s.p[i] == '\t'); i++)
			;
		for (b = i; i < s.l && s.p[i] != ',' && s.p[i] != ' ' && s.p[i] != '\t'; i++)
			;
		if (i == b)
			break;
		struct wims_str x = wims_str_make(s.p + b, i - b);
		struct wims_addr a;
		if (n == 4 || parse_addr1(&a, x)) {
			snprintf(why, wl, "'%.*s' is %s", (int)x.l, x.p,
				 n == 4 ? "a fifth address (at most 4)" : "not a numeric address without port");
			return -EINVAL;
		}
		for (unsigned j = 0; j < n; j++)
			if (wims_str_eq(got[j], x)) {
				snprintf(why, wl, "'%.*s' is listed twice", (int)x.l, x.p);
				return -EINVAL;
			}
		got[n++] = x;
	}
	if (!n) {
		snprintf(why, wl, "no address");
		return -EINVAL;
	}
	return 0;
}

/* [media] codec_prefer: distinct names of the transcoder's codecs, one of
 * each side at least (the codec module parses it again at start) */
static int check_codecs(const char *v, char *why, size_t wl)
{
	static const char *const names[] = {"opus", "pcma", "pcmu", "amr-wb", "amr"};
	unsigned seen = 0;
	struct wims_str s = wims_str_c(v);
	size_t i = 0;

	while (i < s.l) {
		size_t b;
		for (; i < s.l && (s.p[i] == ',' || s.p[i] == ' ' || s.p[i] == '\t'); i++)
			;
		for (b = i; i < s.l && s.p[i] != ',' && s.p[i] != ' ' && s.p[i] != '\t'; i++)
			;
		if (i == b)
			break;
		struct wims_str n = wims_str_make(s.p + b, i - b);
		unsigned j = 0;
		while (j < 5 && !wims_str_eqic(n, names[j]))
			j++;
		if (j == 5 || (seen & (1u << j))) {
			snprintf(why, wl, "'%.*s' is %s", (int)n.l, n.p,
				 j == 5 ? "not one of opus, pcma, pcmu, amr-wb, amr" : "listed twice");
			return -EINVAL;
		}
		seen |= 1u << j;
	}
	if (!(seen & 7u) || !(seen & 24u)) {
		snprintf(why, wl, "'%s' needs one of opus, pcma, pcmu and one of amr-wb, amr", v);
		return -EINVAL;
	}
	return 0;
}

static int set_key(struct wims_conf *c, const struct key *k, const char *v, char *why, size_t wl)
{
	char *dst = (char *)c + k->off;
	unsigned long long u;
	int lvl;

	switch (k->type) {
	case K_STR:
		if (wims_str_copy(dst, k->size, wims_str_c(v))) {
			snprintf(why, wl, "value longer than %zu bytes", k->size - 1);
			return -EINVAL;
		}
		return 0;
	case K_ADDR: {
		struct wims_addr a;
		if (*v && wims_addr_parse(&a, wims_str_c(v), 0)) {
			snprintf(why, wl, "'%s' is not a numeric address[:port]", v);
			return -EINVAL;
		}
		if (wims_str_copy(dst, k->size, wims_str_c(v))) {
			snprintf(why, wl, "value too long");
			return -EINVAL;
		}
		return 0;
	}
	case K_UINT:
		if (wims_str_to_u64(wims_str_c(v), k->max, &u) || u < k->min) {
			snprintf(why, wl, "'%s' is not a number in %llu..%llu", v, k->min, k->max);
			return -EINVAL;
		}
		*(unsigned *)(void *)dst = (unsigned)u;
		return 0;
	case K_BOOL:
		if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcmp(v, "1"))
			*(bool *)(void *)dst = true;
		else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcmp(v, "0"))
			*(bool *)(void *)dst = false;
		else {
			snprintf(why, wl, "'%s' is not yes or no", v);
			return -EINVAL;
		}
		return 0;
	case K_ROLE:
		if (strcasecmp(v, "iwu") == 0)
			c->role = WIMS_ROLE_IWU;
		else if (strcasecmp(v, "pcscf") == 0)
			c->role = WIMS_ROLE_PCSCF;
		else {
			snprintf(why, wl, "'%s' is not iwu or pcscf", v);
			return -EINVAL;
		}
		return 0;
	case K_LEVEL:
		lvl = wims_log_level_parse(v);
		if (lvl < 0) {
			snprintf(why, wl, "'%s' is not err, warn, notice, info or debug", v);
			return -EINVAL;
		}
		return wims_str_copy(dst, k->size, wims_str_c(v));
	case K_ADDRS:
		if (check_addrs(v, why, wl))
			return -EINVAL;
		if (wims_str_copy(dst, k->size, wims_str_c(v))) {
			snprintf(why, wl, "value too long");
			return -EINVAL;
		}
		return 0;
	case K_CODECS:
		if (check_codecs(v, why, wl))
			return -EINVAL;
		if (wims_str_copy(dst, k->size, wims_str_c(v))) {
			snprintf(why, wl, "value too long");
			return -EINVAL;
		}
		return 0;
	case K_TARGET:
		if (strcasecmp(v, "stderr") && strcasecmp(v, "syslog")) {
			snprintf(why, wl, "'%s' is not stderr or syslog", v);
			return -EINVAL;
		}
		return wims_str_copy(dst, k->size, wims_str_c(v));
	}
	return -EINVAL;
}

static const struct key *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcasecmp(keys[i].section, section) && !strcasecmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

void wims_conf_defaults(struct wims_conf *c)
{
	char why[128];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		(void)set_key(c, &keys[i], keys[i].def, why, sizeof(why));
}

int wims_conf_set(struct wims_conf *c, const char *section, const char *key, const char *value,
		  char *err, size_t errlen)
{
	const struct key *k = find_key(section, key);
	char why[256];

	if (!k) {
		snprintf(err, errlen, "key '%s' in [%s]: unknown key", key, section);
		return -ENOENT;
	}
	if (set_key(c, k, value, why, sizeof(why))) {
		snprintf(err, errlen, "key '%s' in [%s]: %s", key, section, why);
		return -EINVAL;
	}
	return 0;
}

struct load_ctx {
	struct wims_conf *c;
	FILE *f;
	int line;     /* lines read so far: the line the handler is called for */
	int msg_line; /* the line msg is about */
	char msg[384];
};

/* inih's reader, counting lines so that our reason goes with the line inih reports */
static char *conf_reader(char *str, int num, void *stream)
{
	struct load_ctx *ctx = stream;
	char *r = fgets(str, num, ctx->f);

	if (r)
		ctx->line++;
	return r;
}

static int conf_ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;

	char msg[sizeof(ctx->msg)];

	if (!name) /* a section header alone */
		return 1;
	if (wims_conf_set(ctx->c, section, name, value, msg, sizeof(msg)) == 0)
		return 1;
	if (!ctx->msg[0]) { /* inih reports the first failing line: keep its reason */
		memcpy(ctx->msg, msg, sizeof(msg));
		ctx->msg_line = ctx->line;
	}
	return 0;
}

int wims_conf_load(struct wims_conf *c, const char *path, char *err, size_t errlen)
{
	struct load_ctx ctx = {.c = c};
	FILE *f = fopen(path, "r");
	int line;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -errno;
	}
	ctx.f = f;
	line = ini_parse_stream(conf_reader, &ctx, conf_ini_cb, &ctx);
	fclose(f);
	if (line == 0)
		return 0;
	if (line < 0) {
		snprintf(err, errlen, "%s: cannot read", path);
		return -EIO;
	}
	if (!ctx.msg[0] || ctx.msg_line != line)
		snprintf(ctx.msg, sizeof(ctx.msg), "syntax error (expected [section] or key = value)");
	snprintf(err, errlen, "%s:%d: %s", path, line, ctx.msg);
	return -EINVAL;
}

bool wims_conf_key(size_t i, const char **section, const char **key, const char **defval,
		   const char **doc)
{
	if (i >= sizeof(keys) / sizeof(keys[0]))
		return false;
	*section = keys[i].section;
	*key = keys[i].name;
	*defval = keys[i].def;
	*doc = keys[i].doc;
	return true;
}
