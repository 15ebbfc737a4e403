package app

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"carewallet/app/idempotency"
	"carewallet/app/identity"
	"carewallet/app/identity/identitytest"
	"carewallet/app/storage/storagetest"
	"carewallet/news"
	"carewallet/news/care"
	"carewallet/push"
	"carewallet/push/pushtest"
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
	// 15:30 Moscow time, in the quiet hours careBeforeDeletion sets.
	ta := &testApp{t: t, sms: &identitytest.SMS{}, clock: &testClock{t: msk(1, 15, 30)}}
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
	// Through the FCM emulator, so the message policy defers pushes.
	emu := httptest.NewServer(pushtest.New(pushtest.Config{}))
	t.Cleanup(emu.Close)
	sender, err := push.NewFCMSender(ctx, push.FCMConfig{Project: "test", Endpoint: emu.URL})
	must(err)
	pushes := push.NewService(pushStore, push.Options{Now: ta.clock.now, Sender: sender, Zones: ClinicLocations{ids}})
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
	careStore, err := care.NewMongoStore(ctx, db)
	must(err)
	ta.deps.Care = care.NewService(careStore, care.Options{Now: ta.clock.now, Inbox: CareInbox{pushes},
		Patients: CarePatients{ids, wallets}, Clinics: CareClinics{ids}, Managers: NewsStaff{ids}, Chat: CareChat{ta.deps.News}})
	ta.deps.ExportSections = []ExportSection{CareExport{ta.deps.Care}}
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
	pid, tok, card := ta.joinCard(cl, phone)
	ta.must(200, "PATCH", "/v1/me", tok, map[string]string{"first_name": first, "last_name": last, "birth_date": birth})
	receipt(ta, cl, card.ID, "R-1", 200000)
	ta.must(201, "POST", "/v1/chats", tok, map[string]string{"clinic_id": cl.id, "text": "I am " + first + " " + last})
	ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id}, "Idempotency-Key", "join-1")
	ta.must(204, "PUT", "/v1/me/devices", tok, map[string]string{"token": "fcm-token-mongo", "platform": "ios", "app_version": "1.0", "locale": "ru"})
	const marker = "Q8marker-rude-desk"
	ta.careBeforeDeletion(cl, tok, phone, "I am "+first+": "+marker)
	ctx := context.Background()
	// The rows the erasure must remove exist: a deferred push, a switch,
	// budget slots, pending care messages, the birth-date record.
	policyRows := map[string]bson.M{"push_deferred": {"u": pid}, "push_preferences": {"u": pid}, "push_budget_slots": {"u": pid},
		"care_messages": {"patient_id": pid, "state": care.Pending}}
	for coll, f := range policyRows {
		if n, err := db.Collection(coll).CountDocuments(ctx, f); err != nil || n == 0 {
			t.Fatalf("the test's setup made no %s: %d %v", coll, n, err)
		}
	}
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
	for coll, f := range policyRows {
		if n, err := db.Collection(coll).CountDocuments(ctx, f); err != nil || n != 0 {
			t.Errorf("%s: %d left %v", coll, n, err)
		}
	}
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
			for _, n := range []string{phone, first, last, birth, marker} {
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
