/* ng protocol: request mapping (Kamailio's rtpengine module as it sends
 * them), reply encoding, the retransmission cache, and server + client over
 * 127.0.0.1 with a mock AGW. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mediactl/ng.h"

/* ---- mock AGW ---- */

struct mock {
	unsigned offers, answers, dels, queries, lists;
	struct wims_mctl_req last;
	char unknown[64];
};

static int mock_sdp(void *impl, const struct wims_mctl_req *rq, struct wims_wbuf *out, struct wims_mctl_err *err)
{
	struct mock *m = impl;

	m->last = *rq;
	if (wims_str_eqc(rq->call_id, "fail")) {
		snprintf(err->reason, sizeof(err->reason), "mock failure");
		err->sip_status = 488;
		return -EINVAL;
	}
	if (m->unknown[0])
		snprintf(err->unknown_flags, sizeof(err->unknown_flags), "%s", m->unknown);
	wims_wbuf_puts(out, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			    "m=audio 30000 RTP/AVP 0\r\n");
	return 0;
}

static int mock_offer(void *impl, const struct wims_mctl_req *rq, struct wims_wbuf *out, struct wims_mctl_err *err)
{
	((struct mock *)impl)->offers++;
	return mock_sdp(impl, rq, out, err);
}

static int mock_answer(void *impl, const struct wims_mctl_req *rq, struct wims_wbuf *out, struct wims_mctl_err *err)
{
	((struct mock *)impl)->answers++;
	return mock_sdp(impl, rq, out, err);
}

static int mock_del(void *impl, const struct wims_mctl_req *rq, struct wims_mctl_err *err)
{
	struct mock *m = impl;

	m->dels++;
	m->last = *rq;
	if (!wims_str_eqc(rq->call_id, "known")) {
		snprintf(err->reason, sizeof(err->reason), "Call-ID not found");
		return -ENOENT;
	}
	return 0;
}

static void stream(struct wims_mctl_stream_stats *s, const char *tag, unsigned idx, const char *local,
		   const char *remote, uint64_t pk)
{
	s->tag = wims_str_c(tag);
	s->media_index = idx;
	s->media_type = wims_str_c("audio");
	snprintf(s->local, sizeof(s->local), "%s", local);
	snprintf(s->remote, sizeof(s->remote), "%s", remote);
	s->packets_in = pk;
	s->bytes_in = pk * 172;
	s->packets_out = pk + 1;
	s->lost = 3;
	s->jitter_ms = 7;
	s->rtt_ms = 42;
}

static int mock_query(void *impl, const struct wims_mctl_req *rq, struct wims_mctl_query *q, struct wims_mctl_err *err)
{
	((struct mock *)impl)->queries++;
	if (!wims_str_eqc(rq->call_id, "known")) {
		snprintf(err->reason, sizeof(err->reason), "Call-ID not found");
		return -ENOENT;
	}
	q->created_s = 1700000000;
	q->last_signal_s = 1700000005;
	q->nstreams = 3;
	stream(&q->s[0], "zz-tag", 2, "127.0.0.1:30002", "10.0.0.2:4000", 10);
	stream(&q->s[1], "aa-tag", 1, "127.0.0.1:30004", "[2001:db8::1]:5000", 20);
	stream(&q->s[2], "zz-tag", 1, "127.0.0.1:30000", "10.0.0.1:4002", 30);
	return 0;
}

static int mock_list(void *impl, unsigned limit, wims_mctl_list_h *h, void *arg)
{
	((struct mock *)impl)->lists++;
	h(wims_str_c("call-1"), arg);
	if (limit > 1)
		h(wims_str_c("call-2"), arg);
	return 0;
}

static const struct wims_mctl_ops mock_ops = {mock_offer, mock_answer, mock_del, mock_query, mock_list, NULL};

static struct mock mk;
static struct wims_mediactl mc = {&mock_ops, &mk};
static struct wims_ng_scratch scratch;
static struct wims_bc_node nodes[WIMS_NG_MAX_NODES];

static int setup(void **state)
{
	memset(&mk, 0, sizeof(mk));
	return 0;
}

#define SDP_WEBRTC                                                                                           \
	"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"                \
	"c=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"                       \
	"a=fingerprint:sha-256 00:11\r\na=setup:actpass\r\na=rtcp-mux\r\n"

/* Encode a dict from alternating key/raw-bencode pairs (keys given sorted). */
static size_t build(char *out, size_t cap, const char *cookie, const char *const *kv)
{
	struct wims_wbuf b;

	wims_wbuf_init(&b, out, cap);
	wims_wbuf_puts(&b, cookie);
	wims_wbuf_puts(&b, " d");
	for (; kv[0]; kv += 2) {
		wims_bc_cstr(&b, kv[0]);
		wims_wbuf_puts(&b, kv[1]);
	}
	wims_wbuf_puts(&b, "e");
	assert_false(b.err);
	return b.len;
}

static char *bstr(const char *s)
{
	static char mem[32][2048];
	static int i;
	struct wims_wbuf b;

	i = (i + 1) % 32;
	wims_wbuf_init(&b, mem[i], sizeof(mem[i]) - 1);
	wims_bc_cstr(&b, s);
	mem[i][b.len] = '\0';
	return mem[i];
}

static void test_split(void **state)
{
	struct wims_str c, b;

	assert_int_equal(wims_ng_split(wims_str_c("abc d4:spami1ee"), &c, &b), 0);
	assert_true(wims_str_eqc(c, "abc"));
	assert_true(wims_str_eqc(b, "d4:spami1ee"));
	assert_int_equal(wims_ng_split(wims_str_c(" d4:spami1ee"), &c, &b), -EBADMSG);
	assert_int_equal(wims_ng_split(wims_str_c("abc"), &c, &b), -EBADMSG);
	assert_int_equal(wims_ng_split(wims_str_c("a\tb d"), &c, &b), -EBADMSG);
	char big[200];
	memset(big, 'x', sizeof(big));
	memcpy(big + 150, " de", 3);
	assert_int_equal(wims_ng_split(wims_str_make(big, 153), &c, &b), -EBADMSG);
}

/* Kamailio: rtpengine_offer("trust-address replace-origin replace-session-connection
 * ICE=remove RTP/AVP rtcp-mux-demux") after its module turned most tokens
 * into keys; here the tokens are left in "flags" as string forms. */
static void test_parse_kamailio_flags(void **state)
{
	char body[4096];
	struct wims_ng_req r;
	const char *reason;
	const char *const kv[] = {
		"call-id", bstr("a84b4c76e66710@pc33"),
		"command", bstr("offer"),
		"flags", "l13:trust-address14:replace-origin26:replace-session-connection10:ICE=remove7:RTP/AVP14:rtcp-mux-demux7:foo-bar13:port-latching16:codec-strip-G72215:codec-mask-PCMA20:codec-transcode-opus17:codec-except-G7298:DTLS=off8:SDES-off22:media-address=10.9.8.7e",
		"from-tag", bstr("1928301774"),
		"received-from", "l3:IP49:127.0.0.1e",
		"sdp", bstr(SDP_WEBRTC),
		"via-branch", bstr("z9hG4bK776asdhds"),
		NULL,
	};
	size_t n = build(body, sizeof(body), "x", kv);

	assert_int_equal(wims_ng_parse_req(&r, nodes, WIMS_NG_MAX_NODES, wims_str_make(body + 2, n - 2), &reason), 0);
	assert_int_equal(r.rq.op, WIMS_MCTL_OFFER);
	assert_true(wims_str_eqc(r.rq.call_id, "a84b4c76e66710@pc33"));
	assert_true(wims_str_eqc(r.rq.from_tag, "1928301774"));
	assert_true(wims_str_eqc(r.rq.via_branch, "z9hG4bK776asdhds"));
	assert_true(wims_str_eqc(r.rq.sdp, SDP_WEBRTC));
	assert_false(wims_str_isset(r.rq.to_tag));
	const struct wims_mctl_flags *f = &r.rq.flags;
	assert_true(f->trust_address);
	assert_true(f->replace_origin);
	assert_true(f->replace_session_conn);
	assert_int_equal(f->ice, WIMS_MCTL_REMOVE);
	assert_int_equal(f->proto, WIMS_MCTL_PROTO_RTP_AVP);
	assert_true(f->rtcp_mux_demux);
	assert_false(f->rtcp_mux_offer);
	assert_int_equal(f->dtls, WIMS_MCTL_REMOVE);
	assert_int_equal(f->sdes, WIMS_MCTL_REMOVE);
	assert_int_equal(f->n_codec_strip, 1);
	assert_true(wims_str_eqc(f->codec_strip[0], "G722"));
	assert_int_equal(f->n_codec_mask, 1);
	assert_true(wims_str_eqc(f->codec_mask[0], "PCMA"));
	assert_int_equal(f->n_codec_offer, 1);
	assert_true(wims_str_eqc(f->codec_offer[0], "opus"));
	assert_true(wims_str_eqc(f->media_address, "10.9.8.7"));
	assert_string_equal(r.unknown, "foo-bar, codec-except");
}

/* The same request as rtpengine's own dict keys, WebRTC direction. */
static void test_parse_dict_forms(void **state)
{
	char body[4096];
	struct wims_ng_req r;
	const char *reason;
	const char *const kv[] = {
		"DTLS", bstr("passive"),
		"ICE", bstr("force"),
		"SDES", "l3:offe",
		"call-id", bstr("c2"),
		"codec", "d4:maskl4:PCMAe5:stripl3:alle9:transcodel4:opusee",
		"command", bstr("answer"),
		"direction", "l8:internal8:externale",
		"flags", "l12:generate-mid12:strip-extmap9:symmetric12:loop-protecte",
		"from-tag", bstr("ft"),
		"record-call", bstr("yes"),
		"replace", "l6:origin18:session connectione",
		"rtcp-mux", "l5:offer7:require6:rejecte",
		"sdp", bstr("v=0\r\n"),
		"to-tag", bstr("tt"),
		"transport-protocol", bstr("UDP/TLS/RTP/SAVPF"),
		"zzz-new-key", "i1e",
		NULL,
	};
	size_t n = build(body, sizeof(body), "x", kv);

	assert_int_equal(wims_ng_parse_req(&r, nodes, WIMS_NG_MAX_NODES, wims_str_make(body + 2, n - 2), &reason), 0);
	const struct wims_mctl_flags *f = &r.rq.flags;
	assert_int_equal(r.rq.op, WIMS_MCTL_ANSWER);
	assert_true(wims_str_eqc(r.rq.to_tag, "tt"));
	assert_int_equal(f->dtls, WIMS_MCTL_FORCE);
	assert_int_equal(f->dtls_setup, 2);
	assert_int_equal(f->ice, WIMS_MCTL_FORCE);
	assert_int_equal(f->sdes, WIMS_MCTL_REMOVE);
	assert_int_equal(f->proto, WIMS_MCTL_PROTO_WEBRTC);
	assert_true(f->rtcp_mux_offer && f->rtcp_mux_require);
	assert_true(f->replace_origin && f->replace_session_conn);
	assert_true(f->generate_mid && f->strip_extmap && f->symmetric);
	assert_true(wims_str_eqc(f->direction[0], "internal"));
	assert_true(wims_str_eqc(f->direction[1], "external"));
	assert_true(wims_str_eqc(f->codec_strip[0], "all"));
	assert_true(wims_str_eqc(f->codec_mask[0], "PCMA"));
	assert_true(wims_str_eqc(f->codec_offer[0], "opus"));
	assert_string_equal(r.unknown, "record-call=yes, rtcp-mux-reject, zzz-new-key");
}

static void test_parse_errors(void **state)
{
	struct wims_ng_req r;
	const char *reason;

#define P(s) wims_ng_parse_req(&r, nodes, WIMS_NG_MAX_NODES, wims_str_c(s), &reason)
	assert_int_equal(P("l4:pinge"), -EBADMSG);
	assert_int_equal(P("d7:command4:ping"), -EBADMSG);
	assert_int_equal(P("d7:command4:pingeJUNK"), -EBADMSG);
	assert_int_equal(P("d7:command4:pinge\n"), 0);
	assert_int_equal(P("d4:spam4:eggse"), -EINVAL);
	assert_string_equal(reason, "No command in message");
	assert_int_equal(P("d7:command15:start recordinge"), -ENOTSUP);
	assert_true(wims_str_eqc(r.command, "start recording"));
	assert_int_equal(P("d7:command5:offere"), -EINVAL);
	assert_string_equal(reason, "No SDP body in message");
	assert_int_equal(P("d7:call-id1:a7:command6:answer8:from-tag1:f3:sdp3:v=0e"), -EINVAL);
	assert_string_equal(reason, "No to-tag in message");
	assert_int_equal(P("d7:command6:deletee"), -EINVAL);
	assert_string_equal(reason, "No call-id in message");
	assert_int_equal(P("d5:limiti5e7:command4:liste"), 0);
	assert_int_equal(r.list_limit, 5);
#undef P
}

static struct wims_str handle(const char *dgram, char *out, size_t cap, bool *is_err)
{
	struct wims_wbuf b;
	struct wims_bc_doc doc;
	struct wims_str cookie, body;
	size_t used;

	wims_wbuf_init(&b, out, cap);
	assert_int_equal(wims_ng_handle(&mc, wims_str_c(dgram), &b, &scratch, is_err), 0);
	assert_false(b.err);
	/* every reply is a valid, sorted bencode dict after the same cookie */
	assert_int_equal(wims_ng_split(wims_wbuf_str(&b), &cookie, &body), 0);
	assert_int_equal(wims_bc_parse(&doc, nodes, WIMS_NG_MAX_NODES, body, &used), 0);
	assert_int_equal(used, body.l);
	assert_true(wims_bc_sorted(&doc, &nodes[0]));
	out[b.len] = '\0';
	return wims_wbuf_str(&b);
}

static void test_replies(void **state)
{
	char out[8192];
	bool e;

	handle("c1 d7:command4:pinge", out, sizeof(out) - 1, &e);
	assert_string_equal(out, "c1 d6:result4:ponge");
	assert_false(e);

	handle("c2 d7:call-id1:a7:command5:offer8:from-tag1:f3:sdp3:v=0e", out, sizeof(out) - 1, &e);
	assert_string_equal(out, "c2 d6:result2:ok3:sdp88:v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 "
				 "127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\ne");
	assert_int_equal(mk.offers, 1);

	/* unknown flags from the parser and from the AGW both end up in "warning" */
	snprintf(mk.unknown, sizeof(mk.unknown), "SDES-pad");
	handle("c3 d7:call-id1:a7:command6:answer5:flagsl6:bogus1e8:from-tag1:f3:sdp3:v=06:to-tag1:te", out,
	       sizeof(out) - 1, &e);
	assert_non_null(strstr(out, "7:warning31:unknown flags: bogus1, SDES-pade"));
	assert_int_equal(mk.answers, 1);

	handle("c4 d7:call-id4:fail7:command5:offer8:from-tag1:f3:sdp3:v=0e", out, sizeof(out) - 1, &e);
	assert_string_equal(out, "c4 d12:error-reason12:mock failure6:result5:errore");
	assert_true(e);

	handle("c5 d7:call-id5:known7:command6:deletee", out, sizeof(out) - 1, &e);
	assert_string_equal(out, "c5 d6:result2:oke");
	/* unknown call: a warning, or an error with the "fatal" flag (as rtpengine) */
	handle("c6 d7:call-id3:bad7:command6:deletee", out, sizeof(out) - 1, &e);
	assert_string_equal(out, "c6 d6:result2:ok7:warning17:Call-ID not founde");
	assert_false(e);
	handle("c6 d7:call-id3:bad7:command6:delete5:flagsl5:fatalee", out, sizeof(out) - 1, &e);
	assert_string_equal(out, "c6 d12:error-reason17:Call-ID not found6:result5:errore");
	assert_true(e);

	handle("c7 d7:command4:liste", out, sizeof(out) - 1, &e);
	assert_string_equal(out, "c7 d5:callsl6:call-16:call-2e6:result2:oke");
	handle("c7 d5:limiti1e7:command4:liste", out, sizeof(out) - 1, &e);
	assert_string_equal(out, "c7 d5:callsl6:call-1e6:result2:oke");

	handle("c8 d7:command15:start recordinge", out, sizeof(out) - 1, &e);
	assert_string_equal(out, "c8 d12:error-reason19:Unsupported command6:result5:errore");
	handle("c9 i1e", out, sizeof(out) - 1, &e);
	assert_string_equal(out, "c9 d12:error-reason27:Failed to decode dictionary6:result5:errore");
}

static void test_query_reply(void **state)
{
	char out[8192];
	struct wims_bc_doc doc;
	struct wims_str c, body;
	const struct wims_bc_node *root, *tags, *t, *medias, *m, *s, *v;
	size_t used;
	bool e;

	handle("q1 d7:call-id5:known7:command5:querye", out, sizeof(out) - 1, &e);
	assert_int_equal(wims_ng_split(wims_str_c(out), &c, &body), 0);
	assert_int_equal(wims_bc_parse(&doc, nodes, WIMS_NG_MAX_NODES, body, &used), 0);
	root = &nodes[0];
	assert_true(wims_str_eqc(wims_bc_dict_get(&doc, root, "result")->s, "ok"));
	assert_int_equal(wims_bc_dict_get(&doc, root, "created")->i, 1700000000);
	assert_int_equal(wims_bc_dict_get(&doc, root, "last signal")->i, 1700000005);
	v = wims_bc_dict_get(&doc, wims_bc_dict_get(&doc, root, "totals"), "RTP");
	assert_int_equal(wims_bc_dict_get(&doc, v, "packets")->i, 60);
	tags = wims_bc_dict_get(&doc, root, "tags");
	assert_int_equal(tags->n, 4);
	assert_true(wims_str_eqc(wims_bc_child(&doc, tags)->s, "aa-tag"));
	t = wims_bc_dict_get(&doc, tags, "zz-tag");
	assert_true(wims_str_eqc(wims_bc_dict_get(&doc, t, "tag")->s, "zz-tag"));
	medias = wims_bc_dict_get(&doc, t, "medias");
	assert_int_equal(medias->n, 2);
	m = wims_bc_child(&doc, medias);
	assert_int_equal(wims_bc_dict_get(&doc, m, "index")->i, 1);
	assert_true(wims_str_eqc(wims_bc_dict_get(&doc, m, "type")->s, "audio"));
	s = wims_bc_child(&doc, wims_bc_dict_get(&doc, m, "streams"));
	assert_int_equal(wims_bc_dict_get(&doc, s, "local port")->i, 30000);
	v = wims_bc_dict_get(&doc, s, "endpoint");
	assert_true(wims_str_eqc(wims_bc_dict_get(&doc, v, "address")->s, "10.0.0.1"));
	assert_true(wims_str_eqc(wims_bc_dict_get(&doc, v, "family")->s, "IPv4"));
	assert_int_equal(wims_bc_dict_get(&doc, v, "port")->i, 4002);
	assert_int_equal(wims_bc_dict_get(&doc, wims_bc_dict_get(&doc, s, "stats"), "packets")->i, 30);
	v = wims_bc_dict_get(&doc, s, "wims");
	assert_int_equal(wims_bc_dict_get(&doc, v, "loss")->i, 3);
	assert_int_equal(wims_bc_dict_get(&doc, v, "jitter")->i, 7);
	assert_int_equal(wims_bc_dict_get(&doc, v, "rtt")->i, 42);
	assert_int_equal(wims_bc_dict_get(&doc, v, "packets out")->i, 31);
	m = wims_bc_next(&doc, m);
	assert_int_equal(wims_bc_dict_get(&doc, m, "index")->i, 2);
	t = wims_bc_dict_get(&doc, tags, "aa-tag");
	s = wims_bc_child(&doc, wims_bc_dict_get(&doc, wims_bc_child(&doc, wims_bc_dict_get(&doc, t, "medias")),
						 "streams"));
	v = wims_bc_dict_get(&doc, s, "endpoint");
	assert_true(wims_str_eqc(wims_bc_dict_get(&doc, v, "family")->s, "IPv6"));
	assert_true(wims_str_eqc(wims_bc_dict_get(&doc, v, "address")->s, "2001:db8::1"));

	handle("q2 d7:call-id2:no7:command5:querye", out, sizeof(out) - 1, &e);
	assert_true(e);
}

static void test_encode_req_roundtrip(void **state)
{
	struct wims_mctl_req rq, *p;
	struct wims_ng_req r;
	char mem[4096];
	struct wims_wbuf b;
	struct wims_bc_doc doc;
	size_t used;
	const char *reason;

	memset(&rq, 0, sizeof(rq));
	rq.op = WIMS_MCTL_OFFER;
	rq.call_id = wims_str_c("cid");
	rq.from_tag = wims_str_c("ft");
	rq.sdp = wims_str_c("v=0\r\n");
	rq.flags.ice = WIMS_MCTL_FORCE;
	rq.flags.dtls = WIMS_MCTL_FORCE;
	rq.flags.dtls_setup = 1;
	rq.flags.sdes = WIMS_MCTL_REMOVE;
	rq.flags.proto = WIMS_MCTL_PROTO_WEBRTC;
	rq.flags.rtcp_mux_offer = rq.flags.rtcp_mux_require = true;
	rq.flags.replace_origin = rq.flags.replace_session_conn = true;
	rq.flags.trust_address = rq.flags.generate_mid = true;
	rq.flags.codec_strip[rq.flags.n_codec_strip++] = wims_str_c("all");
	rq.flags.codec_offer[rq.flags.n_codec_offer++] = wims_str_c("PCMU");
	rq.flags.media_address = wims_str_c("1.2.3.4");
	wims_wbuf_init(&b, mem, sizeof(mem));
	wims_ng_encode_req(&b, &rq);
	assert_false(b.err);
	assert_int_equal(wims_bc_parse(&doc, nodes, WIMS_NG_MAX_NODES, wims_wbuf_str(&b), &used), 0);
	assert_true(wims_bc_sorted(&doc, &nodes[0]));
	assert_int_equal(wims_ng_parse_req(&r, nodes, WIMS_NG_MAX_NODES, wims_wbuf_str(&b), &reason), 0);
	p = &r.rq;
	assert_int_equal(r.unknown_len, 0);
	assert_true(wims_str_eqc(p->call_id, "cid") && wims_str_eqc(p->sdp, "v=0\r\n"));
	assert_int_equal(p->flags.ice, WIMS_MCTL_FORCE);
	assert_int_equal(p->flags.dtls_setup, 1);
	assert_int_equal(p->flags.sdes, WIMS_MCTL_REMOVE);
	assert_int_equal(p->flags.proto, WIMS_MCTL_PROTO_WEBRTC);
	assert_true(p->flags.rtcp_mux_offer && p->flags.rtcp_mux_require && p->flags.replace_origin &&
		    p->flags.replace_session_conn && p->flags.trust_address && p->flags.generate_mid);
	assert_true(wims_str_eqc(p->flags.codec_strip[0], "all") && wims_str_eqc(p->flags.codec_offer[0], "PCMU"));
	assert_true(wims_str_eqc(p->flags.media_address, "1.2.3.4"));
}

static void test_cache(void **state)
{
	struct wims_ng__cache *c;
	struct wims_addr a1, a2;
	struct wims_str r;
	char ck[16];

	assert_int_equal(wims_addr_parse(&a1, wims_str_c("127.0.0.1:5000"), 0), 0);
	assert_int_equal(wims_addr_parse(&a2, wims_str_c("127.0.0.1:5001"), 0), 0);
	assert_int_equal(wims_ng__cache_new(&c, 4, 30000), 0);
	wims_ng__cache_put(c, &a1, wims_str_c("k1"), wims_str_c("k1 d6:result2:oke"), 1000);
	r = wims_ng__cache_get(c, &a1, wims_str_c("k1"), 2000);
	assert_true(wims_str_eqc(r, "k1 d6:result2:oke"));
	assert_false(wims_str_isset(wims_ng__cache_get(c, &a2, wims_str_c("k1"), 2000)));
	assert_false(wims_str_isset(wims_ng__cache_get(c, &a1, wims_str_c("k2"), 2000)));
	assert_false(wims_str_isset(wims_ng__cache_get(c, &a1, wims_str_c("k1"), 31001)));
	/* full ring: the oldest goes first */
	for (int i = 0; i < 6; i++) {
		snprintf(ck, sizeof(ck), "n%d", i);
		wims_ng__cache_put(c, &a1, wims_str_c(ck), wims_str_c(ck), 3000 + (uint64_t)i);
	}
	assert_false(wims_str_isset(wims_ng__cache_get(c, &a1, wims_str_c("n1"), 4000)));
	assert_true(wims_str_eqc(wims_ng__cache_get(c, &a1, wims_str_c("n2"), 4000), "n2"));
	assert_true(wims_str_eqc(wims_ng__cache_get(c, &a1, wims_str_c("n5"), 4000), "n5"));
	/* expired entries leave on the next put */
	wims_ng__cache_put(c, &a2, wims_str_c("late"), wims_str_c("x"), 100000);
	assert_true(wims_str_eqc(wims_ng__cache_get(c, &a2, wims_str_c("late"), 100000), "x"));
	assert_false(wims_str_isset(wims_ng__cache_get(c, &a1, wims_str_c("n5"), 100000)));
	wims_ng__cache_free(c);
}

/* ---- server and client over 127.0.0.1 ---- */

struct done {
	bool called;
	int err;
	char result[16], reason[64], sdp[256];
};

static void on_reply(int err, const struct wims_ng_reply *rep, void *arg)
{
	struct done *d = arg;

	d->called = true;
	d->err = err;
	if (rep) {
		snprintf(d->result, sizeof(d->result), "%.*s", (int)rep->result.l, rep->result.p);
		snprintf(d->reason, sizeof(d->reason), "%.*s", (int)rep->error_reason.l, rep->error_reason.p);
		snprintf(d->sdp, sizeof(d->sdp), "%.*s", (int)rep->sdp.l, rep->sdp.p);
	}
}

static void run_until(uv_loop_t *loop, struct done *d)
{
	while (!d->called)
		uv_run(loop, UV_RUN_ONCE);
}

/* Send a raw datagram from a plain socket and wait for the reply. */
static size_t raw_exchange(uv_loop_t *loop, int fd, const struct wims_addr *to, const char *msg, char *out, size_t cap)
{
	ssize_t n;

	assert_true(sendto(fd, msg, strlen(msg), 0, &to->u.sa, wims_addr_len(to)) == (ssize_t)strlen(msg));
	for (int i = 0; i < 2000; i++) {
		uv_run(loop, UV_RUN_NOWAIT);
		n = recv(fd, out, cap, MSG_DONTWAIT);
		if (n > 0)
			return (size_t)n;
		usleep(1000);
	}
	fail_msg("no reply");
	return 0;
}

static void test_server_client(void **state)
{
	uv_loop_t loop;
	struct wims_ng_server *srv;
	struct wims_ng_client *cl;
	struct wims_addr la, sa;
	struct wims_ng_stats st;
	struct wims_mctl_req rq;
	struct done d;
	char r1[1024], r2[1024];
	size_t n1, n2;
	int fd;
	const char *offer = "rt1 d7:call-id1:a7:command5:offer8:from-tag1:f3:sdp3:v=0e";

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(wims_addr_parse(&la, wims_str_c("127.0.0.1"), 0), 0);
	assert_int_equal(wims_ng_server_start(&srv, &loop, &la, &mc), 0);
	assert_int_equal(wims_ng_server_addr(srv, &sa), 0);
	assert_int_not_equal(wims_addr_port(&sa), 0);
	assert_int_equal(wims_ng_client_new(&cl, &loop, &sa), 0);

	memset(&rq, 0, sizeof(rq));
	memset(&d, 0, sizeof(d));
	rq.op = WIMS_MCTL_PING;
	assert_int_equal(wims_ng_client_send(cl, &rq, 2000, on_reply, &d), 0);
	assert_false(d.called);
	run_until(&loop, &d);
	assert_int_equal(d.err, 0);
	assert_string_equal(d.result, "pong");

	memset(&d, 0, sizeof(d));
	rq.op = WIMS_MCTL_OFFER;
	rq.call_id = wims_str_c("cid-1");
	rq.from_tag = wims_str_c("ft-1");
	rq.sdp = wims_str_c(SDP_WEBRTC);
	rq.flags.ice = WIMS_MCTL_REMOVE;
	rq.flags.proto = WIMS_MCTL_PROTO_RTP_AVP;
	assert_int_equal(wims_ng_client_send(cl, &rq, 2000, on_reply, &d), 0);
	run_until(&loop, &d);
	assert_int_equal(d.err, 0);
	assert_string_equal(d.result, "ok");
	assert_non_null(strstr(d.sdp, "m=audio 30000 RTP/AVP 0"));
	assert_int_equal(mk.offers, 1);
	assert_true(wims_str_eqc(mk.last.call_id, "cid-1"));
	assert_int_equal(mk.last.flags.ice, WIMS_MCTL_REMOVE);

	memset(&d, 0, sizeof(d));
	rq.call_id = wims_str_c("fail");
	assert_int_equal(wims_ng_client_send(cl, &rq, 2000, on_reply, &d), 0);
	run_until(&loop, &d);
	assert_string_equal(d.result, "error");
	assert_string_equal(d.reason, "mock failure");

	/* a retransmission gets the same bytes; the AGW sees one offer */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	n1 = raw_exchange(&loop, fd, &sa, offer, r1, sizeof(r1));
	n2 = raw_exchange(&loop, fd, &sa, offer, r2, sizeof(r2));
	assert_int_equal(n1, n2);
	assert_memory_equal(r1, r2, n1);
	assert_int_equal(mk.offers, 3);
	/* no cookie: dropped, counted */
	assert_true(sendto(fd, "garbage", 7, 0, &sa.u.sa, wims_addr_len(&sa)) == 7);
	n1 = raw_exchange(&loop, fd, &sa, "p1 d7:command4:pinge", r1, sizeof(r1));
	assert_int_equal(n1, strlen("p1 d6:result4:ponge"));
	close(fd);
	wims_ng_server_stats(srv, &st);
	assert_int_equal(st.retransmits, 1);
	assert_int_equal(st.bad, 1);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.received, 7);
	assert_int_equal(st.replied, 6);

	/* nobody listening: -ETIMEDOUT after the resends */
	wims_ng_server_stop(srv);
	memset(&d, 0, sizeof(d));
	rq.op = WIMS_MCTL_PING;
	uint64_t t0 = uv_now(&loop);
	assert_int_equal(wims_ng_client_send(cl, &rq, 800, on_reply, &d), 0);
	run_until(&loop, &d);
	assert_int_equal(d.err, -ETIMEDOUT);
	assert_true(uv_now(&loop) - t0 >= 790);

	/* freeing cancels what is pending */
	memset(&d, 0, sizeof(d));
	assert_int_equal(wims_ng_client_send(cl, &rq, 800, on_reply, &d), 0);
	wims_ng_client_free(cl);
	assert_true(d.called);
	assert_int_equal(d.err, -ECANCELED);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_split, setup),
		cmocka_unit_test_setup(test_parse_kamailio_flags, setup),
		cmocka_unit_test_setup(test_parse_dict_forms, setup),
		cmocka_unit_test_setup(test_parse_errors, setup),
		cmocka_unit_test_setup(test_replies, setup),
		cmocka_unit_test_setup(test_query_reply, setup),
		cmocka_unit_test_setup(test_encode_req_roundtrip, setup),
		cmocka_unit_test_setup(test_cache, setup),
		cmocka_unit_test_setup(test_server_client, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
