package identity

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"carewallet/app/text"
)

// Profile is a clinic's public profile as the app shows it (PUT/GET
// /v1/clinic/profile, GET /v1/clinics/{id}). Name is the clinic's name
// (the one in Clinic: setting the profile renames the clinic). LogoType
// is "" when the clinic has no logo; LogoVersion changes with every new
// logo, so a logo URL carrying it can be cached for good.
type Profile struct {
	ClinicID    string
	Name        string
	Address     string
	Phone       string
	Site        string
	Hours       string
	About       string
	LogoType    string
	LogoVersion int64
	UpdatedAt   time.Time
}

// Logo is a clinic's logo as stored.
type Logo struct {
	Type    string // image/png or image/jpeg
	Data    []byte
	Version int64
}

// ClinicCard is what a patient's card shows of its clinic: read in one
// batch for a list of cards (ClinicCards), never one call per card.
type ClinicCard struct {
	ID          string
	Name        string
	LogoVersion int64 // 0: no logo
}

// ProfileEdit is PUT /v1/clinic/profile. Logo is the decoded file: nil
// keeps the current logo, an empty slice removes it.
type ProfileEdit struct {
	Name    string
	Address string
	Phone   string
	Site    string
	Hours   string
	About   string
	Logo    []byte
}

// Profile limits, in characters.
const (
	MaxClinicName = 200
	MaxAddress    = 300
	MaxSite       = 200
	MaxHours      = 500
	MaxAbout      = 2000
	MaxLogoBytes  = 512 << 10
	MaxLogoSide   = 2048
)

// ProfileStore keeps clinic profiles, logos and join codes.
type ProfileStore interface {
	// PutProfile writes the profile (and the clinic's name); logo nil
	// keeps the stored logo, an empty one removes it. ErrNotFound: no
	// such clinic.
	PutProfile(ctx context.Context, p Profile, logo []byte) error
	// Profile is ErrNotFound when the clinic never set one.
	Profile(ctx context.Context, clinicID string) (Profile, error)
	// Logo is ErrNotFound when the clinic has none.
	Logo(ctx context.Context, clinicID string) (Logo, error)
	// ClinicCards reads the name and logo version of each clinic in ids
	// that exists, in one query.
	ClinicCards(ctx context.Context, ids []string) ([]ClinicCard, error)

	// InsertJoinCode is ErrDuplicate when the clinic has a code or the
	// code is taken: unique clinic and unique code.
	InsertJoinCode(ctx context.Context, clinicID, code string, at time.Time) error
	JoinCode(ctx context.Context, clinicID string) (string, error)
	ClinicByJoinCode(ctx context.Context, code string) (string, error)
}

// SetProfile validates and stores a clinic's public profile; bad input
// writes nothing.
func (s *Service) SetProfile(ctx context.Context, clinicID string, e ProfileEdit) (Profile, error) {
	p, err := s.checkProfile(e)
	if err != nil {
		return Profile{}, err
	}
	var logoType string
	if len(e.Logo) > 0 {
		if logoType, err = checkLogo(e.Logo); err != nil {
			return Profile{}, err
		}
	}
	if _, err := s.store.Clinic(ctx, clinicID); err != nil {
		return Profile{}, err
	}
	now := s.now().UTC()
	p.ClinicID, p.UpdatedAt = clinicID, now
	switch {
	case e.Logo == nil:
		old, err := s.store.Profile(ctx, clinicID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Profile{}, err
		}
		p.LogoType, p.LogoVersion = old.LogoType, old.LogoVersion
	case len(e.Logo) > 0:
		p.LogoType, p.LogoVersion = logoType, now.UnixNano()
	}
	if err := s.store.PutProfile(ctx, p, e.Logo); err != nil {
		return Profile{}, fmt.Errorf("identity: clinic profile: %w", err)
	}
	return p, nil
}

// ClinicProfile returns the clinic's profile; a clinic that never set one
// has its name only.
func (s *Service) ClinicProfile(ctx context.Context, clinicID string) (Profile, error) {
	p, err := s.store.Profile(ctx, clinicID)
	if errors.Is(err, ErrNotFound) {
		c, err := s.store.Clinic(ctx, clinicID)
		if err != nil {
			return Profile{}, err
		}
		return Profile{ClinicID: c.ID, Name: c.Name}, nil
	}
	return p, err
}

// ClinicLogo returns the clinic's logo (ErrNotFound when it has none).
func (s *Service) ClinicLogo(ctx context.Context, clinicID string) (Logo, error) {
	return s.store.Logo(ctx, clinicID)
}

// ClinicCards returns the name and logo version of each clinic in ids
// (unknown ids are left out), in one store read.
func (s *Service) ClinicCards(ctx context.Context, ids []string) (map[string]ClinicCard, error) {
	out := map[string]ClinicCard{}
	if len(ids) == 0 {
		return out, nil
	}
	cs, err := s.store.ClinicCards(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		out[c.ID] = c
	}
	return out, nil
}

func (s *Service) checkProfile(e ProfileEdit) (Profile, error) {
	p := Profile{Name: strings.TrimSpace(e.Name), Address: strings.TrimSpace(e.Address),
		Site: strings.TrimSpace(e.Site), Hours: strings.TrimSpace(e.Hours), About: strings.TrimSpace(e.About)}
	if p.Name == "" {
		return p, invalid("name", "required")
	}
	for _, f := range []struct {
		field, v string
		max      int
	}{{"name", p.Name, MaxClinicName}, {"address", p.Address, MaxAddress}, {"site", p.Site, MaxSite}} {
		if m := text.Line(f.v, f.max); m != "" {
			return p, invalid(f.field, m)
		}
	}
	for _, f := range []struct {
		field, v string
		max      int
	}{{"hours", p.Hours, MaxHours}, {"about", p.About, MaxAbout}} {
		if m := lines(f.v, f.max); m != "" {
			return p, invalid(f.field, m)
		}
	}
	if p.Site != "" {
		u, err := url.Parse(p.Site)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return p, invalid("site", "must be an http:// or https:// address")
		}
	}
	if e.Phone != "" {
		ph, err := NormalizePhone(e.Phone)
		if err != nil {
			return p, invalid("phone", "not a valid phone number")
		}
		p.Phone = ph
	}
	return p, nil
}

// lines checks text of several lines (hours, about): every line as
// text.Line does, at most max characters in all.
func lines(v string, max int) string {
	if n := utf8.RuneCountInString(v); n > max {
		return fmt.Sprintf("must be at most %d characters, not %d", max, n)
	}
	for l := range strings.SplitSeq(strings.ReplaceAll(v, "\r\n", "\n"), "\n") {
		if m := text.Line(l, max); m != "" {
			return m
		}
	}
	return ""
}

// checkLogo accepts a PNG or JPEG of at most MaxLogoBytes and MaxLogoSide
// pixels a side, decoded whole, so a file that only starts like an image
// is refused (the size is read from the header first, so a small file
// claiming huge dimensions allocates nothing).
func checkLogo(b []byte) (string, error) {
	if len(b) > MaxLogoBytes {
		return "", invalid("logo", fmt.Sprintf("must be at most %d bytes, not %d", MaxLogoBytes, len(b)))
	}
	var typ string
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		typ = "image/png"
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err == nil && (cfg.Width > MaxLogoSide || cfg.Height > MaxLogoSide) {
			return "", invalid("logo", fmt.Sprintf("must be at most %dx%d pixels", MaxLogoSide, MaxLogoSide))
		}
		if err == nil {
			_, err = png.Decode(bytes.NewReader(b))
		}
		if err != nil {
			return "", invalid("logo", "is not a readable PNG")
		}
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		typ = "image/jpeg"
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
		if err == nil && (cfg.Width > MaxLogoSide || cfg.Height > MaxLogoSide) {
			return "", invalid("logo", fmt.Sprintf("must be at most %dx%d pixels", MaxLogoSide, MaxLogoSide))
		}
		if err == nil {
			_, err = jpeg.Decode(bytes.NewReader(b))
		}
		if err != nil {
			return "", invalid("logo", "is not a readable JPEG")
		}
	default:
		return "", invalid("logo", "must be a PNG or JPEG")
	}
	return typ, nil
}

// JoinCodeAlphabet is the characters of a clinic's join code: the
// referral codes' alphabet (no 0/O, 1/I), so a code read from a poster at
// the desk is never ambiguous. JoinCodeLength differs from a referral
// code's, so the two are never mistaken for one another.
const (
	JoinCodeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	JoinCodeLength   = 6
)

// NormalizeJoinCode turns what a person typed into a join code: case,
// spaces and dashes do not matter. ok is false when it cannot be one.
func NormalizeJoinCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
		case r < 128 && strings.IndexByte(JoinCodeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != JoinCodeLength {
		return "", false
	}
	return b.String(), true
}

// JoinCode returns the clinic's join code, creating it on first use. The
// code is stable: unique clinic, so of two instances creating it at once
// one wins and the other reads the winner's; unique code, so a clash of
// two clinics draws again.
func (s *Service) JoinCode(ctx context.Context, clinicID string) (string, error) {
	for range 10 {
		code, err := s.store.JoinCode(ctx, clinicID)
		if err == nil {
			return code, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return "", err
		}
		if _, err := s.store.Clinic(ctx, clinicID); err != nil {
			return "", err
		}
		code, err = newJoinCode(rand.Reader)
		if err != nil {
			return "", err
		}
		err = s.store.InsertJoinCode(ctx, clinicID, code, s.now().UTC())
		if err != nil && !errors.Is(err, ErrDuplicate) {
			return "", fmt.Errorf("identity: join code: %w", err)
		}
	}
	return "", fmt.Errorf("identity: join code of %s: no free code", clinicID)
}

// ClinicByJoinCode resolves a typed join code to its clinic (ErrNotFound
// for a code that is no clinic's, or cannot be a code).
func (s *Service) ClinicByJoinCode(ctx context.Context, typed string) (Clinic, error) {
	code, ok := NormalizeJoinCode(typed)
	if !ok {
		return Clinic{}, ErrNotFound
	}
	id, err := s.store.ClinicByJoinCode(ctx, code)
	if err != nil {
		return Clinic{}, err
	}
	return s.store.Clinic(ctx, id)
}

func newJoinCode(r io.Reader) (string, error) {
	var b [JoinCodeLength]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("identity: random join code: %w", err)
	}
	for i := range b {
		b[i] = JoinCodeAlphabet[b[i]&31]
	}
	return string(b[:]), nil
}
