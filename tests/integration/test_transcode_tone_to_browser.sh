#!/usr/bin/env bash
# Issue 5 tone test, IMS -> browser: alice in Chromium calls volte, an AMR-only IMS phone (sipp
# uas_amr.xml without -rtp_echo for the signalling; wims-rtptone sends its media from the port
# its answer announced).  The phone sends a 1 kHz tone at -20 dBFS with 3 % of the packets
# dropped and 3 % reordered (fixed seed): AMR-WB bandwidth-efficient, AMR-WB octet-aligned,
# then AMR (narrowband, answered without b=AS: see tone_phone_start).  wimsd transcodes to Opus; the page records the remote track with
# WebAudio and tone_check.py wants 1 kHz within 2 % and -20 dBFS within 3 dB.
. "$(dirname "$0")/browser-lib.sh"
FREQ=1000 LEVEL=-20
read -r -a VARIANTS <<<"${TONE_VARIANTS:-wb wb-oa nb-as}"
browser_prereq
start_scscf -A WITH_IMS_REG
start_wimsd "$(wimsd_browser_ini pcscf)"
wait_port tcp $WIMSD_WSS_PORT 5 wimsd
env WIMS_TEST_DIR="$T" WIC_URL="$WIC_URL" CHROMIUM="$CHROMIUM" TONE_MODE=recv TONE_CALLS=${#VARIANTS[@]} \
  WIC_TEST_TIMEOUT_MS=120000 node "$WIMS_SRC/tests/browser/tone_calls.js" </dev/null >"$T/alice.log" 2>&1 &
track alice $!
for i in "${!VARIANTS[@]}"; do
  v=${VARIANTS[$i]}
  codec=amr-wb pt=104 oa=()
  [ "${v#nb}" != "$v" ] && codec=amr pt=102
  [ "$v" = wb-oa ] && oa=(--octet-align)
  tone_phone_start "volte$i" "$v"
  touch "$T/phone-$i.ready"
  wait_log "$T/volte$i-msgs.log" '^ACK ' 20
  read -r gw_host gw_port <<<"$(tone_gw_addr "volte$i")"
  [ -n "${gw_port:-}" ] || fail "no gateway address in the INVITE volte$i received"
  log "call $i ($v): the gateway's IMS leg is $gw_host:$gw_port; $codec ${oa[*]} tone from 127.0.0.1:$TONE_PHONE_PORT"
  touch "$T/tone-$i.go"
  "$RTPTONE" --to "$gw_host:$gw_port" --from "127.0.0.1:$TONE_PHONE_PORT" --codec $codec --pt $pt "${oa[@]}" \
    --seconds 6 --freq $FREQ --dbfs $LEVEL --loss "${TONE_LOSS:-3}" --reorder "${TONE_REORDER:-3}" --seed $((7 + i)) >>"$T/rtptone.log" 2>&1 &
  tone=$!
  # the gateway's view of the call while the page records (for the log; not asserted)
  sleep 4
  ng=$(dirname "$RTPTONE")/wims-ng
  for cid in $("$ng" -s 127.0.0.1:2223 list 2>/dev/null | grep -o '"[^"]*;wf=[0-9]*"' | tr -d '"'); do
    "$ng" -s 127.0.0.1:2223 query --call-id "$cid" >"$T/ng-query-$i.log" 2>&1
  done
  wait $tone || fail "wims-rtptone failed (see rtptone.log)"
  tail -1 "$T/rtptone.log" | sed 's/^/    /' >&2
  wait_log "$T/alice.log" "call $i: codec toward" 15
  wait_log "$T/volte$i-msgs.log" '^BYE ' 10
  tone_check "$T/rx-$i.wav" $FREQ $LEVEL "IMS $v -> browser"
  sleep 0.7 # sipp -m 1 exits after the BYE's 200 and its pause
done
wait "${_BG_PID[alice]}" || { sed 's/^/    /' "$T/alice.log" >&2; fail "browser script failed"; }
sed 's/^/    /' "$T/alice.log" >&2
assert_log wimsd.log 'transcodes (opus|PCM[AU]) <-> AMR' "wimsd did not transcode"
assert_loopback_only
