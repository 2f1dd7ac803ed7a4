#!/usr/bin/env bash
# Double Record-Route ([iwu] record_route = yes): the transport changes at
# wimsd (WS <-> UDP/TCP), so it records two entries, one per side; in-dialog
# requests from either side come back through both and wimsd consumes them.
#  1. alice (WS) calls ue1: ue1's INVITE shows both entries, the core-side one
#     on top; ue1 hangs up, its BYE reaches alice through wimsd.
#  2. ue1 calls alice: alice's INVITE shows both entries, the WS-side one on
#     top; alice hangs up with a BYE whose Route starts with wimsd's WS entry.
. "$(dirname "$0")/lib.sh"

start_core
sipp_register 1
start_wimsd "$(wimsd_iwu_ini)
[iwu]
record_route = yes"

sipp_bg ue1-a uas_bye.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1 -set bye_delay 800
js_run alice-a $(js_ue alice) --register --call sip:ue1@ims.lab --expect-bye --timeout 15000 --trace
sipp_wait ue1-a
# the INVITE ue1 received (sipp logs it with its headers)
awk '/INVITE sip:ue1/{p=1} p&&/^$/{exit} p' "$T/ue1-a-msgs.log" >"$T/ue1-invite.txt"
rr=$(grep -i '^Record-Route:' "$T/ue1-invite.txt" | tr -d '\r')
echo "$rr" | grep -q 'sip:127.0.0.1:5060;lr' || fail "no core-side Record-Route of wimsd at ue1: $rr"
echo "$rr" | grep -q 'sip:127.0.0.1:8080;transport=ws;lr' || fail "no WS-side Record-Route of wimsd at ue1: $rr"
# order: the core-side entry is above the WS-side one
first=$(echo "$rr" | grep -n '127.0.0.1:5060;lr' | head -1 | cut -d: -f1)
second=$(echo "$rr" | grep -n 'transport=ws;lr' | head -1 | cut -d: -f1)
[ "$first" -le "$second" ] || fail "wimsd's Record-Route entries are in the wrong order: $rr"
assert_log alice-a.log '^EVENT ended call=out originator=remote'

js_bg alice-b $(js_ue alice) --register --expect-call --hangup-after 500 --timeout 15000 --trace
wait_log "$T/alice-b.log" '^EVENT registered' 10
sipp_run ue1-b uac_wait_bye.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1
js_wait alice-b
# alice's BYE: its Route set starts with wimsd's WS-side entry (RFC 3261 §12.1.1)
grep -A20 '^BYE sip:' "$T/alice-b.log" | grep -m1 -i '^Route:' | grep -q 'sip:127.0.0.1:8080;transport=ws;lr' \
  || fail "alice's BYE does not route through wimsd's WS-side entry"
assert_log ue1-b-msgs.log 'BYE sip:ue1@' "ue1 got no BYE from alice"
alive wimsd
assert_loopback_only
