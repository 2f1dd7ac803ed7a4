#!/usr/bin/env bash
# The ng commands of test_ng_rtpengine.sh, answered by wimsd's own AGW
# ([media] ng_listen) instead of a stock rtpengine: the same client, the same
# SDPs, the same expectations.
TEST_NAME=test_ng_wims NG_AGW=wimsd exec "$(dirname "$0")/test_ng_rtpengine.sh"
