#!/usr/bin/env bash
# OPTIONS (keep-alive / capability query) through wimsd:
#  1. alice (WS) sends OPTIONS sip:ims.lab: answered 200 by the S-CSCF
#  2. ue1 sends OPTIONS sip:alice@ims.lab: reaches alice over her WebSocket,
#     JsSIP answers 200
#  3. (wimsd only) OPTIONS sent straight to wimsd's SIP side,
#     sip:127.0.0.1:5060 over UDP (the P-CSCF's keep-alive towards its "UE"):
#     wimsd answers 200 itself
. "$(dirname "$0")/lib.sh"
start_iwu_lab

js_run alice-opt $(js_ue alice) --register --options sip:ims.lab --timeout 10000
assert_log alice-opt.log '^EVENT options-ok code=200'

js_bg alice-b $(js_ue alice) --register --linger-ms 3000 --timeout 15000
wait_log "$T/alice-b.log" '^EVENT registered' 10
sipp_run ue1-opt uac_options.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -key caller ue1 -key target sip:alice@ims.lab
js_wait alice-b

if [ "${WIMS_FRONT:-wimsd}" != kamailio ]; then
  sipp_run ue1-opt-gw uac_options.xml "$(ue_port 1)" 127.0.0.1:$WIMSD_SIP_PORT -key caller ue1 -key target sip:127.0.0.1:$WIMSD_SIP_PORT
fi
assert_loopback_only
