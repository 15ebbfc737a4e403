// Package pushtest is a local stand-in for the FCM HTTP v1 API that the real
// firebase-admin-go client talks to (point it here with
// option.WithEndpoint, i.e. CAREWALLET_FCM_ENDPOINT). It records every
// accepted message, injects the errors FCM returns (UNREGISTERED, token
// INVALID_ARGUMENT, 429 with Retry-After, 500, 503) at given rates or by
// script per token, enforces a per-minute quota, and serves an OAuth2 token
// endpoint so a service-account JSON whose token_uri points here works.
//
// It lives beside push as its test package (push's tests and the app's
// start it in-process with New and httptest); cmd/fakefcm wraps it as a
// program. Only tests and cmd/fakefcm import it.
package pushtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2" // which sends fail, at the configured rates: a test fixture, nothing secret
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is an error the emulator answers with.
type Fault string

const (
	OK              Fault = ""
	Unregistered    Fault = "UNREGISTERED"     // 404, token gone
	InvalidArgument Fault = "INVALID_ARGUMENT" // 400, bad registration token
	QuotaExceeded   Fault = "QUOTA_EXCEEDED"   // 429 with Retry-After
	Internal        Fault = "INTERNAL"         // 500
	Unavailable     Fault = "UNAVAILABLE"      // 503 with Retry-After
)

// Config sets the emulator's behaviour; the zero value accepts everything.
type Config struct {
	// Project, when set, is the only project id accepted (others get 404).
	Project string
	// Rates (0..1) at which a send fails with the given fault.
	UnregisteredRate, Rate429, Rate500, Rate503 float64
	// RetryAfter is sent with 429 and 503 (whole seconds; 0 sends none).
	RetryAfter time.Duration
	// QuotaPerMinute > 0 answers 429 QUOTA_EXCEEDED, with Retry-After up to
	// the next minute, once a minute's sends exceed it.
	QuotaPerMinute int
	// MaxRecorded caps the messages kept for GET /messages (default
	// 100,000; negative records nothing).
	MaxRecorded int
	// Now is the clock (quota windows); time.Now when nil.
	Now func() time.Time
}

// Received is one accepted message as recorded.
type Received struct {
	Name       string          `json:"name"`
	Token      string          `json:"token"`
	Message    json.RawMessage `json:"message"`
	ReceivedAt time.Time       `json:"received_at"`
}

// Stats count requests by outcome.
type Stats struct {
	Requests  int64            `json:"requests"`
	Delivered int64            `json:"delivered"`
	Faults    map[string]int64 `json:"faults"`
}

// Server is the emulator; it is an http.Handler.
type Server struct {
	cfg Config
	mux *http.ServeMux

	mu         sync.Mutex
	byToken    map[string][]Received
	recorded   int
	scripts    map[string][]Fault
	gone       map[string]bool
	windowFrom time.Time
	windowN    int
	faults     map[Fault]int64

	requests, delivered, seq atomic.Int64
}

// New builds an emulator.
func New(cfg Config) *Server {
	if cfg.MaxRecorded == 0 {
		cfg.MaxRecorded = 100_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), byToken: map[string][]Received{},
		scripts: map[string][]Fault{}, gone: map[string]bool{}, faults: map[Fault]int64{}}
	s.mux.HandleFunc("POST /v1/projects/{project}/messages:send", s.send)
	s.mux.HandleFunc("GET /messages", s.listMessages)
	s.mux.HandleFunc("DELETE /messages", s.resetMessages)
	s.mux.HandleFunc("POST /control/script", s.controlScript)
	s.mux.HandleFunc("POST /control/unregister", s.controlUnregister)
	s.mux.HandleFunc("GET /stats", s.stats)
	s.mux.HandleFunc("POST /token", s.token)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Script makes the next sends to token fail with the given faults, in
// order (OK lets one through); after them the rates apply again.
func (s *Server) Script(token string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[token] = append(s.scripts[token], faults...)
}

// Unregister makes every later send to the tokens fail with UNREGISTERED.
func (s *Server) Unregister(tokens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tokens {
		s.gone[t] = true
	}
}

// Messages returns the recorded messages for token ("" for all).
func (s *Server) Messages(token string) []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token != "" {
		return append([]Received(nil), s.byToken[token]...)
	}
	var out []Received
	for _, rs := range s.byToken {
		out = append(out, rs...)
	}
	return out
}

// Reset forgets recorded messages, scripts and unregistered tokens.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byToken, s.recorded = map[string][]Received{}, 0
	s.scripts, s.gone = map[string][]Fault{}, map[string]bool{}
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Requests: s.requests.Load(), Delivered: s.delivered.Load(), Faults: map[string]int64{}}
	for f, n := range s.faults {
		st.Faults[string(f)] = n
	}
	return st
}

type sendRequest struct {
	ValidateOnly bool `json:"validate_only"`
	Message      struct {
		Token     string `json:"token"`
		Topic     string `json:"topic"`
		Condition string `json:"condition"`
	} `json:"message"`
}

// decide picks the fault for one send, and the Retry-After to send.
func (s *Server) decide(token string) (Fault, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if script := s.scripts[token]; len(script) > 0 {
		f := script[0]
		if len(script) == 1 {
			delete(s.scripts, token)
		} else {
			s.scripts[token] = script[1:]
		}
		return f, s.cfg.RetryAfter
	}
	if s.gone[token] {
		return Unregistered, 0
	}
	if strings.HasPrefix(token, "invalid:") {
		return InvalidArgument, 0
	}
	if q := s.cfg.QuotaPerMinute; q > 0 {
		now := s.cfg.Now()
		if now.Sub(s.windowFrom) >= time.Minute {
			s.windowFrom, s.windowN = now.Truncate(time.Minute), 0
		}
		if s.windowN >= q {
			return QuotaExceeded, max(time.Second, s.windowFrom.Add(time.Minute).Sub(now))
		}
		s.windowN++
	}
	p := rand.Float64()
	for _, fr := range []struct {
		f    Fault
		rate float64
	}{{Unregistered, s.cfg.UnregisteredRate}, {QuotaExceeded, s.cfg.Rate429}, {Internal, s.cfg.Rate500}, {Unavailable, s.cfg.Rate503}} {
		if p < fr.rate {
			return fr.f, s.cfg.RetryAfter
		}
		p -= fr.rate
	}
	return OK, 0
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	project := r.PathValue("project")
	if s.cfg.Project != "" && project != s.cfg.Project {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "", "Requested entity was not found.", 0)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
	if err != nil || len(body) > 64<<10 {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Message is too big or unreadable.", 0)
		return
	}
	var req sendRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid JSON payload received.", 0)
		return
	}
	token := req.Message.Token
	if token == "" {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT",
			"Exactly one of token, topic or condition must be set (this emulator supports token).", 0)
		return
	}
	fault, retryAfter := s.decide(token)
	if fault != OK {
		s.mu.Lock()
		s.faults[fault]++
		s.mu.Unlock()
	}
	switch fault {
	case OK:
	case Unregistered:
		writeError(w, http.StatusNotFound, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.", 0)
		return
	case InvalidArgument:
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT",
			"The registration token is not a valid FCM registration token", 0)
		return
	case QuotaExceeded:
		writeError(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED",
			"Quota exceeded for quota metric 'Send requests'.", retryAfter)
		return
	case Internal:
		writeError(w, http.StatusInternalServerError, "INTERNAL", "INTERNAL", "Internal error encountered.", 0)
		return
	case Unavailable:
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable.", retryAfter)
		return
	default:
		writeError(w, http.StatusInternalServerError, "INTERNAL", string(fault), "Scripted fault.", 0)
		return
	}
	name := fmt.Sprintf("projects/%s/messages/%d", project, s.seq.Add(1))
	if !req.ValidateOnly {
		s.delivered.Add(1)
		if s.cfg.MaxRecorded > 0 {
			var env struct {
				Message json.RawMessage `json:"message"`
			}
			_ = json.Unmarshal(body, &env)
			s.mu.Lock()
			if s.recorded < s.cfg.MaxRecorded {
				s.recorded++
				s.byToken[token] = append(s.byToken[token], Received{Name: name, Token: token,
					Message: env.Message, ReceivedAt: s.cfg.Now().UTC()})
			}
			s.mu.Unlock()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"name":%q}`, name)
}

func writeError(w http.ResponseWriter, code int, status, fcmCode, msg string, retryAfter time.Duration) {
	type detail struct {
		Type      string `json:"@type"`
		ErrorCode string `json:"errorCode"`
	}
	var body struct {
		Error struct {
			Code    int      `json:"code"`
			Message string   `json:"message"`
			Status  string   `json:"status"`
			Details []detail `json:"details,omitempty"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message, body.Error.Status = code, msg, status
	if fcmCode != "" {
		body.Error.Details = []detail{{Type: "type.googleapis.com/google.firebase.fcm.v1.FcmError", ErrorCode: fcmCode}}
	}
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	msgs := s.Messages(r.URL.Query().Get("token"))
	if msgs == nil {
		msgs = []Received{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"messages": msgs})
}

func (s *Server) resetMessages(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) controlScript(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token  string  `json:"token"`
		Faults []Fault `json:"faults"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Token == "" {
		http.Error(w, `want {"token":"...","faults":["UNAVAILABLE",""]}`, http.StatusBadRequest)
		return
	}
	s.Script(req.Token, req.Faults...)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) controlUnregister(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Tokens []string `json:"tokens"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `want {"tokens":["..."]}`, http.StatusBadRequest)
		return
	}
	s.Unregister(req.Tokens...)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) stats(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.Stats())
}

// token answers the OAuth2 token request of a service-account credential
// (JWT bearer grant) with a fixed access token; the assertion is not
// verified.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": "fakefcm-access-token", "token_type": "Bearer", "expires_in": 3600})
}
