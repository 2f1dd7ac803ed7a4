/* wims-bench helpers: options, latency samples, memory of watched processes.
 * Included by tools/wims-bench.c only. */
#ifndef WIMS_TOOLS_BENCH_OPTS_H
#define WIMS_TOOLS_BENCH_OPTS_H

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wims_bench_sip.h"

enum scen { SC_REGISTER, SC_OPTIONS, SC_CALL, SC_HOLD };
#define MAX_WATCH 16
struct opts {
	char url[256];
	bool tls;
	char host[128];
	uint16_t port;
	char path[128];
	unsigned conns, window, count, user_count, user_start, keepalive_s, timeout_ms, parallel, expires,
	    talk_ms;
	double rate, duration;
	enum scen scen;
	char user_prefix[32], password[64], domain[64], target[160];
	bool json, register_first, verbose, dereg;
	int expect;
	int watch[MAX_WATCH];
	unsigned nwatch;
	char ka_mode[8];
};

struct lat {
	uint32_t *v; /* µs */
	size_t n, cap;
};

static void lat_add(struct lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 65536;
		uint32_t *v = realloc(l->v, nc * sizeof(*v));
		if (!v)
			return;
		l->v = v;
		l->cap = nc;
	}
	uint64_t us = ns / 1000;
	l->v[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Percentile p (0..100) in ms of sorted l. */
static double lat_pct(const struct lat *l, double p)
{
	if (!l->n)
		return 0;
	size_t i = (size_t)(p / 100.0 * (double)(l->n - 1) + 0.5);
	return l->v[i < l->n ? i : l->n - 1] / 1000.0;
}

/* Sum of Rss and Pss (KiB) of the watched processes. */
static void mem_sample(const struct opts *o, long *rss, long *pss)
{
	*rss = *pss = 0;
	for (unsigned i = 0; i < o->nwatch; i++) {
		char path[64], line[256];
		long v;
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", o->watch[i]);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "Rss: %ld", &v) == 1)
				*rss += v;
			else if (sscanf(line, "Pss: %ld", &v) == 1)
				*pss += v;
		}
		fclose(f);
	}
}

static const char *scen_name(enum scen s)
{
	static const char *n[] = {"register", "options", "call", "hold"};
	return n[s];
}

/* ---- options ---- */

static int parse_url(struct opts *o)
{
	const char *p = o->url, *hp, *sl;
	char hostport[160];

	if (!strncmp(p, "ws://", 5)) {
		o->tls = false;
		p += 5;
	} else if (!strncmp(p, "wss://", 6)) {
		o->tls = true;
		p += 6;
	} else {
		return -EINVAL;
	}
	hp = p;
	sl = strchr(hp, '/');
	snprintf(o->path, sizeof(o->path), "%s", sl ? sl : "/");
	snprintf(hostport, sizeof(hostport), "%.*s", (int)(sl ? (size_t)(sl - hp) : strlen(hp)), hp);
	char *colon = strrchr(hostport, ':');
	o->port = o->tls ? 443 : 80;
	if (colon) {
		*colon = 0;
		o->port = (uint16_t)strtoul(colon + 1, NULL, 10);
	}
	bsip_copy(o->host, sizeof(o->host), hostport);
	return 0;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: wims-bench [options]\n"
	    "  --url URL             ws://HOST:PORT/PATH or wss://... (default ws://127.0.0.1:8080/)\n"
	    "  --scenario S          register | options | call | hold (default register)\n"
	    "  --conns N             WebSocket connections, one user agent each (default 1)\n"
	    "  --rate R              transactions/s over all connections, 0 = as fast as the window allows\n"
	    "  --duration S          seconds of load (hold: seconds held); 0 = until --count\n"
	    "  --count C             transactions per connection (default 1 when --duration is 0)\n"
	    "  --window W            outstanding transactions per connection (default 1; register: 1)\n"
	    "  --user-prefix P       user names P<start+i%%K> (default ue)\n"
	    "  --user-start N        first user number (default 1)\n"
	    "  --user-count K        distinct users (default: --conns)\n"
	    "  --password PW         digest password (default wims-lab)\n"
	    "  --domain D            home domain / realm (default ims.lab)\n"
	    "  --target URI          OPTIONS / INVITE target (default sip:ims.lab; call: sip:echo@ims.lab)\n"
	    "  --register-first      register every connection before the load (options, call)\n"
	    "  --keepalive K         hold: seconds between keep-alives per connection (default 20)\n"
	    "  --ka-mode M           hold: crlf | ping | both (default both)\n"
	    "  --expires E           REGISTER Expires (default 600)\n"
	    "  --dereg               register: each round also de-registers (Expires: 0) after the 200,\n"
	    "                        so that every round is an initial registration (P-CSCF: with its\n"
	    "                        reg-event subscription)\n"
	    "  --talk-ms MS          call: time between ACK and BYE (default 10; not in the latency)\n"
	    "  --timeout MS          per-transaction timeout (default 10000)\n"
	    "  --parallel P          connections / registrations being set up at once (default 200)\n"
	    "  --watch-pid PID[,..]  sample Rss/Pss of these processes (hold)\n"
	    "  --expect CODE         exit 0 only if every transaction ended with CODE\n"
	    "  --json                one-line JSON summary\n"
	    "  -v                    verbose\n");
}

static void opts_defaults(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->url, sizeof(o->url), "ws://127.0.0.1:8080/");
	o->conns = 1;
	o->window = 1;
	o->user_start = 1;
	o->keepalive_s = 20;
	o->timeout_ms = 10000;
	o->parallel = 200;
	o->expires = 600;
	o->talk_ms = 10;
	snprintf(o->user_prefix, sizeof(o->user_prefix), "ue");
	snprintf(o->password, sizeof(o->password), "wims-lab");
	snprintf(o->domain, sizeof(o->domain), "ims.lab");
	snprintf(o->ka_mode, sizeof(o->ka_mode), "both");
}

static int parse_watch(struct opts *o, const char *s)
{
	char *end;
	while (*s && o->nwatch < MAX_WATCH) {
		long v = strtol(s, &end, 10);
		if (end == s || v <= 0)
			return -EINVAL;
		o->watch[o->nwatch++] = (int)v;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static int parse_scen(struct opts *o, const char *s)
{
	static const char *n[] = {"register", "options", "call", "hold"};
	for (unsigned i = 0; i < 4; i++)
		if (!strcmp(s, n[i])) {
			o->scen = (enum scen)i;
			return 0;
		}
	return -EINVAL;
}

/* The long options, each writing one field of struct opts. */
enum opt_kind { OK_STR, OK_UINT, OK_DBL, OK_FLAG, OK_SCEN, OK_WATCH, OK_INT };
struct opt_def {
	const char *name;
	enum opt_kind kind;
	size_t off, size;
};
#define OD(n, k, f)                                                                                          \
	{                                                                                                    \
		n, k, offsetof(struct opts, f), sizeof(((struct opts *)0)->f)                                \
	}
static const struct opt_def opt_defs[] = {
    OD("url", OK_STR, url),
    OD("scenario", OK_SCEN, scen),
    OD("conns", OK_UINT, conns),
    OD("rate", OK_DBL, rate),
    OD("duration", OK_DBL, duration),
    OD("count", OK_UINT, count),
    OD("window", OK_UINT, window),
    OD("user-prefix", OK_STR, user_prefix),
    OD("user-start", OK_UINT, user_start),
    OD("user-count", OK_UINT, user_count),
    OD("password", OK_STR, password),
    OD("domain", OK_STR, domain),
    OD("target", OK_STR, target),
    OD("register-first", OK_FLAG, register_first),
    OD("dereg", OK_FLAG, dereg),
    OD("keepalive", OK_UINT, keepalive_s),
    OD("ka-mode", OK_STR, ka_mode),
    OD("expires", OK_UINT, expires),
    OD("talk-ms", OK_UINT, talk_ms),
    OD("timeout", OK_UINT, timeout_ms),
    OD("parallel", OK_UINT, parallel),
    OD("watch-pid", OK_WATCH, watch),
    OD("expect", OK_INT, expect),
    OD("json", OK_FLAG, json),
};
#define N_OPTS (sizeof(opt_defs) / sizeof(opt_defs[0]))

static int opt_set(struct opts *o, const struct opt_def *d, const char *arg)
{
	char *f = (char *)o + d->off, *end = NULL;

	switch (d->kind) {
	case OK_STR:
		if (strlen(arg) >= d->size)
			return -EINVAL;
		memcpy(f, arg, strlen(arg) + 1);
		return 0;
	case OK_UINT:
		*(unsigned *)(void *)f = (unsigned)strtoul(arg, &end, 10);
		break;
	case OK_INT:
		*(int *)(void *)f = (int)strtol(arg, &end, 10);
		break;
	case OK_DBL:
		*(double *)(void *)f = strtod(arg, &end);
		break;
	case OK_FLAG:
		*(bool *)(void *)f = true;
		return 0;
	case OK_SCEN:
		return parse_scen(o, arg);
	case OK_WATCH:
		return parse_watch(o, arg);
	}
	return end && *end == 0 && end != arg ? 0 : -EINVAL;
}

/* Checks and defaults that depend on several options. */
static int opts_finish(struct opts *o)
{
	if (!o->conns || !o->window || !o->parallel || parse_url(o))
		return -EINVAL;
	if (!o->user_count)
		o->user_count = o->conns;
	if (!o->target[0])
		snprintf(o->target, sizeof(o->target), "%s",
			 o->scen == SC_CALL ? "sip:echo@ims.lab" : "sip:ims.lab");
	if (o->scen == SC_REGISTER || o->scen == SC_HOLD)
		o->window = 1; /* one Call-ID per UA: registrations must not overlap (RFC 3261 §10.2.4) */
	if (o->duration <= 0 && !o->count)
		o->count = 1;
	if (o->scen == SC_HOLD && o->duration <= 0)
		o->duration = 30;
	return 0;
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
	struct option lo[N_OPTS + 2];
	int c, idx;

	for (size_t i = 0; i < N_OPTS; i++)
		lo[i] = (struct option){opt_defs[i].name, opt_defs[i].kind == OK_FLAG ? 0 : 1, NULL, 0};
	lo[N_OPTS] = (struct option){"help", 0, NULL, 'h'};
	lo[N_OPTS + 1] = (struct option){NULL, 0, NULL, 0};
	while ((c = getopt_long(argc, argv, "vh", lo, &idx)) != -1) {
		if (c == 'v')
			o->verbose = true;
		else if (c != 0 || (size_t)idx >= N_OPTS || opt_set(o, &opt_defs[idx], optarg ? optarg : ""))
			return -EINVAL;
	}
	return optind < argc ? -EINVAL : opts_finish(o);
}

#endif
