/* RFC 3263 resolution: the RFC 2782 ordering and the TTL reader alone, then
 * whole lookups against a dnsmasq started here on 127.0.0.1 (skipped when
 * /usr/sbin/dnsmasq is missing or cannot start). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sip/resolve.h"

/* ---- RFC 2782 ordering ---- */

static uint64_t seed = 88172645463325252ULL;
static uint32_t xrnd(void *arg)
{
	(void)arg;
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (uint32_t)seed;
}

static uint32_t zero_rnd(void *arg)
{
	(void)arg;
	return 0;
}

static void srv(struct wims_sip_res_srv *s, uint16_t prio, uint16_t weight, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->prio = prio;
	s->weight = weight;
	snprintf(s->target, sizeof(s->target), "%s", name);
}

static void test_srv_priority(void **state)
{
	struct wims_sip_res_srv s[5];

	srv(&s[0], 30, 5, "c");
	srv(&s[1], 10, 5, "a");
	srv(&s[2], 20, 5, "b1");
	srv(&s[3], 20, 5, "b2");
	srv(&s[4], 40, 0, "d");
	wims_sip_res__srv_order(s, 5, xrnd, NULL);
	assert_string_equal(s[0].target, "a");
	assert_true(!strcmp(s[1].target, "b1") || !strcmp(s[1].target, "b2"));
	assert_true(!strcmp(s[2].target, "b1") || !strcmp(s[2].target, "b2"));
	assert_string_not_equal(s[1].target, s[2].target);
	assert_string_equal(s[3].target, "c");
	assert_string_equal(s[4].target, "d");
	wims_sip_res__srv_order(s, 0, xrnd, NULL); /* nothing to do */
}

/* RFC 2782: a weight 90 record comes first about 90% of the time against
 * weight 10; a weight 0 one beside weight 10 rarely (only on a 0 draw). */
static void test_srv_weights(void **state)
{
	struct wims_sip_res_srv s[3];
	unsigned first_heavy = 0, first_zero = 0, n = 20000;

	for (unsigned i = 0; i < n; i++) {
		srv(&s[0], 10, 10, "light");
		srv(&s[1], 10, 90, "heavy");
		wims_sip_res__srv_order(s, 2, xrnd, NULL);
		first_heavy += !strcmp(s[0].target, "heavy");
		assert_string_not_equal(s[0].target, s[1].target);
	}
	assert_true(first_heavy > n * 86 / 100 && first_heavy < n * 94 / 100);
	for (unsigned i = 0; i < n; i++) {
		srv(&s[0], 10, 10, "ten");
		srv(&s[1], 10, 0, "zero");
		srv(&s[2], 5, 0, "top");
		wims_sip_res__srv_order(s, 3, xrnd, NULL);
		assert_string_equal(s[0].target, "top");
		first_zero += !strcmp(s[1].target, "zero");
	}
	assert_true(first_zero < n * 20 / 100); /* 1 in 11 expected */
	/* a draw of 0 picks the first weight 0 record */
	srv(&s[0], 10, 10, "ten");
	srv(&s[1], 10, 0, "zero");
	wims_sip_res__srv_order(s, 2, zero_rnd, NULL);
	assert_string_equal(s[0].target, "zero");
}

/* ---- the TTL reader ---- */

static const unsigned char answer[] = {
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
	/* question: ims.lab A IN */
	3, 'i', 'm', 's', 3, 'l', 'a', 'b', 0, 0, 1, 0, 1,
	/* answer 1: pointer to the question name, A IN ttl 300 */
	0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 127, 0, 0, 1,
	/* answer 2: ttl 60 */
	0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 2,
};

static void test_min_ttl(void **state)
{
	uint32_t ttl = 0;
	unsigned char b[sizeof(answer)];

	assert_int_equal(wims_sip_res__min_ttl(answer, sizeof(answer), &ttl), 0);
	assert_int_equal(ttl, 60);
	for (size_t l = 0; l < sizeof(answer); l++) /* every truncation is refused */
		assert_int_equal(wims_sip_res__min_ttl(answer, l, &ttl), -EINVAL);
	memcpy(b, answer, sizeof(b));
	b[7] = 0; /* no answers */
	assert_int_equal(wims_sip_res__min_ttl(b, sizeof(b), &ttl), 0);
	assert_int_equal(ttl, WIMS_SIP_RES_MAX_TTL);
	memcpy(b, answer, sizeof(b));
	b[31] = 0x80; /* top bit set: 0 (RFC 2181 §8) */
	assert_int_equal(wims_sip_res__min_ttl(b, sizeof(b), &ttl), 0);
	assert_int_equal(ttl, 0);
	memcpy(b, answer, sizeof(b));
	b[12] = 0x40; /* a reserved label type */
	assert_int_equal(wims_sip_res__min_ttl(b, sizeof(b), &ttl), -EINVAL);
}

/* ---- whole lookups against dnsmasq ---- */

struct dns {
	pid_t pid;
	uint16_t port;
	char servers[64];
};

static uint16_t free_udp_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint16_t port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int dns_start(void **state)
{
	static struct dns d;
	char port[32];

	*state = NULL;
	if (access("/usr/sbin/dnsmasq", X_OK) || !(d.port = free_udp_port()))
		return 0;
	snprintf(port, sizeof(port), "--port=%u", d.port);
	snprintf(d.servers, sizeof(d.servers), "127.0.0.1:%u", d.port);
	d.pid = fork();
	if (d.pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execl("/usr/sbin/dnsmasq", "dnsmasq", "-k", "--user=root", port, "--listen-address=127.0.0.1",
		      "--bind-interfaces", "--no-resolv", "--no-hosts", "-C", "/dev/null", "--pid-file=",
		      "--local-ttl=1", "--local=/lab/",
		      /* NAPTR: TCP preferred (order 10), then UDP */
		      "--naptr-record=ims.lab,20,10,s,SIP+D2U,,_sip._udp.ims.lab",
		      "--naptr-record=ims.lab,10,10,s,SIP+D2T,,_sip._tcp.ims.lab",
		      "--naptr-record=ims.lab,10,20,u,E2U+sip,!^.*$!sip:x@y!,.",
		      "--srv-host=_sip._tcp.ims.lab,b.ims.lab,5082,20,0",
		      "--srv-host=_sip._tcp.ims.lab,a.ims.lab,5081,10,0",
		      "--srv-host=_sip._udp.ims.lab,a.ims.lab,5071,10,0",
		      /* no NAPTR: SRV of each transport */
		      "--srv-host=_sip._udp.srv.lab,a.ims.lab,5060,10,0",
		      "--host-record=a.ims.lab,127.0.0.11", "--host-record=b.ims.lab,127.0.0.12",
		      "--host-record=plain.lab,127.0.0.13", (char *)NULL);
		_exit(127);
	}
	if (d.pid < 0)
		return 0;
	usleep(300000);
	if (waitpid(d.pid, NULL, WNOHANG) != 0) /* could not start: skip */
		return 0;
	*state = &d;
	return 0;
}

static int dns_stop(void **state)
{
	struct dns *d = *state;

	if (d && d->pid > 0) {
		kill(d->pid, SIGTERM);
		waitpid(d->pid, NULL, 0);
	}
	return 0;
}

struct got {
	bool done;
	int err;
	struct wims_sip_res_result res;
};

static void on_res(int err, const struct wims_sip_res_result *res, void *arg)
{
	struct got *g = arg;

	g->done = true;
	g->err = err;
	if (res)
		g->res = *res;
}

/* Resolve uri: 0 when answered at once, 1 after the loop ran. */
static int resolve(struct wims_sip_resolver *r, uv_loop_t *loop, const char *uri, struct got *g)
{
	int rc;

	memset(g, 0, sizeof(*g));
	rc = wims_sip_resolve(r, wims_str_c(uri), &g->res, on_res, g);
	if (rc == 0)
		return 0;
	assert_int_equal(rc, -EINPROGRESS);
	while (!g->done)
		uv_run(loop, UV_RUN_ONCE);
	return 1;
}

static void assert_target(const struct wims_sip_target *t, enum wims_sip_proto p, const char *addr)
{
	char b[WIMS_ADDR_STRLEN];

	assert_int_equal(wims_addr_str(&t->addr, b, sizeof(b)), 0);
	assert_string_equal(b, addr);
	assert_int_equal(t->proto, p);
}

static struct wims_sip_resolver *new_resolver(uv_loop_t *loop, const char *servers, unsigned timeout_ms)
{
	struct wims_sip_res_conf c = {.servers = servers, .timeout_ms = timeout_ms, .tries = 1, .cache_max = 4};
	struct wims_sip_resolver *r = NULL;

	assert_int_equal(wims_sip_resolver_alloc(&r, loop, &c), 0);
	return r;
}

static void free_resolver(struct wims_sip_resolver *r, uv_loop_t *loop)
{
	wims_sip_resolver_free(r);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
}

static void test_naptr_srv(void **state)
{
	struct dns *d = *state;
	uv_loop_t loop;
	struct got g;

	if (!d)
		skip();
	uv_loop_init(&loop);
	struct wims_sip_resolver *r = new_resolver(&loop, d->servers, 1000);
	/* NAPTR order: TCP first (SRV by priority), then UDP; the E2U record is ignored */
	assert_int_equal(resolve(r, &loop, "sip:ims.lab", &g), 1);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.res.n, 3);
	assert_target(&g.res.t[0], WIMS_SIP_TCP, "127.0.0.11:5081");
	assert_target(&g.res.t[1], WIMS_SIP_TCP, "127.0.0.12:5082");
	assert_target(&g.res.t[2], WIMS_SIP_UDP, "127.0.0.11:5071");
	assert_true(g.res.ttl <= 1);
	/* a transport parameter: SRV of that transport only */
	assert_int_equal(resolve(r, &loop, "sip:ims.lab;transport=udp", &g), 1);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.res.n, 1);
	assert_target(&g.res.t[0], WIMS_SIP_UDP, "127.0.0.11:5071");
	/* no NAPTR: SRV per transport */
	assert_int_equal(resolve(r, &loop, "sip:srv.lab", &g), 1);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.res.n, 1);
	assert_target(&g.res.t[0], WIMS_SIP_UDP, "127.0.0.11:5060");
	/* neither NAPTR nor SRV: A with 5060 over UDP */
	assert_int_equal(resolve(r, &loop, "sip:plain.lab", &g), 1);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.res.n, 1);
	assert_target(&g.res.t[0], WIMS_SIP_UDP, "127.0.0.13:5060");
	/* an explicit port: A only (the SRV records of ims.lab are not used) */
	uint64_t q = wims_sip_resolver_queries(r);
	assert_int_equal(resolve(r, &loop, "sip:a.ims.lab:7000;transport=tcp", &g), 1);
	assert_int_equal(g.err, 0);
	assert_target(&g.res.t[0], WIMS_SIP_TCP, "127.0.0.11:7000");
	assert_int_equal(wims_sip_resolver_queries(r) - q, 2); /* A and AAAA */
	/* nothing at all */
	assert_int_equal(resolve(r, &loop, "sip:nothing.lab", &g), 1);
	assert_int_equal(g.err, -ENOENT);
	free_resolver(r, &loop);
}

static void test_numeric_and_bad(void **state)
{
	uv_loop_t loop;
	struct got g;

	uv_loop_init(&loop);
	struct wims_sip_resolver *r = new_resolver(&loop, "127.0.0.1:9", 200);
	assert_int_equal(resolve(r, &loop, "sip:127.0.0.5", &g), 0);
	assert_target(&g.res.t[0], WIMS_SIP_UDP, "127.0.0.5:5060");
	assert_int_equal(resolve(r, &loop, "sips:[::1]", &g), 0);
	assert_target(&g.res.t[0], WIMS_SIP_TLS, "[::1]:5061");
	assert_int_equal(resolve(r, &loop, "sip:127.0.0.5:6000;transport=tcp", &g), 0);
	assert_target(&g.res.t[0], WIMS_SIP_TCP, "127.0.0.5:6000");
	assert_int_equal(wims_sip_resolver_queries(r), 0);
	assert_int_equal(wims_sip_resolve(r, wims_str_c("tel:+123"), &g.res, on_res, &g), -EINVAL);
	assert_int_equal(wims_sip_resolve(r, wims_str_c("sip:x.lab;transport=sctp"), &g.res, on_res, &g), -EINVAL);
	free_resolver(r, &loop);
	struct wims_sip_res_conf c = {.servers = "not an address"};
	assert_int_equal(wims_sip_resolver_alloc(&r, &loop, &c), -EINVAL);
}

/* The answer is kept for its TTL (1 s here), then asked for again. */
static void test_cache_expiry(void **state)
{
	struct dns *d = *state;
	uv_loop_t loop;
	struct got g;

	if (!d)
		skip();
	uv_loop_init(&loop);
	struct wims_sip_resolver *r = new_resolver(&loop, d->servers, 1000);
	assert_int_equal(resolve(r, &loop, "sip:ims.lab", &g), 1);
	assert_int_equal(g.err, 0);
	uint64_t q = wims_sip_resolver_queries(r);
	assert_int_equal(resolve(r, &loop, "SIP:IMS.LAB", &g), 0); /* cached (case does not matter) */
	assert_int_equal(resolve(r, &loop, "sip:ims.lab", &g), 0);
	assert_int_equal(wims_sip_resolver_queries(r), q);
	assert_int_equal(g.res.n, 3);
	assert_target(&g.res.t[0], WIMS_SIP_TCP, "127.0.0.11:5081");
	q = wims_sip_resolver_queries(r);
	usleep(1100000);
	uv_update_time(&loop);
	assert_int_equal(resolve(r, &loop, "sip:ims.lab", &g), 1); /* expired */
	assert_int_equal(g.err, 0);
	assert_true(wims_sip_resolver_queries(r) > q);
	wims_sip_resolver_flush(r);
	assert_int_equal(resolve(r, &loop, "sip:ims.lab", &g), 1);
	free_resolver(r, &loop);
}

/* No DNS server answers: an error the caller turns into its fallback. */
static void test_dns_down(void **state)
{
	uv_loop_t loop;
	struct got g;
	uint16_t port = free_udp_port();
	char servers[64];

	snprintf(servers, sizeof(servers), "127.0.0.1:%u", port);
	uv_loop_init(&loop);
	struct wims_sip_resolver *r = new_resolver(&loop, servers, 200);
	assert_int_equal(resolve(r, &loop, "sip:ims.lab", &g), 1);
	assert_true(g.err == -ETIMEDOUT || g.err == -ECONNREFUSED);
	free_resolver(r, &loop);
}

/* Freeing the resolver cancels what is in flight. */
static void test_cancel(void **state)
{
	uv_loop_t loop;
	struct got g = {0};
	struct wims_sip_res_result res;

	uv_loop_init(&loop);
	struct wims_sip_resolver *r = new_resolver(&loop, "127.0.0.1:9", 5000);
	assert_int_equal(wims_sip_resolve(r, wims_str_c("sip:ims.lab"), &res, on_res, &g), -EINPROGRESS);
	wims_sip_resolver_free(r);
	assert_true(g.done);
	assert_int_equal(g.err, -ECANCELED);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srv_priority),
		cmocka_unit_test(test_srv_weights),
		cmocka_unit_test(test_min_ttl),
		cmocka_unit_test(test_numeric_and_bad),
		cmocka_unit_test(test_naptr_srv),
		cmocka_unit_test(test_cache_expiry),
		cmocka_unit_test(test_dns_down),
		cmocka_unit_test(test_cancel),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, dns_start, dns_stop);
}
