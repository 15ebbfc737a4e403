package wallet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Deleting a patient (DELETE /v1/me): identity erases the person; the
// wallet keeps every clinic's ledger whole. Each of the patient's own
// cards becomes a "deleted patient" card (status deleted: nothing moves on
// it again) and its balance is forfeited by an entry of its own (kind
// forfeit, key "forfeit": once per card, however often the deletion is
// retried). The patient's guardianships end: the dependants' cards go to
// their other guardians. A dependant with no other guardian at a clinic
// stops the deletion before anything changes (ErrSoleGuardian): hand the
// card over or have it removed first.

// StatusDeleted is the status of a deleted patient's card.
const StatusDeleted = "deleted"

// ErrSoleGuardian refuses deleting an account that is the only guardian
// of a dependant's card.
var ErrSoleGuardian = errors.New("wallet: the account is the only guardian of a dependant's card")

// ErasureStore is what deleting a patient needs beyond the other stores.
type ErasureStore interface {
	// CloseCard sets the card's status to deleted (plain update).
	CloseCard(ctx context.Context, id string) error
	// DeleteGuardianships removes a guardian's list of dependants.
	DeleteGuardianships(ctx context.Context, guardianID string) error
}

// soleGuardianCards lists the dependants' cards only this patient holds.
func (s *Service) soleGuardianCards(ctx context.Context, patientID string) ([]string, error) {
	grants, err := s.store.GrantsOf(ctx, patientID)
	if err != nil {
		return nil, fmt.Errorf("wallet: grants: %w", err)
	}
	var out []string
	for _, g := range grants {
		all, err := s.store.GrantsFor(ctx, g.ClinicID, g.DependantID)
		if err != nil {
			return nil, fmt.Errorf("wallet: guardians: %w", err)
		}
		if len(all) > 1 {
			continue
		}
		cards, err := s.store.CardsByHolder(ctx, g.ClinicID, Holder{Kind: HolderDependant, DependantID: g.DependantID}.key())
		if err != nil {
			return nil, fmt.Errorf("wallet: cards of holder: %w", err)
		}
		for _, c := range cards {
			if c.Status != StatusDeleted {
				out = append(out, c.ID)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// CheckErasable refuses (ErrSoleGuardian) when the patient is the only
// guardian of a dependant's card; the message lists the cards.
func (s *Service) CheckErasable(ctx context.Context, patientID string) error {
	ids, err := s.soleGuardianCards(ctx, patientID)
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		return refused(ErrSoleGuardian, "you are the only guardian of the card(s) %s: hand each over to the dependant "+
			"(POST /v1/cards/{id}/handover) or ask the clinic to add another guardian, then delete the account", strings.Join(ids, ", "))
	}
	return nil
}

// ErasePatient applies a patient's deletion to the wallet (see above). It
// is idempotent: a retry after a crash finishes the work and forfeits
// nothing twice.
func (s *Service) ErasePatient(ctx context.Context, patientID string) error {
	if patientID == "" {
		return invalid("patient_id", "required")
	}
	if err := s.CheckErasable(ctx, patientID); err != nil {
		return err
	}
	st, ok := s.store.(ErasureStore)
	if !ok {
		return fmt.Errorf("wallet: erase: the store cannot erase")
	}
	grants, err := s.store.GrantsOf(ctx, patientID)
	if err != nil {
		return fmt.Errorf("wallet: grants: %w", err)
	}
	for _, g := range grants {
		others, err := s.store.GrantsFor(ctx, g.ClinicID, g.DependantID)
		if err != nil {
			return fmt.Errorf("wallet: guardians: %w", err)
		}
		holders, next := map[string]bool{}, ""
		for _, o := range others {
			if o.GuardianID != patientID {
				holders[o.GuardianID] = true
				if next == "" {
					next = o.GuardianID
				}
			}
		}
		if next != "" {
			c := &Card{ClinicID: g.ClinicID, Holder: Holder{Kind: HolderDependant, DependantID: g.DependantID}}
			if err := s.moveCodes(ctx, c, holders, next); err != nil {
				return err
			}
		}
		if err := s.store.DeleteGrant(ctx, g.ClinicID, g.DependantID, patientID); err != nil {
			return fmt.Errorf("wallet: erase: %w", err)
		}
	}
	consents, err := s.store.ConsentsBy(ctx, patientID)
	if err != nil {
		return fmt.Errorf("wallet: consents: %w", err)
	}
	for _, x := range consents {
		if x.ClosedAt == nil {
			if err := s.store.CloseConsent(ctx, x.ID, s.clock()); err != nil {
				return fmt.Errorf("wallet: close consent: %w", err)
			}
		}
	}
	if err := st.DeleteGuardianships(ctx, patientID); err != nil {
		return fmt.Errorf("wallet: erase: %w", err)
	}
	cards, err := s.store.CardsByPatient(ctx, []string{patientID})
	if err != nil {
		return fmt.Errorf("wallet: cards: %w", err)
	}
	for i := range cards {
		c := &cards[i]
		if c.Holder.Kind != HolderSelf || c.Holder.PatientID != patientID {
			continue
		}
		// Closed first, so no operation credits the card after the forfeit.
		if err := st.CloseCard(ctx, c.ID); err != nil {
			return fmt.Errorf("wallet: close card %s: %w", c.ID, err)
		}
		if _, err := s.forfeit(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// forfeit takes the card's whole balance (every open lot, burned or not)
// in one entry with key "forfeit"; nil when there is nothing to take.
func (s *Service) forfeit(ctx context.Context, c *Card) (*Entry, error) {
	const key = "forfeit"
	fp := fingerprint([]any{"forfeit", c.ID})
	e, err := s.commit(ctx, Commit{CardID: c.ID, Key: key, Fingerprint: fp, Build: func(st *State, _ []Entry) (*Entry, error) {
		if st.Balance <= 0 {
			return nil, nil
		}
		deltas, err := takeLots(st, st.Balance, s.clock(), "", true)
		if err != nil {
			return nil, err
		}
		e := stampEntry(&Entry{Kind: KindForfeit, Amount: -st.Balance, Lots: deltas}, st, c, s.clock())
		e.Key, e.Fingerprint = key, fp
		e.Reason = "patient deleted"
		e.Details = mustJSON(map[string]any{"rule": "patient_deleted"})
		return e, nil
	}})
	if err != nil {
		return nil, fmt.Errorf("wallet: forfeit card %s: %w", c.ID, err)
	}
	return e, nil
}
