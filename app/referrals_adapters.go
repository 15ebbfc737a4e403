package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"carewallet/app/identity"
	"carewallet/push"
	"carewallet/referrals"
	"carewallet/wallet"
)

// ReferralWallet adapts the wallet to referrals.Wallet.
type ReferralWallet struct{ Wallet *wallet.Service }

// referralErr turns the wallet's and identity's not-found into the
// referrals' (the error table maps both the same way).
func referralErr(err error) error {
	if errors.Is(err, wallet.ErrNotFound) || errors.Is(err, identity.ErrNotFound) {
		return fmt.Errorf("%w: %w", referrals.ErrNotFound, err)
	}
	return err
}

func referralCard(f *wallet.CardFacts, err error) (*referrals.Card, error) {
	if err != nil {
		return nil, referralErr(err)
	}
	return &referrals.Card{ID: f.ID, ClinicID: f.ClinicID, PatientID: f.PatientID, Own: f.Own, Active: f.Active, Unconfirmed: f.Unconfirmed,
		IssuedBy: f.IssuedBy, Paid: f.Paid, PointValue: f.PointValue}, nil
}

// Join implements referrals.Wallet.
func (w ReferralWallet) Join(ctx context.Context, patientID, clinicID string) (string, error) {
	v, err := w.Wallet.Join(ctx, patientID, clinicID)
	if err != nil {
		return "", err
	}
	return v.ID, nil
}

// Card implements referrals.Wallet.
func (w ReferralWallet) Card(ctx context.Context, cardID string) (*referrals.Card, error) {
	return referralCard(w.Wallet.CardFacts(ctx, cardID))
}

// PatientCard implements referrals.Wallet.
func (w ReferralWallet) PatientCard(ctx context.Context, patientID, cardID string) (*referrals.Card, error) {
	return referralCard(w.Wallet.PatientCardFacts(ctx, patientID, cardID))
}

// OwnCard implements referrals.Wallet.
func (w ReferralWallet) OwnCard(ctx context.Context, clinicID, patientID string) (*referrals.Card, error) {
	return referralCard(w.Wallet.OwnCardFacts(ctx, clinicID, patientID))
}

// Credit implements referrals.Wallet.
func (w ReferralWallet) Credit(ctx context.Context, c referrals.Credit) (*referrals.Posted, error) {
	e, err := w.Wallet.Award(ctx, wallet.AwardRequest{CardID: c.CardID, Kind: c.Kind, Key: c.Key, Points: c.Points,
		BurnDays: c.BurnDays, Reason: c.Reason, Details: c.Details})
	if err != nil {
		return nil, referralErr(err)
	}
	return &referrals.Posted{Points: e.Amount, Replayed: e.Replayed}, nil
}

// CreditAll implements referrals.Wallet.
func (w ReferralWallet) CreditAll(ctx context.Context, cs []referrals.Credit) ([]referrals.CreditResult, error) {
	rs := make([]wallet.AwardRequest, len(cs))
	for i, c := range cs {
		rs[i] = wallet.AwardRequest{CardID: c.CardID, Kind: c.Kind, Key: c.Key, Points: c.Points,
			BurnDays: c.BurnDays, Reason: c.Reason, Details: c.Details}
	}
	res, err := w.Wallet.AwardAll(ctx, rs)
	if err != nil {
		return nil, referralErr(err)
	}
	out := make([]referrals.CreditResult, len(res))
	for i, r := range res {
		if r.Err != nil {
			out[i].Err = referralErr(r.Err)
			continue
		}
		out[i].Posted = &referrals.Posted{Points: r.Entry.Amount, Replayed: r.Entry.Replayed}
	}
	return out, nil
}

// Reclaim implements referrals.Wallet.
func (w ReferralWallet) Reclaim(ctx context.Context, c referrals.Credit) (*referrals.Posted, error) {
	e, err := w.Wallet.Reclaim(ctx, wallet.ReclaimRequest{CardID: c.CardID, Kind: c.Kind, Key: c.Key, Points: c.Points,
		Reason: c.Reason, Details: c.Details})
	if err != nil {
		return nil, referralErr(err)
	}
	var d wallet.ReclaimDetails
	_ = json.Unmarshal(e.Details, &d)
	return &referrals.Posted{Points: e.Amount, Uncollected: d.Uncollected, Replayed: e.Replayed}, nil
}

// Receipts implements referrals.Wallet.
func (w ReferralWallet) Receipts(ctx context.Context, clinicID string, from time.Time, after string, limit int) ([]referrals.ReceiptFact, string, error) {
	fs, next, err := w.Wallet.ReceiptFacts(ctx, clinicID, from, after, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]referrals.ReceiptFact, 0, len(fs))
	for _, f := range fs {
		if rf, ok := referralFact(f); ok {
			out = append(out, rf)
		}
	}
	return out, next, nil
}

// Cardholders implements referrals.Wallet.
func (w ReferralWallet) Cardholders(ctx context.Context, clinicID, after string, limit int) ([]referrals.Cardholder, string, error) {
	hs, next, err := w.Wallet.Cardholders(ctx, clinicID, after, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]referrals.Cardholder, len(hs))
	for i, h := range hs {
		out[i] = referrals.Cardholder{PatientID: h.PatientID, CardID: h.CardID, Paid: h.Paid}
	}
	return out, next, nil
}

func referralFact(f wallet.ReceiptFact) (referrals.ReceiptFact, bool) {
	kind := ""
	switch f.Kind {
	case wallet.KindCashback:
		kind = referrals.FactReceipt
	case wallet.KindRefund:
		kind = referrals.FactRefund
	default:
		return referrals.ReceiptFact{}, false
	}
	return referrals.ReceiptFact{Kind: kind, ClinicID: f.ClinicID, CardID: f.CardID, PatientID: f.PatientID,
		ReceiptID: f.ReceiptID, Key: f.Key, Paid: f.Paid, Reduced: f.Reduced, PointValue: f.PointValue, At: f.At}, true
}

// ReferralPeople gives referrals what identity owns.
type ReferralPeople struct{ Identity *identity.Service }

// Name implements referrals.People.
func (p ReferralPeople) Name(ctx context.Context, patientID string) (string, string, error) {
	x, err := p.Identity.Patient(ctx, patientID)
	if errors.Is(err, identity.ErrNotFound) {
		return "", "", nil
	}
	return x.FirstName, x.LastName, err
}

// SamePhone implements referrals.People.
func (p ReferralPeople) SamePhone(ctx context.Context, a, b string) (bool, error) {
	x, err := p.Identity.Patient(ctx, a)
	if err != nil {
		return false, referralErr(err)
	}
	y, err := p.Identity.Patient(ctx, b)
	if err != nil {
		return false, referralErr(err)
	}
	return x.Phone != "" && x.Phone == y.Phone, nil
}

// ClinicName implements referrals.People.
func (p ReferralPeople) ClinicName(ctx context.Context, clinicID string) (string, error) {
	c, err := p.Identity.Clinic(ctx, clinicID)
	return c.Name, referralErr(err)
}

// Location implements referrals.People.
func (p ReferralPeople) Location(ctx context.Context, clinicID string) (*time.Location, error) {
	return p.Identity.ClinicLocation(ctx, clinicID)
}

// ReferralNotifier delivers the referrals' notifications through push.
type ReferralNotifier struct{ Push *push.Service }

// Notify implements referrals.Notifier.
func (n ReferralNotifier) Notify(ctx context.Context, patientID string, note referrals.Notification) error {
	return WalletNotifier(n).Notify(ctx, patientID, wallet.Notification{Key: note.Key, Type: note.Type, Data: note.Data,
		AlertTitle: note.AlertTitle, AlertBody: note.AlertBody})
}
