// Package identitytest has test doubles for identity's outside world.
package identitytest

import (
	"context"
	"regexp"
	"sync"
	"testing"
)

// SMS is an identity.SMS that keeps every text, so tests can read the
// sign-in codes the service sent.
type SMS struct {
	mu   sync.Mutex
	sent map[string][]string
}

// Send records the text.
func (s *SMS) Send(_ context.Context, phone, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent == nil {
		s.sent = map[string][]string{}
	}
	s.sent[phone] = append(s.sent[phone], text)
	return nil
}

var code = regexp.MustCompile(`\b\d{6}\b`)

// LastCode is the 6-digit code in the latest text to phone (E.164).
func (s *SMS) LastCode(t testing.TB, phone string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs := s.sent[phone]
	if len(msgs) == 0 {
		t.Fatalf("no SMS to %s", phone)
	}
	c := code.FindString(msgs[len(msgs)-1])
	if c == "" {
		t.Fatalf("no code in %q", msgs[len(msgs)-1])
	}
	return c
}

// Count is how many texts were sent, to any phone.
func (s *SMS) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, msgs := range s.sent {
		n += len(msgs)
	}
	return n
}

// Last is the latest text sent to phone ("" if none).
func (s *SMS) Last(phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs := s.sent[phone]
	if len(msgs) == 0 {
		return ""
	}
	return msgs[len(msgs)-1]
}
