#!/usr/bin/env bash
# proxy.sh: elbow's load balancer against nginx and HAProxy on this machine,
# the same setup for every contender. Two tiny Go targets on
# 127.0.0.2:8000 and 127.0.0.3:8000; each proxy round-robins over both;
# wrk -t1 -c64 -d10s --latency on loopback; ROUNDS interleaved rounds
# (direct, nginx, haproxy, elbow in each); medians. Everything shares the
# machine's cores, so compare the ratios of one run and the proxy CPU per
# request, not absolute requests/s.
#
# Needs: go, nginx, haproxy, wrk (apt-get install -y nginx haproxy wrk).
# Usage: bench/proxy.sh            (ROUNDS=3 DURATION=10s CONNS=64 by default)
# elbow adds X-Forwarded-For, -Proto, -Port and X-Amzn-Trace-Id to every
# request, as the ALB does; nginx and HAProxy are configured to add the same
# four (a request id for the trace header), which is how they front an app
# that needs the client's address and scheme. BARE_PEERS=1 leaves them out
# and measures nginx and HAProxy doing less work than elbow.
# ELBOW_BASE=/path/to/elbowlb adds that build as a fifth contender, "base",
# on 127.0.0.1:8084 (before/after figures from the same run); ELBOW_FLAGS
# are extra flags for this tree's elbowlb.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
# TARGET_PORT: the targets' port on 127.0.0.2 and 127.0.0.3 (8000 unless taken).
TARGET_PORT=${TARGET_PORT:-8000}
T1=127.0.0.2:$TARGET_PORT
T2=127.0.0.3:$TARGET_PORT
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
start_work elbow-bench

for tool in go nginx haproxy wrk; do
	command -v "$tool" >/dev/null || { echo "proxy.sh: $tool is not installed (apt-get install -y nginx haproxy wrk)" >&2; exit 1; }
done

ELBOW_BASE=${ELBOW_BASE:-}
BARE_PEERS=${BARE_PEERS:-}
NGINX_HEADERS='proxy_set_header Host $http_host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Forwarded-Proto $scheme; proxy_set_header X-Forwarded-Port $server_port; proxy_set_header X-Amzn-Trace-Id $request_id;'
HAPROXY_HEADERS='  option forwardfor
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Port %[dst_port]
  http-request set-header X-Amzn-Trace-Id %[uuid]'
PEER_HEADERS="X-Forwarded-For, -Proto, -Port and a request id added by every proxy"
if [ -n "$BARE_PEERS" ]; then
	NGINX_HEADERS= HAPROXY_HEADERS= PEER_HEADERS="nginx and HAProxy add no header (BARE_PEERS), elbow its four"
fi
ELBOW_FLAGS=${ELBOW_FLAGS:-}
for addr in $T1 $T2 127.0.0.1:8081 127.0.0.1:8082 127.0.0.1:8083 127.0.0.1:8084; do
	if ss -Hltn "( sport = :${addr##*:} )" | grep -q "${addr%:*}:${addr##*:}\b\|\*:${addr##*:}\b\|0.0.0.0:${addr##*:}\b"; then
		echo "proxy.sh: $addr is in use; set TARGET_PORT or free it" >&2
		exit 1
	fi
done

echo "building targets and elbowlb..." >&2
(cd "$ROOT" && go build -o "$WORK/backend" ./bench/backend && go build -o "$WORK/elbowlb" ./bench/elbowlb)

"$WORK/backend" -addr "$T1" & PIDS+=($!)
"$WORK/backend" -addr "$T2" & PIDS+=($!)

mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<NGINX
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 8192; use epoll; }
http {
  access_log off; keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
  upstream backends { server $T1; server $T2; keepalive 64; keepalive_requests 1000000; }
  server { listen 127.0.0.1:8081 backlog=4096;
    location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection ""; $NGINX_HEADERS } } }
NGINX
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -g 'daemon off;' & PIDS+=($!)
NGINX_PID=$!

cat >"$WORK/haproxy.cfg" <<HAPROXY
global
  nbthread 2
  maxconn 4096
defaults
  mode http
  timeout connect 10s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend fe
  bind 127.0.0.1:8083
$HAPROXY_HEADERS
  default_backend be
backend be
  balance roundrobin
  server t1 $T1
  server t2 $T2
HAPROXY
haproxy -f "$WORK/haproxy.cfg" & PIDS+=($!)
HAPROXY_PID=$!

# shellcheck disable=SC2086 # ELBOW_FLAGS is a list of flags
"$WORK/elbowlb" -listen 127.0.0.1:8082 -targets "$T1,$T2" $ELBOW_FLAGS & PIDS+=($!)
ELBOW_PID=$!
BASE_PID=
NAMES="direct nginx haproxy elbow"
if [ -n "$ELBOW_BASE" ]; then
	"$ELBOW_BASE" -listen 127.0.0.1:8084 -targets "$T1,$T2" & PIDS+=($!)
	BASE_PID=$!
	NAMES="$NAMES base"
fi

for url in $T1 127.0.0.1:8081 127.0.0.1:8083 127.0.0.1:8082 ${BASE_PID:+127.0.0.1:8084}; do
	for _ in $(seq 50); do curl -fsS -o /dev/null "http://$url/" 2>/dev/null && break; sleep 0.1; done
	curl -fsS -o /dev/null "http://$url/" || { echo "proxy.sh: $url does not answer" >&2; exit 1; }
done

# pids of a proxy: the process and its children (nginx workers).
# cpu_ticks: utime+stime of the processes, in clock ticks.
# peak_rss_kib: VmHWM summed over the processes.
# ms: a wrk latency (850.00us, 1.23ms, 1.01s) in milliseconds.

TICK=$(getconf CLK_TCK)
RESULTS="$WORK/results"
: >"$RESULTS"
run() { # name url pid
	local name=$1 url=$2 pid=${3:-} before=0 after=0 out rps p50 p99 cpu=-
	[ -n "$pid" ] && before=$(cpu_ticks "$pid")
	out=$(wrk -t1 -c"$CONNS" -d"$DURATION" --latency "http://$url/")
	[ -n "$pid" ] && after=$(cpu_ticks "$pid")
	rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
	p50=$(ms "$(awk '$1=="50%"{print $2}' <<<"$out")")
	p99=$(ms "$(awk '$1=="99%"{print $2}' <<<"$out")")
	local total
	total=$(awk '/requests in/{print $1}' <<<"$out")
	if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then echo "proxy.sh: $name: $(grep 'Non-2xx\|Socket errors' <<<"$out")" >&2; fi
	[ -n "$pid" ] && cpu=$(awk -v t=$((after - before)) -v n="$total" -v hz="$TICK" 'BEGIN{printf "%.1f", t/hz/n*1e6}')
	echo "$name $rps $p50 $p99 $cpu" >>"$RESULTS"
	printf '  %-8s %10s req/s  p50 %7s ms  p99 %7s ms  cpu/req %6s us\n' "$name" "$rps" "$p50" "$p99" "$cpu" >&2
}

for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS" >&2
	run direct "$T1"
	run nginx 127.0.0.1:8081 "$NGINX_PID"
	run haproxy 127.0.0.1:8083 "$HAPROXY_PID"
	run elbow 127.0.0.1:8082 "$ELBOW_PID"
	if [ -n "$BASE_PID" ]; then run base 127.0.0.1:8084 "$BASE_PID"; fi
done

col() { awk -v n="$1" -v c="$2" '$1==n{print $c}' "$RESULTS" | median; }

echo
echo "wrk -t1 -c$CONNS -d$DURATION --latency, $ROUNDS interleaved rounds, medians; $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "headers: $PEER_HEADERS"
printf '%-8s %10s %9s %9s %14s %14s\n' proxy "req/s" "p50 ms" "p99 ms" "cpu/req us" "peak RSS MiB"
declare -A RPS P99
for name in $NAMES; do
	pid=""
	case $name in nginx) pid=$NGINX_PID ;; haproxy) pid=$HAPROXY_PID ;; elbow) pid=$ELBOW_PID ;; base) pid=$BASE_PID ;; esac
	rss=-
	[ -n "$pid" ] && rss=$(awk -v k="$(peak_rss_kib "$pid")" 'BEGIN{printf "%.1f", k/1024}')
	cpu=-
	[ -n "$pid" ] && cpu=$(col "$name" 5)
	RPS[$name]=$(col "$name" 2)
	P99[$name]=$(col "$name" 4)
	printf '%-8s %10.0f %9s %9s %14s %14s\n' "$name" "${RPS[$name]}" "$(col "$name" 3)" "${P99[$name]}" "$cpu" "$rss"
done
echo
echo "elbow against the others, median of the per-round ratios (same round, same machine state):"
for other in nginx haproxy ${BASE_PID:+base}; do
	rps=$(awk -v o="$other" '$1=="elbow"{e[++i]=$2} $1==o{n[++j]=$2} END{for(k=1;k<=i;k++) print e[k]/n[k]}' "$RESULTS" | median)
	p99=$(awk -v o="$other" '$1=="elbow"{e[++i]=$4} $1==o{n[++j]=$4} END{for(k=1;k<=i;k++) print e[k]/n[k]}' "$RESULTS" | median)
	cpu=$(awk -v o="$other" '$1=="elbow"{e[++i]=$5} $1==o{n[++j]=$5} END{for(k=1;k<=i;k++) print e[k]/n[k]}' "$RESULTS" | median)
	printf 'elbow/%-8s req/s %.2f   p99 %.2f   cpu/req %.2f\n' "$other" "$rps" "$p99" "$cpu"
done
