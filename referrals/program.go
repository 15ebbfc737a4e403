package referrals

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Reward triggers.
const (
	RewardFirstPaidVisit = "first_paid_visit"
	RewardEveryPaidVisit = "every_paid_visit"
)

// MaxLevels is how many levels above a new patient are rewarded (as UDS).
const MaxLevels = 3

// Program is a clinic's referral program (GET/PUT
// /v1/clinic/referral-program). It is versioned like the loyalty program:
// unique (clinic, version), and a receipt is rewarded under the version
// in force when it was recorded, so a change applies to future rewards.
type Program struct {
	ClinicID string `json:"-"`
	Version  int64  `json:"version"`
	Enabled  bool   `json:"enabled"`
	// RefereeBonus is credited to a new patient who joins with a code,
	// beside the clinic's welcome bonus, burning after its own days.
	RefereeBonus Bonus `json:"referee_bonus"`
	// ReferrerBonus is a fixed bonus to level 1 only, on a rewarded visit.
	ReferrerBonus Points `json:"referrer_bonus"`
	// Levels[0] is the referrer, Levels[1] the referrer's referrer, and so
	// on (at most MaxLevels); each earns RateBP of the money the new
	// patient actually paid on the receipt, rounded down.
	Levels []Level `json:"levels"`
	// RewardOn is first_paid_visit (the first receipt with at least
	// MinPaid paid) or every_paid_visit (every receipt with at least
	// MinPaid paid within WindowDays of joining).
	RewardOn   string `json:"reward_on"`
	WindowDays int    `json:"window_days,omitempty"`
	MinPaid    int64  `json:"min_paid"`
	// RewardBurnDays is the life of reward points (0: the loyalty
	// program's cashback burn days).
	RewardBurnDays int `json:"reward_burn_days"`
	// StaffRewardBP is the share of every paid receipt of a patient that
	// the staff member who enrolled them earns.
	StaffRewardBP int64 `json:"staff_reward_bp"`
	// MaxRewardedPerMonth caps the friends rewarded per referrer per
	// calendar month (clinic time); 0: no cap.
	MaxRewardedPerMonth int `json:"max_rewarded_per_month"`
	// MaxJoinsPerDay: more joins than this under one referrer in a day
	// (clinic time) are held for a manager (0: the default, 10).
	MaxJoinsPerDay int       `json:"max_joins_per_day"`
	UpdatedBy      string    `json:"updated_by,omitempty"`
	Created        time.Time `json:"created_at"`
}

// ProgramRequest is the body of PUT /v1/clinic/referral-program: the
// settable fields of a Program, of which only enabled and reward_on are
// required (the rest default to zero: no bonus, no level, no cap).
type ProgramRequest struct {
	Enabled             bool    `json:"enabled"`
	RefereeBonus        Bonus   `json:"referee_bonus,omitzero"`
	ReferrerBonus       Points  `json:"referrer_bonus,omitzero"`
	Levels              []Level `json:"levels,omitempty"`
	RewardOn            string  `json:"reward_on" api:"required,enum=first_paid_visit|every_paid_visit"`
	WindowDays          int     `json:"window_days,omitempty"`
	MinPaid             int64   `json:"min_paid,omitempty"`
	RewardBurnDays      int     `json:"reward_burn_days,omitempty"`
	StaffRewardBP       int64   `json:"staff_reward_bp,omitempty"`
	MaxRewardedPerMonth int     `json:"max_rewarded_per_month,omitempty"`
	MaxJoinsPerDay      int     `json:"max_joins_per_day,omitempty"`
}

// Bonus is fixed points with a burn period.
type Bonus struct {
	Points   int64 `json:"points"`
	BurnDays int   `json:"burn_days"`
}

// Points is a fixed number of points.
type Points struct {
	Points int64 `json:"points"`
}

// Level is one rewarded level's rate.
type Level struct {
	RateBP int64 `json:"rate_bp"`
}

const (
	maxPoints       = 1_000_000_000
	maxMoney        = 1_000_000_000_000 // 10^10 roubles in kopecks
	maxRateBP       = 10_000
	maxDays         = 3650
	defaultJoinsDay = 10
)

// DefaultProgram is what a clinic that never set one has: off.
func DefaultProgram(clinicID string) *Program {
	return &Program{ClinicID: clinicID, Enabled: false, Levels: []Level{}, RewardOn: RewardFirstPaidVisit}
}

// Validate checks a program; the error names the field at fault.
func (p *Program) Validate() error {
	if p.RefereeBonus.Points < 0 || p.RefereeBonus.Points > maxPoints {
		return invalidProgram("referee_bonus.points", "must be 0 to %d", maxPoints)
	}
	if p.RefereeBonus.BurnDays < 0 || p.RefereeBonus.BurnDays > maxDays {
		return invalidProgram("referee_bonus.burn_days", "must be 0 to %d", maxDays)
	}
	if p.ReferrerBonus.Points < 0 || p.ReferrerBonus.Points > maxPoints {
		return invalidProgram("referrer_bonus.points", "must be 0 to %d", maxPoints)
	}
	if len(p.Levels) > MaxLevels {
		return invalidProgram("levels", "at most %d levels", MaxLevels)
	}
	for i, l := range p.Levels {
		if l.RateBP < 0 || l.RateBP > maxRateBP {
			return invalidProgram(fmt.Sprintf("levels[%d].rate_bp", i), "must be 0 to %d basis points", maxRateBP)
		}
	}
	switch p.RewardOn {
	case RewardFirstPaidVisit:
		if p.WindowDays != 0 {
			return invalidProgram("window_days", "only with reward_on every_paid_visit")
		}
	case RewardEveryPaidVisit:
		if p.WindowDays < 1 || p.WindowDays > maxDays {
			return invalidProgram("window_days", "must be 1 to %d with every_paid_visit", maxDays)
		}
	default:
		return invalidProgram("reward_on", "must be first_paid_visit or every_paid_visit")
	}
	if p.MinPaid < 0 || p.MinPaid > maxMoney {
		return invalidProgram("min_paid", "must be 0 to %d minor units", int64(maxMoney))
	}
	if p.RewardBurnDays < 0 || p.RewardBurnDays > maxDays {
		return invalidProgram("reward_burn_days", "must be 0 to %d", maxDays)
	}
	if p.StaffRewardBP < 0 || p.StaffRewardBP > maxRateBP {
		return invalidProgram("staff_reward_bp", "must be 0 to %d basis points", maxRateBP)
	}
	if p.MaxRewardedPerMonth < 0 || p.MaxRewardedPerMonth > 100_000 {
		return invalidProgram("max_rewarded_per_month", "must be 0 (no cap) to 100000")
	}
	if p.MaxJoinsPerDay < 0 || p.MaxJoinsPerDay > 100_000 {
		return invalidProgram("max_joins_per_day", "must be 0 (the default, 10) to 100000")
	}
	return nil
}

func (p *Program) joinsPerDay() int {
	if p.MaxJoinsPerDay > 0 {
		return p.MaxJoinsPerDay
	}
	return defaultJoinsDay
}

// Program returns the clinic's current referral program (the default,
// off, when none was set).
func (s *Service) Program(ctx context.Context, clinicID string) (*Program, error) {
	return s.programAt(ctx, clinicID, time.Time{})
}

// programAt is the version in force at t (zero t: the latest).
func (s *Service) programAt(ctx context.Context, clinicID string, t time.Time) (*Program, error) {
	p, err := s.store.ProgramAt(ctx, clinicID, t)
	if errors.Is(err, ErrNotFound) {
		return DefaultProgram(clinicID), nil
	}
	if err != nil {
		return nil, fmt.Errorf("referrals: program: %w", err)
	}
	return p, nil
}

// PutProgram validates p and stores it as the clinic's next version; a
// concurrent change makes the version taken, and the newer one wins after
// a re-read.
func (s *Service) PutProgram(ctx context.Context, clinicID, staffID string, req ProgramRequest) (*Program, error) {
	p := Program{Enabled: req.Enabled, RefereeBonus: req.RefereeBonus, ReferrerBonus: req.ReferrerBonus, Levels: req.Levels,
		RewardOn: req.RewardOn, WindowDays: req.WindowDays, MinPaid: req.MinPaid, RewardBurnDays: req.RewardBurnDays,
		StaffRewardBP: req.StaffRewardBP, MaxRewardedPerMonth: req.MaxRewardedPerMonth, MaxJoinsPerDay: req.MaxJoinsPerDay}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.Levels == nil {
		p.Levels = []Level{}
	}
	for range 10 {
		cur, err := s.store.ProgramAt(ctx, clinicID, time.Time{})
		var v int64
		switch {
		case err == nil:
			v = cur.Version
		case !errors.Is(err, ErrNotFound):
			return nil, fmt.Errorf("referrals: program: %w", err)
		}
		p.ClinicID, p.Version, p.UpdatedBy, p.Created = clinicID, v+1, staffID, s.clock()
		err = s.store.InsertProgram(ctx, &p)
		if errors.Is(err, errDuplicate) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("referrals: program: %w", err)
		}
		return &p, nil
	}
	return nil, fmt.Errorf("referrals: program: too many concurrent changes: %w", errDuplicate)
}
