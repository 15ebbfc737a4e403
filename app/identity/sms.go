package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// ErrSMSUnavailable means the SMS gateway did not take the message.
var ErrSMSUnavailable = errors.New("identity: SMS gateway unavailable")

// SMS sends a text message to an E.164 phone number.
type SMS interface {
	Send(ctx context.Context, phone, text string) error
}

// LogSMS is the development driver: it writes the message to the log,
// with the phone masked. It is the only place a code is ever logged, so it
// must not be used where the log is shared.
type LogSMS struct{ Logger *slog.Logger }

// Send logs the message.
func (l LogSMS) Send(ctx context.Context, phone, text string) error {
	l.Logger.InfoContext(ctx, "sms (log driver, development only)", "to", MaskPhone(phone), "text", text)
	return nil
}

// MaskPhone keeps the country code's first digit and the last two digits.
func MaskPhone(p string) string {
	if len(p) < 6 {
		return "***"
	}
	return p[:2] + "******" + p[len(p)-2:]
}

// WebhookSMS posts {"phone","text"} as JSON to URL and expects a 2xx.
type WebhookSMS struct {
	URL    string
	Client *http.Client // nil: a client with a 10 s timeout
}

// Send posts the message to the webhook.
func (w WebhookSMS) Send(ctx context.Context, phone, text string) error {
	body, err := json.Marshal(struct {
		Phone string `json:"phone"`
		Text  string `json:"text"`
	}{phone, text})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		// The error text holds the URL, never the phone or the text.
		return fmt.Errorf("sms webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sms webhook: status %d", resp.StatusCode)
	}
	return nil
}
