package identity_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"sync"
	"testing"

	"carewallet/app/identity"
	"carewallet/app/storage/storagetest"
)

func tinyPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestClinicProfile proves the profile, logo and join-code rules on both
// stores: bad input writes nothing, a missing logo keeps the old one, an
// empty one removes it, names come back in one batch, and a clinic has
// one join code however many instances ask for it at once.
func TestClinicProfile(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		c1, err := e.svc.CreateClinic(ctx, "Smile", "Europe/Moscow")
		if err != nil {
			t.Fatal(err)
		}
		c2, err := e.svc.CreateClinic(ctx, "Other", "Europe/Moscow")
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.svc.ClinicProfile(ctx, c1.ID)
		if err != nil || p.Name != "Smile" || p.LogoType != "" {
			t.Fatalf("profile before any edit = %+v, %v", p, err)
		}
		for _, bad := range []struct {
			field string
			edit  identity.ProfileEdit
		}{
			{"name", identity.ProfileEdit{}},
			{"site", identity.ProfileEdit{Name: "X", Site: "javascript:alert(1)"}},
			{"phone", identity.ProfileEdit{Name: "X", Phone: "call us"}},
			{"address", identity.ProfileEdit{Name: "X", Address: "a\nb"}},
			{"about", identity.ProfileEdit{Name: "X", About: "bad \u202e text"}},
			{"logo", identity.ProfileEdit{Name: "X", Logo: []byte("\x89PNG\r\n\x1a\nnot really")}},
			{"logo", identity.ProfileEdit{Name: "X", Logo: []byte("GIF89a")}},
		} {
			_, err := e.svc.SetProfile(ctx, c1.ID, bad.edit)
			var v *identity.ValidationError
			if !errors.As(err, &v) || v.Field != bad.field {
				t.Errorf("%+v: err = %v, want invalid %s", bad.edit, err, bad.field)
			}
		}
		if c, _ := e.svc.Clinic(ctx, c1.ID); c.Name != "Smile" {
			t.Fatalf("a refused edit renamed the clinic to %q", c.Name)
		}
		logo := tinyPNG(t)
		p, err = e.svc.SetProfile(ctx, c1.ID, identity.ProfileEdit{Name: " Smile Dental ", Address: "Moscow, Tverskaya 1",
			Phone: "8 (495) 123-45-67", Site: "https://smile.example", Hours: "Mon–Fri 9–21\nSat 10–18", About: "Family dentistry", Logo: logo})
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "Smile Dental" || p.Phone != "+74951234567" || p.LogoType != "image/png" || p.LogoVersion == 0 {
			t.Fatalf("profile = %+v", p)
		}
		got, err := e.svc.ClinicProfile(ctx, c1.ID)
		if err != nil || got.Hours != "Mon–Fri 9–21\nSat 10–18" || got.LogoVersion != p.LogoVersion || got.Name != "Smile Dental" {
			t.Fatalf("stored profile = %+v, %v", got, err)
		}
		if c, _ := e.svc.Clinic(ctx, c1.ID); c.Name != "Smile Dental" {
			t.Fatalf("clinic name = %q", c.Name)
		}
		l, err := e.svc.ClinicLogo(ctx, c1.ID)
		if err != nil || !bytes.Equal(l.Data, logo) || l.Type != "image/png" {
			t.Fatalf("logo = %s %d bytes, %v", l.Type, len(l.Data), err)
		}
		// No logo in the edit keeps it; an empty one removes it.
		e.clock.add(1e9)
		if p, err = e.svc.SetProfile(ctx, c1.ID, identity.ProfileEdit{Name: "Smile Dental", About: "new"}); err != nil || p.LogoVersion != got.LogoVersion {
			t.Fatalf("edit without logo = %+v, %v", p, err)
		}
		cards, err := e.svc.ClinicCards(ctx, []string{c1.ID, c2.ID, "cl_missing"})
		if err != nil || len(cards) != 2 || cards[c1.ID].Name != "Smile Dental" || cards[c1.ID].LogoVersion != got.LogoVersion ||
			cards[c2.ID].Name != "Other" || cards[c2.ID].LogoVersion != 0 {
			t.Fatalf("clinic cards = %+v, %v", cards, err)
		}
		if _, err = e.svc.SetProfile(ctx, c1.ID, identity.ProfileEdit{Name: "Smile Dental", Logo: []byte{}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.ClinicLogo(ctx, c1.ID); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("removed logo: %v", err)
		}
		if _, err := e.svc.SetProfile(ctx, "cl_missing", identity.ProfileEdit{Name: "X"}); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("profile of a missing clinic: %v", err)
		}

		// One join code per clinic, however many ask at once.
		var wg sync.WaitGroup
		codes := make([]string, 8)
		for i := range codes {
			wg.Go(func() {
				var err error
				codes[i], err = e.svc.JoinCode(ctx, c2.ID)
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for _, c := range codes {
			if c != codes[0] || len(c) != identity.JoinCodeLength {
				t.Fatalf("join codes = %v", codes)
			}
		}
		other, err := e.svc.JoinCode(ctx, c1.ID)
		if err != nil || other == codes[0] {
			t.Fatalf("second clinic's code %q, %v", other, err)
		}
		typed := "  " + codes[0][:3] + "-" + string(bytes.ToLower([]byte(codes[0][3:])))
		if c, err := e.svc.ClinicByJoinCode(ctx, typed); err != nil || c.ID != c2.ID {
			t.Fatalf("clinic by %q = %+v, %v", typed, c, err)
		}
		for _, bad := range []string{"", "OOOOOO", "2222222"} {
			if _, err := e.svc.ClinicByJoinCode(ctx, bad); !errors.Is(err, identity.ErrNotFound) {
				t.Errorf("code %q: %v", bad, err)
			}
		}
	})
}
