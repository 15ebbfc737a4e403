package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"
	qrcode "github.com/skip2/go-qrcode"

	"carewallet/app/identity"
	"carewallet/wallet"
)

// ---- patient side ----

// joinRequest names the clinic by its id or by its join code (the code
// on the desk's poster or in its QR link /j/{code}): exactly one of the
// two.
type joinRequest struct {
	ClinicID string `json:"clinic_id,omitempty"`
	JoinCode string `json:"join_code,omitempty"`
	// ReferralCode, when set, joins under the code's owner (POST
	// /v1/me/referral's rules and refusals).
	ReferralCode string `json:"referral_code,omitempty"`
}

// joinClinic creates the patient's own electronic card at a clinic at
// once (no reception involved) and credits the welcome bonus. A card
// reception registered unconfirmed for the caller's phone is confirmed.
func (s *server) joinClinic() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req joinRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if (req.ClinicID == "") == (req.JoinCode == "") {
			return &apiError{Status: 400, Code: "invalid_input", Message: "clinic_id: give exactly one of clinic_id and join_code", Field: "clinic_id"}
		}
		ctx := c.UserContext()
		if req.JoinCode != "" {
			cl, err := s.Identity.ClinicByJoinCode(ctx, req.JoinCode)
			if err != nil {
				return unknownJoinCode(err)
			}
			req.ClinicID = cl.ID
		} else if _, err := s.Identity.Clinic(ctx, req.ClinicID); err != nil {
			return err
		}
		if req.ReferralCode != "" {
			return s.joinClinicWithCode(c, req.ClinicID, req.ReferralCode)
		}
		v, err := s.Wallet.Join(ctx, principal(c).ID, req.ClinicID)
		if err != nil {
			return err
		}
		return s.joined(c, v)
	}
}

// joined answers a join: the card with its clinic. A card issued at
// reception hands its receipts to the referrals (an unconfirmed one's
// enrolment credit was held until now; the rewards are keyed).
func (s *server) joined(c *fiber.Ctx, v *wallet.CardView) error {
	if v.IssuedBy != "" {
		s.creditEnrolment(c.UserContext(), v.ID)
	}
	out, err := s.cardViewOf(c.UserContext(), v)
	if err != nil {
		return err
	}
	return c.Status(201).JSON(out)
}

type cardsResponse struct {
	Cards []myCard `json:"cards"`
}

// myCards lists the patient's own cards and their dependants' cards, each
// with its clinic's name and logo (read in one batch).
func (s *server) myCards() fiber.Handler {
	return func(c *fiber.Ctx) error {
		cards, err := s.Wallet.MyCards(c.UserContext(), principal(c).ID)
		if err != nil {
			return err
		}
		out, err := s.myCardsOf(c.UserContext(), cards)
		if err != nil {
			return err
		}
		return c.JSON(cardsResponse{Cards: out})
	}
}

func (s *server) card() fiber.Handler {
	return func(c *fiber.Ctx) error {
		v, err := s.Wallet.Card(c.UserContext(), principal(c).ID, c.Params("id"))
		if err != nil {
			return err
		}
		out, err := s.cardViewOf(c.UserContext(), v)
		if err != nil {
			return err
		}
		return c.JSON(out)
	}
}

// pageParams reads ?after= (an opaque cursor) and ?limit= under the
// wallet's one page-size rule (wallet.DefaultPageSize, wallet.MaxPageSize):
// a limit outside it is a 400, never silently changed.
func pageParams(c *fiber.Ctx) (string, int, error) {
	limit, err := intQuery(c, "limit", wallet.DefaultPageSize, 1, wallet.MaxPageSize)
	return c.Query("after"), int(limit), err
}

var pageQuery = []param{
	{Name: "after", Description: "opaque cursor: the previous page's next"},
	{Name: "limit", Type: "integer", Description: fmt.Sprintf("page size, 1 to %d (default %d)", wallet.MaxPageSize, wallet.DefaultPageSize)},
}

// cardList serves one page of a card's list (?after=, ?limit=): list is
// the wallet's call for the caller, who names (a patient or a clinic).
func cardList[T any](who func(*fiber.Ctx) string, list func(ctx context.Context, who, cardID, after string, limit int) (T, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		after, limit, err := pageParams(c)
		if err != nil {
			return err
		}
		page, err := list(c.UserContext(), who(c), c.Params("id"), after, limit)
		if err != nil {
			return err
		}
		return c.JSON(page)
	}
}

func callerPatient(c *fiber.Ctx) string { return principal(c).ID }
func callerClinic(c *fiber.Ctx) string  { return principal(c).ClinicID }

func (s *server) cardHistory() fiber.Handler { return cardList(callerPatient, s.Wallet.History) }

// cardLots pages the card's open lots, soonest-burning first (the card
// view shows only the burn calendar).
func (s *server) cardLots() fiber.Handler { return cardList(callerPatient, s.Wallet.Lots) }

// cardCode is the short rotating code the patient shows at reception.
func (s *server) cardCode() fiber.Handler {
	return func(c *fiber.Ctx) error {
		code, err := s.Wallet.CardCode(c.UserContext(), principal(c).ID, c.Params("id"))
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(code)
	}
}

// cardQR renders a fresh card code as a PNG QR code.
func (s *server) cardQR() fiber.Handler {
	return func(c *fiber.Ctx) error {
		code, err := s.Wallet.CardCode(c.UserContext(), principal(c).ID, c.Params("id"))
		if err != nil {
			return err
		}
		png, err := qrcode.Encode(code.Code, qrcode.Medium, 256)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Set("X-Code-Expires-At", code.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"))
		c.Type("png")
		return c.Send(png)
	}
}

// ---- staff side ----

// issueCardRequest: "phone" issues the patient's own card; "guardian_phone"
// issues a card for a dependant (the names and birth date are the
// dependant's) that lives in that guardian's app. Exactly one of the two
// phones is given; the names and birth date are required for a dependant
// and may be left out for the patient's own card. "unconfirmed" (with
// "phone" only) registers the card of a patient without the app: it earns
// at once, and can be spent from once the patient confirms it in the app.
type issueCardRequest struct {
	Phone         string `json:"phone,omitempty"`
	GuardianPhone string `json:"guardian_phone,omitempty"`
	FirstName     string `json:"first_name"`
	LastName      string `json:"last_name"`
	BirthDate     string `json:"birth_date"`
	Unconfirmed   bool   `json:"unconfirmed,omitempty"`
}

func (s *server) issueCard() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req issueCardRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := principal(c)
		ir := wallet.IssueCardRequest{ClinicID: p.ClinicID, StaffID: p.ID, FirstName: req.FirstName, LastName: req.LastName,
			BirthDate: req.BirthDate, Unconfirmed: req.Unconfirmed}
		ctx := c.UserContext()
		if (req.Phone == "") == (req.GuardianPhone == "") {
			return &apiError{Status: 400, Code: "invalid_input", Message: `give exactly one of "phone" (the patient's own card) and "guardian_phone" (a dependant's card)`, Field: "phone"}
		}
		if req.Unconfirmed && req.GuardianPhone != "" {
			return &apiError{Status: 400, Code: "invalid_input", Message: "unconfirmed: only a patient's own card (phone) is registered unconfirmed", Field: "unconfirmed"}
		}
		// Validate before ensurePatient may create an account: bad input writes nothing.
		if err := s.Wallet.CheckIssue(req.FirstName, req.LastName, req.BirthDate, req.GuardianPhone != ""); err != nil {
			return err
		}
		switch {
		case req.Phone != "":
			pt, err := s.ensurePatient(c, req.Phone, "phone")
			if err != nil {
				return err
			}
			ir.PatientID = pt.ID
		default:
			pt, err := s.ensurePatient(c, req.GuardianPhone, "guardian_phone")
			if err != nil {
				return err
			}
			ir.GuardianID = pt.ID
		}
		res, err := s.Wallet.IssueCard(ctx, ir)
		if err != nil {
			return err
		}
		return c.Status(201).JSON(res)
	}
}

// ensurePatient finds or creates the account of a phone reception typed.
func (s *server) ensurePatient(c *fiber.Ctx, raw, field string) (identity.Patient, error) {
	phone, err := identity.NormalizePhone(raw)
	if err != nil {
		return identity.Patient{}, &apiError{Status: 400, Code: "invalid_phone", Message: field + ": not a valid phone number", Field: field}
	}
	return s.Identity.EnsurePatient(c.UserContext(), phone)
}

type codeRequest struct {
	Code string `json:"code" api:"required"`
}

func (s *server) confirmCard() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req codeRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		res, err := s.Wallet.ConfirmCard(c.UserContext(), principal(c).ClinicID, c.Params("id"), req.Code)
		if err != nil {
			return err
		}
		return c.JSON(res)
	}
}

type lookupResponse struct {
	Card  *wallet.CardView     `json:"card,omitempty"`
	Cards []wallet.CardSummary `json:"cards,omitempty"`
}

// lookupCard resolves a QR code (?code=, one card) or a phone (?phone=,
// the patient's cards and their dependants' at this clinic).
func (s *server) lookupCard() fiber.Handler {
	return func(c *fiber.Ctx) error {
		code, phone := c.Query("code"), c.Query("phone")
		clinic := principal(c).ClinicID
		ctx := c.UserContext()
		switch {
		case (code == "") == (phone == ""):
			return &apiError{Status: 400, Code: "invalid_input", Message: "give exactly one of ?code= and ?phone=", Field: "code"}
		case code != "":
			v, err := s.Wallet.LookupCode(ctx, clinic, code)
			if err != nil {
				return err
			}
			return c.JSON(lookupResponse{Card: v})
		}
		pt, err := s.Identity.PatientByPhone(ctx, phone)
		if errors.Is(err, identity.ErrNotFound) {
			return c.JSON(lookupResponse{Cards: []wallet.CardSummary{}})
		}
		if err != nil {
			return err
		}
		cards, err := s.Wallet.LookupPatient(ctx, clinic, pt.ID)
		if err != nil {
			return err
		}
		return c.JSON(lookupResponse{Cards: nonNil(cards)})
	}
}

func (s *server) staffCard() fiber.Handler {
	return func(c *fiber.Ctx) error {
		v, err := s.Wallet.StaffCard(c.UserContext(), principal(c).ClinicID, c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(v)
	}
}

func (s *server) staffCardHistory() fiber.Handler {
	return cardList(callerClinic, s.Wallet.StaffHistory)
}

func (s *server) staffCardLots() fiber.Handler { return cardList(callerClinic, s.Wallet.StaffLots) }

type guardianRequest struct {
	Phone string `json:"phone" api:"required"`
}

// addGuardian lets another guardian (a second parent) see a dependant's card.
func (s *server) addGuardian() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req guardianRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := principal(c)
		// The card must be this clinic's dependant card before an account
		// may be created for the phone: bad input writes nothing.
		card, err := s.Wallet.StaffCard(c.UserContext(), p.ClinicID, c.Params("id"))
		if err != nil {
			return err
		}
		if card.Holder.Kind != wallet.HolderDependant {
			return &apiError{Status: 400, Code: "invalid_input", Message: "not a dependant's card", Field: "card_id"}
		}
		pt, err := s.ensurePatient(c, req.Phone, "phone")
		if err != nil {
			return err
		}
		if err := s.Wallet.AddGuardian(c.UserContext(), p.ClinicID, p.ID, card.ID, pt.ID); err != nil {
			return err
		}
		return c.SendStatus(204)
	}
}

type guardiansResponse struct {
	Guardians []wallet.Grant `json:"guardians"`
}

// listGuardians shows who holds a dependant's cards at this clinic (the
// patient ids that DELETE .../guardians/{patient_id} takes).
func (s *server) listGuardians() fiber.Handler {
	return func(c *fiber.Ctx) error {
		gs, err := s.Wallet.Guardians(c.UserContext(), principal(c).ClinicID, c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(guardiansResponse{Guardians: nonNil(gs)})
	}
}

// removeGuardian ends a guardian's access to a dependant's cards at this
// clinic at once; the card's codes go to a remaining guardian. The only
// guardian cannot be removed (409 last_guardian).
func (s *server) removeGuardian() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.Wallet.RemoveGuardian(c.UserContext(), principal(c).ClinicID, c.Params("id"), c.Params("patient_id")); err != nil {
			return err
		}
		return c.SendStatus(204)
	}
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
