package app

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"carewallet/app/identity"
	"carewallet/news"
	"carewallet/wallet"
)

type chatStartRequest struct {
	ClinicID string `json:"clinic_id" api:"required"`
	Text     string `json:"text" api:"required"`
}

type chatTextRequest struct {
	Text string `json:"text" api:"required"`
}

type chatReadRequest struct {
	UpTo int64 `json:"up_to"` // 0: everything so far
}

// chatMessage is a message as either side sees it: a manager's reply is
// signed with the manager's name.
type chatMessage struct {
	news.Message
	AuthorName string `json:"author_name,omitempty"`
}

type chatStartResponse struct {
	Thread  news.ThreadView `json:"thread"`
	Message chatMessage     `json:"message"`
}

type myChatsResponse struct {
	Threads []news.ThreadView `json:"threads"`
}

type patientConversation struct {
	Thread   news.ThreadView `json:"thread"`
	Messages []chatMessage   `json:"messages"`
}

// clinicThread is a thread in the managers' list, with the patient's name.
type clinicThread struct {
	news.ThreadView
	PatientName string `json:"patient_name"`
}

type clinicChatsResponse struct {
	Threads []clinicThread `json:"threads"`
	Next    string         `json:"next,omitempty"`
}

// visit is one of the patient's receipts at the clinic.
type visit struct {
	Date       time.Time `json:"date"`
	CardID     string    `json:"card_id"`
	ReceiptID  string    `json:"receipt_id"`
	Paid       int64     `json:"paid"`        // money paid, minor units
	PointsPaid int64     `json:"points_paid"` // points that paid part of it
	Points     int64     `json:"points"`      // cashback earned
	StaffID    string    `json:"staff_id,omitempty"`
	StaffName  string    `json:"staff_name,omitempty"`
}

// patientContext is what a manager sees beside a chat.
type patientContext struct {
	ID     string               `json:"id"`
	Name   string               `json:"name"`
	Cards  []wallet.CardSummary `json:"cards"`
	Visits []visit              `json:"visits"`
}

type managerConversation struct {
	Thread   clinicThread   `json:"thread"`
	Messages []chatMessage  `json:"messages"`
	Patient  patientContext `json:"patient"`
}

var chatAfterQuery = []param{{Name: "after", Type: "integer", Description: "messages with seq greater than this (default 0)"}}

var clinicChatsQuery = []param{
	{Name: "status", Description: "open or closed (default both)"},
	{Name: "unread", Type: "boolean", Description: "true: only threads with unread patient messages"},
	{Name: "after", Description: "cursor from the previous page's next"},
	{Name: "limit", Type: "integer", Description: "1..100 (default 20)"},
}

// names signs messages: a manager's with their name and "(manager)".
func (s *server) names(ctx context.Context, ms []news.Message) []chatMessage {
	out := make([]chatMessage, len(ms))
	cache := map[string]string{}
	for i, m := range ms {
		out[i] = chatMessage{Message: m}
		if m.Author != news.AuthorManager {
			continue
		}
		name, ok := cache[m.AuthorID]
		if !ok {
			if st, err := s.Identity.Staff(ctx, m.AuthorID); err == nil && st.Name != "" {
				name = st.Name + " (manager)"
			} else {
				name = "manager"
			}
			cache[m.AuthorID] = name
		}
		out[i].AuthorName = name
	}
	return out
}

func (s *server) patientName(ctx context.Context, id string) string {
	p, err := s.Identity.Patient(ctx, id)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(p.FirstName + " " + p.LastName)
}

func (s *server) startChat() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		var req chatStartRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		ctx := c.UserContext()
		p := principal(c)
		t, m, err := s.News.StartChat(ctx, p.ID, req.ClinicID, req.Text)
		if err != nil {
			return err
		}
		views, err := s.News.MyThreads(ctx, p.ID)
		if err != nil {
			return err
		}
		res := chatStartResponse{Message: chatMessage{Message: *m}}
		for _, v := range views {
			if v.ID == t.ID {
				res.Thread = v
			}
		}
		return c.Status(201).JSON(res)
	})
}

func (s *server) myChats() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		ts, err := s.News.MyThreads(c.UserContext(), principal(c).ID)
		if err != nil {
			return err
		}
		return c.JSON(myChatsResponse{Threads: ts})
	})
}

func (s *server) myChat() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		after, err := intQuery(c, "after", 0, 0, 1<<62)
		if err != nil {
			return err
		}
		conv, err := s.News.PatientThread(c.UserContext(), principal(c).ID, c.Params("id"), after)
		if err != nil {
			return err
		}
		return c.JSON(patientConversation{Thread: conv.Thread, Messages: s.names(c.UserContext(), conv.Messages)})
	})
}

func (s *server) patientMessage() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		var req chatTextRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		m, err := s.News.PatientSend(c.UserContext(), principal(c).ID, c.Params("id"), req.Text)
		if err != nil {
			return err
		}
		return c.Status(201).JSON(chatMessage{Message: *m})
	})
}

func (s *server) patientChatRead() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		var req chatReadRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if err := s.News.PatientRead(c.UserContext(), principal(c).ID, c.Params("id"), req.UpTo); err != nil {
			return err
		}
		return c.SendStatus(204)
	})
}

func (s *server) clinicChats() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		limit, err := intQuery(c, "limit", 0, 1, 100)
		if err != nil {
			return err
		}
		unread := false
		switch c.Query("unread") {
		case "", "false":
		case "true":
			unread = true
		default:
			return &apiError{Status: 400, Code: "invalid_input", Message: "unread: want true or false", Field: "unread"}
		}
		ctx := c.UserContext()
		page, err := s.News.ClinicThreads(ctx, principal(c).ClinicID, c.Query("status"), unread, c.Query("after"), int(limit))
		if err != nil {
			return err
		}
		res := clinicChatsResponse{Threads: []clinicThread{}, Next: page.Next}
		for _, t := range page.Threads {
			res.Threads = append(res.Threads, clinicThread{ThreadView: t, PatientName: s.patientName(ctx, t.PatientID)})
		}
		return c.JSON(res)
	})
}

// clinicChat is the thread with the patient's context: their cards in
// this clinic and their latest visits.
func (s *server) clinicChat() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		after, err := intQuery(c, "after", 0, 0, 1<<62)
		if err != nil {
			return err
		}
		ctx := c.UserContext()
		clinicID := principal(c).ClinicID
		conv, err := s.News.ManagerThread(ctx, clinicID, c.Params("id"), after)
		if err != nil {
			return err
		}
		pid := conv.Thread.PatientID
		pc := patientContext{ID: pid, Name: s.patientName(ctx, pid), Cards: []wallet.CardSummary{}, Visits: []visit{}}
		if pc.Cards, err = s.Wallet.LookupPatient(ctx, clinicID, pid); err != nil {
			return err
		}
		if pc.Visits, err = s.visits(ctx, clinicID, pid); err != nil {
			return err
		}
		return c.JSON(managerConversation{Thread: clinicThread{ThreadView: conv.Thread, PatientName: pc.Name},
			Messages: s.names(ctx, conv.Messages), Patient: pc})
	})
}

// visits are the patient's latest receipts at the clinic (their cashback
// entries), newest first.
func (s *server) visits(ctx context.Context, clinicID, patientID string) ([]visit, error) {
	page, err := s.Wallet.Journal(ctx, wallet.JournalFilter{ClinicID: clinicID, PatientID: patientID, Kind: wallet.KindCashback, Limit: 50})
	if err != nil {
		return nil, err
	}
	out := []visit{}
	staff := map[string]string{}
	for _, e := range page.Rows {
		var earning wallet.Earning
		_ = json.Unmarshal(e.Details, &earning)
		v := visit{Date: e.Created, CardID: e.CardID, ReceiptID: e.ReceiptID, Paid: earning.Paid, PointsPaid: earning.PointsUsed,
			Points: e.Amount, StaffID: e.StaffID}
		if e.StaffID != "" {
			name, ok := staff[e.StaffID]
			if !ok {
				if st, err := s.Identity.Staff(ctx, e.StaffID); err == nil {
					name = st.Name
				} else if !errors.Is(err, identity.ErrNotFound) {
					return nil, err
				}
				staff[e.StaffID] = name
			}
			v.StaffName = name
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *server) managerMessage() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		var req news.Reply
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		p := principal(c)
		m, err := s.News.ManagerReply(c.UserContext(), p.ClinicID, p.ID, c.Params("id"), c.Get("Idempotency-Key"), req)
		if err != nil {
			return err
		}
		return c.Status(201).JSON(s.names(c.UserContext(), []news.Message{*m})[0])
	})
}

func (s *server) managerChatRead() fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		var req chatReadRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if err := s.News.ManagerRead(c.UserContext(), principal(c).ClinicID, c.Params("id"), req.UpTo); err != nil {
			return err
		}
		return c.SendStatus(204)
	})
}

func (s *server) setChatStatus(status string) fiber.Handler {
	return s.news(func(c *fiber.Ctx) error {
		v, err := s.News.SetThreadStatus(c.UserContext(), principal(c).ClinicID, c.Params("id"), status)
		if err != nil {
			return err
		}
		return c.JSON(v)
	})
}
