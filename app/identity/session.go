package identity

import (
	"context"
	"errors"
	"time"
)

// StartSession opens a session for a signed-in subject and returns its
// first refresh token.
func (s *Service) StartSession(ctx context.Context, se Session) (Session, RefreshToken, error) {
	se.ID = NewID("se")
	se.CreatedAt = s.now().UTC()
	se.RevokedAt = time.Time{}
	if err := s.store.InsertSession(ctx, se); err != nil {
		return Session{}, RefreshToken{}, err
	}
	t := RefreshToken{ID: NewID("rt"), SessionID: se.ID, CreatedAt: se.CreatedAt}
	if err := s.store.InsertRefreshToken(ctx, t); err != nil {
		return Session{}, RefreshToken{}, err
	}
	return se, t, nil
}

// Rotate exchanges a refresh token for its successor. A token can be
// rotated once: presenting it again (a stolen copy, or a replay) revokes
// the whole session, and the caller gets ErrTokenReused.
func (s *Service) Rotate(ctx context.Context, tokenID string) (Session, RefreshToken, error) {
	old, err := s.store.RefreshToken(ctx, tokenID)
	if errors.Is(err, ErrNotFound) {
		return Session{}, RefreshToken{}, ErrSessionRevoked
	}
	if err != nil {
		return Session{}, RefreshToken{}, err
	}
	se, err := s.ActiveSession(ctx, old.SessionID)
	if err != nil {
		return Session{}, RefreshToken{}, err
	}
	next := RefreshToken{ID: NewID("rt"), SessionID: se.ID, ParentID: old.ID, CreatedAt: s.now().UTC()}
	err = s.store.InsertRefreshToken(ctx, next)
	if errors.Is(err, ErrDuplicate) {
		if rerr := s.store.RevokeSession(ctx, se.ID, s.now().UTC()); rerr != nil {
			return Session{}, RefreshToken{}, rerr
		}
		return Session{}, RefreshToken{}, ErrTokenReused
	}
	if err != nil {
		return Session{}, RefreshToken{}, err
	}
	return se, next, nil
}

// ActiveSession returns the session unless it was revoked.
func (s *Service) ActiveSession(ctx context.Context, id string) (Session, error) {
	se, err := s.store.Session(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrSessionRevoked
	}
	if err != nil {
		return Session{}, err
	}
	if !se.Active() {
		return Session{}, ErrSessionRevoked
	}
	return se, nil
}

// Logout revokes the session; its refresh and access tokens stop working.
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	return s.store.RevokeSession(ctx, sessionID, s.now().UTC())
}
