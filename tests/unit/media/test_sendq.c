/* The worker's send queue (src/media/sendq.c): relayed packets (in the
 * receive ring) leave at the end of their recvmmsg batch; packets the worker
 * made (copies: transcoded, DTLS, STUN) wait for the end of the loop turn,
 * and order is kept whenever they leave; packets count as sent when the
 * kernel took them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "media/media_int.h"

struct fx {
	struct media__worker *w;
	int tx, rx;
	struct wims_addr to;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);

	assert_non_null(f);
	f->w = calloc(1, sizeof(*f->w));
	assert_non_null(f->w);
	f->w->rxbuf = calloc(MEDIA__RXCHUNKS, MEDIA__RXCHUNK);
	assert_non_null(f->w->rxbuf);
	f->rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	f->tx = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(f->rx >= 0 && f->tx >= 0);
	assert_int_equal(bind(f->rx, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(f->rx, (struct sockaddr *)&a, &al), 0);
	assert_int_equal(wims_addr_from_sa(&f->to, (struct sockaddr *)&a), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	close(f->rx);
	close(f->tx);
	free(f->w->rxbuf);
	free(f->w);
	free(f);
	return 0;
}

/* The next datagram's first octet, or -1 when none is waiting. */
static int next(struct fx *f)
{
	uint8_t b[64];
	ssize_t n = recv(f->rx, b, sizeof(b), 0);

	return n > 0 ? b[0] : -1;
}

static void test_made_packets_wait_for_the_turn(void **state)
{
	struct fx *f = *state;
	uint8_t made[4] = {1, 0, 0, 0};

	assert_true(media__txq_push(f->w, f->tx, made, sizeof(made), &f->to, NULL));
	made[0] = 2; /* copied when queued: later changes do not show */
	media__txq_flush_batch(f->w);
	assert_int_equal(f->w->txq.n, 1);
	assert_int_equal(next(f), -1);
	media__txq_flush(f->w); /* the end of the loop turn */
	assert_int_equal(f->w->txq.n, 0);
	assert_int_equal(next(f), 1);
	assert_int_equal(next(f), -1);
}

static void test_relayed_packet_flushes_the_batch_in_order(void **state)
{
	struct fx *f = *state;
	uint8_t made[4] = {7, 0, 0, 0};
	uint8_t *ring = f->w->rxbuf;

	assert_true(media__txq_push(f->w, f->tx, made, sizeof(made), &f->to, NULL));
	ring[0] = 8;
	media__rx_note(f->w, NULL, ring);
	assert_true(media__txq_push(f->w, f->tx, ring, 4, &f->to, NULL));
	assert_int_equal(f->w->txq.in_place, 1);
	media__txq_flush_batch(f->w);
	assert_int_equal(f->w->txq.n, 0);
	assert_int_equal(f->w->txq.in_place, 0);
	assert_int_equal(f->w->txq.rx_off, 0);
	assert_int_equal(next(f), 7);
	assert_int_equal(next(f), 8);
	assert_int_equal(next(f), -1);
	/* an empty queue: nothing to do */
	media__txq_flush_batch(f->w);
	assert_int_equal(next(f), -1);
}

static void test_full_queue_of_made_packets_leaves(void **state)
{
	struct fx *f = *state;
	uint8_t made[4] = {0};

	for (unsigned i = 0; i <= MEDIA__TXQ; i++) {
		made[0] = (uint8_t)i;
		assert_true(media__txq_push(f->w, f->tx, made, sizeof(made), &f->to, NULL));
	}
	assert_int_equal(f->w->txq.n, 1); /* the 65th pushed the first 64 out */
	for (unsigned i = 0; i < MEDIA__TXQ; i++)
		assert_int_equal(next(f), (int)i);
	assert_int_equal(next(f), -1);
	media__txq_flush(f->w);
	assert_int_equal(next(f), MEDIA__TXQ);
}

/* Counters: a queued packet is counted as sent when sendmmsg took it, not
 * when it was queued; one the kernel refuses (here: an IPv6 destination
 * from an IPv4 socket) and one too long to copy count as send_failed. */
static void test_counted_when_sent(void **state)
{
	struct fx *f = *state;
	struct wims_media_counters n = {0};
	uint8_t made[100] = {0}, big[MEDIA__TXCOPY + 1] = {0};
	struct wims_addr v6;
	const struct media__txcount rtp = {&n, 100, false}, rtcp = {&n, 28, true};

	assert_int_equal(wims_addr_parse(&v6, wims_str_c("[::1]"), 9), 0);
	made[0] = 1;
	assert_true(media__txq_push(f->w, f->tx, made, sizeof(made), &f->to, &rtp));
	made[0] = 2;
	assert_true(media__txq_push(f->w, f->tx, made, sizeof(made), &v6, &rtp));
	made[0] = 3;
	assert_true(media__txq_push(f->w, f->tx, made, 28, &f->to, &rtcp));
	made[0] = 4;
	assert_true(media__txq_push(f->w, f->tx, made, sizeof(made), &f->to, &rtp));
	assert_int_equal(n.packets_out, 0); /* queued is not sent */
	assert_int_equal(n.rtcp_out, 0);
	assert_false(media__txq_push(f->w, f->tx, big, sizeof(big), &f->to, &rtp));
	assert_int_equal(n.send_failed, 1);
	assert_int_equal(f->w->txq.n, 4);
	media__txq_flush(f->w);
	assert_int_equal(n.packets_out, 2);
	assert_int_equal(n.bytes_out, 200);
	assert_int_equal(n.rtcp_out, 1);
	assert_int_equal(n.send_failed, 2);
	assert_int_equal(f->w->txq.packets, 3);
	assert_int_equal(f->w->txq.dropped, 1);
	assert_int_equal(next(f), 1);
	assert_int_equal(next(f), 3);
	assert_int_equal(next(f), 4);
	assert_int_equal(next(f), -1);
	/* not counted: STUN and DTLS (no counters), and a slot reused without them */
	assert_true(media__txq_push(f->w, f->tx, made, sizeof(made), &f->to, NULL));
	media__txq_flush(f->w);
	assert_int_equal(n.packets_out, 2);
	assert_int_equal(next(f), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_made_packets_wait_for_the_turn, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relayed_packet_flushes_the_batch_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_queue_of_made_packets_leaves, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counted_when_sent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
