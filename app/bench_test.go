package app

import (
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
