#!/usr/bin/env bash
# test_ws_dead_peer.sh with wimsd as the IWU behind Kamailio's P-CSCF: a
# frozen JsSIP UE's flow is given up after ping + pong, an INVITE to it gets
# 430 through the P-CSCF and the S-CSCF.
export DEAD_PEER_ROLE=iwu TEST_NAME=${TEST_NAME:-test_iwu_ws_dead_peer}
exec bash "$(dirname "$0")/test_ws_dead_peer.sh" "$@"
