package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The contract: every request the HTTP tests send through testApp.do and
// every response they receive is validated against the document the app
// serves at /openapi.json, so a handler and its documentation cannot
// drift apart without a test failing. Tests that send invalid input on
// purpose use doRaw (or set testApp.rawRequests): that skips validating
// the request, never the response.

type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	contractOnce sync.Once
	theContract  *contract
	contractErr  error
)

func init() {
	// The QR code route answers image/png.
	openapi3filter.RegisterBodyDecoder("image/png", openapi3filter.FileBodyDecoder)
}

// loadContract reads the served document once per test binary: it is made
// from the route table alone, so every testApp serves the same one.
func loadContract(ta *testApp) (*contract, error) {
	contractOnce.Do(func() {
		res, err := ta.f.Test(httptest.NewRequest("GET", "/openapi.json", nil), 30_000)
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
		theContract, contractErr = parseContract(body)
	})
	return theContract, contractErr
}

func parseContract(body []byte) (*contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(body)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, err
	}
	// The document names a deployment's server; tests call whatever
	// host httptest makes up.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &contract{doc: doc, router: router}, nil
}

var contractOptions = &openapi3filter.Options{
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	IncludeResponseStatus: true,
	MultiError:            true,
}

// check validates one exchange. raw skips the request (invalid on purpose).
// It returns what is wrong, or "" when the exchange is in the document.
func (k *contract) check(req *http.Request, reqBody []byte, raw bool, status int, header http.Header, body []byte) string {
	ctx := context.Background()
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, pathParams, err := k.router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		// A documented path with another method: 405, Allow naming the
		// path's documented methods, and the Error body.
		if status != 405 {
			return "a documented path with an undocumented method answered " + http.StatusText(status) + ", want 405"
		}
		if want, got := k.methods(req), allowHeader(header); !slices.Equal(want, got) {
			return "405 Allow lists " + strings.Join(got, ", ") + "; the document has " + strings.Join(want, ", ")
		}
		return k.checkError(body, header)
	case err != nil:
		if !raw {
			return "the request's path is not in the document (a test that sends a bad path on purpose uses doRaw): " + err.Error()
		}
		// An unknown path: the answer is still an Error.
		return k.checkError(body, header)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: contractOptions}
	if !raw {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return "request does not match the document (a test that sends invalid input on purpose uses doRaw): " + err.Error()
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Options: contractOptions}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return "response does not match the document: " + err.Error()
	}
	return ""
}

// methods are the documented methods of req's path.
func (k *contract) methods(req *http.Request) []string {
	var out []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		probe := req.Clone(context.Background())
		probe.Method = m
		if _, _, err := k.router.FindRoute(probe); err == nil {
			out = append(out, m)
		}
	}
	return out
}

func allowHeader(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Allow") {
		for _, m := range strings.Split(v, ",") {
			if m = strings.TrimSpace(m); m != "" {
				out = append(out, m)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return methodOrder(a) - methodOrder(b) })
	return out
}

func methodOrder(m string) int {
	return slices.Index([]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}, m)
}

// checkError validates an answer outside any operation against the
// document's Error schema.
func (k *contract) checkError(body []byte, header http.Header) string {
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return "error answer with Content-Type " + ct
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "error answer is not JSON: " + err.Error()
	}
	if err := k.doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
		return "error answer does not match the Error schema: " + err.Error()
	}
	return ""
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
	if msg := k.check(get("/healthz"), nil, false, 200, jsonCT, []byte(good)); msg != "" {
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
		if msg := k.check(get("/healthz"), nil, false, tc.status, jsonCT, []byte(tc.body)); msg == "" {
			t.Errorf("%s: %d %s passed validation", name, tc.status, tc.body)
		}
	}
	post := func(body string) *http.Request {
		r := httptest.NewRequest("POST", "/v1/auth/otp", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	accepted := []byte(`{"status":"sent","expires_in":300}`)
	if msg := k.check(post(`{"phone":"+79990000000"}`), []byte(`{"phone":"+79990000000"}`), false, 202, jsonCT, accepted); msg != "" {
		t.Fatalf("a documented exchange is refused: %s", msg)
	}
	for _, body := range []string{`{}`, `{"phone":"+79990000000","extra":1}`, `{"phone":7}`} {
		if msg := k.check(post(body), []byte(body), false, 202, jsonCT, accepted); msg == "" {
			t.Errorf("request %s passed validation", body)
		}
		if msg := k.check(post(body), []byte(body), true, 202, jsonCT, accepted); msg != "" {
			t.Errorf("raw request %s: the response check failed: %s", body, msg)
		}
	}
	if msg := k.check(get("/v1/nowhere"), nil, false, 404, jsonCT, []byte(`{"error":{"code":"not_found","message":"no such route"}}`)); msg == "" {
		t.Error("a request to an undocumented path passed validation")
	}
	if msg := k.check(httptest.NewRequest("DELETE", "/healthz", nil), nil, false, 404, jsonCT,
		[]byte(`{"error":{"code":"not_found","message":"no such route"}}`)); msg == "" {
		t.Error("a 404 for a documented path's undocumented method passed validation")
	}
}
