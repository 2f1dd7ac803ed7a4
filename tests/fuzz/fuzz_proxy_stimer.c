/* Session timers (src/proxy/stimer.c) on arbitrary messages: the input is
 * up to three SIP messages separated by "\n--\n": a request as received (and
 * forwarded), and a response to it.  The request goes through the request
 * hook from a browser and from the core; the response through the response
 * hook, the learning of a session both ways (browser as UAC and as UAS), the
 * 422 retry and a refresh answer; then every session is freed.  Nothing may
 * read outside the input, leak, or write a message that does not parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/conf.h"
#include "proxy/px.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uv_loop_t loop;
static struct wims_conf conf;
static struct wims_proxy px;
static struct wims_sip_tport *tp;
static struct wims_sip_flow *br;

static int ops_send(void *conn, const char *buf, size_t len)
{
	return 0;
}

static void ops_close(void *conn)
{
}

static const struct wims_sip_flow_ops ops = {ops_send, ops_close};

static void on_recv(struct wims_sip_flow *f, const char *msg, size_t len, void *arg)
{
}

static void on_closed(struct wims_sip_flow *f, void *arg)
{
}

static void init(void)
{
	struct wims_sip_tport_cfg cfg = {0};
	struct wims_addr a, b;

	if (uv_loop_init(&loop) || wims_addr_parse(&a, wims_str_c("127.0.0.1:5060"), 0) ||
	    wims_addr_parse(&b, wims_str_c("127.0.0.1:40000"), 0))
		abort();
	wims_conf_defaults(&conf);
	if (wims_sip_tport_alloc(&tp, &loop, &cfg, on_recv, on_closed, NULL) ||
	    wims_sip_flow_external(tp, &br, WIMS_SIP_WS, &ops, NULL, &a, &b))
		abort();
	px.loop = &loop;
	px.tp = tp;
	px.conf = &conf;
	snprintf(px.adv_host, sizeof(px.adv_host), "127.0.0.1");
	px.adv_port = px.adv_port_tls = 5060;
	px.next_addr = a;
	px.next_proto = WIMS_SIP_UDP;
	px.t1 = 500;
	if (wims_hash_init(&px.tsx_srv, 16) || wims_hash_init(&px.tsx_cli, 16) || wims_hash_init(&px.dialogs, 16))
		abort();
}

static void request(const struct wims_sip_msg *m, bool to_core)
{
	struct px_req *r = calloc(1, sizeof(*r));
	char *out = malloc(WIMS_SIP_MAX_MESSAGE);
	struct wims_wbuf w;
	struct wims_sip_msg *o = malloc(sizeof(*o));
	const char *why;

	if (!r || !out || !o)
		abort();
	r->px = &px;
	r->m = m;
	r->in = br;
	wims_sip_edits_init(&r->ed);
	wims_wbuf_init(&r->scratch, r->scratch_mem, sizeof(r->scratch_mem));
	/* from the browser's flow toward the core, or toward another browser */
	r->out.proto = to_core ? WIMS_SIP_UDP : WIMS_SIP_WS;
	wims_proxy__stimer_request(r);
	wims_wbuf_init(&w, out, WIMS_SIP_MAX_MESSAGE);
	/* (a message at the header limit without Content-Length gets one from
	 * wims_sip_msg_write, edits or not: not stimer's to check here) */
	if (wims_sip_msg_write(m, &r->ed, &w) == 0 && m->nhdrs + 1 < WIMS_SIP_MAX_HEADERS &&
	    wims_sip_msg_parse(o, w.p, w.len, &why))
		abort(); /* stimer's edits made a message that does not parse */
	free(o);
	free(out);
	free(r);
}

static void response(const struct wims_sip_msg *m, char *req, size_t req_len, bool br_uac)
{
	struct px_tsx *t = calloc(1, sizeof(*t));
	char *out = malloc(WIMS_SIP_MAX_MESSAGE), *out2 = malloc(WIMS_SIP_MAX_MESSAGE);
	char smem[PX_SCRATCH], branch[PX_BRANCH_MAX];
	struct wims_sip_edits ed;
	struct wims_wbuf w, scratch;

	if (!t || !out || !out2)
		abort();
	t->px = &px;
	t->method = WIMS_SIP_INVITE;
	t->initial_invite = true;
	t->req = req;
	t->req_len = req_len;
	t->out = req;
	t->out_len = req_len;
	t->up.proto = br_uac ? WIMS_SIP_WS : WIMS_SIP_UDP;
	t->down.proto = br_uac ? WIMS_SIP_UDP : WIMS_SIP_WS;
	t->flow_token_id = br_uac ? 0 : wims_sip_flow_id(br);
	t->cseq_up = br_uac ? 3 : 0;
	wims_sip_edits_init(&ed);
	wims_wbuf_init(&scratch, smem, sizeof(smem));
	wims_proxy__stimer_response(&px, t, m, &ed, &scratch);
	wims_wbuf_init(&w, out, WIMS_SIP_MAX_MESSAGE);
	if (!scratch.err && wims_sip_msg_write(m, &ed, &w) == 0)
		wims_proxy__stimer_learn(&px, t, m, w.p, w.len);
	wims_wbuf_init(&w, out2, WIMS_SIP_MAX_MESSAGE);
	(void)wims_proxy__stimer_422(&px, t, m, &w, branch);
	free(out2);
	free(out);
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct wims_sip_msg *req = malloc(sizeof(*req)), *resp = malloc(sizeof(*resp));
	char *p = malloc(size + 1);
	const char *why, *sep;
	size_t rl;

	if (!ready) {
		init();
		ready = true;
	}
	if (!req || !resp || !p)
		abort();
	memcpy(p, data, size);
	p[size] = 0;
	sep = memmem(p, size, "\n--\n", 4);
	rl = sep ? (size_t)(sep - p) + 1 : size;
	if (wims_sip_msg_parse(req, p, rl, &why) == 0 && req->is_request) {
		request(req, true);
		request(req, false);
		if (sep && wims_sip_msg_parse(resp, sep + 4, size - rl - 3, &why) == 0 && !resp->is_request) {
			response(resp, p, rl, false);
			response(resp, p, rl, true);
			request(req, true); /* now in a dialog wims may keep */
			wims_proxy__stimer_done(&px, 1, resp->status, resp);
			(void)wims_proxy__stimer_cseq_floor(&px, wims_str_c("x"), wims_str_c("y"), 0);
		}
	}
	wims_proxy__stimer_free_all(&px);
	wims_proxy__tsx_free_all(&px);
	uv_run(&loop, UV_RUN_NOWAIT);
	free(p);
	free(req);
	free(resp);
	return 0;
}
