package app

import (
	"github.com/gofiber/fiber/v2"

	"carewallet/wallet"
)

func (s *server) getProgram() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := s.Wallet.Program(c.UserContext(), principal(c).ClinicID)
		if err != nil {
			return err
		}
		return c.JSON(p)
	}
}

// programRequest is the body of PUT /v1/clinic/program: the program's
// settings without what the server owns (clinic_id, version, updated_by,
// updated_at). point_value and cashback_burn_days have no valid zero, so
// they are required; every other field may be left out (zero, empty).
type programRequest struct {
	PointValue       int64                    `json:"point_value" api:"required"`
	Levels           []wallet.Level           `json:"levels"`
	CashbackBP       int64                    `json:"cashback_bp"`
	ServiceOverrides []wallet.ServiceOverride `json:"service_overrides"`
	ExcludedServices []string                 `json:"excluded_services"`
	MaxShareBP       int64                    `json:"max_share_bp"`
	MaxReceiptPoints int64                    `json:"max_receipt_points"`
	WelcomeBonus     wallet.Bonus             `json:"welcome_bonus"`
	BookingBonus     wallet.Bonus             `json:"booking_bonus"`
	BirthdayBonus    wallet.Bonus             `json:"birthday_bonus"`
	CashbackBurnDays int                      `json:"cashback_burn_days" api:"required"`
	BurnWarningDays  int                      `json:"burn_warning_days"`
	MajorityAge      int                      `json:"majority_age"`
}

func (r programRequest) program() wallet.Program {
	return wallet.Program{PointValue: r.PointValue, Levels: r.Levels, CashbackBP: r.CashbackBP,
		ServiceOverrides: r.ServiceOverrides, ExcludedServices: r.ExcludedServices, MaxShareBP: r.MaxShareBP,
		MaxReceiptPoints: r.MaxReceiptPoints, WelcomeBonus: r.WelcomeBonus, BookingBonus: r.BookingBonus,
		BirthdayBonus: r.BirthdayBonus, CashbackBurnDays: r.CashbackBurnDays, BurnWarningDays: r.BurnWarningDays, MajorityAge: r.MajorityAge}
}

// putProgram replaces the clinic's program with a new version; it applies
// to operations from now on.
func (s *server) putProgram() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req programRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := principal(c)
		out, err := s.Wallet.PutProgram(c.UserContext(), p.ClinicID, p.ID, req.program())
		if err != nil {
			return err
		}
		return c.JSON(out)
	}
}

// recordReceipt records a paid receipt and credits its cashback; the
// clinic's receipt_id is the idempotency key.
func (s *server) recordReceipt() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req wallet.ReceiptRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := principal(c)
		req.ClinicID, req.StaffID = p.ClinicID, p.ID
		res, err := s.Wallet.RecordReceipt(c.UserContext(), req)
		if err != nil {
			return err
		}
		s.referralFact(c.UserContext(), res.Entry)
		if err := s.receiptVisit(c.UserContext(), p.ClinicID, p.ID, req, res); err != nil {
			return err // the receipt stands; a retry replays it and records the visit
		}
		return c.JSON(res)
	}
}

// createSpend starts a bonus payment: the code goes to the card's
// patient (or guardian) app; nothing is posted until it is confirmed.
func (s *server) createSpend() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req wallet.SpendRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := principal(c)
		req.ClinicID, req.StaffID = p.ClinicID, p.ID
		res, err := s.Wallet.CreateSpend(c.UserContext(), req)
		if err != nil {
			return err
		}
		return c.Status(201).JSON(res)
	}
}

// spendQuoteRequest: the card and the receipt's lines of a bonus payment
// about to be started.
type spendQuoteRequest struct {
	CardID string        `json:"card_id" api:"required"`
	Lines  []wallet.Line `json:"lines" api:"required"`
}

func (s *server) quoteSpend() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req spendQuoteRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		q, err := s.Wallet.QuoteSpend(c.UserContext(), principal(c).ClinicID, req.CardID, req.Lines)
		if err != nil {
			return err
		}
		return c.JSON(q)
	}
}

func (s *server) confirmSpend() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req codeRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		res, err := s.Wallet.ConfirmSpend(c.UserContext(), principal(c).ClinicID, c.Params("id"), req.Code)
		if err != nil {
			return err
		}
		return c.JSON(res)
	}
}

// refundRequest: no lines (or no body at all) refunds the rest of the
// whole receipt.
type refundRequest struct {
	Lines []wallet.Line `json:"lines,omitempty"`
}

// refund reverses a receipt's cashback and returns the points spent on
// it, for the given lines or (no lines) the whole rest of the receipt.
func (s *server) refund() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req refundRequest
		if len(c.Body()) > 0 {
			if err := decodeJSON(c, &req); err != nil {
				return err
			}
		}
		p := principal(c)
		res, err := s.Wallet.Refund(c.UserContext(), wallet.RefundRequest{ClinicID: p.ClinicID, StaffID: p.ID,
			ReceiptID: c.Params("receipt_id"), IdempotencyKey: c.Get("Idempotency-Key"), Lines: req.Lines})
		if err != nil {
			return err
		}
		if len(res.Entries) > 0 {
			s.referralFact(c.UserContext(), &res.Entries[0])
		}
		return c.JSON(res)
	}
}

// bookingRequest names the card, or the patient by phone (their own card).
type bookingRequest struct {
	CardID    string `json:"card_id,omitempty"`
	Phone     string `json:"phone,omitempty"`
	BookingID string `json:"booking_id" api:"required"`
}

// booking credits the online-booking bonus once per booking id.
func (s *server) booking() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req bookingRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := principal(c)
		br := wallet.BookingRequest{ClinicID: p.ClinicID, CardID: req.CardID, BookingID: req.BookingID}
		if (req.CardID == "") == (req.Phone == "") {
			return &apiError{Status: 400, Code: "invalid_input", Message: `give exactly one of "card_id" and "phone"`, Field: "card_id"}
		}
		if req.Phone != "" {
			pt, err := s.Identity.PatientByPhone(c.UserContext(), req.Phone)
			if err != nil {
				return err
			}
			br.PatientID = pt.ID
		}
		e, err := s.Wallet.Booking(c.UserContext(), br)
		if err != nil {
			return err
		}
		return c.JSON(e)
	}
}

// adjust is a manager's manual correction, with a reason, as its own
// entry kind.
func (s *server) adjust() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req wallet.AdjustRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := principal(c)
		req.ClinicID, req.StaffID, req.IdempotencyKey = p.ClinicID, p.ID, c.Get("Idempotency-Key")
		e, err := s.Wallet.Adjust(c.UserContext(), req)
		if err != nil {
			return err
		}
		return c.JSON(e)
	}
}
