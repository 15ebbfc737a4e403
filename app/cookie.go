package app

import (
	"time"

	"github.com/gofiber/fiber/v2"
)

// The web console keeps its refresh token where script cannot read it: an
// HttpOnly, SameSite=Strict cookie that the browser sends to the refresh
// route only. It is opt-in (refresh_cookie on sign-in and refresh), so
// mobile apps and integrators keep the token in the JSON body as before.
const (
	refreshCookieName = "carewallet_refresh"
	refreshCookiePath = "/v1/auth/refresh"
)

// setRefreshCookie hands the refresh token to the browser as the cookie.
// It is Secure when the request came over TLS or through a proxy that
// says so (X-Forwarded-Proto: https): over plain HTTP (localhost) a Secure
// cookie would never be sent back.
func setRefreshCookie(c *fiber.Ctx, token string) {
	c.Cookie(&fiber.Cookie{Name: refreshCookieName, Value: token, Path: refreshCookiePath,
		MaxAge: int(RefreshTTL / time.Second), Secure: c.Protocol() == "https", HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode})
}

// clearRefreshCookie expires the cookie (sign-out, a refused refresh).
func clearRefreshCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: refreshCookieName, Value: "", Path: refreshCookiePath, MaxAge: -1,
		Expires: time.Unix(0, 0), Secure: c.Protocol() == "https", HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode})
}

// refreshCookieHeader documents the Set-Cookie of the routes that set it.
var refreshCookieHeader = []param{{Name: "Set-Cookie", Description: "with refresh_cookie: " + refreshCookieName +
	"=…; Path=" + refreshCookiePath + "; HttpOnly; SameSite=Strict (Secure over TLS); the refresh token is then left out of the body"}}
