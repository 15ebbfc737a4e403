package care

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"carewallet/app/text"
)

// MaxComment is the longest rating comment, in characters.
const MaxComment = 2000

// VisitRating is a patient's score of one visit: unique visit.
type VisitRating struct {
	VisitID    string
	ClinicID   string
	PatientID  string
	ExternalID string
	Doctor     string
	StaffID    string
	VisitAt    time.Time
	Score      int
	Comment    string
	ThreadID   string
	Created    time.Time
}

// RatingRequest is POST /v1/visits/{id}/rating.
type RatingRequest struct {
	Score   int    `json:"score" api:"required"`
	Comment string `json:"comment,omitempty"`
}

// RatingView is a rating as the API shows it.
type RatingView struct {
	VisitID    string    `json:"visit_id" api:"required"`
	ExternalID string    `json:"external_id" api:"required"`
	PatientID  string    `json:"patient_id" api:"required"`
	VisitAt    time.Time `json:"visit_at" api:"required"`
	Doctor     string    `json:"doctor" api:"required"`
	StaffID    string    `json:"staff_id" api:"required"`
	Score      int       `json:"score" api:"required"`
	Comment    string    `json:"comment" api:"required"`
	Negative   bool      `json:"negative" api:"required"`
	// ThreadID opens the patient's chat (GET /v1/clinic/chats/{thread_id}).
	ThreadID  string    `json:"thread_id,omitempty"`
	CreatedAt time.Time `json:"created_at" api:"required"`
}

// View is the rating as the API shows it.
func (r *VisitRating) View() RatingView {
	return RatingView{VisitID: r.VisitID, ExternalID: r.ExternalID, PatientID: r.PatientID, VisitAt: r.VisitAt, Doctor: r.Doctor,
		StaffID: r.StaffID, Score: r.Score, Comment: r.Comment, Negative: r.Score <= 3, ThreadID: r.ThreadID, CreatedAt: r.Created}
}

// RatingResult answers a rating: the review sites for a good score.
type RatingResult struct {
	Rating      RatingView `json:"rating" api:"required"`
	ReviewSites []Site     `json:"review_sites" api:"required"`
}

// NegativeData is the managers' inbox payload of a score of 1 to 3.
type NegativeData struct {
	VisitID   string `json:"visit_id"`
	ClinicID  string `json:"clinic_id"`
	PatientID string `json:"patient_id"`
	ThreadID  string `json:"thread_id,omitempty"`
	Score     int    `json:"score"`
}

// Rate is POST /v1/visits/{id}/rating: once per visit, by the visit's
// patient, after the visit took place. 4–5: the answer lists the clinic's
// review sites. 1–3: the comment goes to the clinic's managers in the
// patient's chat thread (the patient writing first) marked as a low
// rating, and every manager is alerted at once.
func (s *Service) Rate(ctx context.Context, patientID, visitID string, req RatingRequest) (*RatingResult, error) {
	if req.Score < 1 || req.Score > 5 {
		return nil, invalid("score", "must be 1..5")
	}
	comment := strings.TrimSpace(strings.ReplaceAll(req.Comment, "\r\n", "\n"))
	if n := utf8.RuneCountInString(comment); n > MaxComment {
		return nil, invalid("comment", "must be at most %d characters, not %d", MaxComment, n)
	}
	if comment != "" {
		if _, err := checkLines("comment", comment, MaxComment); err != nil {
			return nil, err
		}
	}
	a, err := s.store.Appointment(ctx, visitID)
	if err != nil || a.PatientID != patientID {
		return nil, fmt.Errorf("%w: no such visit of yours", ErrNotFound)
	}
	if a.Status != StatusDone {
		return nil, ErrNotVisited
	}
	r := &VisitRating{VisitID: a.ID, ClinicID: a.ClinicID, PatientID: patientID, ExternalID: a.ExternalID, Doctor: a.Doctor,
		StaffID: a.StaffID, VisitAt: a.StartsAt, Score: req.Score, Comment: comment, Created: s.now()}
	if err := s.store.InsertRating(ctx, r); errors.Is(err, errDuplicate) {
		// The same answer again is a retry: it finishes the routing of a
		// low rating that a failure interrupted, and answers as before.
		prev, err := s.store.RatingByVisit(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		if prev.Score != r.Score || prev.Comment != r.Comment {
			return nil, ErrRated
		}
		r = prev
	} else if err != nil {
		return nil, err
	}
	res := &RatingResult{ReviewSites: []Site{}}
	if r.Score >= 4 {
		if res.ReviewSites, err = s.ReviewSites(ctx, a.ClinicID); err != nil {
			return nil, err
		}
	} else if err := s.negative(ctx, r); err != nil {
		return nil, err
	}
	res.Rating = r.View()
	return res, nil
}

// negative routes a low rating to the managers: the chat message first
// (its thread is kept on the rating), then a realtime alert keyed by the
// visit, so a retry alerts once.
func (s *Service) negative(ctx context.Context, r *VisitRating) error {
	if s.opts.Chat != nil {
		msg := fmt.Sprintf("⚠ Оценка визита: %d из 5 / Visit rating: %d of 5", r.Score, r.Score)
		if r.Comment != "" {
			msg += "\n" + r.Comment
		}
		if r.ThreadID == "" {
			thread, err := s.opts.Chat.PatientWrites(ctx, r.ClinicID, r.PatientID, msg)
			switch {
			case errors.Is(err, ErrNoThread):
			case err != nil:
				return err
			default:
				r.ThreadID = thread
				if err := s.store.SetRatingThread(ctx, r.VisitID, thread); err != nil {
					return err
				}
			}
		}
	}
	if s.opts.Managers == nil {
		return nil
	}
	ids, err := s.opts.Managers.Managers(ctx, r.ClinicID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := s.opts.Inbox.Publish(ctx, id, Note{Key: "care:negative:" + r.VisitID, Type: NoteNegativeRating, ClinicID: r.ClinicID,
			Data:       NegativeData{VisitID: r.VisitID, ClinicID: r.ClinicID, PatientID: r.PatientID, ThreadID: r.ThreadID, Score: r.Score},
			AlertTitle: "Низкая оценка визита / Low visit rating", AlertBody: fmt.Sprintf("%d/5", r.Score)})
		if err != nil {
			return err
		}
	}
	return nil
}

func checkLines(field, v string, max int) (string, error) {
	for _, line := range strings.Split(v, "\n") {
		if m := text.Line(line, max); m != "" {
			return "", invalid(field, "%s", m)
		}
	}
	return v, nil
}

// RatingsReport is GET /v1/clinic/ratings.
type RatingsReport struct {
	From         time.Time      `json:"from" api:"required"`
	To           time.Time      `json:"to" api:"required"`
	Count        int            `json:"count" api:"required"`
	Average      float64        `json:"average" api:"required"`
	Distribution map[string]int `json:"distribution" api:"required"`
	Weeks        []RatingWeek   `json:"weeks" api:"required"`
	Ratings      []RatingView   `json:"ratings" api:"required"`
	Truncated    bool           `json:"truncated" api:"required"`
}

// RatingWeek sums one ISO week (in the clinic's time zone).
type RatingWeek struct {
	Week         string         `json:"week" api:"required"`
	Count        int            `json:"count" api:"required"`
	Average      float64        `json:"average" api:"required"`
	Distribution map[string]int `json:"distribution" api:"required"`
}

// MaxRatingsReport is how many ratings one report lists (the sums cover
// them; a longer period is split by the caller).
const MaxRatingsReport = 5000

// Ratings is GET /v1/clinic/ratings?from=&to=&score=.
func (s *Service) Ratings(ctx context.Context, clinicID string, from, to time.Time, score int) (*RatingsReport, error) {
	if score < 0 || score > 5 {
		return nil, invalid("score", "must be 1..5")
	}
	if !to.After(from) {
		return nil, invalid("to", "must be after from")
	}
	c, err := s.opts.Clinics.Clinic(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	list, err := s.store.Ratings(ctx, clinicID, from, to, score, MaxRatingsReport+1)
	if err != nil {
		return nil, err
	}
	rep := &RatingsReport{From: from, To: to, Distribution: dist(), Weeks: []RatingWeek{}, Ratings: []RatingView{}}
	if len(list) > MaxRatingsReport {
		list, rep.Truncated = list[:MaxRatingsReport], true
	}
	weeks := map[string]int{}
	sum := 0
	for i := range list {
		r := &list[i]
		rep.Ratings = append(rep.Ratings, r.View())
		y, w := r.Created.In(c.Location).ISOWeek()
		key := fmt.Sprintf("%04d-W%02d", y, w)
		idx, ok := weeks[key]
		if !ok {
			idx = len(rep.Weeks)
			weeks[key] = idx
			rep.Weeks = append(rep.Weeks, RatingWeek{Week: key, Distribution: dist()})
		}
		wk := &rep.Weeks[idx]
		wk.Count++
		wk.Distribution[strconv.Itoa(r.Score)]++
		wk.Average += float64(r.Score)
		rep.Distribution[strconv.Itoa(r.Score)]++
		sum += r.Score
	}
	rep.Count = len(list)
	if rep.Count > 0 {
		rep.Average = round2(float64(sum) / float64(rep.Count))
	}
	for i := range rep.Weeks {
		rep.Weeks[i].Average = round2(rep.Weeks[i].Average / float64(rep.Weeks[i].Count))
	}
	return rep, nil
}

func dist() map[string]int { return map[string]int{"1": 0, "2": 0, "3": 0, "4": 0, "5": 0} }

func round2(f float64) float64 { return math.Round(f*100) / 100 }
