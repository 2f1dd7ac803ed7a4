/* Every limit on what a peer can make the SDP parser hold, in one place.
 * Exceeding one is an error (-E2BIG), never an overflow. */
#ifndef WIMS_SDP_LIMITS_H
#define WIMS_SDP_LIMITS_H

#define WIMS_SDP_MAX_SIZE 65536	  /* bytes in one SDP body */
#define WIMS_SDP_MAX_LINE 4096	  /* bytes in one line, without CRLF */
#define WIMS_SDP_MAX_MEDIA 8	  /* m= sections */
#define WIMS_SDP_MAX_ATTRS 256  /* a= lines per section: a Chrome video m= has ~150 */
#define WIMS_SDP_MAX_FMTS 64    /* fmt tokens on one m= line: Chrome video lists ~40 */
#define WIMS_SDP_MAX_BW 4	  /* b= lines per section */
#define WIMS_SDP_MAX_RTCP_FB 8	  /* a=rtcp-fb values kept per codec */
#define WIMS_SDP_MAX_GROUP 16	  /* identification tags in one a=group */
#define WIMS_SDP_MAX_SSRC_GROUP 8 /* SSRCs in one a=ssrc-group */

#endif
