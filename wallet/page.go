package wallet

// Page sizes of every list the wallet serves (a card's history, the
// journal, the cards report): one rule, here. A limit of 0 takes
// DefaultPageSize; anything outside 1..MaxPageSize is refused, never
// silently changed. The HTTP layer checks ?limit= against the same two
// constants, and the OpenAPI document states them.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// pageSize applies the rule to a requested limit.
func pageSize(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultPageSize, nil
	case limit < 0 || limit > MaxPageSize:
		return 0, invalid("limit", "must be from 1 to %d", MaxPageSize)
	}
	return limit, nil
}
