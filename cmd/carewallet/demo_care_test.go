package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDemoCare: the demo leaves every scenario on, four appointments and
// two ratings, one of them low.
func TestDemoCare(t *testing.T) {
	vars := map[string]string{"CAREWALLET_DATA": t.TempDir()}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo"}, env(vars), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "care: every scenario is on") {
		t.Fatalf("demo output:\n%s", out.String())
	}
	base, stop, _ := serveUntilCancel(t, vars)
	defer stop()
	_, body := postJSON(t, base+"/v1/staff/login", "", map[string]string{"email": demoManagerEmail, "password": demoManagerPassword})
	manager, _ := body["access_token"].(string)
	scenarios, _ := getJSON(t, base+"/v1/clinic/care", manager)["scenarios"].([]any)
	for _, s := range scenarios {
		if sc := s.(map[string]any); sc["enabled"] != true {
			t.Fatalf("demo scenario off: %v", sc)
		}
	}
	rep := getJSON(t, base+"/v1/clinic/ratings", manager)
	if rep["count"] != float64(2) {
		t.Fatalf("demo ratings %v", rep)
	}
	if a := getJSON(t, base+"/v1/clinic/appointments/DEMO-APPT-2", manager); a["source"] != "online" {
		t.Fatalf("demo appointment %v", a)
	}
}
