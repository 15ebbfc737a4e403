package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
)

// TestChatCrossesInstances runs two instances on one embedded FerretDB: a
// patient writes on A and the manager's websocket on B receives the
// message; the manager answers on B and the patient's socket on A
// receives the reply (each instance follows the shared inbox).
func TestChatCrossesInstances(t *testing.T) {
	sms, vars := sharedMongoEnv(t)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"clinic", "create", "--name", "Smile Dental", "--timezone", "Europe/Moscow",
		"--manager-email", "m@chat.test", "--manager-password", "manager-password"}, env(vars), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var created struct {
		ClinicID string `json:"clinic_id"`
	}
	_ = json.Unmarshal(out.Bytes(), &created)
	baseA, stopA, _ := serveUntilCancel(t, copyVars(vars))
	defer stopA()
	baseB, stopB, _ := serveUntilCancel(t, copyVars(vars))
	defer stopB()

	_, staff := postJSON(t, baseB+"/v1/staff/login", "", map[string]string{"email": "m@chat.test", "password": "manager-password"})
	managerTok, _ := staff["access_token"].(string)
	req, _ := http.NewRequest("PUT", baseB+"/v1/clinic/program", strings.NewReader(`{"point_value": 100,
		"levels": [{"name": "Base", "min_spend": 0, "cashback_bp": 500}], "max_share_bp": 5000,
		"welcome_bonus": {"points": 500, "burn_days": 30}, "cashback_burn_days": 365, "burn_warning_days": 14}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+managerTok)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("program: %v %v", res, err)
	}
	dial := func(base, tok string) *fws.Conn {
		d := fws.Dialer{HandshakeTimeout: 10 * time.Second}
		ws, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/v1/ws?after=0", http.Header{"Authorization": {"Bearer " + tok}}) // replay: no race with the dial
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close() })
		return ws
	}
	managerWS := dial(baseB, managerTok)

	phone := "+79997770021"
	postJSON(t, baseA+"/v1/auth/otp", "", map[string]string{"phone": phone})
	_, tok := postJSON(t, baseA+"/v1/auth/verify", "", map[string]string{"phone": phone, "code": sms.code(phone)})
	patientTok, _ := tok["access_token"].(string)
	if res, body := postJSON(t, baseA+"/v1/me/cards", patientTok, map[string]string{"clinic_id": created.ClinicID}); res.StatusCode != 201 {
		t.Fatalf("join: %d %v", res.StatusCode, body)
	}
	patientWS := dial(baseA, patientTok)

	res, started := postJSON(t, baseA+"/v1/chats", patientTok, map[string]string{"clinic_id": created.ClinicID, "text": "Здравствуйте!"})
	if res.StatusCode != 201 {
		t.Fatalf("start chat on A: %d %v", res.StatusCode, started)
	}
	thread, _ := started["thread"].(map[string]any)
	threadID, _ := thread["id"].(string)
	waitChat(t, managerWS, "Здравствуйте!")

	if res, body := postJSON(t, baseB+"/v1/clinic/chats/"+threadID+"/messages", managerTok, map[string]string{"text": "Добрый день!"}); res.StatusCode != 201 {
		t.Fatalf("reply on B: %d %v", res.StatusCode, body)
	}
	waitChat(t, patientWS, "Добрый день!")
}

// waitChat reads the socket until a chat.message with text arrives.
func waitChat(t *testing.T, ws *fws.Conn, text string) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang bound, not an assertion
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("no chat message %q: %v", text, err)
		}
		var ev struct {
			Type string `json:"type"`
			Data struct {
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
			} `json:"data"`
		}
		if err := json.Unmarshal(msg, &ev); err != nil {
			t.Fatalf("frame %s: %v", msg, err)
		}
		if ev.Type == "chat.message" && ev.Data.Message.Text == text {
			return
		}
	}
}
