/* A media worker's send queue and receive ring (struct media__txq).
 *
 * Each relayed packet used to cost one sendmsg.  Packets now wait in a fixed
 * per-worker queue until the end of the recvmmsg batch that brought them
 * (and, for what timers and commands send, the end of the loop turn), and
 * leave with one sendmmsg per run of consecutive packets on the same socket
 * (a burst read by one recvmmsg goes out in one call).  Order is kept: the
 * queue is sent in the order it was filled.  No allocation, no lock.
 *
 *   rxbuf  [slot 0][slot 1] ... [slot rx_off-1][free ...........][63]
 *           packets queued in place                ^ next recvmmsg
 *
 * Relayed packets leave at the end of their batch, so that the first packets
 * of a busy turn do not wait for the rest.  Packets the worker made itself
 * (transcoded, DTLS, STUN) leave at the end of the loop turn, together: a
 * transcoded packet is 20 ms of audio that took tens of microseconds of
 * codec work, so holding it for the turn costs nothing that matters, while
 * one send per packet woke the receiving process once per packet (on a VM a
 * cross-CPU wake-up is an IPI the sender pays).  At 120 PCMU <-> AMR calls
 * (three runs each way): 105 against 121 us of CPU per call per 20 ms, and
 * the load tool's CPU 15% of a core against 21%.
 *
 * Relayed packets stay where recvmmsg put them (SRTP is applied in place),
 * so the ring is not handed to recvmmsg again before the queue is flushed.
 * libuv calls recvmmsg again after each batch until EAGAIN; a batch that
 * filled fewer slots than offered has drained the socket, so the next
 * offer to that handle is empty (libuv then stops reading it until the next
 * poll, which is level-triggered).  That saves one system call per wake-up.
 *
 * A packet is counted as sent (its stream side's packets_out, bytes_out or
 * rtcp_out) only when it is handed to sendmmsg, and moved to send_failed
 * when the kernel refuses it: each queued packet carries what it adds
 * (struct media__txcount), applied by the worker without locks.  It is
 * applied just before the call, while the counters are still in cache from
 * the push; a refused packet is then taken back.  Counting after the call
 * found them evicted (the loopback receive path runs inside it): in one
 * perf profile each at 800 streams (bench/media.sh), the count after the
 * call took 0.7% of wimsd's samples, the whole flush with the count before
 * it 0.3% (0.14% without counting; single profiles, +-0.2%).
 * A queued packet never outlives its session: a transport flushes the
 * queue before it closes its sockets (tp_close), so the counters it points
 * to are still there.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "media/media_int.h"

static bool in_ring(const struct media__worker *w, const uint8_t *p)
{
	return p >= w->rxbuf && p < w->rxbuf + (size_t)MEDIA__RXCHUNKS * MEDIA__RXCHUNK;
}

/* A queued packet counted as sent (sign 1), or that undone (sign -1). */
static void count_sent(const struct media__txcount *c, int sign)
{
	if (!c->n)
		return;
	if (c->rtcp)
		media__add(&c->n->rtcp_out, (uint64_t)(int64_t)sign);
	else {
		media__add(&c->n->packets_out, (uint64_t)(int64_t)sign);
		media__add(&c->n->bytes_out, (uint64_t)((int64_t)sign * c->bytes));
	}
}

/* A queued packet the kernel refused: failed, not sent. */
static void count_failed(const struct media__txcount *c)
{
	if (!c->n)
		return;
	count_sent(c, -1);
	media__add(&c->n->send_failed, 1);
}

bool media__txq_push(struct media__worker *w, int fd, const uint8_t *p, size_t len,
		     const struct wims_addr *to, const struct media__txcount *cnt)
{
	struct media__txq *q = &w->txq;
	if (fd < 0 || !len || (!in_ring(w, p) && len > MEDIA__TXCOPY)) {
		if (cnt && cnt->n)
			media__add(&cnt->n->send_failed, 1);
		return false;
	}
	if (q->n == MEDIA__TXQ)
		media__txq_flush(w);
	unsigned i = q->n++;
	if (in_ring(w, p))
		q->in_place++;
	else {
		memcpy(q->copy[i], p, len);
		p = q->copy[i];
	}
	q->fd[i] = fd;
	q->cnt[i] = cnt ? *cnt : (struct media__txcount){0};
	q->to[i] = *to;
	q->iov[i].iov_base = (void *)p;
	q->iov[i].iov_len = len;
	struct msghdr *h = &q->mm[i].msg_hdr;
	h->msg_name = &q->to[i].u.sa;
	h->msg_namelen = wims_addr_len(&q->to[i]);
	h->msg_iov = &q->iov[i];
	h->msg_iovlen = 1;
	h->msg_control = NULL;
	h->msg_controllen = 0;
	h->msg_flags = 0;
	return true;
}

/* Send mm[from..to) on fd.  A message the kernel refuses (full socket
 * buffer, unreachable) is dropped, as uv_udp_try_send did. */
static void send_run(struct media__txq *q, int fd, unsigned from, unsigned to)
{
	while (from < to) {
		int r = sendmmsg(fd, &q->mm[from], to - from, 0);
		media__add(&q->calls, 1);
		if (r <= 0) { /* 0 should not happen for a non-empty run: dropped too, no endless loop */
			if (r < 0 && errno == EINTR)
				continue;
			media__add(&q->dropped, 1);
			count_failed(&q->cnt[from]);
			from++;
			continue;
		}
		media__add(&q->packets, (unsigned)r);
		from += (unsigned)r;
	}
}

void media__txq_flush(struct media__worker *w)
{
	struct media__txq *q = &w->txq;
	for (unsigned k = 0; k < q->n; k++)
		count_sent(&q->cnt[k], 1); /* see above: what is refused is undone */
	unsigned i = 0;
	while (i < q->n) {
		unsigned j = i + 1;
		while (j < q->n && q->fd[j] == q->fd[i])
			j++;
		send_run(q, q->fd[i], i, j);
		i = j;
	}
	q->n = 0;
	q->in_place = 0;
	q->rx_off = 0;
}

void media__txq_flush_batch(struct media__worker *w)
{
	if (w->txq.in_place)
		media__txq_flush(w);
}

void media__rx_alloc(struct media__worker *w, const void *h, uv_buf_t *buf)
{
	struct media__txq *q = &w->txq;
	if (q->rx_short == h) {
		q->rx_short = NULL;
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	if (q->rx_off >= MEDIA__RXCHUNKS)
		media__txq_flush(w);
	unsigned n = MEDIA__RXCHUNKS - q->rx_off;
	if (n > MEDIA__RXBATCH)
		n = MEDIA__RXBATCH;
	q->rx_given = n;
	q->rx_got = 0;
	*buf = uv_buf_init((char *)w->rxbuf + (size_t)q->rx_off * MEDIA__RXCHUNK, n * MEDIA__RXCHUNK);
}

void media__rx_note(struct media__worker *w, const void *h, const uint8_t *p)
{
	struct media__txq *q = &w->txq;
	if (!p) {
		if (q->rx_got < q->rx_given)
			q->rx_short = h;
		return;
	}
	q->rx_got++;
	if (!in_ring(w, p))
		return;
	unsigned slot = (unsigned)((size_t)(p - w->rxbuf) / MEDIA__RXCHUNK) + 1;
	if (slot > q->rx_off)
		q->rx_off = slot;
}
