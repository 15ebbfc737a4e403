package news

import (
	"context"
	"fmt"
)

// Deleting a patient (DELETE /v1/me): the texts of their chat messages
// are cleared (the threads and the managers' answers stay, so the clinic
// keeps its side of the conversation), and their votes are re-linked to
// an anonymous id of their own, so each poll keeps its counts and the
// unique (post, patient) key still holds, but no vote leads back to the
// person.

// ErasedText replaces the text of a deleted patient's chat messages.
const ErasedText = ""

// Eraser is what deleting a patient needs from a store.
type Eraser interface {
	// EraseAuthor clears the texts of the patient's messages and moves
	// their votes to anonID; idempotent.
	EraseAuthor(ctx context.Context, patientID, anonID string) error
	// VotesBy lists a patient's votes (the data export).
	VotesBy(ctx context.Context, patientID string) ([]Vote, error)
}

// ErasePatient applies a patient's deletion to news and chat.
func (s *Service) ErasePatient(ctx context.Context, patientID string) error {
	e, ok := s.store.(Eraser)
	if !ok {
		return fmt.Errorf("news: erase: the store cannot erase")
	}
	if err := e.EraseAuthor(ctx, patientID, newID("anon")); err != nil {
		return fmt.Errorf("news: erase: %w", err)
	}
	return nil
}

// PatientVotes lists a patient's votes (the data export).
func (s *Service) PatientVotes(ctx context.Context, patientID string) ([]Vote, error) {
	e, ok := s.store.(Eraser)
	if !ok {
		return nil, fmt.Errorf("news: votes: the store cannot list them")
	}
	return e.VotesBy(ctx, patientID)
}

// ThreadMessages is one page of a patient's thread after a seq, oldest
// first (the data export reads a thread page by page).
func (s *Service) ThreadMessages(ctx context.Context, patientID, threadID string, after int64, limit int) ([]Message, error) {
	t, err := s.patientThread(ctx, patientID, threadID)
	if err != nil {
		return nil, err
	}
	return s.store.Messages(ctx, t.ID, max(after, 0), min(max(limit, 1), maxMessagesPage))
}
