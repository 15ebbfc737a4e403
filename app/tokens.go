package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"carewallet/app/identity"
)

// Token settings. Access tokens are short; a refresh token's life is
// bounded too, and each use rotates it.
const (
	AccessTTL  = 15 * time.Minute
	RefreshTTL = 30 * 24 * time.Hour
	issuer     = "carewallet"
	audience   = "carewallet-api"
)

// Token types, in the "token_type" claim; a token is accepted only where
// its type is expected.
const (
	typeAccess  = "access"
	typeRefresh = "refresh"
)

var errBadToken = errors.New("invalid token")

// claims are carewallet's JWT claims.
type claims struct {
	jwt.RegisteredClaims
	TokenType string `json:"token_type"`
	Kind      string `json:"kind"` // identity.KindPatient or identity.KindStaff
	Role      string `json:"role,omitempty"`
	Clinic    string `json:"clinic,omitempty"`
	Session   string `json:"sid"`
}

// Tokens signs and verifies JWTs with one HMAC-SHA256 key. The algorithm,
// issuer, audience, expiry and type are all pinned on verification.
type Tokens struct {
	key    []byte
	now    func() time.Time
	parser *jwt.Parser
}

// NewTokens returns a signer/verifier; key must be at least 32 bytes.
func NewTokens(key []byte, now func() time.Time) (*Tokens, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("JWT key must be at least 32 bytes, got %d", len(key))
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{
		key: key,
		now: now,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(5*time.Second),
			jwt.WithTimeFunc(now),
		),
	}, nil
}

// Principal is who is calling, from a verified access token.
type Principal struct {
	Kind      string // identity.KindPatient or identity.KindStaff
	ID        string // patient or staff id
	ClinicID  string // staff only
	Role      identity.Role
	SessionID string
}

func (t *Tokens) sign(p Principal, typ, jti string, ttl time.Duration) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(ttl)
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   p.ID,
			Audience:  jwt.ClaimStrings{audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        jti,
		},
		TokenType: typ,
		Kind:      p.Kind,
		Role:      string(p.Role),
		Clinic:    p.ClinicID,
		Session:   p.SessionID,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.key)
	return s, exp, err
}

// verify parses a token and checks it is of the wanted type.
func (t *Tokens) verify(raw, wantType string) (*claims, error) {
	var c claims
	tok, err := t.parser.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return t.key, nil })
	if err != nil || !tok.Valid {
		return nil, errBadToken
	}
	if c.TokenType != wantType || c.Subject == "" || c.Session == "" {
		return nil, errBadToken
	}
	switch c.Kind {
	case identity.KindPatient:
	case identity.KindStaff:
		if c.Clinic == "" || !identity.Role(c.Role).Valid() {
			return nil, errBadToken
		}
	default:
		return nil, errBadToken
	}
	return &c, nil
}

func (c *claims) principal() Principal {
	return Principal{Kind: c.Kind, ID: c.Subject, ClinicID: c.Clinic, Role: identity.Role(c.Role), SessionID: c.Session}
}

// tokenResponse is what every sign-in and refresh returns.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	// RefreshToken is left out when it went into the console's cookie.
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// issuePair signs an access token and the given refresh token.
func (t *Tokens) issuePair(p Principal, refreshID string) (tokenResponse, error) {
	access, _, err := t.sign(p, typeAccess, identity.NewID("at"), AccessTTL)
	if err != nil {
		return tokenResponse{}, err
	}
	refresh, _, err := t.sign(p, typeRefresh, refreshID, RefreshTTL)
	if err != nil {
		return tokenResponse{}, err
	}
	return tokenResponse{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", ExpiresIn: int(AccessTTL.Seconds())}, nil
}

func sessionPrincipal(se identity.Session) Principal {
	return Principal{Kind: se.Kind, ID: se.SubjectID, ClinicID: se.ClinicID, Role: se.Role, SessionID: se.ID}
}
