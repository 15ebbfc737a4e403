package news

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"carewallet/app/problem"
)

// Staff lists the clinic's managers (identity), whose inboxes receive the
// clinic's chat messages so that every signed-in manager sees them live.
type Staff interface {
	Managers(ctx context.Context, clinicID string) ([]string, error)
}

// Bonus credits a patient's card in the clinic (wallet): a manual
// adjustment, posted once per key.
type Bonus interface {
	Credit(ctx context.Context, b BonusCredit) error
}

// BonusCredit is a manager's bonus given with a chat reply.
type BonusCredit struct {
	ClinicID, StaffID, PatientID string
	CardID                       string // "" picks the patient's own card in the clinic
	Points                       int64
	Reason                       string
	Key                          string
}

// Chat limits.
const (
	MaxMessage = 4000 // characters
	// PatientRate messages per minute per patient (all threads).
	PatientRate    = 30
	MaxBonusPoints = 100_000
)

// Thread statuses.
const (
	ThreadOpen   = "open"
	ThreadClosed = "closed"
)

// Message authors.
const (
	AuthorPatient = "patient"
	AuthorManager = "manager"
)

// Note types of the chat.
const (
	NoteChatMessage = "chat.message" // data: ChatNote
)

// Thread is the one conversation of a (clinic, patient); the Last* and
// *Read fields are caches of its messages (the facts), only ever raised.
type Thread struct {
	ID        string
	ClinicID  string
	PatientID string
	Status    string
	Created   time.Time
	// LastAt orders the managers' list; LastPatientSeq and LastManagerSeq
	// are the seqs of each side's latest message.
	LastAt         time.Time
	LastSeq        int64
	LastPatientSeq int64
	LastManagerSeq int64
	PatientRead    int64 // the patient has read up to this seq
	ManagerRead    int64 // the clinic's managers have read up to this seq
}

// Message is one message of a thread: unique (thread, seq).
type Message struct {
	ThreadID string      `json:"thread_id"`
	Seq      int64       `json:"seq"`
	ID       string      `json:"id"`
	Author   string      `json:"author"`    // patient or manager
	AuthorID string      `json:"author_id"` // patient or staff id
	Text     string      `json:"text"`
	Bonus    *BonusGiven `json:"bonus,omitempty"`
	At       time.Time   `json:"created_at"`
}

// BonusGiven is the bonus credited with a manager's reply.
type BonusGiven struct {
	Points int64  `json:"points"`
	Reason string `json:"reason"`
}

// ThreadView is a thread with the reader's unread count.
type ThreadView struct {
	ID        string    `json:"id"`
	ClinicID  string    `json:"clinic_id"`
	PatientID string    `json:"patient_id"`
	Status    string    `json:"status"`
	LastSeq   int64     `json:"last_seq"`
	LastAt    time.Time `json:"last_message_at"`
	Unread    int64     `json:"unread"`
}

// ChatNote is the inbox payload of a chat message (to the patient and to
// every manager of the clinic).
type ChatNote struct {
	ThreadID  string  `json:"thread_id"`
	ClinicID  string  `json:"clinic_id"`
	PatientID string  `json:"patient_id"`
	Message   Message `json:"message"`
}

// ThreadCursor orders a clinic's threads by last message, newest first.
type ThreadCursor = Cursor

// ChatStore keeps threads (unique (clinic, patient)), messages (unique
// (thread, seq)) and the patients' rate slots (unique (key, n)).
type ChatStore interface {
	InsertThread(ctx context.Context, t *Thread) error
	Thread(ctx context.Context, id string) (*Thread, error)
	ThreadOf(ctx context.Context, clinicID, patientID string) (*Thread, error)
	// Threads lists a clinic's threads with the status ("" any) by
	// (last_at, id) descending, strictly after the cursor.
	Threads(ctx context.Context, clinicID, status string, after ThreadCursor, limit int) ([]Thread, error)
	PatientThreads(ctx context.Context, patientID string) ([]Thread, error)
	// MaxSeq is the thread's highest message seq (0: none).
	MaxSeq(ctx context.Context, threadID string) (int64, error)
	InsertMessage(ctx context.Context, m *Message) error
	// Messages lists the thread's messages with seq > after, ascending.
	Messages(ctx context.Context, threadID string, after int64, limit int) ([]Message, error)
	// CountMessages counts the author kind's messages with seq > after.
	CountMessages(ctx context.Context, threadID, author string, after int64) (int64, error)
	// Touch raises the thread's caches to include m.
	Touch(ctx context.Context, threadID string, m *Message) error
	// SetRead raises the side's read mark (AuthorPatient or
	// AuthorManager) to upTo.
	SetRead(ctx context.Context, threadID, side string, upTo int64) error
	SetStatus(ctx context.Context, threadID, status string) error
	// InsertSlot takes slot n of a rate window; Slots counts them.
	InsertSlot(ctx context.Context, key string, n int, at time.Time) error
	Slots(ctx context.Context, key string) (int, error)
}

// takeRate takes one of the patient's PatientRate slots of the current
// minute, or says when the next minute starts.
func (s *Service) takeRate(ctx context.Context, patientID string, now time.Time) error {
	window := now.Truncate(time.Minute)
	key := fmt.Sprintf("chat:%s:%d", patientID, window.Unix())
	n, err := s.store.Slots(ctx, key)
	if err != nil {
		return err
	}
	for n++; n <= PatientRate; n++ {
		err := s.store.InsertSlot(ctx, key, n, now)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errDuplicate) {
			return err
		}
	}
	return &problem.Limited{Message: fmt.Sprintf("at most %d chat messages a minute", PatientRate),
		RetryAfter: window.Add(time.Minute).Sub(now), Kind: ErrRateLimited}
}

// appendMessage gives m the thread's next seq: the insert at max+1 is the
// commit, and a duplicate seq (another sender got it) re-reads and retries,
// so the order is total under any number of concurrent senders.
func (s *Service) appendMessage(ctx context.Context, m *Message) error {
	for range 1000 {
		last, err := s.store.MaxSeq(ctx, m.ThreadID)
		if err != nil {
			return err
		}
		m.Seq = last + 1
		err = s.store.InsertMessage(ctx, m)
		if err == nil {
			return s.store.Touch(ctx, m.ThreadID, m)
		}
		if !errors.Is(err, errDuplicate) {
			return err
		}
	}
	return fmt.Errorf("news: thread %s: too much contention for the next seq", m.ThreadID)
}

// StartChat is POST /v1/chats: the patient writes to a clinic where they
// hold a card; the first message opens the thread (only a patient can).
func (s *Service) StartChat(ctx context.Context, patientID, clinicID, text string) (*Thread, *Message, error) {
	clinics, err := s.opts.Audience.Clinics(ctx, patientID)
	if err != nil {
		return nil, nil, err
	}
	if !slices.Contains(clinics, clinicID) {
		return nil, nil, fmt.Errorf("%w: you hold no card of this clinic", ErrNotFound)
	}
	t, err := s.store.ThreadOf(ctx, clinicID, patientID)
	if errors.Is(err, ErrNotFound) {
		t = &Thread{ID: newID("th_"), ClinicID: clinicID, PatientID: patientID, Status: ThreadOpen, Created: s.now()}
		if err = s.store.InsertThread(ctx, t); errors.Is(err, errDuplicate) {
			t, err = s.store.ThreadOf(ctx, clinicID, patientID) // a concurrent first message
		}
	}
	if err != nil {
		return nil, nil, err
	}
	m, err := s.PatientSend(ctx, patientID, t.ID, text)
	if err != nil {
		return nil, nil, err
	}
	t, err = s.store.Thread(ctx, t.ID)
	return t, m, err
}

// patientThread is the patient's own thread; anyone else's is not found.
func (s *Service) patientThread(ctx context.Context, patientID, threadID string) (*Thread, error) {
	t, err := s.store.Thread(ctx, threadID)
	if err != nil {
		return nil, err
	}
	if t.PatientID != patientID {
		return nil, ErrNotFound
	}
	return t, nil
}

// clinicThread is a thread of the clinic; another clinic's is not found.
func (s *Service) clinicThread(ctx context.Context, clinicID, threadID string) (*Thread, error) {
	t, err := s.store.Thread(ctx, threadID)
	if err != nil {
		return nil, err
	}
	if t.ClinicID != clinicID {
		return nil, ErrNotFound
	}
	return t, nil
}

// PatientSend is POST /v1/chats/{id}/messages. Writing to a closed thread
// opens it again. The clinic's managers get it in their inboxes (and so
// on their websockets), without a push.
func (s *Service) PatientSend(ctx context.Context, patientID, threadID, text string) (*Message, error) {
	body, err := textField("text", text)
	if err != nil {
		return nil, err
	}
	t, err := s.patientThread(ctx, patientID, threadID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if err := s.takeRate(ctx, patientID, now); err != nil {
		return nil, err
	}
	if t.Status == ThreadClosed {
		if err := s.store.SetStatus(ctx, t.ID, ThreadOpen); err != nil {
			return nil, err
		}
	}
	m := &Message{ThreadID: t.ID, ID: newID("msg_"), Author: AuthorPatient, AuthorID: patientID, Text: body, At: now}
	if err := s.appendMessage(ctx, m); err != nil {
		return nil, err
	}
	return m, s.tellManagers(ctx, t, m)
}

// tellManagers puts the message in the inbox of every manager of the
// clinic; their websockets (on any instance) deliver it live.
func (s *Service) tellManagers(ctx context.Context, t *Thread, m *Message) error {
	if s.opts.Staff == nil {
		return nil
	}
	ids, err := s.opts.Staff.Managers(ctx, t.ClinicID)
	if err != nil || len(ids) == 0 {
		return err
	}
	return s.opts.Inbox.PublishMany(ctx, ids, Note{Key: "chat:" + m.ID, Type: NoteChatMessage,
		Data: ChatNote{ThreadID: t.ID, ClinicID: t.ClinicID, PatientID: t.PatientID, Message: *m}})
}

// Reply is a manager's answer.
type Reply struct {
	Text  string      `json:"text" api:"required"`
	Bonus *ReplyBonus `json:"bonus,omitempty"`
}

// ReplyBonus credits the patient's card with the reply.
type ReplyBonus struct {
	Points int64  `json:"points" api:"required"`
	Reason string `json:"reason" api:"required"`
	// CardID names one of the patient's cards in the clinic (a child's);
	// default: the patient's own card.
	CardID string `json:"card_id,omitempty"`
}

// ManagerReply is POST /v1/clinic/chats/{id}/messages: the answer goes to
// the patient's inbox with a push that names the clinic and never the
// text. A bonus is credited first, under a key derived from key (the
// request's Idempotency-Key, else the message id), so a retry credits it
// once.
func (s *Service) ManagerReply(ctx context.Context, clinicID, staffID, threadID, key string, r Reply) (*Message, error) {
	body, err := textField("text", r.Text)
	if err != nil {
		return nil, err
	}
	t, err := s.clinicThread(ctx, clinicID, threadID)
	if err != nil {
		return nil, err
	}
	if t.Status == ThreadClosed {
		return nil, ErrThreadClosed
	}
	m := &Message{ThreadID: t.ID, ID: newID("msg_"), Author: AuthorManager, AuthorID: staffID, Text: body, At: s.now()}
	if r.Bonus != nil {
		if r.Bonus.Points <= 0 || r.Bonus.Points > MaxBonusPoints {
			return nil, invalid("bonus.points", "must be 1..%d", MaxBonusPoints)
		}
		reason, err := text("bonus.reason", r.Bonus.Reason, 500)
		if err != nil {
			return nil, err
		}
		if s.opts.Bonus == nil {
			return nil, invalid("bonus", "bonuses are not available")
		}
		if key == "" {
			key = m.ID
		}
		if err := s.opts.Bonus.Credit(ctx, BonusCredit{ClinicID: clinicID, StaffID: staffID, PatientID: t.PatientID,
			CardID: r.Bonus.CardID, Points: r.Bonus.Points, Reason: reason, Key: "chat:" + t.ID + ":" + key}); err != nil {
			return nil, err
		}
		m.Bonus = &BonusGiven{Points: r.Bonus.Points, Reason: reason}
	}
	if err := s.appendMessage(ctx, m); err != nil {
		return nil, err
	}
	c, err := s.opts.Clinics.Clinic(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	note := Note{Key: "chat:" + m.ID, Type: NoteChatMessage,
		Data:       ChatNote{ThreadID: t.ID, ClinicID: t.ClinicID, PatientID: t.PatientID, Message: *m},
		AlertTitle: c.Name, AlertBody: c.Name + " ответили в чате / " + c.Name + " replied"}
	if err := s.opts.Inbox.Publish(ctx, t.PatientID, note); err != nil {
		return nil, err
	}
	return m, s.tellManagers(ctx, t, m)
}

func textField(field, v string) (string, error) { return text(field, v, MaxMessage) }

// view renders a thread for one side.
func (s *Service) threadView(ctx context.Context, t *Thread, side string) (*ThreadView, error) {
	v := &ThreadView{ID: t.ID, ClinicID: t.ClinicID, PatientID: t.PatientID, Status: t.Status, LastSeq: t.LastSeq, LastAt: t.LastAt}
	var err error
	if side == AuthorPatient {
		v.Unread, err = s.store.CountMessages(ctx, t.ID, AuthorManager, t.PatientRead)
	} else {
		v.Unread, err = s.store.CountMessages(ctx, t.ID, AuthorPatient, t.ManagerRead)
	}
	return v, err
}

// MyThreads is GET /v1/chats: the patient's threads with unread counts.
func (s *Service) MyThreads(ctx context.Context, patientID string) ([]ThreadView, error) {
	ts, err := s.store.PatientThreads(ctx, patientID)
	if err != nil {
		return nil, err
	}
	out := []ThreadView{}
	for i := range ts {
		v, err := s.threadView(ctx, &ts[i], AuthorPatient)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

// ThreadPage is a page of a clinic's threads.
type ThreadPage struct {
	Threads []ThreadView `json:"threads"`
	Next    string       `json:"next,omitempty"`
}

// ClinicThreads is GET /v1/clinic/chats: threads by last message, newest
// first, filtered by status and (unreadOnly) to those with unread patient
// messages.
func (s *Service) ClinicThreads(ctx context.Context, clinicID, status string, unreadOnly bool, after string, limit int) (*ThreadPage, error) {
	if status != "" && status != ThreadOpen && status != ThreadClosed {
		return nil, invalid("status", "must be open or closed")
	}
	cur, err := decodeCursor(after)
	if err != nil {
		return nil, err
	}
	if limit, err = pageSize(limit); err != nil {
		return nil, err
	}
	page := &ThreadPage{Threads: []ThreadView{}}
	for len(page.Threads) < limit {
		ts, err := s.store.Threads(ctx, clinicID, status, cur, limit+1)
		if err != nil {
			return nil, err
		}
		for i := range ts {
			if len(page.Threads) == limit {
				last := page.Threads[limit-1]
				page.Next = Cursor{At: last.LastAt, ID: last.ID}.encode()
				return page, nil
			}
			cur = Cursor{At: ts[i].LastAt, ID: ts[i].ID}
			if ts[i].LastSeq == 0 || (unreadOnly && ts[i].LastPatientSeq <= ts[i].ManagerRead) {
				continue
			}
			v, err := s.threadView(ctx, &ts[i], AuthorManager)
			if err != nil {
				return nil, err
			}
			page.Threads = append(page.Threads, *v)
		}
		if len(ts) <= limit {
			return page, nil
		}
	}
	return page, nil
}

// Conversation is a thread with its messages.
type Conversation struct {
	Thread   ThreadView `json:"thread"`
	Messages []Message  `json:"messages"`
}

// maxMessagesPage bounds one read of a thread.
const maxMessagesPage = 500

// PatientThread is GET /v1/chats/{id}: the patient's thread after a seq.
func (s *Service) PatientThread(ctx context.Context, patientID, threadID string, after int64) (*Conversation, error) {
	t, err := s.patientThread(ctx, patientID, threadID)
	if err != nil {
		return nil, err
	}
	return s.conversation(ctx, t, AuthorPatient, after)
}

// ManagerThread is GET /v1/clinic/chats/{id}.
func (s *Service) ManagerThread(ctx context.Context, clinicID, threadID string, after int64) (*Conversation, error) {
	t, err := s.clinicThread(ctx, clinicID, threadID)
	if err != nil {
		return nil, err
	}
	return s.conversation(ctx, t, AuthorManager, after)
}

func (s *Service) conversation(ctx context.Context, t *Thread, side string, after int64) (*Conversation, error) {
	v, err := s.threadView(ctx, t, side)
	if err != nil {
		return nil, err
	}
	ms, err := s.store.Messages(ctx, t.ID, max(after, 0), maxMessagesPage)
	if err != nil {
		return nil, err
	}
	if ms == nil {
		ms = []Message{}
	}
	return &Conversation{Thread: *v, Messages: ms}, nil
}

// PatientRead is POST /v1/chats/{id}/read: up to a seq (0: all so far).
func (s *Service) PatientRead(ctx context.Context, patientID, threadID string, upTo int64) error {
	t, err := s.patientThread(ctx, patientID, threadID)
	if err != nil {
		return err
	}
	return s.markRead(ctx, t, AuthorPatient, upTo)
}

// ManagerRead is POST /v1/clinic/chats/{id}/read.
func (s *Service) ManagerRead(ctx context.Context, clinicID, threadID string, upTo int64) error {
	t, err := s.clinicThread(ctx, clinicID, threadID)
	if err != nil {
		return err
	}
	return s.markRead(ctx, t, AuthorManager, upTo)
}

func (s *Service) markRead(ctx context.Context, t *Thread, side string, upTo int64) error {
	last, err := s.store.MaxSeq(ctx, t.ID)
	if err != nil {
		return err
	}
	if upTo < 0 || upTo > last {
		return invalid("up_to", "must be 0..%d (0: everything so far)", last)
	}
	if upTo == 0 {
		upTo = last
	}
	return s.store.SetRead(ctx, t.ID, side, upTo)
}

// SetThreadStatus closes or reopens a clinic's thread.
func (s *Service) SetThreadStatus(ctx context.Context, clinicID, threadID, status string) (*ThreadView, error) {
	t, err := s.clinicThread(ctx, clinicID, threadID)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetStatus(ctx, t.ID, status); err != nil {
		return nil, err
	}
	t.Status = status
	return s.threadView(ctx, t, AuthorManager)
}
