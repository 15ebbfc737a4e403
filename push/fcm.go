package push

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"
)

// FCMConfig selects the FCM project and how to reach it. It comes from
// CAREWALLET_FCM_PROJECT, CAREWALLET_FCM_CREDENTIALS and
// CAREWALLET_FCM_ENDPOINT; with none set, push is off.
//
// Authentication: with CredentialsFile the service-account JSON is used as
// is (its token_uri may point at cmd/fakefcm's /token for local runs);
// with Endpoint and no CredentialsFile the client sends no credentials
// (option.WithoutAuthentication), which is what a local fakefcm needs;
// with neither, Google's application default credentials are used.
type FCMConfig struct {
	Project         string // FCM project id; may come from the credentials file
	CredentialsFile string // path to a service-account JSON
	Endpoint        string // FCM base URL, e.g. http://127.0.0.1:9099 (fakefcm); empty = Google
}

// FCMConfigFromEnv reads the CAREWALLET_FCM_* variables.
func FCMConfigFromEnv(getenv func(string) string) FCMConfig {
	return FCMConfig{
		Project:         getenv("CAREWALLET_FCM_PROJECT"),
		CredentialsFile: getenv("CAREWALLET_FCM_CREDENTIALS"),
		Endpoint:        getenv("CAREWALLET_FCM_ENDPOINT"),
	}
}

// Enabled reports whether any FCM setting is present.
func (c FCMConfig) Enabled() bool {
	return c.Project != "" || c.CredentialsFile != "" || c.Endpoint != ""
}

// FCMSender sends pushes with the firebase-admin-go messaging client.
type FCMSender struct {
	client *messaging.Client
}

// NewFCMSender builds the messaging client. The endpoint gets "/v1"
// appended when it has no path, so both "http://host:port" and the SDK's
// own form "https://fcm.googleapis.com/v1" work.
func NewFCMSender(ctx context.Context, cfg FCMConfig) (*FCMSender, error) {
	opts := []option.ClientOption{option.WithTelemetryDisabled()}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("push: CAREWALLET_FCM_ENDPOINT %q is not an http(s) URL", cfg.Endpoint)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1"
		}
		opts = append(opts, option.WithEndpoint(strings.TrimSuffix(u.String(), "/")))
	}
	switch {
	case cfg.CredentialsFile != "":
		opts = append(opts, option.WithCredentialsFile(cfg.CredentialsFile))
	case cfg.Endpoint != "":
		opts = append(opts, option.WithoutAuthentication())
	}
	var fbCfg *firebase.Config
	if cfg.Project != "" {
		fbCfg = &firebase.Config{ProjectID: cfg.Project}
	} else {
		fbCfg = &firebase.Config{}
	}
	app, err := firebase.NewApp(ctx, fbCfg, opts...)
	if err != nil {
		return nil, fmt.Errorf("push: firebase app: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("push: firebase messaging: %w", err)
	}
	return &FCMSender{client: client}, nil
}

// SendEach sends up to 500 messages with one SendEach call.
func (f *FCMSender) SendEach(ctx context.Context, msgs []Message) ([]Result, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	fm := make([]*messaging.Message, len(msgs))
	for i, m := range msgs {
		fm[i] = fcmMessage(m)
	}
	br, err := f.client.SendEach(ctx, fm)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(msgs))
	for i, r := range br.Responses {
		if r.Success {
			out[i] = Result{Outcome: Delivered}
			continue
		}
		out[i] = classifyFCM(r.Error)
	}
	return out, nil
}

func fcmMessage(m Message) *messaging.Message {
	msg := &messaging.Message{
		Token:        m.Token,
		Data:         m.Data,
		Notification: &messaging.Notification{Title: m.Alert.Title, Body: m.Alert.Body},
	}
	switch m.Platform {
	case "android":
		msg.Android = &messaging.AndroidConfig{Priority: "high"}
	case "ios":
		msg.APNS = &messaging.APNSConfig{Headers: map[string]string{"apns-priority": "10"}}
	}
	return msg
}

// classifyFCM maps a firebase-admin-go error to what the pipeline does:
// UNREGISTERED and an INVALID_ARGUMENT about the token remove the token;
// 429 (QUOTA_EXCEEDED), 500 (INTERNAL), 503 (UNAVAILABLE) and transport
// errors are retried; the rest is recorded. Note the SDK itself already
// retries 503 and connection errors up to 4 times before returning.
func classifyFCM(err error) Result {
	r := Result{Outcome: Failed, Code: "UNKNOWN"}
	if resp := errorutils.HTTPResponse(err); resp != nil {
		r.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	switch {
	case messaging.IsUnregistered(err):
		r.Outcome, r.Code = TokenInvalid, "UNREGISTERED"
	case messaging.IsInvalidArgument(err) || errorutils.IsInvalidArgument(err):
		r.Code = "INVALID_ARGUMENT"
		if strings.Contains(strings.ToLower(err.Error()), "token") {
			r.Outcome = TokenInvalid
		}
	case messaging.IsQuotaExceeded(err) || errorutils.IsResourceExhausted(err):
		r.Outcome, r.Code = Retryable, "QUOTA_EXCEEDED"
	case messaging.IsUnavailable(err) || errorutils.IsUnavailable(err):
		r.Outcome, r.Code = Retryable, "UNAVAILABLE"
	case messaging.IsInternal(err) || errorutils.IsInternal(err):
		r.Outcome, r.Code = Retryable, "INTERNAL"
	case errorutils.IsDeadlineExceeded(err):
		r.Outcome, r.Code = Retryable, "DEADLINE_EXCEEDED"
	case messaging.IsSenderIDMismatch(err):
		r.Code = "SENDER_ID_MISMATCH"
	case messaging.IsThirdPartyAuthError(err):
		r.Code = "THIRD_PARTY_AUTH_ERROR"
	case errorutils.IsUnauthenticated(err) || errorutils.IsPermissionDenied(err):
		r.Code = "AUTH"
	case errorutils.IsUnknown(err) && errorutils.HTTPResponse(err) == nil:
		r.Outcome, r.Code = Retryable, "TRANSPORT" // no response at all
	}
	return r
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > 0 {
		return time.Duration(min(n, 3600)) * time.Second
	}
	if t, err := time.Parse(time.RFC1123, v); err == nil && t.After(now) {
		return min(t.Sub(now), time.Hour)
	}
	return 0
}

var _ Sender = (*FCMSender)(nil)

// NewSenderFromEnv returns the FCM sender the environment asks for, or nil
// (push off) when no CAREWALLET_FCM_* variable is set.
func NewSenderFromEnv(ctx context.Context, getenv func(string) string) (Sender, error) {
	cfg := FCMConfigFromEnv(getenv)
	if !cfg.Enabled() {
		return nil, nil
	}
	s, err := NewFCMSender(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return s, nil
}
