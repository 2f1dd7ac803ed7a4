#!/usr/bin/env bash
# REGISTER through wimsd as the P-CSCF (role = pcscf), straight to the S-CSCF:
#  - alice (JsSIP over WebSocket) registers with digest: the 401 passes through,
#    the second REGISTER gets 200, un-REGISTER gets 200
#  - what the S-CSCF received: one Path <sip:wt<token>@127.0.0.1:5060;lr;ob>
#    (JsSIP sends reg-id), Require: path, P-Visited-Network-ID "ims.lab",
#    P-Charging-Vector icid-value=wims..., no integrity-protected (plain WS),
#    and the S-CSCF stored the binding with that Path
#  - the 200 alice got had Service-Route and no P-Charging-Function-Addresses
#  - a call from a flow that never registered gets 403 and reaches nobody
#  - a wrong password ends in 401 without breaking wimsd
. "$(dirname "$0")/lib.sh"
start_pcscf_lab

js_run alice-reg $(js_ue alice) --register --unregister --trace --timeout 10000
assert_log alice-reg.log '^EVENT registered code=200'
assert_log alice-reg.log '^EVENT unregistered code=200'
PATH_RE='<sip:wt[0-9a-f]{16}o[0-9a-f]{8}@127\.0\.0\.1:5060;lr;ob>'
assert_log scscf.log "IMS REGISTER Path=\[$PATH_RE\] Require=\[path\]" "the S-CSCF got no Path with a flow token and ob, or no Require: path"
assert_log scscf.log 'IMS REGISTER .* PVNI=\["ims\.lab"\] PCV=\[icid-value=wims[0-9a-f]+;icid-generated-at=127\.0\.0\.1\]' "no P-Visited-Network-ID / P-Charging-Vector at the S-CSCF"
assert_no_log scscf.log 'IMS REGISTER .*integrity-protected' "integrity-protected over plain WS"
assert_log scscf.log "REGISTER sip:alice@ims.lab saved \(Path: $PATH_RE\)" "the S-CSCF did not store alice with wimsd's Path"
# what alice received (wims-ua --trace prints the SIP messages on stderr)
assert_log alice-reg.log '^Service-Route: <sip:orig@127\.0\.0\.1:5080;lr>' "alice's 200 lacks the Service-Route"
assert_log alice-reg.log '^P-Associated-URI: <sip:alice@ims\.lab>' "alice's 200 lacks P-Associated-URI"
assert_no_log alice-reg.log '^P-Charging-Function-Addresses' "P-Charging-Function-Addresses reached the UE"

# a flow that is not registered: 403 from wimsd, nothing at the S-CSCF
n_before=$(grep -c 'IMS INITIAL' "$T/scscf.log" || true)
js_run bob-unreg $(js_ue bob) --call sip:ue1@ims.lab --expect-fail 403 --timeout 10000
assert_eq "$(grep -c 'IMS INITIAL' "$T/scscf.log" || true)" "$n_before" "an unregistered flow's INVITE reached the S-CSCF"
assert_log wimsd.log 'INVITE from flow [0-9]+ refused: not registered on this flow'

js_run alice-badpw --ws "$WS_URL" --uri sip:alice@ims.lab --password wrong --expect-register-fail 401 --timeout 10000
js_run bob-reg $(js_ue bob) --register --timeout 10000
assert_loopback_only
