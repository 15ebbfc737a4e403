package referrals

import (
	"crypto/rand"
	"fmt"
	"io"
	"strings"
)

// CodeAlphabet is the characters of a referral code: digits and capital
// letters without 0/O and 1/I, so a code read aloud or from a poster is
// never ambiguous. 32 characters: one per 5 random bits.
const CodeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// CodeLength is the length of a code: 32^7 ≈ 3.4·10^10 codes, so with at
// most 10 wrong tries per patient per hour guessing one is hopeless.
const CodeLength = 7

// newCode draws a code from r.
func newCode(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [CodeLength]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("referrals: random code: %w", err)
	}
	for i := range b {
		b[i] = CodeAlphabet[b[i]&31]
	}
	return string(b[:]), nil
}

// NormalizeCode turns what a person typed into a code: case, spaces and
// dashes do not matter. ok is false when it cannot be a code.
func NormalizeCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r < 128 && strings.IndexByte(CodeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != CodeLength {
		return "", false
	}
	return b.String(), true
}
