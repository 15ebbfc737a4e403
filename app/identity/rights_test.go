package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"carewallet/app/identity"
	"carewallet/app/storage/storagetest"
)

func TestErasePatient(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		phone := newPhone()
		if err := e.svc.RequestCode(ctx, testClient, phone); err != nil {
			t.Fatal(err)
		}
		p, err := e.svc.VerifyCode(ctx, testClient, phone, e.sms.LastCode(t, phone))
		if err != nil {
			t.Fatal(err)
		}
		first, last, birth := "Zinaida", "Erasova", "1971-04-05"
		if _, err := e.svc.UpdateProfile(ctx, p.ID, identity.ProfileUpdate{FirstName: &first, LastName: &last, BirthDate: &birth}); err != nil {
			t.Fatal(err)
		}
		se, _, err := e.svc.StartSession(ctx, identity.Session{Kind: identity.KindPatient, SubjectID: p.ID})
		if err != nil {
			t.Fatal(err)
		}
		// The deletion's proof: a fresh code, spent once; a wrong one fails.
		if err := e.svc.RequestCode(ctx, testClient, phone); err != nil {
			t.Fatal(err)
		}
		code := e.sms.LastCode(t, phone)
		if err := e.svc.ConfirmCode(ctx, testClient, p.ID, wrongCode(code)); !errors.Is(err, identity.ErrInvalidCode) {
			t.Fatalf("wrong code: %v", err)
		}
		if err := e.svc.ConfirmCode(ctx, testClient, p.ID, code); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ConfirmCode(ctx, testClient, p.ID, code); !errors.Is(err, identity.ErrInvalidCode) {
			t.Fatalf("code used twice: %v", err)
		}
		for range 2 { // erasing again is a no-op
			if err := e.svc.Erase(ctx, p.ID); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.sms.Last(phone); got != identity.ErasureSMS {
			t.Fatalf("confirmation SMS %q", got)
		}
		gone, err := e.svc.Patient(ctx, p.ID)
		if err != nil || !gone.Erased() || gone.FirstName != "" || gone.LastName != "" || gone.BirthDate != "" || gone.Phone == phone {
			t.Fatalf("erased patient %+v, %v", gone, err)
		}
		if _, err := e.svc.ActiveSession(ctx, se.ID); !errors.Is(err, identity.ErrSessionRevoked) {
			t.Fatalf("session after erasure: %v", err)
		}
		if _, err := e.svc.PatientByPhone(ctx, phone); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("the phone still finds the erased patient: %v", err)
		}
		// The number signs up again as a new person.
		if err := e.svc.RequestCode(ctx, testClient, phone); err != nil {
			t.Fatal(err)
		}
		again, err := e.svc.VerifyCode(ctx, testClient, phone, e.sms.LastCode(t, phone))
		if err != nil || again.ID == p.ID || again.FirstName != "" {
			t.Fatalf("new sign-up %+v, %v", again, err)
		}
		sessions, err := e.svc.Sessions(ctx, p.ID)
		if err != nil || len(sessions) != 1 || sessions[0].Active() {
			t.Fatalf("sessions %+v, %v", sessions, err)
		}
	})
}

func TestDataExportRecords(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		var want []string
		for i := range 5 {
			x, err := e.svc.RecordExport(ctx, "cl_x", "st_1", "pt_"+string(rune('a'+i)))
			if err != nil {
				t.Fatal(err)
			}
			want = append([]string{x.ID}, want...)
			e.clock.add(time.Second)
		}
		if _, err := e.svc.RecordExport(ctx, "cl_other", "st_2", "pt_a"); err != nil {
			t.Fatal(err)
		}
		var got []string
		after := ""
		for {
			page, next, err := e.svc.DataExports(ctx, "cl_x", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range page {
				got = append(got, x.ID)
			}
			if next == "" {
				break
			}
			after = next
		}
		if len(got) != 5 {
			t.Fatalf("exports %v, want %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("exports %v, want newest first %v", got, want)
			}
		}
	})
}

// FuzzExportCursor: any ?after= is a cursor or a 400 naming "after",
// never a panic; a cursor the service made reads back.
func FuzzExportCursor(f *testing.F) {
	f.Add("")
	f.Add("MTc5NjMwNDc1MDAwMDAwMDAwMHxleF9neXA1")
	f.Add("fA")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		at, id, err := identity.DecodeExportCursor(s)
		var inv *identity.ValidationError
		switch {
		case err != nil && (!errors.As(err, &inv) || inv.Field != "after"):
			t.Fatalf("%q: %v", s, err)
		case err == nil && s != "" && id == "":
			t.Fatalf("%q: a cursor without an id (%v)", s, at)
		}
	})
}
