package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"

	"carewallet/app/identity"
	"carewallet/push"
)

// raiseFileLimit lifts the soft open-files limit to the hard one.
func raiseFileLimit(tb testing.TB, need uint64) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		tb.Fatal(err)
	}
	if rl.Cur < need {
		rl.Cur = min(rl.Max, need)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			tb.Fatal(err)
		}
	}
	if rl.Cur < need {
		tb.Skipf("open files limit %d < %d", rl.Cur, need)
	}
}

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// goMemParts is the heap in use (live objects and the free room in their
// spans) and the goroutine stacks, after a full collection.
func goMemParts() (heap, stack int64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse), int64(ms.StackInuse)
}

// BenchmarkWebsocketIdle holds BENCH_WS_CONNS (default 10,000) idle
// authenticated websockets, one per patient, opened by a client process
// (this test binary re-executed, pinned to CPU 1 with taskset when
// available), and reports the server's memory per connection (Go heap +
// stacks, and RSS) and the delivery latency of BENCH_WS_RATE events/s
// (default 1,000) for BENCH_WS_SECONDS (default 10) published to random
// connected patients. Run the server pinned to CPU 0:
//
//	go test -c -o /tmp/app.test ./app && taskset -c 0 /tmp/app.test -test.run '^$' -test.bench WebsocketIdle -test.benchtime 1x
func BenchmarkWebsocketIdle(b *testing.B) {
	n := envInt("BENCH_WS_CONNS", 10_000)
	rate := envInt("BENCH_WS_RATE", 1000)
	secs := envInt("BENCH_WS_SECONDS", 10)
	raiseFileLimit(b, uint64(n)+1000)
	t := &testing.T{}
	ta := newTestApp(t)
	ta.t = t
	ctx := context.Background()

	users := make([]string, n)
	var lines strings.Builder
	for i := range n {
		p, err := ta.deps.Identity.EnsurePatient(ctx, fmt.Sprintf("+7901%07d", i))
		if err != nil {
			b.Fatal(err)
		}
		se, _, err := ta.deps.Identity.StartSession(ctx, identity.Session{Kind: identity.KindPatient, SubjectID: p.ID})
		if err != nil {
			b.Fatal(err)
		}
		tok, _, err := ta.tokens.sign(Principal{Kind: identity.KindPatient, ID: p.ID, SessionID: se.ID}, typeAccess,
			identity.NewID("jt"), time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		users[i] = p.ID
		lines.WriteString(tok + "\n")
	}
	tokFile := filepath.Join(b.TempDir(), "tokens")
	if err := os.WriteFile(tokFile, []byte(lines.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	addr := ta.serve()
	h0, st0 := goMemParts()
	heap0, rss0 := h0+st0, rssBytes()

	args := []string{os.Args[0], "-test.run", "^TestWebsocketLoadClient$", "-test.v"}
	if path, err := exec.LookPath("taskset"); err == nil {
		args = append([]string{path, "-c", "1"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "WSLOAD_ADDR="+addr, "WSLOAD_TOKENS="+tokFile,
		"WSLOAD_EXPECT="+strconv.Itoa(rate*secs))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	waitLine := func(prefix string) string {
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), prefix) {
				return sc.Text()
			}
		}
		b.Fatalf("client ended before %s: %v", prefix, sc.Err())
		return ""
	}
	waitLine("READY")
	for ta.deps.Push.Hub().Count() < n {
		time.Sleep(10 * time.Millisecond)
	}
	h1, st1 := goMemParts()
	heap1, rss1 := h1+st1, rssBytes()
	if path := os.Getenv("BENCH_WS_HEAPPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		_ = pprof.WriteHeapProfile(f)
		f.Close()
	}

	b.ResetTimer()
	start := time.Now()
	total := rate * secs
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
			time.Sleep(d)
		}
		data := fmt.Sprintf(`{"t":%d}`, time.Now().UnixNano())
		if _, err := ta.deps.Push.Publish(ctx, users[rand.IntN(n)], push.Draft{Type: "bench.ping", Data: json.RawMessage(data)}); err != nil {
			b.Fatal(err)
		}
	}
	achieved := float64(total) / time.Since(start).Seconds()
	done := waitLine("DONE")
	b.StopTimer()
	var got, p50, p99, pmax float64
	fmt.Sscanf(done, "DONE %f %f %f %f", &got, &p50, &p99, &pmax)
	b.ReportMetric(float64(heap1-heap0)/float64(n)/1024, "heap-KiB/conn")
	b.ReportMetric(float64(st1-st0)/float64(n)/1024, "stack-KiB/conn")
	b.ReportMetric(float64(rss1-rss0)/float64(n)/1024, "rss-KiB/conn")
	b.ReportMetric(achieved, "events/s")
	b.ReportMetric(got, "delivered")
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(pmax, "max-ms")
}

// TestWebsocketLoadClient is the client side of BenchmarkWebsocketIdle; it
// runs only when the benchmark starts it.
func TestWebsocketLoadClient(t *testing.T) {
	addr := os.Getenv("WSLOAD_ADDR")
	if addr == "" {
		t.Skip("started by BenchmarkWebsocketIdle")
	}
	expect, _ := strconv.Atoi(os.Getenv("WSLOAD_EXPECT"))
	raw, err := os.ReadFile(os.Getenv("WSLOAD_TOKENS"))
	if err != nil {
		t.Fatal(err)
	}
	tokens := strings.Fields(string(raw))
	raiseFileLimit(t, uint64(len(tokens))+1000)
	var mu sync.Mutex
	lat := make([]float64, 0, expect)
	all := make(chan struct{})
	record := func(ms float64) {
		mu.Lock()
		defer mu.Unlock()
		lat = append(lat, ms)
		if len(lat) == expect {
			close(all)
		}
	}
	conns := make([]*fws.Conn, len(tokens))
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			d := fws.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 256}
			c, _, err := d.Dial("ws://"+addr+"/v1/ws", map[string][]string{"Authorization": {"Bearer " + tok}})
			if err != nil {
				t.Error(err)
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, c := range conns {
		go func() {
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					return
				}
				now := time.Now().UnixNano()
				var ev struct {
					Data struct{ T int64 } `json:"data"`
				}
				if json.Unmarshal(msg, &ev) == nil && ev.Data.T > 0 {
					record(float64(now-ev.Data.T) / 1e6)
				}
			}
		}()
	}
	fmt.Println("READY", len(conns))
	select {
	case <-all:
	case <-time.After(time.Duration(expect/100+120) * time.Second):
	}
	mu.Lock()
	l := slices.Clone(lat)
	mu.Unlock()
	slices.Sort(l)
	q := func(p float64) float64 {
		if len(l) == 0 {
			return 0
		}
		return l[min(len(l)-1, int(p*float64(len(l))))]
	}
	fmt.Printf("DONE %d %.3f %.3f %.3f\n", len(l), q(0.50), q(0.99), q(1))
	for _, c := range conns {
		c.Close()
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
