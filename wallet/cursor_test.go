package wallet

import (
	"strings"
	"testing"
	"time"
)

// FuzzDecodeCursor: any client-supplied ?after= either is refused with a
// validation error or decodes to values that encode back to a cursor
// decoding the same; the cursors the server makes always decode.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(time.Unix(1_800_000_000, 5), "cd_abc", 7))
	f.Add("")
	f.Add("fA")
	f.Add("MTIzfGF8Yg")
	f.Fuzz(func(t *testing.T, s string) {
		at, id, seq, err := decodeCursor(s)
		if err != nil {
			if _, ok := err.(*ValidationError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if strings.Contains(id, "|") {
			t.Fatalf("decoded an id with the separator: %q", id)
		}
		at2, id2, seq2, err := decodeCursor(encodeCursor(at, id, seq))
		if err != nil || !at2.Equal(at) || id2 != id || seq2 != seq {
			t.Fatalf("round trip of %q: %v %q %d, %v", s, at2, id2, seq2, err)
		}
	})
}

// FuzzParseDate: only real YYYY-MM-DD dates parse, and they print back
// as given.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024-02-29", "2023-02-29", "1990-5-17", "", "9999-12-31"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseDate(s)
		if ok && d.Format(time.DateOnly) != s {
			t.Fatalf("parseDate(%q) = %v", s, d)
		}
	})
}
