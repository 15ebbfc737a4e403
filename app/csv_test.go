package app

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

// TestEncodeCSV: cells round-trip through an RFC 4180 reader, nothing a
// spreadsheet would run as a formula survives at the start of a cell, and
// splitting on ; (Russian Excel) finds no cell outside quotes.
func TestEncodeCSV(t *testing.T) {
	in := [][]string{
		{"kind", "reason", "points"},
		{"adjustment", "=HYPERLINK(\"http://x\")", "-500"},
		{"adjustment", "a;=1+1", "7"},
		{"adjustment", "|cmd /c calc", "0"},
		{"adjustment", "@SUM(A1)", "+5"},
		{"adjustment", "\tTAB", "1"},
		{"adjustment", "nul\x00here\x1b", "1"},
		{"adjustment", "two\nlines, \"quoted\"", "1"},
	}
	want := [][]string{
		{"kind", "reason", "points"},
		{"adjustment", "'=HYPERLINK(\"http://x\")", "-500"},
		{"adjustment", "a;=1+1", "7"},
		{"adjustment", "|cmd /c calc", "0"},
		{"adjustment", "'@SUM(A1)", "+5"}, // a plain number stays a number
		{"adjustment", "'\tTAB", "1"},
		{"adjustment", "nul\uFFFDhere\uFFFD", "1"},
		{"adjustment", "two\nlines, \"quoted\"", "1"},
	}
	out := encodeCSV(in)
	got, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("RFC 4180 reader: %v\n%s", err, out)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if strings.Join(got[i], "\x1f") != strings.Join(want[i], "\x1f") {
			t.Errorf("row %d: %q, want %q", i, got[i], want[i])
		}
	}
	// A ;-splitting reader: every field it sees outside quotes is empty
	// (the commas), so nothing can start a formula there.
	inQuotes := false
	var field strings.Builder
	for _, ch := range string(out) {
		switch {
		case ch == '"':
			inQuotes = !inQuotes
		case !inQuotes && (ch == ';' || ch == '\n'):
			field.Reset()
		case !inQuotes && ch != ',' && ch != '\r':
			field.WriteRune(ch)
			t.Fatalf("text outside quotes: %q in\n%s", field.String(), out)
		}
	}
}
