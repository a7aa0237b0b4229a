#!/usr/bin/env bash
# ab.sh: two builds of `elbow up`, loaded at the same time, for differences
# of a few per cent that bench/up.sh cannot see.
#
# Two `elbow up` processes, the same elbow.yaml on other ports, in front of
# the same two targets (bench/backend). Each round loads both at once, each
# by its own wrk -t1 -cCONNS/2, for DURATION seconds: both see the same
# machine state. On this 2-core VM a process's CPU per request drifts by up
# to 25 % within a minute, which buries a few per cent between runs made
# one after the other, as bench/up.sh's contenders are.
#
# A and B say what to build:
#   tree         the working tree (the default for B)
#   rev:REV      git revision REV of this repository (the default for A: rev:HEAD)
#   tags:TAGS    the working tree with go build -tags TAGS
#   bin:PATH     an elbow binary built already
# ROW is http (keep-alive, the default), https (keep-alive over TLS, a
# self-signed certificate made with openssl) or close (HTTPS with a new TLS
# connection per request: wrk -H 'Connection: close', which resumes the TLS
# session it was given, as bench/up.sh's close row) or h2 (HTTP/2 over TLS:
# h2load -t1 -cCONNS/2 -m1 on each, as bench/up.sh's h2 row).
# A_ENV and B_ENV are environment settings for that side's `elbow up`, such
# as GOGC=200 (none by default).
#
# Prints, per round and as medians of the per-round ratios B/A: CPU per
# request (utime+stime deltas from /proc/PID/stat over the requests wrk
# completed), requests served and wrk's p99; and each side's peak resident
# memory (VmHWM). The wrk started first alternates by round.
#
# Needs: go, wrk, curl, git (rev:), openssl (ROW other than http), h2load
# (ROW=h2, Debian's nghttp2-client).
# Usage: A=rev:HEAD~1 B=tree bench/ab.sh   (ROUNDS=8 DURATION=5 CONNS=64
#                                           ROW=http PORT_BASE=18500)
set -euo pipefail

A=${A:-rev:HEAD}
B=${B:-tree}
ROUNDS=${ROUNDS:-8}
DURATION=${DURATION:-5}
CONNS=${CONNS:-64}
ROW=${ROW:-http}
A_ENV=${A_ENV:-}
B_ENV=${B_ENV:-}
PORT_BASE=${PORT_BASE:-18500}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
start_work elbow-ab-bench

for tool in go wrk curl; do
	command -v "$tool" >/dev/null || { echo "ab.sh: $tool is not installed" >&2; exit 1; }
done
case $ROW in
http | https | close) ;;
h2) command -v h2load >/dev/null || { echo "ab.sh: ROW=h2 needs h2load (apt-get install -y nghttp2-client)" >&2; exit 1; } ;;
*) echo "ab.sh: ROW is http, https, close or h2, not $ROW" >&2; exit 1 ;;
esac

# build SPEC OUT: elbow as SPEC says, to OUT.
build() {
	case $1 in
	tree) (cd "$ROOT" && go build -o "$2" ./cmd/elbow) ;;
	tags:*) (cd "$ROOT" && go build -tags "${1#tags:}" -o "$2" ./cmd/elbow) ;;
	bin:*) cp "${1#bin:}" "$2" ;;
	rev:*)
		local src
		src=$(mktemp -d "$WORK/src.XXXXXX")
		git -C "$ROOT" archive "${1#rev:}" | tar -x -C "$src"
		(cd "$src" && go build -o "$2" ./cmd/elbow)
		;;
	*) echo "ab.sh: $1: say tree, rev:REV, tags:TAGS or bin:PATH" >&2; exit 1 ;;
	esac
}

T1=127.0.0.2:$PORT_BASE
T2=127.0.0.3:$PORT_BASE
echo "building A ($A), B ($B) and the targets..." >&2
build "$A" "$WORK/elbow-a"
build "$B" "$WORK/elbow-b"
(cd "$ROOT" && go build -o "$WORK/backend" ./bench/backend)
"$WORK/backend" -addr "$T1" & PIDS+=($!)
"$WORK/backend" -addr "$T2" & PIDS+=($!)

SCHEME=http
PROTOCOL=HTTP
TLS_KEYS=""
WRK_HEADER=()
[ "$ROW" = close ] && WRK_HEADER=(-H 'Connection: close')
if [ "$ROW" != http ]; then
	PROTOCOL=HTTPS
	SCHEME=https
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
	TLS_KEYS="    certificate_file: $WORK/cert.pem
    key_file: $WORK/key.pem"
fi

# One environment per build: the same file, its own listener and console ports.
declare -A PID PORT
PORT[a]=$((PORT_BASE + 1))
PORT[b]=$((PORT_BASE + 2))
for side in a b; do
	mkdir -p "$WORK/$side"
	cat >"$WORK/$side/elbow.yaml" <<YAML
name: ab-$side
instances:
  targets: [$T1, $T2]
target_groups:
  - name: web
    deregistration_delay: 0
    health_check: {path: /, interval: 5, timeout: 2, healthy_threshold: 2}
listeners:
  - protocol: $PROTOCOL
    address: 127.0.0.1
    port: ${PORT[$side]}
$TLS_KEYS
    default_action: {target_group: web}
console:
  address: 127.0.0.1:$((PORT[$side] + 10))
YAML
	side_env=$A_ENV
	[ "$side" = b ] && side_env=$B_ENV
	# shellcheck disable=SC2086 # side_env is a list of NAME=VALUE
	(cd "$WORK/$side" && exec env $side_env "$WORK/elbow-$side" up -c elbow.yaml >up.log 2>&1) &
	PID[$side]=$!
	PIDS+=($!)
done
for side in a b; do
	for _ in $(seq 100); do
		curl -fsSk -o /dev/null "$SCHEME://127.0.0.1:${PORT[$side]}/" 2>/dev/null && break
		sleep 0.1
	done
	curl -fsSk -o /dev/null "$SCHEME://127.0.0.1:${PORT[$side]}/" ||
		{ echo "ab.sh: elbow up ($side) does not answer; its log:" >&2; cat "$WORK/$side/up.log" >&2; exit 1; }
done
sleep 4 # both targets healthy

half=$((CONNS / 2))
tick=$(getconf CLK_TCK)
echo "ab.sh, $(date -u +%F), A=$A${A_ENV:+ ($A_ENV)} B=$B${B_ENV:+ ($B_ENV)} ROW=$ROW ROUNDS=$ROUNDS DURATION=${DURATION}s, $([ "$ROW" = h2 ] && echo h2load -t1 -c$half -m1 || echo wrk -t1 -c$half) on each, $(nproc) cores, $(go version | awk '{print $3}')"
echo "round      A: req  cpu/req us  p99 ms      B: req  cpu/req us  p99 ms   ratio B/A: cpu/req    req    p99"
cpu_ratios=() req_ratios=() p99_ratios=()
# load SIDE: one side's load for the round, its output in $WORK/SIDE.out
# (and h2load's per-request log in $WORK/SIDE.h2log, which h2load opens
# to append: removed first).
load() {
	local url="$SCHEME://127.0.0.1:${PORT[$1]}/"
	if [ "$ROW" = h2 ]; then
		rm -f "$WORK/$1.h2log"
		h2load -t1 -c"$half" -m1 -D "$DURATION" --log-file="$WORK/$1.h2log" "$url" >"$WORK/$1.out" 2>&1
	else
		wrk -t1 -c"$half" -d"${DURATION}s" --latency "${WRK_HEADER[@]}" "$url" >"$WORK/$1.out" 2>&1
	fi
}
# requests SIDE: how many requests the side's load completed.
requests() {
	if [ "$ROW" = h2 ]; then
		awk '/^requests:/{print $8}' "$WORK/$1.out"
	else
		awk '/requests in/{print $1}' "$WORK/$1.out"
	fi
}
# p99_ms SIDE: the 99th percentile latency of the side's load, in ms.
p99_ms() {
	if [ "$ROW" = h2 ]; then
		awk '{print $3/1000}' "$WORK/$1.h2log" | sort -g | awk '{a[NR]=$1} END{print a[int(NR*0.99)+1]}'
	else
		ms "$(awk '$1=="99%"{print $2}' "$WORK/$1.out")"
	fi
}
for round in $(seq "$ROUNDS"); do
	a0=$(cpu_ticks "${PID[a]}")
	b0=$(cpu_ticks "${PID[b]}")
	sides="a b"
	[ $((round % 2)) = 0 ] && sides="b a"
	loads=()
	for side in $sides; do
		load "$side" &
		loads+=($!)
	done
	wait "${loads[@]}"
	a1=$(cpu_ticks "${PID[a]}")
	b1=$(cpu_ticks "${PID[b]}")
	ra=$(requests a)
	rb=$(requests b)
	pa=$(p99_ms a)
	pb=$(p99_ms b)
	read -r ca cb cpu_ratio req_ratio p99_ratio < <(awk -v a0="$a0" -v a1="$a1" -v b0="$b0" -v b1="$b1" -v ra="$ra" -v rb="$rb" -v pa="$pa" -v pb="$pb" -v t="$tick" 'BEGIN{
		ca = (a1-a0)/t/ra*1e6; cb = (b1-b0)/t/rb*1e6
		printf "%.1f %.1f %.3f %.3f %.3f\n", ca, cb, cb/ca, rb/ra, pb/pa }')
	printf "%5d  %9d  %10.1f  %6.2f   %9d  %10.1f  %6.2f   %17.3f %6.3f %6.3f\n" "$round" "$ra" "$ca" "$pa" "$rb" "$cb" "$pb" "$cpu_ratio" "$req_ratio" "$p99_ratio"
	cpu_ratios+=("$cpu_ratio")
	req_ratios+=("$req_ratio")
	p99_ratios+=("$p99_ratio")
done
echo
for side in a b; do
	echo "${side^^}: peak resident memory $(peak_rss_kib "${PID[$side]}") kB"
done
echo "medians of the per-round ratios, B/A: cpu/req $(printf '%s\n' "${cpu_ratios[@]}" | median)  req $(printf '%s\n' "${req_ratios[@]}" | median)  p99 $(printf '%s\n' "${p99_ratios[@]}" | median)"
