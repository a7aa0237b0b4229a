# Helpers shared by bench/proxy.sh and bench/up.sh: a contender's processes,
# their CPU and memory from /proc (proc(5)), wrk's latencies in ms, medians.

procs() { echo "$1 $(pgrep -P "$1" | tr '\n' ' ')"; }
cpu_ticks() { local t=0 p; for p in $(procs "$1"); do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"; }
peak_rss_kib() { local t=0 p; for p in $(procs "$1"); do t=$((t + $(awk '/VmHWM/{print $2}' "/proc/$p/status"))); done; echo "$t"; }
ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v+0} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000} else print v }'; }
median() { sort -g | awk '{a[NR]=$1} END{ if (NR == 0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

# start_work sets WORK, a fresh directory under /tmp named after $1, and
# PIDS, the background processes to stop; on exit they are stopped and the
# directory removed.
start_work() {
	WORK=$(mktemp -d "/tmp/$1.XXXXXX")
	PIDS=()
	trap stop_work EXIT
}
stop_work() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
