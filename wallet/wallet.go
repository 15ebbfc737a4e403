// Package wallet is the heart of carewallet: loyalty programs, cards (own
// and dependants', held by guardians), the append-only points ledger with
// lots and burn dates, cashback, OTP-confirmed bonus payments, refunds,
// bonuses, rotating QR card codes and the managers' reports.
//
// Correctness rests on unique keys, never on read-modify-write of a
// counter (docs/architecture.md §2): a ledger entry is committed by inserting it at
// (card, seq+1); a duplicate seq means another writer won and the writer
// re-reads and retries; a duplicate (card, idempotency key) means the
// operation already happened and its stored result is returned. Balances
// and lot remainders are caches rebuildable from the entries.
//
// Points are int64 whole points, money int64 minor units, rates basis
// points; every division rounds down in the clinic's favour (earned points
// down, clawed-back points up, returned points down).
//
// Files follow concepts: card, guardian, cardview, cardcode, history,
// receipt, spend, refund, bonus, adjust, ledger (entries and the one
// commit protocol), burn, report, program, otp and rules (the pure
// business rules). The Store is composed of one small interface per
// concept (store.go); each adapter splits the same way
// (store_sqlite_*.go, store_mongo_*.go) and shares no code with the other.
//
// Requests carry `json:"-"` on the fields the HTTP layer fills from the
// caller's identity (clinic, staff) or from path parameters, so a request
// body can never set them.
package wallet

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns prefix + 26 random base32 characters (128 bits).
func (s *Service) newID(prefix string) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", fmt.Errorf("wallet: random id: %w", err)
	}
	return prefix + idEncoding.EncodeToString(b[:]), nil
}

// fingerprint identifies a request body for idempotency checks.
func fingerprint(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are fingerprinted
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (s *Service) location(ctx context.Context, clinicID string) (*time.Location, error) {
	loc, err := s.clinics.Location(ctx, clinicID)
	if err != nil {
		return nil, fmt.Errorf("wallet: clinic %s time zone: %w", clinicID, err)
	}
	if loc == nil {
		loc = time.UTC
	}
	return loc, nil
}

// Clinics tells the wallet a clinic's time zone (burn dates, code
// lifetimes and birthdays are computed in it and stored in UTC).
type Clinics interface {
	Location(ctx context.Context, clinicID string) (*time.Location, error)
}

// Notifier delivers an event to a patient's app (durable inbox + websocket;
// a non-empty AlertTitle also sends an FCM push). Key makes it idempotent
// per patient: the same key twice delivers once.
type Notifier interface {
	Notify(ctx context.Context, patientID string, n Notification) error
}

// Managers tells every manager of a clinic about something that needs a
// person (their inbox and app); the key is per manager.
type Managers interface {
	AlertManagers(ctx context.Context, clinicID string, n Notification) error
}

// Notification is one inbox event. Alert text never contains a code or a
// medical detail; a code goes only in Data (data.code).
type Notification struct {
	Key        string
	Type       string
	Data       any
	AlertTitle string
	AlertBody  string
	// Clinic and Class put the notification under the one message policy
	// (quiet hours, weekly budget; see push): Class names a message class
	// ("burn_warning"); "" is not under the policy. The notifier returns
	// nil for a notification the policy skipped: it is done with.
	Clinic string
	Class  string
}

// ClassBurnWarning is the message class of burn warnings.
const ClassBurnWarning = "burn_warning"

// Notification types.
const (
	NoteCardCode     = "wallet.card_code"      // data: CardCodeData
	NoteSpendCode    = "wallet.spend_code"     // data: SpendCodeData
	NotePointsEarned = "wallet.points"         // data: PointsData (a credit)
	NoteBalance      = "wallet.balance"        // data: PointsData (a debit: spend, refund, burn, adjustment)
	NoteBurnWarning  = "wallet.burn_warning"   // data: BurnWarningData
	NoteCardActive   = "wallet.card_activated" // data: PointsData (card id)
)

// CardCodeData is the data of a NoteCardCode event.
type CardCodeData struct {
	Code      string    `json:"code"`
	CardID    string    `json:"card_id"`
	ClinicID  string    `json:"clinic_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SpendCodeData is the data of a NoteSpendCode event.
type SpendCodeData struct {
	Code      string    `json:"code"`
	SpendID   string    `json:"spend_id"`
	CardID    string    `json:"card_id"`
	ClinicID  string    `json:"clinic_id"`
	Points    int64     `json:"points"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PointsData is the data of a NotePointsEarned or NoteBalance event: the
// entry's signed points and the card's balance after it.
type PointsData struct {
	CardID   string `json:"card_id"`
	ClinicID string `json:"clinic_id"`
	Kind     string `json:"kind"`
	Points   int64  `json:"points"`
	Balance  int64  `json:"balance"`
}

// BurnWarningData is the data of a NoteBurnWarning event: the points of
// one card that burn at the end of one day (clinic time), over all its
// lots burning then.
type BurnWarningData struct {
	CardID   string    `json:"card_id"`
	ClinicID string    `json:"clinic_id"`
	LotID    string    `json:"lot_id"` // the first of LotIDs
	LotIDs   []string  `json:"lot_ids"`
	Points   int64     `json:"points"`
	Date     string    `json:"date"` // the last day the points can be used, YYYY-MM-DD
	BurnsAt  time.Time `json:"burns_at"`
}

// Options configures a Service; zero fields take the defaults.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of codes and ids (default crypto/rand.Reader).
	Rand io.Reader
	// CodeKey keys the HMAC under which codes are stored; the server's
	// secret in production. Empty: a random key for this process, so
	// codes outlive neither a restart nor a hop to another instance.
	CodeKey []byte
	// CodeTTL is the life of a spend or card-confirmation code (10 min).
	CodeTTL time.Duration
	// MaxAttempts per code (10).
	MaxAttempts int
	// CardCodeTTL is the life of a rotating QR card code (3 min).
	CardCodeTTL time.Duration
	// BurnBatch is how many lots the burn job handles per store call (500).
	BurnBatch int
	// People gives card holders' names and birth dates (identity owns
	// them). Without it cards show ids only, dependants' cards cannot be
	// issued and no birthday bonus is credited.
	People People
	// Managers alerts a clinic's managers (e.g. when wrong codes lock a
	// card's spends). Without it only the patient is told.
	Managers Managers
}

// Service is the wallet's API; each method maps to one HTTP operation.
// Methods taking a patientID act for that signed-in patient; methods taking
// a clinicID act for staff of that clinic. Objects of another patient's
// family or another clinic are reported as ErrNotFound.
type Service struct {
	store    Store
	clinics  Clinics
	notifier Notifier
	people   People
	managers Managers
	now      func() time.Time
	rand     io.Reader
	codeTTL  time.Duration
	maxTries int
	qrTTL    time.Duration
	batch    int

	codeKey  []byte
	programs sync.Map // clinic id → *Program, the latest version decoded

	// cardLocks serialize ledger commits per card inside this instance, so
	// concurrent requests do not stampede the optimistic (card, seq) insert;
	// across instances the unique key alone keeps the ledger right.
	cardLocks keyedMutex
}

// NewService builds a Service.
func NewService(store Store, clinics Clinics, notifier Notifier, opts Options) *Service {
	s := &Service{
		store: store, clinics: clinics, notifier: notifier,
		now: opts.Now, rand: opts.Rand, codeTTL: opts.CodeTTL, maxTries: opts.MaxAttempts,
		qrTTL: opts.CardCodeTTL, batch: opts.BurnBatch, people: opts.People, managers: opts.Managers,
	}
	if s.people == nil {
		s.people = noPeople{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	s.codeKey = opts.CodeKey
	if len(s.codeKey) == 0 {
		s.codeKey = make([]byte, 32)
		_, _ = rand.Read(s.codeKey)
	}
	if s.codeTTL <= 0 {
		s.codeTTL = 10 * time.Minute
	}
	if s.maxTries <= 0 {
		s.maxTries = 10
	}
	if s.qrTTL <= 0 {
		s.qrTTL = 3 * time.Minute
	}
	if s.batch <= 0 {
		s.batch = 500
	}
	return s
}

func (s *Service) clock() time.Time { return s.now().UTC() }

// keyedMutex is a set of mutexes by key, freed when unused.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
