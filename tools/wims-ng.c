/* wims-ng: send one rtpengine "ng" command and print the reply.
 *
 *   wims-ng [-s 127.0.0.1:2223] [-t ms] ping|offer|answer|delete|query|list
 *           [--call-id X] [--from-tag X] [--to-tag X] [--via-branch X]
 *           [--sdp-file F|-] [--flag F]... [--ICE force] [--DTLS passive]
 *           [--SDES off]... [--transport-protocol P] [--rtcp-mux offer]...
 *           [--replace origin]... [--direction X]... [--media-address A]
 *           [--delete-delay S] [--raw 'd...e']
 *
 * Prints a one-line JSON-like summary of the reply (the SDP shortened to its
 * size), then the SDP as is.  Exit 0 on "ok"/"pong", 1 otherwise. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mediactl/ng.h"

#define MAX_ITEMS 32

struct kv {
	const char *key;
	const char *val[MAX_ITEMS];
	unsigned n;
	bool list;
	bool integer;
};

struct cli {
	struct kv kv[24];
	unsigned nkv;
	char *sdp;
	size_t sdp_len;
	int rc;
	bool done;
};

static struct kv *kv_get(struct cli *c, const char *key, bool list)
{
	for (unsigned i = 0; i < c->nkv; i++)
		if (strcmp(c->kv[i].key, key) == 0)
			return &c->kv[i];
	if (c->nkv == sizeof(c->kv) / sizeof(c->kv[0]))
		return NULL;
	c->kv[c->nkv] = (struct kv){.key = key, .list = list};
	return &c->kv[c->nkv++];
}

static int kv_add(struct cli *c, const char *key, const char *val, bool list)
{
	struct kv *k = kv_get(c, key, list);

	if (!k || (k->n && !list) || k->n == MAX_ITEMS)
		return -1;
	k->val[k->n++] = val;
	return 0;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 65536, n;
	char *p;

	if (!f)
		return -errno;
	p = malloc(cap);
	if (!p) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(p, 1, cap, f);
	if (f != stdin)
		fclose(f);
	if (n == cap) {
		free(p);
		return -EFBIG;
	}
	*out = p;
	*len = n;
	return 0;
}

static void encode(struct cli *c, struct wims_wbuf *b)
{
	qsort(c->kv, c->nkv, sizeof(c->kv[0]), kv_cmp);
	wims_bc_dict(b);
	for (unsigned i = 0; i < c->nkv; i++) {
		struct kv *k = &c->kv[i];

		wims_bc_cstr(b, k->key);
		if (strcmp(k->key, "sdp") == 0) {
			wims_bc_str(b, wims_str_make(c->sdp, c->sdp_len));
			continue;
		}
		if (k->integer) {
			wims_bc_int(b, strtoll(k->val[0], NULL, 10));
			continue;
		}
		if (k->list)
			wims_bc_list(b);
		for (unsigned j = 0; j < k->n; j++)
			wims_bc_cstr(b, k->val[j]);
		if (k->list)
			wims_bc_end(b);
	}
	wims_bc_end(b);
}

static void json_str(struct wims_str s)
{
	putchar('"');
	for (size_t i = 0; i < s.l; i++) {
		unsigned char ch = (unsigned char)s.p[i];

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch == '\r')
			fputs("\\r", stdout);
		else if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch < 0x20 || ch >= 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json(const struct wims_bc_doc *doc, const struct wims_bc_node *n)
{
	const struct wims_bc_node *ch;
	bool dict = n->type == WIMS_BC_DICT, first = true, key = true;

	switch (n->type) {
	case WIMS_BC_STR:
		json_str(n->s);
		return;
	case WIMS_BC_INT:
		printf("%lld", n->i);
		return;
	default:
		break;
	}
	putchar(dict ? '{' : '[');
	for (ch = wims_bc_child(doc, n); ch; ch = wims_bc_next(doc, ch)) {
		if (dict && !key) {
			putchar(':');
		} else if (!first) {
			putchar(',');
		}
		first = false;
		if (dict && !key && ch->type == WIMS_BC_STR && ch->s.l > 40 && ch->s.p[0] == 'v' && ch->s.p[1] == '=')
			printf("\"<sdp %zu bytes>\"", ch->s.l);
		else
			json(doc, ch);
		key = dict ? !key : true;
	}
	putchar(dict ? '}' : ']');
}

static void on_reply(int err, const struct wims_ng_reply *rep, void *arg)
{
	static struct wims_bc_node nodes[WIMS_NG_MAX_NODES];
	struct cli *c = arg;
	struct wims_bc_doc doc;
	size_t used;

	c->done = true;
	if (err) {
		fprintf(stderr, "wims-ng: %s\n", err == -ETIMEDOUT ? "timeout" : strerror(-err));
		return;
	}
	if (wims_bc_parse(&doc, nodes, WIMS_NG_MAX_NODES, rep->raw, &used) == 0)
		json(&doc, &nodes[0]);
	putchar('\n');
	if (rep->sdp.l)
		fwrite(rep->sdp.p, 1, rep->sdp.l, stdout);
	if (wims_str_eqc(rep->result, "ok") || wims_str_eqc(rep->result, "pong"))
		c->rc = 0;
}

static void usage(void)
{
	fputs("usage: wims-ng [-s host:port] [-t ms] ping|offer|answer|delete|query|list [--call-id X]\n"
	      "  [--from-tag X] [--to-tag X] [--via-branch X] [--sdp-file F] [--flag F]... [--ICE V]\n"
	      "  [--DTLS V] [--SDES V]... [--transport-protocol P] [--rtcp-mux V]... [--replace V]...\n"
	      "  [--direction X]... [--media-address A] [--delete-delay S] [--raw 'd...e']\n",
	      stderr);
}

static const struct option lopts[] = {
	{"call-id", 1, NULL, 'c'},       {"from-tag", 1, NULL, 'f'},  {"to-tag", 1, NULL, 'T'},
	{"via-branch", 1, NULL, 'v'},    {"sdp-file", 1, NULL, 'S'},  {"flag", 1, NULL, 'F'},
	{"ICE", 1, NULL, 'I'},           {"DTLS", 1, NULL, 'D'},      {"SDES", 1, NULL, 'E'},
	{"transport-protocol", 1, NULL, 'P'}, {"rtcp-mux", 1, NULL, 'M'}, {"replace", 1, NULL, 'R'},
	{"direction", 1, NULL, 'd'},     {"media-address", 1, NULL, 'A'}, {"raw", 1, NULL, 'r'},
	{"delete-delay", 1, NULL, 'Y'},
	{"help", 0, NULL, 'h'},          {NULL, 0, NULL, 0},
};

/* option letter -> ng key, and whether the key holds a list */
static const struct {
	int opt;
	const char *key;
	bool list;
} optkeys[] = {
	{'c', "call-id", false}, {'f', "from-tag", false}, {'T', "to-tag", false}, {'v', "via-branch", false},
	{'F', "flags", true},    {'I', "ICE", false},      {'D', "DTLS", false},   {'E', "SDES", true},
	{'P', "transport-protocol", false}, {'M', "rtcp-mux", true}, {'R', "replace", true},
	{'d', "direction", true}, {'A', "media-address", false},
};

static int parse_args(struct cli *c, int argc, char **argv, const char **server, unsigned *timeout,
		      const char **raw)
{
	int o;

	while ((o = getopt_long(argc, argv, "s:t:h", lopts, NULL)) != -1) {
		unsigned i;

		if (o == 's') {
			*server = optarg;
		} else if (o == 't') {
			*timeout = (unsigned)strtoul(optarg, NULL, 10);
		} else if (o == 'Y') {
			struct kv *k = kv_get(c, "delete-delay", false);

			if (!k || k->n)
				return -1;
			k->val[k->n++] = optarg;
			k->integer = true;
		} else if (o == 'r') {
			*raw = optarg;
		} else if (o == 'S') {
			if (read_file(optarg, &c->sdp, &c->sdp_len) != 0 || kv_add(c, "sdp", "", false) != 0) {
				fprintf(stderr, "wims-ng: cannot read %s\n", optarg);
				return -1;
			}
		} else {
			for (i = 0; i < sizeof(optkeys) / sizeof(optkeys[0]) && optkeys[i].opt != o; i++)
				;
			if (i == sizeof(optkeys) / sizeof(optkeys[0]) || kv_add(c, optkeys[i].key, optarg, optkeys[i].list))
				return -1;
		}
	}
	if (!*raw && (optind != argc - 1 || kv_add(c, "command", argv[optind], false) != 0))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct cli c;
	static char body[WIMS_NG_MAX_DGRAM];
	const char *server = "127.0.0.1:2223", *raw = NULL;
	unsigned timeout = 5000;
	struct wims_ng_client *cl;
	struct wims_addr to;
	struct wims_wbuf b;
	uv_loop_t loop;

	c.rc = 1;
	if (parse_args(&c, argc, argv, &server, &timeout, &raw) != 0) {
		usage();
		return 2;
	}
	if (wims_addr_parse(&to, wims_str_c(server), 2223) != 0) {
		fprintf(stderr, "wims-ng: bad server address %s\n", server);
		return 2;
	}
	wims_wbuf_init(&b, body, sizeof(body));
	if (raw)
		wims_wbuf_puts(&b, raw);
	else
		encode(&c, &b);
	if (b.err || uv_loop_init(&loop) != 0 || wims_ng_client_new(&cl, &loop, &to) != 0 ||
	    wims_ng_client_send_raw(cl, wims_wbuf_str(&b), timeout, on_reply, &c) != 0) {
		fprintf(stderr, "wims-ng: cannot send\n");
		return 1;
	}
	while (!c.done)
		uv_run(&loop, UV_RUN_ONCE);
	wims_ng_client_free(cl);
	uv_run(&loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&loop);
	free(c.sdp);
	return c.rc;
}
