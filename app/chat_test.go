package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"carewallet/app/identity"
	"carewallet/news"
	"carewallet/wallet"
)

func TestChatHTTP(t *testing.T) {
	ta, _ := newsApp(t)
	cl := ta.clinicWithProgram("Smile Dental", "smile.test")
	other := ta.clinicWithProgram("Other Clinic", "other.test")
	// A second manager, with a name to sign replies.
	ta.must(201, "POST", "/v1/clinic/staff", cl.manager, map[string]string{"email": "olga@smile.test", "password": "olga-password",
		"role": "manager", "name": "Olga"})
	olga := ta.staffLogin("olga@smile.test", "olga-password").AccessToken
	alice, aliceTok, card := ta.joinCard(cl, "+79994000001")
	ta.must(200, "PATCH", "/v1/me", aliceTok, map[string]string{"first_name": "Alice", "last_name": "Smirnova"})
	_, bobTok, _ := ta.joinCard(cl, "+79994000002")
	_, strangerTok := ta.patient("+79994000003")

	// Olga listens on the websocket, as the console does.
	addr := ta.serve()
	ws := &wsClient{t: t, c: mustDialWS(t, addr, olga, "after=0")} // replay: the dial may finish after the first message

	// No card, no chat; an unknown thread is not the clinic's to start.
	ta.must(404, "POST", "/v1/chats", strangerTok, map[string]string{"clinic_id": cl.id, "text": "hi"})
	ta.must(404, "POST", "/v1/clinic/chats/th_unknown/messages", cl.manager, map[string]string{"text": "hello"})
	ta.must(403, "POST", "/v1/chats", cl.manager, map[string]string{"clinic_id": cl.id, "text": "hi"})

	var start chatStartResponse
	ta.must(201, "POST", "/v1/chats", aliceTok, map[string]string{"clinic_id": cl.id, "text": "Можно перенести запись на пятницу?"}).decode(t, &start)
	th := start.Thread.ID
	if start.Message.Seq != 1 || start.Thread.Status != news.ThreadOpen {
		t.Fatalf("start %+v", start)
	}
	// The message reached Olga's socket live.
	ws.readUntil(1)
	var note news.ChatNote
	if err := json.Unmarshal(ws.got[0].Data, &note); err != nil || ws.got[0].Type != news.NoteChatMessage || note.Message.Text != "Можно перенести запись на пятницу?" {
		t.Fatalf("manager's socket got %s %s", ws.got[0].Type, ws.got[0].Data)
	}

	// Only managers read chats: reception (admin) may not; another clinic sees nothing; Bob cannot read Alice's.
	ta.must(403, "GET", "/v1/clinic/chats", cl.admin, nil)
	ta.must(403, "GET", "/v1/clinic/chats/"+th, cl.admin, nil)
	ta.must(404, "GET", "/v1/clinic/chats/"+th, other.manager, nil)
	var list clinicChatsResponse
	ta.must(200, "GET", "/v1/clinic/chats", other.manager, nil).decode(t, &list)
	if len(list.Threads) != 0 {
		t.Fatalf("another clinic lists %d threads", len(list.Threads))
	}
	ta.must(404, "GET", "/v1/chats/"+th, bobTok, nil)
	ta.must(404, "POST", "/v1/chats/"+th+"/messages", bobTok, map[string]string{"text": "me too"})

	ta.must(200, "GET", "/v1/clinic/chats?status=open&unread=true", cl.manager, nil).decode(t, &list)
	if len(list.Threads) != 1 || list.Threads[0].PatientName != "Alice Smirnova" || list.Threads[0].Unread != 1 {
		t.Fatalf("manager list %+v", list)
	}
	ta.must(400, "GET", "/v1/clinic/chats?status=maybe", cl.manager, nil)

	// A receipt makes a visit the manager sees beside the chat.
	ta.must(200, "POST", "/v1/clinic/receipts", cl.admin, map[string]any{"card_id": card.ID, "receipt_id": "R-1",
		"lines": []map[string]any{{"service": "CONS-01", "amount": 200000}}})
	var conv managerConversation
	ta.must(200, "GET", "/v1/clinic/chats/"+th, olga, nil).decode(t, &conv)
	if conv.Patient.Name != "Alice Smirnova" || len(conv.Patient.Cards) != 1 || len(conv.Patient.Visits) != 1 ||
		conv.Patient.Visits[0].Paid != 200000 || conv.Patient.Visits[0].StaffName != "Desk" || len(conv.Messages) != 1 {
		t.Fatalf("conversation %+v", conv)
	}

	// Olga answers with a birthday bonus; a retry with the same key credits once.
	reply := map[string]any{"text": "Да, конечно. И с днём рождения!", "bonus": map[string]any{"points": 300, "reason": "birthday"}}
	var m chatMessage
	ta.must(201, "POST", "/v1/clinic/chats/"+th+"/messages", olga, reply, "Idempotency-Key", "reply-1").decode(t, &m)
	if m.Seq != 2 || m.AuthorName != "Olga (manager)" || m.Bonus == nil || m.Bonus.Points != 300 {
		t.Fatalf("reply %+v", m)
	}
	ta.must(201, "POST", "/v1/clinic/chats/"+th+"/messages", olga, reply, "Idempotency-Key", "reply-1")
	var cv wallet.CardView
	ta.must(200, "GET", "/v1/cards/"+card.ID, aliceTok, nil).decode(t, &cv)
	if cv.Balance != 500+100+300 { // welcome + 5% of 2,000.00 (100.00 = 100 points) + the bonus, once
		t.Fatalf("balance %d after the bonus", cv.Balance)
	}
	ev := ta.lastEvent(alice, news.NoteChatMessage)
	if strings.Contains(string(ev.Data), "рождения") == false {
		t.Fatalf("the inbox event lacks the text: %s", ev.Data)
	}
	ws.readUntil(2) // Olga's own reply reaches every manager's console

	// Read state on both sides.
	var mine myChatsResponse
	ta.must(200, "GET", "/v1/chats", aliceTok, nil).decode(t, &mine)
	if len(mine.Threads) != 1 || mine.Threads[0].Unread != 1 {
		t.Fatalf("patient's threads %+v", mine)
	}
	ta.must(204, "POST", "/v1/chats/"+th+"/read", aliceTok, map[string]int{"up_to": 2})
	ta.must(400, "POST", "/v1/chats/"+th+"/read", aliceTok, map[string]int{"up_to": 9})
	ta.must(204, "POST", "/v1/clinic/chats/"+th+"/read", cl.manager, map[string]int{"up_to": 0})
	ta.must(200, "GET", "/v1/clinic/chats?unread=true", cl.manager, nil).decode(t, &list)
	if len(list.Threads) != 0 {
		t.Fatalf("read thread is unread: %+v", list)
	}
	var pc patientConversation
	ta.must(200, "GET", "/v1/chats/"+th+"?after=1", aliceTok, nil).decode(t, &pc)
	if len(pc.Messages) != 1 || pc.Messages[0].AuthorName != "Olga (manager)" || pc.Thread.Unread != 0 {
		t.Fatalf("patient conversation %+v", pc)
	}

	// Close: no answers; reopen.
	var tv news.ThreadView
	ta.must(200, "POST", "/v1/clinic/chats/"+th+"/close", cl.manager, nil).decode(t, &tv)
	if tv.Status != news.ThreadClosed {
		t.Fatalf("close %+v", tv)
	}
	if code := ta.must(409, "POST", "/v1/clinic/chats/"+th+"/messages", cl.manager, map[string]string{"text": "x"}).errorCode(t); code != "chat_closed" {
		t.Fatalf("reply to closed: %s", code)
	}
	ta.must(200, "POST", "/v1/clinic/chats/"+th+"/reopen", cl.manager, nil)
	ta.must(400, "POST", "/v1/chats/"+th+"/messages", aliceTok, map[string]string{"text": strings.Repeat("я", 4001)})

	// At most 30 messages a minute from a patient.
	for i := 2; i <= news.PatientRate; i++ {
		ta.must(201, "POST", "/v1/chats/"+th+"/messages", aliceTok, map[string]string{"text": fmt.Sprint(i)})
	}
	r := ta.must(429, "POST", "/v1/chats/"+th+"/messages", aliceTok, map[string]string{"text": "31"})
	if r.Header.Get("Retry-After") == "" || r.errorCode(t) != "rate_limited" {
		t.Fatalf("rate limit: %v %s", r.Header, r.Body)
	}
}

// TestChatConcurrentSendersHTTP: the patient and two managers write at
// once; the thread's order is total (seq 1..n, no gaps).
func TestChatConcurrentSendersHTTP(t *testing.T) {
	ta, _ := newsApp(t)
	cl := ta.clinicWithProgram("Smile Dental", "smile.test")
	if _, err := ta.deps.Identity.AddStaff(t.Context(), identity.NewStaff{ClinicID: cl.id, Email: "m2@smile.test", Password: "manager-password", Role: identity.RoleManager}); err != nil {
		t.Fatal(err)
	}
	m2 := ta.staffLogin("m2@smile.test", "manager-password").AccessToken
	_, tok, _ := ta.joinCard(cl, "+79994000011")
	var start chatStartResponse
	ta.must(201, "POST", "/v1/chats", tok, map[string]string{"clinic_id": cl.id, "text": "0"}).decode(t, &start)
	th := start.Thread.ID
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ta.must(201, "POST", "/v1/chats/"+th+"/messages", tok, map[string]string{"text": fmt.Sprint("p", i)})
		})
		wg.Go(func() {
			ta.must(201, "POST", "/v1/clinic/chats/"+th+"/messages", cl.manager, map[string]string{"text": fmt.Sprint("a", i)})
		})
		wg.Go(func() {
			ta.must(201, "POST", "/v1/clinic/chats/"+th+"/messages", m2, map[string]string{"text": fmt.Sprint("b", i)})
		})
	}
	wg.Wait()
	var conv managerConversation
	ta.must(200, "GET", "/v1/clinic/chats/"+th, cl.manager, nil).decode(t, &conv)
	if len(conv.Messages) != 25 {
		t.Fatalf("%d messages, want 25", len(conv.Messages))
	}
	for i, m := range conv.Messages {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d", i, m.Seq)
		}
	}
}
