/* DTLS-SRTP associations on OpenSSL 3.0 with a datagram BIO of our own.
 *
 * Why not BIO_s_mem: a memory BIO is a byte stream, so the datagrams of a
 * flight run together and cannot be told apart; BIO_s_dgram_pair only
 * exists from 3.2.  Our BIO keeps one queue entry per BIO_write.  During the
 * handshake OpenSSL 3.0 puts a buffering BIO in front of it and flushes it
 * whenever the next record would not fit in the MTU, so each BIO_write we
 * see is one datagram: whole records, at most WIMS_DTLS_MTU bytes (the test
 * checks both).  The input datagram is handed to OpenSSL by pointer for the
 * duration of one wims_dtls_input call.
 *
 * The peer certificate is not checked against any CA: RFC 8827 §6.5 binds
 * it to the SDP a=fingerprint, compared once the handshake has completed
 * (or, when the answer comes late, when the fingerprint arrives). */
#include "media/dtls.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/log.h"
#include "media/srtp.h"

#define FP_MAX_BYTES EVP_MAX_MD_SIZE
#define FP_STR_MAX (16 + 3 * EVP_MAX_MD_SIZE)
#define OUTQ_MAX (64 * 1024) /* bytes queued before records are dropped */

static const char srtp_profiles_default[] = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
static const char ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
			      "ECDHE-ECDSA-CHACHA20-POLY1305";

struct wims_dtls_ctx {
	SSL_CTX *ssl;
	BIO_METHOD *bm;
	char fp[FP_STR_MAX];
};

struct fingerprint {
	const EVP_MD *md; /* NULL: not known yet */
	const char *name; /* canonical lower-case name for logs */
	unsigned len;
	uint8_t v[FP_MAX_BYTES];
};

enum dtls_state { ST_NEW, ST_HANDSHAKE, ST_VERIFY_PENDING, ST_CONNECTED, ST_FAILED };

struct wims_dtls {
	SSL *ssl;
	bool client;
	enum dtls_state st;
	int err; /* the error returned again once failed */
	struct fingerprint fp;
	const uint8_t *in; /* datagram being fed (borrowed for one call) */
	size_t in_len;
	uint8_t *q; /* output queue: [u16 len][bytes]... */
	size_t q_off, q_len, q_cap;
};

/* --- the datagram BIO ---------------------------------------------------- */

static int bio_write(BIO *b, const char *data, int len)
{
	struct wims_dtls *d = BIO_get_data(b);
	size_t need;

	BIO_clear_retry_flags(b);
	if (len <= 0 || len > 0xffff)
		return len < 0 ? -1 : 0;
	need = d->q_len + 2 + (size_t)len;
	if (d->q_off == d->q_len)
		d->q_off = d->q_len = 0, need = 2 + (size_t)len;
	if (need > OUTQ_MAX)
		return len; /* dropped like a full socket buffer: the timer resends */
	if (need > d->q_cap) {
		size_t cap = d->q_cap ? d->q_cap : 2048;
		uint8_t *nq;

		while (cap < need)
			cap *= 2;
		nq = realloc(d->q, cap);
		if (!nq)
			return len;
		d->q = nq;
		d->q_cap = cap;
	}
	d->q[d->q_len] = (uint8_t)(len >> 8);
	d->q[d->q_len + 1] = (uint8_t)len;
	memcpy(d->q + d->q_len + 2, data, (size_t)len);
	d->q_len += 2 + (size_t)len;
	return len;
}

static int bio_read(BIO *b, char *out, int cap)
{
	struct wims_dtls *d = BIO_get_data(b);
	size_t n;

	BIO_clear_retry_flags(b);
	if (!d->in_len) {
		BIO_set_retry_read(b);
		return -1;
	}
	/* Datagram semantics: what does not fit is lost. */
	n = d->in_len < (size_t)cap ? d->in_len : (size_t)cap;
	memcpy(out, d->in, n);
	d->in = NULL;
	d->in_len = 0;
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct wims_dtls *d = BIO_get_data(b);

	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_PENDING:
		return d ? (long)d->in_len : 0;
	case BIO_CTRL_WPENDING: /* every record is a datagram of its own */
		return 0;
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return WIMS_DTLS_MTU;
	case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
		return 0; /* WIMS_DTLS_MTU already counts only the UDP payload */
	default:
		return 0;
	}
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *bio_method_new(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "wims dtls dgram");

	if (!m)
		return NULL;
	if (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
	    !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create)) {
		BIO_meth_free(m);
		return NULL;
	}
	return m;
}

/* --- fingerprints -------------------------------------------------------- */

static void fp_format(char *out, size_t cap, const char *name, const uint8_t *v, unsigned len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = (size_t)snprintf(out, cap, "%s ", name);

	for (unsigned i = 0; i < len && o + 3 < cap; i++) {
		if (i)
			out[o++] = ':';
		out[o++] = hex[v[i] >> 4];
		out[o++] = hex[v[i] & 15];
	}
	out[o < cap ? o : cap - 1] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static const struct {
	const char *sdp;
	const char *evp;
} fp_hashes[] = {
    {"sha-1", "SHA1"},	   {"sha-224", "SHA224"}, {"sha-256", "SHA256"},
    {"sha-384", "SHA384"}, {"sha-512", "SHA512"},
};

/* RFC 8122 §5: fingerprint-attribute = hash-func SP fingerprint (hex pairs joined by ':'). */
static int fp_parse(struct fingerprint *fp, struct wims_str s)
{
	struct wims_str t = wims_str_trim(s), name, hexs;
	size_t sp, i, n = 0;

	memset(fp, 0, sizeof(*fp));
	for (sp = 0; sp < t.l && t.p[sp] != ' ' && t.p[sp] != '\t'; sp++)
		;
	name = wims_str_make(t.p, sp);
	hexs = wims_str_trim(wims_str_make(t.p + sp, t.l - sp));
	for (i = 0; i < sizeof(fp_hashes) / sizeof(fp_hashes[0]); i++)
		if (wims_str_eqic(name, fp_hashes[i].sdp))
			break;
	if (i == sizeof(fp_hashes) / sizeof(fp_hashes[0]))
		return -EINVAL;
	fp->md = EVP_get_digestbyname(fp_hashes[i].evp);
	fp->name = fp_hashes[i].sdp;
	if (!fp->md || hexs.l % 3 != 2)
		goto bad;
	for (size_t k = 0; k < hexs.l; k += 3) {
		int hi, lo;

		if (k + 2 > hexs.l || n == FP_MAX_BYTES || (hi = hexval(hexs.p[k])) < 0 ||
		    (lo = hexval(hexs.p[k + 1])) < 0 || (k + 2 < hexs.l && hexs.p[k + 2] != ':'))
			goto bad;
		fp->v[n++] = (uint8_t)(hi << 4 | lo);
	}
	if (n != (size_t)EVP_MD_get_size(fp->md))
		goto bad;
	fp->len = (unsigned)n;
	return 0;
bad:
	memset(fp, 0, sizeof(*fp));
	return -EINVAL;
}

/* --- the shared context -------------------------------------------------- */

/* Self-signed ECDSA P-256 certificate: random 64-bit serial, CN "wims",
 * valid from one day ago (peer clock skew) for 30 days. */
static int make_cert(X509 **xp, EVP_PKEY **kp)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = NULL;
	BIGNUM *bn = NULL;
	uint8_t serial[8];
	int rc = -EIO;

	if (!key || !x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f; /* positive */
	serial[0] |= 0x01; /* non-zero */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	name = X509_NAME_new();
	if (!bn || !name || !X509_set_version(x, 2) || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -86400L) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400L) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"wims", -1, -1, 0) ||
	    !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key) ||
	    !X509_sign(x, key, EVP_sha256()))
		goto out;
	*xp = x;
	*kp = key;
	x = NULL;
	key = NULL;
	rc = 0;
out:
	X509_NAME_free(name);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

static int load_cert(SSL_CTX *ssl, const char *cert_file, const char *key_file)
{
	EVP_PKEY *pk;

	if (SSL_CTX_use_certificate_chain_file(ssl, cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ssl, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ssl) != 1) {
		wims_log(WIMS_LOG_ERR, "dtls: cannot load certificate %s / key %s", cert_file, key_file);
		return -EINVAL;
	}
	pk = SSL_CTX_get0_privatekey(ssl);
	if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC) {
		wims_log(WIMS_LOG_ERR, "dtls: %s is not an EC key (ciphers are ECDHE-ECDSA only)", key_file);
		return -EINVAL;
	}
	return 0;
}

/* RFC 8827 §6.5: any chain is fine here, the SDP fingerprint decides later. */
static int verify_any(int preverify_ok, X509_STORE_CTX *x)
{
	return 1;
}

static int ctx_setup(struct wims_dtls_ctx *c, const char *cert_file, const char *key_file)
{
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int rc;

	SSL_CTX_set_min_proto_version(c->ssl, DTLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(c->ssl, DTLS1_2_VERSION);
	SSL_CTX_set_options(c->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
					SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_QUERY_MTU |
					SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_any);
	if (SSL_CTX_set_cipher_list(c->ssl, ciphers) != 1 ||
	    SSL_CTX_set1_groups_list(c->ssl, "P-256:X25519") != 1 ||
	    SSL_CTX_set_tlsext_use_srtp(c->ssl, srtp_profiles_default) != 0) /* 0 is success here */
		return -EIO;
	if (cert_file || key_file) {
		if (!cert_file || !key_file)
			return -EINVAL;
		rc = load_cert(c->ssl, cert_file, key_file);
		if (rc)
			return rc;
	} else {
		rc = make_cert(&x, &k);
		if (rc == 0 &&
		    (SSL_CTX_use_certificate(c->ssl, x) != 1 || SSL_CTX_use_PrivateKey(c->ssl, k) != 1))
			rc = -EIO;
		X509_free(x);
		EVP_PKEY_free(k);
		if (rc)
			return rc;
	}
	if (X509_digest(SSL_CTX_get0_certificate(c->ssl), EVP_sha256(), md, &mdlen) != 1)
		return -EIO;
	fp_format(c->fp, sizeof(c->fp), "sha-256", md, mdlen);
	return 0;
}

int wims_dtls_ctx_new(struct wims_dtls_ctx **ctxp, const char *cert_file, const char *key_file)
{
	struct wims_dtls_ctx *c;
	int rc = -ENOMEM;

	*ctxp = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ssl = SSL_CTX_new(DTLS_method());
	c->bm = bio_method_new();
	if (c->ssl && c->bm)
		rc = ctx_setup(c, cert_file, key_file);
	if (rc) {
		unsigned long e = ERR_peek_last_error();

		wims_log(WIMS_LOG_ERR, "dtls: context setup failed (%d): %s", rc,
			 e ? ERR_reason_error_string(e) : "-");
		ERR_clear_error();
		wims_dtls_ctx_free(c);
		return rc;
	}
	*ctxp = c;
	return 0;
}

void wims_dtls_ctx_free(struct wims_dtls_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl);
	BIO_meth_free(ctx->bm);
	free(ctx);
}

const char *wims_dtls_ctx_fingerprint(const struct wims_dtls_ctx *ctx)
{
	return ctx->fp;
}

int wims_dtls_ctx_set_srtp_profiles(struct wims_dtls_ctx *ctx, const char *profiles)
{
	return SSL_CTX_set_tlsext_use_srtp(ctx->ssl, profiles) == 0 ? 0 : -EINVAL;
}

/* --- associations -------------------------------------------------------- */

int wims_dtls_new(struct wims_dtls **dp, struct wims_dtls_ctx *ctx, bool client, struct wims_str expected_fp)
{
	struct wims_dtls *d;
	BIO *b;

	*dp = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	if (wims_str_isset(expected_fp) && expected_fp.l && fp_parse(&d->fp, expected_fp) != 0) {
		free(d);
		return -EINVAL;
	}
	d->client = client;
	d->ssl = SSL_new(ctx->ssl);
	b = d->ssl ? BIO_new(ctx->bm) : NULL;
	if (!b) {
		SSL_free(d->ssl);
		free(d);
		ERR_clear_error();
		return -ENOMEM;
	}
	BIO_set_data(b, d);
	SSL_set_bio(d->ssl, b, b); /* one reference, owned by the SSL */
	SSL_set_mtu(d->ssl, WIMS_DTLS_MTU);
	if (client)
		SSL_set_connect_state(d->ssl);
	else
		SSL_set_accept_state(d->ssl);
	*dp = d;
	return 0;
}

void wims_dtls_free(struct wims_dtls *d)
{
	if (!d)
		return;
	SSL_free(d->ssl);
	free(d->q);
	free(d);
}

static int fail(struct wims_dtls *d, int err)
{
	d->st = ST_FAILED;
	d->err = err;
	return err;
}

/* Compare the peer certificate with the expected fingerprint. */
static int verify_peer(struct wims_dtls *d)
{
	X509 *peer = SSL_get0_peer_certificate(d->ssl);
	uint8_t md[EVP_MAX_MD_SIZE];
	char want[FP_STR_MAX], got[FP_STR_MAX];
	unsigned mdlen = 0;

	if (!peer || X509_digest(peer, d->fp.md, md, &mdlen) != 1) {
		wims_log(WIMS_LOG_WARN, "dtls: no peer certificate to compare with the fingerprint");
		return fail(d, -EACCES);
	}
	if (mdlen == d->fp.len && CRYPTO_memcmp(md, d->fp.v, mdlen) == 0) {
		d->st = ST_CONNECTED;
		return WIMS_DTLS_CONNECTED;
	}
	fp_format(want, sizeof(want), d->fp.name, d->fp.v, d->fp.len);
	fp_format(got, sizeof(got), d->fp.name, md, mdlen);
	wims_log(WIMS_LOG_WARN, "dtls: peer certificate fingerprint mismatch: expected %s, got %s", want,
		 got);
	/* Tell the peer, so it does not wait for media that will never come. */
	SSL_shutdown(d->ssl);
	return fail(d, -EACCES);
}

int wims_dtls_set_fingerprint(struct wims_dtls *d, struct wims_str expected_fp)
{
	struct fingerprint fp;

	if (fp_parse(&fp, expected_fp) != 0)
		return -EINVAL;
	if (d->st == ST_FAILED)
		return d->err;
	if (d->st == ST_CONNECTED) /* renegotiation is off: the old check stands */
		return 0;
	d->fp = fp;
	return d->st == ST_VERIFY_PENDING ? verify_peer(d) : 0;
}

static int handshake_error(struct wims_dtls *d, int ret)
{
	int e = SSL_get_error(d->ssl, ret);
	unsigned long ee;

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return WIMS_DTLS_CONTINUE;
	ee = ERR_peek_last_error();
	wims_log(WIMS_LOG_WARN, "dtls: handshake failed (%s): %s", d->client ? "client" : "server",
		 ee ? ERR_reason_error_string(ee) : "peer closed");
	ERR_clear_error();
	return fail(d, -EPROTO);
}

static int step_handshake(struct wims_dtls *d)
{
	int ret;

	ERR_clear_error();
	ret = SSL_do_handshake(d->ssl);
	if (ret != 1)
		return handshake_error(d, ret);
	if (!d->fp.md) {
		d->st = ST_VERIFY_PENDING; /* the answer has not come yet */
		return WIMS_DTLS_CONTINUE;
	}
	return verify_peer(d);
}

int wims_dtls_start(struct wims_dtls *d)
{
	if (d->st != ST_NEW)
		return d->st == ST_FAILED ? d->err : -EALREADY;
	d->st = ST_HANDSHAKE;
	if (!d->client)
		return 0;
	return step_handshake(d) < 0 ? d->err : 0;
}

/* After the handshake: alerts, retransmitted peer flights, application data
 * (no data channels: discarded). */
static int read_connected(struct wims_dtls *d)
{
	uint8_t sink[2048];
	int ret, e;

	ERR_clear_error();
	for (;;) {
		ret = SSL_read(d->ssl, sink, sizeof(sink));
		if (ret > 0)
			continue;
		e = SSL_get_error(d->ssl, ret);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return WIMS_DTLS_CONTINUE;
		ERR_clear_error();
		if (e == SSL_ERROR_ZERO_RETURN)
			SSL_shutdown(d->ssl); /* answer close_notify */
		return fail(d, -ECONNRESET);
	}
}

int wims_dtls_input(struct wims_dtls *d, const uint8_t *p, size_t len)
{
	int rc;

	if (d->st == ST_FAILED)
		return d->err;
	if (!p || len == 0 || len > INT_MAX)
		return WIMS_DTLS_CONTINUE;
	if (d->st == ST_NEW)
		d->st = ST_HANDSHAKE; /* a ClientHello before start: just answer it */
	d->in = p;
	d->in_len = len;
	if (d->st == ST_HANDSHAKE)
		rc = step_handshake(d);
	else
		rc = read_connected(d);
	d->in = NULL; /* never keep the caller's buffer */
	d->in_len = 0;
	return rc;
}

size_t wims_dtls_output(struct wims_dtls *d, uint8_t *buf, size_t cap)
{
	while (d->q_off + 2 <= d->q_len) {
		size_t n = (size_t)d->q[d->q_off] << 8 | d->q[d->q_off + 1];
		const uint8_t *src = d->q + d->q_off + 2;

		d->q_off += 2 + n;
		if (d->q_off == d->q_len && d->st == ST_CONNECTED) {
			/* Idle associations keep no handshake-sized buffer. */
			size_t out = n <= cap ? n : 0;

			if (out)
				memcpy(buf, src, n);
			free(d->q);
			d->q = NULL;
			d->q_off = d->q_len = d->q_cap = 0;
			if (out)
				return out;
			break;
		}
		if (n <= cap) {
			memcpy(buf, src, n);
			return n;
		}
		wims_log(WIMS_LOG_WARN, "dtls: %zu-byte datagram dropped (buffer %zu)", n, cap);
	}
	if (d->q_off == d->q_len)
		d->q_off = d->q_len = 0;
	return 0;
}

uint64_t wims_dtls_timeout_ms(struct wims_dtls *d)
{
	struct timeval tv;

	if (d->st != ST_HANDSHAKE && d->st != ST_VERIFY_PENDING && d->st != ST_CONNECTED)
		return UINT64_MAX;
	if (DTLSv1_get_timeout(d->ssl, &tv) != 1)
		return UINT64_MAX;
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)(tv.tv_usec + 999) / 1000;
}

void wims_dtls_on_timeout(struct wims_dtls *d)
{
	if (d->st == ST_FAILED || d->st == ST_NEW)
		return;
	ERR_clear_error();
	if (DTLSv1_handle_timeout(d->ssl) < 0) {
		wims_log(WIMS_LOG_WARN, "dtls: handshake timed out (%s)", d->client ? "client" : "server");
		ERR_clear_error();
		(void)fail(d, -ETIMEDOUT);
	}
}

void wims_dtls_close(struct wims_dtls *d)
{
	if (d->st == ST_CONNECTED || d->st == ST_VERIFY_PENDING) {
		ERR_clear_error();
		SSL_shutdown(d->ssl);
		ERR_clear_error();
	}
	if (d->st != ST_FAILED)
		(void)fail(d, -ECONNRESET);
}

bool wims_dtls_connected(const struct wims_dtls *d)
{
	return d->st == ST_CONNECTED;
}

const char *wims_dtls_version_name(const struct wims_dtls *d)
{
	return d->st == ST_CONNECTED || d->st == ST_VERIFY_PENDING ? SSL_get_version(d->ssl) : "";
}

const char *wims_dtls_cipher_name(const struct wims_dtls *d)
{
	const char *n = SSL_get_cipher_name(d->ssl);

	return d->st == ST_CONNECTED || d->st == ST_VERIFY_PENDING ? (n ? n : "") : "";
}

static int profile_from_openssl(unsigned long id)
{
	switch (id) {
	case SRTP_AES128_CM_SHA1_80:
		return WIMS_SRTP_AES_CM_128_HMAC_SHA1_80;
	case SRTP_AES128_CM_SHA1_32:
		return WIMS_SRTP_AES_CM_128_HMAC_SHA1_32;
	case SRTP_AEAD_AES_128_GCM:
		return WIMS_SRTP_AEAD_AES_128_GCM;
	default:
		return -1;
	}
}

int wims_dtls_srtp_keys(struct wims_dtls *d, struct wims_srtp_keys *k)
{
	/* RFC 5764 §4.2: client_key | server_key | client_salt | server_salt. */
	uint8_t m[2 * (WIMS_SRTP_MAX_KEY + WIMS_SRTP_MAX_SALT)];
	const SRTP_PROTECTION_PROFILE *sp;
	const uint8_t *ck, *sk, *cs, *ss;
	size_t kl, sl;
	int prof;

	memset(k, 0, sizeof(*k));
	if (d->st != ST_CONNECTED)
		return -ENOTCONN;
	sp = SSL_get_selected_srtp_profile(d->ssl);
	prof = sp ? profile_from_openssl(sp->id) : -1;
	if (prof < 0 || wims_srtp_key_len(prof, &kl, &sl) != 0)
		return -ENOTSUP;
	if (SSL_export_keying_material(d->ssl, m, 2 * (kl + sl), "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0) !=
	    1) {
		ERR_clear_error();
		return -EIO;
	}
	ck = m;
	sk = m + kl;
	cs = m + 2 * kl;
	ss = m + 2 * kl + sl;
	memcpy(k->tx_key, d->client ? ck : sk, kl);
	memcpy(k->rx_key, d->client ? sk : ck, kl);
	memcpy(k->tx_salt, d->client ? cs : ss, sl);
	memcpy(k->rx_salt, d->client ? ss : cs, sl);
	k->profile = prof;
	k->key_len = kl;
	k->salt_len = sl;
	OPENSSL_cleanse(m, sizeof(m));
	return 0;
}
