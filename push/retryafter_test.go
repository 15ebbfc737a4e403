package push

import (
	"testing"
	"time"
)

// FuzzParseRetryAfter: whatever FCM (or a proxy) sends, the wait is
// between zero and an hour.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "1", "120", "Sun, 22 Nov 2026 10:01:00 UTC", "-1", "1e9"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseRetryAfter(s, now); d < 0 || d > time.Hour {
			t.Fatalf("parseRetryAfter(%q) = %v", s, d)
		}
	})
}
