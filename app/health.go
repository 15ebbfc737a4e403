package app

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

type statusResponse struct {
	Status string `json:"status"`
}

func healthz() fiber.Handler {
	return func(c *fiber.Ctx) error { return c.JSON(statusResponse{Status: "ok"}) }
}

func (s *server) readyz() fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if s.Ready != nil {
			if err := s.Ready(ctx); err != nil {
				s.Logger.Warn("not ready", "err", err)
				return c.Status(503).JSON(statusResponse{Status: "unavailable"})
			}
		}
		return c.JSON(statusResponse{Status: "ok"})
	}
}
