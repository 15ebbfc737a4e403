package wallet

import (
	"context"
	"encoding/json"
)

func (s *SQLiteStore) LegacyDependants(ctx context.Context, afterID string, limit int) ([]Dependant, error) {
	rows, err := s.w.QueryContext(ctx, `SELECT body FROM wallet_dependants WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	var out []Dependant
	for rows.Next() {
		var body string
		var d Dependant
		if err := rows.Scan(&body); err != nil {
			return nil, dbErr.Map(err)
		}
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, dbErr.Map(rows.Err())
}

func (s *SQLiteStore) DeleteLegacyDependant(ctx context.Context, id string) error {
	return s.exec(ctx, `DELETE FROM wallet_dependants WHERE id = ?`, id)
}

// DetailedCards scans the cards (once per start: after the move no card
// matches); a holder stored with details has their JSON keys.
func (s *SQLiteStore) DetailedCards(ctx context.Context, afterID string, limit int) ([]Card, error) {
	return s.cards(ctx, `SELECT `+cardCols+` FROM wallet_cards WHERE id > ? AND (birth_md != ''
		OR instr(holder, '"first_name"') > 0 OR instr(holder, '"last_name"') > 0 OR instr(holder, '"birth_date"') > 0)
		ORDER BY id LIMIT ?`, afterID, limit)
}

func (s *SQLiteStore) ForgetHolderDetails(ctx context.Context, c *Card) error {
	return s.exec(ctx, `UPDATE wallet_cards SET holder = ?, birth_md = '' WHERE id = ?`, string(mustJSON(c.Holder.stored())), c.ID)
}
