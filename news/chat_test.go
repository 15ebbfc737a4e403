package news

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"carewallet/app/problem"
	"carewallet/app/storage/storagetest"
)

// TestChatOrderUnderConcurrentSenders: a patient and two managers on two
// instances write at once; the thread's seqs are 1..n with no gap and no
// repeat, and every message is there once.
func TestChatOrderUnderConcurrentSenders(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		e.aud.holders["c1"] = []string{"alice"}
		th, _, err := e.svc.StartChat(ctx, "alice", "c1", "hello")
		if err != nil {
			t.Fatal(err)
		}
		other := e.instance(t)
		var wg sync.WaitGroup
		const each = 12
		for i := range each {
			wg.Go(func() {
				if _, err := other.PatientSend(ctx, "alice", th.ID, fmt.Sprint("p", i)); err != nil {
					t.Error(err)
				}
			})
			wg.Go(func() {
				if _, err := e.svc.ManagerReply(ctx, "c1", "m1", th.ID, "", Reply{Text: fmt.Sprint("m", i)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		conv, err := e.svc.ManagerThread(ctx, "c1", th.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(conv.Messages) != 2*each+1 {
			t.Fatalf("%d messages, want %d", len(conv.Messages), 2*each+1)
		}
		seen := map[string]bool{}
		for i, m := range conv.Messages {
			if m.Seq != int64(i+1) || seen[m.Text] {
				t.Fatalf("message %d: seq %d text %q (seen %v)", i, m.Seq, m.Text, seen[m.Text])
			}
			seen[m.Text] = true
		}
		if conv.Thread.LastSeq != int64(2*each+1) || conv.Thread.Unread != each+1 {
			t.Fatalf("thread %+v", conv.Thread)
		}
	})
}

func TestChatRules(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		e.aud.holders["c1"] = []string{"alice", "bob"}
		// No card, no chat; a clinic cannot start one (there is no thread to answer).
		if _, _, err := e.svc.StartChat(ctx, "mallory", "c1", "hi"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a non-holder starts a chat: %v", err)
		}
		if _, err := e.svc.ManagerReply(ctx, "c1", "m1", "th_none", "", Reply{Text: "hi"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("reply to no thread: %v", err)
		}
		th, m1, err := e.svc.StartChat(ctx, "alice", "c1", "Можно перенести запись?")
		if err != nil {
			t.Fatal(err)
		}
		// The first message again on the same (clinic, patient) goes to the same thread.
		th2, _, err := e.svc.StartChat(ctx, "alice", "c1", "и ещё вопрос")
		if err != nil || th2.ID != th.ID {
			t.Fatalf("second start: %v, thread %s vs %s", err, th2.ID, th.ID)
		}
		if _, err := e.svc.PatientThread(ctx, "bob", th.ID, 0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bob reads alice's thread: %v", err)
		}
		if _, err := e.svc.PatientSend(ctx, "bob", th.ID, "hi"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bob writes in alice's thread: %v", err)
		}
		if _, err := e.svc.ManagerThread(ctx, "c2", th.ID, 0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another clinic reads: %v", err)
		}
		if _, err := e.svc.PatientSend(ctx, "alice", th.ID, strings.Repeat("x", MaxMessage+1)); !errors.Is(err, ErrInvalid) {
			t.Fatalf("long message: %v", err)
		}
		// Both managers got the patient's messages in their inboxes, no alert.
		for _, mgr := range []string{"mgr-1-c1", "mgr-2-c1"} {
			if n := e.inbox.count(mgr, NoteChatMessage); n != 2 {
				t.Fatalf("%s has %d chat events", mgr, n)
			}
		}
		page, err := e.svc.ClinicThreads(ctx, "c1", ThreadOpen, true, "", 0)
		if err != nil || len(page.Threads) != 1 || page.Threads[0].Unread != 2 {
			t.Fatalf("unread threads %+v %v", page, err)
		}
		if err := e.svc.ManagerRead(ctx, "c1", th.ID, 0); err != nil {
			t.Fatal(err)
		}
		if page, _ = e.svc.ClinicThreads(ctx, "c1", "", true, "", 0); len(page.Threads) != 0 {
			t.Fatalf("read thread listed as unread: %+v", page)
		}
		// A reply with a bonus: credited once per key, the push says who replied, never what.
		r := Reply{Text: "Конечно, с днём рождения!", Bonus: &ReplyBonus{Points: 300, Reason: "birthday"}}
		reply, err := e.svc.ManagerReply(ctx, "c1", "m1", th.ID, "idem-1", r)
		if err != nil || reply.Seq != 3 || reply.Bonus == nil {
			t.Fatalf("reply %+v %v", reply, err)
		}
		bonus := e.svc.opts.Bonus.(*bonusFake)
		if c, ok := bonus.keys["chat:"+th.ID+":idem-1"]; !ok || c.PatientID != "alice" || c.Points != 300 {
			t.Fatalf("bonus %+v", bonus.keys)
		}
		e.inbox.mu.Lock()
		note := e.inbox.events["alice"][len(e.inbox.events["alice"])-1]
		e.inbox.mu.Unlock()
		if note.AlertTitle == "" || strings.Contains(note.AlertTitle+note.AlertBody, "рождения") || !strings.Contains(note.AlertBody, "replied") {
			t.Fatalf("lock screen shows %q / %q", note.AlertTitle, note.AlertBody)
		}
		mine, _ := e.svc.MyThreads(ctx, "alice")
		if len(mine) != 1 || mine[0].Unread != 1 {
			t.Fatalf("patient's threads %+v", mine)
		}
		if err := e.svc.PatientRead(ctx, "alice", th.ID, 99); !errors.Is(err, ErrInvalid) {
			t.Fatalf("read past the end: %v", err)
		}
		if err := e.svc.PatientRead(ctx, "alice", th.ID, 3); err != nil {
			t.Fatal(err)
		}
		if mine, _ = e.svc.MyThreads(ctx, "alice"); mine[0].Unread != 0 {
			t.Fatalf("after reading %+v", mine)
		}
		// Closed: managers cannot answer; the patient writing opens it again.
		if _, err := e.svc.SetThreadStatus(ctx, "c1", th.ID, ThreadClosed); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.ManagerReply(ctx, "c1", "m1", th.ID, "", Reply{Text: "x"}); !errors.Is(err, ErrThreadClosed) {
			t.Fatalf("reply to a closed thread: %v", err)
		}
		if page, _ = e.svc.ClinicThreads(ctx, "c1", ThreadClosed, false, "", 0); len(page.Threads) != 1 {
			t.Fatalf("closed list %+v", page)
		}
		if _, err := e.svc.PatientSend(ctx, "alice", th.ID, "ещё"); err != nil {
			t.Fatal(err)
		}
		if page, _ = e.svc.ClinicThreads(ctx, "c1", ThreadOpen, false, "", 0); len(page.Threads) != 1 {
			t.Fatalf("reopened list %+v", page)
		}
		_ = m1
	})
}

func TestChatRateLimit(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		e.aud.holders["c1"] = []string{"alice"}
		e.clock.t = time.Date(2026, 12, 2, 9, 0, 10, 0, time.UTC)
		th, _, err := e.svc.StartChat(ctx, "alice", "c1", "1")
		if err != nil {
			t.Fatal(err)
		}
		for i := 2; i <= PatientRate; i++ {
			if _, err := e.svc.PatientSend(ctx, "alice", th.ID, fmt.Sprint(i)); err != nil {
				t.Fatal(i, err)
			}
		}
		_, err = e.svc.PatientSend(ctx, "alice", th.ID, "31")
		var lim *problem.Limited
		if !errors.As(err, &lim) || !errors.Is(err, ErrRateLimited) || lim.RetryAfterSeconds() != 50 {
			t.Fatalf("31st message in a minute: %v", err)
		}
		// Managers are not limited; the next minute the patient may write again.
		if _, err := e.svc.ManagerReply(ctx, "c1", "m1", th.ID, "", Reply{Text: "ok"}); err != nil {
			t.Fatal(err)
		}
		e.clock.add(50 * time.Second)
		if _, err := e.svc.PatientSend(ctx, "alice", th.ID, "again"); err != nil {
			t.Fatal(err)
		}
	})
}
