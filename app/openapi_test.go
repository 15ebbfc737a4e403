package app

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
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
		if r.Method == "HEAD" || r.Path == "/" || r.Path == "/openapi.json" || r.Method == "USE" {
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
