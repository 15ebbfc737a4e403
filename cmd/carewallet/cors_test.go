package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestCORS: with CAREWALLET_CORS_ORIGINS set, a listed origin gets a
// preflight answer and CORS headers on every answer (errors included), and
// an unlisted origin gets no CORS header at all, over real HTTP.
func TestCORS(t *testing.T) {
	const web, other = "https://app.smile.test", "https://evil.test"
	base, stop, _ := serveUntilCancel(t, map[string]string{"CAREWALLET_DATA": t.TempDir(),
		"CAREWALLET_CORS_ORIGINS": web + ", http://localhost:3000"})
	defer stop()
	do := func(method, path, origin string, hdr map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	preflight := map[string]string{"Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization, content-type, idempotency-key"}

	res := do("OPTIONS", "/v1/clinic/receipts", web, preflight)
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != web {
		t.Fatalf("preflight from a listed origin: %d %v", res.StatusCode, res.Header)
	}
	allowH := strings.ToLower(res.Header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"authorization", "content-type", "idempotency-key"} {
		if !strings.Contains(allowH, h) {
			t.Errorf("Allow-Headers %q lacks %s", allowH, h)
		}
	}
	if m := res.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") || !strings.Contains(m, "PATCH") {
		t.Errorf("Allow-Methods = %q", m)
	}
	if res.Header.Get("Access-Control-Max-Age") == "" || !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Origin") {
		t.Errorf("preflight lacks Max-Age or Vary: Origin: %v", res.Header)
	}
	if res.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Error("credentials allowed across origins")
	}
	// The second listed origin works too; its answer echoes it, not the first.
	if res := do("OPTIONS", "/v1/me", "http://localhost:3000", map[string]string{"Access-Control-Request-Method": "GET"}); res.StatusCode != 204 ||
		res.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Fatalf("second origin: %d %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}
	// Actual requests: a success and an error both carry the origin, so
	// the browser lets the page read the error body.
	for path, status := range map[string]int{"/healthz": 200, "/v1/me": 401} {
		res := do("GET", path, web, nil)
		if res.StatusCode != status || res.Header.Get("Access-Control-Allow-Origin") != web ||
			!strings.Contains(res.Header.Get("Access-Control-Expose-Headers"), "Retry-After") {
			t.Errorf("GET %s from a listed origin: %d %v", path, res.StatusCode, res.Header)
		}
	}
	// Unlisted origins, and requests without Origin, get no CORS header.
	for _, tc := range []struct {
		method, origin string
		hdr            map[string]string
	}{{"OPTIONS", other, preflight}, {"GET", other, nil}, {"GET", "", nil}, {"OPTIONS", "https://app.smile.test.evil.test", preflight}} {
		res := do(tc.method, "/v1/me", tc.origin, tc.hdr)
		if tc.method == "OPTIONS" && res.StatusCode == 204 {
			t.Errorf("%s from %q: preflight answered", tc.method, tc.origin)
		}
		for k := range res.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s from %q: %s: %s", tc.method, tc.origin, k, res.Header.Get(k))
			}
		}
	}
}

// TestCORSOff: by default no origin gets a CORS answer.
func TestCORSOff(t *testing.T) {
	base, stop, _ := serveUntilCancel(t, map[string]string{"CAREWALLET_DATA": t.TempDir()})
	defer stop()
	req, _ := http.NewRequest("OPTIONS", base+"/v1/me", nil)
	req.Header.Set("Origin", "https://app.smile.test")
	req.Header.Set("Access-Control-Request-Method", "GET")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == 204 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS without CAREWALLET_CORS_ORIGINS: %d %v", res.StatusCode, res.Header)
	}
}

func TestCORSConfig(t *testing.T) {
	c, err := loadConfig(env(map[string]string{"CAREWALLET_CORS_ORIGINS": "https://a.test, http://127.0.0.1:5173"}))
	if err != nil || len(c.CORSOrigins) != 2 || c.CORSOrigins[1] != "http://127.0.0.1:5173" {
		t.Fatalf("%+v %v", c.CORSOrigins, err)
	}
	for _, bad := range []string{"*", "https://*.a.test", "https://a.test/", "https://a.test/app", "a.test", "ftp://a.test",
		"https://a.test:99999", "https://u@a.test", "https://a.test,", "null"} {
		err := run(context.Background(), []string{"serve"}, env(map[string]string{"CAREWALLET_CORS_ORIGINS": bad}), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "CAREWALLET_CORS_ORIGINS") {
			t.Errorf("%q: %v; want an error naming CAREWALLET_CORS_ORIGINS", bad, err)
		}
	}
}
