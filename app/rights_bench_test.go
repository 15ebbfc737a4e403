package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"carewallet/wallet"
)

// BenchmarkExportStream is GET /v1/me/export over loopback for a patient
// whose card has 10,000 ledger entries, beside the baseline of a patient
// with one entry, in the same run. It reports the peak of the Go heap's
// objects (live, and garbage not yet collected: an upper bound) while the
// export is served, above what was there before it (peak-heap-MiB; the
// issue asks for under 50 MiB), and the size of the document (doc-MiB).
// Sections are written a page (200 entries) at a time, so what is live
// does not grow with the history; the peak is mostly garbage between two
// collections.
func BenchmarkExportStream(b *testing.B) {
	t := &testing.T{}
	ta := newTestApp(t)
	ta.t = t
	cl := ta.clinicWithProgram("Bench", "bench.test")
	_, smallTok, _ := ta.joinCard(cl, "+79015000001")
	_, bigTok, big := ta.joinCard(cl, "+79015000002")
	ctx := context.Background()
	for i := range 9_999 { // with the welcome bonus: 10,000 entries
		if _, err := ta.deps.Wallet.Adjust(ctx, wallet.AdjustRequest{ClinicID: cl.id, StaffID: "st_bench", CardID: big.ID,
			Points: 1, Reason: "bench", IdempotencyKey: fmt.Sprint("b", i)}); err != nil {
			b.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = ta.f.Listener(ln) }()
	defer func() { _ = ta.f.Shutdown() }()
	url := "http://" + ln.Addr().String() + "/v1/me/export"

	for _, c := range []struct {
		name, tok string
	}{{"entries=1", smallTok}, {"entries=10000", bigTok}} {
		b.Run(c.name, func(b *testing.B) {
			var peak, size int64
			for b.Loop() {
				runtime.GC()
				base := liveHeap()
				stop := sampleHeap(&peak, base)
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+c.tok)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				stop()
				if err != nil || res.StatusCode != 200 {
					b.Fatalf("status %d, %v", res.StatusCode, err)
				}
				size = n
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(size)/(1<<20), "doc-MiB")
		})
	}
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

// liveHeap is the bytes of heap objects now (live and not yet swept).
func liveHeap() int64 {
	metrics.Read(heapSample)
	return int64(heapSample[0].Value.Uint64())
}

// sampleHeap records in peak the most heap above base until stop is
// called, reading every millisecond.
func sampleHeap(peak *int64, base int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if d := liveHeap() - base; d > *peak {
				*peak = d
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
