package app

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/identity"
	"carewallet/referrals"
)

// staffRewardsResponse is GET /v1/clinic/staff/{id}/rewards: the account
// and the staff member's personal code and link for patients who join
// from the app at the desk.
type staffRewardsResponse struct {
	referrals.StaffAccount
	Link string `json:"link"`
}

// staffOfClinic checks that the staff member belongs to the caller's
// clinic and that the caller is them or a manager.
func (s *server) staffOfClinic(c *fiber.Ctx, managerOnly bool) (string, error) {
	p := principal(c)
	id := c.Params("id")
	st, err := s.Identity.Staff(c.UserContext(), id)
	if err != nil {
		return "", err
	}
	if st.ClinicID != p.ClinicID {
		return "", identity.ErrNotFound
	}
	if p.Role != identity.RoleManager && (managerOnly || p.ID != id) {
		return "", &apiError{Status: 403, Code: "forbidden", Message: "only the staff member or a manager"}
	}
	return id, nil
}

func (s *server) staffRewards() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.referralsOn(); err != nil {
			return err
		}
		id, err := s.staffOfClinic(c, false)
		if err != nil {
			return err
		}
		a, err := s.Referrals.StaffAccount(c.UserContext(), principal(c).ClinicID, id)
		if err != nil {
			return err
		}
		return c.JSON(staffRewardsResponse{StaffAccount: *a, Link: s.referralLink(a.Code)})
	}
}

func (s *server) staffPayout() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.referralsOn(); err != nil {
			return err
		}
		id, err := s.staffOfClinic(c, true)
		if err != nil {
			return err
		}
		var req referrals.PayoutRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := principal(c)
		out, err := s.Referrals.Payout(c.UserContext(), p.ClinicID, p.ID, id, c.Get("Idempotency-Key"), req)
		if err != nil {
			return err
		}
		return c.Status(201).JSON(out)
	}
}

// referralReport is GET /v1/clinic/reports/referrals; JSON pages the
// held referrals (?after=, ?limit=, the wallet's page rule); its CSV has
// every row in one table with a section column (depth, reward_level,
// top_referrer, held).
func (s *server) referralReport() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.referralsOn(); err != nil {
			return err
		}
		asCSV, err := wantCSV(c)
		if err != nil {
			return err
		}
		after, limit, err := pageParams(c)
		if err != nil {
			return err
		}
		if asCSV {
			after, limit = "", 0
		}
		rep, err := s.Referrals.Report(c.UserContext(), principal(c).ClinicID, after, limit)
		if err != nil {
			return err
		}
		if !asCSV {
			return c.JSON(rep)
		}
		out := [][]string{{"section", "depth_or_level", "patients_or_rewards", "paid", "not_yet", "points", "name", "id", "checks"}}
		for _, d := range rep.Depths {
			out = append(out, []string{"depth", itoa(d.Depth), i64(d.Patients), i64(d.Paid), i64(d.NotYet), "", "", "", ""})
		}
		for _, r := range rep.Rewards {
			out = append(out, []string{"reward_level", itoa(r.Level), i64(r.Rewards), "", "", i64(r.Points), "", "", ""})
		}
		for _, t := range rep.TopReferrers {
			out = append(out, []string{"top_referrer", "1", i64(t.Friends), "", "", i64(t.Points), t.Name, t.CardID, ""})
		}
		for _, h := range rep.Held {
			var checks []string
			for _, ch := range h.Checks {
				checks = append(checks, ch.Rule+": "+ch.Reason)
			}
			out = append(out, []string{"held", itoa(h.Depth), "", "", "", "", h.Name, h.ID, strings.Join(checks, "; ")})
		}
		return sendCSV(c, "referrals", "", out)
	}
}

type staffRewardsReport struct {
	Rows []referrals.StaffRow `json:"rows"`
	Next string               `json:"next,omitempty"`
}

func (s *server) staffRewardsReport() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.referralsOn(); err != nil {
			return err
		}
		asCSV, from, to, err := s.reportQuery(c)
		if err != nil {
			return err
		}
		after, limit, err := pageParams(c)
		if err != nil {
			return err
		}
		if asCSV {
			after, limit = "", 0
		}
		ctx, clinic := c.UserContext(), principal(c).ClinicID
		cards, err := s.Wallet.CardsByStaff(ctx, clinic, from, to)
		if err != nil {
			return err
		}
		issued := map[string]int64{}
		for _, r := range cards {
			issued[r.StaffID] = r.Cards
		}
		rows, next, err := s.Referrals.StaffReport(ctx, clinic, from, to, issued, after, limit)
		if err != nil {
			return err
		}
		if !asCSV {
			return c.JSON(staffRewardsReport{Rows: rows, Next: next})
		}
		out := [][]string{{"staff_id", "enrolled", "rewards", "points", "clawed_back", "paid_out"}}
		for _, r := range rows {
			out = append(out, []string{r.StaffID, i64(r.Enrolled), i64(r.Rewards), i64(r.Points), i64(r.ClawedBack), i64(r.PaidOut)})
		}
		return sendCSV(c, "staff-rewards", "", out)
	}
}

func itoa(i int) string { return i64(int64(i)) }
