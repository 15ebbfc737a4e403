package referrals

import (
	"context"
	"time"
)

// Store is the referrals' persistence, one small interface per concept;
// both adapters (SQLite, MongoDB) keep the same unique keys, which are
// what make concurrent writers and several instances safe without
// multi-document transactions. Inserts return an error wrapping
// errDuplicate when their unique key is taken; lookups return ErrNotFound.
type Store interface {
	ProgramStore
	CodeStore
	LinkStore
	RewardStore
	SlotStore
	DeviceStore
	PayoutStore
	// Atomic runs fn as one unit where the database can: on SQLite one
	// transaction that the other packages' stores on the same file join
	// through fn's context (storage.Atomic), so a receipt's rewards, the
	// wallet credits and the inbox events are one commit; on MongoDB it
	// just calls fn, and each write stands alone, keyed, as always.
	Atomic(ctx context.Context, fn func(ctx context.Context) error) error
}

// PayoutStore keeps the staff's rewards accounts: the staff rewards are
// the records of level 0; payouts are numbered per staff member, unique
// (staff, seq) (the insert at seq+1 after checking the balance is the
// commit, so two payouts cannot both spend one balance) and unique
// (staff, key) (a replay returns the first).
type PayoutStore interface {
	StaffRewards(ctx context.Context, clinicID, staffID string) ([]Reward, error)
	InsertPayout(ctx context.Context, p *Payout) error
	Payouts(ctx context.Context, staffID string) ([]Payout, error)
	PayoutByKey(ctx context.Context, staffID, key string) (*Payout, error)
}

// Payout is cash paid to a staff member for their rewards points.
type Payout struct {
	StaffID  string    `json:"staff_id"`
	ClinicID string    `json:"clinic_id"`
	Seq      int64     `json:"seq"`
	Key      string    `json:"-"`
	Points   int64     `json:"points"`
	Note     string    `json:"note"`
	By       string    `json:"paid_by"`
	Created  time.Time `json:"created_at"`
}

// DeviceStore remembers which accounts registered which devices (the
// SHA-256 of the FCM token, never the token): unique (device, patient),
// kept after the token moves to another account, for the self-referral
// and shared-device checks.
type DeviceStore interface {
	InsertDevice(ctx context.Context, deviceHash, patientID string, at time.Time) error
	// DeviceUsers lists the patients who used any of the devices that
	// patientID used (patientID included).
	DeviceUsers(ctx context.Context, patientID string) ([]string, error)
}

// ProgramStore keeps programs: unique (clinic, version).
type ProgramStore interface {
	InsertProgram(ctx context.Context, p *Program) error
	// ProgramAt is the newest version created at or before t (zero t: the
	// newest of all).
	ProgramAt(ctx context.Context, clinicID string, t time.Time) (*Program, error)
	// ProgramClinics lists the clinics that ever set a program.
	ProgramClinics(ctx context.Context) ([]string, error)
}

// CodeStore keeps personal codes: unique code and unique owner (one code
// per card or staff member, for good).
type CodeStore interface {
	InsertCode(ctx context.Context, c *Code) error
	Code(ctx context.Context, code string) (*Code, error)
	CodeByOwner(ctx context.Context, owner string) (*Code, error)
}

// LinkStore keeps the referral tree: unique (clinic, referee), so a
// patient has one referrer per clinic; decisions on held links: unique
// link.
type LinkStore interface {
	InsertLink(ctx context.Context, l *Link) error
	Link(ctx context.Context, clinicID, refereeID string) (*Link, error)
	// Links lists the links of the listed patients at the clinic (those
	// who have one), in no particular order.
	Links(ctx context.Context, clinicID string, refereeIDs []string) ([]Link, error)
	LinkByID(ctx context.Context, id string) (*Link, error)
	// Descendants lists the links under ancestor (a patient) at any depth,
	// in (created, id) order after the cursor.
	Descendants(ctx context.Context, clinicID, ancestor string, after linkCursor, limit int) ([]Link, error)
	// JoinsSince counts the links under a referrer created at or after t.
	JoinsSince(ctx context.Context, clinicID, referrerID string, t time.Time) (int, error)
	// ClinicLinks lists a clinic's links in id order after afterID.
	ClinicLinks(ctx context.Context, clinicID, afterID string, limit int) ([]Link, error)
	// ReferrerCounts counts the patients each referrer of the clinic
	// brought directly.
	ReferrerCounts(ctx context.Context, clinicID string) ([]ReferrerCount, error)
	// Depths maps the listed patients who have a link at the clinic to
	// its depth (every link of the clinic when refereeIDs is nil); a
	// patient without one came by themselves: depth 1.
	Depths(ctx context.Context, clinicID string, refereeIDs []string) (map[string]int, error)
	// HeldLinks lists the clinic's links held by a fraud check.
	HeldLinks(ctx context.Context, clinicID string) ([]Link, error)
	InsertDecision(ctx context.Context, d *Decision) error
	Decision(ctx context.Context, linkID string) (*Decision, error)
}

// RewardStore keeps what the reward job decided: a first visit per
// referee (unique (clinic, referee)), a reward per (clinic, receipt,
// level) and a claw-back per (clinic, receipt, level, refund).
type RewardStore interface {
	InsertVisit(ctx context.Context, v *Visit) error
	Visit(ctx context.Context, clinicID, refereeID string) (*Visit, error)
	InsertReward(ctx context.Context, r *Reward) error
	Reward(ctx context.Context, clinicID, receiptID string, level int) (*Reward, error)
	// InsertRewards inserts one receipt's new reward records together
	// where the database allows (SQLite: one transaction); a record whose
	// (clinic, receipt, level) is taken is left alone and reported false.
	InsertRewards(ctx context.Context, rs []*Reward) (inserted []bool, err error)
	// ReceiptRewards lists a receipt's reward records, by level.
	ReceiptRewards(ctx context.Context, clinicID, receiptID string) ([]Reward, error)
	// RewardsOf lists the rewards of one referee's link, or paid to one
	// beneficiary card (either filter may be empty, not both).
	RewardsByLink(ctx context.Context, linkID string) ([]Reward, error)
	RewardsByCard(ctx context.Context, cardID string) ([]Reward, error)
	ClinicRewards(ctx context.Context, clinicID string) ([]Reward, error)
	ClinicVisits(ctx context.Context, clinicID string) ([]Visit, error)
	InsertClawback(ctx context.Context, c *Clawback) error
	Clawbacks(ctx context.Context, clinicID, receiptID string, level int) ([]Clawback, error)
	// Cursor is how far the reward job has read the clinic's receipts; a
	// cache (losing it re-reads more), so a plain upsert.
	Cursor(ctx context.Context, clinicID string) (time.Time, error)
	SetCursor(ctx context.Context, clinicID string, t time.Time) error
}

// SlotStore is app/otp's windowed slots: unique (key, n).
type SlotStore interface {
	InsertSlot(ctx context.Context, key string, n int, at time.Time) error
	Slots(ctx context.Context, key string) (int, error)
}

// Code is a personal referral code. Owner is "card:{id}" for a patient's
// own card or "staff:{id}" for a staff member.
type Code struct {
	Code      string    `json:"code"`
	ClinicID  string    `json:"clinic_id"`
	Owner     string    `json:"owner"`
	CardID    string    `json:"card_id,omitempty"`
	PatientID string    `json:"patient_id,omitempty"`
	StaffID   string    `json:"staff_id,omitempty"`
	Created   time.Time `json:"created_at"`
}

// Link is a patient's place in a clinic's tree: who brought them (a
// patient's card, or a staff member's code), at which depth (1 = came by
// themselves, so a referee of such a patient is 2), and what the fraud
// checks found when they joined.
type Link struct {
	ID           string `json:"id"`
	ClinicID     string `json:"clinic_id"`
	RefereeID    string `json:"referee_id"`
	ReferrerID   string `json:"referrer_id,omitempty"`
	ReferrerCard string `json:"referrer_card,omitempty"`
	StaffID      string `json:"staff_id,omitempty"`
	Code         string `json:"code"`
	Depth        int    `json:"depth"`
	// Ancestors are the referrers above, nearest first (at most
	// maxAncestors): what lists a card's friends at every depth.
	Ancestors []string  `json:"ancestors"`
	Held      bool      `json:"held"`
	Checks    []Check   `json:"checks"`
	Created   time.Time `json:"created_at"`
}

// ReferrerCount is how many patients one referrer brought directly.
type ReferrerCount struct {
	ReferrerID string
	CardID     string
	Friends    int64
}

// maxAncestors bounds the ancestors a link keeps.
const maxAncestors = 16

// Check is a fraud check that fired on a link, with its reason.
type Check struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// Decision is a manager's approval or rejection of a held link.
type Decision struct {
	LinkID   string    `json:"link_id"`
	ClinicID string    `json:"clinic_id"`
	Approved bool      `json:"approved"`
	Reason   string    `json:"reason"`
	StaffID  string    `json:"staff_id"`
	Created  time.Time `json:"created_at"`
}

// Visit is a referee's first rewarded receipt.
type Visit struct {
	ClinicID  string    `json:"clinic_id"`
	RefereeID string    `json:"referee_id"`
	ReceiptID string    `json:"receipt_id"`
	Created   time.Time `json:"created_at"`
}

// Reward statuses.
const (
	RewardCredited = "credited" // paid (or being paid) into the card
	RewardHeld     = "held"     // waits for a manager
	RewardCapped   = "capped"   // over max_rewarded_per_month: not paid
	RewardRejected = "rejected" // a manager rejected the referral
)

// StaffLevel is the level of a staff enrolment reward.
const StaffLevel = 0

// Reward is one beneficiary's reward on one receipt: unique (clinic,
// receipt, level); level 0 is the enrolling staff member.
type Reward struct {
	ClinicID           string    `json:"clinic_id"`
	ReceiptID          string    `json:"receipt_id"`
	Level              int       `json:"level"`
	LinkID             string    `json:"link_id,omitempty"`
	RefereeID          string    `json:"referee_id"`
	RefereeCard        string    `json:"referee_card"`
	BeneficiaryCard    string    `json:"beneficiary_card,omitempty"`
	BeneficiaryPatient string    `json:"beneficiary_patient,omitempty"`
	StaffID            string    `json:"staff_id,omitempty"`
	Terms              Terms     `json:"terms"`
	Paid               int64     `json:"paid"`
	Points             int64     `json:"points"`
	Status             string    `json:"status"`
	ProgramVersion     int64     `json:"program_version"`
	BurnDays           int       `json:"burn_days"`
	Created            time.Time `json:"created_at"`
}

// Key is the wallet idempotency key of the reward's credit.
func (r *Reward) Key() string { return rewardKey(r.ReceiptID, r.Level) }

func rewardKey(receiptID string, level int) string {
	if level == StaffLevel {
		return "staff:" + receiptID
	}
	return "ref:" + receiptID + ":" + itoa(level)
}

// Clawback is what one refund took back of one reward: unique (clinic,
// receipt, level, refund). Before is the money refunds before it had
// already taken off the receipt.
type Clawback struct {
	ClinicID  string    `json:"clinic_id"`
	ReceiptID string    `json:"receipt_id"`
	Level     int       `json:"level"`
	RefundKey string    `json:"refund_key"`
	Before    int64     `json:"before"`
	Reduced   int64     `json:"reduced"`
	Points    int64     `json:"points"`
	Created   time.Time `json:"created_at"`
}

// Key is the wallet idempotency key of the claw-back's entry.
func (c *Clawback) Key() string { return rewardKey(c.ReceiptID, c.Level) + ":back:" + c.RefundKey }

// linkCursor orders links by (created, id).
type linkCursor struct {
	Created time.Time
	ID      string
}
