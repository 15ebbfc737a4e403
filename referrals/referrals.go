// Package referrals is how a clinic grows by word of mouth: a referral
// program per clinic (versioned), a personal code, link and QR for every
// active own card, joining a clinic with a friend's code, the referral
// tree (one referrer per patient and clinic), multi-level rewards on the
// friend's paid visits, their claw-back on refunds, fraud checks with
// manager review, and the staff's enrolment rewards.
//
// It never imports app or another domain package: it declares the small
// interfaces it needs (Wallet to read cards and receipts and to credit
// and claw back points, Notifier, People) and app adapts the
// other packages to them.
//
// Rewards follow durable facts (ARCHITECTURE §2): the reward job reads
// the wallet's receipt entries (cashback, refund) of each clinic from a
// cursor, with an overlap, and for each one inserts the reward records it
// implies under unique (clinic, receipt, level) and credits them under the
// deterministic wallet key ref:{receipt}:{level}. A crash between a
// receipt and its rewards delays them to the next run; replays and
// several instances pay once. The reward rules are pure (reward.go).
//
// Files: program (the program and its rules of validity), code (personal
// codes), reward (pure reward rules), join (joining with a code and the
// fraud checks), job (the reward job), clawback (refunds), cap (the
// monthly cap), view (what patients see, managers' decisions), staff (the
// staff's rewards accounts and payouts), report (managers' reports),
// store (the Store and its records) and its two adapters.
package referrals

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"io"
	"strconv"
	"time"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func itoa(i int) string { return strconv.Itoa(i) }

// Wallet is what referrals needs from the wallet; app adapts the wallet
// package to it.
type Wallet interface {
	// Join makes (or returns) the patient's own active card at the clinic
	// and credits its welcome bonus; it returns the card id.
	Join(ctx context.Context, patientID, clinicID string) (string, error)
	// Card returns a card's facts (ErrNotFound).
	Card(ctx context.Context, cardID string) (*Card, error)
	// PatientCard returns a card the patient may see (ErrNotFound).
	PatientCard(ctx context.Context, patientID, cardID string) (*Card, error)
	// OwnCard is the patient's live own card at the clinic (ErrNotFound).
	OwnCard(ctx context.Context, clinicID, patientID string) (*Card, error)
	// Credit posts c.Points once per c.Key; Reclaim takes back up to
	// c.Points once per c.Key, never below what the card holds.
	Credit(ctx context.Context, c Credit) (*Posted, error)
	Reclaim(ctx context.Context, c Credit) (*Posted, error)
	// CreditAll posts several credits, each once per its Key, together
	// where the wallet can (one transaction on SQLite). A refused credit
	// is reported in its result; an error means none may have been
	// posted, and a retry posts what is missing and nothing twice.
	CreditAll(ctx context.Context, cs []Credit) ([]CreditResult, error)
	// Receipts pages the clinic's receipt facts (paid receipts and their
	// refunds) recorded at or after from, in commit-time order, after an
	// opaque cursor ("" from the start); next is "" at the end.
	Receipts(ctx context.Context, clinicID string, from time.Time, after string, limit int) (facts []ReceiptFact, next string, err error)
	Cardholders
}

// Cardholders is what the report needs of the wallet: every patient who
// holds their own active card at a clinic, and who of them has paid.
type Cardholders interface {
	// Cardholders pages the patients holding their own active card at
	// the clinic, with whether each ever paid money on a receipt there,
	// after an opaque cursor ("" from the start); next is "" at the end.
	Cardholders(ctx context.Context, clinicID, after string, limit int) (rows []Cardholder, next string, err error)
}

// Cardholder is one patient holding their own active card at a clinic.
type Cardholder struct {
	PatientID string
	CardID    string
	Paid      bool // paid money on at least one receipt at the clinic
}

// Card is what referrals knows of a wallet card.
type Card struct {
	ID        string
	ClinicID  string
	PatientID string // the account whose app holds it
	Own       bool   // held by that patient, not a dependant
	Active    bool
	// Unconfirmed: registered at reception for a patient without the
	// app; its enrolling staff member is credited once it is confirmed.
	Unconfirmed bool
	IssuedBy    string // staff who issued it at reception
	Paid        int64  // money paid on its receipts, after refunds
	PointValue  int64  // minor units a point is worth at the clinic
}

// Entry kinds of the wallet entries referrals posts.
const (
	KindReferral     = "referral"
	KindRefereeBonus = "referee_bonus"
)

// Credit is one keyed wallet posting.
type Credit struct {
	CardID   string
	Kind     string
	Key      string
	Points   int64
	BurnDays int
	Reason   string
	Details  any
}

// CreditResult is one credit of CreditAll.
type CreditResult struct {
	Posted *Posted
	Err    error
}

// Posted is what a posting did.
type Posted struct {
	Points      int64 // signed
	Uncollected int64 // a reclaim's part the card no longer had
	Replayed    bool
}

// Receipt fact kinds.
const (
	FactReceipt = "receipt"
	FactRefund  = "refund"
)

// ReceiptFact is one durable receipt fact: a paid receipt (Paid: the
// money actually paid, never the part paid with points) or a refund of
// one (Reduced: the paid money it took off; Key identifies the refund).
type ReceiptFact struct {
	Kind       string
	ClinicID   string
	CardID     string
	PatientID  string
	ReceiptID  string
	Key        string
	Paid       int64
	Reduced    int64
	PointValue int64
	At         time.Time
}

// Notification is one inbox event for a patient: Data carries ids only;
// the alert text never names a phone, a code or a medical detail.
type Notification struct {
	Key        string
	Type       string
	Data       any
	AlertTitle string
	AlertBody  string
}

// Notifier delivers an event to a patient's inbox (and a push when
// AlertTitle is set); Key makes it idempotent per patient.
type Notifier interface {
	Notify(ctx context.Context, patientID string, n Notification) error
}

// People gives what identity owns: first names and last initials, and
// phones, only to compare them.
type People interface {
	// Name is the patient's first and last name ("" when unknown).
	Name(ctx context.Context, patientID string) (first, last string, err error)
	// SamePhone reports whether two accounts share a phone number.
	SamePhone(ctx context.Context, a, b string) (bool, error)
	// ClinicName is the clinic's display name.
	ClinicName(ctx context.Context, clinicID string) (string, error)
	// Location is the clinic's time zone.
	Location(ctx context.Context, clinicID string) (*time.Location, error)
}

// Options configures a Service.
type Options struct {
	Now  func() time.Time
	Rand io.Reader
	// Overlap is how far back each reward job run re-reads receipts
	// before its cursor, for entries committed late (default 10 minutes).
	Overlap time.Duration
}

// Service is the referrals API.
type Service struct {
	store    Store
	wallet   Wallet
	notifier Notifier
	people   People
	now      func() time.Time
	rand     io.Reader
	overlap  time.Duration
}

// NewService builds a Service.
func NewService(store Store, w Wallet, n Notifier, people People, opts Options) *Service {
	s := &Service{store: store, wallet: w, notifier: n, people: people,
		now: opts.Now, rand: opts.Rand, overlap: opts.Overlap}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.overlap <= 0 {
		s.overlap = 10 * time.Minute
	}
	return s
}

func (s *Service) clock() time.Time { return s.now().UTC() }

func (s *Service) newID(prefix string) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", fmt.Errorf("referrals: random id: %w", err)
	}
	return prefix + idEncoding.EncodeToString(b[:]), nil
}
