package app

import (
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"carewallet/wallet"
)

// TestOpenAPIMatchesRoutes fails when a route is served but not documented
// or documented but not served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	ta := newTestApp(t)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	ta.must(200, "GET", "/openapi.json", "", nil).decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+fiberPath(path)] = true
		}
	}
	served := map[string]bool{}
	for _, r := range ta.f.GetRoutes(true) {
		// The console's static files (console.go) are not API.
		if r.Method == "HEAD" || r.Path == "/" || r.Method == "USE" || r.Path == "/console/*" {
			continue
		}
		served[r.Method+" "+r.Path] = true
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("served but undocumented: %v\ndocumented but not served: %v", missing, extra)
	}
	if len(served) < 10 {
		t.Fatalf("only %d routes found; the comparison is not looking at the API", len(served))
	}
}

// TestMethodNotAllowed: a known path with a method it does not serve is a
// 405 whose Allow header lists the methods that it does (do also checks
// Allow against the document), with the Error body; an unknown path stays
// a 404.
func TestMethodNotAllowed(t *testing.T) {
	ta := newTestApp(t)
	tok := ta.signInPatient("+79991000180")
	for _, tc := range []struct {
		method, path, token, allow string
	}{
		{"PUT", "/v1/me", tok.AccessToken, "GET, DELETE, PATCH"},
		{"POST", "/healthz", "", "GET"},
		{"GET", "/v1/auth/otp", "", "POST"},
		{"PUT", "/v1/cards/cd_nope", tok.AccessToken, "GET"},
		{"DELETE", "/v1/me/cards", tok.AccessToken, "GET, POST"},
		{"POST", "/openapi.json", "", "GET"},
	} {
		r := ta.do(tc.method, tc.path, tc.token, nil)
		if r.Status != 405 || r.errorCode(t) != "method_not_allowed" {
			t.Errorf("%s %s: %d %s; want 405 method_not_allowed", tc.method, tc.path, r.Status, r.Body)
			continue
		}
		if got := strings.Join(r.Header.Values("Allow"), ", "); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
		var e errorBody
		r.decode(t, &e)
		if !strings.Contains(e.Error.Message, tc.allow) {
			t.Errorf("%s %s: message %q does not name the allowed methods", tc.method, tc.path, e.Error.Message)
		}
	}
	if r := ta.doRaw("DELETE", "/v1/nowhere", "", nil); r.Status != 404 || r.errorCode(t) != "not_found" {
		t.Errorf("unknown path: %d %s; want 404 not_found", r.Status, r.Body)
	}
}

// TestProgramRequest: PUT /v1/clinic/program takes every setting of
// wallet.Program and none of the fields the server owns; README's example
// body is a valid request (do validates it against the document), and
// what a GET answers cannot be sent back as is (clinic_id is unknown).
func TestProgramRequest(t *testing.T) {
	owned := map[string]bool{"clinic_id": true, "version": true, "updated_by": true, "updated_at": true}
	settings := map[string]bool{}
	for name := range jsonFields(reflect.TypeFor[wallet.Program]()) {
		if !owned[name] {
			settings[name] = true
		}
	}
	req := map[string]bool{}
	for name := range jsonFields(reflect.TypeFor[programRequest]()) {
		req[name] = true
	}
	if !maps.Equal(settings, req) {
		t.Fatalf("programRequest has %v; wallet.Program's settings are %v", slices.Sorted(maps.Keys(req)), slices.Sorted(maps.Keys(settings)))
	}
	// program() carries every field over.
	var in programRequest
	if err := json.Unmarshal([]byte(exampleProgram), &in); err != nil {
		t.Fatal(err)
	}
	in.CashbackBP, in.MaxReceiptPoints = 7, 9
	a, _ := json.Marshal(in)
	var back map[string]json.RawMessage
	b, _ := json.Marshal(in.program())
	_ = json.Unmarshal(b, &back)
	for k := range owned {
		delete(back, k)
	}
	var want map[string]json.RawMessage
	_ = json.Unmarshal(a, &want)
	if !maps.EqualFunc(want, back, func(x, y json.RawMessage) bool { return string(x) == string(y) }) {
		t.Fatalf("program() changes the settings:\n%s\n%s", a, b)
	}

	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)-X PUT localhost:8080/v1/clinic/program .*? -d '(\{.*?\})'`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no PUT /v1/clinic/program example")
	}
	ta := newTestApp(t)
	_, mgr := ta.newClinic("Smile", "m@smile.test")
	var p wallet.Program
	ta.must(200, "PUT", "/v1/clinic/program", mgr.AccessToken, m[1]).decode(t, &p)
	if p.Version < 1 || p.MaxShareBP != 5000 {
		t.Fatalf("program after README's PUT: %+v", p)
	}
	got := ta.must(200, "GET", "/v1/clinic/program", mgr.AccessToken, nil)
	if r := ta.doRaw("PUT", "/v1/clinic/program", mgr.AccessToken, got.Body); r.Status != 400 || !strings.Contains(string(r.Body), "clinic_id") {
		t.Fatalf("PUT with the server's fields: %d %s; want 400 naming clinic_id", r.Status, r.Body)
	}
}
