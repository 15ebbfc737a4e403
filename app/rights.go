package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/identity"
	"carewallet/news"
	"carewallet/wallet"
)

// The patient's rights: the data export, deletion, guardians' consents
// and the handover of a dependant's card at majority.

// streamExport answers the export document, written as it is read.
func (s *server) streamExport(c *fiber.Ctx, sub ExportSubject, sections []ExportSection) error {
	ctx := c.UserContext() // c is recycled once the handler returns; the stream runs after
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		s.writeExport(ctx, w, sub, sections)
		_ = w.Flush()
	})
	return nil
}

func (s *server) myExport() fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := principal(c).ID
		if _, err := s.Identity.Patient(c.UserContext(), id); err != nil {
			return err
		}
		return s.streamExport(c, ExportSubject{PatientID: id}, s.exportSections(false))
	}
}

// patientExport is a manager's export of what the clinic holds about a
// patient (a written request at the desk); it is recorded before it is
// served.
func (s *server) patientExport() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := principal(c)
		id := c.Params("id")
		if _, err := s.Wallet.PatientCardsAt(c.UserContext(), p.ClinicID, id); err != nil {
			return err
		}
		if _, err := s.Identity.RecordExport(c.UserContext(), p.ClinicID, p.ID, id); err != nil {
			return err
		}
		return s.streamExport(c, ExportSubject{PatientID: id, ClinicID: p.ClinicID}, s.exportSections(true))
	}
}

type exportsResponse struct {
	Exports []identity.DataExport `json:"exports" api:"required"`
	Next    string                `json:"next,omitempty"`
}

func (s *server) listExports() fiber.Handler {
	return func(c *fiber.Ctx) error {
		after, limit, err := pageParams(c)
		if err != nil {
			return err
		}
		xs, next, err := s.Identity.DataExports(c.UserContext(), principal(c).ClinicID, after, limit)
		if err != nil {
			return err
		}
		return c.JSON(exportsResponse{Exports: nonNil(xs), Next: next})
	}
}

// eraseStep is one package's part of a deletion.
type eraseStep struct {
	name string
	fn   func(context.Context, string) error
}

type deleteMeRequest struct {
	// Code is a fresh sign-in code (POST /v1/auth/otp) for the caller's phone.
	Code string `json:"code" api:"required"`
}

// deleteMe erases the caller. Order: refuse early (a dependant's card
// only the caller holds) before the code is spent; check the code; then
// each package forgets the person, identity last, because it ends the
// sessions: a failure midway leaves the caller signed in to retry, and
// every step is idempotent.
func (s *server) deleteMe() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req deleteMeRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		ctx := c.UserContext()
		id := principal(c).ID
		if err := s.Wallet.CheckErasable(ctx, id); err != nil {
			return err
		}
		if err := s.Identity.ConfirmCode(ctx, s.clientIP(c), id, req.Code); err != nil {
			return s.noteRefusal(c, "deletion code check", err)
		}
		steps := []eraseStep{{"wallet", s.Wallet.ErasePatient}}
		if s.Referrals != nil {
			steps = append(steps, eraseStep{"referrals", s.Referrals.ErasePatient})
		}
		if s.News != nil {
			steps = append(steps, eraseStep{"news", s.News.ErasePatient})
		}
		if s.Care != nil {
			// Before push: the pending care messages are voided, so no
			// tick writes to the inbox push is about to empty.
			steps = append(steps, eraseStep{"care", s.Care.ErasePatient})
		}
		if s.Idempotency != nil {
			steps = append(steps, eraseStep{"idempotency", func(ctx context.Context, id string) error {
				return s.Idempotency.DeleteScope(ctx, "patient:"+id) // stored responses may name the person
			}})
		}
		if s.Push != nil {
			steps = append(steps, eraseStep{"push", s.Push.EraseUser}, eraseStep{"managers' inboxes", func(ctx context.Context, id string) error {
				// The managers' copies of the patient's chat messages.
				return s.Push.RedactAbout(ctx, news.NoteChatMessage, "patient_id", id)
			}})
		}
		for _, st := range steps {
			if err := st.fn(ctx, id); err != nil {
				return fmt.Errorf("delete patient: %s: %w", st.name, err)
			}
		}
		if err := s.Identity.Erase(ctx, id); err != nil {
			return fmt.Errorf("delete patient: identity: %w", err)
		}
		if s.Push != nil {
			// A websocket opened while the steps ran (the sessions end with
			// identity's step) is closed too.
			s.Push.CloseUser(id)
		}
		if s.Scrub != nil {
			if err := s.Scrub(ctx); err != nil {
				// The rows are gone; the next checkpoint finishes the file.
				s.Logger.Warn("scrub after erasure did not finish", "err", err)
			}
		}
		s.Logger.Info("patient deleted") // no id: the log keeps nothing of them
		return c.SendStatus(fiber.StatusNoContent)
	}
}

type consentsResponse struct {
	TextVersion string           `json:"text_version" api:"required"`
	Text        string           `json:"text" api:"required"`
	Consents    []wallet.Consent `json:"consents" api:"required"`
}

func (s *server) cardConsents() fiber.Handler {
	return func(c *fiber.Ctx) error {
		cs, err := s.Wallet.CardConsents(c.UserContext(), principal(c).ID, c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(consentsResponse{TextVersion: wallet.ConsentTextVersion, Text: wallet.ConsentText, Consents: nonNil(cs)})
	}
}

func (s *server) staffCardConsents() fiber.Handler {
	return func(c *fiber.Ctx) error {
		cs, err := s.Wallet.StaffConsents(c.UserContext(), principal(c).ClinicID, c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(consentsResponse{TextVersion: wallet.ConsentTextVersion, Text: wallet.ConsentText, Consents: nonNil(cs)})
	}
}

type handoverRequest struct {
	// Phone is the dependant's own phone; they sign in with it to accept.
	Phone string `json:"phone" api:"required"`
}

func (s *server) startHandover() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req handoverRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		ctx, me, card := c.UserContext(), principal(c).ID, c.Params("id")
		if req.Phone == "" {
			return &apiError{Status: 400, Code: "invalid_input", Message: "phone: required", Field: "phone"}
		}
		// Refusals about the card come before an account is made for the phone.
		if err := s.Wallet.CheckHandover(ctx, me, card); err != nil {
			return err
		}
		to, err := s.ensurePatient(c, req.Phone, "phone")
		if err != nil {
			return err
		}
		h, err := s.Wallet.StartHandover(ctx, me, card, to.ID)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(h)
	}
}

type handoversResponse struct {
	Handovers []wallet.Handover `json:"handovers" api:"required"`
}

func (s *server) myHandovers() fiber.Handler {
	return func(c *fiber.Ctx) error {
		hs, err := s.Wallet.MyHandovers(c.UserContext(), principal(c).ID)
		if err != nil {
			return err
		}
		return c.JSON(handoversResponse{Handovers: nonNil(hs)})
	}
}

func (s *server) acceptHandover() fiber.Handler {
	return func(c *fiber.Ctx) error {
		h, err := s.Wallet.AcceptHandover(c.UserContext(), principal(c).ID, c.Params("id"))
		if errors.Is(err, wallet.ErrConflict) {
			// The new holder got a card at the clinic meanwhile: a retry
			// reports it as card_exists, or finishes.
			h, err = s.Wallet.AcceptHandover(c.UserContext(), principal(c).ID, c.Params("id"))
		}
		if err != nil {
			return err
		}
		if s.Push != nil {
			// A guardian's marketing switch for the card does not follow it
			// to its holder. Run on every accept, so a retry finishes it.
			if err := s.Push.ForgetCard(c.UserContext(), h.CardID); err != nil {
				return err
			}
		}
		return c.JSON(h)
	}
}
