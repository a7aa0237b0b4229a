#!/usr/bin/env bash
# up.sh: `elbow up` (the product as users run it) against nginx and HAProxy
# over HTTP and HTTPS, in one run on this machine (issue 19, item 1).
#
# Two tiny Go targets (bench/backend) on 127.0.0.2 and 127.0.0.3; in front of
# both, each with an HTTP and an HTTPS listener (one self-signed certificate,
# TLS 1.2 and 1.3, ALPN h2 and http/1.1):
#   elbow   `elbow up -c elbow.yaml`: instances.targets, a target group with
#           health checks, the monitor and the console on loopback;
#   nginx   2 workers, upstream keepalive, http2 on the TLS listener;
#   haproxy nbthread 2, http-reuse always, alpn h2,http/1.1;
#   elbowlb bench/elbowlb, the data path alone: a diagnostic, HTTP only.
# nginx and HAProxy add the four headers elbow adds (X-Forwarded-For, -Proto,
# -Port, a request id), as bench/proxy.sh does.
#
# Rows, each driven on loopback, ROUNDS interleaved rounds (the contenders'
# order changes every round: see order), DURATION seconds each:
#   http   wrk -t1 -cCONNS, keep-alive
#   https  wrk -t1 -cCONNS, keep-alive over TLS
#   close  wrk -t1 -cCONNS -H 'Connection: close': a new TLS connection per request
#   h2     h2load -t1 -cCONNS -mH2_STREAMS over TLS (skipped when h2load is absent:
#          apt-get install -y nghttp2-client); its p50/p99 come from --log-file
#   pair   `elbow up` and elbowlb over HTTP keep-alive at the same time, each
#          by its own wrk -t1 -c(CONNS/2): what the monitor, the console and
#          the checker cost `elbow up` beside the bare data path, measured in
#          one machine state. In the http row the two run 4 s apart, and on
#          this VM a process's CPU per request moves by a quarter between
#          two such slices, more than the 5 % the comparison is about.
# CPU per request: utime+stime deltas (/proc/PID/stat) of the contender's
# processes (nginx: master and workers) during its own run, over the requests
# wrk or h2load completed. Beside it, for the whole machine during the run:
# idle, the share of both cores left idle (/proc/stat), and the CPU per
# request of the two targets and of the load generator (its rusage, from
# bash's times). On this 2-core VM all of them share the cores, so a proxy's
# req/s moves with what it makes the others spend and with how often it
# leaves a core idle, not only with its own CPU per request.
#
# Every contender is a background job of this script, in this script's
# session: with the kernel's autogroup scheduling (sched_autogroup_enabled=1)
# a process in a session of its own (setsid, a daemonizing nginx or HAProxy)
# gets a different share of the cores. The script checks the session ids.
#
# Needs: go, openssl, nginx, haproxy, wrk, curl; h2load optional.
# Usage: bench/up.sh   (ROUNDS=8 DURATION=4 CONNS=64 H2_STREAMS=1
#                       CERT_KEY=rsa:2048 PORT_BASE=18000 by default;
#                       ROWS="h2" runs some rows only, for a quick look;
#                       TAGS=norecord builds elbow with those build tags,
#                       a diagnostic: results for RESULTS.md use none)
set -euo pipefail

# Eight rounds of 4 s (an even count: see order): on this 2-core VM shared with other machines a
# contender's CPU per request drifts by up to 25 % within a minute; shorter
# slices closer together, and more of them, steady the per-round ratios.
# With five, two identical processes loaded at once read 0.98-1.07 of each
# other per round, and a median of five moved by a few per cent.
ROUNDS=${ROUNDS:-8}
DURATION=${DURATION:-4}
CONNS=${CONNS:-64}
H2_STREAMS=${H2_STREAMS:-1}
# rsa:2048 is ACM's default key, the certificate most ALBs serve; CERT_KEY=ec
# uses P-256.
CERT_KEY=${CERT_KEY:-rsa:2048}
PORT_BASE=${PORT_BASE:-18000}
T1=127.0.0.2:$PORT_BASE
T2=127.0.0.3:$PORT_BASE
L=127.0.0.1
declare -A HTTP_PORT=([nginx]=$((PORT_BASE + 81)) [elbow]=$((PORT_BASE + 82)) [haproxy]=$((PORT_BASE + 83)) [elbowlb]=$((PORT_BASE + 84)))
declare -A TLS_PORT=([nginx]=$((PORT_BASE + 441)) [elbow]=$((PORT_BASE + 442)) [haproxy]=$((PORT_BASE + 443)))
CONSOLE=$L:$((PORT_BASE + 99))
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
start_work elbow-up-bench

for tool in go openssl nginx haproxy wrk curl; do
	command -v "$tool" >/dev/null || { echo "up.sh: $tool is not installed (apt-get install -y openssl nginx haproxy wrk curl)" >&2; exit 1; }
done
H2LOAD=$(command -v h2load || true)

for addr in $T1 $T2 $L:${HTTP_PORT[nginx]} $L:${HTTP_PORT[elbow]} $L:${HTTP_PORT[haproxy]} $L:${HTTP_PORT[elbowlb]} \
	$L:${TLS_PORT[nginx]} $L:${TLS_PORT[elbow]} $L:${TLS_PORT[haproxy]} $CONSOLE; do
	if ss -Hltn "( sport = :${addr##*:} )" | grep -q "${addr%:*}:${addr##*:}\b\|\*:${addr##*:}\b\|0.0.0.0:${addr##*:}\b"; then
		echo "up.sh: $addr is in use; set PORT_BASE or free it" >&2
		exit 1
	fi
done

echo "building elbow, elbowlb and the targets..." >&2
(cd "$ROOT" && go build -tags "${TAGS:-}" -o "$WORK/elbow" ./cmd/elbow && go build -o "$WORK/elbowlb" ./bench/elbowlb &&
	go build -o "$WORK/backend" ./bench/backend)
openssl req -x509 -newkey "$CERT_KEY" $([ "$CERT_KEY" = ec ] && echo -pkeyopt ec_paramgen_curve:P-256) \
	-nodes -days 2 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
cat "$WORK/cert.pem" "$WORK/key.pem" >"$WORK/haproxy.pem"

"$WORK/backend" -addr "$T1" & PIDS+=($!)
TARGET_PIDS=$!
"$WORK/backend" -addr "$T2" & PIDS+=($!)
TARGET_PIDS="$TARGET_PIDS $!"

declare -A PID
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
  ssl_certificate $WORK/cert.pem; ssl_certificate_key $WORK/key.pem; ssl_protocols TLSv1.2 TLSv1.3;
  upstream backends { server $T1; server $T2; keepalive 64; keepalive_requests 1000000; }
  server { listen $L:${HTTP_PORT[nginx]} backlog=4096; listen $L:${TLS_PORT[nginx]} ssl http2 backlog=4096;
    location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host \$http_host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme; proxy_set_header X-Forwarded-Port \$server_port;
      proxy_set_header X-Amzn-Trace-Id \$request_id; } } }
NGINX
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -g 'daemon off;' & PIDS+=($!)
PID[nginx]=$!

cat >"$WORK/haproxy.cfg" <<HAPROXY
global
  nbthread 2
  maxconn 4096
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  timeout connect 10s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend fe
  bind $L:${HTTP_PORT[haproxy]}
  option forwardfor
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Port %[dst_port]
  http-request set-header X-Amzn-Trace-Id %[uuid]
  default_backend be
frontend fes
  bind $L:${TLS_PORT[haproxy]} ssl crt $WORK/haproxy.pem alpn h2,http/1.1
  option forwardfor
  http-request set-header X-Forwarded-Proto https
  http-request set-header X-Forwarded-Port %[dst_port]
  http-request set-header X-Amzn-Trace-Id %[uuid]
  default_backend be
backend be
  balance roundrobin
  server t1 $T1
  server t2 $T2
HAPROXY
haproxy -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log" & PIDS+=($!)
PID[haproxy]=$!

mkdir -p "$WORK/env"
cat >"$WORK/env/elbow.yaml" <<YAML
name: bench
instances:
  targets: [$T1, $T2]
target_groups:
  - name: web
    deregistration_delay: 0
    health_check:
      path: /
      interval: 5
      timeout: 2
      healthy_threshold: 2
listeners:
  - protocol: HTTP
    port: ${HTTP_PORT[elbow]}
    default_action: {target_group: web}
  - protocol: HTTPS
    port: ${TLS_PORT[elbow]}
    certificate_file: $WORK/cert.pem
    key_file: $WORK/key.pem
    default_action: {target_group: web}
console:
  address: $CONSOLE
YAML
"$WORK/elbow" validate -c "$WORK/env/elbow.yaml" >/dev/null
(cd "$WORK/env" && exec "$WORK/elbow" up -c elbow.yaml >"$WORK/elbow.log" 2>&1) & PIDS+=($!)
PID[elbow]=$!
"$WORK/elbowlb" -listen "$L:${HTTP_PORT[elbowlb]}" -targets "$T1,$T2" & PIDS+=($!)
PID[elbowlb]=$!

urls="http://$T1/ http://$T2/ http://$CONSOLE/"
for name in nginx haproxy elbow elbowlb; do urls="$urls http://$L:${HTTP_PORT[$name]}/"; done
for name in nginx haproxy elbow; do urls="$urls https://$L:${TLS_PORT[$name]}/"; done
for url in $urls; do
	for _ in $(seq 100); do curl -kfsS -o /dev/null "$url" 2>/dev/null && break; sleep 0.1; done
	curl -kfsS -o /dev/null "$url" || { echo "up.sh: $url does not answer" >&2; tail -20 "$WORK/elbow.log" >&2; exit 1; }
done
# Measure elbow with both targets healthy, as users see it at steady state.
for _ in $(seq 60); do
	[ "$("$WORK/elbow" targets --console "http://$CONSOLE" 2>/dev/null | grep -ci '\bhealthy\b')" -ge 2 ] && break
	sleep 0.5
done
"$WORK/elbow" targets --console "http://$CONSOLE" >&2 || true
if [ -n "$H2LOAD" ]; then
	for name in nginx haproxy elbow; do
		proto=$(curl -ksS --http2 -o /dev/null -w '%{http_version}' "https://$L:${TLS_PORT[$name]}/")
		[ "$proto" = 2 ] || echo "up.sh: $name answers HTTP/$proto to an HTTP/2 client" >&2
	done
fi

# Same session for every contender (autogroup scheduling, see above).
mysid=$(ps -o sid= -p $$ | tr -d ' ')
for name in nginx haproxy elbow elbowlb; do
	sid=$(ps -o sid= -p "${PID[$name]}" | tr -d ' ')
	[ "$sid" = "$mysid" ] || echo "up.sh: WARNING: $name runs in session $sid, not the script's $mysid" >&2
done

# pids of a contender: the process and its children (nginx workers).
TICK=$(getconf CLK_TCK)
RESULTS="$WORK/results"
: >"$RESULTS"

# targets_ticks: the targets' CPU in clock ticks; client_seconds: the CPU
# (user+system) of this script's waited-for children, the load generators
# among them; cpu_split: the machine's busy and idle ticks (/proc/stat).
targets_ticks() { local t=0 p; for p in $TARGET_PIDS; do t=$((t + $(cpu_ticks "$p"))); done; echo "$t"; }
# (times runs in this shell: a subshell's children times start at zero.)
client_seconds() { awk 'NR==2{gsub(/[ms]/," "); print $1*60+$2+$3*60+$4}' "$WORK/times"; }
cpu_split() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat; }

# wrk_figures WHAT OUT: req/s, requests, p50 and p99 (ms) of wrk's output
# OUT, on one line; non-2xx answers and socket errors are reported on
# stderr, named WHAT.
wrk_figures() {
	local out=$2
	if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then echo "up.sh: $1: $(grep 'Non-2xx\|Socket errors' <<<"$out")" >&2; fi
	echo "$(awk '/Requests\/sec/{print $2}' <<<"$out") $(awk '/requests in/{print $1}' <<<"$out")" \
		"$(ms "$(awk '$1=="50%"{print $2}' <<<"$out")")" "$(ms "$(awk '$1=="99%"{print $2}' <<<"$out")")"
}

run() { # row name round
	local row=$1 name=$2 round=$3 pid=${PID[$2]} before after out rps p50 p99 total cpu
	local t0 t1 c0 c1 s0 s1 idle targets client
	local url="https://$L:${TLS_PORT[$name]:-}/"
	[ "$row" = http ] && url="http://$L:${HTTP_PORT[$name]}/"
	times >"$WORK/times"
	t0=$(targets_ticks) c0=$(client_seconds) s0=$(cpu_split)
	before=$(cpu_ticks "$pid")
	case $row in
	h2)
		# h2load opens its --log-file to append (O_APPEND): without the rm,
		# each run's p50 and p99 were over every h2 run before it, of every
		# contender, and read the same for all three.
		rm -f "$WORK/h2.log"
		out=$("$H2LOAD" -t1 -c"$CONNS" -m"$H2_STREAMS" -D "$DURATION" --log-file="$WORK/h2.log" "$url" 2>&1)
		;;
	close) out=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H 'Connection: close' "$url") ;;
	*) out=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$url") ;;
	esac
	after=$(cpu_ticks "$pid")
	times >"$WORK/times"
	t1=$(targets_ticks) c1=$(client_seconds) s1=$(cpu_split)
	if [ "$row" = h2 ]; then
		rps=$(awk '/^finished in/{gsub(",","",$4); print $4}' <<<"$out")
		total=$(awk '/^requests:/{print $8}' <<<"$out")
		read -r p50 p99 < <(awk '{print $3/1000}' "$WORK/h2.log" | sort -g |
			awk '{a[NR]=$1} END{printf "%s %s\n", a[int(NR*0.50)+1], a[int(NR*0.99)+1]}')
		grep -q ' 0 failed, 0 errored' <<<"$out" || echo "up.sh: $row $name: $(grep '^requests:' <<<"$out")" >&2
	else
		read -r rps total p50 p99 < <(wrk_figures "$row $name" "$out")
	fi
	cpu=$(awk -v t=$((after - before)) -v n="$total" -v hz="$TICK" 'BEGIN{ if (n > 0) printf "%.1f", t/hz/n*1e6; else print "nan" }')
	read -r idle targets client < <(awk -v s0="$s0" -v s1="$s1" -v t=$((t1 - t0)) -v c0="$c0" -v c1="$c1" -v n="$total" -v hz="$TICK" 'BEGIN{
		split(s0, a, " "); split(s1, b, " "); busy = b[1] - a[1]; free = b[2] - a[2]
		if (n > 0) printf "%.1f %.1f %.1f\n", 100*free/(busy+free), t/hz/n*1e6, (c1-c0)/n*1e6; else print "nan nan nan" }')
	echo "$row $name $rps $p50 $p99 $cpu $round $idle $targets $client" >>"$RESULTS"
	printf '  %-5s %-8s %10s req/s  p50 %7s ms  p99 %7s ms  cpu/req %6s us  idle %5s %%  targets %5s us  client %5s us\n' \
		"$row" "$name" "$rps" "$p50" "$p99" "$cpu" "$idle" "$targets" "$client" >&2
}

# run_pair ROUND: the pair row, `elbow up` and elbowlb loaded at once. The
# machine-wide columns (idle, targets, client) are left out: both share them.
# The wrk started first takes the first place in the run queue; which one
# that is changes by round, as order says (two identical elbowlb read
# 0.98-1.07, first over second, in six rounds), and an even ROUNDS starts
# each first equally often.
run_pair() {
	local round=$1 name out rps total p50 p99 cpu loads=()
	declare -A before after
	for name in elbow elbowlb; do before[$name]=$(cpu_ticks "${PID[$name]}"); done
	# shellcheck disable=SC2046 # two names
	for name in $(order "$((round - 1))" elbow elbowlb); do
		wrk -t1 -c"$((CONNS / 2))" -d"${DURATION}s" --latency "http://$L:${HTTP_PORT[$name]}/" >"$WORK/pair.$name" &
		loads+=($!)
	done
	wait "${loads[@]}"
	for name in elbow elbowlb; do after[$name]=$(cpu_ticks "${PID[$name]}"); done
	for name in elbow elbowlb; do
		out=$(cat "$WORK/pair.$name")
		read -r rps total p50 p99 < <(wrk_figures "pair $name" "$out")
		cpu=$(awk -v t=$((after[$name] - before[$name])) -v n="$total" -v hz="$TICK" 'BEGIN{ if (n > 0) printf "%.1f", t/hz/n*1e6; else print "nan" }')
		echo "pair $name $rps $p50 $p99 $cpu $round nan nan nan" >>"$RESULTS"
		printf '  %-5s %-8s %10s req/s  p50 %7s ms  p99 %7s ms  cpu/req %6s us  (at once, -c%s each)\n' \
			pair "$name" "$rps" "$p50" "$p99" "$cpu" "$((CONNS / 2))" >&2
	done
}

if [ -z "${ROWS:-}" ]; then
	ROWS="http pair https close"
	[ -n "$H2LOAD" ] && ROWS="$ROWS h2"
fi
# order N LIST: the contenders' order in round N+1. Rounds go through the
# list's rotations (each contender takes each place), then the same
# rotations reversed, so that over 2 x (contenders) rounds each one runs
# before each other one as often as after it. Rotations alone did not:
# with three contenders elbow ran before nginx in two rounds of three, and
# on this VM a contender's figures drift within a minute (see ROUNDS).
order() {
	local n=$1; shift
	local a=("$@") k=$# i rot
	rot=$((n % k))
	if (((n / k) % 2 == 0)); then
		for ((i = 0; i < k; i++)); do printf '%s ' "${a[$(((i + rot) % k))]}"; done
	else
		for ((i = k - 1; i >= 0; i--)); do printf '%s ' "${a[$(((i + rot) % k))]}"; done
	fi
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# busy: the machine's CPU in use (all cores, %) over one second, before the run:
# what the other sessions on this machine take.
busy() { local a b; a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat); sleep 1
	b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," "); split(b,y," "); u=y[1]-x[1]; i=y[2]-x[2]; printf "%.0f", 100*u/(u+i)}'; }
BUSY=$(busy)
START=$(date +%s)
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS (load $(cut -d' ' -f1 /proc/loadavg))" >&2
	for row in $ROWS; do
		[ "$row" = pair ] && { run_pair "$round"; continue; }
		names="nginx haproxy elbow"
		[ "$row" = http ] && names="nginx haproxy elbow elbowlb"
		# shellcheck disable=SC2086 # names is a list
		for name in $(order "$((round - 1))" $names); do run "$row" "$name" "$round"; done
	done
done

col() { awk -v r="$1" -v n="$2" -v c="$3" '$1==r && $2==n{print $c}' "$RESULTS" | median; }
ratio() { # row a b column: median over rounds of a/b
	awk -v r="$1" -v a="$2" -v b="$3" -v c="$4" '$1==r && $2==a{x[$7]=$c} $1==r && $2==b{y[$7]=$c}
		END{for (k in x) if (k in y && y[k] > 0) print x[k]/y[k]}' "$RESULTS" | median
}

echo
echo "bench/up.sh, $(date -u +%F), ROUNDS=$ROUNDS DURATION=${DURATION}s CONNS=$CONNS H2_STREAMS=$H2_STREAMS CERT_KEY=$CERT_KEY${TAGS:+ TAGS=$TAGS}, $(($(date +%s) - START)) s of measuring"
echo "machine: $(nproc) cores, sched_autogroup_enabled=$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo -), load before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg)"
echo "CPU in use by others before the run (1 s sample, all cores): $BUSY %"
echo "versions: $(nginx -v 2>&1 | sed 's/.*: //'), haproxy $(haproxy -v | awk 'NR==1{print $3}'), $(wrk -v 2>&1 | awk 'NR==1{print $1, $2}'), $([ -n "$H2LOAD" ] && "$H2LOAD" --version | head -1 || echo 'no h2load'), $(go version | awk '{print $3}'), $(openssl version | awk '{print $1, $2}')"
[ -z "$H2LOAD" ] && echo "h2: skipped, h2load is not installed (apt-get install -y nghttp2-client)"
echo
echo "medians over the rounds:"
printf '%-6s %-8s %10s %9s %9s %12s %7s %11s %10s\n' row proxy "req/s" "p50 ms" "p99 ms" "cpu/req us" "idle %" "targets us" "client us"
for row in $ROWS; do
	names="nginx haproxy elbow"
	[ "$row" = http ] && names="$names elbowlb"
	[ "$row" = pair ] && names="elbow elbowlb"
	for name in $names; do
		printf '%-6s %-8s %10.0f %9s %9s %12s %7s %11s %10s\n' "$row" "$name" "$(col "$row" "$name" 3)" "$(col "$row" "$name" 4)" \
			"$(col "$row" "$name" 5)" "$(col "$row" "$name" 6)" "$(col "$row" "$name" 8)" "$(col "$row" "$name" 9)" "$(col "$row" "$name" 10)"
	done
done
echo
echo "elbow up against the others, medians of the per-round ratios (same round, same machine state):"
printf '%-6s %-16s %7s %7s %9s\n' row ratio "req/s" p99 "cpu/req"
for row in $ROWS; do
	others="nginx haproxy"
	[ "$row" = http ] && others="$others elbowlb"
	[ "$row" = pair ] && others="elbowlb"
	for other in $others; do
		printf '%-6s %-16s %7.2f %7.2f %9.2f\n' "$row" "elbow/$other" "$(ratio "$row" elbow "$other" 3)" "$(ratio "$row" elbow "$other" 5)" "$(ratio "$row" elbow "$other" 6)"
	done
done
