package app

import (
	"regexp"
	"strings"
	"testing"
)

// internalPrefix matches a Go package's name used as a message prefix
// ("wallet: …", "identity: …", "json: …").
var internalPrefix = regexp.MustCompile(`(?i)\b(wallet|identity|push|otp|idempotency|storage|problem|app|json|strconv|sql|sqlite|mongo|fiber|news|referrals|text|http|fasthttp)\s*:\s`)

// TestErrorMessagesActionable (issue 9, issue 8 item 14): error responses
// across the API carry no internal package prefix; a limit names the
// limit; confirming an active card says it is active (card_active, not
// code_used); validation errors name their field.
func TestErrorMessagesActionable(t *testing.T) {
	ta := newTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	other := ta.clinicWithProgram("Tooth", "tooth.test")
	pid, tok := ta.patient("+79991000091")
	card := ta.issueConfirmed(cl, map[string]string{"phone": "+79991000091", "first_name": "Olga", "last_name": "Petrova", "birth_date": "1988-03-04"}, pid)
	momID, _ := ta.patient("+79991000092")
	child := ta.issueConfirmed(cl, map[string]string{"guardian_phone": "+79991000092", "first_name": "Masha", "last_name": "Petrova", "birth_date": "2018-06-01"}, momID)
	// From here on the requests are wrong on purpose: only the responses
	// are checked against the document.
	ta.rawRequests = true
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, map[string]any{"card_id": card, "receipt_id": "E-1",
		"lines": []map[string]any{{"service": "CONS-01", "amount": 1000}}, "paid_with_points": 0})
	line := []map[string]any{{"service": "CONS-01", "amount": 100000}}

	type want struct {
		status      int
		code, field string
		says        string // a substring the message must hold
	}
	checks := []struct {
		name                string
		method, path, token string
		body                any
		want                want
	}{
		{"over max share", "POST", "/v1/clinic/spends", cl.admin, map[string]any{"card_id": card, "receipt_id": "E-2", "lines": line, "points": 501},
			want{422, "limit_exceeded", "", "at most 500 points can be paid on this receipt"}},
		{"more than the balance", "POST", "/v1/clinic/spends", cl.admin, map[string]any{"card_id": card, "receipt_id": "E-3",
			"lines": []map[string]any{{"service": "CONS-01", "amount": 10000000}}, "points": 5000}, want{422, "insufficient_points", "", "points available"}},
		{"confirm an active card", "POST", "/v1/clinic/cards/" + card + "/confirm", cl.admin, map[string]string{"code": "123456"},
			want{409, "card_active", "", "already active"}},
		{"issue a second card", "POST", "/v1/clinic/cards", cl.admin, map[string]string{"phone": "+79991000091"}, want{409, "card_exists", "", "already has"}},
		{"spend on another card's receipt", "POST", "/v1/clinic/spends", cl.admin, map[string]any{"card_id": child, "receipt_id": "E-1",
			"lines": line, "points": 10}, want{409, "conflict", "", "another card"}},
		{"last guardian", "DELETE", "/v1/clinic/cards/" + child + "/guardians/" + momID, cl.admin, nil, want{409, "last_guardian", "", "guardian"}},
		{"another clinic's card", "GET", "/v1/clinic/cards/" + card, other.admin, nil, want{404, "not_found", "", ""}},
		{"bad line amount", "POST", "/v1/clinic/receipts", cl.admin, map[string]any{"card_id": card, "receipt_id": "E-4",
			"lines": []map[string]any{{"service": "CONS-01", "amount": -1}}, "paid_with_points": 0}, want{400, "invalid_input", "lines[0].amount", ""}},
		{"bad program", "PUT", "/v1/clinic/program", cl.manager, `{"point_value": 0}`, want{400, "invalid_program", "point_value", ""}},
		{"bad phone", "POST", "/v1/auth/otp", "", map[string]string{"phone": "12"}, want{400, "", "", ""}},
		{"wrong password", "POST", "/v1/staff/login", "", map[string]string{"email": "boss@smile.test", "password": "nope-nope-nope"}, want{401, "", "", ""}},
		{"unknown card", "GET", "/v1/cards/cd_nope", tok, nil, want{404, "not_found", "", ""}},
		{"bad device", "PUT", "/v1/me/devices", tok, map[string]string{"token": "", "platform": "pager"}, want{400, "", "", ""}},
		{"wrong type", "POST", "/v1/clinic/adjustments", cl.manager, `{"card_id": 5}`, want{400, "invalid_input", "card_id", "must be a string"}},
		{"wrong type in a line", "POST", "/v1/clinic/receipts", cl.admin, `{"card_id": "x", "receipt_id": "E-5", "lines": [{"service": "A", "amount": 1}, {"service": "B", "amount": "7"}]}`,
			want{400, "invalid_input", "lines[1].amount", "must be an integer"}},
		{"unknown field", "POST", "/v1/clinic/adjustments", cl.manager, `{"cardid": "x"}`, want{400, "invalid_input", "cardid", "unknown field"}},
		{"malformed JSON", "POST", "/v1/clinic/adjustments", cl.manager, `{"card_id": `, want{400, "invalid_input", "", ""}},
		{"bad adjustment", "POST", "/v1/clinic/adjustments", cl.manager, map[string]any{"card_id": card, "points": 0, "reason": "x"}, want{400, "invalid_input", "points", ""}},
		{"bad page size", "GET", "/v1/cards/" + card + "/history?limit=100000", tok, nil, want{400, "", "limit", ""}},
		{"bad report date", "GET", "/v1/clinic/reports/totals?from=yesterday", cl.manager, nil, want{400, "invalid_input", "from", ""}},
		{"no token", "GET", "/v1/me", "", nil, want{401, "", "", ""}},
		{"phone and guardian phone", "POST", "/v1/clinic/cards", cl.admin, map[string]string{"first_name": "A"}, want{400, "invalid_input", "phone", "exactly one"}},
		{"code and phone", "GET", "/v1/clinic/cards/lookup", cl.admin, nil, want{400, "invalid_input", "code", "exactly one"}},
		{"booking without a card", "POST", "/v1/clinic/bookings", cl.admin, map[string]string{"booking_id": "BK-1"}, want{400, "invalid_input", "card_id", "exactly one"}},
		{"no route", "GET", "/v1/nope", "", nil, want{404, "", "", ""}},
	}
	for _, c := range checks {
		r := ta.doRaw(c.method, c.path, c.token, c.body) // invalid on purpose: the request is not validated, the answer is
		var e errorBody
		r.decode(t, &e)
		msg := e.Error.Message
		switch {
		case r.Status != c.want.status:
			t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.want.status, r.Body)
		case c.want.code != "" && e.Error.Code != c.want.code:
			t.Errorf("%s: code %q, want %q: %s", c.name, e.Error.Code, c.want.code, r.Body)
		case c.want.field != "" && e.Error.Field != c.want.field:
			t.Errorf("%s: field %q, want %q: %s", c.name, e.Error.Field, c.want.field, r.Body)
		case msg == "" || internalPrefix.MatchString(msg):
			t.Errorf("%s: message %q carries an internal prefix (or is empty)", c.name, msg)
		case !strings.Contains(msg, c.want.says):
			t.Errorf("%s: message %q does not say %q", c.name, msg, c.want.says)
		}
	}
}
