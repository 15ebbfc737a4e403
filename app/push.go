package app

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"carewallet/app/identity"
	"carewallet/push"
	"carewallet/referrals"
)

// Websocket limits. The heartbeat comes from push.Options (PingInterval,
// IdleTimeout): a peer that neither answers pings nor sends anything for
// the idle timeout is dropped. Frames from the client over wsMaxFrame close
// the connection with 1009.
const (
	wsMaxFrame  = 64 << 10
	wsWriteWait = 10 * time.Second
)

// Close codes the server sends.
const (
	wsCloseGoingAway     = 1001 // server shutting down
	wsCloseUnsupported   = 1003 // binary frame
	wsClosePolicy        = 1008 // slow consumer, bad message, session ended
	wsCloseInternalError = 1011
)

var errPushOff = &apiError{Status: 503, Code: "push_unavailable", Message: "realtime delivery is not configured"}

type deviceRequest struct {
	Token      string `json:"token" api:"required"`
	Platform   string `json:"platform" api:"required,enum=android|ios|web"`
	AppVersion string `json:"app_version,omitempty"`
	Locale     string `json:"locale,omitempty"`
}

// putDevice registers the caller's FCM token (idempotent; a token moves to
// the latest account that registers it).
func (s *server) putDevice() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.Push == nil {
			return errPushOff
		}
		var req deviceRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := principal(c)
		if err := s.Push.RegisterDevice(c.UserContext(), p.ID, p.SessionID, push.Device{
			Token: req.Token, Platform: req.Platform, AppVersion: req.AppVersion, Locale: req.Locale}); err != nil {
			return err
		}
		if s.Referrals != nil {
			// The referrals remember which accounts used a device (a hash
			// of the token), for the self-referral, shared-device and
			// staff collusion checks.
			who := p.ID
			if p.Kind != identity.KindPatient {
				who = referrals.StaffAccountID(p.ID)
			}
			if err := s.Referrals.SawDevice(c.UserContext(), who, req.Token); err != nil {
				return err
			}
		}
		return c.SendStatus(204)
	}
}

func (s *server) deleteDevice() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.Push == nil {
			return errPushOff
		}
		token, err := url.PathUnescape(c.Params("token"))
		if err != nil || token == "" {
			return &apiError{Status: 400, Code: "invalid_input", Message: "token must be a URL-escaped device token", Field: "token"}
		}
		if err := s.Push.RemoveDevice(c.UserContext(), principal(c).ID, token); err != nil {
			return err
		}
		return c.SendStatus(204)
	}
}

type eventsResponse struct {
	Events    []push.Event `json:"events"`
	NextAfter int64        `json:"next_after"`
}

var eventsQuery = []param{
	{Name: "after", Type: "integer", Description: "return events with seq greater than this (default 0)"},
	{Name: "limit", Type: "integer", Description: "at most this many events, 1..500 (default 100)"},
}

// listEvents pages through the caller's inbox by seq.
func (s *server) listEvents() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.Push == nil {
			return errPushOff
		}
		after, err := intQuery(c, "after", 0, 0, 1<<62)
		if err != nil {
			return err
		}
		limit, err := intQuery(c, "limit", push.DefaultPageSize, 1, push.MaxEventsPage)
		if err != nil {
			return err
		}
		evs, err := s.Push.Events(c.UserContext(), principal(c).ID, after, int(limit))
		if err != nil {
			return err
		}
		next := after
		if len(evs) > 0 {
			next = evs[len(evs)-1].Seq
		}
		return c.JSON(eventsResponse{Events: nonNil(evs), NextAfter: next})
	}
}

func intQuery(c *fiber.Ctx, name string, def, lo, hi int64) (int64, error) {
	raw := c.Query(name)
	if raw == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, &apiError{Status: 400, Code: "invalid_input", Field: name,
			Message: name + " must be an integer from " + strconv.FormatInt(lo, 10) + " to " + strconv.FormatInt(hi, 10)}
	}
	return v, nil
}

type ticketResponse struct {
	Ticket    string `json:"ticket"`
	ExpiresIn int    `json:"expires_in"`
}

// wsTicket issues a single-use, 30-second ticket for GET /v1/ws?ticket=,
// for clients that cannot set headers on the upgrade.
func (s *server) wsTicket() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.Push == nil {
			return errPushOff
		}
		p := principal(c)
		t, ttl, err := s.Push.IssueTicket(c.UserContext(), p.ID, p.SessionID)
		if err != nil {
			return err
		}
		return c.JSON(ticketResponse{Ticket: t, ExpiresIn: int(ttl / time.Second)})
	}
}

const (
	wsPrincipalKey = "carewallet.ws.principal"
	wsAfterKey     = "carewallet.ws.after"
)

// wsUpgrade authenticates the upgrade (Authorization: Bearer, or a ticket
// in ?ticket=; never an access token in the URL) and hands the connection
// to wsSession. ?after=SEQ starts with a replay, like a resume message.
func (s *server) wsUpgrade() fiber.Handler {
	upgrade := websocket.New(s.wsSession, websocket.Config{
		HandshakeTimeout: 10 * time.Second,
		// Clients send only short resume messages; a bigger frame (up to
		// the 64 KiB limit) is read in chunks. Held for the socket's life.
		ReadBufferSize:  512,
		WriteBufferSize: 1024,
		// Idle connections hold no write buffer.
		WriteBufferPool: &sync.Pool{},
	})
	return func(c *fiber.Ctx) error {
		if s.Push == nil {
			return errPushOff
		}
		p, err := s.wsPrincipal(c)
		if err != nil {
			return err
		}
		if !websocket.IsWebSocketUpgrade(c) {
			return &apiError{Status: 426, Code: "upgrade_required", Message: "this endpoint speaks websocket only"}
		}
		if s.Push.SocketsFull(p.ID) {
			// Refused before the upgrade, as a plain 429; Subscribe
			// enforces the same cap against concurrent upgrades.
			return push.ErrTooManySockets
		}
		after, err := intQuery(c, "after", -1, 0, 1<<62)
		if err != nil {
			return err
		}
		c.Locals(wsPrincipalKey, p)
		c.Locals(wsAfterKey, after)
		return upgrade(c)
	}
}

func (s *server) wsPrincipal(c *fiber.Ctx) (Principal, error) {
	if c.Get(fiber.HeaderAuthorization) != "" {
		return s.principalFromRequest(c)
	}
	ticket := c.Query("ticket")
	if ticket == "" {
		return Principal{}, errUnauthenticated
	}
	userID, sessionID, err := s.Push.RedeemTicket(c.UserContext(), ticket)
	if err != nil {
		return Principal{}, err
	}
	se, err := s.Identity.ActiveSession(c.UserContext(), sessionID)
	if err != nil {
		if errors.Is(err, identity.ErrSessionRevoked) {
			return Principal{}, errUnauthenticated
		}
		return Principal{}, err
	}
	if se.SubjectID != userID {
		return Principal{}, errUnauthenticated
	}
	return Principal{Kind: se.Kind, ID: se.SubjectID, ClinicID: se.ClinicID, Role: se.Role, SessionID: se.ID}, nil
}

// wsClientMessage is the one message a client sends.
type wsClientMessage struct {
	Type  string `json:"type"`
	After *int64 `json:"after"`
}

// wsSession runs one connection: this goroutine reads (resume messages,
// pongs), a second one writes inbox frames and pings. Either side ending
// closes the connection and the other follows.
func (s *server) wsSession(conn *websocket.Conn) {
	p, _ := conn.Locals(wsPrincipalKey).(Principal)
	after, _ := conn.Locals(wsAfterKey).(int64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, err := s.Push.Subscribe(ctx, p.ID, after)
	if errors.Is(err, push.ErrTooManySockets) {
		wsClose(conn, websocket.ClosePolicyViolation, "too many open websockets for this account")
		return
	}
	if err != nil {
		s.Logger.Error("websocket subscribe", "err", err)
		wsClose(conn, wsCloseInternalError, "internal error")
		return
	}
	defer sub.Close()

	conn.SetReadLimit(wsMaxFrame)
	_, idle := s.Push.Heartbeat()
	alive := func() { _ = conn.SetReadDeadline(time.Now().Add(idle)) }
	alive()
	conn.SetPongHandler(func(string) error { alive(); return nil })

	// fasthttp closes a hijacked connection only when this handler
	// returns (its Close is a no-op), so the two goroutines stop each
	// other through deadlines on the raw connection instead.
	raw := conn.NetConn()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.wsWrite(ctx, conn, sub, p)
		_ = raw.SetReadDeadline(time.Now()) // wake the reader: the socket is done
	}()
	// Cut off (slow consumer, shutdown) or ending: abort a write stuck on
	// a client that stopped reading. The writer then still tries the close
	// frame with a deadline of its own.
	watcherDone := make(chan struct{})
	stopWatch := sub.AfterEnd(func() {
		defer close(watcherDone)
		_ = raw.SetWriteDeadline(time.Now())
	})
	for {
		typ, msg, err := conn.ReadMessage()
		if err != nil {
			break // closed, timed out, or over the frame limit (1009 already sent)
		}
		select {
		case <-writerDone:
		default:
			alive()
		}
		if typ != websocket.TextMessage {
			wsClose(conn, wsCloseUnsupported, "text frames only")
			break
		}
		var m wsClientMessage
		if err := decodeStrict(msg, &m); err != nil || m.Type != "resume" || m.After == nil || *m.After < 0 {
			wsClose(conn, wsClosePolicy, `expected {"type":"resume","after":SEQ}`)
			break
		}
		sub.Resume(*m.After)
	}
	sub.Close() // ends the writer, aborting a stuck write (see above)
	cancel()
	<-writerDone
	if !stopWatch() {
		<-watcherDone // nothing may touch conn once this handler returns: fasthttp reuses it
	}
}

func (s *server) wsWrite(ctx context.Context, conn *websocket.Conn, sub *push.Subscription, p Principal) {
	every, _ := s.Push.Heartbeat()
	nextPing := time.Now().Add(every)
	for {
		wait, cancel := context.WithDeadline(ctx, nextPing)
		frames, err := sub.Next(wait)
		cancel()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
		case errors.Is(err, push.ErrSlowConsumer):
			wsClose(conn, wsClosePolicy, "slow consumer: more than 1 MiB queued")
			return
		case errors.Is(err, push.ErrErased):
			wsClose(conn, wsClosePolicy, "account deleted")
			return
		case errors.Is(err, push.ErrClosed):
			wsClose(conn, wsCloseGoingAway, "server shutting down")
			return
		default:
			s.Logger.Error("websocket read inbox", "err", err)
			wsClose(conn, wsCloseInternalError, "internal error")
			return
		}
		for _, f := range frames {
			_ = conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
			if err := conn.WriteMessage(websocket.TextMessage, f.JSON); err != nil {
				_ = conn.Close()
				return
			}
		}
		if now := time.Now(); !now.Before(nextPing) {
			nextPing = now.Add(every)
			// A logout elsewhere (any instance) ends the socket at the next ping.
			if _, err := s.Identity.ActiveSession(ctx, p.SessionID); errors.Is(err, identity.ErrSessionRevoked) {
				wsClose(conn, wsClosePolicy, "session ended")
				return
			}
			if err := conn.WriteControl(websocket.PingMessage, nil, now.Add(wsWriteWait)); err != nil {
				_ = conn.Close()
				return
			}
		}
	}
}

// wsClose sends a close frame with code and reason and closes the
// connection; WriteControl is safe alongside the other goroutine's writes.
func wsClose(conn *websocket.Conn, code int, reason string) {
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	_ = conn.Close()
}
