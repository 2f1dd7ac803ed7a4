/* Every limit on what a peer can make wims parse or hold, in one place. */
#ifndef WIMS_SIP_LIMITS_H
#define WIMS_SIP_LIMITS_H

#define WIMS_SIP_MAX_MESSAGE 65535   /* bytes in one SIP message */
#define WIMS_SIP_MAX_HEADERS 128     /* header lines in one message */
#define WIMS_SIP_MAX_EDITS 64        /* edits applied to one message */
#define WIMS_SIP_MAX_VIA 70          /* Via values in a message (Max-Forwards starts at 70) */
#define WIMS_SIP_MAX_ROUTE 32        /* Route / Record-Route / Path values */

#endif
