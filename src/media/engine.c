/* The media engine's control side: workers, ports, sessions.  Everything here
 * runs on the signalling thread except what is marked as worker-callable. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "media/media_int.h"

static void on_events(uv_async_t *a)
{
	struct wims_media *m = a->data;
	pthread_mutex_lock(&m->evlock);
	struct media__event *e = m->evs;
	m->evs = NULL;
	m->evs_tail = &m->evs;
	pthread_mutex_unlock(&m->evlock);
	while (e) {
		struct wims_media_sess *s = e->s;
		enum wims_media_event ev = e->ev;
		/* from here on a worker may queue e again (a new silence), which
		 * rewrites e->next: it is read first, under the same lock */
		pthread_mutex_lock(&m->evlock);
		struct media__event *next = e->next;
		e->queued = false;
		pthread_mutex_unlock(&m->evlock);
		if (ev == MEDIA__EV_FREED)
			free(s); /* the event is part of the session */
		else if (m->evh && !s->deleted)
			m->evh(s, ev, m->evarg);
		e = next;
	}
}

/* worker-callable: queue the session's event of that kind unless it is
 * queued already (struct media__event: coalesced, never allocated). */
void media__post_event(struct wims_media *m, struct wims_media_sess *s, enum wims_media_event ev)
{
	struct media__event *e;
	if (ev == MEDIA__EV_FREED)
		e = &s->freed_ev;
	else if (ev == WIMS_MEDIA_EV_TIMEOUT)
		e = &s->timeout_ev;
	else
		return;
	pthread_mutex_lock(&m->evlock);
	bool link = !e->queued;
	if (link) {
		e->queued = true;
		e->next = NULL;
		*m->evs_tail = e;
		m->evs_tail = &e->next;
	}
	pthread_mutex_unlock(&m->evlock);
	if (link)
		uv_async_send(&m->evasync);
}

/* Allocated commands (APPLY, DTMF) that a worker has not taken yet are
 * bounded (cmdq_max each): an APPLY carries a whole session configuration
 * (~14 KB), and toward a stalled worker they would pile up without limit.
 * DELETE and STOP are never refused: they are embedded in the session and
 * the worker (no memory to bound), and ending a session must not fail. */
static int post(struct media__worker *w, struct media__cmd *c)
{
	bool bounded = c->kind == MEDIA__CMD_APPLY || c->kind == MEDIA__CMD_DTMF;
	c->next = NULL;
	pthread_mutex_lock(&w->lock);
	unsigned n = atomic_load_explicit(&w->ncmds, memory_order_relaxed);
	if (bounded && n >= w->m->cmdq_max) {
		pthread_mutex_unlock(&w->lock);
		return -EBUSY;
	}
	if (bounded)
		atomic_store_explicit(&w->ncmds, n + 1, memory_order_relaxed);
	*w->cmds_tail = c;
	w->cmds_tail = &c->next;
	pthread_mutex_unlock(&w->lock);
	uv_async_send(&w->async);
	return 0;
}

static bool cmdq_full(const struct wims_media *m, const struct media__worker *w)
{
	return atomic_load_explicit(&w->ncmds, memory_order_relaxed) >= m->cmdq_max;
}

/* A command refused for a full queue (w's, or every worker's when w is
 * NULL): counted and logged (rate-limited). */
static int refused(struct wims_media *m, const struct media__worker *w, const char *what)
{
	m->cmds_refused++;
	if (w)
		wims_log_rl(&m->rl_busy, WIMS_LOG_WARN,
			    "media: worker %u has %u commands waiting (stalled?): %s refused", w->id,
			    atomic_load_explicit(&w->ncmds, memory_order_relaxed), what);
	else
		wims_log_rl(&m->rl_busy, WIMS_LOG_WARN,
			    "media: every worker has %u commands waiting (stalled?): %s refused", m->cmdq_max,
			    what);
	return -EBUSY;
}

static int start_worker(struct wims_media *m, unsigned i)
{
	struct media__worker *w = &m->w[i];
	w->m = m;
	w->id = i;
	w->cmds_tail = &w->cmds;
	w->rxbuf = malloc((size_t)MEDIA__RXCHUNKS * MEDIA__RXCHUNK);
	if (!w->rxbuf)
		return -ENOMEM;
	int err = uv_loop_init(&w->loop);
	if (err) {
		free(w->rxbuf);
		return err;
	}
	pthread_mutex_init(&w->lock, NULL);
	w->rl_drop = (struct wims_ratelimit)WIMS_RATELIMIT_INIT(10000, 10);
	uv_async_init(&w->loop, &w->async, media__worker_wake);
	w->async.data = w;
	err = pthread_create(&w->thread, NULL, media__worker_main, w);
	if (err) { /* not counted in nworkers: undo here */
		uv_close((uv_handle_t *)&w->async, NULL);
		(void)uv_run(&w->loop, UV_RUN_DEFAULT);
		(void)uv_loop_close(&w->loop);
		pthread_mutex_destroy(&w->lock);
		free(w->rxbuf);
		return -err;
	}
	return 0;
}

int wims_media_new(struct wims_media **mp, uv_loop_t *ctl_loop, const struct wims_media_opts *o,
		   wims_media_event_h *evh, void *arg)
{
	int err = wims_srtp_global_init();
	if (err)
		return err;
	struct wims_media *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->o = *o;
	if (m->o.naddrs == 0 || m->o.naddrs > WIMS_MEDIA_MAX_ADDRS) {
		m->o.addrs[0] = m->o.addr;
		m->o.naddrs = 1;
	}
	m->o.addr = m->o.addrs[0];
	if (!m->o.port_min || m->o.port_max <= m->o.port_min + 4) {
		free(m);
		return -EINVAL;
	}
	m->next_port = m->o.port_min & ~1u;
	m->cmdq_max = o->cmd_queue ? o->cmd_queue : MEDIA__CMDQ_DEFAULT;
	m->rl_busy = (struct wims_ratelimit)WIMS_RATELIMIT_INIT(10000, 5);
	m->ctl = ctl_loop;
	m->evh = evh;
	m->evarg = arg;
	m->evs_tail = &m->evs;
	pthread_mutex_init(&m->evlock, NULL);
	err = wims_dtls_ctx_new(&m->dtls, o->cert_file, o->key_file);
	if (err) {
		wims_log(WIMS_LOG_ERR, "media: DTLS certificate: %s", strerror(-err));
		free(m);
		return err;
	}
	uv_async_init(ctl_loop, &m->evasync, on_events);
	m->evasync.data = m;
	m->nworkers = o->workers ? o->workers : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (m->nworkers < 1)
		m->nworkers = 1;
	if (m->nworkers > 64)
		m->nworkers = 64;
	m->w = calloc(m->nworkers, sizeof(*m->w));
	if (!m->w) {
		m->nworkers = 0;
		wims_media_free(m);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < m->nworkers; i++) {
		err = start_worker(m, i);
		if (err) {
			m->nworkers = i;
			wims_media_free(m);
			return err;
		}
	}
	wims_log(WIMS_LOG_INFO, "media: %u workers, ports %u-%u, %s", m->nworkers, o->port_min,
		 o->port_max, wims_dtls_ctx_fingerprint(m->dtls));
	*mp = m;
	return 0;
}

static void free_evasync(uv_handle_t *h)
{
	struct wims_media *m = h->data;
	struct media__event *e = m->evs;
	while (e) {
		struct media__event *n = e->next;
		if (e->ev == MEDIA__EV_FREED)
			free(e->s); /* the event is part of the session (a TIMEOUT of it came before) */
		e = n;
	}
	pthread_mutex_destroy(&m->evlock);
	free(m);
}

void wims_media_free(struct wims_media *m)
{
	if (!m)
		return;
	on_events(&m->evasync); /* deliver what is queued while the handler's owner is alive */
	m->evh = NULL;
	/* sessions the control side left: deleted as usual, never-applied ones
	 * included (no worker knows of them) */
	while (m->csessions)
		wims_media_sess_delete(m->csessions);
	for (unsigned i = 0; i < m->nworkers; i++) {
		struct media__worker *w = &m->w[i];
		w->stopcmd.kind = MEDIA__CMD_STOP;
		(void)post(w, &w->stopcmd); /* never refused */
		pthread_join(w->thread, NULL);
		uv_loop_close(&w->loop);
		pthread_mutex_destroy(&w->lock);
		free(w->rxbuf);
	}
	free(m->w);
	wims_dtls_ctx_free(m->dtls);
	uv_close((uv_handle_t *)&m->evasync, free_evasync);
}

const char *wims_media_fingerprint(const struct wims_media *m)
{
	return wims_dtls_ctx_fingerprint(m->dtls);
}

const struct wims_addr *wims_media_addr(const struct wims_media *m)
{
	return &m->o.addr;
}

unsigned wims_media_naddrs(const struct wims_media *m)
{
	return m->o.naddrs;
}

const struct wims_addr *wims_media_addr_n(const struct wims_media *m, unsigned i)
{
	return i < m->o.naddrs ? &m->o.addrs[i] : NULL;
}

/* One address of the list: IPv4, IPv6 with or without brackets, no port. */
static int parse_one(struct wims_addr *a, struct wims_str x)
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

int wims_media_addrs_parse(struct wims_media_opts *o, struct wims_str list)
{
	unsigned n = 0;
	size_t i = 0;
	while (i < list.l) {
		while (i < list.l && (list.p[i] == ',' || list.p[i] == ' ' || list.p[i] == '\t'))
			i++;
		size_t b = i;
		while (i < list.l && list.p[i] != ',' && list.p[i] != ' ' && list.p[i] != '\t')
			i++;
		if (i == b)
			break;
		struct wims_addr a;
		if (n == WIMS_MEDIA_MAX_ADDRS || parse_one(&a, (struct wims_str){list.p + b, i - b}))
			return -EINVAL;
		for (unsigned j = 0; j < n; j++)
			if (wims_addr_eq(&o->addrs[j], &a))
				return -EINVAL;
		o->addrs[n++] = a;
	}
	if (!n)
		return -EINVAL;
	o->naddrs = n;
	o->addr = o->addrs[0];
	return 0;
}

unsigned wims_media_sessions(const struct wims_media *m)
{
	return atomic_load(&m->nsess);
}

void wims_media_stats(const struct wims_media *m, struct wims_media_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->sessions = atomic_load(&m->nsess);
	out->cmds_refused = m->cmds_refused;
	for (unsigned i = 0; i < m->nworkers; i++) {
		const struct media__txq *q = &m->w[i].txq;
		out->packets_sent += __atomic_load_n(&q->packets, __ATOMIC_RELAXED);
		out->send_failed += __atomic_load_n(&q->dropped, __ATOMIC_RELAXED);
	}
}

static int bind_port_on(const struct wims_addr *addr, uint16_t port, int *fdp)
{
	struct wims_addr a = *addr;
	wims_addr_set_port(&a, port);
	int fd = socket(a.u.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int tos = 0xb8; /* EF, RFC 4594 for telephony */
	if (a.u.sa.sa_family == AF_INET6) {
		int one = 1; /* ::, if configured, must not take IPv4 too */
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
	} else {
		(void)setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
	}
	/* a small receive queue: an overloaded worker drops packets instead of
	 * delaying a call's media by seconds (docs/media-performance.md) */
	int rcvbuf = 64 * 1024;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, &a.u.sa, wims_addr_len(&a)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

static int bind_port(const struct wims_media *m, uint16_t port, int *fdp)
{
	return bind_port_on(&m->o.addrs[0], port, fdp);
}

/* A port of the range free on address ai (the range's rotation). */
static int bind_any_on(struct wims_media *m, unsigned ai, int *fdp, uint16_t *port)
{
	unsigned span = (unsigned)(m->o.port_max - m->o.port_min);
	for (unsigned tries = 0; tries < span; tries++) {
		uint16_t p = m->next_port;
		m->next_port = (uint16_t)(p + 2);
		if (m->next_port + 1u > m->o.port_max || m->next_port < m->o.port_min)
			m->next_port = (uint16_t)((m->o.port_min + 1u) & ~1u);
		if (p >= m->o.port_min && bind_port_on(&m->o.addrs[ai], p, fdp) == 0) {
			*port = p;
			return 0;
		}
	}
	return -EADDRINUSE;
}

int wims_media_port_alloc_alt(struct wims_media *m, uint16_t port, int fds[WIMS_MEDIA_MAX_ADDRS - 1],
			      uint16_t ports[WIMS_MEDIA_MAX_ADDRS - 1], unsigned *n)
{
	*n = 0;
	for (unsigned ai = 1; ai < m->o.naddrs; ai++) {
		int fd = -1;
		uint16_t p = port;
		int err = bind_port_on(&m->o.addrs[ai], port, &fd);
		if (err)
			err = bind_any_on(m, ai, &fd, &p);
		if (err) {
			for (unsigned j = 0; j < *n; j++)
				close(fds[j]);
			*n = 0;
			return err;
		}
		fds[*n] = fd;
		ports[*n] = p;
		++*n;
	}
	return 0;
}

int wims_media_port_alloc(struct wims_media *m, bool pair, int *fd_rtp, int *fd_rtcp,
			  uint16_t *port)
{
	unsigned span = (unsigned)(m->o.port_max - m->o.port_min) / 2u;
	for (unsigned tries = 0; tries < span; tries++) {
		uint16_t p = m->next_port;
		m->next_port = (uint16_t)(p + 2);
		if (m->next_port + 1u > m->o.port_max || m->next_port < m->o.port_min)
			m->next_port = (uint16_t)((m->o.port_min + 1u) & ~1u);
		if (p < m->o.port_min)
			continue;
		int a = -1, b = -1;
		if (bind_port(m, p, &a) < 0)
			continue;
		if (pair && bind_port(m, (uint16_t)(p + 1), &b) < 0) {
			close(a);
			continue;
		}
		*fd_rtp = a;
		*fd_rtcp = b;
		*port = p;
		return 0;
	}
	return -EADDRINUSE;
}

void wims_media_port_free(int fd_rtp, int fd_rtcp)
{
	if (fd_rtp >= 0)
		close(fd_rtp);
	if (fd_rtcp >= 0)
		close(fd_rtcp);
}

void wims_media_tconf_close(const struct wims_media_tconf *t)
{
	wims_media_port_free(t->fd_rtp, t->fd_rtcp);
	for (unsigned i = 0; i < t->nalt && i < WIMS_MEDIA_MAX_ADDRS - 1; i++)
		if (t->fd_alt[i] >= 0)
			close(t->fd_alt[i]);
}

int wims_media_sess_new(struct wims_media *m, struct wims_media_sess **sp, void *user)
{
	if (m->o.max_sessions && atomic_load(&m->nsess) >= m->o.max_sessions)
		return -EBUSY;
	/* the least busy worker that takes commands: a stalled one gets no
	 * new session (its first APPLY would be refused) */
	struct media__worker *best = NULL;
	for (unsigned i = 0; i < m->nworkers; i++)
		if (!cmdq_full(m, &m->w[i]) &&
		    (!best || atomic_load(&m->w[i].nsess) < atomic_load(&best->nsess)))
			best = &m->w[i];
	if (!best)
		return refused(m, NULL, "a new session");
	struct wims_media_sess *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->m = m;
	s->w = best;
	s->user = user;
	s->cnext = m->csessions;
	if (m->csessions)
		m->csessions->cprev = s;
	m->csessions = s;
	s->freed_ev = (struct media__event){.s = s, .ev = MEDIA__EV_FREED};
	s->timeout_ev = (struct media__event){.s = s, .ev = WIMS_MEDIA_EV_TIMEOUT};
	for (unsigned i = 0; i < WIMS_MEDIA_MAX_TRANSPORTS; i++) {
		s->tp[i].sess = s;
		s->tp[i].index = (uint8_t)i;
		s->tp[i].c.fd_rtp = s->tp[i].c.fd_rtcp = -1;
		s->tp[i].sel_fd = s->tp[i].dtls_fd = -1;
	}
	atomic_fetch_add(&m->nsess, 1);
	atomic_fetch_add(&best->nsess, 1);
	*sp = s;
	return 0;
}

void *wims_media_sess_user(const struct wims_media_sess *s)
{
	return s->user;
}

/* The worker indexes its transports with the streams' t[] and compares the
 * text fields with strcmp: both are checked or terminated here. */
static int conf_check(const struct wims_media_sessconf *c)
{
	if (c->ntransports > WIMS_MEDIA_MAX_TRANSPORTS || c->nstreams > WIMS_MEDIA_MAX_STREAMS)
		return -EINVAL;
	for (unsigned i = 0; i < c->ntransports; i++)
		if (c->t[i].nalt > WIMS_MEDIA_MAX_ADDRS - 1)
			return -EINVAL;
	for (unsigned i = 0; i < c->nstreams; i++)
		if (c->s[i].active && (c->s[i].t[0] >= c->ntransports || c->s[i].t[1] >= c->ntransports ||
				       c->s[i].t[0] == c->s[i].t[1]))
			return -EINVAL;
	return 0;
}

static void conf_terminate(struct wims_media_sessconf *c)
{
	for (unsigned i = 0; i < c->ntransports; i++) {
		struct wims_media_tconf *t = &c->t[i];
		t->lufrag[sizeof(t->lufrag) - 1] = t->rufrag[sizeof(t->rufrag) - 1] = '\0';
		t->lpwd[sizeof(t->lpwd) - 1] = t->rpwd[sizeof(t->rpwd) - 1] = '\0';
		t->rfp[sizeof(t->rfp) - 1] = '\0';
	}
}

int wims_media_sess_apply(struct wims_media_sess *s, const struct wims_media_sessconf *c)
{
	int err = conf_check(c);
	if (err)
		return err;
	struct media__cmd *cmd = calloc(1, sizeof(*cmd) + sizeof(*c));
	if (!cmd)
		return -ENOMEM;
	cmd->kind = MEDIA__CMD_APPLY;
	cmd->s = s;
	cmd->conf = (struct wims_media_sessconf *)(cmd + 1);
	*cmd->conf = *c;
	conf_terminate(cmd->conf);
	if (post(s->w, cmd)) {
		free(cmd); /* the fds in c stay the caller's */
		return refused(s->m, s->w, "a session configuration");
	}
	return 0;
}

void wims_media_sess_counters(const struct wims_media_sess *s, unsigned stream, unsigned side,
			      struct wims_media_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (stream >= WIMS_MEDIA_MAX_STREAMS || side > 1)
		return;
	const struct wims_media_counters *n = &s->st[stream].side[side].n;
	out->packets_in = __atomic_load_n(&n->packets_in, __ATOMIC_RELAXED);
	out->bytes_in = __atomic_load_n(&n->bytes_in, __ATOMIC_RELAXED);
	out->packets_out = __atomic_load_n(&n->packets_out, __ATOMIC_RELAXED);
	out->bytes_out = __atomic_load_n(&n->bytes_out, __ATOMIC_RELAXED);
	out->errors = __atomic_load_n(&n->errors, __ATOMIC_RELAXED);
	out->rtcp_in = __atomic_load_n(&n->rtcp_in, __ATOMIC_RELAXED);
	out->rtcp_out = __atomic_load_n(&n->rtcp_out, __ATOMIC_RELAXED);
	out->send_failed = __atomic_load_n(&n->send_failed, __ATOMIC_RELAXED);
	out->transcoded = __atomic_load_n(&n->transcoded, __ATOMIC_RELAXED);
	out->last_in_ms = __atomic_load_n(&n->last_in_ms, __ATOMIC_RELAXED);
	out->lost = __atomic_load_n(&n->lost, __ATOMIC_RELAXED);
	out->jitter = __atomic_load_n(&n->jitter, __ATOMIC_RELAXED);
	out->rtt_ms = __atomic_load_n(&n->rtt_ms, __ATOMIC_RELAXED);
	/* the address text is informational: a torn read shows a mix, never overruns */
	for (size_t i = 0; i + 1 < sizeof(out->remote); i++) {
		char ch = __atomic_load_n(&n->remote[i], __ATOMIC_RELAXED);
		out->remote[i] = ch;
		if (!ch)
			break;
	}
}

int wims_media_sess_dtmf(struct wims_media_sess *s, unsigned stream, unsigned to_side, uint8_t event,
			 unsigned duration_ms, uint8_t pt, uint32_t clock)
{
	if (stream >= WIMS_MEDIA_MAX_STREAMS || to_side > 1 || event > 15 || pt > 127 || !clock)
		return -EINVAL;
	struct media__cmd *cmd = calloc(1, sizeof(*cmd));
	if (!cmd)
		return -ENOMEM;
	cmd->kind = MEDIA__CMD_DTMF;
	cmd->s = s;
	cmd->dtmf.stream = stream;
	cmd->dtmf.side = to_side;
	cmd->dtmf.event = event;
	cmd->dtmf.duration_ms = duration_ms;
	cmd->dtmf.pt = pt;
	cmd->dtmf.clock = clock;
	if (post(s->w, cmd)) {
		free(cmd);
		return refused(s->m, s->w, "a DTMF event");
	}
	return 0;
}

void wims_media_sess_delete(struct wims_media_sess *s)
{
	struct wims_media *m = s->m;
	if (s->deleted)
		return;
	s->deleted = true;
	if (s->cprev)
		s->cprev->cnext = s->cnext;
	else
		m->csessions = s->cnext;
	if (s->cnext)
		s->cnext->cprev = s->cprev;
	s->delcmd.kind = MEDIA__CMD_DELETE;
	s->delcmd.s = s;
	(void)post(s->w, &s->delcmd); /* never refused */
}

/* worker-callable: the last handle of a deleted session closed */
void media__sess_free(struct wims_media_sess *s)
{
	struct wims_media *m = s->m;
	for (unsigned i = 0; i < WIMS_MEDIA_MAX_TRANSPORTS; i++) {
		struct media__tp *t = &s->tp[i];
		wims_dtls_free(t->dtls);
		wims_srtp_free(t->srtp_tx);
		wims_srtp_free(t->srtp_rx);
	}
	for (unsigned i = 0; i < WIMS_MEDIA_MAX_STREAMS; i++) {
		wims_xcode_free(s->st[i].x[0]);
		wims_xcode_free(s->st[i].x[1]);
	}
	atomic_fetch_sub(&s->w->nsess, 1);
	atomic_fetch_sub(&m->nsess, 1);
	/* the memory goes on the control thread, after any event still queued
	 * for it there (which then sees `deleted`) */
	media__post_event(m, s, MEDIA__EV_FREED);
}
