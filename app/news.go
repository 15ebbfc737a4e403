package app

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/identity"
	"carewallet/news"
)

var errNewsOff = &apiError{Status: 503, Code: "news_unavailable", Message: "news and chat are not configured"}

var newsPageQuery = []param{
	{Name: "after", Description: "cursor from the previous page's next"},
	{Name: "limit", Type: "integer", Description: "1..100 (default 20)"},
}

// news guards the news routes when the service is off.
func (s *server) news(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.News == nil {
			return errNewsOff
		}
		return h(c)
	}
}

func newsPage(c *fiber.Ctx) (string, int, error) {
	limit, err := intQuery(c, "limit", 0, 1, 100)
	return c.Query("after"), int(limit), err
}

// createPost is POST /v1/clinic/news.
func (s *server) createPost() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		var d news.Draft
		if err := decodeJSON(c, &d); err != nil {
			return err
		}
		p := principal(c)
		post, err := s.News.CreatePost(c.UserContext(), p.ClinicID, p.ID, d)
		if err != nil {
			return err
		}
		v, err := s.News.ManagerPost(c.UserContext(), p.ClinicID, post.ID)
		if err != nil {
			return err
		}
		return c.Status(201).JSON(v)
	})
}

func (s *server) clinicPosts() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		after, limit, err := newsPage(c)
		if err != nil {
			return err
		}
		page, err := s.News.ClinicPosts(c.UserContext(), principal(c).ClinicID, after, limit)
		if err != nil {
			return err
		}
		return c.JSON(page)
	})
}

// newsWeekResponse: whether a post published now is allowed, and from
// when the next one is (now when it is).
type newsWeekResponse struct {
	FreeNow       bool      `json:"free_now"`
	NextAllowedAt time.Time `json:"next_allowed_at"`
}

func (s *server) newsWeek() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		next, free, err := s.News.NextFree(c.UserContext(), principal(c).ClinicID)
		if err != nil {
			return err
		}
		return c.JSON(newsWeekResponse{FreeNow: free, NextAllowedAt: next})
	})
}

func (s *server) clinicPost() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		v, err := s.News.ManagerPost(c.UserContext(), principal(c).ClinicID, c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(v)
	})
}

func (s *server) editPost() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		var e news.Edit
		if err := decodeJSON(c, &e); err != nil {
			return err
		}
		p := principal(c)
		if _, err := s.News.EditPost(c.UserContext(), p.ClinicID, c.Params("id"), e); err != nil {
			return err
		}
		v, err := s.News.ManagerPost(c.UserContext(), p.ClinicID, c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(v)
	})
}

// withdrawPost cancels or withdraws a post; the inbox events of a
// withdrawn one stay, marked "withdrawn": true. Withdrawing again answers
// 204 and marks again, so a retry after a failed mark completes it.
func (s *server) withdrawPost() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		ctx, id := c.UserContext(), c.Params("id")
		if err := s.News.WithdrawPost(ctx, principal(c).ClinicID, id); err != nil {
			return err
		}
		if s.Push != nil {
			if _, err := s.Push.Amend(ctx, news.PostKey(id), map[string]any{"withdrawn": true}); err != nil {
				return err
			}
		}
		return c.SendStatus(204)
	})
}

// pollResults is GET /v1/clinic/news/{id}/results (JSON or CSV).
func (s *server) pollResults() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		asCSV, err := wantCSV(c)
		if err != nil {
			return err
		}
		r, err := s.News.ClinicResults(c.UserContext(), principal(c).ClinicID, c.Params("id"))
		if err != nil {
			return err
		}
		if asCSV {
			return sendCSV(c, "poll-"+c.Params("id"), "", r.CSV())
		}
		return c.JSON(r)
	})
}

func (s *server) feed() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		after, limit, err := newsPage(c)
		if err != nil {
			return err
		}
		page, err := s.News.Feed(c.UserContext(), principal(c).ID, after, limit)
		if err != nil {
			return err
		}
		return c.JSON(page)
	})
}

func (s *server) newsPost() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		v, err := s.News.PostFor(c.UserContext(), principal(c).ID, c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(v)
	})
}

func (s *server) readPost() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		if err := s.News.MarkRead(c.UserContext(), principal(c).ID, c.Params("id")); err != nil {
			return err
		}
		return c.SendStatus(204)
	})
}

type voteRequest struct {
	Option int `json:"option" api:"required"` // 1-based
}

func (s *server) vote() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		var req voteRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		r, err := s.News.CastVote(c.UserContext(), principal(c).ID, c.Params("id"), req.Option)
		if err != nil {
			return err
		}
		return c.JSON(r)
	})
}

func (s *server) myResults() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		r, err := s.News.PatientResults(c.UserContext(), principal(c).ID, c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(r)
	})
}

// postImage serves a post's image to a patient who may read the post or
// to the clinic's staff.
func (s *server) postImage() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		p := principal(c)
		var img *news.Image
		var err error
		if p.Kind == identity.KindStaff {
			img, err = s.News.StaffImage(c.UserContext(), p.ClinicID, c.Params("id"))
		} else {
			img, err = s.News.PatientImage(c.UserContext(), p.ID, c.Params("id"))
		}
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, img.Type)
		c.Set(fiber.HeaderCacheControl, "private, max-age=300")
		return c.Send(img.Data)
	})
}
