#include "app/app.h"

#include <errno.h>
#include <malloc.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/stream.h"

/* ---- WebSocket connections as SIP flows ---- */

static int ws_flow_send(void *conn, const char *buf, size_t len)
{
	return wims_ws_send(conn, buf, len);
}

static void ws_flow_close(void *conn)
{
	wims_ws_close(conn, 1000, NULL);
}

static const struct wims_sip_flow_ops ws_flow_ops = {ws_flow_send, ws_flow_close};

static void on_ws_open(struct wims_ws_conn *c, void *arg)
{
	struct wims_app *app = arg;
	struct wims_sip_flow *f;

	if (wims_sip_flow_external(app->tp, &f, wims_ws_conn_is_tls(c) ? WIMS_SIP_WSS : WIMS_SIP_WS, &ws_flow_ops, c,
				   wims_ws_conn_local(c), wims_ws_conn_peer(c))) {
		wims_ws_close(c, 1011, "no memory");
		return;
	}
	wims_ws_conn_ref(c); /* the flow's conn pointer */
	wims_ws_conn_set_user(c, f);
}

static void on_ws_msg(struct wims_ws_conn *c, const char *msg, size_t len, bool binary, void *arg)
{
	struct wims_sip_flow *f = wims_ws_conn_user(c);

	if (f)
		wims_sip_flow_input(f, msg, len);
}

static void on_ws_close(struct wims_ws_conn *c, uint16_t code, void *arg)
{
	struct wims_sip_flow *f = wims_ws_conn_user(c);

	if (!f)
		return;
	wims_ws_conn_set_user(c, NULL);
	wims_sip_flow_gone(f);
	wims_ws_conn_deref(c);
}

/* ---- SIP ---- */

static void on_sip_msg(struct wims_sip_flow *f, const char *msg, size_t len, void *arg)
{
	struct wims_app *app = arg;

	if (app->px)
		wims_proxy_recv(app->px, f, msg, len);
}

static void on_sip_flow_closed(struct wims_sip_flow *f, void *arg)
{
	struct wims_app *app = arg;

	if (app->px)
		wims_proxy_flow_closed(app->px, f);
}

/* A burst of transactions leaves freed heap behind (completed transactions
 * linger, then go); glibc keeps it unless asked.  Every 30 s, when quiet,
 * give it back so that what wimsd holds is what its connections and
 * dialogs need. */
static void on_trim(uv_timer_t *t)
{
	struct wims_app *app = t->data;

	/* Trimming a large heap walks it all and can hold the loop for
	 * milliseconds: only when the burst is over (few transactions left),
	 * never in the middle of sustained load, where the memory is in use. */
	if (app->px && wims_proxy_stats(app->px)->tsx_open > 256)
		return;
	(void)malloc_trim(0);
}

/* ---- signals and graceful stop ---- */

/* ---- media ---- */

static void on_media_event(struct wims_media_sess *s, enum wims_media_event ev, void *arg)
{
	struct wims_app *app = arg;
	if (app->alg)
		wims_alg_media_event(app->alg, s, ev);
}

static int start_media(struct wims_app *app)
{
	const struct wims_conf *c = &app->conf;
	struct wims_media_opts mo = {0};
	int rc;

	if (c->media_anchor && c->media_agw[0]) {
		struct wims_addr ra;
		if (wims_addr_parse(&ra, wims_str_c(c->media_agw), 2223) ||
		    (rc = wims_ng_client_new(&app->agw, app->loop, &ra))) {
			wims_log(WIMS_LOG_ERR, "[media] agw: cannot use %s", c->media_agw);
			return -EINVAL;
		}
		wims_proxy_set_agw(app->px, app->agw);
		wims_log(WIMS_LOG_NOTICE, "media anchored in the external AGW at udp:%s (ng)", c->media_agw);
	}
	if (!(c->media_anchor && !c->media_agw[0]) && !c->media_ng_listen[0])
		return 0;
	if (wims_media_addrs_parse(&mo, wims_str_c(c->media_address)) ||
	    c->media_port_max <= c->media_port_min + 4) {
		wims_log(WIMS_LOG_ERR, "[media] address or port range is not usable");
		return -EINVAL;
	}
	mo.port_min = (uint16_t)c->media_port_min;
	mo.port_max = (uint16_t)c->media_port_max;
	mo.workers = c->media_workers;
	mo.max_sessions = c->media_max_sessions;
	mo.timeout_s = c->media_timeout_s;
	mo.consent_s = c->media_consent_s;
	mo.busy_poll_us = c->media_busy_poll_us;
	mo.cert_file = c->media_cert[0] ? c->media_cert : NULL;
	mo.key_file = c->media_key[0] ? c->media_key : NULL;
	if ((rc = wims_media_new(&app->media, app->loop, &mo, on_media_event, app))) {
		wims_log(WIMS_LOG_ERR, "[media] cannot start the media engine: %s", strerror(-rc));
		return rc;
	}
	struct wims_alg_opts ao = {.core_sdes = c->media_core_sdes,
				   .max_calls = c->media_max_sessions,
				   .transcode = c->media_transcode};
	struct wims_str bad = WIMS_STR_NULL;
	if (wims_codec_pref_parse(&ao.prefer, wims_str_c(c->media_codec_prefer), &bad)) {
		wims_log(WIMS_LOG_ERR, "[media] codec_prefer: unknown codec '%.*s'", (int)bad.l, bad.p);
		return -EINVAL;
	}
	if ((rc = wims_alg_new(&app->alg, app->media, &ao)))
		return rc;
	wims_alg_set_timeout(app->alg, c->media_timeout_s);
	if (c->media_anchor && !c->media_agw[0])
		wims_proxy_set_mediactl(app->px, wims_alg_ctl(app->alg));
	if (c->media_ng_listen[0]) {
		struct wims_addr a;
		if (wims_addr_parse(&a, wims_str_c(c->media_ng_listen), 2223) ||
		    (rc = wims_ng_server_start(&app->ng, app->loop, &a, wims_alg_ctl(app->alg)))) {
			wims_log(WIMS_LOG_ERR, "[media] cannot listen for ng on %s", c->media_ng_listen);
			return rc ? rc : -EINVAL;
		}
		wims_log(WIMS_LOG_NOTICE, "ng control protocol on udp:%s", c->media_ng_listen);
	}
	return 0;
}

static void stop_media(struct wims_app *app)
{
	if (app->agw)
		wims_ng_client_free(app->agw);
	app->agw = NULL;
	if (app->ng)
		wims_ng_server_stop(app->ng);
	app->ng = NULL;
	wims_alg_free(app->alg);
	app->alg = NULL;
	wims_media_free(app->media);
	app->media = NULL;
}

static void close_all(struct wims_app *app)
{
	uv_timer_stop(&app->drain_timer);
	if (app->ws)
		wims_ws_server_shutdown(app->ws, 1001);
	if (app->wss)
		wims_ws_server_shutdown(app->wss, 1001);
	/* flows of closing WebSockets are released through on_ws_close */
	if (app->tp)
		wims_sip_tport_close(app->tp);
	app->tp = NULL;
	if (app->px)
		wims_proxy_free(app->px);
	app->px = NULL;
	stop_media(app);
	uv_close((uv_handle_t *)&app->sig_term, NULL);
	uv_close((uv_handle_t *)&app->sig_int, NULL);
	uv_close((uv_handle_t *)&app->sig_hup, NULL);
	uv_close((uv_handle_t *)&app->drain_timer, NULL);
	uv_close((uv_handle_t *)&app->trim_timer, NULL);
}

static void on_drain_tick(uv_timer_t *t)
{
	struct wims_app *app = t->data;
	size_t busy = app->px ? wims_proxy_busy(app->px) : 0;

	if (busy && uv_now(app->loop) < app->drain_deadline)
		return;
	if (busy)
		wims_log(WIMS_LOG_WARN, "shutdown: %zu transactions still open after %u ms, closing anyway", busy,
			 app->conf.shutdown_grace_ms);
	else
		wims_log(WIMS_LOG_NOTICE, "shutdown: no transaction left open");
	close_all(app);
}

void wims_app_stop(struct wims_app *app)
{
	if (app->stopping)
		return;
	app->stopping = true;
	wims_log(WIMS_LOG_NOTICE, "shutting down: no new requests; open transactions get up to %u ms",
		 app->conf.shutdown_grace_ms);
	if (app->px)
		wims_proxy_drain(app->px);
	app->drain_deadline = uv_now(app->loop) + app->conf.shutdown_grace_ms;
	uv_timer_start(&app->drain_timer, on_drain_tick, 0, 100);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct wims_app *app = s->data;

	if (signum == SIGHUP) {
		wims_log(WIMS_LOG_NOTICE, "SIGHUP ignored (restart wimsd to apply a new configuration)");
		return;
	}
	if (app->stopping) {
		wims_log(WIMS_LOG_WARN, "second signal: stopping now");
		close_all(app);
		return;
	}
	wims_app_stop(app);
}

/* ---- start ---- */

static int tls_server(SSL_CTX **ctx, const char *cert, const char *key, const char *what)
{
	char err[256];

	if (!cert[0] || !key[0]) {
		wims_log(WIMS_LOG_ERR, "%s: tls_cert and tls_key are required", what);
		return -EINVAL;
	}
	if (wims_tls_server_ctx(ctx, cert, key, err, sizeof(err))) {
		wims_log(WIMS_LOG_ERR, "%s: %s", what, err);
		return -EINVAL;
	}
	return 0;
}

static int start_ws(struct wims_app *app, struct wims_ws_server **sp, const char *listen, SSL_CTX *tls)
{
	const struct wims_conf *c = &app->conf;
	struct wims_ws_config wc = {0};
	struct wims_ws_handlers h = {on_ws_open, on_ws_msg, on_ws_close, app};
	char as[WIMS_ADDR_STRLEN];
	int rc;

	if (wims_addr_parse(&wc.listen, wims_str_c(listen), tls ? 443 : 80))
		return -EINVAL;
	wc.tls = tls;
	wc.origins = c->ws_origins;
	wc.web_root = c->ws_web_root;
	wc.handshake_timeout_ms = c->ws_handshake_timeout_ms;
	wc.idle_timeout_s = c->ws_idle_timeout_s;
	wc.ping_interval_s = c->ws_ping_interval_s;
	wc.pong_timeout_s = c->ws_pong_timeout_s;
	wc.max_message = c->ws_max_message;
	wc.max_connections = c->ws_max_connections;
	wc.max_per_ip = c->ws_max_per_ip;
	wc.route = wims_app__admin;
	wc.route_arg = app;
	rc = wims_ws_server_alloc(sp, app->loop, &wc, &h);
	if (rc) {
		wims_log(WIMS_LOG_ERR, "[ws] cannot listen on %s: %s", listen, uv_strerror(rc));
		return rc;
	}
	if (wims_ws_server_addr(*sp, &wc.listen) == 0 && wims_addr_str(&wc.listen, as, sizeof(as)) == 0)
		wims_log(WIMS_LOG_NOTICE, "listening for SIP over %s on %s", tls ? "WSS" : "WS", as);
	return 0;
}

int wims_app_start(struct wims_app *app)
{
	const struct wims_conf *c = &app->conf;
	struct wims_addr udp, tcp, tls;
	struct wims_sip_tport_cfg tc = {0};
	char err[512];
	int rc;

	/* first, so that wims_app_stop() works whatever fails below */
	uv_signal_init(app->loop, &app->sig_term);
	uv_signal_init(app->loop, &app->sig_int);
	uv_signal_init(app->loop, &app->sig_hup);
	uv_timer_init(app->loop, &app->drain_timer);
	uv_timer_init(app->loop, &app->trim_timer);
	app->trim_timer.data = app;
	app->sig_term.data = app->sig_int.data = app->sig_hup.data = app->drain_timer.data = app;
	if (c->ws_listen_tls[0] && (rc = tls_server(&app->ws_tls, c->ws_tls_cert, c->ws_tls_key, "[ws]")))
		return rc;
	if (c->sip_listen_tls[0] &&
	    (rc = tls_server(&app->sip_tls_server, c->sip_tls_cert, c->sip_tls_key, "[sip]")))
		return rc;
	if (wims_tls_client_ctx(&app->sip_tls_client, c->sip_tls_ca, err, sizeof(err))) {
		wims_log(WIMS_LOG_ERR, "[sip] tls_ca: %s", err);
		return -EINVAL;
	}
	if (c->sip_listen_udp[0] && wims_addr_parse(&udp, wims_str_c(c->sip_listen_udp), 5060) == 0)
		tc.udp = &udp;
	if (c->sip_listen_tcp[0] && wims_addr_parse(&tcp, wims_str_c(c->sip_listen_tcp), 5060) == 0)
		tc.tcp = &tcp;
	if (c->sip_listen_tls[0] && wims_addr_parse(&tls, wims_str_c(c->sip_listen_tls), 5061) == 0)
		tc.tls = &tls;
	tc.tls_server = app->sip_tls_server;
	tc.tls_client = app->sip_tls_client;
	tc.udp_mtu = c->sip_udp_mtu;
	tc.tcp_idle_s = c->sip_tcp_idle_s;
	tc.max_tcp_connections = c->sip_max_tcp_connections;
	tc.tcp_message_timeout_s = c->sip_tcp_message_timeout_s;
	rc = wims_sip_tport_alloc(&app->tp, app->loop, &tc, on_sip_msg, on_sip_flow_closed, app);
	if (rc) {
		wims_log(WIMS_LOG_ERR, "[sip] cannot open the SIP listeners: %s", uv_strerror(rc));
		return rc;
	}
	rc = wims_proxy_alloc(&app->px, app->loop, app->tp, c, err, sizeof(err));
	if (rc) {
		wims_log(WIMS_LOG_ERR, "%s", err);
		return rc;
	}
	if ((rc = start_media(app)))
		return rc;
	if (c->ws_listen[0] && (rc = start_ws(app, &app->ws, c->ws_listen, NULL)))
		return rc;
	if (c->ws_listen_tls[0] && (rc = start_ws(app, &app->wss, c->ws_listen_tls, app->ws_tls)))
		return rc;
	uv_timer_start(&app->trim_timer, on_trim, 30000, 30000);
	uv_signal_start(&app->sig_term, on_signal, SIGTERM);
	uv_signal_start(&app->sig_int, on_signal, SIGINT);
	uv_signal_start(&app->sig_hup, on_signal, SIGHUP);
	wims_log(WIMS_LOG_NOTICE, "wimsd %s running as %s; next hop %s", WIMS_VERSION,
		 c->role == WIMS_ROLE_IWU ? "interworking unit" : "P-CSCF",
		 c->role == WIMS_ROLE_IWU ? c->iwu_pcscf : c->pcscf_scscf);
	return 0;
}

void wims_app_free(struct wims_app *app)
{
	if (app->ws)
		wims_ws_server_deref(app->ws);
	if (app->wss)
		wims_ws_server_deref(app->wss);
	app->ws = app->wss = NULL;
	SSL_CTX_free(app->ws_tls);
	SSL_CTX_free(app->sip_tls_server);
	SSL_CTX_free(app->sip_tls_client);
}
