package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"carewallet/push/pushtest"
)

// scrape GETs the metrics endpoint and parses the Prometheus text format.
func scrape(t *testing.T, url string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	fams, err := new(expfmt.TextParser).TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("scrape does not parse: %v", err)
	}
	return fams, string(body)
}

// sample is the value of the series of family name with exactly these
// labels (a counter's or gauge's value, a histogram's count); ok is false
// when there is no such series.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (v float64, ok bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func send(t *testing.T, method, url, token string, body any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestMetrics: with CAREWALLET_METRICS_ADDR, GET /metrics on that listener
// (and only there) counts requests by route pattern, FCM sends, inbox
// events, open websockets and burn runs, after real traffic.
func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	if err := run(context.Background(), []string{"demo"}, env(map[string]string{"CAREWALLET_DATA": dir}), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	fcm := httptest.NewServer(pushtest.New(pushtest.Config{}))
	defer fcm.Close()
	sms := &smsCatcher{codes: map[string]string{}}
	gw := httptest.NewServer(sms)
	defer gw.Close()
	metricsAddr := freeAddr(t)
	base, stop, _ := serveUntilCancel(t, map[string]string{"CAREWALLET_DATA": dir, "CAREWALLET_METRICS_ADDR": metricsAddr,
		"CAREWALLET_FCM_PROJECT": "demo", "CAREWALLET_FCM_ENDPOINT": fcm.URL, "CAREWALLET_SMS_WEBHOOK": gw.URL})
	defer stop()
	metricsURL := "http://" + metricsAddr + "/metrics"

	// Never on the public port.
	if st := send(t, "GET", base+"/metrics", "", nil); st != 404 {
		t.Fatalf("GET /metrics on the API's port: %d, want 404", st)
	}
	// A patient signs in, registers a device and opens a websocket.
	phone := demoPatients[0].phone
	if res, _ := postJSON(t, base+"/v1/auth/otp", "", map[string]string{"phone": phone}); res.StatusCode != 202 {
		t.Fatalf("otp: %d", res.StatusCode)
	}
	_, tok := postJSON(t, base+"/v1/auth/verify", "", map[string]string{"phone": phone, "code": sms.code(phone)})
	patient, _ := tok["access_token"].(string)
	if st := send(t, "PUT", base+"/v1/me/devices", patient, map[string]string{"token": "device-1", "platform": "android"}); st != 204 {
		t.Fatalf("register device: %d", st)
	}
	ws, _, err := (&fws.Dialer{HandshakeTimeout: 10 * time.Second}).Dial("ws"+strings.TrimPrefix(base, "http")+"/v1/ws",
		http.Header{"Authorization": {"Bearer " + patient}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var cards struct {
		Cards []struct {
			ID       string `json:"card_id"`
			Guardian bool   `json:"guardian"`
		} `json:"cards"`
	}
	raw, _ := json.Marshal(getJSON(t, base+"/v1/me/cards", patient))
	// Her own card, then her daughter's, which she guards (the demo's dependant).
	if err := json.Unmarshal(raw, &cards); err != nil || len(cards.Cards) != 2 || cards.Cards[0].Guardian || !cards.Cards[1].Guardian {
		t.Fatalf("cards: %s", raw)
	}
	// Reception starts a bonus payment: an inbox event and a push.
	_, staff := postJSON(t, base+"/v1/staff/login", "", map[string]string{"email": demoAdminEmail, "password": demoAdminPassword})
	staffTok, _ := staff["access_token"].(string)
	if res, out := postJSON(t, base+"/v1/clinic/spends", staffTok, map[string]any{"card_id": cards.Cards[0].ID, "receipt_id": "M-1",
		"lines": []map[string]any{{"service": "CONS-01", "amount": 100000}}, "points": 100}); res.StatusCode != 201 {
		t.Fatalf("spend: %d %v", res.StatusCode, out)
	}
	for range 3 {
		if st := send(t, "GET", base+"/readyz", "", nil); st != 200 {
			t.Fatalf("readyz: %d", st)
		}
	}
	if st := send(t, "GET", base+"/v1/cards/cd_rawpathprobe", patient, nil); st != 404 {
		t.Fatalf("unknown card: %d", st)
	}
	if st := send(t, "GET", base+"/no/such/route-probe", "", nil); st != 404 {
		t.Fatalf("unknown route: %d", st)
	}

	// The push goes out asynchronously: scrape until it is counted.
	var fams map[string]*dto.MetricFamily
	var text string
	for deadline := time.Now().Add(10 * time.Second); ; {
		fams, text = scrape(t, metricsURL)
		if v, _ := sample(fams, "carewallet_fcm_sends_total", map[string]string{"outcome": "sent"}); v >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := []struct {
		name   string
		labels map[string]string
		min    float64
		exact  bool
	}{
		{"carewallet_http_requests_total", map[string]string{"method": "GET", "route": "/readyz", "status": "200"}, 3, true},
		{"carewallet_http_request_duration_seconds", map[string]string{"method": "GET", "route": "/readyz"}, 3, true},
		{"carewallet_http_requests_total", map[string]string{"method": "POST", "route": "/v1/clinic/spends", "status": "201"}, 1, true},
		{"carewallet_http_requests_total", map[string]string{"method": "POST", "route": "/v1/auth/verify", "status": "200"}, 1, true},
		{"carewallet_http_requests_total", map[string]string{"method": "GET", "route": "/v1/cards/:id", "status": "404"}, 1, true},
		{"carewallet_http_requests_total", map[string]string{"method": "GET", "route": "unmatched", "status": "404"}, 2, true}, // /metrics and the made-up path
		{"carewallet_fcm_sends_total", map[string]string{"outcome": "sent"}, 1, true},
		{"carewallet_fcm_sends_total", map[string]string{"outcome": "failed"}, 0, true},
		{"carewallet_inbox_events_written_total", map[string]string{}, 1, false},
		{"carewallet_websockets_open", map[string]string{}, 1, true},
		{"carewallet_job_runs_total", map[string]string{"job": "burn", "result": "ok"}, 1, true},
		{"carewallet_job_duration_seconds", map[string]string{"job": "burn"}, 1, true},
		{"carewallet_job_lag_seconds", map[string]string{"job": "burn"}, 0, false},
		{"carewallet_store_errors_total", map[string]string{"where": "request"}, 0, true},
	}
	for _, w := range want {
		v, ok := sample(fams, w.name, w.labels)
		if !ok || v < w.min || (w.exact && v != w.min) {
			t.Errorf("%s%v = %v (present %v), want %v", w.name, w.labels, v, ok, w.min)
		}
	}
	for _, raw := range []string{"cd_rawpathprobe", "route-probe", phone, patient} {
		if strings.Contains(text, raw) {
			t.Errorf("the scrape holds %q", raw)
		}
	}
}

func TestMetricsAddrConfig(t *testing.T) {
	for _, v := range []string{"9090", ":8080", "0.0.0.0:8080"} {
		err := run(context.Background(), []string{"serve"}, env(map[string]string{"CAREWALLET_METRICS_ADDR": v}), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "CAREWALLET_METRICS_ADDR") {
			t.Errorf("CAREWALLET_METRICS_ADDR=%q: %v", v, err)
		}
	}
}
