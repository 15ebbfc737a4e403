package news

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of a post.
const (
	MaxTitle        = 120  // characters
	MaxBody         = 4000 // characters
	MaxOption       = 100  // characters of a poll option
	DefaultPollDays = 7
	// MaxSchedule is how far ahead a post may be scheduled.
	MaxSchedule = 366 * 24 * time.Hour
)

// Post is a clinic's news post. The fan-out fields are the durable state
// of its delivery.
type Post struct {
	ID        string
	ClinicID  string
	AuthorID  string
	Title     string
	Body      string
	ImageType string // "" (no image), image/jpeg or image/png
	Level     string // the audience: "" every cardholder, else one loyalty level
	Depth     int    // or, when above 0, the patients at that depth of the referral tree
	PublishAt time.Time
	Week      string
	Poll      *Poll
	Withdrawn bool
	Created   time.Time
	Updated   time.Time

	FanoutCursor   string
	FanoutDone     bool
	FanoutFailures int // consecutive failed attempts of the current page
}

// Poll is a post's question with 2 or 3 options.
type Poll struct {
	Options  []string  `json:"options"`
	ClosesAt time.Time `json:"closes_at"`
}

// Draft is POST /v1/clinic/news.
type Draft struct {
	Title string `json:"title" api:"required"`
	Body  string `json:"body" api:"required"`
	// Image is a JPEG or PNG, base64 in JSON.
	Image []byte `json:"image,omitempty"`
	// Audience is "all" (default: every cardholder of the clinic),
	// "level:NAME" (the cards at that loyalty level when it goes out) or
	// "depth:N" (the patients holding their own card at depth N, 1 to 8,
	// of the clinic's referral tree: 1 came by themselves).
	Audience  string     `json:"audience,omitempty" api:"pattern=^(all|level:.+|depth:[1-8])?$"`
	PublishAt *time.Time `json:"publish_at,omitempty"`
	Poll      *PollDraft `json:"poll,omitempty"`
}

// PollDraft is a post's poll as sent.
type PollDraft struct {
	Options  []string   `json:"options" api:"required"`
	ClosesAt *time.Time `json:"closes_at,omitempty"`
}

// Edit is PATCH /v1/clinic/news/{id}: the fields to change. A published
// post can change its title, body and image only, and no second push goes
// out.
type Edit struct {
	Title       *string    `json:"title,omitempty"`
	Body        *string    `json:"body,omitempty"`
	Image       []byte     `json:"image,omitempty"`
	RemoveImage bool       `json:"remove_image,omitempty"`
	PublishAt   *time.Time `json:"publish_at,omitempty"`
	Poll        *PollDraft `json:"poll,omitempty"`
}

// Audiences.
const AudienceAll = "all"

// Cursor orders posts newest first.
type Cursor struct {
	At time.Time
	ID string
}

func (c Cursor) encode() string {
	if c.ID == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.At.UnixNano(), 10) + ":" + c.ID))
}

func decodeCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		at, id, ok := strings.Cut(string(b), ":")
		n, perr := strconv.ParseInt(at, 10, 64)
		if ok && perr == nil && id != "" {
			return Cursor{At: time.Unix(0, n).UTC(), ID: id}, nil
		}
	}
	return Cursor{}, invalid("after", "not a cursor from this API")
}

// text checks a plain-text field: valid UTF-8, 1..max characters, no
// control characters except line breaks and tabs.
func text(field, v string, max int) (string, error) {
	v = strings.TrimSpace(v)
	n := utf8.RuneCountInString(v)
	switch {
	case !utf8.ValidString(v):
		return "", invalid(field, "must be valid UTF-8")
	case n == 0:
		return "", invalid(field, "is required")
	case n > max:
		return "", invalid(field, "must be at most %d characters, not %d", max, n)
	}
	for _, r := range v {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return "", invalid(field, "must not contain control characters")
		}
	}
	return v, nil
}

// checkPoll validates a poll draft published at publishAt.
func checkPoll(d *PollDraft, publishAt time.Time) (*Poll, error) {
	if d == nil {
		return nil, nil
	}
	if len(d.Options) < 2 || len(d.Options) > 3 {
		return nil, invalid("poll.options", "must have 2 or 3 options, not %d", len(d.Options))
	}
	p := &Poll{}
	seen := map[string]bool{}
	for i, o := range d.Options {
		v, err := text(fmt.Sprintf("poll.options[%d]", i), o, MaxOption)
		if err != nil {
			return nil, err
		}
		if seen[strings.ToLower(v)] {
			return nil, invalid(fmt.Sprintf("poll.options[%d]", i), "repeats another option")
		}
		seen[strings.ToLower(v)] = true
		p.Options = append(p.Options, v)
	}
	p.ClosesAt = publishAt.AddDate(0, 0, DefaultPollDays)
	if d.ClosesAt != nil {
		c := d.ClosesAt.UTC()
		if !c.After(publishAt) || c.After(publishAt.AddDate(0, 0, 90)) {
			return nil, invalid("poll.closes_at", "must be after the post is published and within 90 days")
		}
		p.ClosesAt = c
	}
	return p, nil
}

// CreatePost checks and stores a post. Its week is claimed first (a unique
// (clinic, week) insert): if the clinic already has a post that week the
// answer is a *WeeklyLimitError and nothing is written.
func (s *Service) CreatePost(ctx context.Context, clinicID, authorID string, d Draft) (*Post, error) {
	now := s.now()
	title, err := text("title", d.Title, MaxTitle)
	if err != nil {
		return nil, err
	}
	body, err := text("body", d.Body, MaxBody)
	if err != nil {
		return nil, err
	}
	seg, err := s.parseAudience(ctx, clinicID, d.Audience)
	if err != nil {
		return nil, err
	}
	publishAt := now
	if d.PublishAt != nil && d.PublishAt.After(now) {
		if d.PublishAt.Sub(now) > MaxSchedule {
			return nil, invalid("publish_at", "must be within a year")
		}
		publishAt = d.PublishAt.UTC()
	}
	poll, err := checkPoll(d.Poll, publishAt)
	if err != nil {
		return nil, err
	}
	var img *Image
	if d.Image != nil {
		if img, err = checkImage(d.Image); err != nil {
			return nil, err
		}
	}
	c, err := s.opts.Clinics.Clinic(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	p := &Post{ID: newID("nw_"), ClinicID: clinicID, AuthorID: authorID, Title: title, Body: body, Level: seg.Level, Depth: seg.Depth,
		PublishAt: publishAt, Week: Week(publishAt, c.Location), Poll: poll, Created: now, Updated: now}
	if img != nil {
		p.ImageType = img.Type
	}
	if err := s.claim(ctx, p, c.Location); err != nil {
		return nil, err
	}
	// The image goes first: a post is visible as soon as it is inserted.
	if img != nil {
		if err := s.store.PutImage(ctx, p.ID, img); err != nil {
			_ = s.store.ReleaseWeek(ctx, clinicID, p.Week, p.ID)
			return nil, err
		}
	}
	if err := s.store.InsertPost(ctx, p); err != nil {
		_ = s.store.ReleaseWeek(ctx, clinicID, p.Week, p.ID)
		return nil, err
	}
	if !p.PublishAt.After(now) {
		s.wake()
	}
	return p, nil
}

// claim takes p's week or reports when the clinic may post next.
func (s *Service) claim(ctx context.Context, p *Post, loc *time.Location) error {
	err := s.store.ClaimWeek(ctx, p.ClinicID, p.Week, p.ID)
	if !errors.Is(err, errDuplicate) {
		return err
	}
	next, err := s.firstFreeWeek(ctx, p.ClinicID, NextWeekStart(p.PublishAt, loc), loc)
	if err != nil {
		return err
	}
	return &WeeklyLimitError{NextAllowedAt: next}
}

// clinicPost reads a post of the clinic (another clinic's is not found).
func (s *Service) clinicPost(ctx context.Context, clinicID, postID string) (*Post, error) {
	p, err := s.store.Post(ctx, postID)
	if err != nil {
		return nil, err
	}
	if p.ClinicID != clinicID {
		return nil, ErrNotFound
	}
	return p, nil
}

// EditPost changes a post. Before it is published everything may change
// (a new publish_at moves its weekly claim); after, only the title, body
// and image, and nobody is pushed again.
func (s *Service) EditPost(ctx context.Context, clinicID, postID string, e Edit) (*Post, error) {
	p, err := s.clinicPost(ctx, clinicID, postID)
	if err != nil {
		return nil, err
	}
	if p.Withdrawn {
		return nil, ErrWithdrawn
	}
	now := s.now()
	published := !p.PublishAt.After(now)
	if published && (e.PublishAt != nil || e.Poll != nil) {
		return nil, ErrPublished
	}
	if e.Title != nil {
		if p.Title, err = text("title", *e.Title, MaxTitle); err != nil {
			return nil, err
		}
	}
	if e.Body != nil {
		if p.Body, err = text("body", *e.Body, MaxBody); err != nil {
			return nil, err
		}
	}
	var img *Image
	switch {
	case e.Image != nil && e.RemoveImage:
		return nil, invalid("image", "set image or remove_image, not both")
	case e.Image != nil:
		if img, err = checkImage(e.Image); err != nil {
			return nil, err
		}
		p.ImageType = img.Type
	case e.RemoveImage:
		p.ImageType = ""
	}
	oldWeek := p.Week
	if e.PublishAt != nil {
		at := e.PublishAt.UTC()
		if !at.After(now) {
			at = now
		}
		if at.Sub(now) > MaxSchedule {
			return nil, invalid("publish_at", "must be within a year")
		}
		p.PublishAt = at
		if p.Poll != nil && e.Poll == nil && !p.Poll.ClosesAt.After(at) {
			p.Poll.ClosesAt = at.AddDate(0, 0, DefaultPollDays)
		}
	}
	if e.Poll != nil {
		if p.Poll, err = checkPoll(e.Poll, p.PublishAt); err != nil {
			return nil, err
		}
	}
	c, err := s.opts.Clinics.Clinic(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	p.Week = Week(p.PublishAt, c.Location)
	if p.Week != oldWeek {
		if err := s.claim(ctx, p, c.Location); err != nil {
			return nil, err
		}
	}
	if img != nil {
		if err := s.store.PutImage(ctx, p.ID, img); err != nil {
			return nil, err
		}
	}
	p.Updated = now
	if err := s.store.UpdatePost(ctx, p); err != nil {
		return nil, err
	}
	if p.Week != oldWeek {
		if err := s.store.ReleaseWeek(ctx, clinicID, oldWeek, p.ID); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// PostKey is the inbox key of a post's news.post events (one per
// recipient): the fan-out publishes under it, a withdrawal marks them.
func PostKey(postID string) string { return "news:" + postID }

// WithdrawPost cancels a scheduled post (its week is free again) or
// withdraws a published one: it leaves the feeds, its inbox events stay
// (GET /v1/news/{id} then says withdrawn), and its week stays used, as
// patients were already notified.
func (s *Service) WithdrawPost(ctx context.Context, clinicID, postID string) error {
	p, err := s.clinicPost(ctx, clinicID, postID)
	if err != nil {
		return err
	}
	if p.PublishAt.After(s.now()) {
		if err := s.store.DeletePost(ctx, p.ID); err != nil {
			return err
		}
		return s.store.ReleaseWeek(ctx, clinicID, p.Week, p.ID)
	}
	if p.Withdrawn {
		return nil
	}
	p.Withdrawn, p.Updated = true, s.now()
	return s.store.UpdatePost(ctx, p)
}
