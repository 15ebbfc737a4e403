package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"carewallet/app/apicontract"
)

// The contract: every request the HTTP tests send through testApp.do and
// every response they receive is validated against the document the app
// serves at /openapi.json (package apicontract), so a handler and its
// documentation cannot drift apart without a test failing. Tests that send
// invalid input on purpose use doRaw or mustRaw (or set
// testApp.rawRequests): that skips validating the request, never the
// response.

var (
	contractOnce sync.Once
	theContract  *apicontract.Contract
	contractErr  error
)

// loadContract reads the served document once per test binary: it is made
// from the route table alone, so every testApp serves the same one.
func loadContract(ta *testApp) (*apicontract.Contract, error) {
	contractOnce.Do(func() {
		res, err := ta.f.Test(httptest.NewRequest("GET", "/openapi.json", nil), -1)
		if err != nil {
			contractErr = err
			return
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			contractErr = err
			return
		}
		theContract, contractErr = apicontract.Load(body)
	})
	return theContract, contractErr
}

// TestContractCatchesDrift proves the validator is not a no-op: answers
// that differ from the document (an undocumented field, a wrong type, a
// missing required field, an undocumented status, an error of another
// shape) and requests it does not allow are reported.
func TestContractCatchesDrift(t *testing.T) {
	ta := newTestApp(t)
	k, err := loadContract(ta)
	if err != nil {
		t.Fatal(err)
	}
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	get := func(path string) *http.Request { return httptest.NewRequest("GET", path, nil) }
	good := `{"status":"ok"}`
	if msg := k.Check(get("/healthz"), nil, false, 200, jsonCT, []byte(good)); msg != "" {
		t.Fatalf("a documented answer is refused: %s", msg)
	}
	for name, tc := range map[string]struct {
		status int
		body   string
	}{
		"undocumented field":     {200, `{"status":"ok","uptime":3}`},
		"wrong type":             {200, `{"status":1}`},
		"missing required field": {200, `{}`},
		"undocumented status":    {201, good},
		"error of another shape": {500, `{"message":"boom"}`},
	} {
		if msg := k.Check(get("/healthz"), nil, false, tc.status, jsonCT, []byte(tc.body)); msg == "" {
			t.Errorf("%s: %d %s passed validation", name, tc.status, tc.body)
		}
	}
	post := func(body string) *http.Request {
		r := httptest.NewRequest("POST", "/v1/auth/otp", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	accepted := []byte(`{"status":"sent","expires_in":300}`)
	if msg := k.Check(post(`{"phone":"+79990000000"}`), []byte(`{"phone":"+79990000000"}`), false, 202, jsonCT, accepted); msg != "" {
		t.Fatalf("a documented exchange is refused: %s", msg)
	}
	for _, body := range []string{`{}`, `{"phone":"+79990000000","extra":1}`, `{"phone":7}`} {
		if msg := k.Check(post(body), []byte(body), false, 202, jsonCT, accepted); msg == "" {
			t.Errorf("request %s passed validation", body)
		}
		if msg := k.Check(post(body), []byte(body), true, 202, jsonCT, accepted); msg != "" {
			t.Errorf("raw request %s: the response check failed: %s", body, msg)
		}
	}
	if msg := k.Check(get("/v1/nowhere"), nil, false, 404, jsonCT, []byte(`{"error":{"code":"not_found","message":"no such route"}}`)); msg == "" {
		t.Error("a request to an undocumented path passed validation")
	}
	if msg := k.Check(httptest.NewRequest("DELETE", "/healthz", nil), nil, false, 404, jsonCT,
		[]byte(`{"error":{"code":"not_found","message":"no such route"}}`)); msg == "" {
		t.Error("a 404 for a documented path's undocumented method passed validation")
	}
}

// TestREADMEExamplesMatchDocument: every curl call in README.md to the API
// is a request the document allows (path, method, query and body).
func TestREADMEExamplesMatchDocument(t *testing.T) {
	ta := newTestApp(t)
	k, err := loadContract(ta)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(readme), "\\\n", " ")
	curl := regexp.MustCompile(`(?s)curl [^\n]*?'?localhost:8080(/[^\s']*)'?[^\n]*?(?:-d '(.*?)')?[^\n']*\n`)
	method := regexp.MustCompile(`-X ([A-Z]+)`)
	n := 0
	for _, m := range curl.FindAllStringSubmatch(text, -1) {
		path, body := m[1], m[2]
		meth := "GET"
		if body != "" {
			meth = "POST"
		}
		if mm := method.FindStringSubmatch(m[0]); mm != nil {
			meth = mm[1]
		}
		req := httptest.NewRequest(meth, strings.ReplaceAll(path, "…", "x"), strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		route, params, err := k.Router.FindRoute(req)
		if err != nil {
			t.Errorf("README: %s %s: %v", meth, path, err)
			continue
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: apicontract.Options}
		if strings.Contains(m[0], "--data-binary @") {
			// The body is a file (a CSV price list): check the route only.
			opts := *apicontract.Options
			opts.ExcludeRequestBody = true
			in.Options = &opts
		}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("README: %s %s %s: %v", meth, path, body, err)
		}
		n++
	}
	if n < 15 {
		t.Fatalf("only %d curl examples found in README", n)
	}
}
