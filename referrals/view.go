package referrals

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

// Referral statuses of a friend, as the referrer sees them.
const (
	StatusJoined   = "joined"
	StatusVisited  = "visited"
	StatusRewarded = "rewarded"
	StatusHeld     = "held"
	StatusRejected = "rejected"
)

// Stats are a card's referral figures: over all levels and per level.
type Stats struct {
	Invited  int64        `json:"invited"` // entered the code (held and rejected included)
	Joined   int64        `json:"joined"`  // not rejected
	Visited  int64        `json:"visited"` // made their first qualifying paid visit
	Points   int64        `json:"points"`  // earned by this card, after claw-backs
	PerLevel []LevelStats `json:"per_level"`
}

// LevelStats are the figures of one level below the card.
type LevelStats struct {
	Level   int   `json:"level"`
	Invited int64 `json:"invited"`
	Joined  int64 `json:"joined"`
	Visited int64 `json:"visited"`
	Points  int64 `json:"points"`
}

// CardReferral is GET /v1/cards/{id}/referral without the link and QR
// address, which the HTTP layer adds.
type CardReferral struct {
	Code     string `json:"code"`
	ClinicID string `json:"clinic_id"`
	CardID   string `json:"card_id"`
	Stats    Stats  `json:"stats"`
}

// Friend is one row of GET /v1/cards/{id}/referrals: never a phone, only
// a masked name ("Anna I.").
type Friend struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Level    int       `json:"level"`
	Status   string    `json:"status"`
	Points   int64     `json:"points"`
	JoinedAt time.Time `json:"joined_at"`
}

// FriendsPage is one page of friends.
type FriendsPage struct {
	Rows []Friend `json:"rows"`
	Next string   `json:"next,omitempty"`
}

// MaskName is how a person is shown to others: the first name and the
// initial of the last name ("Anna I."), "" when unknown.
func MaskName(first, last string) string {
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" {
		return ""
	}
	if r, _ := utf8.DecodeRuneInString(last); last != "" && r != utf8.RuneError {
		return first + " " + string(unicode.ToUpper(r)) + "."
	}
	return first
}

// CardReferral is the card's code and its figures (the patient's own
// active card only).
func (s *Service) CardReferral(ctx context.Context, patientID, cardID string) (*CardReferral, error) {
	c, err := s.CardCode(ctx, patientID, cardID)
	if err != nil {
		return nil, err
	}
	st, err := s.stats(ctx, c.ClinicID, patientID, cardID)
	if err != nil {
		return nil, err
	}
	return &CardReferral{Code: c.Code, ClinicID: c.ClinicID, CardID: cardID, Stats: *st}, nil
}

// CodeInfo is what the public /r/{code} page may show: the clinic and the
// referrer's first name, nothing else.
type CodeInfo struct {
	Code      string
	ClinicID  string
	FirstName string
}

// PublicCode looks a code up for the public page (ErrUnknownCode).
func (s *Service) PublicCode(ctx context.Context, raw string) (*CodeInfo, error) {
	code, ok := NormalizeCode(raw)
	if !ok {
		return nil, ErrUnknownCode
	}
	c, err := s.store.Code(ctx, code)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnknownCode
	}
	if err != nil {
		return nil, err
	}
	info := &CodeInfo{Code: c.Code, ClinicID: c.ClinicID}
	if c.PatientID != "" {
		first, _, err := s.people.Name(ctx, c.PatientID)
		if err != nil {
			return nil, err
		}
		info.FirstName = first
	}
	return info, nil
}

// friendStatus is a link's status as its referrers see it.
func (s *Service) friendStatus(ctx context.Context, l *Link, visits map[string]bool, rewarded bool) (string, error) {
	d, err := s.store.Decision(ctx, l.ID)
	switch {
	case err == nil && !d.Approved:
		return StatusRejected, nil
	case errors.Is(err, ErrNotFound) && l.Held:
		return StatusHeld, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return "", err
	}
	if rewarded {
		return StatusRewarded, nil
	}
	if visits != nil {
		if visits[l.RefereeID] {
			return StatusVisited, nil
		}
	} else if _, err := s.store.Visit(ctx, l.ClinicID, l.RefereeID); err == nil {
		return StatusVisited, nil
	} else if !errors.Is(err, ErrNotFound) {
		return "", err
	}
	return StatusJoined, nil
}

// earnedByLink is what the card earned from each friend's link, after
// claw-backs (rewards paid or approved only).
func (s *Service) earnedByLink(ctx context.Context, cardID string) (map[string]int64, error) {
	rs, err := s.store.RewardsByCard(ctx, cardID)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for i := range rs {
		r := &rs[i]
		ok, err := s.effective(ctx, r)
		if err != nil {
			return nil, err
		}
		if !ok {
			if _, seen := out[r.LinkID]; !seen {
				out[r.LinkID] = 0
			}
			continue
		}
		cs, err := s.store.Clawbacks(ctx, r.ClinicID, r.ReceiptID, r.Level)
		if err != nil {
			return nil, err
		}
		n := r.Points
		for _, c := range cs {
			n -= c.Points
		}
		out[r.LinkID] += n
	}
	return out, nil
}

func (s *Service) friend(ctx context.Context, l *Link, ancestor string, earned map[string]int64) (Friend, error) {
	level := 0
	for i, a := range l.Ancestors {
		if a == ancestor {
			level = i + 1
			break
		}
	}
	pts, rewarded := earned[l.ID]
	status, err := s.friendStatus(ctx, l, nil, rewarded && pts > 0)
	if err != nil {
		return Friend{}, err
	}
	first, last, err := s.people.Name(ctx, l.RefereeID)
	if err != nil {
		return Friend{}, err
	}
	return Friend{ID: l.ID, Name: MaskName(first, last), Level: level, Status: status, Points: pts, JoinedAt: l.Created}, nil
}

func (s *Service) stats(ctx context.Context, clinicID, patientID, cardID string) (*Stats, error) {
	earned, err := s.earnedByLink(ctx, cardID)
	if err != nil {
		return nil, err
	}
	st := &Stats{PerLevel: []LevelStats{}}
	levels := map[int]*LevelStats{}
	var after linkCursor
	for {
		ls, err := s.store.Descendants(ctx, clinicID, patientID, after, 500)
		if err != nil {
			return nil, err
		}
		for i := range ls {
			f, err := s.friend(ctx, &ls[i], patientID, earned)
			if err != nil {
				return nil, err
			}
			lv := levels[f.Level]
			if lv == nil {
				lv = &LevelStats{Level: f.Level}
				levels[f.Level] = lv
			}
			lv.Invited++
			if f.Status != StatusRejected {
				lv.Joined++
			}
			if f.Status == StatusVisited || f.Status == StatusRewarded {
				lv.Visited++
			}
			lv.Points += f.Points
		}
		if len(ls) < 500 {
			break
		}
		last := ls[len(ls)-1]
		after = linkCursor{Created: last.Created, ID: last.ID}
	}
	for l := 1; l <= len(levels)+maxAncestors; l++ {
		if lv := levels[l]; lv != nil {
			st.PerLevel = append(st.PerLevel, *lv)
			st.Invited += lv.Invited
			st.Joined += lv.Joined
			st.Visited += lv.Visited
			st.Points += lv.Points
		}
	}
	return st, nil
}

// Friends is GET /v1/cards/{id}/referrals: the people the card's holder
// brought, at every depth, oldest first.
func (s *Service) Friends(ctx context.Context, patientID, cardID, after string, limit int) (*FriendsPage, error) {
	card, err := s.wallet.PatientCard(ctx, patientID, cardID)
	if err != nil {
		return nil, err
	}
	if !card.Own || card.PatientID != patientID {
		return nil, fmt.Errorf("referrals: card %s: %w", cardID, ErrNotOwnCard)
	}
	cur, err := decodeCursor(after)
	if err != nil {
		return nil, err
	}
	earned, err := s.earnedByLink(ctx, cardID)
	if err != nil {
		return nil, err
	}
	ls, err := s.store.Descendants(ctx, card.ClinicID, patientID, cur, limit+1)
	if err != nil {
		return nil, err
	}
	page := &FriendsPage{Rows: []Friend{}}
	for i := range ls {
		if i == limit {
			prev := ls[i-1]
			page.Next = encodeCursor(linkCursor{Created: prev.Created, ID: prev.ID})
			break
		}
		f, err := s.friend(ctx, &ls[i], patientID, earned)
		if err != nil {
			return nil, err
		}
		page.Rows = append(page.Rows, f)
	}
	return page, nil
}

func encodeCursor(c linkCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Created.UnixNano(), 10) + "|" + c.ID))
}

func decodeCursor(s string) (linkCursor, error) {
	if s == "" {
		return linkCursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return linkCursor{}, invalid("after", "not a cursor")
	}
	ns, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" {
		return linkCursor{}, invalid("after", "not a cursor")
	}
	return linkCursor{Created: time.Unix(0, n).UTC(), ID: id}, nil
}

// Decide is POST /v1/clinic/referrals/{id}/approve or /reject: a manager's
// decision on a held referral, with a reason; unique per referral, so it
// is taken once. An approval pays what was held: the referee bonus and the
// rewards recorded so far (and their claw-backs).
func (s *Service) Decide(ctx context.Context, clinicID, staffID, linkID string, approve bool, reason string) (*Decision, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return nil, invalid("reason", "must be 1 to 500 characters")
	}
	l, err := s.store.LinkByID(ctx, linkID)
	if errors.Is(err, ErrNotFound) || (err == nil && l.ClinicID != clinicID) {
		return nil, fmt.Errorf("referrals: referral %s: %w", linkID, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if !l.Held {
		return nil, ErrNotHeld
	}
	d := &Decision{LinkID: l.ID, ClinicID: clinicID, Approved: approve, Reason: reason, StaffID: staffID, Created: s.clock()}
	if err := s.store.InsertDecision(ctx, d); errors.Is(err, errDuplicate) {
		old, rerr := s.store.Decision(ctx, l.ID)
		if rerr != nil || old.Approved != approve {
			return nil, ErrDecided
		}
		d = old // the same decision again: finish what it started
	} else if err != nil {
		return nil, err
	}
	if approve {
		if err := s.payHeld(ctx, l); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// payHeld credits an approved link's referee bonus and held rewards, and
// takes back their claw-backs: all keyed, so it can run again.
func (s *Service) payHeld(ctx context.Context, l *Link) error {
	p, err := s.programAt(ctx, l.ClinicID, l.Created)
	if err != nil {
		return err
	}
	if own, err := s.wallet.OwnCard(ctx, l.ClinicID, l.RefereeID); err == nil {
		if _, err := s.refereeBonus(ctx, p, l, own.ID); err != nil {
			return err
		}
	} else if !isNotFound(err) {
		return err
	}
	rs, err := s.store.RewardsByLink(ctx, l.ID)
	if err != nil {
		return err
	}
	rep := &JobReport{}
	for i := range rs {
		r := &rs[i]
		if err := s.post(ctx, r, rep); err != nil {
			return err
		}
		cs, err := s.store.Clawbacks(ctx, r.ClinicID, r.ReceiptID, r.Level)
		if err != nil {
			return err
		}
		for j := range cs {
			if err := s.reclaim(ctx, r, &cs[j], rep); err != nil {
				return err
			}
		}
	}
	return nil
}
