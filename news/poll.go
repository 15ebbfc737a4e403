package news

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Vote is one patient's answer to a post's poll: unique (post, patient).
type Vote struct {
	PostID    string
	PatientID string
	Option    int // 0-based
	At        time.Time
}

// Results are a poll's counts and shares.
type Results struct {
	Total   int64          `json:"total"`
	Options []OptionResult `json:"options"`
}

// OptionResult is one option's count; Percent is in basis points of the
// votes cast (100% = 10000), rounded down.
type OptionResult struct {
	Option  string `json:"option"`
	Votes   int64  `json:"votes"`
	Percent int64  `json:"percent_bp"`
}

// CastVote is POST /v1/news/{id}/vote: option is 1-based as the client
// shows it. One vote per patient account (a unique insert); a second vote
// is ErrVoted, a vote at or after closes_at ErrPollClosed. It returns the
// results, which the patient sees after voting.
func (s *Service) CastVote(ctx context.Context, patientID, postID string, option int) (*Results, error) {
	p, err := s.readable(ctx, patientID, postID)
	if err != nil {
		return nil, err
	}
	if p.Withdrawn {
		return nil, ErrWithdrawn
	}
	if p.Poll == nil {
		return nil, ErrNoPoll
	}
	now := s.now()
	if !now.Before(p.Poll.ClosesAt) {
		return nil, ErrPollClosed
	}
	if option < 1 || option > len(p.Poll.Options) {
		return nil, invalid("option", "must be 1..%d", len(p.Poll.Options))
	}
	err = s.store.InsertVote(ctx, &Vote{PostID: p.ID, PatientID: patientID, Option: option - 1, At: now})
	if errors.Is(err, errDuplicate) {
		return nil, ErrVoted
	}
	if err != nil {
		return nil, err
	}
	return s.results(ctx, p)
}

// PatientResults are a poll's results for a patient who voted.
func (s *Service) PatientResults(ctx context.Context, patientID, postID string) (*Results, error) {
	p, err := s.readable(ctx, patientID, postID)
	if err != nil {
		return nil, err
	}
	if p.Poll == nil {
		return nil, ErrNoPoll
	}
	if _, err := s.store.Vote(ctx, p.ID, patientID); errors.Is(err, ErrNotFound) {
		return nil, ErrNotVoted
	} else if err != nil {
		return nil, err
	}
	return s.results(ctx, p)
}

// ClinicResults are a poll's results for the clinic's managers, at any time.
func (s *Service) ClinicResults(ctx context.Context, clinicID, postID string) (*Results, error) {
	p, err := s.clinicPost(ctx, clinicID, postID)
	if err != nil {
		return nil, err
	}
	if p.Poll == nil {
		return nil, ErrNoPoll
	}
	return s.results(ctx, p)
}

func (s *Service) results(ctx context.Context, p *Post) (*Results, error) {
	counts, err := s.store.VoteCounts(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return tally(p.Poll.Options, counts), nil
}

// tally turns counts per option into results; shares round down.
func tally(options []string, counts map[int]int64) *Results {
	r := &Results{Options: make([]OptionResult, len(options))}
	for i := range options {
		r.Total += counts[i]
	}
	for i, o := range options {
		r.Options[i] = OptionResult{Option: o, Votes: counts[i]}
		if r.Total > 0 {
			r.Options[i].Percent = counts[i] * 10000 / r.Total
		}
	}
	return r
}

// CSV renders results as rows for a spreadsheet (header first).
func (r *Results) CSV() [][]string {
	rows := [][]string{{"option", "votes", "percent"}}
	for _, o := range r.Options {
		rows = append(rows, []string{o.Option, strconv.FormatInt(o.Votes, 10),
			strconv.FormatInt(o.Percent/100, 10) + "." + pad2(o.Percent%100)})
	}
	return rows
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}
