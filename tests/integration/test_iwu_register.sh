#!/usr/bin/env bash
# REGISTER through wimsd (IWU) with digest:
#  - alice (JsSIP over WebSocket) registers: 401 challenge from the S-CSCF passes
#    through wimsd and the P-CSCF, the second REGISTER gets 200
#  - the S-CSCF stored alice's contact with the P-CSCF's Path
#  - the contact wimsd presented to the P-CSCF is a plain SIP one pointing at
#    wimsd (127.0.0.1:5060), not the browser's .invalid host / transport=ws
#  - a wrong password ends in 401 (registration-failed) without breaking wimsd
#  - un-REGISTER gets 200
. "$(dirname "$0")/lib.sh"
start_iwu_lab

js_run alice-reg $(js_ue alice) --register --unregister --timeout 10000
assert_log alice-reg.log '^EVENT registered code=200'
assert_log alice-reg.log '^EVENT unregistered code=200'
assert_log scscf.log 'REGISTER sip:alice@ims.lab saved \(Path: <sip:term@127.0.0.1:5070;lr>' "S-CSCF did not store alice with the P-CSCF's Path"
if [ "${WIMS_FRONT:-wimsd}" != kamailio ]; then
  assert_log pcscf.log 'REQ REGISTER sip:ims.lab from 127.0.0.1:[0-9]+ \((udp|tcp)\)' "the P-CSCF got no REGISTER over UDP/TCP"
  # the contact the core stores is wimsd's flow-token contact (docs/signalling.md)
  js_bg alice-stay $(js_ue alice) --register --linger-ms 4000 --timeout 10000
  wait_log "$T/alice-stay.log" '^EVENT registered' 10
  sipp_run ue1-opt uac_options.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -key caller ue1 -key target sip:alice@ims.lab
  assert_log pcscf.log 'terminating OPTIONS to sip:wt[^@ ]*@127\.0\.0\.1:5060' "the P-CSCF did not route to a flow-token contact sip:wt...@127.0.0.1:5060"
  js_wait alice-stay
fi

js_run alice-badpw --ws "$WS_URL" --uri sip:alice@ims.lab --password wrong --expect-register-fail 401 --timeout 10000

# wimsd still serves: bob registers afterwards
js_run bob-reg $(js_ue bob) --register --timeout 10000
assert_loopback_only
