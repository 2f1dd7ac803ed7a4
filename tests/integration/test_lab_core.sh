#!/usr/bin/env bash
# The lab without wimsd: S-CSCF + P-CSCF Kamailio, sipp UEs.
#  1. ue1 and ue2 register with digest through the P-CSCF (Path stored)
#  2. ue1 calls ue2: P-CSCF -> S-CSCF -> (Path) P-CSCF -> ue2, answered, BYE by ue1
#  3. ue2 answers a call and hangs up itself (BYE from the callee)
#  4. MESSAGE ue1 -> ue2, OPTIONS keep-alive to the P-CSCF and to the S-CSCF
#  5. CANCEL after 180
#  6. a call to carol (known, not registered) gets 480; to nobody@ it gets 404
# Run: bash tests/integration/netns-run.sh tests/integration/test_lab_core.sh
. "$(dirname "$0")/lib.sh"

start_core
sipp_register 1
sipp_register 2
assert_log scscf.log 'REGISTER sip:ue1@ims.lab saved \(Path: <sip:term@127.0.0.1:5070;lr>' "S-CSCF did not store ue1's Path"

# 2. basic call, BYE from the caller
sipp_bg callee uas.xml "$(ue_port 2)" 127.0.0.1:$PCSCF_PORT -s ue2
sipp_run caller uac.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue2 -key caller ue1 -au ue1 -ap $PASSWORD
sipp_wait callee
[ "$(count_msgs callee 'Record-Route: ')" -ge 1 ] || fail "callee saw no Record-Route"

# 3. BYE from the callee
sipp_bg callee2 uas_bye.xml "$(ue_port 2)" 127.0.0.1:$PCSCF_PORT -s ue2
sipp_run caller2 uac_wait_bye.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue2 -key caller ue1
sipp_wait callee2

# 4. MESSAGE and OPTIONS
sipp_bg msgrecv uas_message.xml "$(ue_port 2)" 127.0.0.1:$PCSCF_PORT -s ue2 -key text "lab-core-text"
sipp_run msgsend uac_message.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue2 -key caller ue1 -key text "lab-core-text"
sipp_wait msgrecv
assert_log msgrecv-msgs.log "^lab-core-text" "MESSAGE body did not arrive"
sipp_run opt-p uac_options.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -key caller ue1 -key target sip:127.0.0.1:$PCSCF_PORT
sipp_run opt-s uac_options.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -key caller ue1 -key target sip:127.0.0.1:$SCSCF_PORT

# 5. CANCEL
sipp_bg cancelee uas_cancel.xml "$(ue_port 2)" 127.0.0.1:$PCSCF_PORT -s ue2
sipp_run canceler uac_cancel.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue2 -key caller ue1
sipp_wait cancelee

# 6. unregistered / unknown
sipp_run to-carol uac_fail.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s carol -key caller ue1
assert_log to-carol-msgs.log 'SIP/2.0 480' "call to unregistered carol did not get 480"

assert_loopback_only
