package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// testdata/f6d00e1 holds data written by the binary of commit f6d00e1
// (before tables and collections carried their package's prefix and before
// push kept nanoseconds): `carewallet demo`, then a card issued at
// reception (Gleb Orlov, +79990000004, a 4,000-rouble receipt), a
// dependant's card held by Anna (Dima Ivanov, a 2,000-rouble receipt), a
// patient session, a device and a pending sign-in code. carewallet.db is
// the SQLite data directory's file (VACUUMed); ferret-carewallet.sqlite is
// the same story on MongoDB, as the file in which embedded FerretDB keeps
// the database "carewallet".

// fixtureBalances are the balances the old binary showed, by phone.
var fixtureBalances = map[string][]int64{
	"+79990000001": {1000, 600}, // Anna's card and her dependant's
	"+79990000002": {1000},
	"+79990000003": {1000},
	"+79990000004": {700},
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkFixture opens the stores of vars twice (the second start finds
// nothing left to migrate) and checks every account, balance and card
// holder.
func checkFixture(t *testing.T, vars map[string]string) {
	t.Helper()
	ctx := context.Background()
	for range 2 {
		cfg, err := loadConfig(env(vars))
		if err != nil {
			t.Fatal(err)
		}
		st, err := openStores(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := buildServices(ctx, cfg, st, slog.New(slog.NewJSONHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		// buildServices moved the wallet's copies of holder details: none is left.
		if n, err := svc.Wallet.MoveHolderDetails(ctx); n != 0 || err != nil {
			t.Fatalf("holder details left in the wallet: %d, %v", n, err)
		}
		for phone, want := range fixtureBalances {
			p, err := svc.Identity.PatientByPhone(ctx, phone)
			if err != nil {
				t.Fatalf("patient %s: %v", phone, err)
			}
			if p.CreatedAt.Year() != 2026 {
				t.Fatalf("patient created %v", p.CreatedAt)
			}
			cards, err := svc.Wallet.MyCards(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, c := range cards {
				got = append(got, c.Balance)
			}
			slices.Sort(got)
			if !slices.Equal(got, slices.Sorted(slices.Values(want))) {
				t.Fatalf("%s: balances %v, want %v", phone, got, want)
			}
		}
		// Holder details moved to identity: reception's copy filled Gleb's
		// empty profile, Dima is an identity dependant, and every card
		// shows its holder from there.
		gleb, _ := svc.Identity.PatientByPhone(ctx, "+79990000004")
		if gleb.FirstName != "Gleb" || gleb.LastName != "Orlov" || gleb.BirthDate != "1975-03-03" {
			t.Fatalf("Gleb's profile after the move: %+v", gleb)
		}
		anna, _ := svc.Identity.PatientByPhone(ctx, "+79990000001")
		// The birthday job finds patients who had a birth date before (on
		// MongoDB their documents gained birth_md by migration).
		if born, err := svc.Identity.BornOn(ctx, []string{"05-17"}, "", 10); err != nil || len(born) != 1 || born[0].ID != anna.ID {
			t.Fatalf("born on 05-17: %+v, %v", born, err)
		}
		annas, err := svc.Wallet.MyCards(ctx, anna.ID)
		if err != nil {
			t.Fatal(err)
		}
		holders := map[string]string{}
		for _, c := range annas {
			holders[c.Holder.Kind] = c.Holder.FirstName + " " + c.Holder.LastName + " " + c.Holder.BirthDate
		}
		if holders["self"] != "Anna Ivanova 1990-05-17" || holders["dependant"] != "Dima Ivanov 2015-08-08" {
			t.Fatalf("Anna's cards' holders: %v", holders)
		}
		devs, err := svc.Push.Devices(ctx, anna.ID)
		if err != nil || len(devs) != 1 || devs[0].Token != "fixture-token-1" ||
			devs[0].UpdatedAt.Year() != 2026 || devs[0].UpdatedAt.After(time.Now()) {
			t.Fatalf("devices %+v, %v (times must read as they were written)", devs, err)
		}
		evs, err := svc.Push.Events(ctx, anna.ID, 0, 100)
		if err != nil || len(evs) == 0 {
			t.Fatalf("inbox: %v, %v", evs, err)
		}
		for _, ev := range evs {
			if ev.CreatedAt.Year() != 2026 || ev.CreatedAt.After(time.Now()) {
				t.Fatalf("event %s created %v", ev.ID, ev.CreatedAt)
			}
		}
		if _, err := svc.Identity.StaffLogin(ctx, "192.0.2.1", demoManagerEmail, demoManagerPassword); err != nil {
			t.Fatalf("manager login: %v", err)
		}
		svc.Close()
		st.Close()
	}

	// Through the API: staff sign in and the clinic's totals are intact.
	base, stop, _ := serveUntilCancel(t, vars)
	defer stop()
	res, body := postJSON(t, base+"/v1/staff/login", "", map[string]string{"email": demoManagerEmail, "password": demoManagerPassword})
	if res.StatusCode != 200 {
		t.Fatalf("login: %d", res.StatusCode)
	}
	tot := getJSON(t, base+"/v1/clinic/reports/totals", body["access_token"].(string))
	if tot["outstanding"] != float64(3*1000+700+600) {
		t.Fatalf("totals after upgrade: %v", tot)
	}
}

func TestUpgradeSQLiteDataDir(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, filepath.Join("testdata", "f6d00e1", "carewallet.db"), filepath.Join(dir, "carewallet.db"))
	copyFile(t, filepath.Join("testdata", "f6d00e1", "jwt.key"), filepath.Join(dir, "jwt.key"))
	checkFixture(t, map[string]string{"CAREWALLET_DATA": dir})
}

func TestUpgradeMongoDatabase(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, filepath.Join("testdata", "f6d00e1", "ferret-carewallet.sqlite"), filepath.Join(dir, "carewallet.sqlite"))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	key := filepath.Join(t.TempDir(), "jwt.key")
	if err := os.WriteFile(key, []byte("a-shared-key-for-every-instance-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	checkFixture(t, map[string]string{"CAREWALLET_DATA": t.TempDir(), "CAREWALLET_MONGO_URI": f.MongoDBURI(),
		"CAREWALLET_MONGO_DB": "carewallet", "CAREWALLET_JWT_KEY_FILE": key})
}
