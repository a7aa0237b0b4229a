//go:build linux

// Command checker measures the health checker's cost at scale: N targets on
// loopback, all answered by one server in a separate process, probed at the
// ALB's shortest interval (5 s). It prints the checker process's CPU per
// second of wall time and its memory per target. Goal (issue 2): under 5 % of
// one core and under 8 KiB per target for 10,000 targets.
//
//	go run ./bench/checker [-targets 10000] [-measure 30s]
//
// Linux only: it reads its memory from /proc/self/statm and ties the server
// process's life to its own with the parent-death signal.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

const port = 18123

func main() {
	if os.Getenv("ELBOW_BENCH_ROLE") == "server" {
		serve(atoi(os.Getenv("ELBOW_BENCH_IPS")))
		return
	}
	targets := flag.Int("targets", 10000, "registered targets")
	ips := flag.Int("ips", 40, "loopback addresses the targets are spread over (127.0.0.2 ...)")
	interval := flag.Duration("interval", 5*time.Second, "health check interval")
	warmup := flag.Duration("warmup", 10*time.Second, "time before measuring")
	measure := flag.Duration("measure", 30*time.Second, "measured time")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured time to this file")
	floor := flag.Int("floor", 0, "instead, time this many bare checks with blocking syscalls (socket, connect, write, read, close): the kernel's share of a check on this machine")
	flag.Parse()

	srv := exec.Command(os.Args[0])
	srv.Env = append(os.Environ(), "ELBOW_BENCH_ROLE=server", "ELBOW_BENCH_IPS="+strconv.Itoa(*ips))
	srv.Stderr = os.Stderr
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := srv.Start(); err != nil {
		fail(err)
	}
	defer srv.Process.Kill()
	waitListening(*ips)
	if *floor > 0 {
		measureFloor(*floor)
		return
	}

	runtime.GC()
	debug.FreeOSMemory()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := rssKiB()

	var probes, passed atomic.Int64
	s := healthcheck.EBDefaults()
	s.Interval, s.Timeout = *interval, 2*time.Second
	c := healthcheck.NewChecker(s, healthcheck.Options{
		Observer: observer(func(r healthcheck.Result) {
			probes.Add(1)
			if r.Passed() {
				passed.Add(1)
			}
		}),
		FirstProbeJitter: *interval,
	})
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	go c.Run(ctx)
	for i := range *targets {
		ip := "127.0.0." + strconv.Itoa(2+i%*ips)
		c.Add(healthcheck.Target{ID: fmt.Sprintf("i-%017x", i), IP: ip, Port: port})
	}
	time.Sleep(*warmup)

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fail(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	cpu0, p0, t0 := cpuTime(), probes.Load(), time.Now()
	time.Sleep(*measure)
	cpu1, p1, wall := cpuTime(), probes.Load(), time.Since(t0)

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	rssAfter := rssKiB()

	healthy := 0
	for i := range *targets {
		ip := "127.0.0." + strconv.Itoa(2+i%*ips)
		if c.Health(healthcheck.Target{ID: fmt.Sprintf("i-%017x", i), IP: ip, Port: port}).State == healthcheck.StateHealthy {
			healthy++
		}
	}
	cpuPct := 100 * (cpu1 - cpu0).Seconds() / wall.Seconds()
	heapPer := float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / float64(*targets)
	rssPer := float64(rssAfter-rssBefore) * 1024 / float64(*targets)
	fmt.Printf("targets %d over %d addresses, interval %v, measured %v on %d CPUs (%s)\n", *targets, *ips, *interval, wall.Round(time.Millisecond), runtime.NumCPU(), runtime.Version())
	fmt.Printf("probes/s            %8.0f   (expected %.0f)\n", float64(p1-p0)/wall.Seconds(), float64(*targets)/interval.Seconds())
	fmt.Printf("passed              %8.2f %%\n", 100*float64(passed.Load())/float64(max(probes.Load(), 1)))
	fmt.Printf("healthy at the end  %8d / %d\n", healthy, *targets)
	fmt.Printf("checker CPU         %8.2f %% of one core   (goal < 5 %%)\n", cpuPct)
	fmt.Printf("CPU per probe       %8.1f µs\n", (cpu1-cpu0).Seconds()*1e6/float64(max(p1-p0, 1)))
	fmt.Printf("heap per target     %8.0f B      (goal < 8192 B)\n", heapPer)
	fmt.Printf("RSS per target      %8.0f B      (goal < 8192 B)\n", rssPer)
}

// measureFloor sends n checks with bare blocking syscalls and no Go
// networking at all, and prints the CPU each took: what the loopback TCP
// stack costs per check (both ends run in this process's syscalls), which no
// checker can go below.
func measureFloor(n int) {
	req := []byte("GET / HTTP/1.1\r\nHost: 127.0.0.2:18123\r\nConnection: close\r\nUser-Agent: ELB-HealthChecker/2.0\r\n\r\n")
	buf := make([]byte, 4096)
	sa := &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 2}}
	cpu0, t0 := cpuTime(), time.Now()
	for range n {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
		if err != nil {
			fail(err)
		}
		if err := syscall.Connect(fd, sa); err != nil {
			fail(err)
		}
		syscall.Write(fd, req)
		for {
			m, err := syscall.Read(fd, buf)
			if m <= 0 || err != nil {
				break
			}
		}
		syscall.Close(fd)
	}
	cpu := cpuTime() - cpu0
	fmt.Printf("floor: %d bare checks in %v, CPU per check %.1f µs; at 2000 checks/s that is %.1f %% of one core\n",
		n, time.Since(t0).Round(time.Millisecond), cpu.Seconds()*1e6/float64(n), cpu.Seconds()*1e6/float64(n)*2000/1e6*100)
}

type observer func(healthcheck.Result)

func (o observer) ObserveProbe(r healthcheck.Result) { o(r) }

func serve(ips int) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	for i := range ips {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0."+strconv.Itoa(2+i), strconv.Itoa(port)))
		if err != nil {
			fail(err)
		}
		go http.Serve(ln, h)
	}
	select {}
}

func waitListening(ips int) {
	deadline := time.Now().Add(10 * time.Second)
	for i := range ips {
		addr := net.JoinHostPort("127.0.0."+strconv.Itoa(2+i), strconv.Itoa(port))
		for {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				fail(fmt.Errorf("server not listening on %s: %w", addr, err))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rssKiB() int64 {
	b, _ := os.ReadFile("/proc/self/statm")
	var size, resident int64
	fmt.Sscan(string(b), &size, &resident)
	return resident * int64(os.Getpagesize()) / 1024
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "checker bench:", err)
	os.Exit(1)
}
