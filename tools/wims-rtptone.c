/* wims-rtptone: an AMR / AMR-WB RTP tone source and sink, the half of an IMS
 * phone that ffmpeg cannot play (Debian's ffmpeg decodes AMR but does not
 * encode it, and its RTP depacketizer takes octet-aligned payloads only).
 *
 *   wims-rtptone --to HOST:PORT [--from [HOST:]PORT] [--codec amr-wb|amr]
 *                [--octet-align] [--pt N] [--mode M] [--seconds S]
 *                [--freq HZ] [--dbfs L] [--loss PCT] [--reorder PCT] [--seed N]
 *   wims-rtptone --receive --listen [HOST:]PORT --out FILE.wav [--codec ...]
 *                [--octet-align] [--pt N] [--seconds S] [--timeout S]
 *
 * Sending: a sine of HZ at L dBFS (0 dBFS = a full-scale sine: amplitude
 * 32767 * 10^(L/20)) encoded with src/codec/codec.h at the codec's native
 * rate, one frame per packet (ptime 20, CMR 15), packed by src/codec/amr.h in
 * the bandwidth-efficient or octet-aligned format, paced by the monotonic
 * clock.  --loss drops PCT % of the packets and --reorder sends PCT % of them
 * after their successor, both drawn from a fixed-seed generator so a run is
 * reproducible.  --from binds the port the phone announced in its SDP, so
 * that a gateway latching on the source address sees the phone.
 *
 * Receiving: RTP of payload type PT (others, e.g. telephone-event, are
 * skipped) for S seconds after the first packet, put back in sequence order,
 * unpacked and decoded with wims_dec_*; gaps are concealed (wims_dec_plc).
 * The PCM goes to a 16-bit mono WAV at the codec's rate; a summary line
 * (packets, lost, reordered, frame types) goes to stdout.
 * Exit status 0, 1 on a runtime failure (nothing received, socket error),
 * 2 on a usage error. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/addr.h"
#include "base/str.h"
#include "codec/amr.h"
#include "codec/codec.h"

#define RTP_HDR 12
#define MAX_SECONDS 600
#define MAX_PKTS (MAX_SECONDS * 50 + 100)
#define PKT_CAP 400

struct opts {
	bool receive, octet_align;
	const char *to, *from, *out;
	enum wims_codec_id codec;
	int pt, mode;
	double seconds, timeout, freq, dbfs, loss, reorder;
	uint64_t seed;
};

/* ------------------------------------------------------------- helpers */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: reproducible loss and reordering for a given seed */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static bool rng_pct(uint64_t *s, double pct)
{
	return pct > 0 && (double)(rng_next(s) >> 11) / 9007199254740992.0 * 100.0 < pct;
}

static int parse_addr(struct wims_addr *a, const char *s)
{
	char buf[80];

	/* a bare port means 127.0.0.1:PORT */
	if (strspn(s, "0123456789") == strlen(s) && *s) {
		int n = snprintf(buf, sizeof(buf), "127.0.0.1:%s", s);

		if (n < 0 || (size_t)n >= sizeof(buf))
			return -EINVAL;
		s = buf;
	}
	return wims_addr_parse(a, wims_str_c(s), 0);
}

static int udp_socket(const struct wims_addr *bind_to, int family)
{
	int fd = socket(bind_to ? bind_to->u.sa.sa_family : family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind_to && bind(fd, &bind_to->u.sa, wims_addr_len(bind_to)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void sleep_until(struct timespec *t, long add_ns)
{
	t->tv_nsec += add_ns;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
		;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void amr_params(const struct opts *o, struct wims_amr_params *ap)
{
	memset(ap, 0, sizeof(*ap));
	ap->kind = o->codec == WIMS_CODEC_AMRWB ? WIMS_AMR_WB : WIMS_AMR_NB;
	ap->octet_align = o->octet_align;
	ap->channels = 1;
}

/* ------------------------------------------------------------- sending */

struct sender {
	int fd;
	struct wims_addr to;
	uint8_t held[PKT_CAP]; /* a packet kept back to go after its successor */
	size_t held_len;
	unsigned sent, dropped, reordered;
};

static int send_pkt(struct sender *s, const uint8_t *p, size_t len)
{
	if (sendto(s->fd, p, len, 0, &s->to.u.sa, wims_addr_len(&s->to)) < 0) {
		fprintf(stderr, "wims-rtptone: sendto: %s\n", strerror(errno));
		return -errno;
	}
	s->sent++;
	return 0;
}

/* One 20 ms packet: encode, pack, then drop / hold back / send. */
static int send_frame(const struct opts *o, struct sender *s, struct wims_enc *e,
		      const int16_t *pcm, size_t n, uint16_t seq, uint32_t ts, uint32_t ssrc, uint64_t *rng)
{
	uint8_t frame[WIMS_AMR_MAX_STORAGE + 8], pkt[PKT_CAP];
	struct wims_amr_params ap;
	int fl = wims_enc_frame(e, pcm, n, frame, sizeof(frame));

	if (fl < 0) {
		fprintf(stderr, "wims-rtptone: encoder: %s\n", strerror(-fl));
		return fl;
	}
	if (fl == 0)
		return 0;
	amr_params(o, &ap);
	const uint8_t *fr[1] = { frame };
	size_t flen[1] = { (size_t)fl };
	int pl = wims_amr_pack(&ap, WIMS_AMR_CMR_NONE, fr, flen, 1, pkt + RTP_HDR, sizeof(pkt) - RTP_HDR);

	if (pl < 0) {
		fprintf(stderr, "wims-rtptone: pack: %s\n", strerror(-pl));
		return pl;
	}
	pkt[0] = 0x80;
	pkt[1] = (uint8_t)((seq == 0 && ts == 0 ? 0x80 : 0) | (o->pt & 0x7f));
	put16(pkt + 2, seq);
	put32(pkt + 4, ts);
	put32(pkt + 8, ssrc);
	size_t len = RTP_HDR + (size_t)pl;

	if (rng_pct(rng, o->loss)) {
		s->dropped++;
		return 0;
	}
	if (s->held_len == 0 && rng_pct(rng, o->reorder)) {
		memcpy(s->held, pkt, len);
		s->held_len = len;
		s->reordered++;
		return 0;
	}
	int rc = send_pkt(s, pkt, len);

	if (rc == 0 && s->held_len) {
		rc = send_pkt(s, s->held, s->held_len);
		s->held_len = 0;
	}
	return rc;
}

static int run_send(const struct opts *o, const struct wims_codec_desc *d)
{
	struct wims_codec_params cp;
	struct wims_addr from;
	struct sender s = { .fd = -1 };
	struct wims_enc *e = NULL;
	struct timespec next;
	uint64_t rng = o->seed ? o->seed : 1;
	int16_t pcm[WIMS_CODEC_MAX_PCM];
	int rc;

	if (parse_addr(&s.to, o->to) < 0 || (o->from && parse_addr(&from, o->from) < 0)) {
		fprintf(stderr, "wims-rtptone: bad address\n");
		return 2;
	}
	s.fd = udp_socket(o->from ? &from : NULL, s.to.u.sa.sa_family);
	if (s.fd < 0) {
		fprintf(stderr, "wims-rtptone: socket/bind %s: %s\n", o->from ? o->from : "", strerror(-s.fd));
		return 1;
	}
	wims_codec_params_init(&cp);
	cp.mode = (int8_t)o->mode;
	rc = wims_enc_new(&e, d, &cp);
	if (rc < 0) {
		fprintf(stderr, "wims-rtptone: encoder: %s\n", strerror(-rc));
		close(s.fd);
		return 1;
	}
	uint32_t rate = wims_enc_rate(e), n = rate / 50, ssrc = (uint32_t)rng_next(&rng);
	unsigned frames = (unsigned)(o->seconds * 50);
	double amp = 32767.0 * pow(10.0, o->dbfs / 20.0), w = 2 * M_PI * o->freq / rate;
	uint64_t t = 0;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned f = 0; f < frames && rc >= 0; f++, t += n) {
		for (uint32_t i = 0; i < n; i++) {
			double v = amp * sin(w * (double)(t + i));

			pcm[i] = (int16_t)lrint(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
		}
		rc = send_frame(o, &s, e, pcm, n, (uint16_t)f, (uint32_t)(f * (d->rtp_clock / 50)), ssrc, &rng);
		sleep_until(&next, 20000000L);
	}
	if (rc >= 0 && s.held_len)
		rc = send_pkt(&s, s.held, s.held_len);
	printf("wims-rtptone: sent %u packets of %s %s pt %d mode %d (%u dropped, %u reordered), "
	       "%.0f Hz at %.1f dBFS, %u frames\n",
	       s.sent, d->name, o->octet_align ? "octet-aligned" : "bandwidth-efficient", o->pt,
	       wims_enc_mode(e), s.dropped, s.reordered, o->freq, o->dbfs, frames);
	wims_enc_free(e);
	close(s.fd);
	return rc < 0 ? 1 : 0;
}

/* ----------------------------------------------------------- receiving */

struct rx {
	uint8_t (*pkt)[PKT_CAP];
	uint16_t *len; /* 0 = slot empty */
	size_t slots;
	bool have_first;
	uint16_t first_seq;
	unsigned received, other_pt, bad, late, dup, reordered, ft_count[16];
	int32_t max_idx;
};

/* Bounded RTP header parse: payload offset and length, or -EBADMSG. */
static int rtp_payload(const uint8_t *p, size_t len, size_t *off, size_t *plen)
{
	if (len < RTP_HDR || (p[0] >> 6) != 2)
		return -EBADMSG;
	size_t o = RTP_HDR + 4u * (p[0] & 0x0f), end = len;

	if (o > len)
		return -EBADMSG;
	if (p[0] & 0x10) {
		if (o + 4 > len)
			return -EBADMSG;
		o += 4 + 4u * (((size_t)p[o + 2] << 8) | p[o + 3]);
		if (o > len)
			return -EBADMSG;
	}
	if (p[0] & 0x20) {
		if (len == o || p[len - 1] == 0 || p[len - 1] > len - o)
			return -EBADMSG;
		end = len - p[len - 1];
	}
	*off = o;
	*plen = end - o;
	return 0;
}

static void rx_store(const struct opts *o, struct rx *r, const uint8_t *p, size_t len)
{
	size_t off, plen;

	if (rtp_payload(p, len, &off, &plen) < 0 || len > PKT_CAP) {
		r->bad++;
		return;
	}
	if ((p[1] & 0x7f) != o->pt) {
		r->other_pt++;
		return;
	}
	uint16_t seq = (uint16_t)((p[2] << 8) | p[3]);

	if (!r->have_first) {
		r->have_first = true;
		r->first_seq = seq;
	}
	int32_t idx = (int16_t)(uint16_t)(seq - r->first_seq);

	if (idx < 0 || (size_t)idx >= r->slots) {
		r->late++;
		return;
	}
	if (r->len[idx]) {
		r->dup++;
		return;
	}
	if (idx < r->max_idx)
		r->reordered++;
	else
		r->max_idx = idx;
	memcpy(r->pkt[idx], p, len);
	r->len[idx] = (uint16_t)len;
	r->received++;
}

static int rx_loop(const struct opts *o, struct rx *r, int fd)
{
	uint8_t buf[2048];
	double start = mono_s(), first = 0;

	for (;;) {
		double now = mono_s();

		if (r->have_first && now - first >= o->seconds)
			return 0;
		if (!r->have_first && now - start >= o->timeout)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n <= 0)
			continue;
		bool had = r->have_first;

		rx_store(o, r, buf, (size_t)n);
		if (!had && r->have_first)
			first = mono_s();
	}
}

/* Decode one stored packet (or conceal a missing one) into pcm; returns samples. */
static int rx_decode_one(const struct opts *o, struct rx *r, struct wims_dec *d, int32_t i,
			 int16_t *pcm, size_t cap)
{
	uint8_t frames[WIMS_AMR_MAX_FRAMES * WIMS_AMR_MAX_STORAGE], cmr;
	size_t off[WIMS_AMR_MAX_FRAMES], flen[WIMS_AMR_MAX_FRAMES], poff, plen, got = 0;
	struct wims_amr_params ap;
	uint32_t n20 = wims_dec_rate(d) / 50;

	if (!r->len[i] || rtp_payload(r->pkt[i], r->len[i], &poff, &plen) < 0)
		return wims_dec_plc(d, NULL, 0, pcm, n20);
	amr_params(o, &ap);
	int nf = wims_amr_unpack(&ap, r->pkt[i] + poff, plen, &cmr, frames, sizeof(frames), off, flen);

	if (nf < 0) {
		r->bad++;
		return wims_dec_plc(d, NULL, 0, pcm, n20);
	}
	for (int f = 0; f < nf && got + n20 <= cap; f++) {
		r->ft_count[(frames[off[f]] >> 3) & 15]++;
		int k = wims_dec_frame(d, frames + off[f], flen[f], pcm + got, cap - got);

		if (k < 0)
			k = wims_dec_plc(d, NULL, 0, pcm + got, n20);
		if (k < 0)
			return k;
		got += (size_t)k;
	}
	return (int)got;
}

static int write_wav(const char *path, const int16_t *pcm, size_t n, uint32_t rate)
{
	uint8_t h[44] = "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\0\0\0\0\0\0\0\0\x02\0\x10\0data";
	uint32_t bytes = (uint32_t)(n * 2);
	FILE *f = fopen(path, "wb");

	if (!f)
		return -errno;
	for (int i = 0; i < 4; i++) {
		h[4 + i] = (uint8_t)((36 + bytes) >> (8 * i));
		h[24 + i] = (uint8_t)(rate >> (8 * i));
		h[28 + i] = (uint8_t)((rate * 2) >> (8 * i));
		h[40 + i] = (uint8_t)(bytes >> (8 * i));
	}
	bool ok = fwrite(h, 1, sizeof(h), f) == sizeof(h);

	for (size_t i = 0; ok && i < n; i++) {
		uint8_t s[2] = { (uint8_t)pcm[i], (uint8_t)((uint16_t)pcm[i] >> 8) };

		ok = fwrite(s, 1, 2, f) == 2;
	}
	if (fclose(f) != 0 || !ok)
		return -EIO;
	return 0;
}

static int rx_decode(const struct opts *o, struct rx *r, const struct wims_codec_desc *desc)
{
	struct wims_dec *d = NULL;
	int rc = wims_dec_new(&d, desc, NULL);

	if (rc < 0)
		return rc;
	size_t cap = (size_t)(r->max_idx + 1) * WIMS_AMR_MAX_FRAMES * (wims_dec_rate(d) / 50), n = 0;
	int16_t *pcm = calloc(cap, sizeof(*pcm));

	if (!pcm) {
		wims_dec_free(d);
		return -ENOMEM;
	}
	for (int32_t i = 0; i <= r->max_idx && rc >= 0; i++) {
		rc = rx_decode_one(o, r, d, i, pcm + n, cap - n);
		if (rc > 0)
			n += (size_t)rc;
	}
	if (rc >= 0)
		rc = write_wav(o->out, pcm, n, wims_dec_rate(d));
	printf("wims-rtptone: received %u packets of %s pt %d over %d sequence numbers (%d lost, %u reordered, "
	       "%u late, %u duplicate, %u other pt, %u bad); %zu samples at %u Hz to %s; frame types:",
	       r->received, desc->name, o->pt, r->max_idx + 1, r->max_idx + 1 - (int)r->received, r->reordered,
	       r->late, r->dup, r->other_pt, r->bad, n, wims_dec_rate(d), o->out);
	for (int ft = 0; ft < 16; ft++)
		if (r->ft_count[ft])
			printf(" %d:%u", ft, r->ft_count[ft]);
	printf("\n");
	free(pcm);
	wims_dec_free(d);
	return rc;
}

static int run_receive(const struct opts *o, const struct wims_codec_desc *d)
{
	struct wims_addr at;
	struct rx r = { .slots = (size_t)(o->seconds * 50) + 100 };
	int fd, rc;

	if (!o->from || !o->out || parse_addr(&at, o->from) < 0) {
		fprintf(stderr, "wims-rtptone: --receive needs --listen [HOST:]PORT and --out FILE\n");
		return 2;
	}
	fd = udp_socket(&at, 0);
	if (fd < 0) {
		fprintf(stderr, "wims-rtptone: bind %s: %s\n", o->from, strerror(-fd));
		return 1;
	}
	r.pkt = calloc(r.slots, sizeof(*r.pkt));
	r.len = calloc(r.slots, sizeof(*r.len));
	rc = r.pkt && r.len ? rx_loop(o, &r, fd) : -ENOMEM;
	close(fd);
	if (rc == -ETIMEDOUT)
		fprintf(stderr, "wims-rtptone: no RTP of pt %d on %s within %.1f s (%u other pt, %u bad)\n",
			o->pt, o->from, o->timeout, r.other_pt, r.bad);
	else if (rc == 0 && (rc = rx_decode(o, &r, d)) < 0)
		fprintf(stderr, "wims-rtptone: decoding/writing %s: %s\n", o->out, strerror(-rc));
	free(r.pkt);
	free(r.len);
	return rc < 0 ? 1 : 0;
}

/* --------------------------------------------------------------- main */

static void usage(void)
{
	fprintf(stderr,
		"usage: wims-rtptone --to HOST:PORT [--from [HOST:]PORT] [--codec amr-wb|amr] [--octet-align]\n"
		"                    [--pt N] [--mode M] [--seconds S] [--freq HZ] [--dbfs L]\n"
		"                    [--loss PCT] [--reorder PCT] [--seed N]\n"
		"       wims-rtptone --receive --listen [HOST:]PORT --out FILE.wav [--codec amr-wb|amr]\n"
		"                    [--octet-align] [--pt N] [--seconds S] [--timeout S]\n");
}

static int parse_num(const char *s, double lo, double hi, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return errno || end == s || *end || *v < lo || *v > hi ? -EINVAL : 0;
}

static int parse_opt(struct opts *o, int c, const char *arg)
{
	double v = 0;

	switch (c) {
	case 'r': o->receive = true; return 0;
	case 'o': o->octet_align = true; return 0;
	case 't': o->to = arg; return 0;
	case 'f': o->from = arg; return 0;
	case 'w': o->out = arg; return 0;
	case 'c':
		if (!strcasecmp(arg, "amr-wb") || !strcasecmp(arg, "amrwb"))
			o->codec = WIMS_CODEC_AMRWB;
		else if (!strcasecmp(arg, "amr"))
			o->codec = WIMS_CODEC_AMR;
		else
			return -EINVAL;
		return 0;
	case 'p': if (parse_num(arg, 0, 127, &v)) return -EINVAL; o->pt = (int)v; return 0;
	case 'm': if (parse_num(arg, 0, 8, &v)) return -EINVAL; o->mode = (int)v; return 0;
	case 's': return parse_num(arg, 0.02, MAX_SECONDS, &o->seconds);
	case 'T': return parse_num(arg, 0.1, 3600, &o->timeout);
	case 'F': return parse_num(arg, 10, 20000, &o->freq);
	case 'L': return parse_num(arg, -96, 0, &o->dbfs);
	case 'l': return parse_num(arg, 0, 100, &o->loss);
	case 'R': return parse_num(arg, 0, 100, &o->reorder);
	case 'S': if (parse_num(arg, 0, 1e15, &v)) return -EINVAL; o->seed = (uint64_t)v; return 0;
	default: return -EINVAL;
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "receive", no_argument, NULL, 'r' },	  { "octet-align", no_argument, NULL, 'o' },
		{ "to", required_argument, NULL, 't' },	  { "from", required_argument, NULL, 'f' },
		{ "listen", required_argument, NULL, 'f' }, { "out", required_argument, NULL, 'w' },
		{ "codec", required_argument, NULL, 'c' }, { "pt", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },  { "seconds", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 'T' }, { "freq", required_argument, NULL, 'F' },
		{ "dbfs", required_argument, NULL, 'L' },  { "loss", required_argument, NULL, 'l' },
		{ "reorder", required_argument, NULL, 'R' }, { "seed", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },	  { NULL, 0, NULL, 0 },
	};
	struct opts o = { .codec = WIMS_CODEC_AMRWB, .pt = -1, .mode = -1, .seconds = 4, .timeout = 10,
			  .freq = 1000, .dbfs = -20, .seed = 1 };
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'h' || parse_opt(&o, c, optarg) < 0) {
			if (c != 'h')
				fprintf(stderr, "wims-rtptone: bad option %s%s%s\n", argv[optind - 1],
					optarg ? " " : "", optarg ? optarg : "");
			usage();
			return 2;
		}
	}
	if (optind != argc || (!o.receive && !o.to)) {
		usage();
		return 2;
	}
	if (o.pt < 0)
		o.pt = o.codec == WIMS_CODEC_AMRWB ? 104 : 102;
	const struct wims_codec_desc *d = wims_codec_get(o.codec);

	return o.receive ? run_receive(&o, d) : run_send(&o, d);
}
