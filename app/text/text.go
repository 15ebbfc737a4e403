// Package text holds the one set of rules for the free text the service
// stores from a request: people's names, reasons, level names and the ids
// clients choose (receipt and booking numbers). Limits count characters
// (runes), never bytes, so 100 Cyrillic letters fit a 100-character name
// on every route. Control characters and the bidirectional and other
// invisible format characters (U+202A–U+202E, U+2066–U+2069, …) are
// refused: they reorder or hide text in the console, in CSV reports and on
// the lock screen.
//
// It is a leaf: it imports nothing of ours. Each check returns "" for
// good text or the problem in words, which the caller wraps in its own
// problem.Invalid with the field's name.
package text

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxName is the longest first or last name of a person, in characters:
// one limit on every route (card issue, PATCH /v1/me, dependants).
const MaxName = 100

// Name checks a person's first or last name (already trimmed): at most
// MaxName characters on one line.
func Name(v string) string { return Line(v, MaxName) }

// Line checks one line of free text (already trimmed; "" passes, the
// caller decides whether it is required): valid UTF-8, at most max
// characters, no control, line-break or invisible format characters.
func Line(v string, max int) string {
	if !utf8.ValidString(v) {
		return "must be valid UTF-8"
	}
	if n := utf8.RuneCountInString(v); n > max {
		return fmt.Sprintf("must be at most %d characters, not %d", max, n)
	}
	if i := strings.IndexFunc(v, Forbidden); i >= 0 {
		r, _ := utf8.DecodeRuneInString(v[i:])
		return fmt.Sprintf("must be one line without control or invisible formatting characters (found U+%04X)", r)
	}
	return ""
}

// ID checks an identifier a client chooses (a receipt or booking number):
// 1 to max printable characters, no spaces, nothing Line refuses.
func ID(v string, max int) string {
	if v == "" {
		return "required"
	}
	if m := Line(v, max); m != "" {
		return m
	}
	if strings.ContainsFunc(v, unicode.IsSpace) {
		return fmt.Sprintf("must be 1 to %d printable characters without spaces", max)
	}
	return ""
}

// Bidi reports the bidirectional controls that reorder how text around
// them is displayed: embeddings and overrides (U+202A–U+202E) and isolates
// (U+2066–U+2069). Every JSON string a request carries is refused with one
// of them (app's strict decoding); stored text refuses more (Forbidden).
func Bidi(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// Forbidden reports the characters stored text never holds: controls (C0,
// DEL, C1, so tab and newline too), line and paragraph separators, the
// bidirectional marks, embeddings, overrides and isolates, the byte order
// mark and the other invisible format characters except the joiners that
// emoji and some scripts need (U+200C, U+200D).
func Forbidden(r rune) bool {
	switch {
	case unicode.IsControl(r), Bidi(r), r == '\u2028', r == '\u2029':
		return true
	case r == '\u200c', r == '\u200d':
		return false
	}
	return unicode.Is(unicode.Cf, r)
}
