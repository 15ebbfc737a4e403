package app

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkGetMe runs GET /v1/me through the whole handler chain (JWT,
// session check, patient read on SQLite) without the network, to profile
// the server's share of the cost. The load figures come from cmd/loadbench.
func BenchmarkGetMe(b *testing.B) {
	t := &testing.T{}
	ta := newTestApp(t)
	ta.t = t
	tok := ta.signInPatient("+79990001234")
	h := ta.f.Handler()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.SetRequestURI("/v1/me")
			ctx.Request.Header.SetMethod("GET")
			ctx.Request.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			h(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
	})
}

// benchClinic sets up a clinic with the example program and n joined cards.
func benchClinic(b *testing.B, n int) (*testApp, clinicFixture, []string, []string) {
	t := &testing.T{}
	ta := newTestApp(t)
	ta.t = t
	cl := ta.clinicWithProgram("Bench", "bench.test")
	var cards, toks []string
	for i := range n {
		_, tok := ta.patient(fmt.Sprintf("+7901%07d", i))
		var v struct {
			ID string `json:"card_id"`
		}
		ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}).decode(t, &v)
		cards, toks = append(cards, v.ID), append(toks, tok)
	}
	return ta, cl, cards, toks
}

func serveBench(b *testing.B, ta *testApp, fill func(i int, req *fasthttp.Request), want int) {
	h := ta.f.Handler()
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			fill(int(seq.Add(1)), &ctx.Request)
			h(&ctx)
			if ctx.Response.StatusCode() != want {
				b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
	})
}

// BenchmarkCardRead is GET /v1/cards/{id} through the handler chain.
func BenchmarkCardRead(b *testing.B) {
	ta, _, cards, toks := benchClinic(b, 16)
	serveBench(b, ta, func(i int, req *fasthttp.Request) {
		req.SetRequestURI("/v1/cards/" + cards[i%len(cards)])
		req.Header.Set("Authorization", "Bearer "+toks[i%len(cards)])
	}, 200)
}

// BenchmarkReceipt is POST /v1/clinic/receipts through the handler chain.
func BenchmarkReceipt(b *testing.B) {
	ta, cl, cards, _ := benchClinic(b, 500)
	serveBench(b, ta, func(i int, req *fasthttp.Request) {
		req.SetRequestURI("/v1/clinic/receipts")
		req.Header.SetMethod("POST")
		req.Header.SetContentType("application/json")
		req.Header.Set("Authorization", "Bearer "+cl.admin)
		req.SetBodyString(fmt.Sprintf(`{"card_id":%q,"receipt_id":"B-%d","lines":[{"service":"CONS-01","amount":100000}]}`, cards[i%len(cards)], i))
	}, 200)
}
