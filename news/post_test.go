package news

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

func TestWeeklyLimitTwoInstances(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		a, c := e.svc, e.instance(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ok, limited int
		var next time.Time
		for i := range 16 {
			svc := a
			if i%2 == 1 {
				svc = c
			}
			wg.Go(func() {
				_, err := svc.CreatePost(ctx, "c1", "m1", draft(fmt.Sprint("post ", i)))
				mu.Lock()
				defer mu.Unlock()
				var wl *WeeklyLimitError
				switch {
				case err == nil:
					ok++
				case errors.As(err, &wl):
					limited++
					next = wl.NextAllowedAt
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok != 1 || limited != 15 {
			t.Fatalf("%d posts created, %d refused; want 1 and 15", ok, limited)
		}
		// Monday 2026-12-07 00:00 Moscow.
		if want := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC); !next.Equal(want) {
			t.Fatalf("next_allowed_at %s, want %s", next, want)
		}
		page, err := a.ClinicPosts(ctx, "c1", "", 0)
		if err != nil || len(page.Posts) != 1 {
			t.Fatalf("clinic posts: %v %+v", err, page)
		}
		// Another clinic is not limited; next week is free again.
		if _, err := c.CreatePost(ctx, "c2", "m2", draft("other clinic")); err != nil {
			t.Fatal(err)
		}
		e.clock.t = next
		if _, err := a.CreatePost(ctx, "c1", "m1", draft("next week")); err != nil {
			t.Fatal(err)
		}
	})
}

func TestScheduledPostCountsForItsWeek(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		nextWeek := start.AddDate(0, 0, 7)
		d := draft("scheduled")
		d.PublishAt = &nextWeek
		p, err := e.svc.CreatePost(ctx, "c1", "m1", d)
		if err != nil {
			t.Fatal(err)
		}
		// This week is still free; next week is not.
		if _, err := e.svc.CreatePost(ctx, "c1", "m1", draft("now")); err != nil {
			t.Fatal(err)
		}
		d2 := draft("also next week")
		d2.PublishAt = &nextWeek
		var wl *WeeklyLimitError
		if _, err := e.svc.CreatePost(ctx, "c1", "m1", d2); !errors.As(err, &wl) {
			t.Fatalf("second post next week: %v", err)
		} else if want := time.Date(2026, 12, 13, 21, 0, 0, 0, time.UTC); !wl.NextAllowedAt.Equal(want) {
			t.Fatalf("next allowed %s, want %s (this week and next are taken)", wl.NextAllowedAt, want)
		}
		// Moving the scheduled post frees its week; cancelling frees the new one.
		later := start.AddDate(0, 0, 14)
		if _, err := e.svc.EditPost(ctx, "c1", p.ID, Edit{PublishAt: &later}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreatePost(ctx, "c1", "m1", d2); err != nil {
			t.Fatalf("week freed by the move: %v", err)
		}
		if err := e.svc.WithdrawPost(ctx, "c1", p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.store.Post(ctx, p.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("cancelled scheduled post still there: %v", err)
		}
		d3 := draft("in two weeks")
		d3.PublishAt = &later
		if _, err := e.svc.CreatePost(ctx, "c1", "m1", d3); err != nil {
			t.Fatalf("week freed by cancelling: %v", err)
		}
		// Nothing was fanned out ahead of time.
		if n, err := e.svc.Fanout(ctx); err != nil || n != 1 {
			t.Fatalf("fan-out of the one due post: %d %v", n, err)
		}
	})
}

func TestPostValidation(t *testing.T) {
	e := newEnv(t, storagetest.Backend{Name: "sqlite", SQLite: storagetest.SQLite(t)})
	ctx := context.Background()
	past := start.Add(-time.Hour)
	for name, d := range map[string]Draft{
		"empty title":  {Body: "b"},
		"long title":   {Title: strings.Repeat("я", 121), Body: "b"},
		"long body":    {Title: "t", Body: strings.Repeat("b", 4001)},
		"control char": {Title: "t\x00", Body: "b"},
		"one option":   {Title: "t", Body: "b", Poll: &PollDraft{Options: []string{"Yes"}}},
		"four options": {Title: "t", Body: "b", Poll: &PollDraft{Options: []string{"a", "b", "c", "d"}}},
		"same options": {Title: "t", Body: "b", Poll: &PollDraft{Options: []string{"Yes", "yes"}}},
		"closes early": {Title: "t", Body: "b", Poll: &PollDraft{Options: []string{"a", "b"}, ClosesAt: &past}},
		"not an image": {Title: "t", Body: "b", Image: []byte("GIF89a....")},
		"audience":     {Title: "t", Body: "b", Audience: "vip"},
	} {
		if _, err := e.svc.CreatePost(ctx, "c1", "m1", d); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	// 120 Cyrillic characters are 240 bytes and fine.
	if _, err := e.svc.CreatePost(ctx, "c1", "m1", Draft{Title: strings.Repeat("я", 120), Body: strings.Repeat("б", 4000)}); err != nil {
		t.Fatal(err)
	}
}

func pngOf(w, h int) []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)))
	return b.Bytes()
}

func TestImageCheck(t *testing.T) {
	if img, err := checkImage(pngOf(40, 30)); err != nil || img.Type != "image/png" || img.Width != 40 {
		t.Fatalf("small png: %+v %v", img, err)
	}
	if _, err := checkImage(pngOf(4097, 1)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("too wide: %v", err)
	}
	truncated := pngOf(40, 30)
	if _, err := checkImage(truncated[:len(truncated)-20]); !errors.Is(err, ErrInvalid) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := checkImage(append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, 100)...)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("fake jpeg: %v", err)
	}
	if _, err := checkImage(make([]byte, MaxImageBytes+1)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("too big: %v", err)
	}
}

func FuzzCheckImage(f *testing.F) {
	f.Add(pngOf(2, 2))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE0})
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := checkImage(b)
		if err == nil && (img.Width > MaxImageSide || img.Height > MaxImageSide) {
			t.Fatalf("accepted %dx%d", img.Width, img.Height)
		}
	})
}

func holders(n int, prefix string) []string {
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, fmt.Sprintf("%s%03d", prefix, i))
	}
	return out
}

// TestFanoutStopsAndResumes stops the fan-out half way (the process dies
// after a page was published, before its cursor moved) and starts it again
// on another instance: every holder gets the post exactly once, a guardian
// of several cards once.
func TestFanoutStopsAndResumes(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		users := holders(60, "p")
		// p000 is a guardian with 3 dependants' cards, on three pages.
		e.aud.holders["c1"] = append(append([]string{"p000"}, users...), "p000", "p000")
		p, err := e.svc.CreatePost(context.Background(), "c1", "m1", draft("hello"))
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		e.inbox.after = func(calls int) {
			if calls == 4 {
				stop() // dies after publishing page 4, before recording it
			}
		}
		if _, err := e.svc.Fanout(ctx); err == nil {
			t.Fatal("the stopped fan-out reported success")
		}
		half := 0
		for _, u := range users {
			half += e.inbox.count(u, NotePost)
		}
		if half == 0 || half >= len(users) {
			t.Fatalf("%d of %d delivered before the stop: not half way", half, len(users))
		}
		e.inbox.after = nil
		if n, err := e.instance(t).Fanout(context.Background()); err != nil || n != 1 {
			t.Fatalf("resumed fan-out: %d %v", n, err)
		}
		for _, u := range users {
			if got := e.inbox.count(u, NotePost); got != 1 {
				t.Errorf("%s got the post %d times", u, got)
			}
		}
		v, err := e.svc.ManagerPost(context.Background(), "c1", p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Recipients != 60 || v.Sent != 60 || v.Failed != 0 || v.Status != "published" {
			t.Fatalf("counts %+v, want 60 recipients, 60 sent", v)
		}
		// Done posts are not picked up again.
		if n, err := e.svc.Fanout(context.Background()); err != nil || n != 0 {
			t.Fatalf("second run: %d %v", n, err)
		}
	})
}

func TestFanoutGivesUpOnAFailingPage(t *testing.T) {
	e := newEnv(t, storagetest.Backend{Name: "sqlite", SQLite: storagetest.SQLite(t)})
	ctx := context.Background()
	e.aud.holders["c1"] = holders(10, "p")
	p, err := e.svc.CreatePost(ctx, "c1", "m1", draft("hello"))
	if err != nil {
		t.Fatal(err)
	}
	e.inbox.failNext = maxPageFailures
	for range maxPageFailures - 1 {
		if _, err := e.svc.Fanout(ctx); err == nil {
			t.Fatal("a failing page reported success")
		}
	}
	// The fifth failure gives the page up and goes on.
	if _, err := e.svc.Fanout(ctx); err != nil {
		t.Fatal(err)
	}
	v, _ := e.svc.ManagerPost(ctx, "c1", p.ID)
	if v.Recipients != 10 || v.Failed != 7 || v.Sent != 3 || v.Status != "published" {
		t.Fatalf("counts %+v: want the first page (7) failed, the rest sent", v)
	}
}

func TestFeedReadEditWithdraw(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		e.aud.holders["c1"] = []string{"alice", "bob"}
		e.aud.holders["c2"] = []string{"alice"}
		d := draft("first")
		d.Image = pngOf(8, 8)
		p1, err := e.svc.CreatePost(ctx, "c1", "m1", d)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.add(time.Minute)
		p2, err := e.svc.CreatePost(ctx, "c2", "m2", draft("second"))
		if err != nil {
			t.Fatal(err)
		}
		feed, err := e.svc.Feed(ctx, "alice", "", 1)
		if err != nil || len(feed.Posts) != 1 || feed.Posts[0].ID != p2.ID || feed.Next == "" {
			t.Fatalf("first page %+v %v", feed, err)
		}
		feed, err = e.svc.Feed(ctx, "alice", feed.Next, 1)
		if err != nil || len(feed.Posts) != 1 || feed.Posts[0].ID != p1.ID || feed.Posts[0].ImageURL == "" {
			t.Fatalf("second page %+v %v", feed, err)
		}
		if err := e.svc.MarkRead(ctx, "alice", p1.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.MarkRead(ctx, "alice", p1.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.MarkRead(ctx, "bob", p2.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bob reads another clinic's post: %v", err)
		}
		if _, err := e.svc.PatientImage(ctx, "bob", p1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.StaffImage(ctx, "c2", p1.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another clinic's staff reads the image: %v", err)
		}
		v, _ := e.svc.PostFor(ctx, "alice", p1.ID)
		if !v.Read {
			t.Fatal("read not recorded")
		}
		// Edit after publishing: text yes, schedule no.
		title := "first, fixed"
		if _, err := e.svc.EditPost(ctx, "c1", p1.ID, Edit{Title: &title, RemoveImage: true}); err != nil {
			t.Fatal(err)
		}
		later := start.AddDate(0, 0, 3)
		if _, err := e.svc.EditPost(ctx, "c1", p1.ID, Edit{PublishAt: &later}); !errors.Is(err, ErrPublished) {
			t.Fatalf("reschedule a published post: %v", err)
		}
		if _, err := e.svc.EditPost(ctx, "c2", p1.ID, Edit{Title: &title}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another clinic edits: %v", err)
		}
		if err := e.svc.WithdrawPost(ctx, "c1", p1.ID); err != nil {
			t.Fatal(err)
		}
		feed, _ = e.svc.Feed(ctx, "bob", "", 0)
		if len(feed.Posts) != 0 {
			t.Fatalf("withdrawn post still in the feed: %+v", feed)
		}
		if v, err := e.svc.PostFor(ctx, "bob", p1.ID); err != nil || !v.Withdrawn || v.Title != title {
			t.Fatalf("withdrawn post: %+v %v", v, err)
		}
		mv, _ := e.svc.ManagerPost(ctx, "c1", p1.ID)
		if mv.Status != "withdrawn" || mv.Read != 1 {
			t.Fatalf("manager view %+v", mv)
		}
		// Withdrawing keeps the week used.
		if _, err := e.svc.CreatePost(ctx, "c1", "m1", draft("again")); !errors.Is(err, ErrWeeklyLimit) {
			t.Fatalf("post after withdrawing: %v", err)
		}
	})
}

func TestVoteOncePerPatient(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		e.aud.holders["c1"] = []string{"alice", "bob", "carol"}
		d := draft("poll")
		d.Poll = &PollDraft{Options: []string{"Yes", "No", "Not sure"}}
		p, err := e.svc.CreatePost(ctx, "c1", "m1", d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.PatientResults(ctx, "alice", p.ID); !errors.Is(err, ErrNotVoted) {
			t.Fatalf("results before voting: %v", err)
		}
		other := e.instance(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, dup := 0, 0
		for i := range 12 {
			svc := e.svc
			if i%2 == 1 {
				svc = other
			}
			wg.Go(func() {
				_, err := svc.CastVote(ctx, "alice", p.ID, 1+i%3)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrVoted):
					dup++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok != 1 || dup != 11 {
			t.Fatalf("%d votes accepted, %d refused; want 1 and 11", ok, dup)
		}
		if _, err := e.svc.CastVote(ctx, "bob", p.ID, 2); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CastVote(ctx, "carol", p.ID, 4); !errors.Is(err, ErrInvalid) {
			t.Fatalf("option 4 of 3: %v", err)
		}
		if _, err := e.svc.CastVote(ctx, "mallory", p.ID, 1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("non-holder votes: %v", err)
		}
		r, err := e.svc.ClinicResults(ctx, "c1", p.ID)
		if err != nil || r.Total != 2 {
			t.Fatalf("results %+v %v", r, err)
		}
		e.clock.add(7 * 24 * time.Hour)
		if _, err := e.svc.CastVote(ctx, "carol", p.ID, 1); !errors.Is(err, ErrPollClosed) {
			t.Fatalf("vote after closing: %v", err)
		}
	})
}

func TestTally(t *testing.T) {
	r := tally([]string{"a", "b", "c"}, map[int]int64{0: 1, 1: 1, 2: 1})
	if r.Total != 3 || r.Options[0].Percent != 3333 {
		t.Fatalf("%+v", r)
	}
	if got := r.CSV()[1]; got[2] != "33.33" {
		t.Fatalf("csv row %v", got)
	}
	if r := tally([]string{"a", "b"}, nil); r.Total != 0 || r.Options[1].Percent != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestAudienceByLevel(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		e.aud.holders["c1"] = []string{"alice", "bob", "carol"}
		e.aud.holders["c1@VIP"] = []string{"bob"}
		d := draft("for VIPs")
		d.Audience = "level:Gold"
		if _, err := e.svc.CreatePost(ctx, "c1", "m1", d); !errors.Is(err, ErrInvalid) {
			t.Fatalf("unknown level: %v", err)
		}
		d.Audience = "level:VIP"
		p, err := e.svc.CreatePost(ctx, "c1", "m1", d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Fanout(ctx); err != nil {
			t.Fatal(err)
		}
		if e.inbox.count("bob", NotePost) != 1 || e.inbox.count("alice", NotePost) != 0 {
			t.Fatal("the post went beyond its level")
		}
		if v, _ := e.svc.ManagerPost(ctx, "c1", p.ID); v.Audience != "level:VIP" || v.Recipients != 1 {
			t.Fatalf("manager view %+v", v)
		}
	})
}

// TestAudienceByDepth: "depth:N" (1..8) sends the post only to the
// patients at that depth of the referral tree, keeps the depth through
// the store (both) and shows it to managers; anything else is a 400 on
// audience and writes nothing.
func TestAudienceByDepth(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		e.aud.holders["c1"] = []string{"alice", "bob", "carol"}
		e.aud.holders["c1#2"] = []string{"carol"}
		d := draft("for friends")
		for _, bad := range []string{"depth:0", "depth:9", "depth:", "depth:02", "depth:x", "depth:-1", "deep:2"} {
			d.Audience = bad
			if _, err := e.svc.CreatePost(ctx, "c1", "m1", d); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "audience") {
				t.Fatalf("audience %q: %v", bad, err)
			}
		}
		if page, err := e.svc.ClinicPosts(ctx, "c1", "", 10); err != nil || len(page.Posts) != 0 {
			t.Fatalf("a refused post was written: %+v %v", page, err)
		}
		d.Audience = "depth:2"
		p, err := e.svc.CreatePost(ctx, "c1", "m1", d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Fanout(ctx); err != nil {
			t.Fatal(err)
		}
		if e.inbox.count("carol", NotePost) != 1 || e.inbox.count("alice", NotePost) != 0 || e.inbox.count("bob", NotePost) != 0 {
			t.Fatal("the post went beyond its depth")
		}
		if v, _ := e.svc.ManagerPost(ctx, "c1", p.ID); v.Audience != "depth:2" || v.Recipients != 1 {
			t.Fatalf("manager view %+v", v)
		}
	})
}
