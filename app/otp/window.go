package otp

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Limit is at most Max events per Per. A Max of zero or less is no limit.
type Limit struct {
	Max int
	Per time.Duration
}

// SlotStore is the primitive behind windowed limits: numbered slots per
// key, each taken once by unique insert of (key, n).
type SlotStore interface {
	// Slots is how many slots of key are taken.
	Slots(ctx context.Context, key string) (int, error)
	// InsertSlot takes slot n of key; ErrTaken when it is taken.
	InsertSlot(ctx context.Context, key string, n int, at time.Time) error
}

// Refusal says which limit was full and how long until its window ends.
// The zero Refusal means the event was counted.
type Refusal struct {
	Limit      Limit
	RetryAfter time.Duration
}

// Refused reports whether the event was refused.
func (r Refusal) Refused() bool { return r.RetryAfter > 0 }

// Take counts one event of key against each limit, in fixed windows
// aligned to the Unix epoch (a window of Per starting at a multiple of
// Per), by taking the next free slot n ≤ Max of that window: on any number
// of instances, no window ever counts more than Max events. Limits are
// taken in order and the first full one refuses, so put the shortest
// window first: an event refused there costs nothing in the longer ones,
// and the longer windows count only the events that got through, which
// makes the wait grow with them (5 a minute, then 10 in 15 minutes, ...).
// An event refused by a later limit keeps the earlier slots it took.
func Take(ctx context.Context, st SlotStore, key string, now time.Time, limits ...Limit) (Refusal, error) {
	for _, l := range limits {
		if l.Max <= 0 || l.Per <= 0 {
			continue
		}
		// Truncate counts from the zero time, which lies a whole number of
		// days before the Unix epoch: windows that divide a day are aligned.
		start := now.Truncate(l.Per)
		wkey := windowKey(key, l, start)
		ok, err := takeSlot(ctx, st, wkey, l.Max, now)
		if err != nil {
			return Refusal{}, err
		}
		if !ok {
			return Refusal{Limit: l, RetryAfter: max(start.Add(l.Per).Sub(now), time.Second)}, nil
		}
	}
	return Refusal{}, nil
}

func takeSlot(ctx context.Context, st SlotStore, key string, limit int, now time.Time) (bool, error) {
	n, err := st.Slots(ctx, key)
	if err != nil {
		return false, fmt.Errorf("otp: slots: %w", err)
	}
	for n++; n <= limit; n++ {
		err := st.InsertSlot(ctx, key, n, now)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, ErrTaken) {
			return false, fmt.Errorf("otp: slot: %w", err)
		}
	}
	return false, nil
}

// Full reports, without counting anything, whether an event of key would
// be refused by one of the limits now: a check made before the work, so a
// caller can refuse even a right answer once its wrong ones filled a
// window (Take counts only the wrong ones).
func Full(ctx context.Context, st SlotStore, key string, now time.Time, limits ...Limit) (Refusal, error) {
	for _, l := range limits {
		if l.Max <= 0 || l.Per <= 0 {
			continue
		}
		start := now.Truncate(l.Per)
		n, err := st.Slots(ctx, windowKey(key, l, start))
		if err != nil {
			return Refusal{}, fmt.Errorf("otp: slots: %w", err)
		}
		if n >= l.Max {
			return Refusal{Limit: l, RetryAfter: max(start.Add(l.Per).Sub(now), time.Second)}, nil
		}
	}
	return Refusal{}, nil
}

// windowKey names the slots of key's window of l starting at start.
func windowKey(key string, l Limit, start time.Time) string {
	return key + "@" + strconv.FormatInt(int64(l.Per/time.Second), 10) + "s:" + strconv.FormatInt(start.Unix(), 10)
}
