package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// request fills req for the i-th request of worker w.
type request func(w, i int, req *fasthttp.Request)

// result is one round against one target.
type result struct {
	Requests int
	Errors   int
	Elapsed  time.Duration
	P50, P99 time.Duration
}

func (r result) rps() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// drive runs conns closed-loop workers against addr for d. A response
// with another status than want counts as an error (and in the latency).
func drive(ctx context.Context, addr string, conns int, d time.Duration, fill request, want int) result {
	client := &fasthttp.HostClient{Addr: addr, MaxConns: conns, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var errs atomic.Int64
	lats := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conns {
		wg.Go(func() {
			req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(res)
			for i := 0; ctx.Err() == nil; i++ {
				req.Reset()
				fill(w, i, req)
				t := time.Now()
				err := client.Do(req, res)
				lats[w] = append(lats[w], time.Since(t))
				if err != nil || res.StatusCode() != want {
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return summarize(lats, int(errs.Load()), time.Since(start))
}

func summarize(lats [][]time.Duration, errs int, elapsed time.Duration) result {
	all := slices.Concat(lats...)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r := result{Requests: len(all), Errors: errs, Elapsed: elapsed}
	if len(all) > 0 {
		r.P50 = all[len(all)*50/100]
		r.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return r
}

// compare alternates rounds of the named targets and prints each round
// and the medians; the first target is the baseline for the ratios.
func compare(ctx context.Context, out io.Writer, o options, names []string, run func(name string) result) {
	per := map[string][]result{}
	round := o.duration.String()
	if o.roundSize != "" {
		round = o.roundSize
	}
	fmt.Fprintf(out, "%d connections, %s per round, %d rounds each, servers on CPU %q\n", o.conns, round, o.rounds, o.serverCPU)
	fmt.Fprintf(out, "%-28s %6s %10s %10s %10s %8s\n", "target", "round", "req/s", "p50", "p99", "errors")
	for round := 1; round <= o.rounds && ctx.Err() == nil; round++ {
		for _, n := range names {
			r := run(n)
			per[n] = append(per[n], r)
			fmt.Fprintf(out, "%-28s %6d %10.0f %10s %10s %8d\n", n, round, r.rps(), r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Errors)
		}
	}
	fmt.Fprintln(out, "\nmedians:")
	base := medianRPS(per[names[0]])
	for _, n := range names {
		m := medianRPS(per[n])
		fmt.Fprintf(out, "%-28s %10.0f req/s  p99 %10s  (%.2f× the %s rate)\n", n, m, medianP99(per[n]).Round(time.Microsecond), m/base, names[0])
	}
}

func medianRPS(rs []result) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = r.rps()
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func medianP99(rs []result) time.Duration {
	v := make([]time.Duration, len(rs))
	for i, r := range rs {
		v[i] = r.P99
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// call makes one JSON request and decodes the response into out.
func call(addr, method, path, token string, body any, out any) (int, error) {
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	req.SetRequestURI("http://" + addr + path)
	req.Header.SetMethod(method)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		req.Header.SetContentType("application/json")
		req.SetBody(b)
	}
	if err := fasthttp.DoTimeout(req, res, 30*time.Second); err != nil {
		return 0, err
	}
	if out != nil && len(res.Body()) > 0 {
		if err := json.Unmarshal(res.Body(), out); err != nil {
			return res.StatusCode(), fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode(), res.Body())
		}
	}
	return res.StatusCode(), nil
}
