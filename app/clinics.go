package app

import (
	"context"
	"errors"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	qrcode "github.com/skip2/go-qrcode"

	"carewallet/app/identity"
	"carewallet/referrals"
	"carewallet/wallet"
)

// ---- the clinic's public profile ----

// profileRequest is PUT /v1/clinic/profile. Logo is a base64 PNG or JPEG
// (at most 512 KiB decoded); leaving it out keeps the current logo,
// remove_logo drops it.
type profileRequest struct {
	Name       string `json:"name" api:"required"`
	Address    string `json:"address"`
	Phone      string `json:"phone"`
	Site       string `json:"site"`
	Hours      string `json:"hours"`
	About      string `json:"about"`
	Logo       []byte `json:"logo,omitempty"`
	RemoveLogo bool   `json:"remove_logo,omitempty"`
}

// clinicProfile is a clinic's public profile.
type clinicProfile struct {
	ClinicID string `json:"clinic_id"`
	Name     string `json:"name"`
	Address  string `json:"address"`
	Phone    string `json:"phone"`
	Site     string `json:"site"`
	Hours    string `json:"hours"`
	About    string `json:"about"`
	// LogoURL changes with every new logo, so it may be cached for good.
	LogoURL   string     `json:"logo_url,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// logoURL is the address of a clinic's logo version ("" for no logo).
func (s *server) logoURL(clinicID string, version int64) string {
	if version == 0 {
		return ""
	}
	return strings.TrimRight(s.PublicURL, "/") + "/v1/clinics/" + url.PathEscape(clinicID) + "/logo?v=" + strconv.FormatInt(version, 10)
}

func (s *server) profileView(p identity.Profile) clinicProfile {
	v := clinicProfile{ClinicID: p.ClinicID, Name: p.Name, Address: p.Address, Phone: p.Phone, Site: p.Site,
		Hours: p.Hours, About: p.About, LogoURL: s.logoURL(p.ClinicID, p.LogoVersion)}
	if !p.UpdatedAt.IsZero() {
		at := p.UpdatedAt.UTC()
		v.UpdatedAt = &at
	}
	return v
}

func (s *server) getClinicProfile() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := s.Identity.ClinicProfile(c.UserContext(), principal(c).ClinicID)
		if err != nil {
			return err
		}
		return c.JSON(s.profileView(p))
	}
}

func (s *server) putClinicProfile() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req profileRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		e := identity.ProfileEdit{Name: req.Name, Address: req.Address, Phone: req.Phone, Site: req.Site,
			Hours: req.Hours, About: req.About, Logo: req.Logo}
		switch {
		case req.RemoveLogo && req.Logo != nil:
			return &apiError{Status: 400, Code: "invalid_input", Message: "logo: give a logo or remove_logo, not both", Field: "logo"}
		case req.RemoveLogo:
			e.Logo = []byte{}
		case req.Logo != nil && len(req.Logo) == 0:
			return &apiError{Status: 400, Code: "invalid_input", Message: "logo: is empty (remove_logo drops the logo)", Field: "logo"}
		}
		p, err := s.Identity.SetProfile(c.UserContext(), principal(c).ClinicID, e)
		if err != nil {
			return err
		}
		return c.JSON(s.profileView(p))
	}
}

// clinicLogo serves a clinic's logo to anyone (it is on the clinic's
// public page too). The URL carries the logo's version: that version is
// cached for a year; any other answer briefly.
func (s *server) clinicLogo() fiber.Handler {
	return func(c *fiber.Ctx) error {
		l, err := s.Identity.ClinicLogo(c.UserContext(), c.Params("id"))
		if err != nil {
			return err
		}
		v := strconv.FormatInt(l.Version, 10)
		if c.Query("v") == v {
			c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
		} else {
			c.Set(fiber.HeaderCacheControl, "public, max-age=300")
		}
		c.Set(fiber.HeaderETag, `"`+v+`"`)
		c.Set(fiber.HeaderContentType, l.Type)
		return c.Send(l.Data)
	}
}

// ---- the clinic as the app shows it ----

// clinicInfo is GET /v1/clinics/{id}: the profile and the program's rules
// in numbers and words.
type clinicInfo struct {
	clinicProfile
	Rules wallet.Rules `json:"rules"`
	// Referral is the refer-a-friend offer (absent when referrals are not
	// configured on this server).
	Referral *referrals.Offer `json:"referral,omitempty"`
}

// referralOffers is what the clinic page needs of the referrals: the
// program in force, which *referrals.Service answers.
type referralOffers interface {
	Program(ctx context.Context, clinicID string) (*referrals.Program, error)
}

func (s *server) clinicInfo() fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		id := c.Params("id")
		p, err := s.Identity.ClinicProfile(ctx, id)
		if err != nil {
			return err
		}
		prog, err := s.Wallet.Program(ctx, id)
		if err != nil {
			return err
		}
		out := clinicInfo{clinicProfile: s.profileView(p), Rules: wallet.Explain(prog)}
		if s.Referrals != nil {
			var offers referralOffers = s.Referrals
			rp, err := offers.Program(ctx, id)
			if err != nil {
				return err
			}
			o := referrals.OfferOf(rp)
			out.Referral = &o
		}
		return c.JSON(out)
	}
}

// ---- joining by the clinic's code ----

// joinCodeResponse is GET /v1/clinic/join-code.
type joinCodeResponse struct {
	Code  string `json:"code"`
	Link  string `json:"link"`
	QRURL string `json:"qr_url"`
}

func (s *server) joinLink(code string) string {
	return strings.TrimRight(s.PublicURL, "/") + "/j/" + url.PathEscape(code)
}

func (s *server) getJoinCode() fiber.Handler {
	return func(c *fiber.Ctx) error {
		code, err := s.Identity.JoinCode(c.UserContext(), principal(c).ClinicID)
		if err != nil {
			return err
		}
		return c.JSON(joinCodeResponse{Code: code, Link: s.joinLink(code),
			QRURL: strings.TrimRight(s.PublicURL, "/") + "/v1/clinic/join-qr.png"})
	}
}

// joinQR is the join link as a QR image for the desk.
func (s *server) joinQR() fiber.Handler {
	return func(c *fiber.Ctx) error {
		code, err := s.Identity.JoinCode(c.UserContext(), principal(c).ClinicID)
		if err != nil {
			return err
		}
		png, err := qrcode.Encode(s.joinLink(code), qrcode.Medium, 512)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "private, max-age=3600")
		c.Type("png")
		return c.Send(png)
	}
}

var joinPage = template.Must(template.New("j").Parse(`<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Clinic}}: программа лояльности / loyalty program</title>
<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:2em auto;padding:0 1em;line-height:1.5}
.code{font-size:3em;font-weight:bold;letter-spacing:.15em;font-family:monospace;margin:.3em 0}</style></head>
<body>
<h1>{{.Clinic}}</h1>
<p>Копите баллы за визиты в {{.Clinic}} и оплачивайте ими лечение.<br>Earn points on your visits to {{.Clinic}} and pay for care with them.</p>
<p>Код клиники / Clinic code:</p>
<p class="code">{{.Code}}</p>
<h2>Как присоединиться / How to join</h2>
<ol>
<li>Установите приложение CareWallet из App Store или Google Play. / Install the CareWallet app from the App Store or Google Play.</li>
<li>Войдите по номеру телефона. / Sign in with your phone number.</li>
<li>Нажмите «Добавить клинику» и введите код выше. / Tap "Add a clinic" and enter the code above.</li>
</ol>
<p>Если карту вам уже завели на стойке регистрации, она появится в приложении — подтвердите её, чтобы тратить баллы.<br>
If reception has already registered a card for you, it appears in the app: confirm it to spend your points.</p>
</body></html>
`))

// joinPageHandler serves /j/{code}: the clinic's name, its code in large
// type and how to get the app; no script.
func (s *server) joinPageHandler() fiber.Handler {
	return func(c *fiber.Ctx) error {
		clinic, err := s.Identity.ClinicByJoinCode(c.UserContext(), c.Params("code"))
		if err != nil {
			return unknownJoinCode(err)
		}
		code, _ := identity.NormalizeJoinCode(c.Params("code"))
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
		c.Type("html", "utf-8")
		return joinPage.Execute(c.Response().BodyWriter(), map[string]string{"Clinic": clinic.Name, "Code": code})
	}
}

// unknownJoinCode turns a code that is no clinic's into its 404.
func unknownJoinCode(err error) error {
	if errors.Is(err, identity.ErrNotFound) {
		return &apiError{Status: 404, Code: "unknown_join_code", Message: "join_code: no clinic has this code", Field: "join_code"}
	}
	return err
}

// ---- cards with their clinic ----

// clinicOfCard is what every card the patient reads carries of its
// clinic, and the confirm action of an unconfirmed card.
type clinicOfCard struct {
	ClinicName    string `json:"clinic_name"`
	ClinicLogoURL string `json:"clinic_logo_url,omitempty"`
	// ConfirmURL is set on an unconfirmed card: POST it to confirm.
	ConfirmURL string `json:"confirm_url,omitempty"`
}

// myCard is one card of GET /v1/me/cards.
type myCard struct {
	wallet.CardSummary
	clinicOfCard
}

// cardWithClinic is a card as GET /v1/cards/{id} and the join and confirm
// answers show it.
type cardWithClinic struct {
	wallet.CardView
	clinicOfCard
}

// clinicsOf reads the clinics of the cards in one batch (no call per card).
func (s *server) clinicsOf(ctx context.Context, cards ...wallet.Card) (map[string]clinicOfCard, error) {
	var ids []string
	seen := map[string]bool{}
	for _, c := range cards {
		if !seen[c.ClinicID] {
			seen[c.ClinicID] = true
			ids = append(ids, c.ClinicID)
		}
	}
	cs, err := s.Identity.ClinicCards(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]clinicOfCard{}
	for id, c := range cs {
		out[id] = clinicOfCard{ClinicName: c.Name, ClinicLogoURL: s.logoURL(id, c.LogoVersion)}
	}
	return out, nil
}

func (s *server) confirmURL(c wallet.Card) string {
	if c.Status != wallet.StatusUnconfirmed {
		return ""
	}
	return strings.TrimRight(s.PublicURL, "/") + "/v1/me/cards/" + url.PathEscape(c.ID) + "/confirm"
}

func (s *server) myCardsOf(ctx context.Context, cards []wallet.CardSummary) ([]myCard, error) {
	plain := make([]wallet.Card, len(cards))
	for i, c := range cards {
		plain[i] = c.Card
	}
	cl, err := s.clinicsOf(ctx, plain...)
	if err != nil {
		return nil, err
	}
	out := make([]myCard, len(cards))
	for i, c := range cards {
		of := cl[c.ClinicID]
		of.ConfirmURL = s.confirmURL(c.Card)
		out[i] = myCard{CardSummary: c, clinicOfCard: of}
	}
	return out, nil
}

func (s *server) cardViewOf(ctx context.Context, v *wallet.CardView) (cardWithClinic, error) {
	cl, err := s.clinicsOf(ctx, v.Card)
	if err != nil {
		return cardWithClinic{}, err
	}
	of := cl[v.ClinicID]
	of.ConfirmURL = s.confirmURL(v.Card)
	return cardWithClinic{CardView: *v, clinicOfCard: of}, nil
}

// ---- unconfirmed cards: the patient confirms ----

// confirmMyCard makes an unconfirmed card registered at reception for the
// caller's phone an ordinary card. The enrolling staff member's credit
// follows: the card's receipts go to the referrals again (their rewards
// are keyed, so this pays only what was held back).
func (s *server) confirmMyCard() fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		v, confirmed, err := s.Wallet.ConfirmOwn(ctx, principal(c).ID, c.Params("id"))
		if err != nil {
			return err
		}
		if confirmed {
			s.creditEnrolment(ctx, v.ID)
		}
		out, err := s.cardViewOf(ctx, v)
		if err != nil {
			return err
		}
		return c.JSON(out)
	}
}

// creditEnrolment hands a confirmed card's receipts to the referrals,
// which pay its enrolling staff member what was held while it was
// unconfirmed. It never fails the request: a retry of the confirmation
// pays whatever this could not.
func (s *server) creditEnrolment(ctx context.Context, cardID string) {
	if s.Referrals == nil {
		return
	}
	facts, err := s.Wallet.CardReceiptFacts(ctx, cardID)
	if err != nil {
		s.Logger.Warn("enrolment credit deferred", "err", err)
		return
	}
	for _, wf := range facts {
		f, ok := referralFact(wf)
		if !ok {
			continue
		}
		if err := s.Referrals.HandleFact(ctx, &f, nil); err != nil {
			s.Logger.Warn("enrolment credit deferred", "err", err)
			return
		}
	}
}
