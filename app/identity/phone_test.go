package identity

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"+7 (999) 123-45-67", "+79991234567", false},
		{"89991234567", "+79991234567", false},
		{"79991234567", "+79991234567", false},
		{"0044 20 7946 0958", "+442079460958", false},
		{"+1.415.555.2671", "+14155552671", false},
		{"  +49 30 1234567 ", "+49301234567", false},
		{"", "", true},
		{"+", "", true},
		{"12345", "", true},
		{"9991234567", "", true}, // no country code
		{"+0 999 1234567", "", true},
		{"+7999123456712345", "", true}, // 16 digits
		{"+7 999 12a 45 67", "", true},
		{"+7+9991234567", "", true},
		{"+7999\n1234567", "", true},
	}
	for _, tt := range tests {
		got, err := NormalizePhone(tt.in)
		if tt.err {
			if !errors.Is(err, ErrInvalidPhone) {
				t.Errorf("NormalizePhone(%q) = %q, %v; want ErrInvalidPhone", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+79991234567", "8 (999) 123-45-67", "00442079460958", "abc", "+", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizePhone(s)
		if err != nil {
			return
		}
		if got[0] != '+' || len(got) < 9 || len(got) > 16 || got[1] == '0' {
			t.Fatalf("NormalizePhone(%q) = %q: not E.164", s, got)
		}
		if strings.Trim(got[1:], "0123456789") != "" {
			t.Fatalf("NormalizePhone(%q) = %q: non-digits", s, got)
		}
		again, err := NormalizePhone(got)
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}
