package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
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
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return load(ctx, addr, conns, func(w, i int, req *fasthttp.Request) bool {
		fill(w, i, req)
		return true
	}, want)
}

// driveN sends n requests from conns closed-loop workers.
func driveN(ctx context.Context, addr string, conns, n int, fill func(req *fasthttp.Request), want int) result {
	var left atomic.Int64
	left.Store(int64(n))
	return load(ctx, addr, conns, func(_, _ int, req *fasthttp.Request) bool {
		if left.Add(-1) < 0 {
			return false
		}
		fill(req)
		return true
	}, want)
}

// load runs conns workers, each sending the requests next fills until it
// says there are no more or ctx ends; the first error is printed.
func load(ctx context.Context, addr string, conns int, next func(w, i int, req *fasthttp.Request) bool, want int) result {
	client := &fasthttp.HostClient{Addr: addr, MaxConns: conns, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
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
				if !next(w, i, req) {
					return
				}
				t := time.Now()
				err := client.Do(req, res)
				lats[w] = append(lats[w], time.Since(t))
				if err != nil || res.StatusCode() != want {
					if errs.Add(1) == 1 {
						fmt.Fprintf(os.Stderr, "first error: %v %d %s\n", err, res.StatusCode(), res.Body())
					}
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
