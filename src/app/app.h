/* wimsd: one signalling loop with the roles, the transports and the
 * WebSocket listeners, wired together. */
#ifndef WIMS_APP_APP_H
#define WIMS_APP_APP_H

#include <stdbool.h>
#include <uv.h>

#include "base/conf.h"
#include "http/ws.h"
#include "media/media.h"
#include "mediactl/alg.h"
#include "mediactl/ng.h"
#include "proxy/proxy.h"
#include "sip/transport.h"

struct wims_app {
	struct wims_conf conf;
	uv_loop_t *loop;
	SSL_CTX *ws_tls, *sip_tls_server, *sip_tls_client;
	struct wims_sip_tport *tp;
	struct wims_proxy *px;
	struct wims_ws_server *ws, *wss;
	struct wims_media *media;      /* the AGW engine and its workers */
	struct wims_alg *alg;          /* the in-process IMS-ALG over it */
	struct wims_ng_server *ng;     /* ng control for Kamailio/OpenSIPS */
	struct wims_ng_client *agw;    /* or an external AGW the roles drive over ng */
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t drain_timer;
	uv_timer_t trim_timer; /* gives freed heap back to the system after bursts */
	uint64_t drain_deadline;
	bool stopping;
};

/** Open everything conf asks for.  On error returns non-zero with a message logged. */
int wims_app_start(struct wims_app *app) __attribute__((warn_unused_result));
/** Graceful stop (what SIGTERM does): stop accepting, drain, close WebSockets with 1001. */
void wims_app_stop(struct wims_app *app);
/** The admin pages (wims_http_route_h): /metrics, /api/status, /api/flows. */
unsigned wims_app__admin(struct wims_str path, struct wims_wbuf *out, const char **type, void *arg);
/** Release what is left after the loop ended. */
void wims_app_free(struct wims_app *app);

#endif
