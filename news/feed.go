package news

import (
	"context"
	"errors"
	"slices"
	"time"
)

// PostView is a post as a patient sees it.
type PostView struct {
	ID          string    `json:"id"`
	ClinicID    string    `json:"clinic_id"`
	Title       string    `json:"title"`
	Body        string    `json:"body"`
	ImageURL    string    `json:"image_url,omitempty"`
	PublishedAt time.Time `json:"published_at"`
	Poll        *PollView `json:"poll,omitempty"`
	Read        bool      `json:"read"`
	Withdrawn   bool      `json:"withdrawn"`
}

// PollView is a poll as a patient sees it: the results after voting.
type PollView struct {
	Options  []string  `json:"options"`
	ClosesAt time.Time `json:"closes_at"`
	Closed   bool      `json:"closed"`
	// Voted is the caller's option (0-based), or nil before voting.
	Voted   *int     `json:"voted"`
	Results *Results `json:"results,omitempty"`
}

// ManagerView is a post as its clinic's managers see it, with delivery
// counts: recipients (accounts the fan-out reached, a guardian once), sent
// (inbox event written and push queued), failed (gave up after retries),
// read (opened in the app).
type ManagerView struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	Body       string    `json:"body"`
	ImageURL   string    `json:"image_url,omitempty"`
	PublishAt  time.Time `json:"publish_at"`
	Status     string    `json:"status"`                                              // scheduled, publishing, published, withdrawn
	Audience   string    `json:"audience" api:"pattern=^(all|level:.+|depth:[1-8])$"` // all, level:NAME or depth:N
	Poll       *Poll     `json:"poll,omitempty"`
	Recipients int64     `json:"recipients"`
	Sent       int64     `json:"sent"`
	Failed     int64     `json:"failed"`
	// Skipped: cardholders the message policy skipped (their weekly
	// message budget was spent); not counted in recipients.
	Skipped int64 `json:"skipped"`
	// PushesSent and PushesFailed count pushes per device as FCM answered
	// (a patient with two phones counts twice; a push held for quiet
	// hours counts once it is sent).
	PushesSent   int64     `json:"pushes_sent"`
	PushesFailed int64     `json:"pushes_failed"`
	Read         int64     `json:"read"`
	Created      time.Time `json:"created_at"`
	Updated      time.Time `json:"updated_at"`
}

// FeedPage is a page of posts, newest first.
type FeedPage struct {
	Posts []PostView `json:"posts"`
	Next  string     `json:"next,omitempty"`
}

// ManagerPage is a page of a clinic's posts, newest first.
type ManagerPage struct {
	Posts []ManagerView `json:"posts"`
	Next  string        `json:"next,omitempty"`
}

const (
	defaultPage = 20
	maxPage     = 100
)

func pageSize(limit int) (int, error) {
	switch {
	case limit == 0:
		return defaultPage, nil
	case limit < 0 || limit > maxPage:
		return 0, invalid("limit", "must be 1..%d", maxPage)
	}
	return limit, nil
}

func imageURL(p *Post) string {
	if p.ImageType == "" {
		return ""
	}
	return "/v1/news/" + p.ID + "/image"
}

// Feed is GET /v1/news: the published posts of every clinic where the
// patient holds a card, newest first.
func (s *Service) Feed(ctx context.Context, patientID, after string, limit int) (*FeedPage, error) {
	cur, err := decodeCursor(after)
	if err != nil {
		return nil, err
	}
	if limit, err = pageSize(limit); err != nil {
		return nil, err
	}
	clinics, err := s.opts.Audience.Clinics(ctx, patientID)
	if err != nil {
		return nil, err
	}
	page := &FeedPage{Posts: []PostView{}}
	if len(clinics) == 0 {
		return page, nil
	}
	now := s.now()
	posts, err := s.store.Posts(ctx, clinics, now, cur, limit+1)
	if err != nil {
		return nil, err
	}
	if len(posts) > limit {
		posts = posts[:limit]
		last := posts[limit-1]
		page.Next = Cursor{At: last.PublishAt, ID: last.ID}.encode()
	}
	ids := make([]string, len(posts))
	for i, p := range posts {
		ids[i] = p.ID
	}
	read, err := s.store.ReadPosts(ctx, patientID, ids)
	if err != nil {
		return nil, err
	}
	for i := range posts {
		v, err := s.view(ctx, &posts[i], patientID, now)
		if err != nil {
			return nil, err
		}
		v.Read = read[posts[i].ID]
		page.Posts = append(page.Posts, *v)
	}
	return page, nil
}

// view renders a post for a patient (their vote and, once voted, results).
func (s *Service) view(ctx context.Context, p *Post, patientID string, now time.Time) (*PostView, error) {
	v := &PostView{ID: p.ID, ClinicID: p.ClinicID, Title: p.Title, Body: p.Body, ImageURL: imageURL(p),
		PublishedAt: p.PublishAt, Withdrawn: p.Withdrawn}
	if p.Poll != nil {
		pv := &PollView{Options: p.Poll.Options, ClosesAt: p.Poll.ClosesAt, Closed: !now.Before(p.Poll.ClosesAt)}
		vote, err := s.store.Vote(ctx, p.ID, patientID)
		switch {
		case err == nil:
			pv.Voted = &vote.Option
			if pv.Results, err = s.results(ctx, p); err != nil {
				return nil, err
			}
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
		v.Poll = pv
	}
	return v, nil
}

// readable returns the published post if the patient holds a card of its
// clinic; anything else is not found.
func (s *Service) readable(ctx context.Context, patientID, postID string) (*Post, error) {
	p, err := s.store.Post(ctx, postID)
	if err != nil {
		return nil, err
	}
	if p.PublishAt.After(s.now()) {
		return nil, ErrNotFound
	}
	clinics, err := s.opts.Audience.Clinics(ctx, patientID)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(clinics, p.ClinicID) {
		return nil, ErrNotFound
	}
	return p, nil
}

// PostFor is GET /v1/news/{id}: one post for a patient (also a withdrawn
// one, marked so, for the inbox event that announced it).
func (s *Service) PostFor(ctx context.Context, patientID, postID string) (*PostView, error) {
	p, err := s.readable(ctx, patientID, postID)
	if err != nil {
		return nil, err
	}
	v, err := s.view(ctx, p, patientID, s.now())
	if err != nil {
		return nil, err
	}
	read, err := s.store.ReadPosts(ctx, patientID, []string{p.ID})
	if err != nil {
		return nil, err
	}
	v.Read = read[p.ID]
	return v, nil
}

// MarkRead is POST /v1/news/{id}/read (idempotent).
func (s *Service) MarkRead(ctx context.Context, patientID, postID string) error {
	p, err := s.readable(ctx, patientID, postID)
	if err != nil {
		return err
	}
	return s.store.MarkRead(ctx, p.ID, patientID, s.now())
}

// PatientImage returns a post's image for a patient who may read the post.
func (s *Service) PatientImage(ctx context.Context, patientID, postID string) (*Image, error) {
	p, err := s.readable(ctx, patientID, postID)
	if err != nil {
		return nil, err
	}
	return s.image(ctx, p)
}

// StaffImage returns a post's image for the clinic's staff.
func (s *Service) StaffImage(ctx context.Context, clinicID, postID string) (*Image, error) {
	p, err := s.clinicPost(ctx, clinicID, postID)
	if err != nil {
		return nil, err
	}
	return s.image(ctx, p)
}

func (s *Service) image(ctx context.Context, p *Post) (*Image, error) {
	if p.ImageType == "" {
		return nil, ErrNotFound
	}
	return s.store.Image(ctx, p.ID)
}

// ClinicPosts is GET /v1/clinic/news: the clinic's posts (scheduled and
// withdrawn too), newest first, with delivery counts.
func (s *Service) ClinicPosts(ctx context.Context, clinicID, after string, limit int) (*ManagerPage, error) {
	cur, err := decodeCursor(after)
	if err != nil {
		return nil, err
	}
	if limit, err = pageSize(limit); err != nil {
		return nil, err
	}
	posts, err := s.store.Posts(ctx, []string{clinicID}, time.Time{}, cur, limit+1)
	if err != nil {
		return nil, err
	}
	page := &ManagerPage{Posts: []ManagerView{}}
	if len(posts) > limit {
		posts = posts[:limit]
		last := posts[limit-1]
		page.Next = Cursor{At: last.PublishAt, ID: last.ID}.encode()
	}
	for i := range posts {
		v, err := s.managerView(ctx, &posts[i])
		if err != nil {
			return nil, err
		}
		page.Posts = append(page.Posts, *v)
	}
	return page, nil
}

// ManagerPost is one post of the clinic as managers see it.
func (s *Service) ManagerPost(ctx context.Context, clinicID, postID string) (*ManagerView, error) {
	p, err := s.clinicPost(ctx, clinicID, postID)
	if err != nil {
		return nil, err
	}
	return s.managerView(ctx, p)
}

func (s *Service) managerView(ctx context.Context, p *Post) (*ManagerView, error) {
	v := &ManagerView{ID: p.ID, Title: p.Title, Body: p.Body, ImageURL: imageURL(p), PublishAt: p.PublishAt,
		Poll: p.Poll, Created: p.Created, Updated: p.Updated, Audience: audienceName(p)}
	switch {
	case p.Withdrawn:
		v.Status = "withdrawn"
	case p.PublishAt.After(s.now()):
		v.Status = "scheduled"
	case !p.FanoutDone:
		v.Status = "publishing"
	default:
		v.Status = "published"
	}
	counts, err := s.store.RecipientCounts(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	v.Sent, v.Failed, v.Skipped = counts[RecipientSent], counts[RecipientFailed], counts[RecipientSkipped]
	v.Recipients = v.Sent + v.Failed
	if s.opts.Pushes != nil {
		key := postKey(p.ID)
		pc, err := s.opts.Pushes.PushCounts(ctx, []string{key})
		if err != nil {
			return nil, err
		}
		v.PushesSent, v.PushesFailed = pc[key].Sent, pc[key].Failed
	}
	if v.Read, err = s.store.ReadCount(ctx, p.ID); err != nil {
		return nil, err
	}
	return v, nil
}
