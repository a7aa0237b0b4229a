#!/usr/bin/env bash
# recording.sh: what recording every response (the monitor's enhanced
# health, the console's CloudWatch series, the scaling figures) costs
# `elbow up` per request (issue 19, item 2).
#
# Two `elbow up` processes, the same elbow.yaml on different ports, in front
# of the same two targets (bench/backend): one built as users get it, one
# built with -tags norecord (the proxy hands its responses to no recorder).
# Both are loaded at the same time, each by its own wrk -t1 -cCONNS/2 over
# HTTP keep-alive, for ROUNDS rounds of DURATION seconds. Loaded together,
# both see the same machine state: on this 2-core VM a process's CPU per
# request drifts by up to 25 % within a minute, which buries a difference
# of a few per cent between runs made one after the other.
#
# Prints, per round and as medians of the per-round ratios, the recording
# build against the norecord one: CPU per request (utime+stime deltas from
# /proc/PID/stat over the requests wrk completed) and requests served.
#
# Needs: go, wrk. Usage: bench/recording.sh   (ROUNDS=8 DURATION=5
#                                              CONNS=64 PORT_BASE=18500)
set -euo pipefail

ROUNDS=${ROUNDS:-8}
DURATION=${DURATION:-5}
CONNS=${CONNS:-64}
PORT_BASE=${PORT_BASE:-18500}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for tool in go wrk curl; do
	command -v "$tool" >/dev/null || { echo "recording.sh: $tool is not installed" >&2; exit 1; }
done

start_work elbow-recording-bench

T1=127.0.0.2:$PORT_BASE
T2=127.0.0.3:$PORT_BASE
echo "building elbow (default and -tags norecord) and the targets..." >&2
(cd "$ROOT" && go build -o "$WORK/elbow" ./cmd/elbow && go build -tags norecord -o "$WORK/elbow-norecord" ./cmd/elbow &&
	go build -o "$WORK/backend" ./bench/backend)
"$WORK/backend" -addr "$T1" & PIDS+=($!)
"$WORK/backend" -addr "$T2" & PIDS+=($!)

# One environment per build: the same file, its own listener and console ports.
declare -A PID PORT
PORT[record]=$((PORT_BASE + 1))
PORT[norecord]=$((PORT_BASE + 2))
for build in record norecord; do
	mkdir -p "$WORK/$build"
	cat >"$WORK/$build/elbow.yaml" <<YAML
name: recording-$build
instances:
  targets: [$T1, $T2]
target_groups:
  - name: web
    deregistration_delay: 0
    health_check: {path: /, interval: 5, timeout: 2, healthy_threshold: 2}
listeners:
  - protocol: HTTP
    address: 127.0.0.1
    port: ${PORT[$build]}
    default_action: {target_group: web}
console:
  address: 127.0.0.1:$((PORT[$build] + 10))
YAML
	bin="$WORK/elbow"
	[ "$build" = norecord ] && bin="$WORK/elbow-norecord"
	(cd "$WORK/$build" && exec "$bin" up -c elbow.yaml >up.log 2>&1) &
	PID[$build]=$!
	PIDS+=($!)
done
for build in record norecord; do
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "http://127.0.0.1:${PORT[$build]}/" 2>/dev/null && break
		sleep 0.1
	done
done
sleep 4 # both targets healthy (two checks 5 s apart would be slower: the first counts)

half=$((CONNS / 2))
echo "recording.sh, $(date -u +%F), ROUNDS=$ROUNDS DURATION=${DURATION}s, wrk -t1 -c$half on each, $(nproc) cores, $(go version | awk '{print $3}')"
echo "round  record: req  cpu/req us   norecord: req  cpu/req us   ratio record/norecord: cpu/req  req"
cpu_ratios=() req_ratios=()
for round in $(seq "$ROUNDS"); do
	r0=$(cpu_ticks "${PID[record]}")
	n0=$(cpu_ticks "${PID[norecord]}")
	wrk -t1 -c"$half" -d"${DURATION}s" "http://127.0.0.1:${PORT[record]}/" >"$WORK/record.out" 2>&1 &
	wr=$!
	wrk -t1 -c"$half" -d"${DURATION}s" "http://127.0.0.1:${PORT[norecord]}/" >"$WORK/norecord.out" 2>&1 &
	wn=$!
	wait "$wr" "$wn"
	r1=$(cpu_ticks "${PID[record]}")
	n1=$(cpu_ticks "${PID[norecord]}")
	rr=$(awk '/requests in/{print $1}' "$WORK/record.out")
	rn=$(awk '/requests in/{print $1}' "$WORK/norecord.out")
	tick=$(getconf CLK_TCK)
	line=$(awk -v r0="$r0" -v r1="$r1" -v n0="$n0" -v n1="$n1" -v rr="$rr" -v rn="$rn" -v t="$tick" 'BEGIN{
		cr = (r1-r0)/t/rr*1e6; cn = (n1-n0)/t/rn*1e6
		printf "%.1f %.1f %.3f %.3f", cr, cn, cr/cn, rr/rn }')
	read -r cr cn cpu_ratio req_ratio <<<"$line"
	printf "%5d  %12d  %10.1f   %14d  %10.1f   %28.3f %6.3f\n" "$round" "$rr" "$cr" "$rn" "$cn" "$cpu_ratio" "$req_ratio"
	cpu_ratios+=("$cpu_ratio")
	req_ratios+=("$req_ratio")
done
echo
echo "medians of the per-round ratios, record/norecord: cpu/req $(printf '%s\n' "${cpu_ratios[@]}" | median)  req $(printf '%s\n' "${req_ratios[@]}" | median)"
