package app

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestOversizedBodyAnswers413 sends bodies over the limit while the client
// is still writing them: the client must read the 413 every time, never a
// connection reset. Over the route limit (64 KiB) the server reads the body
// and keeps the connection; over the read cap it drains what the client
// still sends, bounded, before it closes.
func TestOversizedBodyAnswers413(t *testing.T) {
	ta := newTestApp(t)
	_, m := ta.newClinic("Smile Dental", "boss@smile.test")
	base := "http://" + ta.serve()
	client := &http.Client{}
	post := func(size int) (int, string, error) {
		body := `{"email":"big@smile.test","password":"long-enough-pw","role":"admin","name":"` +
			strings.Repeat("x", size) + `"}`
		req, _ := http.NewRequest("POST", base+"/v1/clinic/staff", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+m.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, string(b), err
	}
	for _, tc := range []struct {
		name  string
		size  int
		times int
	}{
		{"70 KiB (over the route limit)", 70 << 10, 200},
		{"5 MiB (over the read cap)", 5 << 20, 8},
	} {
		got := map[string]int{}
		for i := 0; i < tc.times; i++ {
			status, body, err := post(tc.size)
			switch {
			case err != nil:
				got["error: "+err.Error()]++
			case status != 413 || !strings.Contains(body, `"body_too_large"`):
				got[fmt.Sprintf("%d %.80s", status, body)]++
			default:
				got["413"]++
			}
		}
		if got["413"] != tc.times {
			t.Errorf("%s ×%d: %v; want every answer a 413 body_too_large", tc.name, tc.times, got)
		}
	}
	var l staffListResponse
	ta.must(200, "GET", "/v1/clinic/staff", m.AccessToken, nil).decode(t, &l)
	if len(l.Staff) != 1 {
		t.Fatalf("oversized requests wrote staff: %+v", l.Staff)
	}
}
