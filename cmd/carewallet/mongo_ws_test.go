package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"

	"carewallet/app/storage/storagetest"
)

// smsCatcher is an SMS webhook that keeps the last code per phone.
type smsCatcher struct {
	mu    sync.Mutex
	codes map[string]string
}

func (s *smsCatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m struct{ Phone, Text string }
	_ = json.NewDecoder(r.Body).Decode(&m)
	s.mu.Lock()
	s.codes[m.Phone] = regexp.MustCompile(`\d{6}`).FindString(m.Text)
	s.mu.Unlock()
}

func (s *smsCatcher) code(phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[phone]
}

// TestTwoInstancesRealtime runs two carewallet instances on one embedded
// FerretDB: an event written by instance A (reception issues a card) is
// delivered to the patient's websocket held by instance B, by B's polling
// of the shared inbox (FerretDB has no change streams).
func TestTwoInstancesRealtime(t *testing.T) {
	sms, vars := sharedMongoEnv(t)
	if err := run(context.Background(), []string{"clinic", "create", "--name", "Two", "--timezone", "Europe/Moscow",
		"--manager-email", "m@two.test", "--manager-password", "manager-password"}, env(vars), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	baseA, stopA, _ := serveUntilCancel(t, copyVars(vars))
	defer stopA()
	baseB, stopB, _ := serveUntilCancel(t, copyVars(vars))
	defer stopB()

	// The patient signs in on B and listens there.
	phone := "+79997770011"
	if res, _ := postJSON(t, baseB+"/v1/auth/otp", "", map[string]string{"phone": phone}); res.StatusCode != 202 {
		t.Fatalf("otp: %d", res.StatusCode)
	}
	_, tok := postJSON(t, baseB+"/v1/auth/verify", "", map[string]string{"phone": phone, "code": sms.code(phone)})
	access, _ := tok["access_token"].(string)
	d := fws.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(baseB, "http")+"/v1/ws", http.Header{"Authorization": {"Bearer " + access}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	// Reception works on A.
	_, staff := postJSON(t, baseA+"/v1/staff/login", "", map[string]string{"email": "m@two.test", "password": "manager-password"})
	staffTok, _ := staff["access_token"].(string)
	res, issued := postJSON(t, baseA+"/v1/clinic/cards", staffTok, map[string]string{
		"phone": phone, "first_name": "Nina", "last_name": "Two", "birth_date": "1999-09-09"})
	if res.StatusCode != 201 {
		t.Fatalf("issue card on A: %d %v", res.StatusCode, issued)
	}

	// B's socket receives the code event.
	_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("no event on instance B: %v", err)
		}
		var ev struct {
			Seq  int64  `json:"seq"`
			Type string `json:"type"`
			Data struct {
				Code   string `json:"code"`
				CardID string `json:"card_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(msg, &ev); err != nil {
			t.Fatalf("frame %s: %v", msg, err)
		}
		if ev.Type == "wallet.card_code" {
			if ev.Data.CardID != issued["card_id"] || len(ev.Data.Code) != 6 || ev.Seq < 1 {
				t.Fatalf("event %s", msg)
			}
			// The code from B's socket confirms the card on A.
			res, out := postJSON(t, baseA+"/v1/clinic/cards/"+ev.Data.CardID+"/confirm", staffTok, map[string]string{"code": ev.Data.Code})
			if res.StatusCode != 200 || out["status"] != "active" {
				t.Fatalf("confirm on A with the code from B: %d %v", res.StatusCode, out)
			}
			return
		}
	}
}

func copyVars(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// sharedMongoEnv is the environment of instances sharing one embedded
// FerretDB database and one signing key, with SMS codes caught by sms.
func sharedMongoEnv(t *testing.T) (*smsCatcher, map[string]string) {
	t.Helper()
	sms := &smsCatcher{codes: map[string]string{}}
	gw := httptest.NewServer(sms)
	t.Cleanup(gw.Close)
	keyFile := filepath.Join(t.TempDir(), "jwt.key")
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("k", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	db := storagetest.Mongo(t)
	return sms, map[string]string{
		"CAREWALLET_MONGO_URI": storagetest.MongoURI(t), "CAREWALLET_MONGO_DB": db.Name(),
		"CAREWALLET_JWT_KEY_FILE": keyFile, "CAREWALLET_DATA": t.TempDir(), "CAREWALLET_SMS_WEBHOOK": gw.URL,
	}
}
