package app

import (
	"context"
	"html/template"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	qrcode "github.com/skip2/go-qrcode"

	"carewallet/referrals"
	"carewallet/wallet"
)

var errReferralsOff = &apiError{Status: 503, Code: "referrals_unavailable", Message: "referrals are not configured"}

func (s *server) referralsOn() error {
	if s.Referrals == nil {
		return errReferralsOff
	}
	return nil
}

// referralLink is the public address of a code's page.
func (s *server) referralLink(code string) string {
	return strings.TrimRight(s.PublicURL, "/") + "/r/" + url.PathEscape(code)
}

// ---- managers: the program ----

func (s *server) getReferralProgram() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.referralsOn(); err != nil {
			return err
		}
		p, err := s.Referrals.Program(c.UserContext(), principal(c).ClinicID)
		if err != nil {
			return err
		}
		return c.JSON(p)
	}
}

// putReferralProgram stores a new version of the clinic's referral
// program; it applies to receipts from now on.
func (s *server) putReferralProgram() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.referralsOn(); err != nil {
			return err
		}
		var req referrals.ProgramRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := principal(c)
		out, err := s.Referrals.PutProgram(c.UserContext(), p.ClinicID, p.ID, req)
		if err != nil {
			return err
		}
		return c.JSON(out)
	}
}

// ---- patients ----

// referralResponse is GET /v1/cards/{id}/referral.
type referralResponse struct {
	Code  string          `json:"code"`
	Link  string          `json:"link"`
	QRURL string          `json:"qr_url"`
	Stats referrals.Stats `json:"stats"`
}

func (s *server) cardReferral() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.referralsOn(); err != nil {
			return err
		}
		r, err := s.Referrals.CardReferral(c.UserContext(), principal(c).ID, c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(referralResponse{Code: r.Code, Link: s.referralLink(r.Code),
			QRURL: strings.TrimRight(s.PublicURL, "/") + "/v1/cards/" + url.PathEscape(r.CardID) + "/referral/qr.png", Stats: r.Stats})
	}
}

// cardReferralQR is the card's referral link as a QR image.
func (s *server) cardReferralQR() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.referralsOn(); err != nil {
			return err
		}
		code, err := s.Referrals.CardCode(c.UserContext(), principal(c).ID, c.Params("id"))
		if err != nil {
			return err
		}
		png, err := qrcode.Encode(s.referralLink(code.Code), qrcode.Medium, 256)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "private, max-age=3600")
		c.Type("png")
		return c.Send(png)
	}
}

func (s *server) cardFriends() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.referralsOn(); err != nil {
			return err
		}
		after, limit, err := pageParams(c)
		if err != nil {
			return err
		}
		page, err := s.Referrals.Friends(c.UserContext(), principal(c).ID, c.Params("id"), after, limit)
		if err != nil {
			return err
		}
		return c.JSON(page)
	}
}

type referralCodeRequest struct {
	Code string `json:"code" api:"required"`
}

// joinWithCode joins the code's clinic under its owner.
func (s *server) joinWithCode() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.referralsOn(); err != nil {
			return err
		}
		var req referralCodeRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.Code == "" {
			return &apiError{Status: 400, Code: "invalid_input", Message: "code: required", Field: "code"}
		}
		res, err := s.Referrals.Join(c.UserContext(), principal(c).ID, "", req.Code)
		if err != nil {
			return err
		}
		return c.Status(201).JSON(res)
	}
}

// joinClinicWithCode is POST /v1/me/cards with a referral_code.
func (s *server) joinClinicWithCode(c *fiber.Ctx, clinicID, code string) error {
	if err := s.referralsOn(); err != nil {
		return err
	}
	ctx := c.UserContext()
	res, err := s.Referrals.Join(ctx, principal(c).ID, clinicID, code)
	if err != nil {
		return err
	}
	v, err := s.Wallet.Card(ctx, principal(c).ID, res.CardID)
	if err != nil {
		return err
	}
	return s.joined(c, v)
}

// ---- managers: held referrals ----

type decisionRequest struct {
	Reason string `json:"reason" api:"required"`
}

func (s *server) decideReferral(approve bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.referralsOn(); err != nil {
			return err
		}
		var req decisionRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := principal(c)
		d, err := s.Referrals.Decide(c.UserContext(), p.ClinicID, p.ID, c.Params("id"), approve, req.Reason)
		if err != nil {
			return err
		}
		return c.JSON(d)
	}
}

// ---- receipts: rewards at once ----

// referralFact hands a receipt's or refund's ledger entry to the referrals
// at once, so rewards arrive with the receipt. It never fails the
// request: the reward job follows the same entries and pays whatever this
// could not.
func (s *server) referralFact(ctx context.Context, e *wallet.Entry) {
	if s.Referrals == nil || e == nil {
		return
	}
	wf, ok := wallet.FactOf(e)
	if !ok {
		return
	}
	f, ok := referralFact(wf)
	if !ok {
		return
	}
	if err := s.Referrals.HandleFact(ctx, &f, nil); err != nil {
		s.Logger.Warn("referral rewards deferred to the job", "err", err)
	}
}

// ---- the public page of a code ----

var referralPage = template.Must(template.New("r").Parse(`<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Clinic}}: код приглашения / invitation code</title>
<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:2em auto;padding:0 1em;line-height:1.5}
.code{font-size:3em;font-weight:bold;letter-spacing:.15em;font-family:monospace;margin:.3em 0}</style></head>
<body>
<h1>{{.Clinic}}</h1>
{{if .Name}}<p>{{.Name}} приглашает вас в {{.Clinic}}.<br>{{.Name}} invites you to {{.Clinic}}.</p>{{end}}
<p>Ваш код приглашения / Your invitation code:</p>
<p class="code">{{.Code}}</p>
<h2>Как получить бонус / How to get your bonus</h2>
<ol>
<li>Установите приложение CareWallet из App Store или Google Play. / Install the CareWallet app from the App Store or Google Play.</li>
<li>Войдите по номеру телефона. / Sign in with your phone number.</li>
<li>Нажмите «У меня есть код» и введите код выше. / Tap "I have a code" and enter the code above.</li>
</ol>
</body></html>
`))

// referralPageHandler serves /r/{code}: the clinic's name, the code in
// large type and how to get the app; no script, and of the referrer only
// their first name.
func (s *server) referralPageHandler() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.referralsOn(); err != nil {
			return err
		}
		ctx := c.UserContext()
		info, err := s.Referrals.PublicCode(ctx, c.Params("code"))
		if err != nil {
			return err
		}
		clinic, err := s.Identity.Clinic(ctx, info.ClinicID)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
		c.Type("html", "utf-8")
		return referralPage.Execute(c.Response().BodyWriter(), map[string]string{"Clinic": clinic.Name, "Name": info.FirstName, "Code": info.Code})
	}
}
