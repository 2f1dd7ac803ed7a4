#!/usr/bin/env bash
# Preconditions (RFC 3312) and 100rel (RFC 3262) handled by wimsd (IWU) for a
# JsSIP browser, which does neither, toward sipp VoLTE UEs that require both:
#  1. alice (browser) calls ue1 (uas_precond: 183 reliable with qos, expects
#     PRACK and an UPDATE confirming wims's segment, then 180/200 without SDP)
#  2. ue1 (uac_precond: Require: precondition) calls alice: wimsd answers
#     with a reliable 183 (qos lines), handles PRACK and UPDATE itself, then
#     relays alice's 180 and 200
#  3. alice calls ue1 (uas_prack: a reliable 180 only): wimsd PRACKs it
# sipp fails on any unexpected message; what the browser received must carry
# no Require: 100rel/precondition, no RSeq and no qos lines, and every 2xx to
# its INVITE an SDP.
. "$(dirname "$0")/lib.sh"
start_iwu_lab
. "$(dirname "$0")/precond-cases.sh"
precond_cases "127.0.0.1:$PCSCF_PORT"
