package identity

import "strings"

// NormalizePhone returns the E.164 form of a phone number typed by a
// person: spaces, dashes, dots and parentheses are dropped; a leading "00"
// becomes "+"; an 11-digit number starting with 8 (the Russian domestic
// trunk prefix) becomes +7. The result is "+" and 8 to 15 digits, the first
// not 0. Anything else is ErrInvalidPhone.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > 32 {
		return "", ErrInvalidPhone
	}
	var b strings.Builder
	b.Grow(16)
	plus := false
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return "", ErrInvalidPhone
		}
	}
	d := b.String()
	switch {
	case plus:
	case strings.HasPrefix(d, "00"):
		d = d[2:]
	case len(d) == 11 && d[0] == '8':
		d = "7" + d[1:]
	case len(d) == 11 && d[0] == '7':
	default:
		return "", ErrInvalidPhone
	}
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", ErrInvalidPhone
	}
	return "+" + d, nil
}
