#!/usr/bin/env bash
# The reg event package in the IWU role ([iwu] reg_subscribe, on by default): wimsd
# subscribes as each browser's UE (TS 24.229 §5.1.1.3) through Kamailio's
# P-CSCF to Kamailio's S-CSCF with presence_reginfo/pua_reginfo (scscf.cfg
# WITH_REGINFO):
#  1. alice (JsSIP, which subscribes to nothing) registers: the S-CSCF gets a
#     SUBSCRIBE for sip:alice@ims.lab, From and To alice, the Contact wimsd
#     registered for her, through the P-CSCF; wimsd answers the NOTIFYs
#  2. with reg_subscribe_expires = 12 it is refreshed in its dialog
#  3. alice calls ue1 (sipp); the network de-registers alice (kamcmd ul.rm):
#     the NOTIFY, relayed by the P-CSCF, makes wimsd release the call with BYE
#     toward ue1 and toward alice
. "$(dirname "$0")/lib.sh"
start_iwu_lab "$(wimsd_iwu_ini; printf 'reg_subscribe_expires = 12\n')"

SIPP_TIMEOUT=60 sipp_bg ue1 uas.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
js_bg alice $(js_ue alice) --register --call sip:ue1@ims.lab --expect-bye --timeout 60000

wait_log "$T/scscf.log" 'IMS REGSUB sip:alice@ims\.lab' 15
assert_log scscf.log 'IMS REGSUB sip:alice@ims\.lab Event=\[reg\] Accept=\[application/reginfo\+xml\] Expires=\[12\] .*From=\[<sip:alice@ims\.lab>;tag=[^]]+\] To=\[<sip:alice@ims\.lab>\] Contact=\[<sip:[0-9a-zA-Z_-]+@127\.0\.0\.1:5060>\]' \
  "the S-CSCF did not get the UE's SUBSCRIBE of TS 24.229 §5.1.1.3"
wait_log "$T/wimsd.log" 'reg event: subscribed to sip:alice@ims\.lab' 10
wait_log "$T/alice.log" '^EVENT confirmed call=out' 15
assert_no_log alice.log '^EVENT .*NOTIFY' "a NOTIFY of wimsd's subscription reached the browser"
log "waiting for the refresh of the subscription"
wait_log "$T/scscf.log" 'IMS REGSUB .*To=\[<sip:alice@ims\.lab>;tag=' 20

log "network-initiated de-registration of alice"
scscf_cmd ul.rm location alice || fail "kamcmd ul.rm failed"
wait_log "$T/wimsd.log" 'reg event: sip:alice@ims\.lab de-registered by the network' 10
sipp_wait ue1 20
assert_log ue1-msgs.log '^BYE sip:ue1@' "ue1 got no BYE"
assert_log ue1-msgs.log '^Reason: SIP;cause=480;text="De-registered by the network' "no Reason in ue1's BYE"
js_wait alice 20
assert_log alice.log '^EVENT ended call=out originator=remote cause=Terminated' "alice got no BYE"
assert_loopback_only
