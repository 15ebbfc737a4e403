package wallet

import "context"

func (s *SQLiteStore) UnconfirmedCards(ctx context.Context, clinicID string) ([]Card, error) {
	return s.cards(ctx, `SELECT `+cardCols+` FROM wallet_cards WHERE clinic_id = ? AND status = 'unconfirmed' ORDER BY created, id`, clinicID)
}
