package app

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/identity"
)

type otpRequest struct {
	Phone string `json:"phone" api:"required"`
}

type otpResponse struct {
	Status    string `json:"status"`
	ExpiresIn int    `json:"expires_in"`
}

func (s *server) requestCode() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req otpRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if err := s.Identity.RequestCode(c.UserContext(), s.clientIP(c), req.Phone); err != nil {
			return s.noteRefusal(c, "code request", err)
		}
		return c.Status(202).JSON(otpResponse{Status: "sent", ExpiresIn: int(identity.CodeLifetime.Seconds())})
	}
}

type verifyRequest struct {
	Phone string `json:"phone" api:"required"`
	Code  string `json:"code" api:"required"`
}

func (s *server) verifyCode() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req verifyRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p, err := s.Identity.VerifyCode(c.UserContext(), s.clientIP(c), req.Phone, req.Code)
		if err != nil {
			return s.noteRefusal(c, "code check", err)
		}
		return s.openSession(c, identity.Session{Kind: identity.KindPatient, SubjectID: p.ID}, false)
	}
}

// clientIP is the address the sign-in limits count a request against: the
// connection's, or, behind a trusted proxy (Deps.ClientIPHeader), the last
// address in that header, the one the proxy itself added (earlier ones
// are the client's to forge). Without the header the connection's
// address is used.
func (s *server) clientIP(c *fiber.Ctx) string {
	if s.ClientIPHeader == "" {
		return c.IP()
	}
	v := c.Get(s.ClientIPHeader)
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	if v = strings.TrimSpace(v); v == "" {
		return c.IP()
	}
	return v
}

// noteRefusal logs a sign-in request refused by an abuse limit, with the
// reason and how many this instance has refused for it: never the phone,
// the email or the address. It returns err.
func (s *server) noteRefusal(c *fiber.Ctx, what string, err error) error {
	if reason := identity.RefusalReason(err); reason != "" {
		s.Logger.WarnContext(c.UserContext(), "sign-in refused", "request", what, "reason", reason,
			"refused_total", s.Identity.Refused(reason))
	}
	return err
}

// openSession starts a session for a signed-in subject and answers with
// its first token pair; with cookie the refresh token goes into the
// HttpOnly cookie instead of the body.
func (s *server) openSession(c *fiber.Ctx, se identity.Session, cookie bool) error {
	se, rt, err := s.Identity.StartSession(c.UserContext(), se)
	if err != nil {
		return err
	}
	resp, err := s.Tokens.issuePair(sessionPrincipal(se), rt.ID)
	if err != nil {
		return err
	}
	return answerTokens(c, resp, cookie)
}

// answerTokens sends a token pair: the refresh token in the body, or, with
// cookie, in the HttpOnly cookie only.
func answerTokens(c *fiber.Ctx, resp tokenResponse, cookie bool) error {
	if cookie {
		setRefreshCookie(c, resp.RefreshToken)
		resp.RefreshToken = ""
	}
	return c.JSON(resp)
}

// refreshRequest names the refresh token, or (refresh_cookie: true) asks
// to use the one in the console's cookie: exactly one of the two.
type refreshRequest struct {
	RefreshToken  string `json:"refresh_token"`
	RefreshCookie bool   `json:"refresh_cookie"`
}

func (s *server) refresh() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req refreshRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		token := req.RefreshToken
		switch {
		case req.RefreshCookie && token != "":
			return &apiError{Status: 400, Code: "invalid_input", Field: "refresh_token", Message: "send either refresh_token or refresh_cookie, not both"}
		case req.RefreshCookie:
			token = c.Cookies(refreshCookieName)
		case token == "":
			return &apiError{Status: 400, Code: "invalid_input", Field: "refresh_token", Message: "refresh_token is required (or refresh_cookie: true with the sign-in cookie)"}
		}
		cl, err := s.Tokens.verify(token, typeRefresh)
		if err != nil {
			if req.RefreshCookie {
				clearRefreshCookie(c)
			}
			return &apiError{Status: 401, Code: "invalid_token", Message: "refresh token is invalid or expired"}
		}
		se, rt, err := s.Identity.Rotate(c.UserContext(), cl.ID)
		if err != nil {
			return err
		}
		if se.ID != cl.Session {
			return errors.New("refresh token's session does not match its record")
		}
		resp, err := s.Tokens.issuePair(sessionPrincipal(se), rt.ID)
		if err != nil {
			return err
		}
		return answerTokens(c, resp, req.RefreshCookie)
	}
}

func (s *server) logout() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := principal(c)
		if err := s.Identity.Logout(c.UserContext(), p.SessionID); err != nil {
			return err
		}
		// The session's devices stop receiving pushes; its open websockets
		// end at their next heartbeat.
		if s.Push != nil {
			if err := s.Push.RemoveSessionDevices(c.UserContext(), p.ID, p.SessionID); err != nil {
				return err
			}
		}
		// A console's refresh cookie goes too (the session it names is
		// already revoked; this keeps the browser tidy).
		clearRefreshCookie(c)
		return c.SendStatus(204)
	}
}
