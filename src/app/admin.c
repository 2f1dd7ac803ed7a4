/* The admin pages on the WebSocket listeners ([ws] admin = yes):
 * /metrics in the Prometheus text format, /api/status and /api/flows in JSON. */
#include <stdio.h>

#include "app/app.h"

static void ws_metrics(struct wims_wbuf *w, const char *listener, struct wims_ws_server *s)
{
	struct wims_ws_counters c;

	if (!s)
		return;
	wims_ws_server_counters(s, &c);
	wims_wbuf_printf(w, "wims_ws_connections{listener=\"%s\"} %llu\n", listener, (unsigned long long)c.conns);
	wims_wbuf_printf(w, "wims_ws_open{listener=\"%s\"} %llu\n", listener, (unsigned long long)c.ws_open);
	wims_wbuf_printf(w, "wims_ws_accepted_total{listener=\"%s\"} %llu\n", listener,
			 (unsigned long long)c.accepted);
	wims_wbuf_printf(w, "wims_ws_refused_total{listener=\"%s\",why=\"max_connections\"} %llu\n", listener,
			 (unsigned long long)c.refused_max);
	wims_wbuf_printf(w, "wims_ws_refused_total{listener=\"%s\",why=\"max_per_ip\"} %llu\n", listener,
			 (unsigned long long)c.refused_per_ip);
	wims_wbuf_printf(w, "wims_ws_messages_in_total{listener=\"%s\"} %llu\n", listener,
			 (unsigned long long)c.msgs_in);
	wims_wbuf_printf(w, "wims_ws_messages_out_total{listener=\"%s\"} %llu\n", listener,
			 (unsigned long long)c.msgs_out);
	for (int i = 0; i < WIMS_WS_END_MAX_; i++)
		wims_wbuf_printf(w, "wims_ws_closed_total{listener=\"%s\",why=\"%s\"} %llu\n", listener,
				 wims_ws_end_name((enum wims_ws_end)i), (unsigned long long)c.closed[i]);
}

static void sip_tcp_metrics(struct wims_wbuf *w, const struct wims_sip_tport *tp)
{
	struct wims_sip_tport_counters c;

	if (!tp)
		return;
	wims_sip_tport_counters(tp, &c);
	wims_wbuf_printf(w, "wims_sip_tcp_connections{direction=\"in\"} %llu\n", (unsigned long long)c.tcp_in);
	wims_wbuf_printf(w, "wims_sip_tcp_connections{direction=\"out\"} %llu\n", (unsigned long long)c.tcp_out);
	wims_wbuf_printf(w, "wims_sip_tcp_refused_total{why=\"max_connections\"} %llu\n",
			 (unsigned long long)c.refused_max);
	wims_wbuf_printf(w, "wims_sip_tcp_closed_total{why=\"idle\"} %llu\n", (unsigned long long)c.closed_idle);
	wims_wbuf_printf(w, "wims_sip_tcp_closed_total{why=\"incomplete\"} %llu\n",
			 (unsigned long long)c.closed_incomplete);
	wims_wbuf_printf(w, "wims_sip_tcp_closed_total{why=\"framing\"} %llu\n", (unsigned long long)c.closed_framing);
	wims_wbuf_printf(w, "wims_sip_tcp_framing_answered_total %llu\n", (unsigned long long)c.framing_answered);
}

static void proxy_metrics(struct wims_wbuf *w, const struct wims_proxy_stats *st)
{
	static const struct {
		const char *name;
		size_t off;
	} m[] = {
#define M(n, f) {n, offsetof(struct wims_proxy_stats, f)}
		M("wims_sip_requests_in_total", requests_in),
		M("wims_sip_responses_in_total", responses_in),
		M("wims_sip_requests_out_total", requests_out),
		M("wims_sip_responses_out_total", responses_out),
		M("wims_sip_bad_requests_total", bad_requests),
		M("wims_sip_bad_responses_dropped_total", bad_responses_dropped),
		M("wims_sip_retransmissions_total", retransmissions),
		M("wims_sip_transactions_total", tsx_created),
		M("wims_sip_transaction_timeouts_total", tsx_timeouts),
		M("wims_sip_dialogs_released_total", dialogs_released),
		M("wims_sip_transactions", tsx_open),
		M("wims_sip_dialogs", dialogs_open),
		M("wims_sip_flows", flows_open),
#undef M
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		wims_wbuf_printf(w, "%s %llu\n", m[i].name,
				 (unsigned long long)*(const uint64_t *)(const void *)((const char *)st + m[i].off));
}

static void media_metrics(struct wims_wbuf *w, const struct wims_media *m)
{
	struct wims_media_stats st;

	if (!m)
		return;
	wims_media_stats(m, &st);
	wims_wbuf_printf(w, "wims_media_sessions %llu\n", (unsigned long long)st.sessions);
	wims_wbuf_printf(w, "wims_media_commands_refused_total %llu\n", (unsigned long long)st.cmds_refused);
	wims_wbuf_printf(w, "wims_media_packets_sent_total %llu\n", (unsigned long long)st.packets_sent);
	wims_wbuf_printf(w, "wims_media_send_failed_total %llu\n", (unsigned long long)st.send_failed);
}

unsigned wims_app__admin(struct wims_str path, struct wims_wbuf *out, const char **type, void *arg)
{
	struct wims_app *app = arg;

	if (!app->conf.ws_admin || !app->px)
		return 0;
	if (wims_str_eqc(path, "/metrics")) {
		*type = "text/plain; version=0.0.4; charset=utf-8";
		proxy_metrics(out, wims_proxy_stats(app->px));
		ws_metrics(out, "ws", app->ws);
		ws_metrics(out, "wss", app->wss);
		sip_tcp_metrics(out, app->tp);
		media_metrics(out, app->media);
		return 200;
	}
	if (wims_str_eqc(path, "/api/status")) {
		const struct wims_proxy_stats *st = wims_proxy_stats(app->px);
		*type = "application/json";
		wims_wbuf_printf(out,
				 "{\"version\":\"%s\",\"role\":\"%s\",\"stopping\":%s,\"transactions\":%llu,"
				 "\"dialogs\":%llu,\"flows\":%llu}\n",
				 WIMS_VERSION, app->conf.role == WIMS_ROLE_IWU ? "iwu" : "pcscf",
				 app->stopping ? "true" : "false", (unsigned long long)st->tsx_open,
				 (unsigned long long)st->dialogs_open, (unsigned long long)st->flows_open);
		return 200;
	}
	if (wims_str_eqc(path, "/api/flows")) {
		*type = "application/json";
		wims_proxy_flows_json(app->px, out);
		return 200;
	}
	return 0;
}
