package referrals

import (
	"context"
	"errors"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

func openStore(t testing.TB, b storagetest.Backend) Store {
	t.Helper()
	return storagetest.Open[Store](t, b, NewSQLiteStore, NewMongoStore)
}

// TestStoreConformance runs the same checks on SQLite and embedded
// FerretDB: every unique key refuses a second insert, and lookups find
// what was written.
func TestStoreConformance(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		s := openStore(t, b)
		t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		dup := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, errDuplicate) {
				t.Fatalf("%s: %v, want duplicate", what, err)
			}
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}

		// programs: unique (clinic, version); ProgramAt picks by time
		if _, err := s.ProgramAt(ctx, "c1", time.Time{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("no program: %v", err)
		}
		must(s.InsertProgram(ctx, &Program{ClinicID: "c1", Version: 1, MinPaid: 1, Created: t0}))
		must(s.InsertProgram(ctx, &Program{ClinicID: "c1", Version: 2, MinPaid: 2, Created: t0.Add(time.Hour)}))
		dup("program version", s.InsertProgram(ctx, &Program{ClinicID: "c1", Version: 2, Created: t0}))
		if p, err := s.ProgramAt(ctx, "c1", time.Time{}); err != nil || p.Version != 2 || p.ClinicID != "c1" {
			t.Fatalf("latest: %+v %v", p, err)
		}
		if p, err := s.ProgramAt(ctx, "c1", t0.Add(time.Minute)); err != nil || p.Version != 1 {
			t.Fatalf("at t0+1m: %+v %v", p, err)
		}
		if cs, err := s.ProgramClinics(ctx); err != nil || len(cs) != 1 || cs[0] != "c1" {
			t.Fatalf("clinics: %v %v", cs, err)
		}

		// codes: unique code, unique owner
		must(s.InsertCode(ctx, &Code{Code: "ABCDEFG", ClinicID: "c1", Owner: "card:k1", CardID: "k1", PatientID: "p1"}))
		dup("code", s.InsertCode(ctx, &Code{Code: "ABCDEFG", ClinicID: "c1", Owner: "card:k2"}))
		dup("owner", s.InsertCode(ctx, &Code{Code: "HJKLMNP", ClinicID: "c1", Owner: "card:k1"}))
		if c, err := s.Code(ctx, "ABCDEFG"); err != nil || c.CardID != "k1" {
			t.Fatalf("code: %+v %v", c, err)
		}
		if c, err := s.CodeByOwner(ctx, "card:k1"); err != nil || c.Code != "ABCDEFG" {
			t.Fatalf("by owner: %+v %v", c, err)
		}
		if _, err := s.Code(ctx, "ZZZZZZZ"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown code: %v", err)
		}

		// links: unique (clinic, referee); descendants at every depth
		a := &Link{ID: "l1", ClinicID: "c1", RefereeID: "p2", ReferrerID: "p1", Depth: 2, Ancestors: []string{"p1"}, Created: t0}
		b2 := &Link{ID: "l2", ClinicID: "c1", RefereeID: "p3", ReferrerID: "p2", Depth: 3, Ancestors: []string{"p2", "p1"}, Created: t0.Add(time.Second)}
		must(s.InsertLink(ctx, a))
		must(s.InsertLink(ctx, b2))
		dup("referee", s.InsertLink(ctx, &Link{ID: "l3", ClinicID: "c1", RefereeID: "p2", ReferrerID: "p9", Created: t0}))
		must(s.InsertLink(ctx, &Link{ID: "l4", ClinicID: "c2", RefereeID: "p2", ReferrerID: "p9", Created: t0}))
		if l, err := s.Link(ctx, "c1", "p2"); err != nil || l.ID != "l1" || l.ReferrerID != "p1" {
			t.Fatalf("link: %+v %v", l, err)
		}
		if l, err := s.LinkByID(ctx, "l2"); err != nil || l.Depth != 3 {
			t.Fatalf("link by id: %+v %v", l, err)
		}
		ds, err := s.Descendants(ctx, "c1", "p1", linkCursor{}, 10)
		if err != nil || len(ds) != 2 || ds[0].ID != "l1" || ds[1].ID != "l2" {
			t.Fatalf("descendants: %+v %v", ds, err)
		}
		ds, err = s.Descendants(ctx, "c1", "p1", linkCursor{Created: ds[0].Created, ID: ds[0].ID}, 10)
		if err != nil || len(ds) != 1 || ds[0].ID != "l2" {
			t.Fatalf("descendants after: %+v %v", ds, err)
		}
		if n, err := s.JoinsSince(ctx, "c1", "p1", t0); err != nil || n != 1 {
			t.Fatalf("joins: %d %v", n, err)
		}
		if ls, err := s.ClinicLinks(ctx, "c1", "l1", 10); err != nil || len(ls) != 1 || ls[0].ID != "l2" {
			t.Fatalf("clinic links: %+v %v", ls, err)
		}
		must(s.InsertDecision(ctx, &Decision{LinkID: "l1", Approved: true, Reason: "ok"}))
		dup("decision", s.InsertDecision(ctx, &Decision{LinkID: "l1", Reason: "no"}))
		if d, err := s.Decision(ctx, "l1"); err != nil || !d.Approved {
			t.Fatalf("decision: %+v %v", d, err)
		}

		// visits, rewards, claw-backs
		must(s.InsertVisit(ctx, &Visit{ClinicID: "c1", RefereeID: "p3", ReceiptID: "r1"}))
		dup("visit", s.InsertVisit(ctx, &Visit{ClinicID: "c1", RefereeID: "p3", ReceiptID: "r2"}))
		if v, err := s.Visit(ctx, "c1", "p3"); err != nil || v.ReceiptID != "r1" {
			t.Fatalf("visit: %+v %v", v, err)
		}
		for lvl := 1; lvl <= 2; lvl++ {
			must(s.InsertReward(ctx, &Reward{ClinicID: "c1", ReceiptID: "r1", Level: lvl, LinkID: "l2", BeneficiaryCard: "k" + itoa(lvl), Points: int64(10 * lvl)}))
		}
		dup("reward", s.InsertReward(ctx, &Reward{ClinicID: "c1", ReceiptID: "r1", Level: 1}))
		if r, err := s.Reward(ctx, "c1", "r1", 2); err != nil || r.Points != 20 {
			t.Fatalf("reward: %+v %v", r, err)
		}
		if rs, err := s.RewardsByLink(ctx, "l2"); err != nil || len(rs) != 2 {
			t.Fatalf("by link: %+v %v", rs, err)
		}
		if rs, err := s.RewardsByCard(ctx, "k1"); err != nil || len(rs) != 1 {
			t.Fatalf("by card: %+v %v", rs, err)
		}
		if rs, err := s.ClinicRewards(ctx, "c1"); err != nil || len(rs) != 2 {
			t.Fatalf("clinic rewards: %+v %v", rs, err)
		}
		must(s.InsertClawback(ctx, &Clawback{ClinicID: "c1", ReceiptID: "r1", Level: 1, RefundKey: "f1", Points: 3, Created: t0}))
		must(s.InsertClawback(ctx, &Clawback{ClinicID: "c1", ReceiptID: "r1", Level: 1, RefundKey: "f2", Points: 4, Created: t0.Add(time.Second)}))
		dup("clawback", s.InsertClawback(ctx, &Clawback{ClinicID: "c1", ReceiptID: "r1", Level: 1, RefundKey: "f1"}))
		if cs, err := s.Clawbacks(ctx, "c1", "r1", 1); err != nil || len(cs) != 2 || cs[0].RefundKey != "f1" {
			t.Fatalf("clawbacks: %+v %v", cs, err)
		}

		// the report's counts: l1 (p2, depth 2) and l2 (p3, depth 3, visited)
		must(s.InsertLink(ctx, &Link{ID: "l5", ClinicID: "c1", RefereeID: "p4", ReferrerID: "p1", Depth: 2, Held: true,
			Checks: []Check{{Rule: RuleVelocity, Reason: "x"}}, Created: t0}))
		refs, err := s.ReferrerCounts(ctx, "c1")
		byID := map[string]ReferrerCount{}
		for _, r := range refs {
			byID[r.ReferrerID] = r
		}
		if err != nil || len(refs) != 2 || byID["p1"].Friends != 2 || byID["p2"].Friends != 1 {
			t.Fatalf("referrer counts: %+v %v", refs, err)
		}
		if ls, err := s.Links(ctx, "c1", []string{"p3", "p2", "p1"}); err != nil || len(ls) != 2 || ls[0].ID == ls[1].ID {
			t.Fatalf("links of some: %+v %v", ls, err)
		}
		if ls, err := s.Links(ctx, "c2", []string{"p3"}); err != nil || len(ls) != 0 {
			t.Fatalf("another clinic's links: %+v %v", ls, err)
		}
		if ds, err := s.Depths(ctx, "c1", nil); err != nil || len(ds) != 3 || ds["p2"] != 2 || ds["p3"] != 3 || ds["p4"] != 2 {
			t.Fatalf("all depths: %+v %v", ds, err)
		}
		if ds, err := s.Depths(ctx, "c1", []string{"p3", "p1", "nobody"}); err != nil || len(ds) != 1 || ds["p3"] != 3 {
			t.Fatalf("depths of some: %+v %v", ds, err)
		}
		if ds, err := s.Depths(ctx, "c2", []string{"p3"}); err != nil || len(ds) != 0 {
			t.Fatalf("another clinic's depths: %+v %v", ds, err)
		}
		if ds, err := s.Depths(ctx, "c1", []string{}); err != nil || len(ds) != 0 {
			t.Fatalf("depths of none: %+v %v", ds, err)
		}
		if hs, err := s.HeldLinks(ctx, "c1"); err != nil || len(hs) != 1 || hs[0].ID != "l5" || len(hs[0].Checks) != 1 {
			t.Fatalf("held: %+v %v", hs, err)
		}

		// cursor: a forward-only cache
		if c, err := s.Cursor(ctx, "c1"); err != nil || !c.IsZero() {
			t.Fatalf("no cursor: %v %v", c, err)
		}
		must(s.SetCursor(ctx, "c1", t0.Add(time.Hour)))
		must(s.SetCursor(ctx, "c1", t0))
		if c, err := s.Cursor(ctx, "c1"); err != nil || !c.Equal(t0.Add(time.Hour)) {
			t.Fatalf("cursor: %v %v", c, err)
		}

		// staff rewards and payouts: unique (staff, seq) and (staff, key)
		must(s.InsertReward(ctx, &Reward{ClinicID: "c1", ReceiptID: "r1", Level: StaffLevel, StaffID: "s1", Points: 6}))
		if rs, err := s.StaffRewards(ctx, "c1", "s1"); err != nil || len(rs) != 1 || rs[0].Points != 6 {
			t.Fatalf("staff rewards: %+v %v", rs, err)
		}
		must(s.InsertPayout(ctx, &Payout{StaffID: "s1", Seq: 1, Key: "a", Points: 2}))
		dup("payout seq", s.InsertPayout(ctx, &Payout{StaffID: "s1", Seq: 1, Key: "b"}))
		dup("payout key", s.InsertPayout(ctx, &Payout{StaffID: "s1", Seq: 2, Key: "a"}))
		if ps, err := s.Payouts(ctx, "s1"); err != nil || len(ps) != 1 {
			t.Fatalf("payouts: %+v %v", ps, err)
		}
		if p, err := s.PayoutByKey(ctx, "s1", "a"); err != nil || p.Points != 2 {
			t.Fatalf("payout by key: %+v %v", p, err)
		}

		// devices: who used a device, after it moved
		must(s.InsertDevice(ctx, "h1", "p1", t0))
		must(s.InsertDevice(ctx, "h1", "p2", t0))
		dup("device", s.InsertDevice(ctx, "h1", "p2", t0))
		must(s.InsertDevice(ctx, "h2", "p3", t0))
		if us, err := s.DeviceUsers(ctx, "p2"); err != nil || len(us) != 2 {
			t.Fatalf("device users: %v %v", us, err)
		}
		if vs, err := s.ClinicVisits(ctx, "c1"); err != nil || len(vs) != 1 {
			t.Fatalf("clinic visits: %+v %v", vs, err)
		}

		// slots
		must(s.InsertSlot(ctx, "k", 1, t0))
		dup("slot", s.InsertSlot(ctx, "k", 1, t0))
		if n, err := s.Slots(ctx, "k"); err != nil || n != 1 {
			t.Fatalf("slots: %d %v", n, err)
		}
	})
}

// TestStoreReceiptRewards: a receipt's new rewards go in together; a
// level already taken is left alone and reported, the others still go in;
// the receipt's rewards read back by level. Both stores.
func TestStoreReceiptRewards(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		s := openStore(t, b)
		if err := s.InsertReward(ctx, &Reward{ClinicID: "c1", ReceiptID: "r1", Level: 2, Points: 99}); err != nil {
			t.Fatal(err)
		}
		var rs []*Reward
		for _, lvl := range []int{StaffLevel, 1, 2, 3} {
			rs = append(rs, &Reward{ClinicID: "c1", ReceiptID: "r1", Level: lvl, Points: int64(10 + lvl)})
		}
		got, err := s.InsertRewards(ctx, rs)
		if err != nil || len(got) != 4 || !got[0] || !got[1] || got[2] || !got[3] {
			t.Fatalf("insert rewards: %v %v", got, err)
		}
		if got, err := s.InsertRewards(ctx, rs[:2]); err != nil || got[0] || got[1] {
			t.Fatalf("insert again: %v %v", got, err)
		}
		if err := s.InsertReward(ctx, &Reward{ClinicID: "c1", ReceiptID: "r2", Level: 1, Points: 5}); err != nil {
			t.Fatal(err)
		}
		all, err := s.ReceiptRewards(ctx, "c1", "r1")
		if err != nil || len(all) != 4 {
			t.Fatalf("receipt rewards: %+v %v", all, err)
		}
		for i, want := range []int64{10, 11, 99, 13} {
			if all[i].Level != i || all[i].Points != want {
				t.Fatalf("receipt rewards by level: %+v", all)
			}
		}
		if none, err := s.ReceiptRewards(ctx, "c2", "r1"); err != nil || len(none) != 0 {
			t.Fatalf("another clinic's receipt: %+v %v", none, err)
		}
	})
}
