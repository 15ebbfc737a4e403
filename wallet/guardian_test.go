package wallet

import (
	"context"
	"errors"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"carewallet/app/storage"
	"carewallet/app/storage/storagetest"
)

// TestGrantsMigration: guardianships from before grants were per clinic
// become a grant at every clinic where the dependant had a card (and one
// for each card's code recipient), on both stores; a guardian of a
// dependant without cards gets none; a second start changes nothing.
func TestGrantsMigration(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		var old Store
		if b.SQLite != nil {
			// The schema as it was before grants.
			if err := storage.Migrate(ctx, b.SQLite.Write, "wallet", sqliteMigrations[:len(sqliteMigrations)-1]); err != nil {
				t.Fatal(err)
			}
			old = &SQLiteStore{db: b.SQLite, r: b.SQLite.Reader(), w: b.SQLite.Writer()}
		} else {
			old = newStore(t, b)
		}
		for _, g := range []Guardianship{{GuardianID: "pt_mom", DependantID: "dp_1", PersonKey: "a"},
			{GuardianID: "pt_dad", DependantID: "dp_1", PersonKey: "a"}, {GuardianID: "pt_aunt", DependantID: "dp_2", PersonKey: "b"}} {
			g.Created = t0
			if err := old.InsertGuardianship(ctx, &g); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range []Card{{ID: "cd_a", ClinicID: "cl_a", PatientID: "pt_mom"}, {ID: "cd_b", ClinicID: "cl_b", PatientID: "pt_gran"}} {
			c.Holder, c.Status, c.Created, c.Slot = Holder{Kind: HolderDependant, DependantID: "dp_1"}, StatusActive, t0, i
			if err := old.InsertCard(ctx, &c); err != nil {
				t.Fatal(err)
			}
		}
		if b.Mongo != nil {
			// Forget that the migration ran, as on a database from before it.
			if _, err := b.Mongo.Collection("schema_migrations").DeleteOne(ctx, bson.M{"_id": "wallet:1"}); err != nil {
				t.Fatal(err)
			}
		}
		st := storagetest.Open[Store](t, b, NewSQLiteStore, NewMongoStore)
		who := func(clinic, dep string) []string {
			gs, err := st.GrantsFor(ctx, clinic, dep)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, g := range gs {
				out = append(out, g.GuardianID)
			}
			return out
		}
		if got := who("cl_a", "dp_1"); len(got) != 2 || !contains(got, "pt_mom") || !contains(got, "pt_dad") {
			t.Fatalf("clinic a grants: %v", got)
		}
		if got := who("cl_b", "dp_1"); len(got) != 3 || !contains(got, "pt_gran") {
			t.Fatalf("clinic b grants: %v", got)
		}
		if gs, err := st.GrantsOf(ctx, "pt_aunt"); err != nil || len(gs) != 0 {
			t.Fatalf("a dependant without cards: %v %v", gs, err)
		}
		// A grant removed after the migration stays removed on the next start.
		if err := st.DeleteGrant(ctx, "cl_a", "dp_1", "pt_dad"); err != nil {
			t.Fatal(err)
		}
		st = storagetest.Open[Store](t, b, NewSQLiteStore, NewMongoStore)
		if got := who("cl_a", "dp_1"); len(got) != 1 {
			t.Fatalf("after a restart: %v", got)
		}
	})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestRemoveGuardianRace: removing the last two guardians at once leaves
// one of them, and the card's codes go to a guardian who still holds a
// grant, on both stores.
func TestRemoveGuardianRace(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		e.setupClinic(t, "cl_1", testProgram())
		for round := range 5 {
			mom, dad := "pt_mom"+string(rune('a'+round)), "pt_dad"+string(rune('a'+round))
			res := must[*IssueCardResult](t)(e.svc.IssueCard(ctx, IssueCardRequest{ClinicID: "cl_1", GuardianID: mom,
				FirstName: "Masha", LastName: "Petrova", BirthDate: "2018-06-01"}))
			if err := e.svc.AddGuardian(ctx, "cl_1", "st_1", res.CardID, dad); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, g := range []string{mom, dad} {
				wg.Go(func() { errs[i] = e.svc.RemoveGuardian(ctx, "cl_1", res.CardID, g) })
			}
			wg.Wait()
			gs := must[[]Grant](t)(e.svc.Guardians(ctx, "cl_1", res.CardID))
			if len(gs) == 0 {
				t.Fatalf("round %d: no guardian left (%v)", round, errs)
			}
			for _, err := range errs {
				if err != nil && !errors.Is(err, ErrLastGuardian) {
					t.Fatal(err)
				}
			}
			c := must[*Card](t)(e.store.Card(ctx, res.CardID))
			held := false
			for _, g := range gs {
				held = held || g.GuardianID == c.PatientID
			}
			if !held {
				t.Fatalf("round %d: codes go to %s, guardians %+v", round, c.PatientID, gs)
			}
		}
	})
}
