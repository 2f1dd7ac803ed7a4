/* The wimsd configuration: one INI file, every key in one table (conf.c)
 * that docs/configuration.md documents key by key. */
#ifndef WIMS_BASE_CONF_H
#define WIMS_BASE_CONF_H

#include <stdbool.h>
#include <stddef.h>

#define WIMS_CONF_STR 256

enum wims_role {
	WIMS_ROLE_IWU = 1,   /* alternative 2: in front of an unmodified P-CSCF */
	WIMS_ROLE_PCSCF = 2, /* alternative 1: wims is the P-CSCF */
};

struct wims_conf {
	/* [general] */
	enum wims_role role;
	char log_level[16];
	char log_target[16];
	unsigned shutdown_grace_ms;
	/* [ws] */
	char ws_listen[WIMS_CONF_STR];
	char ws_listen_tls[WIMS_CONF_STR];
	char ws_tls_cert[WIMS_CONF_STR];
	char ws_tls_key[WIMS_CONF_STR];
	char ws_origins[1024];
	unsigned ws_handshake_timeout_ms;
	unsigned ws_idle_timeout_s;
	unsigned ws_ping_interval_s;
	unsigned ws_pong_timeout_s;
	unsigned ws_max_message;
	unsigned ws_max_connections;
	unsigned ws_max_per_ip;
	char ws_web_root[WIMS_CONF_STR];
	bool ws_admin;
	/* [sip] */
	char sip_listen_udp[WIMS_CONF_STR];
	char sip_listen_tcp[WIMS_CONF_STR];
	char sip_listen_tls[WIMS_CONF_STR];
	char sip_tls_cert[WIMS_CONF_STR];
	char sip_tls_key[WIMS_CONF_STR];
	char sip_tls_ca[WIMS_CONF_STR];
	char sip_advertise[WIMS_CONF_STR];
	unsigned sip_udp_mtu;
	unsigned sip_t1_ms;
	unsigned sip_t2_ms;
	unsigned sip_t4_ms;
	unsigned sip_timer_c_s;
	unsigned sip_tcp_idle_s;
	unsigned sip_max_tcp_connections;
	unsigned sip_tcp_message_timeout_s;
	unsigned sip_session_expires;
	unsigned sip_min_se;
	bool sip_precondition;
	/* [iwu] */
	char iwu_pcscf[WIMS_CONF_STR];
	char iwu_pcscf_fallback[WIMS_CONF_STR];
	char iwu_flow_secret[WIMS_CONF_STR];
	unsigned iwu_min_expires;
	bool iwu_record_route;
	bool iwu_reg_subscribe;
	unsigned iwu_reg_subscribe_expires;
	bool iwu_require_registration;
	/* [pcscf] */
	char pcscf_scscf[WIMS_CONF_STR];
	char pcscf_scscf_fallback[WIMS_CONF_STR];
	char pcscf_visited_network_id[WIMS_CONF_STR];
	char pcscf_icid_prefix[32];
	char pcscf_flow_secret[WIMS_CONF_STR];
	char pcscf_token_secret[WIMS_CONF_STR];
	char pcscf_token_pubkey[WIMS_CONF_STR];
	char pcscf_token_audience[WIMS_CONF_STR];
	bool pcscf_reg_subscribe;
	unsigned pcscf_reg_subscribe_expires;
	/* [dns] */
	char dns_servers[WIMS_CONF_STR];
	unsigned dns_timeout_ms;
	unsigned dns_tries;
	unsigned dns_cache_max;
	/* [media] */
	bool media_anchor;
	char media_address[WIMS_CONF_STR];
	unsigned media_port_min;
	unsigned media_port_max;
	unsigned media_workers;
	unsigned media_max_sessions;
	unsigned media_timeout_s;
	unsigned media_consent_s;
	unsigned media_busy_poll_us;
	char media_cert[WIMS_CONF_STR];
	char media_key[WIMS_CONF_STR];
	bool media_core_sdes;
	bool media_transcode;
	char media_codec_prefer[WIMS_CONF_STR];
	char media_ng_listen[WIMS_CONF_STR];
	char media_agw[WIMS_CONF_STR];
};

/** Fill c with every key's default. */
void wims_conf_defaults(struct wims_conf *c);

/**
 * Load path over the defaults already in c.  On error returns a negative code
 * and writes "FILE:LINE: key 'K': reason" into err.
 */
int wims_conf_load(struct wims_conf *c, const char *path, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/** Set one key as the file would ("section", "key", "value"); for tests and -o. */
int wims_conf_set(struct wims_conf *c, const char *section, const char *key, const char *value,
		  char *err, size_t errlen) __attribute__((warn_unused_result));

/** Iterate the key table: returns false past the end. */
bool wims_conf_key(size_t i, const char **section, const char **key, const char **defval,
		   const char **doc);

#endif
