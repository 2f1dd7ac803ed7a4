# The cases of test_iwu_precond.sh and test_pcscf_precond.sh (sourced after the
# lab is up): precond_cases CORE, where CORE is the address the sipp UEs use as
# their outbound proxy (the P-CSCF of the IWU lab, the S-CSCF of the P-CSCF lab).
precond_cases() {
  local core=$1

  # the messages a jsclient received (its --trace blocks "----- < ...")
  received() { awk '/^----- /{show = ($2 == "<")} show' "$T/$1.log" >"$T/$1-recv.log"; }
  assert_browser_clean() { # NAME
    received "$1"
    assert_no_log "$1-recv.log" '^(Require|RSeq):.*' "the browser got Require/RSeq (100rel/precondition)"
    assert_no_log "$1-recv.log" '^Require:.*(100rel|precondition)' "the browser got Require: 100rel/precondition"
    assert_no_log "$1-recv.log" '^a=(curr|des|conf):qos' "the browser got qos lines in its SDP"
  }

  # 1. originating: browser -> VoLTE callee
  sipp_bg ue1-a uas_precond.xml "$(ue_port 1)" $core -s ue1
  js_run alice-a $(js_ue alice) --register --call sip:ue1@ims.lab --hangup-after 1000 --timeout 20000 --trace
  sipp_wait ue1-a
  assert_log alice-a.log '^EVENT confirmed call=out'
  assert_log alice-a.log '^EVENT ended call=out originator=local'
  assert_browser_clean alice-a
  # the 200 the browser got carries the answer (JsSIP refuses a 2xx without SDP)
  awk '/^SIP\/2.0 200/{inv=0} /^SIP\/2.0 200/,/^$/{if ($0 ~ /^CSeq: [0-9]+ INVITE/) inv=1; if ($0 ~ /^Content-Type: application\/sdp/ && inv) ok=1} END{exit !ok}' \
    "$T/alice-a-recv.log" || fail "the browser's 200 to its INVITE has no SDP"
  assert_log ue1-a-msgs.log '^PRACK sip:' "ue1 got no PRACK"
  assert_log ue1-a-msgs.log '^UPDATE sip:' "ue1 got no UPDATE"

  # 2. terminating: VoLTE caller -> browser
  js_bg alice-b $(js_ue alice) --expect-call --answer-delay-ms 300 --expect-bye --timeout 20000 --trace
  wait_log "$T/alice-b.log" '^EVENT registered' 10
  sipp_run ue1-b uac_precond.xml "$(ue_port 1)" $core -s alice -key caller ue1 -set hold_ms 1000
  js_wait alice-b
  assert_log alice-b.log '^EVENT incoming from=sip:ue1@ims.lab'
  assert_log alice-b.log '^EVENT ended call=in originator=remote'
  assert_browser_clean alice-b
  assert_no_log alice-b-recv.log '^(PRACK|UPDATE) sip:' "a PRACK/UPDATE of the core reached the browser"

  # 3. a reliable 180 only, for a browser that did not offer 100rel
  sipp_bg ue1-c uas_prack.xml "$(ue_port 1)" $core -s ue1
  js_run alice-c $(js_ue alice) --register --call sip:ue1@ims.lab --hangup-after 500 --timeout 20000 --trace
  sipp_wait ue1-c
  assert_log alice-c.log '^EVENT progress call=out code=180'
  assert_log alice-c.log '^EVENT confirmed call=out'
  assert_browser_clean alice-c
  assert_loopback_only
}
