package app

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/identity"
)

const principalKey = "carewallet.principal"

var (
	errUnauthenticated = &apiError{Status: 401, Code: "unauthenticated", Message: "a valid access token is required"}
	errForbidden       = &apiError{Status: 403, Code: "forbidden", Message: "not allowed for this account"}
)

// authenticate returns the middleware that enforces a route's access, or
// nil for public routes. The session is checked on every request, so a
// logout or a detected refresh-token reuse ends access at once, not when
// the access token expires.
func (s *server) authenticate(a access) fiber.Handler {
	if a == public || a == ownAuth {
		return nil
	}
	return func(c *fiber.Ctx) error {
		p, err := s.principalFromRequest(c)
		if err != nil {
			return err
		}
		if !allowed(a, p) {
			return errForbidden
		}
		c.Locals(principalKey, p)
		return c.Next()
	}
}

// principalFromRequest verifies the bearer access token and its session;
// for staff it also reads the staff record, so a disabled account stops
// at once and a changed role applies to the next request, whatever the
// token says.
func (s *server) principalFromRequest(c *fiber.Ctx) (Principal, error) {
	h := c.Get(fiber.HeaderAuthorization)
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || raw == "" {
		return Principal{}, errUnauthenticated
	}
	cl, err := s.Tokens.verify(strings.TrimSpace(raw), typeAccess)
	if err != nil {
		return Principal{}, errUnauthenticated
	}
	if _, err := s.Identity.ActiveSession(c.UserContext(), cl.Session); err != nil {
		if errors.Is(err, identity.ErrSessionRevoked) {
			return Principal{}, errUnauthenticated
		}
		return Principal{}, err
	}
	p := cl.principal()
	if p.Kind == identity.KindStaff {
		st, err := s.Identity.Staff(c.UserContext(), p.ID)
		if errors.Is(err, identity.ErrNotFound) {
			return Principal{}, errUnauthenticated
		}
		if err != nil {
			return Principal{}, err
		}
		if st.Disabled() || st.ClinicID != p.ClinicID {
			return Principal{}, errUnauthenticated
		}
		p.Role = st.Role
	}
	return p, nil
}

func allowed(a access, p Principal) bool {
	switch a {
	case anyUser:
		return true
	case patientOnly:
		return p.Kind == identity.KindPatient
	case staffOnly:
		return p.Kind == identity.KindStaff
	case managerOnly:
		return p.Kind == identity.KindStaff && p.Role == identity.RoleManager
	}
	return false
}

// principal is the authenticated caller; only valid behind authenticate.
func principal(c *fiber.Ctx) Principal {
	p, _ := c.Locals(principalKey).(Principal)
	return p
}
