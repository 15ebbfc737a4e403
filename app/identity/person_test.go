package identity_test

import (
	"context"
	"errors"
	"testing"

	"carewallet/app/identity"
	"carewallet/app/storage/storagetest"
)

// TestPeople: identity owns patients' and dependants' names and birth
// dates; other packages read them by id and find who has a birthday.
func TestPeople(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)

		var inv *identity.ValidationError
		if _, err := e.svc.AddDependant(ctx, "Dima", "", "2015-08-08"); !errors.As(err, &inv) || inv.Field != "last_name" {
			t.Fatalf("dependant without a last name: %v", err)
		}
		if _, err := e.svc.AddDependant(ctx, "Dima", "Ivanov", "2999-01-01"); !errors.As(err, &inv) || inv.Field != "birth_date" {
			t.Fatalf("dependant born in the future: %v", err)
		}
		d, err := e.svc.AddDependant(ctx, " Dima ", "Ivanov", "2015-08-08")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := e.svc.Person(ctx, d.ID); err != nil || got != (identity.Person{ID: d.ID, FirstName: "Dima", LastName: "Ivanov", BirthDate: "2015-08-08"}) {
			t.Fatalf("dependant as a person: %+v, %v", got, err)
		}
		// A dependant the wallet created keeps its id; importing twice is a no-op.
		old := identity.Dependant{ID: "dp_old", FirstName: "Vera", LastName: "Orlova", BirthDate: "2012-03-09", CreatedAt: e.clock.now()}
		for range 2 {
			if err := e.svc.ImportDependant(ctx, old); err != nil {
				t.Fatal(err)
			}
		}

		p, err := e.svc.EnsurePatient(ctx, newPhone())
		if err != nil {
			t.Fatal(err)
		}
		// Reception's details fill an empty profile...
		if p, err = e.svc.CompleteProfile(ctx, p.ID, "Gleb", "Orlov", ""); err != nil || p.FirstName != "Gleb" || p.BirthDate != "" {
			t.Fatalf("complete an empty profile: %+v, %v", p, err)
		}
		// ...and never overwrite what is there.
		if p, err = e.svc.CompleteProfile(ctx, p.ID, "Glen", "Orloff", "1975-03-09"); err != nil ||
			p.FirstName != "Gleb" || p.LastName != "Orlov" || p.BirthDate != "1975-03-09" {
			t.Fatalf("complete a filled profile: %+v, %v", p, err)
		}
		other, err := e.svc.EnsurePatient(ctx, newPhone())
		if err != nil {
			t.Fatal(err)
		}

		bornOn := func(mds ...string) []string {
			t.Helper()
			var ids []string
			after := ""
			for {
				page, err := e.svc.BornOn(ctx, mds, after, 1) // pages of one cross both collections
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					return ids
				}
				for _, p := range page {
					ids = append(ids, p.ID)
					after = p.ID
				}
			}
		}
		if got := bornOn("03-09"); len(got) != 2 || got[0] != "dp_old" || got[1] != p.ID {
			t.Fatalf("born on 03-09: %v, want [dp_old %s]", got, p.ID)
		}
		// A birth date entered later is found; a changed one moves.
		bd := "1990-03-09"
		if _, err := e.svc.UpdateProfile(ctx, other.ID, identity.ProfileUpdate{BirthDate: &bd}); err != nil {
			t.Fatal(err)
		}
		bd = "1975-08-08"
		if _, err := e.svc.UpdateProfile(ctx, p.ID, identity.ProfileUpdate{BirthDate: &bd}); err != nil {
			t.Fatal(err)
		}
		if got := bornOn("03-09"); len(got) != 2 || got[0] != "dp_old" || got[1] != other.ID {
			t.Fatalf("born on 03-09 after the changes: %v", got)
		}
		if got := bornOn("08-08", "12-31"); len(got) != 2 || got[0] != d.ID || got[1] != p.ID {
			t.Fatalf("born on 08-08: %v", got)
		}
		if _, err := e.svc.Person(ctx, "dp_missing"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("missing dependant: %v", err)
		}
	})
}
