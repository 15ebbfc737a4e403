package pushtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, url, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func send(t *testing.T, base, token string) (*http.Response, string) {
	t.Helper()
	return post(t, base+"/v1/projects/demo/messages:send", `{"message":{"token":"`+token+`","data":{"k":"v"}}}`)
}

func TestRatesScriptsAndRecording(t *testing.T) {
	emu := New(Config{Rate503: 1, RetryAfter: 2 * time.Second})
	srv := httptest.NewServer(emu)
	defer srv.Close()

	resp, body := send(t, srv.URL, "a")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" || !strings.Contains(body, `"errorCode":"UNAVAILABLE"`) {
		t.Fatalf("rate 1 of 503: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// A script overrides the rates, one fault per send; OK lets one through.
	if r, _ := post(t, srv.URL+"/control/script", `{"token":"a","faults":["","UNREGISTERED"]}`); r.StatusCode != 204 {
		t.Fatal(r.StatusCode)
	}
	if resp, body := send(t, srv.URL, "a"); resp.StatusCode != 200 || !strings.Contains(body, `"name":"projects/demo/messages/`) {
		t.Fatalf("scripted OK: %d %s", resp.StatusCode, body)
	}
	if resp, body := send(t, srv.URL, "a"); resp.StatusCode != 404 || !strings.Contains(body, "UNREGISTERED") {
		t.Fatalf("scripted UNREGISTERED: %d %s", resp.StatusCode, body)
	}
	if resp, body := send(t, srv.URL, "invalid:x"); resp.StatusCode != 400 || !strings.Contains(body, "registration token") {
		t.Fatalf("invalid token: %d %s", resp.StatusCode, body)
	}
	if resp, _ := post(t, srv.URL+"/v1/projects/demo/messages:send", `{"message":{"topic":"x"}}`); resp.StatusCode != 400 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	r, err := http.Get(srv.URL + "/messages?token=a")
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Messages []Received }
	_ = json.NewDecoder(r.Body).Decode(&list)
	r.Body.Close()
	if len(list.Messages) != 1 || list.Messages[0].Token != "a" || !strings.Contains(string(list.Messages[0].Message), `"k":"v"`) {
		t.Fatalf("messages = %+v", list.Messages)
	}
	st := emu.Stats()
	if st.Requests != 5 || st.Delivered != 1 || st.Faults["UNAVAILABLE"] != 1 || st.Faults["UNREGISTERED"] != 1 || st.Faults["INVALID_ARGUMENT"] != 1 {
		t.Fatalf("stats = %+v", st)
	}
	if r, _ := post(t, srv.URL+"/token", "grant_type=x"); r.StatusCode != 200 {
		t.Fatalf("token: %d", r.StatusCode)
	}
}

func TestQuotaPerMinute(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 15, 0, time.UTC)
	emu := New(Config{QuotaPerMinute: 2, Project: "demo", Now: func() time.Time { return now }})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	for i := range 2 {
		if resp, _ := send(t, srv.URL, "q"); resp.StatusCode != 200 {
			t.Fatalf("send %d: %d", i, resp.StatusCode)
		}
	}
	resp, body := send(t, srv.URL, "q")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "45" || !strings.Contains(body, "QUOTA_EXCEEDED") {
		t.Fatalf("over quota: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	now = now.Add(time.Minute)
	if resp, _ := send(t, srv.URL, "q"); resp.StatusCode != 200 {
		t.Fatalf("next minute: %d", resp.StatusCode)
	}
	if resp, _ := post(t, srv.URL+"/v1/projects/other/messages:send", `{"message":{"token":"q"}}`); resp.StatusCode != 404 {
		t.Fatalf("other project: %d", resp.StatusCode)
	}
}
