package news

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Note types.
const (
	NotePost = "news.post" // data: PostNote
)

// PostNote is the inbox payload of a published post; the app fetches the
// post itself (GET /v1/news/{id}), which may have been edited or withdrawn
// since.
type PostNote struct {
	PostID   string `json:"post_id"`
	ClinicID string `json:"clinic_id"`
	Title    string `json:"title"`
	HasPoll  bool   `json:"has_poll"`
}

// maxPageFailures is how often one fan-out page is retried before its
// recipients are counted as failed and the fan-out moves on.
const maxPageFailures = 5

// RunFanout delivers due posts every interval, and at once when this
// instance publishes a post, until ctx ends. Every instance may run it:
// each page's publish is idempotent per recipient.
func (s *Service) RunFanout(ctx context.Context, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Fanout(ctx); err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// wake asks RunFanout for a pass now.
func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Fanout delivers every due post to the rest of its audience and returns
// how many posts it finished.
func (s *Service) Fanout(ctx context.Context) (int, error) {
	done := 0
	for {
		posts, err := s.store.DuePosts(ctx, s.now(), 20)
		if err != nil || len(posts) == 0 {
			return done, err
		}
		progressed := false
		for i := range posts {
			finished, moved, err := s.fanoutPost(ctx, &posts[i])
			if err != nil {
				return done, err
			}
			if finished {
				done++
			}
			progressed = progressed || moved
		}
		if !progressed {
			return done, nil // every due post is failing a page: retry next tick
		}
	}
}

// fanoutPost walks the post's audience from its stored cursor. Each page
// is one unit (Store.Atomic: one transaction on SQLite): read the page of
// holders, publish with the key news:{post} (the inbox skips users who
// have it), record the page's counts (unique (post, page)), then move the
// cursor. On MongoDB the steps stand alone in that order: a stop anywhere
// repeats at most the current page on restart, and the keys make the
// repeat deliver nothing twice.
func (s *Service) fanoutPost(ctx context.Context, p *Post) (finished, moved bool, err error) {
	c, err := s.opts.Clinics.Clinic(ctx, p.ClinicID)
	if err != nil {
		return false, false, err
	}
	note := Note{Key: postKey(p.ID), Type: NotePost,
		Data:       PostNote{PostID: p.ID, ClinicID: p.ClinicID, Title: p.Title, HasPoll: p.Poll != nil},
		AlertTitle: c.Name, AlertBody: "Новая публикация / New post", Clinic: p.ClinicID, Class: ClassNews}
	cursor := p.FanoutCursor
	for {
		var users []string
		var next string
		var pubErr error
		err := s.store.Atomic(ctx, func(ctx context.Context) error {
			var err error
			if users, next, err = s.opts.Audience.Holders(ctx, p.ClinicID, p.Segment(), cursor, s.opts.FanoutPage); err != nil {
				return err
			}
			users = dedupe(users)
			pg := Page{Users: users, Status: RecipientSent, Delivered: -1}
			if len(users) > 0 {
				if pg.Skipped, pg.Delivered, pubErr = s.publishPage(ctx, users, note); pubErr != nil {
					return pubErr // the whole page again, later
				}
			}
			return s.finishPage(ctx, p, cursor, next, pg, 0)
		})
		if pubErr != nil {
			if ctx.Err() != nil {
				return false, moved, ctx.Err()
			}
			failures := p.FanoutFailures + 1
			if failures < maxPageFailures {
				_, aerr := s.store.AdvanceFanout(ctx, p.ID, cursor, cursor, false, failures)
				return false, moved, joinErr(fmt.Errorf("news: fan-out of %s: %w", p.ID, pubErr), aerr)
			}
			// The page failed for good: count it and move on.
			err = s.store.Atomic(ctx, func(ctx context.Context) error {
				return s.finishPage(ctx, p, cursor, next, Page{Users: users, Status: RecipientFailed, Delivered: -1}, 0)
			})
		}
		if errors.Is(err, errMovedOn) {
			return false, moved, nil // another instance is on this post
		}
		if err != nil {
			return false, moved, err
		}
		moved = true
		p.FanoutFailures = 0
		if next == "" {
			return true, true, nil
		}
		cursor = next
	}
}

// errMovedOn: another run moved the post's cursor first.
var errMovedOn = errors.New("news: another run moved the fan-out on")

// finishPage records a page's counts and moves the cursor past it; when
// another run moved the cursor first it returns errMovedOn, which rolls
// the unit back on SQLite (the other run recorded the same page).
func (s *Service) finishPage(ctx context.Context, p *Post, cursor, next string, pg Page, failures int) error {
	if len(pg.Users) > 0 {
		if err := s.store.RecordPage(ctx, p.ID, cursor, pg); err != nil {
			return err
		}
	}
	ok, err := s.store.AdvanceFanout(ctx, p.ID, cursor, next, next == "", failures)
	if err != nil {
		return err
	}
	if !ok {
		return errMovedOn
	}
	return nil
}

// publishPage publishes one page and returns the users the message policy
// skipped and how many got a new event (-1: the inbox does not say).
func (s *Service) publishPage(ctx context.Context, users []string, note Note) ([]string, int, error) {
	if ri, ok := s.opts.Inbox.(ReportingInbox); ok {
		rep, err := ri.PublishManyReport(ctx, users, note)
		return rep.Skipped, rep.Delivered, err
	}
	return nil, -1, s.opts.Inbox.PublishMany(ctx, users, note)
}

// postKey is the inbox key of a post's note (and of its push counts).
func postKey(postID string) string { return "news:" + postID }

func joinErr(a, b error) error {
	if b != nil {
		return fmt.Errorf("%w (and saving the retry: %v)", a, b)
	}
	return a
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
