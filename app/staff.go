package app

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/identity"
)

type staffLoginRequest struct {
	Email    string `json:"email" api:"required"`
	Password string `json:"password" api:"required"`
	// RefreshCookie: the web console asks for the refresh token in an
	// HttpOnly cookie (see cookie.go) instead of the body.
	RefreshCookie bool `json:"refresh_cookie"`
}

func (s *server) staffLogin() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req staffLoginRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		st, err := s.Identity.StaffLogin(c.UserContext(), s.clientIP(c), req.Email, req.Password)
		if err != nil {
			return s.noteRefusal(c, "staff sign-in", err)
		}
		return s.openSession(c, identity.Session{Kind: identity.KindStaff, SubjectID: st.ID, ClinicID: st.ClinicID, Role: st.Role}, req.RefreshCookie)
	}
}

// staffView is a staff member as the API shows them (never the hash).
type staffView struct {
	ID        string        `json:"id"`
	ClinicID  string        `json:"clinic_id"`
	Email     string        `json:"email"`
	Name      string        `json:"name"`
	Role      identity.Role `json:"role"`
	CreatedAt time.Time     `json:"created_at"`
	// DisabledAt is set once a manager has disabled the account.
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
}

func viewStaff(st identity.Staff) staffView {
	v := staffView{ID: st.ID, ClinicID: st.ClinicID, Email: st.Email, Name: st.Name, Role: st.Role, CreatedAt: st.CreatedAt}
	if st.Disabled() {
		v.DisabledAt = &st.DisabledAt
	}
	return v
}

type clinicView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Timezone  string    `json:"timezone"`
	CreatedAt time.Time `json:"created_at"`
}

type clinicResponse struct {
	Clinic clinicView `json:"clinic"`
	Me     staffView  `json:"me"`
}

func (s *server) getClinic() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := principal(c)
		ctx := c.UserContext()
		cl, err := s.Identity.Clinic(ctx, p.ClinicID)
		if err != nil {
			return err
		}
		st, err := s.Identity.Staff(ctx, p.ID)
		if err != nil {
			return err
		}
		return c.JSON(clinicResponse{
			Clinic: clinicView{ID: cl.ID, Name: cl.Name, Timezone: cl.Timezone, CreatedAt: cl.CreatedAt},
			Me:     viewStaff(st),
		})
	}
}

type staffListResponse struct {
	Staff []staffView `json:"staff"`
}

func (s *server) listStaff() fiber.Handler {
	return func(c *fiber.Ctx) error {
		list, err := s.Identity.ListStaff(c.UserContext(), principal(c).ClinicID)
		if err != nil {
			return err
		}
		out := staffListResponse{Staff: make([]staffView, 0, len(list))}
		for _, st := range list {
			out.Staff = append(out.Staff, viewStaff(st))
		}
		return c.JSON(out)
	}
}

// addStaffRequest: the name may be left out (the staff list then shows "").
type addStaffRequest struct {
	Email    string        `json:"email" api:"required"`
	Password string        `json:"password" api:"required"`
	Role     identity.Role `json:"role" api:"required,enum=admin|manager"`
	Name     string        `json:"name"`
}

// addStaff adds staff to the caller's own clinic: the clinic comes from
// the token, never from the request.
func (s *server) addStaff() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req addStaffRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		st, err := s.Identity.AddStaff(c.UserContext(), identity.NewStaff{
			ClinicID: principal(c).ClinicID, Email: req.Email, Password: req.Password, Name: req.Name, Role: req.Role})
		if err != nil {
			return err
		}
		return c.Status(201).JSON(viewStaff(st))
	}
}

type staffRoleRequest struct {
	Role identity.Role `json:"role" api:"required,enum=admin|manager"`
}

// setStaffRole changes a staff member's role in the caller's clinic; it
// applies to their very next request.
func (s *server) setStaffRole() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req staffRoleRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := principal(c)
		st, err := s.Identity.SetStaffRole(c.UserContext(), p.ClinicID, p.ID, c.Params("id"), req.Role)
		if err != nil {
			return err
		}
		return c.JSON(viewStaff(st))
	}
}

// disableStaff disables a staff member of the caller's clinic and revokes
// their sessions: their next request is a 401, and they cannot sign in.
func (s *server) disableStaff() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := principal(c)
		if err := s.Identity.DisableStaff(c.UserContext(), p.ClinicID, p.ID, c.Params("id")); err != nil {
			return err
		}
		return c.SendStatus(204)
	}
}
