package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"carewallet/app/identity"
	"carewallet/app/storage"
	"carewallet/news"
)

// newsApp is the test app with the news service on its own database file.
func newsApp(t *testing.T) (*testApp, *storage.SQLite) {
	t.Helper()
	ta := newTestApp(t, func(o *identity.Options) {
		o.Limits = identity.Limits{CodesPerClientHour: 1000, CodesPerMinute: 1000, CodesPerHour: 1000,
			ChecksPerClientHour: 1000, ChecksPerMinute: 1000}
	})
	// News on the app's own database, as the binary wires it: a fan-out
	// page's inbox events then commit with the page.
	db := ta.db
	ta.deps.News = ta.newsService(db, nil, 0)
	ta.f = New(ta.deps)
	return ta, db
}

// newsService builds a news service (one app instance) over db; wrap, when
// set, wraps its inbox.
func (ta *testApp) newsService(db *storage.SQLite, wrap func(news.Inbox) news.Inbox, page int) *news.Service {
	ta.t.Helper()
	st, err := news.NewSQLiteStore(context.Background(), db)
	if err != nil {
		ta.t.Fatal(err)
	}
	var inbox news.Inbox = NewsInbox{ta.deps.Push}
	if wrap != nil {
		inbox = wrap(inbox)
	}
	return news.NewService(st, news.Options{Now: ta.clock.now, Inbox: inbox, Audience: NewsAudience{Wallet: ta.deps.Wallet, Referrals: ta.deps.Referrals},
		Clinics: NewsClinics{ta.deps.Identity}, Staff: NewsStaff{ta.deps.Identity}, Bonus: NewsBonus{ta.deps.Wallet}, FanoutPage: page,
		Pushes: NewsPushes{ta.deps.Push}})
}

func pngBytes(w, h int) []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h)))
	return b.Bytes()
}

// countEvents counts a user's inbox events of a type.
func (ta *testApp) countEvents(userID, typ string) int {
	ta.t.Helper()
	n := 0
	var after int64
	for {
		evs, err := ta.deps.Push.Events(context.Background(), userID, after, 500)
		if err != nil {
			ta.t.Fatal(err)
		}
		if len(evs) == 0 {
			return n
		}
		for _, e := range evs {
			if e.Type == typ {
				n++
			}
		}
		after = evs[len(evs)-1].Seq
	}
}

func TestNewsPostPollFeedVote(t *testing.T) {
	ta, _ := newsApp(t)
	ctx := context.Background()
	cl := ta.clinicWithProgram("Smile Dental", "smile.test")
	other := ta.clinicWithProgram("Other Clinic", "other.test")
	alice, aliceTok, _ := ta.joinCard(cl, "+79992000001")
	bob, bobTok, _ := ta.joinCard(cl, "+79992000002")
	_, stranger, _ := ta.joinCard(other, "+79992000003")

	img := pngBytes(64, 48)
	post := map[string]any{"title": "Открылись по субботам", "body": "Теперь мы работаем и в субботу: https://smile.test",
		"image": base64.StdEncoding.EncodeToString(img), "poll": map[string]any{"options": []string{"Yes", "No", "Not sure"}}}
	ta.must(403, "POST", "/v1/clinic/news", cl.admin, post)
	var v news.ManagerView
	ta.must(201, "POST", "/v1/clinic/news", cl.manager, post).decode(t, &v)
	if v.Status != "publishing" || v.Poll == nil || len(v.Poll.Options) != 3 || v.ImageURL == "" {
		t.Fatalf("created %+v", v)
	}
	// A second post this week: 409 with the next Monday in Moscow.
	r := ta.must(409, "POST", "/v1/clinic/news", cl.manager, map[string]any{"title": "again", "body": "b"})
	var e struct {
		Error struct {
			Code          string    `json:"code"`
			NextAllowedAt time.Time `json:"next_allowed_at"`
		} `json:"error"`
	}
	r.decode(t, &e)
	msk, _ := time.LoadLocation("Europe/Moscow")
	if e.Error.Code != "weekly_limit" || !e.Error.NextAllowedAt.Equal(news.NextWeekStart(ta.clock.now(), msk)) {
		t.Fatalf("weekly limit: %s", r.Body)
	}
	// Bad input writes nothing: the week stays this post's.
	ta.must(400, "POST", "/v1/clinic/news", other.manager, map[string]any{"title": strings.Repeat("x", 121), "body": "b"})
	ta.must(400, "POST", "/v1/clinic/news", other.manager, map[string]any{"title": "t", "body": "b", "image": base64.StdEncoding.EncodeToString([]byte("GIF89a not an image"))})
	ta.must(400, "POST", "/v1/clinic/news", other.manager, map[string]any{"title": "t", "body": "b", "poll": map[string]any{"options": []string{"only one"}}})
	ta.must(400, "POST", "/v1/clinic/news", other.manager, map[string]any{"title": "t", "body": "b", "audience": "level:Gold"})

	if _, err := ta.deps.News.Fanout(ctx); err != nil {
		t.Fatal(err)
	}
	if ta.countEvents(alice, news.NotePost) != 1 || ta.countEvents(bob, news.NotePost) != 1 {
		t.Fatal("the post did not reach the inbox of every cardholder")
	}

	var feed news.FeedPage
	ta.must(200, "GET", "/v1/news", aliceTok, nil).decode(t, &feed)
	if len(feed.Posts) != 1 || feed.Posts[0].ID != v.ID || feed.Posts[0].Read || feed.Posts[0].Poll.Results != nil {
		t.Fatalf("feed %s", ta.must(200, "GET", "/v1/news", aliceTok, nil).Body)
	}
	ta.must(200, "GET", "/v1/news", stranger, nil).decode(t, &feed)
	if len(feed.Posts) != 0 {
		t.Fatalf("another clinic's patient sees %d posts", len(feed.Posts))
	}
	ta.must(404, "GET", "/v1/news/"+v.ID, stranger, nil)
	ta.must(404, "GET", "/v1/news/"+v.ID+"/image", stranger, nil)
	ta.must(404, "GET", "/v1/clinic/news/"+v.ID, other.manager, nil)

	got := ta.must(200, "GET", "/v1/news/"+v.ID+"/image", aliceTok, nil)
	if got.Header.Get("Content-Type") != "image/png" || !bytes.Equal(got.Body, img) {
		t.Fatalf("image: %s, %d bytes", got.Header.Get("Content-Type"), len(got.Body))
	}
	ta.must(200, "GET", "/v1/news/"+v.ID+"/image", cl.manager, nil)

	ta.must(204, "POST", "/v1/news/"+v.ID+"/read", aliceTok, nil)
	ta.must(204, "POST", "/v1/news/"+v.ID+"/read", aliceTok, nil)
	ta.must(403, "GET", "/v1/news/"+v.ID+"/results", aliceTok, nil)
	var res news.Results
	ta.must(200, "POST", "/v1/news/"+v.ID+"/vote", aliceTok, map[string]int{"option": 1}).decode(t, &res)
	if res.Total != 1 || res.Options[0].Votes != 1 || res.Options[0].Percent != 10000 {
		t.Fatalf("results after voting: %+v", res)
	}
	if code := ta.must(409, "POST", "/v1/news/"+v.ID+"/vote", aliceTok, map[string]int{"option": 2}).errorCode(t); code != "already_voted" {
		t.Fatalf("second vote: %s", code)
	}
	ta.must(400, "POST", "/v1/news/"+v.ID+"/vote", bobTok, map[string]int{"option": 4})
	ta.must(200, "POST", "/v1/news/"+v.ID+"/vote", bobTok, map[string]int{"option": 2})

	var page news.ManagerPage
	ta.must(200, "GET", "/v1/clinic/news", cl.manager, nil).decode(t, &page)
	if len(page.Posts) != 1 || page.Posts[0].Recipients != 2 || page.Posts[0].Sent != 2 || page.Posts[0].Read != 1 || page.Posts[0].Status != "published" {
		t.Fatalf("manager list %+v", page.Posts)
	}
	ta.must(200, "GET", "/v1/clinic/news/"+v.ID+"/results", cl.manager, nil).decode(t, &res)
	if res.Total != 2 || res.Options[0].Percent != 5000 {
		t.Fatalf("manager results %+v", res)
	}
	csv := ta.must(200, "GET", "/v1/clinic/news/"+v.ID+"/results?format=csv", cl.manager, nil)
	if !strings.Contains(string(csv.Body), `"Yes","1","50.00"`) {
		t.Fatalf("csv %s", csv.Body)
	}

	// The poll closes after 7 days.
	ta.clock.add(7*24*time.Hour + time.Second)
	_, carolTok, _ := ta.joinCard(cl, "+79992000004")
	cl.manager = ta.staffLogin("boss@smile.test", "manager-password").AccessToken
	aliceTok = ta.signInPatient("+79992000001").AccessToken
	other.manager = ta.staffLogin("boss@other.test", "manager-password").AccessToken
	if code := ta.must(409, "POST", "/v1/news/"+v.ID+"/vote", carolTok, map[string]int{"option": 1}).errorCode(t); code != "poll_closed" {
		t.Fatalf("late vote: %s", code)
	}

	// Edit (no second push), then withdraw.
	var ev news.ManagerView
	ta.must(200, "PATCH", "/v1/clinic/news/"+v.ID, cl.manager, map[string]any{"title": "Открылись по субботам!"}).decode(t, &ev)
	if ev.Title != "Открылись по субботам!" {
		t.Fatalf("edit %+v", ev)
	}
	if code := ta.must(409, "PATCH", "/v1/clinic/news/"+v.ID, cl.manager, map[string]any{"publish_at": time.Now().Add(time.Hour)}).errorCode(t); code != "already_published" {
		t.Fatalf("reschedule published: %s", code)
	}
	if _, err := ta.deps.News.Fanout(ctx); err != nil {
		t.Fatal(err)
	}
	if ta.countEvents(alice, news.NotePost) != 1 {
		t.Fatal("an edit pushed the post again")
	}
	ta.must(404, "DELETE", "/v1/clinic/news/"+v.ID, other.manager, nil)
	ta.must(204, "DELETE", "/v1/clinic/news/"+v.ID, cl.manager, nil)
	ta.must(200, "GET", "/v1/news", aliceTok, nil).decode(t, &feed)
	if len(feed.Posts) != 0 {
		t.Fatal("a withdrawn post is still in the feed")
	}
	var pv news.PostView
	ta.must(200, "GET", "/v1/news/"+v.ID, aliceTok, nil).decode(t, &pv)
	if !pv.Withdrawn {
		t.Fatal("the withdrawn post is not marked withdrawn")
	}
	// The inbox event stays, marked withdrawn; a second withdrawal (a
	// retry) answers the same and marks nothing twice.
	ta.must(204, "DELETE", "/v1/clinic/news/"+v.ID, cl.manager, nil)
	var inbox eventsResponse
	ta.must(200, "GET", "/v1/me/events?after=0", aliceTok, nil).decode(t, &inbox)
	marked := 0
	for _, e := range inbox.Events {
		var d struct {
			PostID    string `json:"post_id"`
			Title     string `json:"title"`
			Withdrawn bool   `json:"withdrawn"`
		}
		if e.Type == news.NotePost && json.Unmarshal(e.Data, &d) == nil && d.PostID == v.ID {
			if !d.Withdrawn || d.Title == "" {
				t.Fatalf("the post's inbox event: %s", e.Data)
			}
			marked++
		}
	}
	if marked != 1 {
		t.Fatalf("%d marked post events in %+v", marked, inbox.Events)
	}
}

func TestNewsScheduledPost(t *testing.T) {
	ta, _ := newsApp(t)
	ctx := context.Background()
	cl := ta.clinicWithProgram("Smile Dental", "smile.test")
	alice, aliceTok, _ := ta.joinCard(cl, "+79992000011")
	at := ta.clock.now().Add(48 * time.Hour).UTC()
	var v news.ManagerView
	ta.must(201, "POST", "/v1/clinic/news", cl.manager, map[string]any{"title": "Soon", "body": "b", "publish_at": at}).decode(t, &v)
	if v.Status != "scheduled" || !v.PublishAt.Equal(at) {
		t.Fatalf("scheduled %+v", v)
	}
	later := at.Add(time.Hour)
	ta.must(200, "PATCH", "/v1/clinic/news/"+v.ID, cl.manager, map[string]any{"publish_at": later,
		"poll": map[string]any{"options": []string{"Yes", "No"}}})
	if _, err := ta.deps.News.Fanout(ctx); err != nil {
		t.Fatal(err)
	}
	var feed news.FeedPage
	ta.must(200, "GET", "/v1/news", aliceTok, nil).decode(t, &feed)
	if len(feed.Posts) != 0 || ta.countEvents(alice, news.NotePost) != 0 {
		t.Fatal("a scheduled post went out early")
	}
	ta.must(404, "POST", "/v1/news/"+v.ID+"/vote", aliceTok, map[string]int{"option": 1})
	ta.clock.add(50 * time.Hour)
	aliceTok = ta.signInPatient("+79992000011").AccessToken
	if _, err := ta.deps.News.Fanout(ctx); err != nil {
		t.Fatal(err)
	}
	ta.must(200, "GET", "/v1/news", aliceTok, nil).decode(t, &feed)
	if len(feed.Posts) != 1 || ta.countEvents(alice, news.NotePost) != 1 || feed.Posts[0].Poll == nil {
		t.Fatalf("the scheduled post did not go out: %+v", feed)
	}
}

func TestNewsBodyLimit(t *testing.T) {
	ta, _ := newsApp(t)
	cl := ta.clinicWithProgram("Smile Dental", "smile.test")
	// A 1 MiB image is fine (the body is ~1.4 MiB); elsewhere 64 KiB is the limit.
	big := make([]byte, 1<<20)
	copy(big, pngBytes(2000, 2000))
	img := pngBytes(1200, 1200)
	ta.must(201, "POST", "/v1/clinic/news", cl.manager, map[string]any{"title": "big", "body": "b",
		"image": base64.StdEncoding.EncodeToString(img)})
	// Each 413 states the limit of its route.
	for _, x := range []struct{ method, path, body, limit string }{
		{"PUT", "/v1/clinic/program", `{"x":"` + strings.Repeat("a", 70<<10) + `"}`, "64 KiB"},
		{"POST", "/v1/clinic/news", `{"title":"` + strings.Repeat("a", 3<<20) + `"}`, "3 MiB"},
		{"PATCH", "/v1/clinic/news/nw_x", `{"title":"` + strings.Repeat("a", 3<<20) + `"}`, "3 MiB"},
	} {
		r := ta.mustRaw(413, x.method, x.path, cl.manager, x.body)
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		r.decode(t, &e)
		if e.Error.Code != "body_too_large" || e.Error.Message != "request body is larger than "+x.limit {
			t.Fatalf("%s %s: %s", x.method, x.path, r.Body)
		}
	}
	_ = big
}

// stoppingInbox is the real inbox that stops the process (cancels the
// fan-out) right after its n-th publish, before the fan-out records it.
type stoppingInbox struct {
	news.Inbox
	mu    sync.Mutex
	calls int
	n     int
	stop  func()
}

func (s *stoppingInbox) PublishMany(ctx context.Context, users []string, n news.Note) error {
	err := s.Inbox.PublishMany(ctx, users, n)
	s.mu.Lock()
	s.calls++
	if s.calls == s.n {
		s.stop()
	}
	s.mu.Unlock()
	return err
}

// TestNewsFanoutStopAndRestart: the fan-out stops half way through a
// clinic's cardholders and a new instance finishes it; every patient gets
// the post once, a guardian of two children (plus their own card) once.
func TestNewsFanoutStopAndRestart(t *testing.T) {
	ta, db := newsApp(t)
	cl := ta.clinicWithProgram("Smile Dental", "smile.test")
	var patients []string
	for i := range 20 {
		id, _, _ := ta.joinCard(cl, fmt.Sprintf("+7999300%04d", i))
		patients = append(patients, id)
	}
	mom := patients[0]
	for _, child := range []string{"Masha", "Sasha"} {
		ta.issueConfirmed(cl, map[string]string{"guardian_phone": "+79993000000", "first_name": child,
			"last_name": "Petrova", "birth_date": "2018-06-01"}, mom)
	}
	ctx, stop := context.WithCancel(context.Background())
	first := ta.newsService(db, func(in news.Inbox) news.Inbox { return &stoppingInbox{Inbox: in, n: 2, stop: stop} }, 5)
	var v news.ManagerView
	ta.must(201, "POST", "/v1/clinic/news", cl.manager, map[string]any{"title": "Hello", "body": "b"}).decode(t, &v)
	if _, err := first.Fanout(ctx); err == nil {
		t.Fatal("the stopped fan-out reported success")
	}
	got := 0
	for _, p := range patients {
		got += ta.countEvents(p, news.NotePost)
	}
	if got == 0 || got >= len(patients) {
		t.Fatalf("%d of %d patients reached before the stop: not half way", got, len(patients))
	}
	if n, err := ta.newsService(db, nil, 5).Fanout(context.Background()); err != nil || n != 1 {
		t.Fatalf("restarted fan-out: %d %v", n, err)
	}
	for _, p := range patients {
		if n := ta.countEvents(p, news.NotePost); n != 1 {
			t.Errorf("patient %s got the post %d times", p, n)
		}
	}
	var mv news.ManagerView
	ta.must(200, "GET", "/v1/clinic/news/"+v.ID, cl.manager, nil).decode(t, &mv)
	if mv.Recipients != 20 || mv.Sent != 20 || mv.Status != "published" {
		t.Fatalf("counts %+v", mv)
	}
}

// TestNewsAudienceByDepth: "audience": "depth:2" reaches only the
// patients at depth 2 of the clinic's referral tree (brought by someone
// who came by themselves); "depth:1" reaches those who came by
// themselves; a depth outside 1..8 is a 400 on audience and writes
// nothing.
func TestNewsAudienceByDepth(t *testing.T) {
	ta, _ := newsApp(t)
	ctx := context.Background()
	cl := ta.referralClinic("Smile Dental", "smile.test")
	pid, tok, v := ta.joinCard(cl, "+79993000001")
	a := member{pid, tok, v.ID}
	b, _ := ta.joinWith("+79993000002", "Boris", ta.codeOf(a))
	c, _ := ta.joinWith("+79993000003", "Clara", ta.codeOf(b))
	e, _, _ := ta.joinCard(cl, "+79993000004")

	for _, bad := range []string{"depth:0", "depth:9", "depth:two"} {
		r := ta.doRaw("POST", "/v1/clinic/news", cl.manager, map[string]any{"title": "Friends", "body": "b", "audience": bad})
		if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"audience"`) {
			t.Fatalf("audience %q: %d %s", bad, r.Status, r.Body)
		}
	}
	var mv news.ManagerView
	ta.must(201, "POST", "/v1/clinic/news", cl.manager, map[string]any{"title": "For friends of friends", "body": "b", "audience": "depth:2"}).decode(t, &mv)
	if mv.Audience != "depth:2" {
		t.Fatalf("manager view: %+v", mv)
	}
	if _, err := ta.deps.News.Fanout(ctx); err != nil {
		t.Fatal(err)
	}
	for who, want := range map[string]int{a.id: 0, b.id: 1, c.id: 0, e: 0} {
		if got := ta.countEvents(who, news.NotePost); got != want {
			t.Fatalf("%s got %d posts, want %d", who, got, want)
		}
	}
	ta.must(200, "GET", "/v1/clinic/news/"+mv.ID, cl.manager, nil).decode(t, &mv)
	if mv.Recipients != 1 || mv.Audience != "depth:2" {
		t.Fatalf("delivery: %+v", mv)
	}

	// Depth 1, a week later: A and E, who came by themselves.
	ta.clock.add(7 * 24 * time.Hour)
	cl.manager = ta.staffLogin("boss@smile.test", "manager-password").AccessToken
	ta.must(201, "POST", "/v1/clinic/news", cl.manager, map[string]any{"title": "For our first patients", "body": "b", "audience": "depth:1"}).decode(t, &mv)
	if _, err := ta.deps.News.Fanout(ctx); err != nil {
		t.Fatal(err)
	}
	for who, want := range map[string]int{a.id: 1, b.id: 1, c.id: 0, e: 1} {
		if got := ta.countEvents(who, news.NotePost); got != want {
			t.Fatalf("after depth 1: %s got %d posts, want %d", who, got, want)
		}
	}
}
