package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"carewallet/app/idempotency"
	"carewallet/app/identity"
	"carewallet/app/identity/identitytest"
	"carewallet/app/storage/storagetest"
	"carewallet/news"
	"carewallet/push"
	"carewallet/referrals"
	"carewallet/wallet"
)

// newMongoTestApp is newTestApp with every store on one database of the
// embedded FerretDB (the MongoDB adapters), as the scale-out deployment
// runs.
func newMongoTestApp(t *testing.T) (*testApp, *mongo.Database) {
	t.Helper()
	ctx := context.Background()
	db := storagetest.Mongo(t)
	ta := &testApp{t: t, sms: &identitytest.SMS{}, clock: &testClock{t: time.Now().UTC().Truncate(time.Second)}}
	var err error
	if ta.tokens, err = NewTokens(testKey, ta.clock.now); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	idStore, err := identity.NewMongoStore(ctx, db)
	must(err)
	ids := identity.NewService(idStore, identity.Options{Now: ta.clock.now, SMS: ta.sms, CodeKey: testKey, BcryptCost: 4})
	pushStore, err := push.NewMongoStore(ctx, db)
	must(err)
	pushes := push.NewService(pushStore, push.Options{Now: ta.clock.now})
	t.Cleanup(func() { pushes.Close() })
	walletStore, err := wallet.NewMongoStore(ctx, db)
	must(err)
	idem, err := idempotency.NewMongoStore(ctx, db)
	must(err)
	refStore, err := referrals.NewMongoStore(ctx, db)
	must(err)
	newsStore, err := news.NewMongoStore(ctx, db)
	must(err)
	wallets := wallet.NewService(walletStore, ClinicLocations{ids}, WalletNotifier{pushes}, wallet.Options{Now: ta.clock.now, CodeKey: testKey,
		People: WalletPeople{ids}, Managers: WalletManagers{Identity: ids, Push: pushes}})
	ta.deps = Deps{Identity: ids, Push: pushes, Wallet: wallets, Idempotency: idem, Tokens: ta.tokens, Now: ta.clock.now,
		Referrals: referrals.NewService(refStore, ReferralWallet{wallets}, ReferralNotifier{pushes}, ReferralPeople{ids}, referrals.Options{Now: ta.clock.now}),
		News: news.NewService(newsStore, news.Options{Now: ta.clock.now, Inbox: NewsInbox{pushes}, Audience: NewsAudience{Wallet: wallets},
			Clinics: NewsClinics{ids}, Staff: NewsStaff{ids}, Bonus: NewsBonus{wallets}}),
		Ready: func(ctx context.Context) error { return db.Client().Ping(ctx, nil) }}
	ta.f = New(ta.deps)
	return ta, db
}

// TestDeleteMeMongo: on the MongoDB adapters, no collection holds the
// deleted person's name, phone or birth date afterwards, and the clinic's
// totals lose only the forfeited balance.
func TestDeleteMeMongo(t *testing.T) {
	ta, db := newMongoTestApp(t)
	cl := ta.clinicWithProgram("Smile", "smile.test")
	const phone, first, last, birth = "+79991377441", "Evdokia", "Stertaya", "1969-02-03"
	_, tok, card := ta.joinCard(cl, phone)
	ta.must(200, "PATCH", "/v1/me", tok, map[string]string{"first_name": first, "last_name": last, "birth_date": birth})
	receipt(ta, cl, card.ID, "R-1", 200000)
	ta.must(201, "POST", "/v1/chats", tok, map[string]string{"clinic_id": cl.id, "text": "I am " + first + " " + last})
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}, "Idempotency-Key", "join-1")
	var before wallet.Totals
	ta.must(200, "GET", "/v1/clinic/reports/totals", cl.manager, nil).decode(t, &before)
	var own wallet.CardView
	ta.must(200, "GET", "/v1/cards/"+card.ID, tok, nil).decode(t, &own)

	ta.must(202, "POST", "/v1/auth/otp", "", map[string]string{"phone": phone})
	ta.must(204, "DELETE", "/v1/me", tok, map[string]string{"code": ta.sms.LastCode(t, phone)})

	var after wallet.Totals
	ta.must(200, "GET", "/v1/clinic/reports/totals", cl.manager, nil).decode(t, &after)
	if after.Issued != before.Issued || after.Forfeited != own.Balance || after.Outstanding != before.Outstanding-own.Balance {
		t.Fatalf("totals before %+v after %+v", before, after)
	}
	ctx := context.Background()
	names, err := db.ListCollectionNames(ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 10 {
		t.Fatalf("only %d collections: %v", len(names), names)
	}
	sawStaff := false // the scan reads what it should: the manager's email is there
	for _, name := range names {
		cur, err := db.Collection(name).Find(ctx, bson.M{})
		if err != nil {
			t.Fatal(err)
		}
		for cur.Next(ctx) {
			doc := cur.Current.String() // extended JSON of the whole document
			sawStaff = sawStaff || strings.Contains(doc, "boss@smile.test")
			for _, n := range []string{phone, first, last, birth} {
				if strings.Contains(doc, n) {
					t.Errorf("%s still holds %q: %.300s", name, n, doc)
				}
			}
		}
		if err := cur.Err(); err != nil {
			t.Fatal(err)
		}
		cur.Close(ctx)
	}
	if !sawStaff {
		t.Fatal("the scan did not find the manager's email: it reads nothing")
	}
}
