package wallet

import (
	"context"
	"errors"
	"fmt"
)

// AwardResult is one award of AwardAll: its entry (Replayed when the key
// was already posted) or the reason it was refused.
type AwardResult struct {
	Entry *Entry
	Err   error
}

// AwardAll posts several awards, each once per its key, with the rules of
// Award, committing the new ones together: one write transaction on
// SQLite (the ledger's commitAll), so a receipt's three referral rewards
// cost one commit instead of three. A refused award (invalid, card not
// active, not found) is reported in its result and does not stop the
// others; any other error fails the call, and a retry posts what is
// missing and nothing twice.
func (s *Service) AwardAll(ctx context.Context, rs []AwardRequest) ([]AwardResult, error) {
	out := make([]AwardResult, len(rs))
	var cs []Commit
	var at []int // out index of cs[i]
	programs := map[string]*Program{}
	for i, r := range rs {
		c, e, err := s.awardCommit(ctx, r, programs)
		switch {
		case err != nil && (isDomainErr(err) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrCardNotActive)):
			out[i].Err = err
		case err != nil:
			return nil, err
		case e != nil:
			out[i].Entry = e
		default:
			cs, at = append(cs, c), append(at, i)
		}
	}
	if len(cs) == 0 {
		return out, nil
	}
	cards := make([]string, 0, len(cs))
	for _, c := range cs {
		cards = append(cards, c.CardID)
	}
	defer s.lockCards(ctx, cards...)()
	res, err := commitAll(ctx, s.store, cs)
	if err != nil {
		return nil, fmt.Errorf("wallet: awards: %w", err)
	}
	for j, r := range res {
		out[at[j]] = AwardResult(r)
		if r.Err != nil {
			out[at[j]].Err = fmt.Errorf("wallet: award %s: %w", rs[at[j]].Key, r.Err)
		}
	}
	return out, nil
}
