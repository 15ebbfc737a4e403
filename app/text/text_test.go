package text

import (
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"", true}, {"Анна", true}, {strings.Repeat("я", 100), true}, {strings.Repeat("я", 101), false},
		{"a\tb", false}, {"a\nb", false}, {"a\x00b", false}, {"a\x7fb", false}, {"a\u0085b", false},
		{"a\u202eb", false}, {"a\u202ab", false}, {"a\u2066b", false}, {"a\u2069b", false}, {"a\u200eb", false},
		{"a\ufeffb", false}, {"a\u2028b", false}, {"👨\u200d👩", true}, {"a\xffb", false},
	} {
		if got := Line(tc.v, 100); (got == "") != tc.ok {
			t.Errorf("Line(%q) = %q, want ok=%v", tc.v, got, tc.ok)
		}
	}
}

func TestID(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"R-1001", true}, {"", false}, {"R 1", false}, {"R\u00a01", false}, {"R-\u202e1", false}, {strings.Repeat("x", 65), false},
	} {
		if got := ID(tc.v, 64); (got == "") != tc.ok {
			t.Errorf("ID(%q) = %q, want ok=%v", tc.v, got, tc.ok)
		}
	}
}

func FuzzLine(f *testing.F) {
	f.Add("Анна\u202e")
	f.Fuzz(func(t *testing.T, v string) {
		if Line(v, 100) == "" && strings.ContainsFunc(v, Forbidden) {
			t.Fatalf("accepted %q", v)
		}
	})
}
