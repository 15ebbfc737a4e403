package wallet

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"carewallet/app/text"
)

// Program is one version of a clinic's loyalty rules. Versions are
// append-only (unique (clinic, version)); every operation reads the latest
// version, so a change applies to future operations only. Levels are
// computed from a card's cumulative paid spend at read time, so enabling or
// changing levels re-evaluates every existing card from its history.
type Program struct {
	ClinicID  string    `json:"clinic_id"`
	Version   int64     `json:"version"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`

	// PointValue is what one point is worth, in minor units (default 100).
	PointValue int64 `json:"point_value"`
	// Levels by cumulative paid spend (minor units), ascending min_spend,
	// the first at 0. Empty: one rate, CashbackBP.
	Levels []Level `json:"levels"`
	// CashbackBP is the rate when there are no levels.
	CashbackBP       int64             `json:"cashback_bp"`
	ServiceOverrides []ServiceOverride `json:"service_overrides"`
	// ExcludedServices cannot be paid with points (they still earn).
	ExcludedServices []string `json:"excluded_services"`
	// MaxShareBP is the largest share of the eligible (non-excluded) part
	// of a receipt payable with points; 0 means points cannot pay.
	MaxShareBP int64 `json:"max_share_bp"`
	// MaxReceiptPoints caps the cashback of one receipt (0: no cap).
	MaxReceiptPoints int64 `json:"max_receipt_points"`
	WelcomeBonus     Bonus `json:"welcome_bonus"`
	BookingBonus     Bonus `json:"booking_bonus"`
	BirthdayBonus    Bonus `json:"birthday_bonus"`
	// CashbackBurnDays is how long cashback (and returned refund) points live.
	CashbackBurnDays int `json:"cashback_burn_days"`
	// BurnWarningDays: the patient is warned this many days before a burn.
	BurnWarningDays int `json:"burn_warning_days"`
	// MajorityAge is the age from which a dependant may take their card
	// over (handover.go): 0 means DefaultMajorityAge (18); 14 to 18.
	MajorityAge int `json:"majority_age"`
}

// Level is one step of the level ladder.
type Level struct {
	Name       string `json:"name" api:"required"`
	MinSpend   int64  `json:"min_spend"`
	CashbackBP int64  `json:"cashback_bp"`
}

// ServiceOverride replaces the level rate for one service code: either a
// rate (CashbackBP, may be 0) or a fixed number of points per line.
type ServiceOverride struct {
	Service    string `json:"service" api:"required"`
	CashbackBP *int64 `json:"cashback_bp,omitempty"`
	Points     *int64 `json:"points,omitempty"`
}

// Bonus is a fixed credit with its own burn period.
type Bonus struct {
	Points   int64 `json:"points"`
	BurnDays int   `json:"burn_days"`
}

// Limits that keep arithmetic far from int64 overflow: amounts up to 10^13
// minor units times rates up to 10^4 stay below 2^63.
const (
	maxBP          = 10000
	maxMoney       = 1_000_000_000_000 // 10^12 minor units per line or receipt
	maxPoints      = 1_000_000_000     // 10^9 points per operation
	maxPointValue  = 1_000_000
	maxBurnDays    = 3660
	maxWarningDays = 90
	maxLines       = 200
	// maxClientID is the longest receipt or booking number, in characters.
	maxClientID  = 64
	maxLevels    = 20
	maxOverrides = 500
)

var serviceCodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$`)

// DefaultProgram is what a clinic has before a manager saves one: points
// are worth one major unit and nothing is earned.
func DefaultProgram(clinicID string) *Program {
	return &Program{
		ClinicID:         clinicID,
		PointValue:       100,
		CashbackBurnDays: 365,
		BurnWarningDays:  14,
		Levels:           []Level{},
		ServiceOverrides: []ServiceOverride{},
		ExcludedServices: []string{},
	}
}

// Validate checks every field and names the first wrong one.
func (p *Program) Validate() error {
	if p.PointValue < 1 || p.PointValue > maxPointValue {
		return invalidProgram("point_value", "must be between 1 and %d", maxPointValue)
	}
	if len(p.Levels) > maxLevels {
		return invalidProgram("levels", "at most %d levels", maxLevels)
	}
	seen := map[string]bool{}
	for i, l := range p.Levels {
		f := fmt.Sprintf("levels[%d]", i)
		if l.Name == "" {
			return invalidProgram(f+".name", "required")
		}
		if m := text.Line(l.Name, 64); m != "" {
			return invalidProgram(f+".name", "%s", m)
		}
		if seen[l.Name] {
			return invalidProgram(f+".name", "duplicate level name %q", l.Name)
		}
		seen[l.Name] = true
		if l.CashbackBP < 0 || l.CashbackBP > maxBP {
			return invalidProgram(f+".cashback_bp", "must be between 0 and %d", maxBP)
		}
		if l.MinSpend < 0 || l.MinSpend > maxMoney*1000 {
			return invalidProgram(f+".min_spend", "out of range")
		}
		if i == 0 && l.MinSpend != 0 {
			return invalidProgram(f+".min_spend", "the first level must start at 0")
		}
		if i > 0 && l.MinSpend <= p.Levels[i-1].MinSpend {
			return invalidProgram(f+".min_spend", "must be greater than the previous level's")
		}
	}
	if p.CashbackBP < 0 || p.CashbackBP > maxBP {
		return invalidProgram("cashback_bp", "must be between 0 and %d", maxBP)
	}
	if len(p.ServiceOverrides) > maxOverrides {
		return invalidProgram("service_overrides", "at most %d overrides", maxOverrides)
	}
	seen = map[string]bool{}
	for i, o := range p.ServiceOverrides {
		f := fmt.Sprintf("service_overrides[%d]", i)
		if !serviceCodeRE.MatchString(o.Service) {
			return invalidProgram(f+".service", "not a service code")
		}
		if seen[o.Service] {
			return invalidProgram(f+".service", "duplicate service %q", o.Service)
		}
		seen[o.Service] = true
		if (o.CashbackBP == nil) == (o.Points == nil) {
			return invalidProgram(f, "set exactly one of cashback_bp and points")
		}
		if o.CashbackBP != nil && (*o.CashbackBP < 0 || *o.CashbackBP > maxBP) {
			return invalidProgram(f+".cashback_bp", "must be between 0 and %d", maxBP)
		}
		if o.Points != nil && (*o.Points < 0 || *o.Points > maxPoints) {
			return invalidProgram(f+".points", "must be between 0 and %d", maxPoints)
		}
	}
	if len(p.ExcludedServices) > maxOverrides {
		return invalidProgram("excluded_services", "at most %d services", maxOverrides)
	}
	for i, s := range p.ExcludedServices {
		if !serviceCodeRE.MatchString(s) {
			return invalidProgram(fmt.Sprintf("excluded_services[%d]", i), "not a service code")
		}
	}
	if p.MaxShareBP < 0 || p.MaxShareBP > maxBP {
		return invalidProgram("max_share_bp", "must be between 0 and %d", maxBP)
	}
	if p.MaxReceiptPoints < 0 || p.MaxReceiptPoints > maxPoints {
		return invalidProgram("max_receipt_points", "must be between 0 and %d", maxPoints)
	}
	for _, b := range []struct {
		name string
		b    Bonus
	}{{"welcome_bonus", p.WelcomeBonus}, {"booking_bonus", p.BookingBonus}, {"birthday_bonus", p.BirthdayBonus}} {
		if b.b.Points < 0 || b.b.Points > maxPoints {
			return invalidProgram(b.name+".points", "must be between 0 and %d", maxPoints)
		}
		if b.b.Points > 0 && (b.b.BurnDays < 1 || b.b.BurnDays > maxBurnDays) {
			return invalidProgram(b.name+".burn_days", "must be between 1 and %d", maxBurnDays)
		}
	}
	if p.CashbackBurnDays < 1 || p.CashbackBurnDays > maxBurnDays {
		return invalidProgram("cashback_burn_days", "must be between 1 and %d", maxBurnDays)
	}
	if p.BurnWarningDays < 0 || p.BurnWarningDays > maxWarningDays {
		return invalidProgram("burn_warning_days", "must be between 0 and %d", maxWarningDays)
	}
	if p.MajorityAge != 0 && (p.MajorityAge < 14 || p.MajorityAge > DefaultMajorityAge) {
		return invalidProgram("majority_age", "must be between 14 and %d (0: %d)", DefaultMajorityAge, DefaultMajorityAge)
	}
	return nil
}

// normalize fills nil slices so JSON shows [] rather than null.
func (p *Program) normalize() {
	if p.Levels == nil {
		p.Levels = []Level{}
	}
	if p.ServiceOverrides == nil {
		p.ServiceOverrides = []ServiceOverride{}
	}
	if p.ExcludedServices == nil {
		p.ExcludedServices = []string{}
	}
}

func (p *Program) excluded(service string) bool {
	for _, s := range p.ExcludedServices {
		if s == service {
			return true
		}
	}
	return false
}

func (p *Program) override(service string) *ServiceOverride {
	for i := range p.ServiceOverrides {
		if p.ServiceOverrides[i].Service == service {
			return &p.ServiceOverrides[i]
		}
	}
	return nil
}

// Program returns the clinic's current program (GET /v1/clinic/program);
// a clinic that never saved one gets DefaultProgram (version 0).
func (s *Service) Program(ctx context.Context, clinicID string) (*Program, error) {
	if clinicID == "" {
		return nil, invalid("clinic_id", "required")
	}
	// Programs are immutable per version: a decoded one is reused while
	// the store's latest version is unchanged, so every operation still
	// sees a change made on any instance, without decoding it each time.
	v, err := s.store.LatestProgramVersion(ctx, clinicID)
	if err != nil {
		return nil, fmt.Errorf("wallet: program of %s: %w", clinicID, err)
	}
	if v == 0 {
		return DefaultProgram(clinicID), nil
	}
	if c, ok := s.programs.Load(clinicID); ok && c.(*Program).Version == v {
		cp := *c.(*Program)
		return &cp, nil
	}
	p, err := s.store.LatestProgram(ctx, clinicID)
	if errors.Is(err, ErrNotFound) {
		return DefaultProgram(clinicID), nil
	}
	if err != nil {
		return nil, fmt.Errorf("wallet: program of %s: %w", clinicID, err)
	}
	p.normalize()
	cached := *p
	s.programs.Store(clinicID, &cached)
	return p, nil
}

// PutProgram validates p and saves it as the clinic's next version (PUT
// /v1/clinic/program). Versions are unique (clinic, version); losing a race
// to another manager retries on top of the winner.
func (s *Service) PutProgram(ctx context.Context, clinicID, staffID string, p Program) (*Program, error) {
	p.normalize()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	for range 20 {
		cur, err := s.Program(ctx, clinicID)
		if err != nil {
			return nil, err
		}
		p.ClinicID, p.Version, p.UpdatedBy, p.UpdatedAt = clinicID, cur.Version+1, staffID, s.clock()
		err = s.store.InsertProgram(ctx, &p)
		if err == nil {
			return &p, nil
		}
		if !errors.Is(err, errDuplicate) {
			return nil, fmt.Errorf("wallet: save program: %w", err)
		}
	}
	return nil, fmt.Errorf("wallet: save program: %w", ErrConflict)
}
