#!/usr/bin/env bash
# The reg event package with wimsd as the P-CSCF (TS 24.229 §5.2.3, §5.2.5.2)
# against Kamailio's presence_reginfo/pua_reginfo (scscf.cfg WITH_REGINFO):
#  1. alice (JsSIP) registers: wimsd SUBSCRIBEs to sip:alice@ims.lab, Event: reg,
#     with its own P-Asserted-Identity and a P-Charging-Vector (S-CSCF's log)
#  2. with reg_subscribe_expires = 12 the subscription is refreshed in its
#     dialog (To with the notifier's tag) before it runs out
#  3. alice calls ue1 (sipp); the network de-registers alice (kamcmd ul.rm):
#     the NOTIFY makes wimsd release the call with BYE toward ue1 and toward
#     alice, and alice's next MESSAGE gets 403
#  4. carol registers and de-registers: Kamailio's presence tells of it in a
#     NOTIFY but keeps the subscription (a TS 24.229 S-CSCF would end it), so
#     wimsd unsubscribes in the dialog (Expires: 0)
#  5. bob registers and stays; wimsd is stopped (SIGTERM): it unsubscribes
#     (Expires: 0 in the dialog) before it exits, so that the S-CSCF does not
#     go on notifying a process that is gone
. "$(dirname "$0")/lib.sh"
start_pcscf_lab --reginfo 12

SIPP_TIMEOUT=60 sipp_bg ue1 uas.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s ue1
js_bg alice $(js_ue alice) --register --call sip:ue1@ims.lab --expect-bye \
  --message-after sip:ue1@ims.lab 403 --timeout 60000

wait_log "$T/scscf.log" 'IMS REGSUB sip:alice@ims\.lab' 15
assert_log scscf.log 'IMS REGSUB sip:alice@ims\.lab Event=\[reg\] Accept=\[application/reginfo\+xml\] Expires=\[12\] PAI=\[<sip:127\.0\.0\.1:5060>\] PCV=\[icid-value=wims[0-9a-f]+;icid-generated-at=127\.0\.0\.1\] From=\[<sip:127\.0\.0\.1:5060>;tag=[^]]+\] To=\[<sip:alice@ims\.lab>\]' \
  "the S-CSCF did not get the SUBSCRIBE of TS 24.229 §5.2.3"
wait_log "$T/wimsd.log" 'reg event: subscribed to sip:alice@ims\.lab' 10
wait_log "$T/alice.log" '^EVENT confirmed call=out' 15
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
assert_log alice.log '^EVENT message-failed .*code=403' "alice's MESSAGE after the de-registration was not refused"

log "carol registers and de-registers: wimsd ends the subscription the S-CSCF keeps"
js_bg carol $(js_ue carol) --register --linger-ms 2000 --unregister --timeout 30000
wait_log "$T/wimsd.log" 'reg event: subscribed to sip:carol@ims\.lab' 15
js_wait carol 20
assert_log carol.log '^EVENT unregistered code=200' "carol's de-registration failed"
wait_log "$T/scscf.log" 'IMS REGSUB [^ ]+ Event=\[reg\] .*Expires=\[0\] .*To=\[<sip:carol@ims\.lab>;tag=' 5

log "bob registers; wimsd is stopped: the S-CSCF must see the unsubscribe"
js_bg bob $(js_ue bob) --register --linger-ms 20000 --timeout 30000
wait_log "$T/wimsd.log" 'reg event: subscribed to sip:bob@ims\.lab' 15
pid=${_BG_PID[wimsd]}
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
unset "_BG_PID[wimsd]"
[ "$rc" -eq 0 ] || fail "wimsd exited with $rc after SIGTERM"
assert_log wimsd.log 'reg event: ending [0-9]+ subscriptions' "wimsd did not end its subscriptions at shutdown"
wait_log "$T/scscf.log" 'IMS REGSUB [^ ]+ Event=\[reg\] .*Expires=\[0\] .*To=\[<sip:bob@ims\.lab>;tag=' 5
assert_no_log wimsd.log 'subscribing again' "wimsd subscribed again after its own unsubscribe"
assert_loopback_only
