package app

import (
	"fmt"
	"strings"
	"testing"
)

// TestNameLimitOneRule (issue 8 item 12): a name's limit is counted in
// characters and is the same on card issue and PATCH /v1/me: 100
// Cyrillic letters pass both (card issue refused them, counting 200
// bytes), 101 are refused by both, naming the field.
func TestNameLimitOneRule(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	_, tok := ta.patient("+79991000081")
	n100, n101 := strings.Repeat("Я", 100), strings.Repeat("Я", 101)

	ta.must(200, "PATCH", "/v1/me", tok, map[string]string{"first_name": n100})
	ta.must(201, "POST", "/v1/clinic/cards", cl.admin, map[string]string{"guardian_phone": "+79991000082",
		"first_name": n100, "last_name": "Петрова", "birth_date": "2018-06-01"})

	for _, name := range []string{n101, "Ан\u202eна", "Ан\nна"} {
		for _, r := range []resp{
			ta.doRaw("PATCH", "/v1/me", tok, map[string]string{"first_name": name}),
			ta.doRaw("POST", "/v1/clinic/cards", cl.admin, map[string]string{"guardian_phone": "+79991000083",
				"first_name": name, "last_name": "Петрова", "birth_date": "2018-06-01"}),
		} {
			var e errorBody
			r.decode(t, &e)
			if r.Status != 400 || e.Error.Field != "first_name" {
				t.Fatalf("name %q: %d %s", name, r.Status, r.Body)
			}
		}
	}
}

// TestFreeTextRefusesControls (issue 8 items 11 and 12): adjustment
// reasons, receipt and booking numbers and level names with control,
// bidirectional or other invisible format characters are a 400 naming the
// field, and nothing is written.
func TestFreeTextRefusesControls(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	_, _, v := ta.joinCard(cl, "+79991000084")
	bad := []string{"a\x00b", "a\tb", "a\nb", "a\u202eb", "a\u2066b", "a\u0085b"}
	refused := func(r resp, field string) {
		t.Helper()
		var e errorBody
		r.decode(t, &e)
		if r.Status != 400 || e.Error.Field != field {
			t.Fatalf("%s: %d %s", field, r.Status, r.Body)
		}
	}
	for _, s := range bad {
		refused(ta.doRaw("POST", "/v1/clinic/adjustments", cl.manager, map[string]any{"card_id": v.ID, "points": 5, "reason": "late" + s}), "reason")
		refused(ta.doRaw("POST", "/v1/clinic/receipts", cl.admin, map[string]any{"card_id": v.ID, "receipt_id": "R" + s,
			"lines": []map[string]any{{"service": "CONS-01", "amount": 1000}}, "paid_with_points": 0}), "receipt_id")
		refused(ta.doRaw("POST", "/v1/clinic/bookings", cl.admin, map[string]any{"card_id": v.ID, "booking_id": "B" + s}), "booking_id")
		refused(ta.doRaw("PUT", "/v1/clinic/program", cl.manager, strings.Replace(exampleProgram, `"Base"`, `"Ba`+jsonEscape(s)+`se"`, 1)), "levels[0].name")
	}
	var page struct {
		Entries []map[string]any `json:"entries"`
	}
	ta.must(200, "GET", "/v1/clinic/cards/"+v.ID+"/history", cl.admin, nil).decode(t, &page)
	if len(page.Entries) != 1 { // the welcome bonus alone
		t.Fatalf("refused requests wrote entries: %+v", page.Entries)
	}
}

// jsonEscape writes s's non-ASCII and control characters as JSON \u escapes.
func jsonEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r >= 0x7f {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
