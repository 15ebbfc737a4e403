package app

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/identity"
)

type meResponse struct {
	ID        string    `json:"id"`
	Phone     string    `json:"phone"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	BirthDate string    `json:"birth_date"`
	CreatedAt time.Time `json:"created_at"`
}

func viewMe(p identity.Patient) meResponse {
	return meResponse{ID: p.ID, Phone: p.Phone, FirstName: p.FirstName, LastName: p.LastName, BirthDate: p.BirthDate, CreatedAt: p.CreatedAt}
}

func (s *server) getMe() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := s.Identity.Patient(c.UserContext(), principal(c).ID)
		if err != nil {
			return err
		}
		return c.JSON(viewMe(p))
	}
}

// patchMeRequest changes only the fields present.
type patchMeRequest struct {
	FirstName *string `json:"first_name,omitempty"`
	LastName  *string `json:"last_name,omitempty"`
	BirthDate *string `json:"birth_date,omitempty"`
}

func (s *server) patchMe() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req patchMeRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p, err := s.Identity.UpdateProfile(c.UserContext(), principal(c).ID, identity.ProfileUpdate{
			FirstName: req.FirstName, LastName: req.LastName, BirthDate: req.BirthDate})
		if err != nil {
			return err
		}
		if s.Care != nil && req.BirthDate != nil {
			// The birthday greeting skips a birth date entered on the
			// birthday itself.
			if err := s.Care.BirthDateEntered(c.UserContext(), p.ID, p.BirthDate); err != nil {
				return err
			}
		}
		return c.JSON(viewMe(p))
	}
}
