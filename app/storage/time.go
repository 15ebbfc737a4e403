package storage

import "time"

// Every store keeps an instant the same way on both databases: Unix
// nanoseconds (UTC) in an INTEGER column or an int64 field. One encoding
// means one set of comparisons, exact round trips (no truncation to the
// millisecond of a BSON date) and data that reads the same whichever
// adapter wrote it. The range is 1678-09-21 to 2262-04-11; the zero
// time.Time is stored as 0 (time.Time{}.UnixNano() is not representable),
// so "not set" columns default to 0.

// Nanos encodes t for storage: Unix nanoseconds, 0 for the zero time.
func Nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromNanos decodes a stored instant: UTC, the zero time for 0.
func FromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
