package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"carewallet/app/storage"
	"carewallet/app/storage/storagetest"
	"carewallet/news"
	"carewallet/push"
	"carewallet/push/pushtest"
	"carewallet/wallet"
)

// policyOff publishes notes outside the message policy.
type policyOff struct{ news.Inbox }

func (p policyOff) PublishMany(ctx context.Context, users []string, n news.Note) error {
	n.Clinic, n.Class = "", ""
	return p.Inbox.PublishMany(ctx, users, n)
}

type benchClinics struct{}

// Location implements push.Zones: the message policy (quiet hours, weekly
// budget) is on in the benchmark, with the default settings.
func (benchClinics) Location(ctx context.Context, id string) (*time.Location, error) {
	return time.LoadLocation("Europe/Moscow")
}

func (benchClinics) Clinic(ctx context.Context, id string) (news.Clinic, error) {
	loc, err := time.LoadLocation("Europe/Moscow")
	return news.Clinic{Name: "Smile Dental", Location: loc}, err
}

// benchHolders puts n patients with an active card of clinic and one
// device each straight into the tables: enrolling them is not measured.
func benchHolders(b *testing.B, db *storage.SQLite, clinic string, n int) []string {
	ctx := context.Background()
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("pt_%07d", i)
	}
	const chunk = 80
	for start := 0; start < n; start += chunk {
		part := users[start:min(start+chunk, n)]
		cards := make([]any, 0, len(part)*6)
		devs := make([]any, 0, len(part)*3)
		for j, u := range part {
			holder := `{"kind":"self","patient_id":"` + u + `"}`
			cards = append(cards, "cd_"+u, clinic, u, "p:"+u, int64(1e18)+int64(start+j), holder)
			devs = append(devs, "tok-"+u, u, time.Now().UnixNano())
		}
		if _, err := db.Write.ExecContext(ctx, `INSERT INTO wallet_cards (id, clinic_id, patient_id, holder_key, dependant_id, slot,
			status, issued_by, created, birth_md, challenge_id, holder) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, '', 0, 'active', '', ?, '', '', ?),", len(part)), ","), cards...); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Write.ExecContext(ctx, `INSERT INTO push_devices (token, user_id, session_id, platform, app_version, locale, updated_at) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, 'sess', 'android', '1.0', 'ru', ?),", len(part)), ","), devs...); err != nil {
			b.Fatal(err)
		}
	}
	return users
}

// BenchmarkNewsFanOut publishes one news post to BENCH_USERS cardholders
// (default 100,000; one device each) — the clinic's cards read page by
// page from the wallet, inbox writes, recipient records, the cursor, and
// the pushes through firebase-admin-go to the FCM emulator (FAKEFCM_URL,
// e.g. a pinned `go run ./cmd/fakefcm`, or in-process) — and, alternating
// in the same run, the raw push fan-out of one event to the same users
// (push.PublishMany). Each is timed from the start to the last FCM answer;
// it reports recipients/s of both and their ratio (news/raw).
//
//	go test -run '^$' -bench NewsFanOut -benchtime 2x ./app/
func BenchmarkNewsFanOut(b *testing.B) {
	ctx := context.Background()
	n := envInt("BENCH_USERS", 100_000)
	db := storagetest.SQLite(b)
	pushStore, err := push.NewSQLiteStore(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	walletStore, err := wallet.NewSQLiteStore(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	newsStore, err := news.NewSQLiteStore(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	users := benchHolders(b, db, "cl_bench", n)
	endpoint := os.Getenv("FAKEFCM_URL")
	if endpoint == "" {
		srv := httptest.NewServer(pushtest.New(pushtest.Config{MaxRecorded: -1}))
		b.Cleanup(srv.Close)
		endpoint = srv.URL
	}
	sender, err := push.NewFCMSender(ctx, push.FCMConfig{Project: "bench", Endpoint: endpoint})
	if err != nil {
		b.Fatal(err)
	}
	// Monday 12:00 in Moscow, outside the default quiet hours; each post
	// moves it a week on, so the weekly budget (2) never skips anyone.
	clock := &testClock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	pushes := push.NewService(pushStore, push.Options{Sender: sender, PushWorkers: envInt("BENCH_PUSH_WORKERS", 2),
		PushQueue: n/500 + 100, Now: clock.now, Zones: benchClinics{}})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = pushes.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	wallets := wallet.NewService(walletStore, ClinicLocations{}, WalletNotifier{pushes}, wallet.Options{CodeKey: testKey})
	var inbox news.Inbox = NewsInbox{pushes}
	if os.Getenv("BENCH_POLICY") == "0" {
		inbox = policyOff{inbox} // the fan-out without the message policy, for comparison
	}
	svc := news.NewService(newsStore, news.Options{Now: clock.now, Inbox: inbox, Audience: NewsAudience{Wallet: wallets},
		Clinics: benchClinics{}, FanoutPage: envInt("BENCH_PAGE", 0)})

	var sent int64
	wait := func() {
		sent += int64(n)
		for {
			st := pushes.Stats()
			if st.Sent+st.Failed+st.Dropped >= sent {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	var rawTime, newsTime, rawInbox, newsInbox time.Duration
	raw := func(i int) {
		t0 := time.Now()
		if err := pushes.PublishMany(ctx, users, push.Draft{Key: fmt.Sprintf("raw:%d", i), Type: "news.post",
			Data:  json.RawMessage(fmt.Sprintf(`{"post_id":"raw_%d","title":"Clinic news"}`, i)),
			Alert: &push.Alert{Title: "Smile Dental", Body: "Новая публикация / New post"}}); err != nil {
			b.Fatal(err)
		}
		rawInbox += time.Since(t0)
		wait()
		rawTime += time.Since(t0)
	}
	post := func(i int) {
		clock.add(7 * 24 * time.Hour) // one post a week
		t0 := time.Now()
		p, err := svc.CreatePost(ctx, "cl_bench", "st_bench", news.Draft{Title: fmt.Sprint("News ", i), Body: "Body"})
		if err != nil {
			b.Fatal(err)
		}
		if done, err := svc.Fanout(ctx); err != nil || done != 1 {
			b.Fatalf("fan-out: %d %v", done, err)
		}
		newsInbox += time.Since(t0)
		wait()
		newsTime += time.Since(t0)
		if v, err := svc.ManagerPost(ctx, "cl_bench", p.ID); err != nil || v.Sent != int64(n) {
			b.Fatalf("post %+v %v", v, err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		// Alternate which goes first: the second writes into an inbox
		// table 100,000 events bigger.
		if i%2 == 0 {
			raw(i)
			post(i)
		} else {
			post(i)
			raw(i)
		}
	}
	b.StopTimer()
	if st := pushes.Stats(); st.Sent != sent {
		b.Fatalf("push stats %+v, want %d sent", st, sent)
	}
	total := float64(b.N * n)
	b.ReportMetric(total/newsTime.Seconds(), "news-recipients/s")
	b.ReportMetric(total/rawTime.Seconds(), "raw-recipients/s")
	b.ReportMetric(rawTime.Seconds()/newsTime.Seconds(), "news/raw")
	// Until the last inbox write (the pushes are still going out).
	b.ReportMetric(total/newsInbox.Seconds(), "news-inbox/s")
	b.ReportMetric(total/rawInbox.Seconds(), "raw-inbox/s")
}
