/* Internal to precond.c and precond_resp.c: the state kept per INVITE
 * dialog of a browser, and the helpers both files use. */
#ifndef WIMS_PROXY_PRECOND_INT_H
#define WIMS_PROXY_PRECOND_INT_H

#include "proxy/precond.h"

enum pc_side { PC_ORIG, PC_TERM };

struct px_pc {
	struct px_pc *next, **pprev; /* px->pc list, unlinked in O(1) */
	struct wims_hnode hn;        /* px->pc_by_cid */
	struct wims_hnode hf;        /* px->pc_by_flow */
	struct wims_proxy *px;
	enum pc_side side;
	char call_id[256], ftag[128];
	uint64_t flow_id;
	uint32_t inv_cseq;
	uint64_t born;     /* loop time the INVITE came */
	bool ended;        /* the final response passed */
	uv_timer_t tm;     /* retransmission of our reliable 18x, else expiry */
	/* originating */
	uint32_t offset;   /* CSeq numbers wims used in the browser's dialog */
	uint32_t last_rseq;
	bool offered, update_wanted, update_sent, update_done;
	char *ims_sdp;     /* the last SDP sent toward the core (media control's offer, then ours) */
	char upd_remote[12], upd_des[12]; /* the callee's segment, for our UPDATE */
	char ruri[512];
	char *head;        /* Route, From, To, Call-ID, Contact lines of our requests */
	char *br_answer;   /* the SDP answer the browser got in an 18x */
	char *contact;     /* our Contact line: UPDATE (originating), 2xx to UPDATE (terminating) */
	/* terminating */
	bool req_prec, req_100rel, br_rel, met, rel_pending;
	bool final_due;    /* the held 2xx goes when tm fires (just after the held 18x) */
	struct wims_pc_qos peer;   /* what the core's offer said */
	uint32_t rseq;
	char *rel;         /* our reliable 18x waiting for its PRACK */
	size_t rel_len;
	unsigned retr_ms, retr_spent;
	char *held18x, *held2xx, *answer;
	size_t held18x_len, held2xx_len;
	struct px_hop up;  /* toward the core */
	bool up_set;
	uint32_t upd_cseq; /* the last UPDATE answered, and the answer (retransmissions) */
	char *upd_resp;
	size_t upd_resp_len;
};

/** Copy l bytes at p (NUL-terminated) into *dst (freed first); *len gets l when len is not NULL. */
int wims_pc__set_bytes(char **dst, size_t *len, const char *p, size_t l) __attribute__((warn_unused_result));
/** Does a header with id of m list option tag `tag`? */
bool wims_pc__has_tag(const struct wims_sip_msg *m, enum wims_sip_hdr_id id, const char *tag);
/** Remove option tag `tag` from every header with id (a header left empty goes whole). */
void wims_pc__strip_tag(struct wims_sip_edits *ed, const struct wims_sip_msg *m, enum wims_sip_hdr_id id,
			const char *tag);
bool wims_pc__cseq_of(const struct wims_sip_msg *m, struct wims_sip_cseq *cs);
struct wims_str wims_pc__call_id(const struct wims_sip_msg *m);
/** Forget session s (its timer is closed, memory freed in the close callback). */
void wims_pc__free(struct px_pc *s);
/** The session of side for Call-ID cid and caller's tag ftag on flow flow_id (0: any). */
struct px_pc *wims_pc__find(struct wims_proxy *px, enum pc_side side, struct wims_str cid, struct wims_str ftag,
			    uint64_t flow_id);
/** The next SDP toward the core (the last one, version + 1, o's qos lines); *memp: a pool block. */
int wims_pc__next_sdp(struct px_pc *s, const struct wims_pc_qos_out *o, char **memp, struct wims_str *out)
	__attribute__((warn_unused_result));
/** Forget s once retransmissions can no longer come (64*T1). */
void wims_pc__expire_later(struct px_pc *s);
/** Send a response toward the core on the hop of the INVITE. */
void wims_pc__send_up(struct px_pc *s, const char *p, size_t l);
/** The edit of ed that replaces the span v of m (another hook's), or NULL. */
struct wims_sip_edit *wims_pc__edit_of(struct wims_sip_edits *ed, const struct wims_sip_msg *m, struct wims_str v);
/** s->tm: the reliable 18x's retransmission, the held 2xx's moment, else expiry. */
void wims_pc__on_timer(uv_timer_t *h);
/** precond_resp.c: the held 18x (reliable when the core requires 100rel), then the held 2xx. */
void wims_pc__send_held(struct px_pc *s);
/** precond_resp.c: the held 2xx goes up; the session is done. */
void wims_pc__send_final(struct px_pc *s);

static inline bool pc_sdp_body(const struct wims_sip_msg *m)
{
	return wims_proxy__media_has_sdp(m);
}

/* The body m goes on with: media control's, else its own. */
static inline struct wims_str pc_cur_body(const struct wims_sip_msg *m, const struct wims_sip_edits *ed)
{
	return ed->body_set ? ed->new_body : m->body;
}

#endif
