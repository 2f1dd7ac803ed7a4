/* The media engine's bounds and its media timeout, with a real engine
 * (1 worker, 127.0.0.1):
 *  - the command queue toward a stalled worker is bounded: new sessions,
 *    configurations and DTMF are refused with -EBUSY (and counted), a
 *    delete never is, and all is well once the worker runs again; new
 *    sessions go to a worker that takes commands;
 *  - events are coalesced per session and kind, never allocated;
 *  - a packet the kernel refuses counts as send_failed, not as sent;
 *  - the media timeout is reported again after media came back and went
 *    silent again, and RTCP alone keeps a session alive.
 * The worker is stalled by holding the engine's event lock while it has an
 * event to post (the FREED of a deleted session). */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "media/media_int.h"

/* ---- fixture ---- */

struct fx {
	uv_loop_t loop;
	struct wims_media *m;
	struct wims_media_sess *ev_sess[8];
	unsigned nev;
	bool stalled; /* the test holds the event lock (stall/unstall) */
};

/* Stall the workers that post an event: the test holds the engine's event
 * lock.  teardown releases it if a failed assertion left it held, so that a
 * failure is reported instead of hanging in wims_media_free. */
static void stall(struct fx *f)
{
	pthread_mutex_lock(&f->m->evlock);
	f->stalled = true;
}

static void unstall(struct fx *f)
{
	f->stalled = false;
	pthread_mutex_unlock(&f->m->evlock);
}

/* A new session, waiting up to 2 s while every worker that takes commands
 * is still busy with its queue (the healthy worker drains its own at its
 * pace, a loaded machine's). */
static int sess_new_retry(struct wims_media *m, struct wims_media_sess **s)
{
	int rc;
	struct timespec ts;
	uint64_t end;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 2000;
	while ((rc = wims_media_sess_new(m, s, NULL)) == -EBUSY) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 > end)
			break;
		usleep(1000);
	}
	return rc;
}

static void on_event(struct wims_media_sess *s, enum wims_media_event ev, void *arg)
{
	struct fx *f = arg;
	assert_int_equal(ev, WIMS_MEDIA_EV_TIMEOUT);
	if (f->nev < 8)
		f->ev_sess[f->nev] = s;
	f->nev++;
}

static int fx_new(void **state, unsigned timeout_s, unsigned cmd_queue, unsigned workers)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	struct wims_media_opts mo = {0};
	assert_int_equal(wims_addr_parse(&mo.addr, wims_str_c("127.0.0.1"), 0), 0);
	mo.port_min = 43000;
	mo.port_max = 43999;
	mo.workers = workers;
	mo.max_sessions = 100;
	mo.timeout_s = timeout_s;
	mo.consent_s = 30;
	mo.cmd_queue = cmd_queue;
	assert_int_equal(wims_media_new(&f->m, &f->loop, &mo, on_event, f), 0);
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
	*state = f;
	return 0;
}

static int setup_queue(void **state)
{
	return fx_new(state, 60, 8, 1);
}

static int setup_two(void **state)
{
	return fx_new(state, 60, 4, 2);
}

static int setup_default(void **state)
{
	return fx_new(state, 60, 0, 1);
}

static int setup_timeout(void **state)
{
	return fx_new(state, 1, 0, 1);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (f->stalled)
		unstall(f);
	wims_media_free(f->m);
	for (int i = 0; i < 10 && uv_run(&f->loop, UV_RUN_NOWAIT); i++)
		;
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run the control loop for ms (events, frees). */
static void pump(struct fx *f, unsigned ms)
{
	uint64_t end = mono_ms() + ms;
	do {
		(void)uv_run(&f->loop, UV_RUN_NOWAIT);
		usleep(2000);
	} while (mono_ms() < end);
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* Run the control loop until the worker has taken its commands and every
 * session is gone or `sessions` are left. */
static void pump_until(struct fx *f, unsigned sessions)
{
	uint64_t end = mono_ms() + 3000;
	while ((wims_media_sessions(f->m) != sessions || atomic_load(&f->m->w[0].ncmds)) && mono_ms() < end)
		pump(f, 5);
	assert_int_equal(wims_media_sessions(f->m), sessions);
}

/* ---- plain transports ---- */

struct peer {
	int fd;
	struct wims_addr a;
};

struct plain_tp {
	int fd_rtp, fd_rtcp;
	uint16_t port;
	struct peer rtp, rtcp;
};

static void peer_open(struct peer *p)
{
	p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(p->fd >= 0);
	assert_int_equal(wims_addr_parse(&p->a, wims_str_c("127.0.0.1"), 0), 0);
	assert_int_equal(bind(p->fd, &p->a.u.sa, wims_addr_len(&p->a)), 0);
	socklen_t sl = sizeof(p->a.u);
	assert_int_equal(getsockname(p->fd, &p->a.u.sa, &sl), 0);
}

static void send_to(const struct peer *p, uint16_t port, const uint8_t *b, size_t n)
{
	struct wims_addr to;
	assert_int_equal(wims_addr_parse(&to, wims_str_c("127.0.0.1"), port), 0);
	assert_int_equal(sendto(p->fd, b, n, 0, &to.u.sa, wims_addr_len(&to)), (ssize_t)n);
}

static size_t recv_ms(const struct peer *p, uint8_t *b, size_t cap, int ms)
{
	struct pollfd pf = {.fd = p->fd, .events = POLLIN};
	if (poll(&pf, 1, ms) <= 0)
		return 0;
	ssize_t n = recv(p->fd, b, cap, 0);
	return n > 0 ? (size_t)n : 0;
}

static void plain_open(struct fx *f, struct plain_tp *p)
{
	assert_int_equal(wims_media_port_alloc(f->m, true, &p->fd_rtp, &p->fd_rtcp, &p->port), 0);
	peer_open(&p->rtp);
	peer_open(&p->rtcp);
}

static void plain_close(struct plain_tp *p)
{
	close(p->rtp.fd);
	close(p->rtcp.fd);
}

static void plain_conf(struct wims_media_tconf *t, const struct plain_tp *p)
{
	memset(t, 0, sizeof(*t));
	t->kind = WIMS_MT_PLAIN;
	t->fd_rtp = p->fd_rtp;
	t->fd_rtcp = p->fd_rtcp;
	t->lport_rtp = p->port;
	t->lport_rtcp = (uint16_t)(p->port + 1);
	t->remote_rtp = p->rtp.a;
	t->remote_rtcp = p->rtcp.a;
	t->has_remote = true;
}

/* A session relaying everything between a and b; b's RTP goes to `b_to`
 * when given (an address the kernel refuses). */
static void plain_pair(struct fx *f, struct wims_media_sess **sp, struct plain_tp *a, struct plain_tp *b,
		       const struct wims_addr *b_to)
{
	plain_open(f, a);
	plain_open(f, b);
	assert_int_equal(wims_media_sess_new(f->m, sp, NULL), 0);
	struct wims_media_sessconf c;
	memset(&c, 0, sizeof(c));
	c.ntransports = 2;
	plain_conf(&c.t[0], a);
	plain_conf(&c.t[1], b);
	if (b_to)
		c.t[1].remote_rtp = *b_to;
	c.nstreams = 1;
	c.s[0].active = true;
	c.s[0].t[0] = 0;
	c.s[0].t[1] = 1;
	for (unsigned pt = 0; pt < 128; pt++)
		c.s[0].pt_map[0][pt] = c.s[0].pt_map[1][pt] = (uint8_t)pt;
	assert_int_equal(wims_media_sess_apply(*sp, &c), 0);
}

static size_t rtp_make(uint8_t *b, uint16_t seq)
{
	memset(b, 0, 172);
	b[0] = 0x80;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[11] = 0x11;
	return 172;
}

static size_t sr_make(uint8_t *b)
{
	memset(b, 0, 28);
	b[0] = 0x80;
	b[1] = 200;
	b[3] = 6;
	b[7] = 0x11;
	return 28;
}

/* ---- the command queue ---- */

static void test_stalled_worker_refuses(void **state)
{
	struct fx *f = *state;
	struct wims_media *m = f->m;
	struct wims_media_sess *s0, *ss[8], *x = NULL;
	struct wims_media_sessconf c;
	struct wims_media_stats st;

	memset(&c, 0, sizeof(c));
	/* stall the worker: it blocks posting the FREED of s0 */
	stall(f);
	assert_int_equal(wims_media_sess_new(m, &s0, NULL), 0);
	wims_media_sess_delete(s0);
	for (uint64_t end = mono_ms() + 2000; wims_media_sessions(m) && mono_ms() < end;)
		usleep(1000);
	assert_int_equal(wims_media_sessions(m), 0); /* counted down just before the post */
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(wims_media_sess_new(m, &ss[i], NULL), 0);
		assert_int_equal(wims_media_sess_apply(ss[i], &c), 0);
	}
	assert_int_equal(atomic_load(&m->w[0].ncmds), 8);
	/* full: a new session, a re-offer and DTMF are refused */
	assert_int_equal(wims_media_sess_new(m, &x, NULL), -EBUSY);
	assert_null(x);
	assert_int_equal(wims_media_sess_apply(ss[0], &c), -EBUSY);
	assert_int_equal(wims_media_sess_dtmf(ss[0], 0, 1, 5, 100, 101, 8000), -EBUSY);
	wims_media_stats(m, &st);
	assert_int_equal(st.cmds_refused, 3);
	assert_int_equal(st.sessions, 8);
	/* a delete is never refused */
	wims_media_sess_delete(ss[7]);
	assert_int_equal(atomic_load(&m->w[0].ncmds), 8);
	unstall(f);

	/* the worker runs again: everything queued is applied, s0 and ss[7]
	 * freed, and commands are taken again */
	pump_until(f, 7);
	assert_int_equal(wims_media_sess_apply(ss[0], &c), 0);
	assert_int_equal(wims_media_sess_new(m, &x, NULL), 0);
	wims_media_sess_delete(x);
	for (unsigned i = 0; i < 7; i++)
		wims_media_sess_delete(ss[i]);
	pump_until(f, 0);
	wims_media_stats(m, &st);
	assert_int_equal(st.cmds_refused, 3);
	assert_int_equal(f->nev, 0);
}

/* With two workers, a stalled one gets no new session once its queue is
 * full: the other, which takes its commands, gets them all. */
static void test_other_worker_takes_sessions(void **state)
{
	struct fx *f = *state;
	struct wims_media *m = f->m;
	struct wims_media_sess *s0, *ss[12];
	struct wims_media_sessconf c;

	memset(&c, 0, sizeof(c));
	stall(f);
	assert_int_equal(wims_media_sess_new(m, &s0, NULL), 0);
	struct media__worker *stalled = s0->w;
	wims_media_sess_delete(s0);
	for (uint64_t end = mono_ms() + 2000; wims_media_sessions(m) && mono_ms() < end;)
		usleep(1000);
	unsigned on_stalled = 0;
	for (unsigned i = 0; i < 12; i++) {
		assert_int_equal(sess_new_retry(m, &ss[i]), 0);
		assert_int_equal(wims_media_sess_apply(ss[i], &c), 0);
		on_stalled += ss[i]->w == stalled;
		if (i >= 8) /* past 4 on each: the stalled one's queue is full */
			assert_ptr_not_equal(ss[i]->w, stalled);
	}
	assert_int_equal(on_stalled, 4);
	assert_int_equal(atomic_load(&stalled->ncmds), 4);
	unstall(f);
	for (unsigned i = 0; i < 12; i++)
		wims_media_sess_delete(ss[i]);
	for (uint64_t end = mono_ms() + 3000; wims_media_sessions(m) && mono_ms() < end;)
		pump(f, 5);
	assert_int_equal(wims_media_sessions(m), 0);
}

/* Engine shutdown with commands and events still queued toward a worker
 * that was stalled: nothing leaks (LeakSanitizer in the ASan build). */
static void test_free_while_stalled(void **state)
{
	struct fx *f = *state;
	struct wims_media *m = f->m;
	struct wims_media_sess *s0, *s;
	struct wims_media_sessconf c;

	memset(&c, 0, sizeof(c));
	stall(f);
	assert_int_equal(wims_media_sess_new(m, &s0, NULL), 0);
	wims_media_sess_delete(s0);
	for (uint64_t end = mono_ms() + 2000; wims_media_sessions(m) && mono_ms() < end;)
		usleep(1000);
	while (wims_media_sess_new(m, &s, NULL) == 0)
		if (wims_media_sess_apply(s, &c))
			break;
	unstall(f);
	/* teardown: wims_media_free with the applies queued */
}

/* The default bound. */
static void test_default_bound(void **state)
{
	struct fx *f = *state;
	assert_int_equal(f->m->cmdq_max, MEDIA__CMDQ_DEFAULT);
}

/* ---- events ---- */

/* A kind posted again while it waits is the one waiting; once delivered
 * it can be posted again.  Nothing is allocated for it. */
static void test_events_coalesced(void **state)
{
	struct fx *f = *state;
	struct wims_media_sess *s;

	assert_int_equal(wims_media_sess_new(f->m, &s, NULL), 0);
	for (int i = 0; i < 5; i++)
		media__post_event(f->m, s, WIMS_MEDIA_EV_TIMEOUT);
	assert_ptr_equal(f->m->evs, &s->timeout_ev);
	assert_null(s->timeout_ev.next);
	pump(f, 10);
	assert_int_equal(f->nev, 1);
	assert_ptr_equal(f->ev_sess[0], s);
	assert_false(s->timeout_ev.queued);
	media__post_event(f->m, s, WIMS_MEDIA_EV_TIMEOUT);
	pump(f, 10);
	assert_int_equal(f->nev, 2);
	/* queued, then deleted: not delivered, and the session is freed after it */
	media__post_event(f->m, s, WIMS_MEDIA_EV_TIMEOUT);
	wims_media_sess_delete(s);
	pump_until(f, 0);
	assert_int_equal(f->nev, 2);
}

/* ---- counters ---- */

/* A relayed packet the kernel refuses (an IPv6 destination from an IPv4
 * socket) is a send failure, not a packet sent. */
static void test_send_failure_counted(void **state)
{
	struct fx *f = *state;
	struct wims_media_sess *s;
	struct plain_tp a, b;
	struct wims_addr v6;
	uint8_t p[256];

	assert_int_equal(wims_addr_parse(&v6, wims_str_c("[::1]"), 9), 0);
	plain_pair(f, &s, &a, &b, &v6);
	pump(f, 20);
	send_to(&a.rtp, a.port, p, rtp_make(p, 1));
	send_to(&a.rtp, a.port, p, rtp_make(p, 2));
	send_to(&a.rtcp, (uint16_t)(a.port + 1), p, sr_make(p));
	assert_int_equal(recv_ms(&b.rtcp, p, sizeof(p), 1000), 28);
	pump(f, 30);
	struct wims_media_counters n0, n1;
	wims_media_sess_counters(s, 0, 0, &n0);
	wims_media_sess_counters(s, 0, 1, &n1);
	assert_int_equal(n0.packets_in, 2);
	assert_int_equal(n1.packets_out, 0);
	assert_int_equal(n1.bytes_out, 0);
	assert_int_equal(n1.send_failed, 2);
	assert_int_equal(n1.rtcp_out, 1); /* RTCP goes to b's RTCP address, which works */
	struct wims_media_stats st;
	wims_media_stats(f->m, &st);
	assert_int_equal(st.send_failed, 2);
	assert_true(st.packets_sent >= 1);
	wims_media_sess_delete(s);
	pump_until(f, 0);
	plain_close(&a);
	plain_close(&b);
}

/* ---- the media timeout ---- */

static void test_timeout_due(void **state)
{
	(void)state;
	bool rep = false;
	/* within the limit: nothing */
	assert_false(media__timeout_due(&rep, 1500, 1000, 1000));
	assert_false(rep);
	/* past it: reported once */
	assert_true(media__timeout_due(&rep, 2001, 1000, 1000));
	assert_true(rep);
	assert_false(media__timeout_due(&rep, 3000, 1000, 1000));
	assert_true(rep);
	/* media back: cleared, nothing reported */
	assert_false(media__timeout_due(&rep, 3100, 3050, 1000));
	assert_false(rep);
	/* a second silence: reported again */
	assert_true(media__timeout_due(&rep, 4100, 3050, 1000));
	assert_true(rep);
	/* no limit: never; a packet newer than the tick's time: not silent */
	rep = false;
	assert_false(media__timeout_due(&rep, 90000, 0, 0));
	assert_false(media__timeout_due(&rep, 1000, 1001, 1));
	assert_false(rep);
}

/* Send what mk makes from `from` to port every 250 ms for ms. */
static void keep_sending(struct fx *f, const struct peer *from, uint16_t port,
			 size_t (*mk)(uint8_t *, uint16_t), unsigned ms)
{
	uint8_t p[256];
	uint16_t seq = 100;
	for (uint64_t end = mono_ms() + ms; mono_ms() < end;) {
		send_to(from, port, p, mk(p, seq++));
		pump(f, 250);
	}
}

static size_t sr_make_seq(uint8_t *b, uint16_t seq)
{
	(void)seq;
	return sr_make(b);
}

static void wait_event(struct fx *f, unsigned n)
{
	for (uint64_t end = mono_ms() + 3500; f->nev < n && mono_ms() < end;)
		pump(f, 20);
	assert_int_equal(f->nev, n);
}

static void test_timeout_again_and_rtcp(void **state)
{
	struct fx *f = *state;
	struct wims_media_sess *s;
	struct plain_tp a, b;

	plain_pair(f, &s, &a, &b, NULL);
	/* RTCP alone (a phone on hold) keeps the session alive past 1 s */
	keep_sending(f, &a.rtcp, (uint16_t)(a.port + 1), sr_make_seq, 2600);
	assert_int_equal(f->nev, 0);
	/* silence: reported */
	wait_event(f, 1);
	assert_ptr_equal(f->ev_sess[0], s);
	/* media back for longer than a tick: nothing is posted for it */
	keep_sending(f, &b.rtp, b.port, rtp_make, 1600);
	assert_int_equal(f->nev, 1);
	/* a second silence is reported again */
	wait_event(f, 2);
	assert_ptr_equal(f->ev_sess[1], s);
	pump(f, 1200);
	assert_int_equal(f->nev, 2);
	wims_media_sess_delete(s);
	pump_until(f, 0);
	plain_close(&a);
	plain_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_stalled_worker_refuses, setup_queue, teardown),
	    cmocka_unit_test_setup_teardown(test_free_while_stalled, setup_queue, teardown),
	    cmocka_unit_test_setup_teardown(test_other_worker_takes_sessions, setup_two, teardown),
	    cmocka_unit_test_setup_teardown(test_default_bound, setup_default, teardown),
	    cmocka_unit_test_setup_teardown(test_events_coalesced, setup_default, teardown),
	    cmocka_unit_test_setup_teardown(test_send_failure_counted, setup_default, teardown),
	    cmocka_unit_test(test_timeout_due),
	    cmocka_unit_test_setup_teardown(test_timeout_again_and_rtcp, setup_timeout, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
