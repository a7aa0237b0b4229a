#!/usr/bin/env bash
# recording.sh: what recording every response (the monitor's enhanced
# health, the console's CloudWatch series, the scaling figures) costs
# `elbow up` per request (issue 19, item 2): bench/ab.sh with A the build
# with -tags norecord (internal/environment/record_norecord.go: the proxy
# hands its responses to no recorder) and B the working tree as users get
# it. The ratios B/A are recording / not recording.
#
# Needs what bench/ab.sh needs. Usage: bench/recording.sh   (ROUNDS, DURATION,
# CONNS, ROW, PORT_BASE as for bench/ab.sh)
set -euo pipefail
A=tags:norecord B=tree exec "$(dirname "$0")/ab.sh"
