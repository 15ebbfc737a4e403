package identity

import (
	"context"
	"encoding/base64"

	"fmt"
	"strconv"
	"strings"
	"time"
)

// The patient's rights (152-FZ; GDPR arts. 15, 17, 20): identity erases
// the person on deletion and records every export staff make of a
// patient's data.

// erasedPrefix starts the phone of an erased patient: "erased:" + id, so
// the unique phone key stays satisfied and the number is free to sign up
// again as a new person.
const erasedPrefix = "erased:"

// Erased reports whether the patient was deleted.
func (p Patient) Erased() bool { return strings.HasPrefix(p.Phone, erasedPrefix) }

// RightsStore is what erasure and export records need from a store.
type RightsStore interface {
	// ErasePatient clears the patient's names and birth date, replaces
	// the phone with erasedPrefix+id, deletes the phone's sign-in
	// challenges and revokes every session, in one step where the
	// database has transactions; each part is idempotent.
	ErasePatient(ctx context.Context, id, phone string, at time.Time) error
	// SessionsOf lists a subject's sessions, oldest first.
	SessionsOf(ctx context.Context, subjectID string) ([]Session, error)
	InsertDataExport(ctx context.Context, e DataExport) error
	// DataExports lists a clinic's export records newest first, before
	// the cursor (zero: from the newest).
	DataExports(ctx context.Context, clinicID string, before time.Time, beforeID string, limit int) ([]DataExport, error)
}

// ConfirmCode checks a fresh sign-in code sent to the patient's own phone
// (POST /v1/auth/otp) and spends it: the proof DELETE /v1/me asks for.
func (s *Service) ConfirmCode(ctx context.Context, client, patientID, code string) error {
	p, err := s.store.PatientByID(ctx, patientID)
	if err != nil {
		return err
	}
	if p.Erased() {
		return ErrNotFound
	}
	if strings.TrimSpace(code) == "" {
		return invalid("code", "required: request a sign-in code with POST /v1/auth/otp first")
	}
	return s.checkCode(ctx, client, p.Phone, strings.TrimSpace(code))
}

// ErasureSMS is the text confirming a deletion; it names no one.
const ErasureSMS = "carewallet: ваш аккаунт и личные данные удалены. / Your carewallet account and personal data were deleted."

// Erase deletes the person: names, birth date and phone are gone, every
// session ends at once, and the number can sign up again as a new person.
// The id stays (the clinics' ledgers refer to it, without anything that
// names the person). The patient is told by SMS, best effort: the erasure
// stands whether or not the gateway takes the message. Erasing again is a
// no-op.
func (s *Service) Erase(ctx context.Context, patientID string) error {
	p, err := s.store.PatientByID(ctx, patientID)
	if err != nil {
		return err
	}
	if p.Erased() {
		return nil
	}
	if err := s.store.ErasePatient(ctx, p.ID, p.Phone, s.now().UTC()); err != nil {
		return fmt.Errorf("identity: erase: %w", err)
	}
	_ = s.sms.Send(ctx, p.Phone, ErasureSMS)
	return nil
}

// Sessions lists a subject's sessions, oldest first (the data export).
func (s *Service) Sessions(ctx context.Context, subjectID string) ([]Session, error) {
	return s.store.SessionsOf(ctx, subjectID)
}

// DataExport records that a staff member exported a patient's data.
type DataExport struct {
	ID        string    `json:"export_id" api:"required"`
	ClinicID  string    `json:"clinic_id" api:"required"`
	StaffID   string    `json:"staff_id" api:"required"`
	PatientID string    `json:"patient_id" api:"required"`
	At        time.Time `json:"at" api:"required"`
}

// RecordExport records an export before it is served, so none goes
// unrecorded.
func (s *Service) RecordExport(ctx context.Context, clinicID, staffID, patientID string) (DataExport, error) {
	e := DataExport{ID: NewID("ex"), ClinicID: clinicID, StaffID: staffID, PatientID: patientID, At: s.now().UTC()}
	return e, s.store.InsertDataExport(ctx, e)
}

// DataExports lists a clinic's export records, newest first, a page after
// the opaque cursor; next is "" on the last page.
func (s *Service) DataExports(ctx context.Context, clinicID, after string, limit int) ([]DataExport, string, error) {
	before, beforeID, err := decodeExportCursor(after)
	if err != nil {
		return nil, "", err
	}
	out, err := s.store.DataExports(ctx, clinicID, before, beforeID, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		l := out[limit-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(l.At.UnixNano(), 10) + "|" + l.ID))
	}
	return out, next, nil
}

// decodeExportCursor reads DataExports' cursor: base64url of
// "unixnanos|id" ("" is the start).
func decodeExportCursor(after string) (time.Time, string, error) {
	if after == "" {
		return time.Time{}, "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(after)
	ns, id, ok := strings.Cut(string(b), "|")
	n, perr := strconv.ParseInt(ns, 10, 64)
	if err != nil || !ok || perr != nil || id == "" {
		return time.Time{}, "", invalid("after", "not a cursor")
	}
	return time.Unix(0, n).UTC(), id, nil
}
